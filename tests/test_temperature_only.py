"""A temperature-only room, end to end: a log without humidity through the whole pipeline.

In a copy of the work tree (``tests.helpers.project.copy_worktree``) the simulated room is
written as a temperature-only CSV log (``timestamp,temperature,label``: no humidity
column at all, failed reads as an empty cell or -999, as a recorder writes them), and
the pipeline is configured to read it (``data=recorded`` with
``data.csv.humidity_col=''``) and to use temperature alone
(``features.use_humidity=false``, no ``hum*`` feature).  ``dvc repro`` runs every
stage; then the model has one input per temperature feature, the generated
``tinyad_config.h`` says ``TINYAD_USE_HUMIDITY 0``, and the host firmware that the
last stage built scores readings with an empty humidity field without a single fault
(and streams them in log mode with ``"hum": null``).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.project import copy_worktree, run
from tinyad.config import load
from tinyad.params import compose

pytestmark = pytest.mark.slow

TEMP_ONLY = ["temp", "tod_sin", "tod_cos", "temp_devup", "run"]
SMALL = ["features.use_humidity=false", f"features.names=[{','.join(TEMP_ONLY)}]", "data.sim.days=8",
         "model.epochs=5", "evaluate.latency_runs=50"]
LOG = "data/raw/room-temp-only.csv"


def write_temperature_only_log(root: Path) -> pd.DataFrame:
    """The simulated room as a temperature-only log, the way a recorder would write it."""
    from tinyad.data.simulate import simulate

    compose(SMALL, conf_dir=root / "conf", out=root / "params.yaml")
    table, _events = simulate(load(root / "params.yaml").data)
    table = table[table["fault"] != "missing"]  # a missing period has no line in a log
    temp = np.where(table["fault"] == "dht_error", "-999",
                    np.where(table["temperature"].notna(), table["temperature"].map("{:.1f}".format), ""))
    log = pd.DataFrame({"timestamp": table["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"), "temperature": temp,
                        "label": table["anomaly_type"]})
    path = root / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    log.to_csv(path, index=False)
    return log


@pytest.fixture(scope="module")
def temp_only(tmp_path_factory) -> Path:
    root = copy_worktree(tmp_path_factory.mktemp("temp_only") / "repo")
    log = write_temperature_only_log(root)
    assert "humidity" not in log.columns and (log["temperature"] == "").any() and (log["temperature"] == "-999").any()
    compose(["data=recorded", f"data.csv.paths=[{LOG}]", "data.csv.humidity_col=''", "data.csv.label_col=label",
             *[o for o in SMALL if not o.startswith("data.sim")]], conf_dir=root / "conf", out=root / "params.yaml")
    cfg = load(root / "params.yaml")
    assert cfg.data.source == "csv" and cfg.data.csv.humidity_col == "" and not cfg.features.use_humidity
    run(["dvc", "repro"], root)
    return root


def test_ingest_read_the_log_without_humidity(temp_only):
    readings = pd.read_parquet(temp_only / "data/interim/readings.parquet")
    assert readings["humidity"].isna().all()
    valid = readings["fault"] == ""
    assert valid.mean() > 0.9 and readings.loc[valid, "temperature"].notna().all()
    assert {"nan", "dht_error"} <= set(readings["fault"])
    assert (readings["label"] == 1).any()  # the label column was read


def test_model_has_one_input_per_temperature_feature(temp_only):
    from tinyad.device.tflite_model import read_tflite

    scaler = json.loads((temp_only / "models/scaler.json").read_text())
    assert scaler["features"] == TEMP_ONLY
    assert read_tflite(temp_only / "models/model_int8.tflite").n_inputs == len(TEMP_ONLY)
    assert json.loads((temp_only / "metrics/codegen.json").read_text())["n_inputs"] == len(TEMP_ONLY)


def test_generated_config_says_no_humidity(temp_only):
    header = (temp_only / "firmware/lib/generated/tinyad_config.h").read_text()
    assert re.search(r"^#define TINYAD_USE_HUMIDITY 0\b", header, re.MULTILINE), header
    headers = "".join(p.read_text() for p in sorted((temp_only / "firmware/lib/generated").glob("*.h")))
    assert re.search(rf"^#define TINYAD_N_INPUTS {len(TEMP_ONLY)}\b", headers, re.MULTILINE)


def test_host_firmware_scores_readings_without_humidity_and_without_faults(temp_only):
    program = temp_only / "build/firmware/host/program"
    assert program.is_file()
    header = (temp_only / "firmware/lib/generated/tinyad_config.h").read_text()
    window = int(re.search(r"^#define TINYAD_WINDOW (\d+)", header, re.MULTILINE).group(1))
    log = pd.read_csv(temp_only / LOG, dtype=str, keep_default_na=False)
    ok = log[(log["temperature"] != "") & (log["temperature"] != "-999")].tail(3 * window)
    text = "timestamp,temperature,humidity\n" + "".join(f"{t},{v},\n" for t, v in zip(ok["timestamp"], ok["temperature"]))
    proc = subprocess.run([str(program), "--status-every", "1"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    status = [ln for ln in lines if ln["event"] == "status"]
    assert not [ln for ln in lines if ln["event"] == "fault"]
    assert len(status) == len(ok)
    assert all(ln["hum"] is None for ln in status)
    assert [ln["temp"] for ln in status] == [float(v) for v in ok["temperature"]]
    assert all(ln["score"] is None for ln in status[: window - 1])
    assert all(isinstance(ln["score"], int) for ln in status[window - 1:])
    # log mode streams the same readings, humidity null
    proc = subprocess.run([str(program), "--mode", "log"], input=text, capture_output=True, text=True, timeout=60)
    readings = [json.loads(ln) for ln in proc.stdout.splitlines() if '"reading"' in ln]
    assert [(r["temp"], r["hum"], r["score"]) for r in readings] == [(s["temp"], None, s["score"]) for s in status]
