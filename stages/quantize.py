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
``tinyad.device.features.quantize_input`` and outputs decided with ``tinyad.device.features.decide``
exactly as the device does.

With ``alerts.calibrate`` the decision threshold is calibrated here, on the int8
model as the device runs it (TensorFlow Lite Micro, one reading at a time) over the
train and validation history, to the false-alarm budget
``alerts.max_false_alarms_per_week``, held with ``alerts.budget_confidence``
(``tinyad/learn/calibration.py``); the chosen code, its debounce, its raise and instant codes and
the alert figures they reached go into ``quant.json`` (``decision``) and the metrics.
This stage also reads ``thresholds``, ``alerts`` and ``data.period_s`` for it.

Only ``quantize.method: ptq`` exists: quantization-aware training needs
``tensorflow-model-optimization``, which works with Keras 2 (``tf_keras``) only, not
with the Keras 3 models trained here.

The work is ``tinyad/learn/quantization.py``'s; the int8 model runs through
``tinyad.device.runtime.Int8Runtime``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinyad.device.alerts import NEVER
from tinyad.device.features import dataset_inputs
from tinyad.io import write_bytes, write_json
from tinyad.learn.calibration import short_history_warning
from tinyad.learn.quantization import calibrate, quantize_model
from tinyad.stage import parse_args, read_inputs


def main(argv: list[str] | None = None) -> int:
    args = parse_args("Full-integer post-training quantization of the MLP.", argv,
                      "dataset", "scaler", "model", "out", "quant", "metrics")
    inp = read_inputs(args)
    cfg, scaler, dataset = inp.cfg, inp.scaler, inp.table
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
        print(f"quantize: decision code {dec['code']} (probability {dec['threshold']:.3f}), alert after {dec['consecutive']} reading(s) in a row"
              + (f" at code {dec['raise_code']} or above (held from the decision code)" if dec["raise_code"] != dec["code"] else "")
              + (f" or one at code {dec['instant_code']} or above" if dec["instant_code"] != NEVER else "") + ", for at most "
              f"{dec['budget_per_week']:g} false alarm(s) a week ({dec['budget_false_alarms']:g} allowed on the "
              f"{dec['history_weeks']:.1f}-week history at confidence {dec['budget_confidence']:g}); validation: {h['alerts_per_week']:.2f} alerts "
              f"a week, {h['false_alarms_per_week']:.2f} false alarms a week, {h['flagged_share']:.2%} of readings flagged")
        short = short_history_warning(dec)
        if short:
            print(f"quantize: warning: {short}", file=sys.stderr)
    write_bytes(args.out, result["tflite"])
    write_json(args.quant, result["quant"])
    write_json(args.metrics, result["metrics"])
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "quantize"))
