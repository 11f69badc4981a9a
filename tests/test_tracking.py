"""MLflow tracking: one run with params, every stage's metrics, curves, artifacts and tags;
a failing store never fails the pipeline and says how to log the run again."""

from __future__ import annotations

import hashlib
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.project import ROOT
from tests.helpers.tracking import fake_project, search_runs
from tinyad.tools import tracking as T


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """An empty MLflow sqlite database with its schema (creating one takes seconds)."""
    import mlflow

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture()
def new_db(template_db, tmp_path):
    """``new_db(name) -> sqlite URI`` of a fresh copy of the template database."""
    import shutil

    def make(name: str = "mlflow.db") -> str:
        path = tmp_path / "dbs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template_db, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture()
def clean_env(monkeypatch):
    for k in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "TINYAD_ROOT"):
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def test_names_and_flattening():
    assert T.metric_name("train.weird key(1)") == "train.weird key_1_"
    flat = T.flatten_metrics({"a": {"b": 1, "c": None, "d": "text", "e": True, "f": [3, 4], "g": float("nan")}}, "s")
    assert flat == {"s.a.b": 1.0, "s.a.e": 1.0, "s.a.f.0": 3.0, "s.a.f.1": 4.0}


def test_one_run_holds_params_metrics_curves_artifacts_and_tags(tmp_path, clean_env, new_db):
    import mlflow

    proj = fake_project(tmp_path / "proj")
    clean_env.setenv("DVC_EXP_NAME", "sunny-lark")
    clean_env.setenv("DVC_EXP_BASELINE_REV", "abc123")
    uri = new_db()
    run_id = T.log_pipeline_run(proj, "params.yaml", "metrics",
                                [proj / "models/model_int8.tflite", proj / "plots"], uri=uri, experiment="t1")
    assert run_id
    runs = search_runs(uri, "t1")
    assert len(runs) == 1
    r = runs.iloc[0]
    assert r["status"] == "FINISHED"
    # params: every key, dotted as in params.yaml
    assert r["params.model.hidden"] == "[16, 8]" or r["params.model.hidden"].startswith("[")
    assert r["params.evaluate.latency_runs"] == str(__import__("yaml").safe_load((ROOT / "params.yaml").read_text())["evaluate"]["latency_runs"])
    # metrics from every stage's file
    assert r["metrics.evaluate.int8_litert.accuracy"] == pytest.approx(0.9)
    assert r["metrics.evaluate.int8_litert.confusion.tp"] == 3
    assert r["metrics.evaluate.int8_litert.by_type.point.f1"] == pytest.approx(0.5)
    assert r["metrics.evaluate.latency_us.tflm.median"] == pytest.approx(1.5)
    assert r["metrics.quantize.tflite_bytes"] == 3000
    assert r["metrics.evaluate.flags.ok"] == 1.0
    assert r["metrics.train.weird key_1_"] == 3
    assert "metrics.evaluate.method.truth" not in runs.columns
    assert "metrics.evaluate.int8_litert.events.median_delay_readings" not in runs.columns
    # training curves as step metrics
    client = mlflow.MlflowClient(uri)
    hist = client.get_metric_history(run_id, "train.history.val_loss")
    assert [(m.step, m.value) for m in sorted(hist, key=lambda m: m.step)] == [(1, 0.95), (2, 0.6), (3, 0.4)]
    # tags
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=proj, capture_output=True, text=True).stdout.strip()
    assert r["tags.git.commit"] == head
    assert r["tags.git.dirty"] == "false"
    assert r["tags.dvc.exp_name"] == "sunny-lark"
    assert r["tags.dvc.baseline_rev"] == "abc123"
    assert r["tags.mlflow.runName"] == "sunny-lark"
    # artifacts, kept beside the database (not in the working directory)
    top = {a.path for a in client.list_artifacts(run_id)}
    assert top == {"models", "plots"}
    assert {a.path for a in client.list_artifacts(run_id, "models")} == {"models/model_int8.tflite"}
    assert "plots/evaluate" in {a.path for a in client.list_artifacts(run_id, "plots")}
    assert (tmp_path / "dbs" / "mlartifacts").is_dir()
    assert not (proj / "mlruns").exists()


def test_dirty_work_tree_is_tagged(tmp_path, clean_env, new_db):
    import mlflow

    proj = fake_project(tmp_path / "proj")
    (proj / "params.yaml").write_text((proj / "params.yaml").read_text() + "\n# edited\n")
    uri = new_db()
    run_id = T.log_pipeline_run(proj, artifacts=[], uri=uri)
    assert mlflow.MlflowClient(uri).get_run(run_id).data.tags["git.dirty"] == "true"


