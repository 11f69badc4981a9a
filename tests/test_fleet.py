"""The fleet (tinyad/tools/fleet.py): rooms in the config, fleet/dvc.yaml derived from dvc.yaml,
cached per room by DVC, and the report across rooms."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tinyad.tools import fleet as F
from tinyad.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("rooms: {home: {dat: home}}", r"rooms\.home: unknown key 'dat' \(did you mean 'data'\?\)"),
    ("rooms: {Home!: {data: home}}", r"rooms\.Home!: a room name is 1-40 of a-z"),
    ("rooms: {home: {data: hom}}", r"rooms\.home\.data: no data option 'hom' .*\(did you mean 'home'\?\)"),
    ("rooms: {home: {overrides: model.epochs=3}}", r"rooms\.home\.overrides: expected a list of Hydra overrides"),
    ("room: {home: {}}", r"unknown key 'room' \(did you mean 'rooms'\?\)"),
    ("rooms: {}", r"rooms: expected a mapping of room name -> room"),
    ("rooms: [home", r"x\.yaml:1:\d+: not valid YAML"),
    ("model: one\nrooms: {home: {}}", r"model: expected one of per_room, shared, got 'one'"),
    ("rooms: {home: {model: fleet}}", r"rooms\.home\.model: expected one of own, shared, got 'fleet'"),
    ("model: shared\ntrain_rooms: [office]\nrooms: {home: {}}", r"train_rooms: 'office' is not a room on the fleet model"),
    ("train_rooms: [home]\nrooms: {home: {}}", r"train_rooms: 'home' is not a room on the fleet model .*set model: shared"),
    ("model: shared\ntrain_rooms: [home, home]\nrooms: {home: {}}", r"train_rooms: 'home' is listed twice"),
    ("model: shared\ntrain_rooms: home\nrooms: {home: {}}", r"train_rooms: expected a list of room names"),
    ("rooms: {home: {model: shared}, office: {}}", r"rooms\.home\.model: shared needs the fleet's `model: shared`"),
    ("model: shared\nrooms: {home: {model: own}}", r"model: shared, but every room has `model: own`"),
])
def test_a_bad_fleet_file_is_one_line_naming_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path / "x.yaml", text)
    with pytest.raises(ConfigError, match=message) as err:
        F.load_fleet(path, ROOT / "conf")
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_room_defaults_to_the_data_option_of_its_name_and_gets_its_overrides_after_the_shared_ones(tmp_path):
    path = write(tmp_path / "x.yaml", "shared: [model.epochs=5]\nrooms:\n  home: {}\n"
                                      "  lab: {data: office, overrides: [model.epochs=7]}\n")
    fleet = F.load_fleet(path, ROOT / "conf")
    assert fleet.rooms["home"].hydra_overrides(fleet.shared) == ["data=home", "model.epochs=5"]
    assert fleet.rooms["lab"].hydra_overrides(fleet.shared) == ["data=office", "model.epochs=5", "model.epochs=7"]
    params = yaml.safe_load(F.compose_room(fleet, fleet.rooms["lab"], ROOT))
    assert params["model"]["epochs"] == 7 and params["data"]["sim"]["weekday_hours"]  # the office preset


def test_the_docs_building_of_one_export_composes_each_room_on_its_own_sensor(tmp_path):
    """docs/fleet.md's fleet whose rooms share one InfluxDB export: each room reads its own tag."""
    doc = (ROOT / "docs" / "fleet.md").read_text()
    block = doc.split("one file for every room")[1].split("```yaml\n")[1].split("```")[0]
    fleet = F.load_fleet(write(tmp_path / "building-a.yaml", "name: building-a\n" + block), ROOT / "conf")
    for name in ("office", "lab"):
        csv = yaml.safe_load(F.compose_room(fleet, fleet.rooms[name], ROOT))["data"]["csv"]
        assert (csv["paths"], csv["entity_col"], csv["sensor_col"], csv["sensor"]) == (
            ["data/raw/building-a.csv"], "_field", "room", name)


