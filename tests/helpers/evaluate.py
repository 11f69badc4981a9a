"""The evaluate stage's inputs without the other stages: a tiny Keras model and its int8 twin.

``write_evaluate_inputs(d)`` (the ``workdir`` fixture of tests/conftest.py) builds the
features and the split of ``tests.helpers.readings.room_log`` with the shared functions
of ``tinyad.device.features``, trains a tiny MLP on the true labels and converts it to a
full-int8 .tflite; ``base_config`` is the params the tests evaluate with.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tests.helpers.project import ROOT
from tests.helpers.readings import room_log
from tinyad.config import load_dict
from tinyad.device.features import Scaler, compute_features, dataset_inputs, feature_names, split_labels


def base_config(**evaluate):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["split"] = {"train": 0.5, "val": 0.1, "test": 0.4}
    raw["evaluate"].update({"latency_runs": 50, **evaluate})
    return load_dict(raw, source="test params")


def write_evaluate_inputs(d: Path) -> Path:
    """dataset.parquet, scaler.json, model.keras, model_int8.tflite, quant.json, params.yaml in ``d``."""
    import keras
    import tensorflow as tf

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
    raw["cluster"]["contamination"] = 0.01  # a real room's budget (conf/config.yaml), not the simulator's 0.11
    (d / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return d
