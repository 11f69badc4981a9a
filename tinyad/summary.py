"""Print where the results of the last ``dvc repro`` are (``make repro`` ends with it).

    python -m tinyad.summary
"""

from __future__ import annotations

import json
from pathlib import Path

from tinyad.config import flatten
from tinyad.paths import project_root

# (metrics file, key, label, needs ground truth) of the headline figures; a missing one
# is shown as such.  Figures scored against labels are left out when evaluate had none
# (``ground_truth`` 0): there they would only measure how the model imitates K-means.
HEADLINES = [
    ("metrics/evaluate.json", "headline.device.alerts_per_week", "device alerts a week, test split", False),
    ("metrics/evaluate.json", "headline.device.false_alarms_per_week", "  false alarm events a week", True),
    ("metrics/evaluate.json", "headline.device.events_caught_share", "  share of anomaly events caught", True),
    ("metrics/evaluate.json", "headline.device.flagged_share", "  share of readings flagged", False),
    ("metrics/evaluate.json", "headline.device.longest_alert_minutes", "  longest alert (minutes)", False),
    ("metrics/evaluate.json", "int8_tflm.f1", "F1, int8 model (TFLM), test split", True),
    ("metrics/evaluate.json", "int8_tflm.by_type.point.f1", "  F1 on point anomalies", True),
    ("metrics/evaluate.json", "int8_tflm.by_type.contextual.f1", "  F1 on contextual anomalies", True),
    ("metrics/evaluate.json", "int8_tflm.by_type.collective.f1", "  F1 on collective anomalies", True),
    ("metrics/evaluate.json", "int8_tflm.accuracy", "accuracy, int8 model (TFLM), test split", True),
    ("metrics/quantize.json", "agreement", "int8/float decision agreement, test split", False),
    ("metrics/quantize.json", "tflite_bytes", "int8 .tflite size (bytes)", False),
    ("metrics/evaluate.json", "memory.tflm_arena_bytes", "TFLM arena (bytes)", False),
    ("metrics/evaluate.json", "latency_us.tflm.median", "TFLM latency on this host (us, median)", False),
    ("metrics/firmware.json", "envs.host.flash_bytes", "host firmware flash (bytes)", False),
]

OUTPUTS = [
    ("data/interim/readings.parquet", "ingested readings"),
    ("data/processed/dataset.parquet", "features, split and pseudo-labels"),
    ("models/model.keras", "float Keras MLP"),
    ("models/model_int8.tflite", "full-int8 TensorFlow Lite model"),
    ("firmware/lib/generated", "generated C sources"),
    ("build/firmware", "built firmware"),
    ("plots", "plots (PNG and DVC plot data)"),
    ("metrics", "DVC metrics (dvc metrics show)"),
]


def summary(root: Path) -> str:
    lines = ["", "Results", "======="]
    for path, label in OUTPUTS:
        mark = "" if (root / path).exists() else "   (missing)"
        lines.append(f"  {path:<34} {label}{mark}")
    lines += ["", "Headline figures"]
    cache: dict[str, dict] = {}
    raw: dict[str, dict] = {}
    for path, *_ in HEADLINES:
        if path not in cache:
            f = root / path
            raw[path] = json.loads(f.read_text()) if f.exists() else {}
            cache[path] = flatten(raw[path])
    evaluate = raw.get("metrics/evaluate.json", {})
    ground = evaluate.get("ground_truth", 1) != 0
    if not ground:
        lines.append("  (no ground truth in this log: figures scored against labels are not shown)")
    for path, key, label, needs_truth in HEADLINES:
        if needs_truth and not ground:
            continue
        value = cache[path].get(key, "n/a")
        shown = f"{value:.4f}" if isinstance(value, float) else value
        lines.append(f"  {label:<44} {shown}")
    for w in evaluate.get("warnings", []) or []:
        lines.append(f"  warning: {w}")
    lines += [
        "",
        "Next",
        "  dvc metrics show                 all metrics",
        "  dvc plots show                   plots as HTML (dvc_plots/index.html)",
        f"  mlflow ui --backend-store-uri sqlite:///{root / 'mlflow.db'}   compare runs",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    print(summary(project_root()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