def test_a_typo_in_a_rooms_override_names_the_room(tmp_path):
    path = write(tmp_path / "x.yaml", "rooms:\n  home: {overrides: [model.epoch=3]}\n")
    fleet = F.load_fleet(path, ROOT / "conf")
    with pytest.raises(ConfigError, match=r"rooms\.home: .*model\.epoch") as err:
        F.compose_room(fleet, fleet.rooms["home"], ROOT)
    assert "\n" not in str(err.value)


@pytest.fixture()
def fleet_root():
    """A project root beside the checkout (so ``../shared`` resolves as from the checkout)
    holding links to ``conf/`` and ``dvc.yaml``: where ``tinyad fleet write`` may write
    ``fleet/``, which the single-room project does not hold (``dvc status`` reads every
    ``dvc.yaml`` of a repository, so a committed fleet would show in every user's status)."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=".fleet-test-", dir=ROOT.parent))
    try:
        for name in ("conf", "dvc.yaml", "stages", "tinyad", "firmware"):
            (tmp / name).symlink_to(ROOT / name)
        yield tmp
    finally:
        shutil.rmtree(tmp)


def test_fleet_write_gives_every_room_its_params_and_dvc_a_stage_per_room(fleet_root):
    from tests.helpers.project import run

    fleet = F.load_fleet(ROOT / F.DEFAULT_FLEET, ROOT / "conf")
    assert not (ROOT / F.FLEET_DIR / "dvc.yaml").exists()  # opt-in: not part of the single-room project
    F.write_fleet(fleet, fleet_root)
    assert F.write_fleet(fleet, fleet_root, check=True) == []  # a second write changes nothing
    for room in fleet.rooms:
        params = yaml.safe_load((fleet_root / "fleet" / room / "params.yaml").read_text())
        assert params["data"] == yaml.safe_load(F.compose_room(fleet, fleet.rooms[room], ROOT))["data"]
    run(["dvc", "init", "--no-scm", "-q"], fleet_root)
    stages = [s.split(":")[-1] for s in run(["dvc", "stage", "list", "fleet/dvc.yaml", "--name-only"], fleet_root).stdout.split()]
    names = [n for n in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]]
    assert sorted(stages) == sorted([f"{n}@{r}" for n in names for r in fleet.rooms] + ["report"])
    (fleet_root / "fleet" / "sim" / "params.yaml").write_text("stale: 1\n")
    assert F.write_fleet(fleet, fleet_root, check=True) == ["sim/params.yaml"]


def test_the_fleet_pipeline_is_dvc_yaml_per_room():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    fleet = F.load_fleet(ROOT / F.DEFAULT_FLEET, ROOT / "conf")
    fp = F.fleet_pipeline(dvc, fleet)
    assert list(fp["stages"]) == [*dvc["stages"], "report"]
    assert len(fleet.rooms) >= 8
    for name, st in dvc["stages"].items():
        do = fp["stages"][name]["do"]
        assert fp["stages"][name]["foreach"] == "${rooms}" and do["wdir"] == ".."
        # every output moves under the room; nothing of the single-room pipeline is written
        for key in ("outs", "metrics"):
            for entry in do.get(key, []):
                path = next(iter(entry)) if isinstance(entry, dict) else entry
                assert "${key}" in path, (name, path)
        # the params come from the room's file, the same keys as the single-room stage
        (pfile, keys), = do["params"][0].items()
        assert pfile == "fleet/${key}/params.yaml" and keys == st["params"]
        # the command is the stage's own, with every path moved
        assert do["cmd"].split()[:3] == st["cmd"].split()[:3]
        assert "--params fleet/${key}/params.yaml" in do["cmd"] and " params.yaml" not in do["cmd"]
        assert not re.search(r"(?<![\w/{}$])(data|models|metrics|plots|build)/(?!\$\{key\})", do["cmd"]), do["cmd"]
    ingest = fp["stages"]["ingest"]["do"]
    assert "${item.source}" in ingest["deps"] and "data/raw" not in ingest["deps"]


def test_a_csv_room_depends_on_its_logs_folder_and_a_simulated_room_on_nothing_of_another_room():
    assert F.room_source({"data": {"source": "sim"}}) == F.SIMULATOR_SOURCE
    params = {"data": {"source": "csv", "csv": {"paths": ["../shared/datasets/uci-occupancy/occupancy_data*.txt"]}}}
    assert F.room_source(params, ROOT) == "../shared/datasets/uci-occupancy"
    with pytest.raises(ConfigError, match=r"data\.csv\.paths: no file matches"):
        F.room_source({"data": {"source": "csv", "csv": {"paths": ["data/raw/nothing-*.csv"]}}}, ROOT)


def test_detect_finds_a_room_by_name_and_names_the_rooms_it_knows(fleet_root):
    F.write_fleet(F.load_fleet(ROOT / F.DEFAULT_FLEET, ROOT / "conf"), fleet_root)
    assert F.room_paths("uci", fleet_root) == ("fleet/uci/params.yaml", "models/uci", "build/uci/firmware/host/program")
    with pytest.raises(ConfigError, match=r"room 'nope': no fleet/nope/params\.yaml \(rooms of the fleet: .*uci"):
        F.room_paths("nope", fleet_root)


def test_a_room_named_like_a_folder_of_the_single_room_pipeline_is_refused(tmp_path):
    path = write(tmp_path / "x.yaml", "rooms:\n  firmware: {data: home}\n")
    with pytest.raises(ConfigError, match=r"rooms\.firmware: .*taken by the single-room pipeline"):
        F.fleet_files(F.load_fleet(path, ROOT / "conf"), ROOT)


def _row(room, labels, alerts, fa, over):
    return {"room": room, "data": room, "labels": labels, "alerts_wk": alerts, "fa_wk": fa, "budget_wk": 1.0,
            "flagged": 0.01, "f1": 0.5 if labels else None, "caught": 0.5 if labels else None, "tflite": 3400,
            "c_flash": 900, "fw_flash": 25000, "over_budget": over, "drift": {"at": "", "raw_wk": None, "remedy_wk": None}}


def test_the_report_puts_the_rooms_over_budget_first_and_scores_no_unlabelled_room(tmp_path):
    rooms = {}
    for name, ground, alerts, fa in (("quiet", 1, 0.5, 0.0), ("noisy", 1, 9.0, 4.0), ("unlabelled", 0, 3.0, None)):
        head = {"device": {"alerts_per_week": alerts, "false_alarms_per_week": fa if fa is not None else 2.0,
                           "flagged_share": 0.02, "f1": 0.7, "events_caught_share": 1.0},
                "budgets": {"max_false_alarms_per_week": 1.0,
                            "device_over_false_alarm_budget": int((fa if ground else alerts) > 1.0)}}
        write(tmp_path / "metrics" / name / "evaluate.json", json.dumps({"ground_truth": ground, "headline": head}))
        write(tmp_path / "metrics" / name / "quantize.json", json.dumps({"tflite_bytes": 3400}))
        write(tmp_path / "metrics" / name / "firmware.json",
              json.dumps({"model_c": {"flash_bytes": 920}, "envs": {"host": {"flash_bytes": 25484}}}))
        rooms[name] = F.Room(name, "home")
    fleet = F.Fleet("t", "conf/fleet/t.yaml", rooms)
    rows = F.write_report(fleet, tmp_path)
    assert [r["room"] for r in rows] == ["noisy", "unlabelled", "quiet"]
    by = {r["room"]: r for r in rows}
    assert by["unlabelled"]["f1"] is None and by["unlabelled"]["fa_wk"] is None and by["unlabelled"]["over_budget"]
    assert by["quiet"]["f1"] == 0.7 and not by["quiet"]["over_budget"]
    md = (tmp_path / "plots" / "fleet" / "report.md").read_text()
    assert md.index("| noisy |") < md.index("| quiet |") and "2 of 3 rooms over budget: noisy, unlabelled." in md
    assert (tmp_path / "plots" / "fleet" / "rooms.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "metrics" / "fleet.json").read_text())["over_budget"] == ["noisy", "unlabelled"]
    (tmp_path / "metrics" / "quiet" / "firmware.json").unlink()
    with pytest.raises(ConfigError, match=r"room 'quiet' has no metrics/quiet/firmware\.json"):
        F.write_report(fleet, tmp_path)


def _session_csv(path: Path, seed: int, days: float = 8.0) -> None:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-01-05", periods=int(days * 1440), freq="60s")
    hours = ts.hour.to_numpy() + ts.minute.to_numpy() / 60.0
    temp = 23.5 + 0.8 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 0.1, len(ts))
    hum = 40.0 + 3.0 * np.cos(2 * np.pi * hours / 24) + rng.normal(0, 0.5, len(ts))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "temperature": np.round(temp, 1),
                  "humidity": np.round(hum, 1)}).to_csv(path, index=False)


def _ran(stdout: str) -> set[str]:
    return set(re.findall(r"Running stage 'fleet/dvc\.yaml:(\w+@\w+)'", stdout))


def _stale(proj: Path) -> set[str]:
    from tests.helpers.project import run

    out = run(["dvc", "status", "--json", "fleet/dvc.yaml"], proj).stdout
    return {k.split(":")[-1] for k in json.loads(out or "{}")}


@pytest.mark.slow
def test_a_fleet_runs_in_parallel_is_cached_per_room_and_one_rooms_csv_reruns_only_that_room(tmp_path):
    """Two CSV rooms through `tinyad fleet run` (two joblib jobs), every stage to the host
    firmware; then DVC's books: nothing stale, one room's log touched -> only that room
    reruns, a shared change -> every room's stages that read it."""
    from tests.helpers.project import copy_worktree, run

    proj = copy_worktree(tmp_path / "proj")
    for room, seed in (("a", 1), ("b", 2)):
        _session_csv(proj / "data" / "raw" / room / "session-1.csv", seed)
    rooms = "".join(f"  {r}:\n    data: recorded\n    overrides: [\"data.csv.paths=['data/raw/{r}/session-*.csv']\"]\n"
                    for r in ("a", "b"))
    write(proj / "conf" / "fleet" / "two.yaml", "name: two\nshared: [model.epochs=3]\nrooms:\n" + rooms)
    fleet_run = [sys.executable, "-m", "tinyad.tools.fleet", "run", "conf/fleet/two.yaml", "hydra.launcher.n_jobs=2"]
    first = run(fleet_run, proj)
    assert "2 of 2 rooms to run: a (from ingest), b (from ingest)" in first.stdout, first.stdout
    sources = yaml.safe_load((proj / "fleet" / "rooms.yaml").read_text())["rooms"]
    assert sources["a"]["source"] == "data/raw/a" and sources["b"]["source"] == "data/raw/b"
    for room in ("a", "b"):
        assert (proj / "build" / room / "firmware" / "host" / "program").is_file()
        assert (proj / "build" / room / "generated" / "tinyad_model.c").is_file()
        assert json.loads((proj / "metrics" / room / "headline.json").read_text())["fw_flash"] > 0
    assert not (proj / "data" / "processed" / "dataset.parquet").exists()  # the single-room outputs: untouched
    assert not (proj / "firmware" / "lib" / "generated" / "tinyad_model.c").exists()
    report = json.loads((proj / "metrics" / "fleet.json").read_text())
    assert set(report["rooms"]) == {"a", "b"} and (proj / "plots" / "fleet" / "rooms.png").is_file()
    assert _stale(proj) == set()  # what the jobs ran is recorded: dvc repro would run nothing
    assert _ran(run(["dvc", "repro", "fleet/dvc.yaml"], proj).stdout) == set()
    # detect takes a room: its params, its model
    det = run([sys.executable, "-m", "tinyad", "detect", "data/raw/b/session-1.csv", "--room", "b"], proj)
    assert "model models/b" in det.stdout and (proj / "outputs" / "detect" / "b" / "session-1" / "alerts.csv").is_file()

    csv = proj / "data" / "raw" / "a" / "session-1.csv"
    lines = csv.read_text().splitlines()
    ts, t, h = lines[500].split(",")
    lines[500] = f"{ts},{float(t) + 0.1:.1f},{h}"  # one reading of room a
    csv.write_text("\n".join(lines) + "\n")
    assert _stale(proj) == {"ingest@a"}
    again = run(["dvc", "repro", "fleet/dvc.yaml:cluster"], proj).stdout
    assert _ran(again) == {"ingest@a", "cluster@a"}, again
    second = run(fleet_run, proj)
    assert "1 of 2 rooms to run: a (from train)" in second.stdout, second.stdout
    assert _stale(proj) == set()

    # a shared change (conf/, then a fresh write) reaches every room's stages that read the key
    cfg = proj / "conf" / "config.yaml"
    text = cfg.read_text()
    assert re.search(r"^  contamination: ", text, re.M)
    cfg.write_text(re.sub(r"^(  contamination: )([0-9.e-]+)", lambda m: m.group(1) + "0.02", text, count=1, flags=re.M))
    run([sys.executable, "-m", "tinyad.tools.fleet", "write", "conf/fleet/two.yaml"], proj)
    assert {"cluster@a", "cluster@b"} <= _stale(proj) and not any(s.startswith("ingest@") for s in _stale(proj))


