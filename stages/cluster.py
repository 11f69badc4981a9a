"""Stage ``cluster``: features, chronological split, scaler and K-means pseudo-labels.

    python -m stages.cluster --params params.yaml \\
        --readings data/interim/readings.parquet --out data/processed/dataset.parquet \\
        --exposure data/processed/exposure.parquet --scaler models/scaler.json --metrics metrics/cluster.json --plots plots/cluster

Reads the params sections ``features``, ``split``, ``thresholds`` and ``cluster``.
Features and the split are defined in ``tinyad/device/features.py``; the labelling
policies in ``tinyad/data/labeling.py``.  The scaler and K-means are fitted on the valid
rows of the train split only; val/test rows are only assigned.  Writes the dataset
(see docs/architecture.md), the exposure rows that train the MLP beside the train split
(``--exposure``: ``cluster.exposure``, ``tinyad.data.clustering.exposure_rows``, then the noise
anchor rows, ``noise_anchor_rows``),
``models/scaler.json``, the metrics (cluster sizes and
pseudo-label quality against the ground truth when the data has labels) and
``plots/cluster/clusters.png``.  TensorFlow is not imported here.  The work is
``tinyad/data/clustering.py``'s, the plot ``tinyad.evaluate.figures.plot_clusters``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinyad.data.clustering import build_dataset, check_readings
from tinyad.device.features import feature_label
from tinyad.evaluate.figures import plot_clusters
from tinyad.io import atomic_path, write_json
from tinyad.stage import parse_args, read_inputs


def main(argv: list[str] | None = None) -> int:
    args = parse_args("K-means pseudo-labels over the model's features.", argv,
                      "readings", "out", "exposure", "scaler", "metrics", "plots")
    inp = read_inputs(args, table="readings", scaler=False)  # --scaler is this stage's output
    cfg, readings = inp.cfg, inp.table
    check_readings(readings, source=args.readings)
    result = build_dataset(readings, cfg)
    with atomic_path(args.out) as tmp:
        result.dataset.to_parquet(tmp, index=False)
    with atomic_path(args.exposure) as tmp:
        result.exposure.to_parquet(tmp, index=False)
    write_json(args.scaler, result.scaler.to_json())
    write_json(args.metrics, result.metrics)
    shares = result.metrics["pseudo_anomalous_frac_by_split"]
    print("cluster: pseudo-anomalous share " + ", ".join(f"{s} {v:.2%}" for s, v in shares.items())
          + f" (budget cluster.contamination={cfg.cluster.contamination:g})")
    for w in result.metrics["warnings"]:
        print(f"cluster: warning: {w}", file=sys.stderr)
    plot_clusters(result, cfg, Path(args.plots) / "clusters.png", label=feature_label)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "cluster"))
