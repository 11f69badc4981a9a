"""Print where the results of the last ``dvc repro`` are (``make repro`` ends with it).

    python -m tinyad.tools.summary
"""

from __future__ import annotations

import json
from pathlib import Path

from tinyad.evaluate.headline import EXP_SHOW_COMMAND, HEADLINE_FILE, figures_for, has_ground_truth, read_metrics
from tinyad.paths import project_root

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
    lines += ["", f"Headline figures ({HEADLINE_FILE}, the short names of dvc exp show and MLflow)"]
    metrics = read_metrics(root / "metrics")
    evaluate = metrics.get("evaluate", {})
    if not has_ground_truth(metrics):
        lines.append("  (no ground truth in this log: no figure is scored against labels)")
    shown = {}
    if (root / HEADLINE_FILE).is_file():
        shown = json.loads((root / HEADLINE_FILE).read_text())
    for f in figures_for(has_ground_truth(metrics)):
        value = shown.get(f.name, "n/a")
        text = f"{value:.4f}" if isinstance(value, float) else value
        lines.append(f"  {f.label:<44} {f.name:<14} {text}")
    for w in evaluate.get("warnings", []) or []:
        lines.append(f"  warning: {w}")
    lines += [
        "",
        "Next",
        f"  {EXP_SHOW_COMMAND:<32} experiments side by side, headline only (dvc exp show view)",
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