SHARED_FLEET = """name: sh
model: shared
train_rooms: [sim, home]
rooms:
  sim: {}
  home: {}
  office: {}
  temp_only: {model: own}
"""


def test_a_fleet_model_is_one_training_stage_and_the_rooms_on_it_read_it(tmp_path, fleet_root):
    from tests.helpers.project import run

    fleet = F.load_fleet(write(tmp_path / "sh.yaml", SHARED_FLEET), ROOT / "conf")
    assert fleet.shared_rooms == ["sim", "home", "office"] and fleet.learning_rooms == ["sim", "home"]
    F.write_fleet(fleet, fleet_root)
    run(["dvc", "init", "--no-scm", "-q"], fleet_root)
    stages = {s.split(":")[-1] for s in run(["dvc", "stage", "list", "fleet/dvc.yaml", "--name-only"],
                                           fleet_root).stdout.split()}
    # one training for the fleet model, one for the room with its own model, none for the others
    assert {s for s in stages if s.startswith("train")} == {"train@temp_only"} and F.FLEET_MODEL_STAGE in stages
    fp = yaml.safe_load((fleet_root / "fleet" / "dvc.yaml").read_text())["stages"]
    fm = fp[F.FLEET_MODEL_STAGE]
    # it learns from the train_rooms' labels and exposure rows, each with the room's own scaler; office joins
    # without retraining it
    assert {d for d in fm["deps"] if d.startswith(("data/", "models/"))} == {
        "data/sim/processed/dataset.parquet", "models/sim/scaler.json", "data/sim/processed/exposure.parquet",
        "data/home/processed/dataset.parquet", "models/home/scaler.json", "data/home/processed/exposure.parquet"}
    assert ("--dataset data/sim/processed/dataset.parquet --scaler models/sim/scaler.json "
            "--exposure data/sim/processed/exposure.parquet --dataset data/home/") in fm["cmd"]
    assert fm["outs"][0] == F.SHARED_MODEL and fm["params"] == [{F.SHARED_PARAMS: ["features", "model"]}]
    # it is the train stage itself: its command and exactly its code
    train = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["train"]
    assert fm["cmd"].startswith(f"python -m stages.train --params {F.SHARED_PARAMS} --dataset data/sim/")
    assert fm["cmd"].endswith(f"--model {F.SHARED_MODEL} --metrics {F.SHARED_TRAIN_METRICS} --plots plots/_shared/train")
    assert {d for d in fm["deps"] if not d.startswith(("data/", "models/"))} == {
        d for d in train["deps"] if not d.startswith(("data/", "models/"))}
    cmds = dict(F.room_commands(fleet_root, "office"))
    assert "train" not in cmds and f"--model {F.SHARED_MODEL}" in cmds["quantize"]
    assert f"--model {F.SHARED_MODEL}" in cmds["evaluate"] and "--tflite models/office/model_int8.tflite" in cmds["evaluate"]
    own = dict(F.room_commands(fleet_root, "temp_only"))
    assert "--model models/temp_only/model.keras" in own["train"] and "--model models/temp_only/model.keras" in own["quantize"]
    assert "&id" not in (fleet_root / "fleet" / "rooms.yaml").read_text()  # every value spelt out
    shared_params = yaml.safe_load((fleet_root / F.SHARED_PARAMS).read_text())
    assert shared_params["model"] == yaml.safe_load((fleet_root / "fleet" / "sim" / "params.yaml").read_text())["model"]
    assert F.write_fleet(fleet, fleet_root, check=True) == []  # _shared is not a room that left the fleet
    for name in ("nope", F.SHARED):  # the fleet model's params are not a room's
        with pytest.raises(ConfigError, match=rf"room '{name}'.*\(rooms of the fleet: home, office, sim, temp_only;"):
            F.room_paths(name, fleet_root)
    arts = F.room_artifacts("office", on_fleet_model=True)
    assert "models/office/model.keras" not in arts and "metrics/office/train.json" not in arts
    assert {"models/office/model_int8.tflite", "metrics/office/evaluate.json", "metrics/office/headline.json"} <= set(arts)


