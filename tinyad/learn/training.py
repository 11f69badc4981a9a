"""The train stage's work: the Keras MLP, its class weights, deterministic training, saving.

The stage's docstring documents the model and the training; ``train_model`` is pure
(arrays in, a ``TrainResult`` out).  TensorFlow and Keras are imported inside the
functions only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.config import ModelConfig
from tinyad.device.features import Scaler, dataset_inputs

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class TrainResult:
    model: Any
    history: pd.DataFrame
    metrics: dict[str, Any]


def set_determinism(seed: int) -> None:
    """Seed Python, numpy and TensorFlow and make TF ops deterministic (CPU)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def build_model(n_inputs: int, cfg: ModelConfig):
    """The MLP: Input(n) -> Dense(h, activation) [-> Dropout] ... -> Dense(1, sigmoid)."""
    import keras

    layers = [keras.Input(shape=(n_inputs,), name="features")]
    for i, units in enumerate(cfg.hidden):
        layers.append(keras.layers.Dense(int(units), activation=cfg.activation, name=f"dense_{i}"))
        if cfg.dropout > 0:
            layers.append(keras.layers.Dropout(cfg.dropout, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(1, activation="sigmoid", name="anomaly"))
    model = keras.Sequential(layers, name="tinyad_mlp")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def class_weights(y: np.ndarray, how: str) -> dict[int, float] | None:
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        hint = ("no train reading is labelled anomalous: add an evidence policy to cluster.policies (edge, context, "
                "stuck, noise) or raise cluster.contamination" if counts[1] == 0 else
                "every train reading is labelled anomalous: check thresholds.* (the alarm band) against the log")
        raise ValueError(f"train: the pseudo-labels of the train rows hold one class only "
                         f"(normal {counts[0]}, anomalous {counts[1]}): {hint}")
    if how == "none":
        return None
    n = counts.sum()
    return {c: float(n / (2.0 * counts[c])) for c in (0, 1)}


def train_model(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, cfg: ModelConfig) -> TrainResult:
    """Pure: arrays in, fitted model, history and metrics out."""
    import keras

    set_determinism(cfg.seed)
    X_train = np.asarray(X_train, dtype=np.float32)
    X_val = np.asarray(X_val, dtype=np.float32)
    y_train = np.asarray(y_train, dtype=np.float32)
    y_val = np.asarray(y_val, dtype=np.float32)
    weights = class_weights(y_train, cfg.class_weight)
    model = build_model(X_train.shape[1], cfg)
    from tinyad.tools.progress import keras_epoch_lines

    callbacks = [keras_epoch_lines(cfg.epochs)]
    if len(X_val):
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.early_stopping_patience, restore_best_weights=True)
        )
    hist = model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val) if len(X_val) else None,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        class_weight=weights,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    h = hist.history
    n_epochs = len(h["loss"])
    history = pd.DataFrame(
        {
            "epoch": np.arange(1, n_epochs + 1),
            "loss": h["loss"],
            "accuracy": h["accuracy"],
            "val_loss": h.get("val_loss", [np.nan] * n_epochs),
            "val_accuracy": h.get("val_accuracy", [np.nan] * n_epochs),
        }
    )
    best = int(np.nanargmin(history["val_loss"])) if len(X_val) else n_epochs - 1
    p_val = model.predict(X_val, verbose=0, batch_size=4096).ravel() if len(X_val) else np.array([])
    metrics = {
        "epochs_run": n_epochs,
        "best_epoch": best + 1,
        "loss": float(history["loss"].iloc[best]),
        "accuracy": float(history["accuracy"].iloc[best]),
        "val_loss": float(history["val_loss"].iloc[best]),
        "val_accuracy": float(history["val_accuracy"].iloc[best]),
        "val_pseudo_agreement": float(((p_val > 0.5) == (y_val > 0.5)).mean()) if len(X_val) else None,
        "params": int(model.count_params()),
        "train_rows": int(len(X_train)),
        "val_rows": int(len(X_val)),
        "train_anomalous_frac": float(y_train.mean()),
        "class_weight": {str(k): v for k, v in weights.items()} if weights else None,
    }
    return TrainResult(model, history, metrics)


def save_model(model, path: str | Path) -> None:
    """Save atomically (Keras wants a ``.keras`` name, so the temporary file has one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_training_data(dataset: pd.DataFrame, scaler: Scaler,
                       exposure: pd.DataFrame | None = None) -> tuple[np.ndarray, ...]:
    """X_train, y_train, X_val, y_val: the valid rows' scaled inputs and pseudo-labels, the
    train rows followed by the cluster stage's ``exposure`` rows when given
    (``tinyad.data.clustering.exposure_rows``; they train the model, never validate it)."""
    if "pseudo_label" not in dataset.columns:
        raise ValueError("dataset: missing column 'pseudo_label'; run the cluster stage")
    y_all = dataset["pseudo_label"].to_numpy()
    X_tr, r_tr = dataset_inputs(dataset, scaler, "train")
    X_va, r_va = dataset_inputs(dataset, scaler, "val")
    y_tr = y_all[r_tr]
    if exposure is not None and len(exposure):
        X_ex, r_ex = dataset_inputs(exposure, scaler, "train")
        X_tr = np.concatenate([X_tr, X_ex])
        y_tr = np.concatenate([y_tr, exposure["pseudo_label"].to_numpy()[r_ex]])
    return X_tr, y_tr, X_va, y_all[r_va]


def pooled_training_data(rooms: list[tuple]) -> tuple[np.ndarray, ...]:
    """The train and val rows of several rooms together, each room's standardised by its
    own scaler (the fleet model's per-room normalisation): X_train, y_train, X_val, y_val.
    Each room is ``(dataset, scaler)`` or ``(dataset, scaler, exposure)``."""
    if not rooms:
        raise ValueError("pooled_training_data: no room to learn from")
    names = {tuple(room[1].features) for room in rooms}
    if len(names) != 1:
        raise ValueError(f"pooled_training_data: the rooms' scalers have different features {sorted(names)}; "
                         "one model takes one input layout")
    parts = [load_training_data(*room) for room in rooms]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))
