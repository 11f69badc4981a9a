"""The int8 model as the device runs it: the ``.tflite`` bytes and their quantization.

``Int8Runtime(tflite, quant)`` holds the bytes the quantize stage wrote and the
``quant.json`` beside them (``{"input": {"scale", "zero_point"}, "output": {...},
"decision"?: ...}``).  It

* quantizes scaled float features into the model's int8 input exactly as the device
  does (``tinyad.device.features.quantize_input``);
* runs the model in ``ai_edge_litert`` with the reference kernels (``BUILTIN_REF``, no
  XNNPACK; one batch: ``litert``) or in the TensorFlow Lite Micro interpreter, one
  reading at a time as on the device (``tflm``); both return int8 output codes;
* decides (``q_out >= output_code_threshold(quant, threshold)``) and dequantizes the
  codes into probabilities;
* checks that ``quant`` describes the ``.tflite`` (``check``).

``tflite`` may be ``None`` for a runtime that only quantizes and decides (the C
feature pipeline's tests, the Python replay of ``tinyad.tools.detect`` that runs the
model with ``tinyad.device.model``).  TensorFlow Lite is imported only when a model runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyad.device.features import decide, dequantize_output, quantize_input

ENGINES = ("litert", "tflm")


def make_interpreter(tflite: bytes):
    """``ai_edge_litert`` interpreter with the reference kernels (no delegate)."""
    from tinyad.evaluate.latency import litert_interpreter

    return litert_interpreter(tflite)


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
    return Int8Runtime(tflite, quant).codes(X_scaled)


class Int8Runtime:
    """One int8 model and its quantization (module docstring)."""

    def __init__(self, tflite: bytes | None, quant: dict[str, Any]):
        self.tflite = None if tflite is None else bytes(tflite)
        self.quant = quant

    # ------------------------------------------------------------ quantization
    def quantize(self, X_scaled: np.ndarray) -> np.ndarray:
        """Scaled float features ``[n, f]`` -> the model's int8 input codes."""
        q = self.quant["input"]
        return quantize_input(X_scaled, q["scale"], q["zero_point"])

    def probabilities(self, codes: np.ndarray) -> np.ndarray:
        """int8 output codes -> probabilities."""
        return dequantize_output(codes, self.quant)

    def decide(self, codes: np.ndarray, threshold: float) -> np.ndarray:
        """Anomalous where the output code is at or above the threshold's code, as the device decides."""
        return decide(codes, self.quant, threshold)

    # ----------------------------------------------------------------- running
    def _bytes(self) -> bytes:
        if self.tflite is None:
            raise ValueError("Int8Runtime: no .tflite to run (built with tflite=None)")
        return self.tflite

    def run(self, q_in: np.ndarray, engine: str = "litert") -> np.ndarray:
        """int8 output codes ``[n]`` of int8 inputs ``[n, f]``: LiteRT (one batch) or TFLM (one at a time)."""
        if engine == "litert":
            return run_int8(self._bytes(), np.asarray(q_in, dtype=np.int8))
        if engine == "tflm":
            from tinyad.evaluate.latency import tflm_codes

            return tflm_codes(self._bytes(), q_in)
        raise ValueError(f"Int8Runtime.run: engine must be one of {ENGINES}, got {engine!r}")

    def codes(self, X_scaled: np.ndarray, engine: str = "litert") -> np.ndarray:
        """Scaled float features -> int8 output codes (quantized and run as on the device)."""
        return self.run(self.quantize(X_scaled), engine)

    # ---------------------------------------------------------------- checking
    def check(self, source: str) -> None:
        """``quant`` must describe the .tflite it sits beside (``source`` names it in the error)."""
        it = make_interpreter(self._bytes())
        for key, det in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
            if det["dtype"] != np.int8:
                raise ValueError(f"{source}: the model's {key} is {det['dtype']}, expected int8")
            scale, zp = det["quantization"]
            try:
                q = self.quant[key]
                ok = np.isclose(float(q["scale"]), scale, rtol=1e-6) and int(q["zero_point"]) == int(zp)
            except (KeyError, TypeError):
                raise ValueError(f"{source}: expected {{'{key}': {{'scale': s, 'zero_point': z}}}}") from None
            if not ok:
                raise ValueError(f"{source}: {key} scale/zero_point {q} do not match the .tflite ({scale}, {zp})")