def test_a_room_whose_inputs_differ_from_the_fleet_models_must_keep_its_own(tmp_path, fleet_root):
    fleet = F.load_fleet(write(tmp_path / "x.yaml", "model: shared\nrooms: {home: {}, temp_only: {}}\n"), ROOT / "conf")
    with pytest.raises(ConfigError, match=r"rooms\.temp_only: its features params differ from those of 'home'.*"
                                          r"give the room `model: own`") as err:
        F.write_fleet(fleet, fleet_root)
    assert "\n" not in str(err.value)


def test_the_fleet_models_rows_are_every_rooms_own_rows_each_standardised_by_its_own_scaler():
    from tinyad.device.features import Scaler
    from tinyad.learn.training import load_training_data, pooled_training_data

    rng = np.random.default_rng(0)
    rooms = []
    for shift in (0.0, 10.0):
        X = rng.normal(shift, 1.0 + shift / 10, size=(60, 2))
        split = np.array(["train"] * 40 + ["val"] * 10 + ["test"] * 10)
        table = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "split": split, "valid": True,
                              "pseudo_label": (rng.random(60) < 0.1).astype(int)})
        rooms.append((table, Scaler(features=["a", "b"]).fit(X[:40])))
    X_tr, y_tr, X_va, y_va = pooled_training_data(rooms)
    parts = [load_training_data(t, s) for t, s in rooms]
    assert np.array_equal(X_tr, np.concatenate([parts[0][0], parts[1][0]])) and len(y_va) == 20
    assert abs(X_tr[40:].mean()) < 0.5  # room two standardised by its own scaler, not room one's
    with pytest.raises(ValueError, match="different features"):
        pooled_training_data([rooms[0], (rooms[1][0], Scaler(features=["a", "c"]).fit(np.zeros((2, 2))))])


