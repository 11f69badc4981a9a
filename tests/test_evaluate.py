"""The evaluate stage on a small hand-built room log with a tiny Keras model and its int8 twin.

The fixture builds three days of one-minute readings with known anomalies (point
spikes, a night-time warm spell, a slow rise), the features and the split with the
shared functions of ``tinyad.features``, trains a tiny MLP on the true labels and
converts it to a full-int8 .tflite, so the stage runs end to end without the other
stages' outputs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tinyad.config import load, load_dict
from tinyad.features import Scaler, compute_features, dataset_inputs, feature_names, split_labels

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # trains and converts a Keras model, runs the stage end to end


def room_log(days: float = 3.0, seed: int = 0) -> pd.DataFrame:
    """Readings with labelled anomalies, as the interim table holds them."""
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    ts = pd.date_range("2026-01-05", periods=n, freq="60s")
    hour = ts.hour.to_numpy() + ts.minute.to_numpy() / 60
    temp = 24.0 + 1.2 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 0.08, n)
    hum = 40.0 - 3.0 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 0.3, n)
    label = np.zeros(n, np.int8)
    kind = np.array(["none"] * n, dtype=object)
    event = np.full(n, -1, np.int32)
    e = 0
    for day in range(int(days)):
        base = day * 1440
        for start, length, what in ((base + 600, 2, "point"), (base + 1000, 3, "point"),
                                    (base + 120, 60, "contextual"), (base + 1200, 90, "collective")):
            sl = slice(start, start + length)
            if what == "point":
                temp[sl] += 8.0
            elif what == "contextual":
                temp[sl] += 2.0
            else:
                temp[sl] += np.linspace(0.0, 3.5, length)
            label[sl], kind[sl], event[sl] = 1, what, e
            e += 1
    temp = np.round(temp, 1)
    hum = np.round(hum, 1)
    fault = np.array([""] * n, dtype=object)
    fault[[50, 51, 2000, 3000]] = "missing"
    temp[[50, 51, 2000, 3000]] = np.nan
    return pd.DataFrame({
        "timestamp": ts, "temperature": temp, "humidity": hum, "fault": fault,
        "label": label, "anomaly_type": kind, "event_id": event,
    })


def base_config(**evaluate):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["split"] = {"train": 0.5, "val": 0.1, "test": 0.4}
    raw["evaluate"].update({"latency_runs": 50, **evaluate})
    return load_dict(raw, source="test params")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """dataset.parquet, scaler.json, model.keras, model_int8.tflite, quant.json, params.yaml."""
    import keras
    import tensorflow as tf

    d = tmp_path_factory.mktemp("evaluate")
    cfg = base_config()
    log = room_log()
    X, valid = compute_features(log, cfg.features)
    names = feature_names(cfg.features)
    ds = log.copy()
    ds["split"] = pd.Series(split_labels(len(ds), cfg.split), dtype="string")
    ds["valid"] = valid
    for j, name in enumerate(names):
        ds[name] = X[:, j]
    ds["cluster"] = np.where(valid, 0, -1)
    # pseudo-labels that differ from the truth on some rows (a crude temperature rule)
    ds["pseudo_label"] = np.where(valid, (ds["temperature"] > 25.5).astype(np.int8), -1).astype(np.int8)
    train = valid & (ds["split"] == "train").to_numpy()
    scaler = Scaler(features=names).fit(X[train])
    Xtr, rows = dataset_inputs(ds, scaler, "train")
    ytr = ds["label"].to_numpy()[rows].astype("float32")

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((len(names),)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy")
    model.fit(Xtr.astype("float32"), ytr, epochs=25, batch_size=64, verbose=0, class_weight={0: 1.0, 1: 5.0})
    model.save(d / "model.keras")

    rep = Xtr.astype("float32")[::5]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rep[i : i + 1]] for i in range(len(rep)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    tflite = conv.convert()
    (d / "model_int8.tflite").write_bytes(tflite)
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=tflite)
    quant = {}
    for key, det in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        s, z = det["quantization"]
        quant[key] = {"scale": float(s), "zero_point": int(z)}
    (d / "quant.json").write_text(json.dumps(quant))
    (d / "scaler.json").write_text(json.dumps(scaler.to_json()))
    ds.to_parquet(d / "dataset.parquet")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["split"] = {"train": 0.5, "val": 0.1, "test": 0.4}
    raw["evaluate"]["latency_runs"] = 50
    (d / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return d


def stage_args(d: Path, metrics: str = "metrics/evaluate.json", plots: str = "plots/evaluate") -> list[str]:
    return ["--params", str(d / "params.yaml"), "--dataset", str(d / "dataset.parquet"), "--scaler", str(d / "scaler.json"),
            "--model", str(d / "model.keras"), "--tflite", str(d / "model_int8.tflite"), "--quant", str(d / "quant.json"),
            "--metrics", str(d / metrics), "--plots", str(d / plots)]


@pytest.fixture(scope="module")
def stage_run(workdir):
    """The stage run through its CLI, as DVC runs it."""
    proc = subprocess.run([sys.executable, "-m", "stages.evaluate", *stage_args(workdir)], cwd=ROOT,
                          capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((workdir / "metrics/evaluate.json").read_text()), workdir


def leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


DETECTORS = ("keras_float", "int8_litert", "int8_tflm", "device", "thresholds", "kmeans_distance", "isolation_forest")


def test_metrics_file_is_nested_numbers_for_dvc(stage_run):
    m, _ = stage_run
    for key, v in leaves(m):
        if key.startswith("method."):
            assert isinstance(v, str) and v
            continue
        assert v is None or (isinstance(v, (int, float)) and math.isfinite(v)), (key, v)
    assert m["ground_truth"] == 1
    for name in DETECTORS:
        r = m[name]
        for k in ("accuracy", "precision", "recall", "f1", "pr_auc"):
            assert 0.0 <= r[k] <= 1.0, (name, k)
        assert sum(r["confusion"].values()) == m["data"]["test_valid_rows"]
        assert set(r["by_type"]) == {"point", "contextual", "collective"}
        assert r["events"]["events"] == m["data"]["events"]


def test_counts_of_the_test_split(stage_run, workdir):
    m, _ = stage_run
    ds = pd.read_parquet(workdir / "dataset.parquet")
    test = ds[ds["split"] == "test"]
    assert m["data"]["test_rows"] == len(test)
    assert m["data"]["test_valid_rows"] == int(test["valid"].sum())
    assert m["data"]["events"] == test.loc[test["event_id"] >= 0, "event_id"].nunique()
    assert m["data"]["test_days"] == pytest.approx(len(test) / 1440)


def test_the_model_learned_and_int8_follows_float(stage_run):
    m, _ = stage_run
    # the tiny model was trained on the true labels of an easy log: it must beat chance by far
    assert m["int8_tflm"]["f1"] > 0.5
    assert m["int8_tflm"]["events"]["recall"] > 0.5
    assert m["agreement"]["int8_vs_float_decisions"] > 0.95
    # TFLM and LiteRT run the same int8 graph: nearly every code equal (kernels may round differently)
    assert m["agreement"]["int8_tflm_vs_litert_codes"] > 0.97


def test_seed_threshold_baseline_is_the_rule(stage_run, workdir):
    m, _ = stage_run
    ds = pd.read_parquet(workdir / "dataset.parquet")
    t = ds[(ds["split"] == "test") & ds["valid"]]
    rule = (t["temperature"] < 20) | (t["temperature"] > 28) | (t["humidity"] < 30) | (t["humidity"] > 50)
    truth = t["label"] == 1
    assert m["thresholds"]["confusion"]["tp"] == int((rule & truth).sum())
    assert m["thresholds"]["confusion"]["fp"] == int((rule & ~truth).sum())
    # the spikes of +8 deg C are the only rows over 28 deg C: the rule catches point anomalies only
    assert m["thresholds"]["by_type"]["point"]["recall"] == 1.0
    assert m["thresholds"]["by_type"]["contextual"]["recall"] == 0.0


def test_latency_and_memory(stage_run, workdir):
    m, _ = stage_run
    for k in ("keras", "litert", "tflm"):
        lat = m["latency_us"][k]
        assert 0 < lat["min"] <= lat["median"] <= lat["p95"] <= lat["max"]
        assert lat["runs"] == 50 and lat["warmup"] == 10
    mem = m["memory"]
    assert mem["tflite_bytes"] == (workdir / "model_int8.tflite").stat().st_size
    assert 0 < mem["tflm_arena_recorded_bytes"] <= mem["tflm_arena_bytes"] < 64 * 1024
    assert "bisection" in m["method"]["tflm_arena"] and "perf_counter_ns" in m["method"]["latency"]


def test_arena_search_finds_the_boundary(workdir):
    from tinyad.latency import _probe, tflm_arena_bytes

    found = tflm_arena_bytes((workdir / "model_int8.tflite").read_bytes(), step=16)
    n = found["arena_bytes"]
    assert _probe(workdir / "model_int8.tflite", n)
    assert not _probe(workdir / "model_int8.tflite", n - 16)


def test_plots_and_summary(stage_run):
    m, d = stage_run
    plots = d / "plots/evaluate"
    for name in ("confusion.png", "pr_curve.png", "timeline.png", "events.png"):
        data = (plots / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    curve = pd.read_csv(plots / "pr_curve.csv")
    assert list(curve.columns[:2]) == ["recall", "precision"]
    assert curve["recall"].is_monotonic_increasing
    assert curve["precision"].between(0, 1).all()
    summary = (plots / "summary.md").read_text()
    for label in ("Keras float", "int8, LiteRT", "int8, TFLM", "seed thresholds", "K-means distance", "IsolationForest"):
        assert f"| {label} |" in summary
    assert "better on" in summary and "ground-truth labels" in summary


def test_without_ground_truth_scores_against_pseudo_labels(workdir):
    import stages.evaluate as E

    cfg = base_config()
    ds = pd.read_parquet(workdir / "dataset.parquet")
    ds["label"] = -1
    ds["anomaly_type"] = "unknown"
    ds["event_id"] = -1
    res = E.evaluate(ds, Scaler.load(workdir / "scaler.json"), cfg, E.load_keras(workdir / "model.keras"),
                     (workdir / "model_int8.tflite").read_bytes(), json.loads((workdir / "quant.json").read_text()))
    m = res.metrics
    assert m["ground_truth"] == 0
    assert "no ground truth" in m["method"]["truth"]
    test = ds[(ds["split"] == "test") & ds["valid"]]
    pseudo = test["pseudo_label"].to_numpy() == 1
    # the "truth" is now the pseudo-labels: the confusion counts them
    c = m["int8_litert"]["confusion"]
    assert c["tp"] + c["fn"] == int(pseudo.sum())
    assert m["int8_litert"]["accuracy"] == pytest.approx(m["int8_litert"]["pseudo_agreement"])
    assert "by_type" not in m["int8_litert"]
    # events are the runs of pseudo-anomalous rows
    assert m["data"]["events"] > 0
    assert "NO ground truth" in E.summary_markdown(m)


def test_alert_logic_needs_consecutive_readings_and_holds_over_invalid():
    import stages.evaluate as E

    cfg = replace(base_config().alerts, consecutive=2, clear_after=2)
    model = np.array([1, 0, 1, 1, 1, 0, 0, 0, 0], bool)
    valid = np.array([1, 1, 1, 1, 1, 1, 0, 1, 1], bool)
    alerts, method = E.alert_sequence(model, np.zeros(9, bool), valid, cfg)
    # a single anomalous reading raises nothing; two in a row raise; two normal valid ones clear,
    # and the invalid row 6 leaves the state as it was
    assert alerts.tolist() == [0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert "alert_active" in method


def test_hold_over_invalid():
    import stages.evaluate as E

    out = E.hold_over_invalid(np.array([1, 0, 1], bool), np.array([0, 1, 0, 1, 0, 1, 0], bool))
    assert out.tolist() == [0, 1, 1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="valid rows"):
        E.hold_over_invalid(np.array([1], bool), np.array([1, 1], bool))


def test_bad_inputs_give_clear_errors(workdir, tmp_path):
    import stages.evaluate as E

    bad = json.loads((workdir / "quant.json").read_text())
    bad["output"]["zero_point"] += 1
    (tmp_path / "quant.json").write_text(json.dumps(bad))
    args = stage_args(workdir, metrics=str(tmp_path / "m.json"), plots=str(tmp_path / "p"))
    args[args.index("--quant") + 1] = str(tmp_path / "quant.json")
    with pytest.raises(ValueError, match="quant.json: output scale/zero_point"):
        E.main(args)
    assert not (tmp_path / "m.json").exists()
    ds = pd.read_parquet(workdir / "dataset.parquet").drop(columns=["event_id"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['event_id'\]"):
        E.evaluate(ds, Scaler.load(workdir / "scaler.json"), base_config(), None, b"", {})