def test_store_location_precedence(tmp_path, clean_env):
    proj = tmp_path / "proj"
    # default: the project root's mlflow.db by absolute path, also from inside a queued experiment's copy
    inside = proj / ".dvc" / "tmp" / "exps" / "tmpabc123"
    inside.mkdir(parents=True)
    assert T.resolve_uri(None, inside) == f"sqlite:///{proj.resolve()}/mlflow.db"
    assert T.resolve_uri(None, proj) == f"sqlite:///{proj.resolve()}/mlflow.db"
    # the tracking.uri param beats the default, MLFLOW_TRACKING_URI beats both
    assert T.resolve_uri("http://127.0.0.1:5000", proj) == "http://127.0.0.1:5000"
    clean_env.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/x.db")
    assert T.resolve_uri("http://127.0.0.1:5000", proj) == "sqlite:////elsewhere/x.db"


def test_explicit_uri_beats_the_environment(tmp_path, clean_env, new_db):
    import mlflow

    proj = fake_project(tmp_path / "proj")
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    uri = new_db()
    run_id = T.log_pipeline_run(proj, artifacts=[], uri=uri, strict=True)
    assert mlflow.MlflowClient(uri).get_run(run_id).info.status == "FINISHED"


def test_params_uri_and_experiment_are_used(tmp_path, clean_env, new_db):
    import mlflow
    import yaml

    proj = fake_project(tmp_path / "proj")
    raw = yaml.safe_load((proj / "params.yaml").read_text())
    uri = new_db("from_params.db")
    raw["tracking"] = {"experiment": "from-params", "uri": uri}
    (proj / "params.yaml").write_text(yaml.safe_dump(raw))
    run_id = T.log_pipeline_run(proj, artifacts=[])
    run = mlflow.MlflowClient(uri).get_run(run_id)
    assert mlflow.MlflowClient(uri).get_experiment(run.info.experiment_id).name == "from-params"


def _recovery_line(stderr: str) -> str:
    lines = stderr.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("Log this run later with:"))
    return lines[i + 1].strip()


def test_unreachable_server_does_not_fail_and_prints_a_working_recovery_command(tmp_path, clean_env, capsys, new_db):
    import mlflow

    proj = fake_project(tmp_path / "proj")
    before = digest(proj / "metrics")
    clean_env.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    clean_env.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    run_id = T.log_pipeline_run(proj, artifacts=[proj / "models/model_int8.tflite"], uri="http://127.0.0.1:9")
    assert run_id is None
    err = capsys.readouterr().err
    assert "MLflow tracking FAILED for store 'http://127.0.0.1:9'" in err
    assert "results are intact" in err
    cmd = _recovery_line(err)
    assert "-m tinyad.tools.tracking log" in cmd and "--uri http://127.0.0.1:9" in cmd
    assert digest(proj / "metrics") == before
    # the printed command works once the store is back (here: pointed at a reachable store)
    good = new_db("recovered.db")
    proc = subprocess.run(cmd.replace("http://127.0.0.1:9", shlex.quote(good)), shell=True,
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rid = proc.stdout.strip().splitlines()[-1]
    run = mlflow.MlflowClient(good).get_run(rid)
    assert run.data.metrics["evaluate.int8_litert.accuracy"] == pytest.approx(0.9)
    assert [a.path for a in mlflow.MlflowClient(good).list_artifacts(rid, "models")] == ["models/model_int8.tflite"]


def test_locked_database_does_not_fail(tmp_path, clean_env, capsys, new_db):
    proj = fake_project(tmp_path / "proj")
    db = new_db("locked.db")[len("sqlite:///"):]
    con = sqlite3.connect(db)
    con.execute("BEGIN EXCLUSIVE")
    try:
        assert T.log_pipeline_run(proj, artifacts=[], uri=f"sqlite:///{db}") is None
    finally:
        con.rollback()
        con.close()
    err = capsys.readouterr().err
    assert "database is locked" in err and "Log this run later with:" in err


def test_readonly_database_does_not_fail(tmp_path, clean_env, capsys, new_db, monkeypatch):
    proj = fake_project(tmp_path / "proj")
    db = new_db("ro.db")[len("sqlite:///"):]
    # MLflow makes the parent folder of the database path it is given; for this URI
    # form that path is relative ("file:/tmp/..."), so keep it out of the checkout
    monkeypatch.chdir(tmp_path)
    # a read-only connection (file permissions do not stop root, the sqlite open mode does)
    assert T.log_pipeline_run(proj, artifacts=[], uri=f"sqlite:///file:{db}?mode=ro&uri=true") is None
    assert "readonly database" in capsys.readouterr().err


def test_strict_mode_raises(tmp_path, clean_env):
    proj = fake_project(tmp_path / "proj")
    (proj / "metrics" / "bad.json").write_text('{"a": 1,\n "b": }')
    with pytest.raises(ValueError, match=r"bad.json:2:7: not valid JSON"):
        T.log_pipeline_run(proj, artifacts=[], uri=f"sqlite:///{tmp_path / 'x.db'}", strict=True)


def test_cli_logs_an_existing_run(tmp_path, clean_env, new_db):
    import mlflow

    proj = fake_project(tmp_path / "proj")
    uri = new_db("cli.db")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "tinyad.tools.tracking", "log", "--uri", uri, "--experiment", "cli"],
                          cwd=proj, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = mlflow.MlflowClient(uri).get_run(proc.stdout.strip().splitlines()[-1])
    assert run.data.metrics["quantize.tflite_bytes"] == 3000
    arts = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(run.info.run_id)}
    assert {"models", "plots", "metrics"} <= arts  # default artifacts that exist
    bad = subprocess.run([sys.executable, "-m", "tinyad.tools.tracking", "log", "--params", "nope.yaml", "--uri", uri],
                         cwd=proj, capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "nope.yaml: parameter file not found" in bad.stderr


def test_mlflow_and_tensorflow_stay_out_of_imports():
    code = ("import sys, tinyad.tools.tracking, tinyad.evaluate.metrics, tinyad.evaluate.baselines, tinyad.evaluate.latency, stages.evaluate; "
            "print(sorted(m for m in ('mlflow', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_simultaneous_runs_on_a_new_database_are_all_logged(tmp_path, clean_env):
    """Queued experiments finish together: four loggers start at once on a store that
    does not exist yet (schema and experiment both created by whoever comes first)."""
    import mlflow

    db = tmp_path / "fresh" / "mlflow.db"
    uri = f"sqlite:///{db}"
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME")}
    env["PYTHONPATH"] = str(ROOT)
    projects = [fake_project(tmp_path / f"p{i}", accuracy=0.8 + i / 100) for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-m", "tinyad.tools.tracking", "log", "--uri", uri, "--experiment", "race"],
                              cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for p in projects]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outs):
        assert proc.returncode == 0 and "FAILED" not in err, err[-3000:]
    runs = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_experiment_by_name("race").experiment_id])
    assert sorted(r.data.metrics["evaluate.int8_litert.accuracy"] for r in runs) == pytest.approx([0.8, 0.81, 0.82, 0.83])


