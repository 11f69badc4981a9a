"""The pipeline's own model and test split, end to end, exactly.

On the default pipeline that the ``pipeline`` fixture reproduced:

- the generated int8 C inference equals the TensorFlow Lite Micro interpreter on every
  row of the test split (issue 5);
- the generated C feature pipeline, fed the raw readings, yields exactly the int8
  input vectors that Python computes (issue 5);
- the host firmware that the ``firmware`` stage built, fed the raw test-split readings
  as a fresh device would see them, prints exactly the lines (alerts, clears, faults,
  status with score) of the Python reference of the alert logic driven by the int8
  model in TFLite Micro (issue 6).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.helpers.cbuild import CModel, tflm_predict
from tests.helpers.cfeatures import CFeatures, python_codes
from tests.helpers.firmware import Row, compare_with_reference
from tinyad.config import load
from tinyad.device.features import Scaler, compute_features, dataset_inputs, quantize_input
from tinyad.io import read_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(pipeline):
    root = pipeline.root
    return {
        "cfg": load(root / "params.yaml"),
        "dataset": pd.read_parquet(root / "data/processed/dataset.parquet"),
        "readings": pd.read_parquet(root / "data/interim/readings.parquet"),
        "scaler": Scaler.load(root / "models/scaler.json"),
        "quant": read_json(root / "models/quant.json"),
        "tflite": (root / "models/model_int8.tflite").read_bytes(),
        "generated": root / "firmware/lib/generated",
        "program": root / "build/firmware/host/program",
    }


def _quantize(run, X_scaled):
    q = run["quant"]["input"]
    return quantize_input(X_scaled, q["scale"], q["zero_point"])


def test_generated_c_equals_tflm_on_every_test_row(run):
    X, rows = dataset_inputs(run["dataset"], run["scaler"], "test")
    q_in = _quantize(run, X)
    assert len(q_in) > 1000
    c_out = CModel(run["generated"]).predict(q_in)
    np.testing.assert_array_equal(c_out, tflm_predict(run["tflite"], q_in))
    # the outputs are not all one code: the comparison covers both decisions
    assert len(np.unique(c_out)) > 10


def test_c_feature_pipeline_equals_python_on_the_raw_readings(run):
    df, cfg = run["readings"], run["cfg"]
    full, c_codes, _ = CFeatures(run["generated"]).run_frame(df, cfg)
    _, _, py_codes = python_codes(df, cfg, run["scaler"], run["quant"])
    np.testing.assert_array_equal(c_codes[full], py_codes)
    # and these are the very inputs the model was evaluated on in the test split
    X, rows = dataset_inputs(run["dataset"], run["scaler"], "test")
    _, valid = compute_features(df, cfg.features)
    scored_positions = np.flatnonzero(valid)
    in_test = np.isin(scored_positions, rows)
    np.testing.assert_array_equal(py_codes[in_test], _quantize(run, X))


def _field(x: float) -> str:
    return "" if isinstance(x, float) and math.isnan(x) else f"{x:.1f}"


def test_host_firmware_alerts_equal_the_python_reference_on_the_test_split(run):
    test = run["dataset"][run["dataset"]["split"] == "test"].reset_index(drop=True)
    readings = test[["timestamp", "temperature", "humidity", "fault"]].copy()
    rows: list[Row] = [
        (ts.strftime("%Y-%m-%d %H:%M:%S"), _field(t), _field(h))
        for ts, t, h in zip(readings["timestamp"], readings["temperature"], readings["humidity"])
    ]
    # the reference scores: Python features of the test readings alone (a device
    # switched on at the start of the test split) and the int8 model in TFLite Micro
    X, valid = compute_features(readings, run["cfg"].features)
    q_out = tflm_predict(run["tflite"], _quantize(run, run["scaler"].transform(X[valid])))[:, 0]
    scores: list[int | None] = [None] * len(rows)
    for pos, code in zip(np.flatnonzero(valid), q_out):
        scores[pos] = int(code)

    lines = compare_with_reference(run["program"], rows, run["generated"], scores=lambda _rows: scores)
    events = [ln["event"] for ln in lines]
    assert events.count("alert") >= 5, "the test split should raise alerts"
    assert any(ln["event"] == "alert" and ln["model"] for ln in lines)
