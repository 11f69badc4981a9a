"""Stage ``evaluate``: the models and the baselines on the held-out test split.

    python -m stages.evaluate --params params.yaml \\
        --dataset data/processed/dataset.parquet --scaler models/scaler.json \\
        --model models/model.keras --tflite models/model_int8.tflite --quant models/quant.json \\
        --metrics metrics/evaluate.json --plots plots/evaluate

Reads the params sections ``features``, ``thresholds``, ``cluster``, ``alerts`` and
``evaluate``.  Decision threshold: ``tinyad.learn.calibration.decision_threshold(quant,
cfg.alerts, lenient=True)``, the calibrated
``decision.threshold`` of quant.json when the quantize stage wrote one, else
``alerts.decision_threshold`` (used by every model detector and the drift table; a
``decision.code`` that is not that threshold's int8 code is a warning).  Detectors,
all scored on the valid rows of the ``test`` split:

* ``keras_float``: the float Keras model, probability > the decision threshold;
* ``int8_litert``: the int8 model in ``ai_edge_litert`` (reference kernels), inputs
  quantized with ``tinyad.device.features.quantize_input`` and decided with
  ``tinyad.device.features.decide`` exactly as the device does;
* ``int8_tflm``: the same int8 model in the TensorFlow Lite Micro interpreter, one
  reading at a time (batch 1, as on the device);
* ``device``: ``int8_tflm`` OR the seed's rule OR the stuck-sensor rule (``models/scaler.json``
  ``stuck_run``, ``tinyad.device.alerts.stuck_rule``), through the alert logic;
* baselines (``tinyad/evaluate/baselines.py``): ``thresholds`` (the seed's rule),
  ``kmeans_distance``, ``isolation_forest`` and ``ecod`` (PyOD's ECOD, contamination
  ``evaluate.ecod_contamination`` if set, else ``evaluate.isolation_forest_contamination``),
  fitted on the valid train rows.

Headline (``headline`` in the metrics, the top of ``summary.md``, the stage's output):
for the device and each baseline, from its alert state (``alert_sequence``) over the
test period (first to last timestamp plus one period, the period being the median
timestamp step): alerts raised (rising edges) a day and a week, the share of valid
readings flagged (alert on), the longest alert in readings and minutes; with ground
truth also false alarm events a week, events caught and F1 by anomaly type.  Budgets:
``alerts.max_false_alarms_per_week`` (default 1.0) and ``cluster.contamination``
(default 0.01); ``budget_warnings`` puts any breach in ``warnings`` (metrics), at the
top of ``summary.md`` and on stderr (``evaluate: warning: ...``).

Truth: the ground-truth ``label`` where the data has one (``ground_truth`` 1).  When
every test row has ``label == -1`` (a real log without labels, ``ground_truth`` 0)
nothing is scored as detection quality: no accuracy, precision, recall, F1 or PR-AUC
anywhere in the metrics or the summary.  Each detector gets its alert figures and,
under ``diagnostic_vs_pseudo_labels``, how closely it imitates the K-means
pseudo-labels (agreement, overlap, the runs of pseudo-anomalous rows alerted on),
labelled as the imitation it is.  The drift table then gives the device's alerts a
week, flagged share and agreement with its undrifted decisions instead of F1.

With ground truth, per reading: accuracy, precision, recall, F1, PR-AUC (average
precision of the detector's score), confusion matrix, recall/precision/F1 by anomaly
type (F1 on rows normal or of that type), agreement with the pseudo-labels.  Per
event: the detector's decisions go through the alert logic (``alert_sequence``: the
device's state machine of ``tinyad/device/alerts.py`` when that module exists, else the
per-reading decisions), the alert state is held over invalid readings (the device
skips them), and ``tinyad.evaluate.metrics.event_scores`` counts caught events, false alarm
events per day of test data and the detection delay in readings.

Latency (``tinyad/evaluate/latency.py``, ``measure_cost``): median and p95 microseconds per batch-1 inference on
this host, ``evaluate.latency_runs`` timed calls after ``max(10, runs // 10)``
warm-up calls, for the Keras model (direct call), LiteRT and TFLM.  Memory: the
.tflite size, the minimum TFLM arena (bisection over ``arena_size``) and the arena
total TFLM's recording allocator reports.  The generated C's sizes are not read
here: ``codegen`` runs after this stage in the DAG, so ``metrics/codegen.json``
would be an undeclared, possibly stale input; they are in that file (``dvc metrics
show``) and reach the MLflow run as ``codegen.*``.

The work is the library's: ``tinyad/evaluate/compare.py`` (the detectors, ``evaluate``),
``tinyad/device/runtime.py`` (the int8 model), ``tinyad/evaluate/scoring.py`` (alerts, budgets,
scores, headline), ``tinyad/evaluate/drift.py`` (the drift table), ``tinyad/evaluate/latency.py``
(``measure_cost``), ``tinyad/evaluate/report.py`` (``summary.md``) and ``tinyad/evaluate/figures.py``
(the PNGs).

Writes ``metrics/evaluate.json`` (nested dicts of numbers; the method strings under
``method``, the warning strings in ``warnings``) and under ``plots/evaluate/``:
``confusion.png``, ``pr_curve.csv`` (recall, precision, threshold of the int8 model,
for ``dvc plots``; header only without ground truth), ``pr_curve.png``,
``timeline.png`` (test split, anomalies shaded, alerts marked), ``events.png`` (a
close-up of the first event of each type; without ground truth, of the device's
longest alerts), ``alerts.png`` (the whole test period: temperature and humidity with
the device's alert spans, every detector's alerts, alerts raised each day) and
``summary.md`` (warnings, headline, then the comparison table or the diagnostic).

Drift and noise (``drift_table``, params ``drift``): for each kind and size of
``tinyad.evaluate.drift.apply_drift``, the test split's raw readings are degraded (over the
test span), the features recomputed on the whole series (so the first test windows
are full), scaled with the train scaler, quantized and run through the int8 model in
LiteRT (batch; its codes equal TFLM's, see ``agreement``), ORed with the seed rule and the stuck rule
and put through the alert logic as for ``device``; then F1 by anomaly type (per
reading, as above; without ground truth: alerts a week, flagged share, agreement with
the undrifted decisions), once on the raw readings and once with the baseline
correction of ``tinyad.evaluate.drift`` applied before the features (the reference levels
fitted on the train split).  Writes ``drift.md``, ``drift.csv`` (kind, size, remedy,
type, f1; without ground truth kind, size, remedy and those figures), ``drift.png``
and the ``drift`` section of the metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinyad.evaluate.drift import drift_table, write_drift
from tinyad.evaluate.compare import evaluate, load_keras
from tinyad.evaluate.figures import write_plots
from tinyad.io import read_json, write_json, write_text
from tinyad.evaluate.latency import measure_cost
from tinyad.evaluate.report import summary_markdown
from tinyad.device.runtime import Int8Runtime
from tinyad.stage import parse_args, read_inputs


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Evaluate the models and baselines on the test split.", argv,
                      "dataset", "scaler", "model", "tflite", "quant", "metrics", "plots")
    inp = read_inputs(args)
    cfg, scaler, dataset = inp.cfg, inp.scaler, inp.table
    tflite = Path(args.tflite).read_bytes()
    quant = read_json(args.quant)
    Int8Runtime(tflite, quant).check(args.quant)
    keras_model = load_keras(args.model)

    res = evaluate(dataset, scaler, cfg, keras_model, tflite, quant)
    cost = measure_cost(keras_model, tflite, res.extras["X_test"], res.extras["q_in"], cfg.evaluate.latency_runs)
    metrics = res.metrics
    metrics["latency_us"] = cost["latency_us"]
    metrics["memory"] = cost["memory"]
    metrics["method"].update(cost["method"])
    drift = drift_table(dataset, scaler, cfg, tflite, quant)
    metrics["drift"] = {"ref_temp10": drift["ref_temp10"], "ref_hum10": drift["ref_hum10"], **drift["table"]}

    plots = Path(args.plots)
    write_plots(res, plots)
    write_drift(drift, cfg, plots)
    summary = summary_markdown(metrics)
    write_text(plots / "summary.md", summary)
    write_json(args.metrics, metrics)
    print(summary)
    for w in metrics["warnings"]:
        print(f"evaluate: warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "evaluate"))