@pytest.mark.slow
def test_a_fleet_model_runs_on_submitit_and_a_new_room_joins_it_without_retraining(tmp_path):
    """`model: shared` through `tinyad fleet run` on Hydra's submitit launcher (the code
    path of SLURM, on this machine): the learning rooms' labels, the one fleet model, then
    every room on it; a room added later runs alone and the fleet model is not retrained."""
    from tests.helpers.project import copy_worktree, run

    proj = copy_worktree(tmp_path / "proj")
    for room, seed in (("a", 1), ("b", 2), ("c", 3)):
        _session_csv(proj / "data" / "raw" / room / "session-1.csv", seed)

    def fleet_file(rooms: tuple[str, ...]) -> None:
        body = "".join(f"  {r}:\n    data: recorded\n    overrides: [\"data.csv.paths=['data/raw/{r}/session-*.csv']\"]\n"
                       for r in rooms)
        write(proj / "conf" / "fleet" / "sh.yaml",
              "name: sh\nmodel: shared\ntrain_rooms: [a, b]\nshared: [model.epochs=3]\nrooms:\n" + body)

    fleet_file(("a", "b"))
    fleet_run = [sys.executable, "-m", "tinyad.tools.fleet", "run", "conf/fleet/sh.yaml", "hydra/launcher=submitit_local"]
    first = run(fleet_run, proj)
    assert "first the labels of 2 room(s): a, b" in first.stdout, first.stdout
    assert "2 of 2 rooms to run: a (from quantize), b (from quantize)" in first.stdout, first.stdout
    assert list((proj / "multirun").glob("fleet-*/.submitit")), "the jobs ran through submitit"
    assert (proj / F.SHARED_MODEL).is_file() and not (proj / "models" / "a" / "model.keras").exists()
    assert json.loads((proj / F.SHARED_TRAIN_METRICS).read_text())["datasets"] == [
        "data/a/processed/dataset.parquet", "data/b/processed/dataset.parquet"]
    assert "the fleet model took" in first.stdout
    for room in ("a", "b"):
        assert (proj / "build" / room / "firmware" / "host" / "program").is_file()
        assert (proj / "models" / room / "model_int8.tflite").is_file()  # its own int8 calibration of the one MLP
    report = json.loads((proj / "metrics" / "fleet.json").read_text())
    assert set(report["rooms"]) == {"a", "b"}
    assert "| fleet |" in (proj / "plots" / "fleet" / "report.md").read_text()
    assert _stale(proj) == set()
    lock = yaml.safe_load((proj / "fleet" / "dvc.lock").read_text())["stages"][F.FLEET_MODEL_STAGE]

    fleet_file(("a", "b", "c"))  # a new room on the fleet model, not one it learns from
    second = run(fleet_run, proj)
    assert "first the labels of 1 room(s): c" in second.stdout, second.stdout
    assert "1 of 3 rooms to run: c (from quantize)" in second.stdout, second.stdout
    assert yaml.safe_load((proj / "fleet" / "dvc.lock").read_text())["stages"][F.FLEET_MODEL_STAGE] == lock
    assert (proj / "build" / "c" / "firmware" / "host" / "program").is_file() and _stale(proj) == set()


