"""Sweeps through DVC: `dvc exp run --queue -S <sweep>` then `dvc queue start -j 2`.

In a throw-away copy of the work tree: a 2-point grid in Hydra's sweep syntax on a
reduced dataset is queued and run by two DVC queue workers, one point each.  Each queued experiment
runs in a temporary copy under ``.dvc/tmp/exps/`` and its firmware stage logs one
MLflow run; the test checks that those runs land in the *original* root's
``mlflow.db`` (``tinyad.paths.project_root``), one per experiment with accuracy,
int8 size and latency, and that ``dvc exp show`` lists the experiments with their
metrics.  A typo in a sweep override must fail without queueing anything.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.helpers.project import REDUCED_PIPELINE, SWEEP_GRID, SWEEP_GRID_LOGGED, copy_worktree, run, tool_env

GRID, GRID_LOGGED = SWEEP_GRID, SWEEP_GRID_LOGGED  # the same grid as tests/test_sweep.py
N = len(GRID_LOGGED)
SMALL = [a for o in REDUCED_PIPELINE for a in ("-S", o)]


def _queue_rows(repo: Path) -> list[str]:
    out = run(["dvc", "queue", "status"], repo).stdout
    return [line for line in out.splitlines() if line.split()[-1:] and line.split()[-1] in
            ("Queued", "Running", "Success", "Failed")]


@pytest.fixture(scope="module")
def queue_repo(tmp_path_factory) -> Path:
    return copy_worktree(tmp_path_factory.mktemp("queue") / "repo")


def test_a_typo_in_a_queued_sweep_queues_nothing(queue_repo):
    repo = queue_repo
    before = _queue_rows(repo)
    proc = run(["dvc", "exp", "run", "--queue", "-S", "model.hiddn=[8],[16,8]", "-S", "cluster.k=3,4"], repo,
               check=False)
    assert proc.returncode != 0
    assert "model.hiddn" in proc.stdout + proc.stderr
    assert _queue_rows(repo) == before


@pytest.mark.slow
def test_queued_grid_gives_one_mlflow_run_per_experiment(queue_repo):
    repo = queue_repo
    env = tool_env()
    q = run(["dvc", "exp", "run", "--queue", "-S", f"model.hidden={GRID}", *SMALL],
            repo, env=env)
    assert q.stdout.count("Queued experiment") == N
    run(["dvc", "queue", "start", "-j", "2"], repo, env=env)
    deadline = time.time() + 40 * 60
    while True:
        rows = _queue_rows(repo)
        if not any(r.split()[-1] in ("Queued", "Running") for r in rows):
            break
        assert time.time() < deadline, f"queue still busy after 40 min:\n{rows}"
        time.sleep(10)
    run(["dvc", "queue", "stop"], repo, env=env, check=False)
    assert sum(r.split()[-1] == "Success" for r in rows) == N, "\n".join(rows)

    # dvc exp show lists the experiments with their metrics
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo, env=env).stdout)
    exps = [e for rev in shown for e in (rev.get("experiments") or [])]
    names = set()
    for e in exps:
        for r in e.get("revs", []):
            data = r.get("data") or {}
            ev = (data.get("metrics") or {}).get("metrics/evaluate.json", {}).get("data", {})
            if ev:
                assert 0.0 <= ev["int8_tflm"]["accuracy"] <= 1.0
                assert ev["memory"]["tflite_bytes"] > 0
                names.add(r.get("name") or e.get("name"))
    assert len(names) == N, shown

    # one MLflow run per experiment, in the original root's database
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["tinyad"])
    runs = runs[runs["tags.dvc.exp_name"].notna()]
    assert len(runs) == N
    assert set(runs["tags.dvc.exp_name"]) == names
    for col in ("metrics.evaluate.int8_tflm.accuracy", "metrics.evaluate.int8_tflm.f1",
                "metrics.evaluate.memory.tflite_bytes", "metrics.evaluate.latency_us.tflm.median"):
        assert runs[col].notna().all(), col
    # they ran in DVC's temporary copies, yet logged to this root's database
    assert runs["tags.tinyad.root"].str.contains("/.dvc/tmp/exps/").all(), list(runs["tags.tinyad.root"])
    assert not list((repo / ".dvc" / "tmp" / "exps").glob("*/mlflow.db"))
    # the runs side by side: the model sizes, each with its own int8 size
    assert sorted(runs["params.model.hidden"]) == sorted(GRID_LOGGED)
    size = runs.set_index("params.model.hidden")["metrics.evaluate.memory.tflite_bytes"]
    assert list(size[GRID_LOGGED]) == sorted(size), size
