"""The evaluate stage on a small hand-built room log with a tiny Keras model and its int8 twin.

The ``workdir`` fixture (tests/conftest.py, built by ``tests/helpers/evaluate.py``)
builds three days of one-minute readings with known anomalies (point spikes, a
night-time warm spell, a slow rise), the features and the split with the shared
functions of ``tinyad.device.features``, trains a tiny MLP on the true labels and converts it
to a full-int8 .tflite, so the stage runs end to end without the other stages'
outputs.  The same log with every label removed (``nolabel_run``) stands for a real
log without ground truth: the stage must then report alerts, not scores against its
own pseudo-labels (issue 11), and warn when the device breaks the budgets."""

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

from tests.helpers.evaluate import base_config
from tests.helpers.project import ROOT
from tinyad.device.features import Scaler

pytestmark = pytest.mark.slow  # trains and converts a Keras model, runs the stage end to end


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


@pytest.fixture(scope="module")
def nolabel_run(workdir, tmp_path_factory):
    """The stage through its CLI on the same log with every label removed (a real log without labels).

    The tiny model was trained on anomalies that fill about a tenth of the log, so on
    it the device alerts many times a day: far over the default budgets."""
    d = tmp_path_factory.mktemp("nolabel")
    for name in ("scaler.json", "model.keras", "model_int8.tflite", "quant.json", "params.yaml"):
        (d / name).write_bytes((workdir / name).read_bytes())
    ds = pd.read_parquet(workdir / "dataset.parquet")
    ds["label"] = -1
    ds["anomaly_type"] = "unknown"
    ds["event_id"] = -1
    ds.to_parquet(d / "dataset.parquet")
    proc = subprocess.run([sys.executable, "-m", "stages.evaluate", *stage_args(d)], cwd=ROOT,
                          capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((d / "metrics/evaluate.json").read_text()), d, proc


def leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


DETECTORS = ("keras_float", "int8_litert", "int8_tflm", "device", "thresholds", "kmeans_distance", "isolation_forest", "ecod")
HEADLINE = ("device", "thresholds", "kmeans_distance", "isolation_forest", "ecod")
ALERT_FIGURES = ("alerts", "alerts_per_day", "alerts_per_week", "flagged_readings", "flagged_share",
                 "longest_alert_readings", "longest_alert_minutes")


def assert_numbers_for_dvc(m):
    """Nested numbers (None allowed), the method strings, and the list of warning strings."""
    assert isinstance(m["warnings"], list) and all(isinstance(w, str) and w for w in m["warnings"])
    for key, v in leaves(m):
        if key.startswith("method."):
            assert isinstance(v, str) and v
            continue
        if key == "warnings":
            continue
        assert v is None or (isinstance(v, (int, float)) and math.isfinite(v)), (key, v)


def test_metrics_file_is_nested_numbers_for_dvc(stage_run):
    m, _ = stage_run
    assert_numbers_for_dvc(m)
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
    from tinyad.evaluate.latency import _probe, tflm_arena_bytes

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
    for label in ("Keras float", "int8, LiteRT", "int8, TFLM", "seed thresholds", "K-means distance", "IsolationForest",
                  "ECOD (PyOD)"):
        assert f"| {label} |" in summary
    assert "better on" in summary and "ground-truth labels" in summary
    data = (plots / "alerts.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_headline_with_ground_truth(stage_run):
    m, d = stage_run
    h = m["headline"]
    assert h["ground_truth"] == 1 and h["test_days"] == pytest.approx(m["data"]["test_days"])
    assert h["decision_threshold"] == 0.5  # quant.json has no calibrated decision: alerts.decision_threshold
    for name in HEADLINE:
        f = h[name]
        assert f == {**m[name]["alerts"], **{k: f[k] for k in f if k not in m[name]["alerts"]}}
        ev = m[name]["events"]
        assert f["events_caught"] == ev["caught"] and f["events"] == ev["events"] == m["data"]["events"]
        assert f["false_alarms_per_week"] == pytest.approx(7 * ev["false_alarm_events"] / h["test_days"])
        assert f["alerts_per_week"] == pytest.approx(7 * f["alerts"] / h["test_days"])
        assert f["f1"] == m[name]["f1"]
        assert set(f["f1_by_type"]) == {"point", "contextual", "collective"}
        assert 0 <= f["flagged_share"] <= 1 and f["longest_alert_readings"] >= 0
    assert h["device"]["alerts"] >= h["device"]["false_alarm_events"]
    budgets = h["budgets"]
    assert budgets["max_false_alarms_per_week"] == 1.0 and budgets["contamination"] == 0.01
    assert budgets["device_over_false_alarm_budget"] == int(h["device"]["false_alarms_per_week"] > 1.0)
    assert budgets["warnings"] == len(m["warnings"])
    # summary.md leads with the headline, the device first, then the full table
    summary = (d / "plots/evaluate/summary.md").read_text()
    assert summary.index("## Headline") < summary.index("## All detectors against the ground-truth labels")
    head = summary[summary.index("## Headline"):summary.index("## All detectors")]
    for col in ("alerts/week", "false alarm events/week", "events caught", "F1 point", "F1 contextual",
                "F1 collective", "flagged share", "longest alert (min)"):
        assert f"| {col} |" in head or f" {col} |" in head, col
    rows = [line for line in head.splitlines() if line.startswith("| ") and "detector" not in line]
    assert rows[0].startswith("| **device: int8 TFLM + alarm band + stuck rule** |")
    assert f"| {h['device']['events_caught']}/{h['device']['events']} |" in rows[0]


def test_no_labels_reports_alerts_not_scores(nolabel_run):
    """Issue 11: without labels no accuracy/F1 against the pseudo-labels, anywhere."""
    m, d, _ = nolabel_run
    assert_numbers_for_dvc(m)
    assert m["ground_truth"] == 0
    names = {k.rsplit(".", 1)[-1] for k, _ in leaves(m)}
    for bad in ("accuracy", "precision", "recall", "f1", "pr_auc"):
        assert bad not in names, bad
        assert not [k for k in names if bad in k], bad
    assert "by_type" not in names and "events" not in m["data"]
    h = m["headline"]
    assert h["ground_truth"] == 0
    for name in HEADLINE:
        f = h[name]
        assert set(f) == set(ALERT_FIGURES), name  # nothing scored against labels in the headline
        assert f == m[name]["alerts"]
        assert f["alerts_per_week"] == pytest.approx(7 * f["alerts"] / h["test_days"])
        assert f["alerts_per_day"] == pytest.approx(f["alerts"] / h["test_days"])
        assert f["flagged_share"] == pytest.approx(f["flagged_readings"] / m["data"]["test_valid_rows"])
        assert (f["longest_alert_readings"] > 0) == (f["alerts"] > 0)
        assert f["longest_alert_minutes"] == pytest.approx(f["longest_alert_readings"])  # one reading a minute, no gap
    # the imitation of the pseudo-labels is kept, as a diagnostic
    for name in DETECTORS:
        g = m[name]["diagnostic_vs_pseudo_labels"]
        assert 0 <= g["agreement"] <= 1 and 0 <= g["dice_overlap"] <= 1
        assert sum(g["confusion"].values()) == m["data"]["test_valid_rows"]
        assert g["pseudo_runs"] == m["data"]["pseudo_runs"] > 0
    # the drift table: alert figures, no F1
    for kind, sizes in m["drift"].items():
        if kind.startswith("ref_"):
            continue
        for cell in sizes.values():
            for remedy in ("raw", "remedy"):
                assert set(cell[remedy]) == {"alerts_per_week", "flagged_share", "agreement_with_undrifted"}
    assert m["drift"]["noise"]["0"]["raw"]["agreement_with_undrifted"] == 1.0


def test_no_labels_summary_has_no_scores_and_the_plots_are_honest(nolabel_run):
    m, d, _ = nolabel_run
    plots = d / "plots/evaluate"
    summary = (plots / "summary.md").read_text()
    low = summary.lower()
    for bad in ("f1", "accuracy", "precision", "recall", "pr-auc"):
        assert bad not in low, bad
    assert "NO ground truth" in summary
    for col in ("alerts/week", "alerts/day", "flagged share", "longest alert (min)", "longest alert (readings)"):
        assert f" {col} |" in summary, col
    assert "imitation of the k-means labels, not detection quality" in low
    assert summary.index("## Headline") < summary.index("## Diagnostic: agreement with the K-means pseudo-labels")
    rows = [line for line in summary[summary.index("## Headline"):summary.index("## Diagnostic")].splitlines()
            if line.startswith("| ") and "detector" not in line]
    assert [r.split(" | ")[0] for r in rows] == ["| **device: int8 TFLM + alarm band + stuck rule**", "| seed thresholds",
                                                 "| K-means distance", "| IsolationForest", "| ECOD (PyOD)"]
    for drift_text in ((plots / "drift.md").read_text().lower(), (plots / "drift.csv").read_text().lower()):
        assert "f1" not in drift_text
    for name in ("alerts.png", "confusion.png", "pr_curve.png", "timeline.png", "events.png", "drift.png"):
        data = (plots / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    assert (plots / "pr_curve.csv").read_text().strip() == "recall,precision,threshold"


def test_no_labels_over_budget_warns_everywhere(nolabel_run):
    m, d, proc = nolabel_run
    dev = m["headline"]["device"]
    assert dev["alerts_per_week"] > 1.0 and dev["flagged_share"] > 3 * 0.01  # the log is a tenth anomalies
    assert len(m["warnings"]) == 2
    assert "false-alarm budget" in m["warnings"][0] and "far above" in m["warnings"][1]
    b = m["headline"]["budgets"]
    assert (b["device_over_false_alarm_budget"], b["device_over_contamination_budget"],
            b["device_far_above_contamination_budget"], b["warnings"]) == (1, 1, 1, 2)
    err = [line for line in proc.stderr.splitlines() if line.startswith("evaluate: warning: ")]
    assert err == [f"evaluate: warning: {w}" for w in m["warnings"]]
    summary = (d / "plots/evaluate/summary.md").read_text()
    top = summary.split("## Headline")[0]
    assert all(f"> **Warning:** {w}" in top for w in m["warnings"])
    assert "## Headline" in proc.stdout and "evaluate: warning" not in proc.stdout


def test_budget_warnings_over_and_under_budget():
    from tinyad.evaluate.scoring import budget_flags, budget_warnings

    budget = {"max_false_alarms_per_week": 1.0, "contamination": 0.01}
    quiet = {"alerts_per_week": 0.9, "flagged_share": 0.009}
    assert budget_warnings(quiet, budget, ground=False) == []
    assert budget_flags(quiet, budget, ground=False) == {
        "device_over_false_alarm_budget": 0, "device_over_contamination_budget": 0,
        "device_far_above_contamination_budget": 0}
    w = budget_warnings({"alerts_per_week": 3.5, "flagged_share": 0.02}, budget, ground=False)
    assert len(w) == 2 and "3.50 alerts a week" in w[0] and "alerts.max_false_alarms_per_week" in w[0]
    assert "2.00%" in w[1] and "above the contamination budget of 1.00%" in w[1] and "far above" not in w[1]
    w = budget_warnings({"alerts_per_week": 0.5, "flagged_share": 0.031}, budget, ground=False)
    assert len(w) == 1 and "far above (more than 3x)" in w[0] and "cluster.contamination" in w[0]
    assert budget_warnings({"alerts_per_week": 0.5, "flagged_share": 0.03}, budget, ground=False)[0].count("far") == 0
    # with ground truth only the false alarm events count against the budget
    labelled = {"alerts_per_week": 30.0, "flagged_share": 0.2, "false_alarms_per_week": 0.5}
    assert budget_warnings(labelled, budget, ground=True) == []
    w = budget_warnings({**labelled, "false_alarms_per_week": 2.0}, budget, ground=True)
    assert len(w) == 1 and "2.00 false alarm events a week" in w[0]



def test_a_labelled_test_split_without_an_event_has_no_f1_and_says_so():
    from tinyad.evaluate.scoring import NO_EVENT_WARNING, headline_of

    def result(events, fa):
        ev = {"events": events, "caught": 0, "recall": None if not events else 0.0, "false_alarm_events": fa}
        return {"device": {"alerts": {"alerts": fa, "alerts_per_week": fa / 2.0}, "events": ev, "f1": 0.0, "by_type": {}}}

    budget = {"max_false_alarms_per_week": 1.0, "contamination": 0.01}
    head, warnings = headline_of(result(0, 4), True, 14.0, 60.0, 0.5, budget)
    d = head["device"]
    assert d["f1"] is None and d["events_caught_share"] is None and d["false_alarms_per_week"] == 2.0
    assert warnings[-1] == NO_EVENT_WARNING and len(warnings) == 2  # the budget's, then the note
    assert head["budgets"]["warnings"] == 1  # the note is no breach of a budget
    head, warnings = headline_of(result(3, 0), True, 14.0, 60.0, 0.5, budget)
    assert head["device"]["f1"] == 0.0 and warnings == []


def test_budgets_read_the_new_keys_with_defaults():
    from tinyad.evaluate.scoring import budgets

    cfg = base_config()
    b = budgets(cfg)
    assert b["max_false_alarms_per_week"] == getattr(cfg.alerts, "max_false_alarms_per_week", 1.0)
    assert b["contamination"] == getattr(cfg.cluster, "contamination", 0.01)

    class Bare:  # params without the keys: the documented defaults
        alerts = object()
        cluster = object()

    assert budgets(Bare()) == {"max_false_alarms_per_week": 1.0, "contamination": 0.01}


def test_alert_figures_count_rising_edges_and_time_from_timestamps():
    from tinyad.evaluate.metrics import median_period_s
    from tinyad.evaluate.scoring import alert_figures, period_days

    # 5-minute readings with a gap: the longest alert spans it in time
    ts = pd.to_datetime(["2026-01-05 00:00", "2026-01-05 00:05", "2026-01-05 00:10", "2026-01-05 00:15",
                         "2026-01-05 01:00", "2026-01-05 01:05", "2026-01-05 01:10", "2026-01-05 01:15"])
    alert = np.array([1, 0, 0, 1, 1, 1, 0, 1], bool)
    valid = np.array([1, 1, 1, 1, 0, 1, 1, 1], bool)
    days = period_days(ts, 300.0)
    assert days == pytest.approx((75 + 5) / 1440)
    f = alert_figures(alert, valid, ts, 300.0, days)
    assert f["alerts"] == 3  # the one on at the first row counts
    assert f["alerts_per_day"] == pytest.approx(3 / days) and f["alerts_per_week"] == pytest.approx(21 / days)
    assert f["flagged_readings"] == 4 and f["flagged_share"] == pytest.approx(4 / 7)  # the invalid row is not a reading
    assert f["longest_alert_readings"] == 3
    assert f["longest_alert_minutes"] == pytest.approx(55.0)  # 00:15 to 01:05, plus one period
    none = alert_figures(np.zeros(8, bool), valid, ts, 300.0, days)
    assert (none["alerts"], none["flagged_share"], none["longest_alert_minutes"]) == (0, 0.0, 0.0)
    with pytest.raises(ValueError, match="days must be > 0"):
        alert_figures(alert, valid, ts, 300.0, 0.0)
    assert median_period_s(ts) == 300.0
    # any order, duplicates dropped (a merged log's repeated stamps are not zero steps); too short: the default
    assert median_period_s(ts[::-1].append(ts[:3])) == 300.0
    assert median_period_s(ts[:1]) == 60.0 and median_period_s(ts[:1], default=30.0) == 30.0


def test_alerts_by_day_counts_alerts_where_they_start():
    from tinyad.evaluate.metrics import alerts_by_day

    ts = pd.date_range("2026-01-05 22:00", periods=6 * 24 * 3, freq="10min")  # three days from 22:00
    alert = np.zeros(len(ts), bool)
    alert[10:14] = True  # 23:40 on the 5th, running past midnight
    alert[30:31] = True
    alert[32:40] = True
    per_day = alerts_by_day(alert, ts)
    assert list(per_day.index.strftime("%m-%d")) == ["01-05", "01-06", "01-07", "01-08"]
    assert per_day.tolist() == [1, 2, 0, 0]


def test_decision_threshold_prefers_the_calibrated_one():
    from tinyad.learn.calibration import decision_threshold
    from tinyad.evaluate.scoring import decision_code_warnings

    cfg = base_config()
    quant = {"input": {"scale": 0.1, "zero_point": 0}, "output": {"scale": 1 / 256, "zero_point": -128}}
    assert decision_threshold(quant, cfg.alerts, lenient=True) == cfg.alerts.decision_threshold
    assert decision_threshold({**quant, "decision": {}}, cfg.alerts, lenient=True) == cfg.alerts.decision_threshold
    assert decision_threshold({**quant, "decision": {"threshold": 0.8, "code": 77}}, cfg.alerts, lenient=True) == 0.8
    with pytest.raises(ValueError, match="decision.threshold"):
        decision_threshold({**quant, "decision": {"threshold": 1.5}}, cfg.alerts, lenient=True)
    from tinyad.device.features import output_code_threshold

    code = output_code_threshold(quant, 0.8)
    assert decision_code_warnings({**quant, "decision": {"threshold": 0.8, "code": code}}, 0.8) == []
    w = decision_code_warnings({**quant, "decision": {"threshold": 0.8, "code": code - 1}}, 0.8)
    assert len(w) == 1 and f"q_out >= {code}" in w[0]


def stage_inputs(workdir):
    """The evaluate stage's inputs in ``workdir``: dataset, scaler, .tflite bytes, quant.json."""
    return (pd.read_parquet(workdir / "dataset.parquet"), Scaler.load(workdir / "scaler.json"),
            (workdir / "model_int8.tflite").read_bytes(), json.loads((workdir / "quant.json").read_text()))


def test_calibrated_threshold_is_used_by_the_models_and_the_drift_table(workdir):
    from tinyad.evaluate.drift import drift_table
    from tinyad.evaluate.compare import evaluate, load_keras

    cfg = base_config()
    ds, scaler, tflite, quant = stage_inputs(workdir)
    quant["decision"] = {"threshold": 0.9}
    res = evaluate(ds, scaler, cfg, load_keras(workdir / "model.keras"), tflite, quant)
    k = res.detections["keras_float"]
    assert (k.decision == (k.score > 0.9)).all()
    assert res.metrics["headline"]["decision_threshold"] == 0.9
    assert "quant.json decision.threshold" in res.metrics["method"]["decision_threshold"]
    # a threshold no int8 code is above: the model never fires, the drift table's device is the seed rule
    quant["decision"] = {"threshold": 1.0}
    small = replace(cfg, drift=replace(cfg.drift, temp_drift=[0.0], noise=[0.0], hum_offset=[0.0]))
    drift = drift_table(ds, scaler, small, tflite, quant)
    res = evaluate(ds, scaler, small, load_keras(workdir / "model.keras"), tflite, quant)
    assert not res.detections["int8_tflm"].decision.any()
    assert drift["table"]["temp_drift"]["0"]["raw"]["all"] == pytest.approx(res.metrics["thresholds"]["f1"])


def test_the_calibrated_debounce_is_the_models_and_the_baselines_keep_the_configured_one(workdir):
    from tinyad.evaluate.compare import evaluate, load_keras
    from tinyad.device.alerts import alert_active

    cfg = base_config()
    cfg = replace(cfg, alerts=replace(cfg.alerts, calibrate=True, consecutive=3))
    ds, scaler, tflite, quant = stage_inputs(workdir)
    quant["decision"] = {"threshold": 0.5, "consecutive": 1}
    res = evaluate(ds, scaler, cfg, load_keras(workdir / "model.keras"), tflite, quant)
    assert "consecutive=1" in res.metrics["method"]["alerts"]
    from tinyad.device.features import dataset_inputs

    _, rows_valid = dataset_inputs(ds, scaler, "test")
    valid = np.isin(np.flatnonzero(ds["split"].to_numpy() == "test"), rows_valid)  # as evaluate scores them
    zeros = np.zeros(len(valid), dtype=bool)
    for name, debounce in (("device", 1), ("int8_tflm", 1), ("isolation_forest", 3)):
        decision = zeros.copy()
        decision[valid] = res.detections[name].decision
        want = alert_active(decision, zeros, valid, debounce, cfg.alerts.clear_after)
        assert (res.test[f"alert_{name}"].to_numpy(dtype=bool) == want).all(), name
    # the seed thresholds are absolute evidence: one reading past the band raises at once
    band = zeros.copy()
    band[valid] = res.detections["thresholds"].decision
    assert (res.test["alert_thresholds"].to_numpy(dtype=bool) == alert_active(zeros, band, valid, 3, cfg.alerts.clear_after)).all()
    # the two debounces differ on this test split, so the check above could fail
    d = zeros.copy()
    d[valid] = res.detections["isolation_forest"].decision
    assert (alert_active(d, zeros, valid, 1, cfg.alerts.clear_after) != alert_active(d, zeros, valid, 3, cfg.alerts.clear_after)).any()


def test_the_device_raises_at_once_at_the_calibrated_instant_code(workdir):
    from tinyad.device.alerts import alert_active
    from tinyad.device.features import dataset_inputs, output_code_threshold
    from tinyad.device.runtime import Int8Runtime
    from tinyad.evaluate.compare import evaluate, load_keras

    cfg = base_config()
    cfg = replace(cfg, alerts=replace(cfg.alerts, calibrate=True, consecutive=3))
    ds, scaler, tflite, quant = stage_inputs(workdir)
    X, rows_valid = dataset_inputs(ds, scaler, "test")
    codes = Int8Runtime(tflite, quant).codes(X, "tflm")
    code = output_code_threshold(quant, 0.2)
    instant = int(np.quantile(codes[codes >= code], 0.5))  # half the model's anomalous readings raise at once
    assert code < instant < 128
    quant["decision"] = {"threshold": 0.2, "code": code, "consecutive": 3, "instant_code": instant}
    keras = load_keras(workdir / "model.keras")
    res = evaluate(ds, scaler, cfg, keras, tflite, quant)
    valid = np.isin(np.flatnonzero(ds["split"].to_numpy() == "test"), rows_valid)
    assert (res.detections["device"].instant == (codes >= instant)).all()
    assert (res.detections["int8_tflm"].instant == (codes >= instant)).all()
    model, absolute, strong = (np.zeros(len(valid), dtype=bool) for _ in range(3))
    model[valid] = res.detections["int8_tflm"].decision
    absolute[valid] = res.detections["device"].score >= 1.0  # the band and the stuck rule rank at 1 and above
    assert absolute.any()
    strong[valid] = codes >= instant
    want = alert_active(model, absolute, valid, 3, cfg.alerts.clear_after, strong)
    assert (res.test["alert_device"].to_numpy(dtype=bool) == want).all()
    # without the instant code the debounce alone decides, and the alerts differ on this split
    quant["decision"] = {"threshold": 0.2, "code": code, "consecutive": 3}
    slow = evaluate(ds, scaler, cfg, keras, tflite, quant).test["alert_device"].to_numpy(dtype=bool)
    assert (slow == alert_active(model, absolute, valid, 3, cfg.alerts.clear_after)).all()
    assert (slow != want).any() and (want >= slow).all()
    # an instant code at or under the decision code is refused in one line
    quant["decision"] = {"threshold": 0.2, "code": code, "consecutive": 3, "instant_code": code}
    with pytest.raises(ValueError, match=f"decision.instant_code must be an integer above decision.code \\({code}\\)"):
        evaluate(ds, scaler, cfg, keras, tflite, quant)


def test_the_device_is_the_model_or_the_band_or_the_stuck_rule_in_evaluate_and_in_the_calibration(workdir, monkeypatch):
    from tinyad.device.alerts import stuck_rule
    from tinyad.device.features import dataset_inputs
    from tinyad.evaluate.baselines import ThresholdRule
    from tinyad.evaluate.compare import evaluate, load_keras
    from tinyad.learn import quantization

    cfg = base_config()
    ds, scaler, tflite, quant = stage_inputs(workdir)
    quant["decision"] = {"threshold": 0.999}
    _, rows = dataset_inputs(ds, scaler, "test")
    run = ds["run"].to_numpy(dtype=np.float64)[rows]
    scaler.stuck_run = 2
    assert stuck_rule(run, 2).any() and not stuck_rule(run, 2).all()  # the rule decides on this split
    res = evaluate(ds, scaler, cfg, load_keras(workdir / "model.keras"), tflite, quant)
    d = res.detections
    assert (d["device"].decision == (d["int8_tflm"].decision | d["thresholds"].decision | stuck_rule(run, 2))).all()
    assert (d["thresholds"].decision == ThresholdRule(cfg.thresholds).decision(
        ds["temperature"].to_numpy()[rows], ds["humidity"].to_numpy()[rows])).all()  # the baseline stays the band
    scaler.stuck_run = 0
    off = evaluate(ds, scaler, cfg, load_keras(workdir / "model.keras"), tflite, quant).detections
    assert (off["device"].decision == (off["int8_tflm"].decision | off["thresholds"].decision)).all()
    assert (off["device"].decision != d["device"].decision).any()

    seen = {}
    monkeypatch.setattr(quantization, "calibrate_decision", lambda codes, rule, valid, *a: seen.setdefault("r", (rule, valid)))
    hist = ds[ds["split"].isin(["train", "val"])].reset_index(drop=True)
    for span in (2, 0):
        scaler.stuck_run = span
        seen.clear()
        quantization.calibrate(ds, scaler, cfg, tflite, quant)
        rule, valid = seen["r"]
        band = ThresholdRule(cfg.thresholds).decision(hist["temperature"].to_numpy(), hist["humidity"].to_numpy())
        want = valid & (band | stuck_rule(hist["run"].to_numpy(dtype=np.float64), span))
        assert (rule == want).all(), span


def test_without_ground_truth_the_diagnostic_counts_the_pseudo_labels(workdir):
    from tinyad.evaluate.compare import evaluate, load_keras
    from tinyad.evaluate.report import summary_markdown

    cfg = base_config()
    ds = pd.read_parquet(workdir / "dataset.parquet")
    ds["label"] = -1
    ds["anomaly_type"] = "unknown"
    ds["event_id"] = -1
    res = evaluate(ds, Scaler.load(workdir / "scaler.json"), cfg, load_keras(workdir / "model.keras"),
                     (workdir / "model_int8.tflite").read_bytes(), json.loads((workdir / "quant.json").read_text()))
    m = res.metrics
    assert m["ground_truth"] == 0
    assert "not detection quality" in m["method"]["truth"]
    test = ds[(ds["split"] == "test") & ds["valid"]]
    pseudo = test["pseudo_label"].to_numpy() == 1
    g = m["int8_litert"]["diagnostic_vs_pseudo_labels"]
    c = g["confusion"]
    assert c["tp"] + c["fn"] == int(pseudo.sum()) == m["data"]["pseudo_anomalous_rows"]
    decision = res.detections["int8_litert"].decision
    assert g["agreement"] == pytest.approx((decision == pseudo).mean())
    assert g["dice_overlap"] == pytest.approx(2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"]))
    assert "by_type" not in m["int8_litert"] and "events" not in m["int8_litert"]
    # the device's alert figures come from its alert column
    alert = res.test["alert_device"].to_numpy(bool)
    starts = int(alert[0]) + int((alert[1:] & ~alert[:-1]).sum())
    assert m["headline"]["device"]["alerts"] == starts
    assert m["data"]["pseudo_runs"] > 0
    assert "NO ground truth" in summary_markdown(m)


def test_alert_logic_needs_consecutive_readings_and_holds_over_invalid():
    from tinyad.evaluate.scoring import alert_sequence

    cfg = replace(base_config().alerts, consecutive=2, clear_after_min=2)  # 2 readings at 60 s
    model = np.array([1, 0, 1, 1, 1, 0, 0, 0, 0], bool)
    valid = np.array([1, 1, 1, 1, 1, 1, 0, 1, 1], bool)
    alerts, method = alert_sequence(model, np.zeros(9, bool), valid, cfg)
    # a single anomalous reading raises nothing; two in a row raise; two normal valid ones clear,
    # and the invalid row 6 leaves the state as it was
    assert alerts.tolist() == [0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert "alert_active" in method


def test_hold_over_invalid():
    from tinyad.evaluate.scoring import hold_over_invalid

    out = hold_over_invalid(np.array([1, 0, 1], bool), np.array([0, 1, 0, 1, 0, 1, 0], bool))
    assert out.tolist() == [0, 1, 1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="valid rows"):
        hold_over_invalid(np.array([1], bool), np.array([1, 1], bool))


def test_bad_inputs_give_clear_errors(workdir, tmp_path):
    from tinyad.evaluate.compare import evaluate
    from tinyad.stage import stage_main

    bad = json.loads((workdir / "quant.json").read_text())
    bad["output"]["zero_point"] += 1
    (tmp_path / "quant.json").write_text(json.dumps(bad))
    args = stage_args(workdir, metrics=str(tmp_path / "m.json"), plots=str(tmp_path / "p"))
    args[args.index("--quant") + 1] = str(tmp_path / "quant.json")
    with pytest.raises(ValueError, match="quant.json: output scale/zero_point"):
        stage_main("evaluate")(args)
    assert not (tmp_path / "m.json").exists()
    ds = pd.read_parquet(workdir / "dataset.parquet").drop(columns=["event_id"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['event_id'\]"):
        evaluate(ds, Scaler.load(workdir / "scaler.json"), base_config(), None, b"", {})
    ds = pd.read_parquet(workdir / "dataset.parquet")
    first = int(np.flatnonzero(ds["split"].astype(str).to_numpy() == "test")[0])
    stamps = ds["timestamp"].copy()
    ds.loc[first + 4, "timestamp"] = ds.loc[first + 3, "timestamp"]  # a repeated stamp: the period would be guessed
    with pytest.raises(ValueError, match=rf"the test rows' timestamps do not increase: test row 4 \(dataset row "
                                         rf"{first + 4}, "):
        evaluate(ds, Scaler.load(workdir / "scaler.json"), base_config(), None, b"", {})
    ds["timestamp"] = stamps
    ds.loc[len(ds) - 1, "timestamp"] = pd.NaT  # the last test row unstamped: named, not a row beside it
    with pytest.raises(ValueError, match=rf"test row {len(ds) - 1 - first} \(dataset row {len(ds) - 1}\) has no timestamp"):
        evaluate(ds, Scaler.load(workdir / "scaler.json"), base_config(), None, b"", {})


def test_a_history_too_short_to_bound_the_false_alarm_rate_is_a_warning_of_quantize_and_evaluate(workdir, tmp_path):
    """The fixture's log is three days: its history (train and validation) cannot show a rate of
    one false alarm a week, and the calibrated run says so in evaluate's warnings and summary."""
    from tinyad.config import load
    from tinyad.learn.calibration import short_history_warning
    from tinyad.learn.quantization import calibrate

    d = tmp_path / "short"
    d.mkdir()
    for name in ("scaler.json", "model.keras", "model_int8.tflite", "params.yaml", "dataset.parquet"):
        (d / name).write_bytes((workdir / name).read_bytes())
    cfg = load(d / "params.yaml")
    quant = json.loads((workdir / "quant.json").read_text())
    ds = pd.read_parquet(d / "dataset.parquet")
    quant["decision"] = calibrate(ds, Scaler.load(d / "scaler.json"), cfg,
                                  (d / "model_int8.tflite").read_bytes(), quant)
    warning = short_history_warning(quant["decision"])
    assert warning and quant["decision"]["history_weeks"] < 0.5 and quant["decision"]["budget_false_alarms"] == 0
    (d / "quant.json").write_text(json.dumps(quant))
    proc = subprocess.run([sys.executable, "-m", "stages.evaluate", *stage_args(d)], cwd=ROOT,
                          capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    metrics = json.loads((d / "metrics/evaluate.json").read_text())
    assert warning in metrics["warnings"] and f"evaluate: warning: {warning}" in proc.stderr
    assert f"> **Warning:** {warning}" in (d / "plots/evaluate/summary.md").read_text()