def fake_fleet(tmp_path: Path) -> F.Fleet:
    """Two rooms' metrics and params as a finished fleet run leaves them: 'noisy' over budget."""
    import shutil

    rooms = {}
    for name, fa in (("quiet", 0.0), ("noisy", 4.0)):
        head = {"device": {"alerts_per_week": fa + 1, "false_alarms_per_week": fa, "flagged_share": 0.02, "f1": 0.7,
                           "events_caught_share": 1.0},
                "budgets": {"max_false_alarms_per_week": 1.0, "device_over_false_alarm_budget": int(fa > 1)}}
        write(tmp_path / "metrics" / name / "evaluate.json", json.dumps({"ground_truth": 1, "headline": head}))
        write(tmp_path / "metrics" / name / "quantize.json", json.dumps({"tflite_bytes": 3400}))
        write(tmp_path / "metrics" / name / "firmware.json",
              json.dumps({"model_c": {"flash_bytes": 920}, "envs": {"host": {"flash_bytes": 25484}}}))
        write(tmp_path / "models" / name / "quant.json", "{}")
        (tmp_path / "fleet" / name).mkdir(parents=True)
        shutil.copy(ROOT / "params.yaml", tmp_path / "fleet" / name / "params.yaml")
        rooms[name] = F.Room(name, "home")
    return F.Fleet("two", "conf/fleet/two.yaml", rooms)


