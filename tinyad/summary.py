"""Print where the results of the last ``dvc repro`` are (``make repro`` ends with it).

    python -m tinyad.summary
"""

from __future__ import annotations

import json
from pathlib import Path

from tinyad.config import flatten
from tinyad.paths import project_root

# (metrics file, key, label) of the headline figures; a missing one is shown as such
HEADLINES = [
    ("metrics/evaluate.json", "int8_tflm.f1", "F1, int8 model (TFLM), test split"),
    ("metrics/evaluate.json", "int8_tflm.by_type.point.f1", "  F1 on point anomalies"),
    ("metrics/evaluate.json", "int8_tflm.by_type.contextual.f1", "  F1 on contextual anomalies"),
    ("metrics/evaluate.json", "int8_tflm.by_type.collective.f1", "  F1 on collective anomalies"),
    ("metrics/evaluate.json", "int8_tflm.accuracy", "accuracy, int8 model (TFLM), test split"),
    ("metrics/quantize.json", "agreement", "int8/float decision agreement, test split"),
    ("metrics/quantize.json", "tflite_bytes", "int8 .tflite size (bytes)"),
    ("metrics/evaluate.json", "memory.tflm_arena_bytes", "TFLM arena (bytes)"),
    ("metrics/evaluate.json", "latency_us.tflm.median", "TFLM latency on this host (us, median)"),
    ("metrics/firmware.json", "envs.host.flash_bytes", "host firmware flash (bytes)"),
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
    for path, key, label in HEADLINES:
        if path not in cache:
            f = root / path
            cache[path] = flatten(json.loads(f.read_text())) if f.exists() else {}
        value = cache[path].get(key, "n/a")
        shown = f"{value:.4f}" if isinstance(value, float) else value
        lines.append(f"  {label:<44} {shown}")
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
