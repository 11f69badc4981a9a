"""Stage ``quantize``: full-integer post-training quantization of the Keras MLP.

    python -m stages.quantize --params params.yaml \\
        --dataset data/processed/dataset.parquet --scaler models/scaler.json \\
        --model models/model.keras --out models/model_int8.tflite --quant models/quant.json \\
        --metrics metrics/quantize.json

Reads the params sections ``features`` (to check the scaler), ``quantize`` and
``alerts.decision_threshold``.  ``tf.lite.TFLiteConverter`` calibrates on a
representative dataset of ``quantize.representative_samples`` valid train rows drawn
without replacement with ``numpy.random.default_rng(quantize.seed)``, plus the rows
holding each feature's train minimum and maximum (in row order, so the same seed gives
the same bytes), restricted to ``TFLITE_BUILTINS_INT8`` with
int8 input and output: every tensor of the result is int8 (biases int32), so the model
runs on integer-only kernels.  Writes the ``.tflite``, ``models/quant.json`` (input and
output scale / zero point) and ``metrics/quantize.json``: the ``.tflite`` size, the
float model's size and parameter count, and the agreement of the float and int8
decisions on the valid test rows.  The int8 model is run with the reference kernels of
``ai_edge_litert`` (``BUILTIN_REF``, no XNNPACK); inputs are quantized with
``tinyad.features.quantize_input`` and outputs decided with ``tinyad.features.decide``
exactly as the device does.

With ``alerts.calibrate`` the decision threshold is calibrated here, on the int8
model as the device runs it (TensorFlow Lite Micro, one reading at a time) over the
train and validation history, to the false-alarm budget
``alerts.max_false_alarms_per_week`` (``tinyad/calibration.py``); the chosen code and
the alert figures it reached go into ``quant.json`` (``decision``) and the metrics.
This stage also reads ``thresholds``, ``alerts`` and ``data.period_s`` for it.

Only ``quantize.method: ptq`` exists: quantization-aware training needs
``tensorflow-model-optimization``, which works with Keras 2 (``tf_keras``) only, not
with the Keras 3 models trained here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.calibration import calibrate_decision
from tinyad.config import Config, QuantizeConfig, load
from tinyad.features import Scaler, dataset_inputs, decide, feature_names, output_code_threshold, quantize_input
from tinyad.io import write_bytes, write_json


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


def make_interpreter(tflite: bytes):
    """``ai_edge_litert`` interpreter with the reference kernels (no delegate)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def quant_params(tflite: bytes) -> dict[str, dict[str, float | int]]:
    """``{"input": {"scale", "zero_point"}, "output": {...}}`` read from the model."""
    it = make_interpreter(tflite)
    out = {}
    for key, det in (("input", it.get_input_details()), ("output", it.get_output_details())):
        if len(det) != 1:
            raise ValueError(f"quantize: expected one {key} tensor, got {len(det)}")
        if det[0]["dtype"] != np.int8:
            raise ValueError(f"quantize: {key} tensor is {det[0]['dtype']}, expected int8")
        scale, zp = det[0]["quantization"]
        out[key] = {"scale": float(scale), "zero_point": int(zp)}
    return out


def run_int8(tflite: bytes, q_in: np.ndarray) -> np.ndarray:
    """Run the int8 model on int8 inputs ``[n, f]``; returns int8 output codes ``[n]``."""
    q_in = np.asarray(q_in)
    if q_in.dtype != np.int8 or q_in.ndim != 2:
        raise ValueError(f"run_int8: expected a 2-D int8 array, got {q_in.dtype} {q_in.shape}")
    it = make_interpreter(tflite)
    inp = it.get_input_details()[0]
    if len(q_in) == 0:
        return np.zeros(0, dtype=np.int8)
    it.resize_tensor_input(inp["index"], [len(q_in), q_in.shape[1]])
    it.allocate_tensors()
    it.set_tensor(inp["index"], q_in)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1).astype(np.int8)


def predict_int8(tflite: bytes, quant: dict[str, Any], X_scaled: np.ndarray) -> np.ndarray:
    """Scaled float features -> int8 output codes, quantizing the input as the device does."""
    q_in = quantize_input(X_scaled, quant["input"]["scale"], quant["input"]["zero_point"])
    return run_int8(tflite, q_in)


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
        q_out = predict_int8(tflite, quant, X_test)
        d_float = p_float > threshold
        d_int8 = decide(q_out, quant, threshold)
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
    """The decision code for the false-alarm budget, on the train+val history (tinyad/calibration.py)."""
    from tinyad.baselines import ThresholdRule
    from tinyad.latency import tflm_codes

    ds = dataset.reset_index(drop=True)
    split = ds["split"].astype(str).to_numpy()
    hist = np.flatnonzero((split == "train") | (split == "val"))
    h = ds.iloc[hist].reset_index(drop=True)
    X, rows = dataset_inputs(h, scaler)
    valid = np.zeros(len(hist), dtype=bool)
    valid[rows] = True
    codes = np.full(len(hist), -128, dtype=np.int64)
    q_in = quantize_input(X, quant["input"]["scale"], quant["input"]["zero_point"])
    codes[rows] = tflm_codes(tflite, q_in)
    rule = np.zeros(len(hist), dtype=bool)
    rule[rows] = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity).decision(
        h["temperature"].to_numpy(dtype=np.float64)[rows], h["humidity"].to_numpy(dtype=np.float64)[rows])
    pseudo = h["pseudo_label"].to_numpy(dtype=np.int64)
    horizon = cfg.features.window + cfg.alerts.clear_after
    return calibrate_decision(codes, rule, valid, pseudo, split[hist], cfg.data.period_s, cfg.alerts, quant, horizon)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Full-integer post-training quantization of the MLP.")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--scaler", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quant", required=True)
    ap.add_argument("--metrics", required=True)
    args = ap.parse_args(argv)
    cfg = load(args.params)
    scaler = Scaler.load(args.scaler)
    scaler.check_features(feature_names(cfg.features), source=args.scaler)
    dataset = pd.read_parquet(args.dataset)
    import keras

    model = keras.models.load_model(args.model)
    X_train, _ = dataset_inputs(dataset, scaler, "train")
    X_test, _ = dataset_inputs(dataset, scaler, "test")
    result = quantize_model(model, X_train, X_test, cfg.quantize, cfg.alerts.decision_threshold)
    result["metrics"]["keras_bytes"] = Path(args.model).stat().st_size
    if cfg.alerts.calibrate:
        dec = calibrate(dataset, scaler, cfg, result["tflite"], result["quant"])
        result["quant"]["decision"] = dec
        result["metrics"]["decision"] = dec
        h = dec["val"] if "val" in dec else dec["history"]
        print(f"quantize: decision code {dec['code']} (probability {dec['threshold']:.3f}), alert after {dec['consecutive']} reading(s) in a row, for at most "
              f"{dec['budget_per_week']:g} false alarm(s) a week; validation: {h['alerts_per_week']:.2f} alerts "
              f"a week, {h['false_alarms_per_week']:.2f} false alarms a week, {h['flagged_share']:.2%} of readings flagged")
    write_bytes(args.out, result["tflite"])
    write_json(args.quant, result["quant"])
    write_json(args.metrics, result["metrics"])
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "quantize"))