def test_the_fleet_is_one_mlflow_parent_run_with_a_child_per_room_tagged_with_the_room(tmp_path):
    import mlflow

    fleet = fake_fleet(tmp_path)
    rows = F.write_report(fleet, tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = F.log_fleet(fleet, rows, tmp_path, uri=uri)
    client = mlflow.MlflowClient(uri)
    run = client.get_run(parent)
    assert run.info.status == "FINISHED" and run.data.tags["tinyad.fleet"] == "two"
    assert run.data.metrics["fleet.rooms"] == 2 and run.data.metrics["fleet.rooms_over_budget"] == 1
    assert {a.path for a in client.list_artifacts(parent, "report")} >= {"report/fleet.json", "report/report.md",
                                                                           "report/rooms.png"}
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")
    by_room = {c.data.tags["tinyad.room"]: c for c in children}
    assert set(by_room) == {"quiet", "noisy"}
    assert by_room["noisy"].data.tags["tinyad.over_budget"] == "true"
    assert by_room["noisy"].data.metrics["evaluate.headline.device.false_alarms_per_week"] == 4.0
    assert by_room["quiet"].data.params["data.source"] == "sim"


def test_a_rooms_mlflow_run_logs_that_rooms_readings_and_model_not_the_single_room_pipelines(tmp_path):
    import mlflow
    import pandas as pd

    fleet = fake_fleet(tmp_path)
    rows = F.write_report(fleet, tmp_path)
    for where, n in (("data/interim", 7), ("data/quiet/interim", 3), ("data/noisy/interim", 5)):
        (tmp_path / where).mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"temperature": [21.0] * n}).to_parquet(tmp_path / where / "readings.parquet")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = F.log_fleet(fleet, rows, tmp_path, uri=uri)
    client = mlflow.MlflowClient(uri)
    children = client.search_runs([client.get_run(parent).info.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")
    for child in children:
        room = child.data.tags["tinyad.room"]
        (ds,) = [d.dataset for d in child.inputs.dataset_inputs]
        assert f"data/{room}/interim/readings.parquet" in ds.source
        assert json.loads(ds.profile)["num_rows"] == {"quiet": 3, "noisy": 5}[room]
    own, shared = F.room_run_files("quiet"), F.room_run_files("quiet", on_fleet_model=True)
    assert (own.keras, shared.keras) == ("models/quiet/model.keras", F.SHARED_MODEL)
    assert own.int8 == shared.int8 == ("models/quiet/model_int8.tflite", "models/quiet/quant.json",
                                       "models/quiet/scaler.json")
    assert own.generated == "build/quiet/generated"


def test_a_room_on_the_fleet_model_does_not_log_a_train_json_left_from_its_own_model(tmp_path):
    import mlflow

    from tinyad.tools.tracking import log_pipeline_run

    fake_fleet(tmp_path)
    write(tmp_path / "metrics" / "quiet" / "train.json", json.dumps({"val_accuracy": 0.5}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = {}
    for on_fleet in (False, True):
        runs[on_fleet] = log_pipeline_run(tmp_path, "fleet/quiet/params.yaml", "metrics/quiet", [], history=None,
                                          uri=uri, strict=True, files=F.room_run_files("quiet", on_fleet))
    metrics = {k: set(mlflow.MlflowClient(uri).get_run(r).data.metrics) for k, r in runs.items()}
    assert "train.val_accuracy" in metrics[False] and "train.val_accuracy" not in metrics[True]
    assert "quantize.tflite_bytes" in metrics[True]  # the room's own stages are still logged


@pytest.mark.slow
def test_the_fleet_report_and_its_mlflow_runs_in_the_browser(tmp_path):
    """The report page (table and figure) in Chromium, then the MLflow UI: the parent
    run of the fleet with its rooms' child runs under it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers.browser import chrome
    from tests.helpers.project import ARTIFACTS
    from tests.helpers.tracking import mlflow_server

    fleet = fake_fleet(tmp_path)
    rows = F.write_report(fleet, tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = F.log_fleet(fleet, rows, tmp_path, uri=uri)
    ARTIFACTS.mkdir(exist_ok=True)
    with chrome(tmp_path, "--window-size=1400,1000") as browser:
        browser.get((tmp_path / "plots" / "fleet" / "report.html").as_uri())
        cells = [r.find_elements(By.TAG_NAME, "td") for r in browser.find_elements(By.CSS_SELECTOR, "#rooms tbody tr")]
        assert [c[0].text for c in cells] == ["noisy", "quiet"]  # over budget first
        assert browser.find_elements(By.CSS_SELECTOR, "#rooms tr.over")[0].text.startswith("noisy")
        # the figure has loaded (naturalWidth is 0 for a broken image)
        assert browser.execute_script("return document.getElementById('figure').naturalWidth") > 300
        assert browser.save_screenshot(str(ARTIFACTS / "fleet_report.png"))

        import mlflow

        exp_id = mlflow.MlflowClient(uri).get_run(parent).info.experiment_id
        with mlflow_server(uri, tmp_path) as url:
            wait = WebDriverWait(browser, 90)
            browser.get(f"{url}/#/experiments/{exp_id}/runs")
            wait.until(EC.presence_of_element_located((By.XPATH, "//a[normalize-space()='fleet two']")))
            # the child runs sit under the parent: expand it, then every room's run is a row
            # (MLflow 3's run-name cell holds the nested runs' expander: the one button in that cell)
            expander = wait.until(EC.element_to_be_clickable(
                (By.CSS_SELECTOR, "button[data-component-id*='runnamecellrenderer']")))
            expander.click()
            for room in ("noisy", "quiet"):
                wait.until(EC.presence_of_element_located((By.XPATH, f"//a[normalize-space()='two/{room}']")))
            assert browser.save_screenshot(str(ARTIFACTS / "fleet_mlflow_runs.png"))