# ------------------------------------------------- issue 13: corrupt store, duplicates
def test_a_corrupt_database_is_named_and_moving_it_aside_lets_the_recovery_work(tmp_path, clean_env, capsys):
    proj = fake_project(tmp_path / "proj")
    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database " * 100)
    old = db.read_bytes()
    uri = f"sqlite:///{db}"
    assert T.log_pipeline_run(proj, artifacts=[], uri=uri) is None
    err = capsys.readouterr().err
    assert f"{db} is not a usable SQLite database (corrupt): the command below fails until the file is replaced" in err
    lines = err.splitlines()
    mv = lines[next(i for i, ln in enumerate(lines) if "Keep it and start a new store with" in ln) + 1].strip()
    assert mv.startswith(f"mv {db} {db}.corrupt-")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = _recovery_line(err)
    # as said: the recovery alone fails on the corrupt file, and names it again
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "is not a usable SQLite database (corrupt)" in proc.stderr
    # after the move it works, and the old file is kept as it was
    proc = subprocess.run(f"{mv} && {cmd}", shell=True, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = list(db.parent.glob("mlflow.db.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == old
    # (this process's MLflow still holds the old file open: read the new store directly)
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT r.status, m.value FROM runs r JOIN latest_metrics m ON m.run_uuid = r.run_uuid "
                           "WHERE r.run_uuid = ? AND m.key = 'quantize.tflite_bytes'",
                           (proc.stdout.strip().splitlines()[-1],)).fetchall()
    finally:
        con.close()
    assert rows == [("FINISHED", 3000.0)]


def test_a_failure_after_the_run_was_created_is_replaced_by_the_recovery_not_duplicated(
        tmp_path, clean_env, capsys, new_db, monkeypatch):
    import mlflow
    from mlflow.entities import ViewType

    proj = fake_project(tmp_path / "proj")
    uri = new_db("half.db")

    def disk_full(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mlflow.tracking.MlflowClient, "log_artifact", disk_full)
    assert T.log_pipeline_run(proj, artifacts=[proj / "models/model_int8.tflite"], uri=uri,
                              experiment="half") is None
    monkeypatch.undo()
    err = capsys.readouterr().err
    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("half").experiment_id
    [failed] = client.search_runs([exp])
    assert failed.info.status == "FAILED"
    assert f"Run {failed.info.run_id} was created before the failure and is incomplete" in err
    cmd = _recovery_line(err)
    assert f"--replace-run {failed.info.run_id}" in cmd
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    active = client.search_runs([exp])
    assert len(active) == 1 and active[0].info.status == "FINISHED"  # one run, complete
    assert active[0].data.tags["tinyad.replaces"] == failed.info.run_id
    assert [a.path for a in client.list_artifacts(active[0].info.run_id, "models")] == ["models/model_int8.tflite"]
    assert client.get_run(failed.info.run_id).info.lifecycle_stage == "deleted"
    assert len(client.search_runs([exp], run_view_type=ViewType.ALL)) == 2  # the old one restorable until gc
