"""The quantize stage's work: full-integer post-training quantization and the calibrated decision.

``quantize_model(model, X_train, X_test, cfg, threshold)`` is pure (the Keras model
and arrays in, ``{"tflite", "quant", "metrics"}`` out): the representative rows
(``representative_rows``), the converter (``convert_int8``), the quantization read
back from the model and the float/int8 agreement.  ``calibrate`` replays the int8
model (TFLM) over the train+val history for ``tinyad.learn.calibration.calibrate_decision``.
The int8 model runs through ``tinyad.device.runtime.Int8Runtime``; the stage's docstring
documents the method.  TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tinyad.learn.calibration import calibrate_decision
from tinyad.config import Config, QuantizeConfig
from tinyad.device.features import Scaler, dataset_inputs, output_code_threshold
from tinyad.device.runtime import Int8Runtime, quant_params

def representative_rows(X_train: np.ndarray, cfg: QuantizeConfig) -> np.ndarray:
    """The calibration rows: a seeded sample of the train rows plus each feature's extremes.

    The rows holding every feature's minimum and maximum over the train split are
    always included, so the int8 input range covers the whole train range: a rare
    extreme (a 10 deg C spike) that a random sample misses would otherwise be clamped
    by the int8 input while the float model sees it in full.  Kept in time order.
    """
    X_train = np.asarray(X_train, dtype=np.float32)
    if len(X_train) == 0:
        raise ValueError("quantize: no valid train rows to calibrate on")
    n = min(cfg.representative_samples, len(X_train))
    idx = np.random.default_rng(cfg.seed).choice(len(X_train), size=n, replace=False)
    extremes = np.r_[X_train.argmin(axis=0), X_train.argmax(axis=0)]
    return X_train[np.union1d(idx, extremes)]


def convert_int8(model, rep_X: np.ndarray, per_channel: bool = True) -> bytes:
    """Full-integer PTQ: int8 weights, activations, input and output.

    ``per_channel=False`` asks for one weight scale per tensor (the converter's default
    for Dense is per output channel); the codegen tests exercise both forms."""
    import tensorflow as tf

    rep_X = np.asarray(rep_X, dtype=np.float32)

    def representative_dataset():
        for i in range(len(rep_X)):
            yield [rep_X[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if not per_channel:
        conv._experimental_disable_per_channel = True
    return bytes(conv.convert())


def quantize_model(model, X_train: np.ndarray, X_test: np.ndarray, cfg: QuantizeConfig, threshold: float) -> dict[str, Any]:
    """Pure: model and arrays in; ``{"tflite", "quant", "metrics"}`` out."""
    if cfg.method != "ptq":
        raise ValueError(f"quantize.method: only 'ptq' is implemented, got {cfg.method!r}")
    rep = representative_rows(X_train, cfg)
    tflite = convert_int8(model, rep)
    quant = quant_params(tflite)
    metrics: dict[str, Any] = {
        "method": cfg.method,
        "tflite_bytes": len(tflite),
        "params": int(model.count_params()),
        "representative_samples": int(len(rep)),
        "output_code_threshold": output_code_threshold(quant, threshold),
        "input": quant["input"],
        "output": quant["output"],
    }
    if len(X_test):
        p_float = model.predict(np.asarray(X_test, dtype=np.float32), verbose=0, batch_size=4096).ravel()
        runtime = Int8Runtime(tflite, quant)
        q_out = runtime.codes(X_test)
        d_float = p_float > threshold
        d_int8 = runtime.decide(q_out, threshold)
        p_int8 = (q_out.astype(np.float64) - quant["output"]["zero_point"]) * quant["output"]["scale"]
        metrics.update(
            {
                "test_rows": int(len(X_test)),
                "agreement": float((d_float == d_int8).mean()),
                "disagreements": int((d_float != d_int8).sum()),
                "max_abs_prob_error": float(np.abs(p_int8 - p_float).max()),
                "float_anomalous_frac": float(d_float.mean()),
                "int8_anomalous_frac": float(d_int8.mean()),
            }
        )
    return {"tflite": tflite, "quant": quant, "metrics": metrics}


def calibrate(dataset: pd.DataFrame, scaler: Scaler, cfg: Config, tflite: bytes, quant: dict[str, Any]) -> dict[str, Any]:
    """The decision code for the false-alarm budget, on the train+val history (tinyad/learn/calibration.py):
    the model OR the device's absolute rules (the alarm band, the stuck span of ``scaler.stuck_run``)."""
    from tinyad.device.alerts import absolute_rule
    from tinyad.evaluate.baselines import ThresholdRule

    ds = dataset.reset_index(drop=True)
    split = ds["split"].astype(str).to_numpy()
    hist = np.flatnonzero((split == "train") | (split == "val"))
    h = ds.iloc[hist].reset_index(drop=True)
    X, rows = dataset_inputs(h, scaler)
    valid = np.zeros(len(hist), dtype=bool)
    valid[rows] = True
    codes = np.full(len(hist), -128, dtype=np.int64)
    codes[rows] = Int8Runtime(tflite, quant).codes(X, "tflm")
    rule = np.zeros(len(hist), dtype=bool)
    band = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity).decision(
        h["temperature"].to_numpy(dtype=np.float64)[rows], h["humidity"].to_numpy(dtype=np.float64)[rows])
    rule[rows] = absolute_rule(band, h["run"].to_numpy(dtype=np.float64)[rows] if "run" in h else None, scaler.stuck_run)
    pseudo = h["pseudo_label"].to_numpy(dtype=np.int64)
    horizon = cfg.features.window + cfg.alerts.clear_after
    return calibrate_decision(codes, rule, valid, pseudo, split[hist], cfg.data.period_s, cfg.alerts, quant, horizon)

