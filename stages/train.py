"""Stage ``train``: a small Keras MLP learns the pseudo-labels.

    python -m stages.train --params params.yaml \\
        --dataset data/processed/dataset.parquet --scaler models/scaler.json \\
        --exposure data/processed/exposure.parquet --model models/model.keras --metrics metrics/train.json --plots plots/train

Reads the params sections ``features`` (to check the scaler) and ``model``.  The MLP
(``model.hidden`` dense layers with ``model.activation``, optional dropout, one
sigmoid output = probability of "anomalous") is trained with Adam on the pseudo-labels
of the valid train rows and of the cluster stage's exposure rows (``--exposure``:
readings pushed far out along one feature when ``cluster.exposure`` is set, and the noise
anchor rows by default, labelled by the same policies, so that the model says anomalous
wherever the labelling does, not only where the history had anomalies;
``tinyad.data.clustering.exposure_rows``, ``noise_anchor_rows``); the valid val rows drive early stopping (best weights on
``val_loss`` are restored).  ``model.class_weight: balanced`` weighs each class by
``n / (2 * n_class)``.  Training is deterministic for a given ``model.seed`` on CPU
(``keras.utils.set_random_seed`` and TensorFlow op determinism).

``--dataset``, ``--scaler`` and ``--exposure`` may be given once per room (a fleet's ``fleet_model``
stage, ``docs/fleet.md``): the MLP then learns the rows of every room, each
standardised by its own scaler (``tinyad.learn.training.pooled_training_data``).

Writes the model, ``plots/train/history.csv`` (epoch, loss, accuracy, val_loss,
val_accuracy) and ``metrics/train.json``.  TensorFlow is imported inside functions (``tinyad/learn/training.py``, the stage's work).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tinyad.config import load
from tinyad.io import atomic_path, write_json
from tinyad.stage import load_scaler, parse_args
from tinyad.learn.training import HISTORY_COLUMNS, pooled_training_data, save_model, train_model


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Train the Keras MLP on the pseudo-labels.", argv,
                      "dataset+", "scaler+", "exposure+", "model", "metrics", "plots")
    if not len(args.dataset) == len(args.scaler) == len(args.exposure):
        raise ValueError(f"one --scaler and one --exposure per --dataset (got {len(args.dataset)} --dataset, "
                         f"{len(args.scaler)} --scaler, {len(args.exposure)} --exposure)")
    cfg = load(args.params)
    scalers = [load_scaler(s, cfg) for s in args.scaler]  # the scaler first, then the table (as every stage)
    rooms = [(pd.read_parquet(d), scaler, pd.read_parquet(e)) for d, scaler, e in zip(args.dataset, scalers, args.exposure)]
    result = train_model(*pooled_training_data(rooms), cfg.model)
    result.metrics["exposure_rows"] = int(sum(len(e) for *_, e in rooms))
    if len(rooms) > 1:
        result.metrics["datasets"] = list(args.dataset)
    save_model(result.model, args.model)
    with atomic_path(Path(args.plots) / "history.csv") as tmp:
        result.history.to_csv(tmp, index=False, columns=list(HISTORY_COLUMNS))
    write_json(args.metrics, result.metrics)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "train"))
