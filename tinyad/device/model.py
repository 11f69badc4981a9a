"""TensorFlow Lite (Micro) integer reference arithmetic in numpy, bit for bit.

What TFLite Micro's reference kernels compute for an int8 MLP, written out so that
Python can predict the device's output exactly and the C generator can bake the same
constants into code:

- :func:`quantize_multiplier`: double -> (int32 multiplier, shift), as
  ``tflite::QuantizeMultiplier`` (``std::frexp``, round half away from zero).
- :func:`saturating_rounding_doubling_high_mul`, :func:`rounding_divide_by_pot`,
  :func:`multiply_by_quantized_multiplier`: gemmlowp's fixed-point primitives and TFLite's
  double-rounding ``MultiplyByQuantizedMultiplier`` (TFLM is built without
  ``TFLITE_SINGLE_ROUNDING``; the tests check this against the interpreter).
- :func:`fc_multipliers`, :func:`activation_range`, :func:`fully_connected`: the int8
  FULLY_CONNECTED kernel with per-tensor or per-channel weight scales.
- :func:`logistic_lut`, :func:`tanh_lut`: the int8 LOGISTIC / TANH kernels (gemmlowp
  fixed-point ``logistic``/``tanh`` on Q4.27 input) evaluated for all 256 input codes.
- The requantization folded into constants for generated C (``FusedRequant``,
  ``ShiftRequant``) is codegen-only and lives beside the model emitter, in
  :mod:`tinyad.codegen.requant`.
- :func:`run_model`: the whole forward pass of an :class:`~tinyad.device.tflite_model.Int8Model`.

No TensorFlow import.  Example::

    from tinyad.device.tflite_model import read_tflite
    from tinyad.device.model import run_model
    q_out = run_model(read_tflite("models/model_int8.tflite"), q_in)  # int8 [n, out]
"""

from __future__ import annotations

import math

import numpy as np

from tinyad.device.features import round_half_away


def _lround(x: float) -> int:
    """C ``lround`` of one value: ``tinyad.device.features.round_half_away``, the one rounding rule."""
    return int(round_half_away(np.float64(x)))


__all__ = [
    "INT32_MIN",
    "INT32_MAX",
    "quantize_multiplier",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "fc_multipliers",
    "activation_range",
    "fully_connected",
    "logistic_lut",
    "tanh_lut",
    "lut_for",
    "run_model",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _wrap32(x: int) -> int:
    """Two's-complement int32 wrap of a Python int (what the C int32 arithmetic yields)."""
    return ((int(x) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


# ------------------------------------------------------------------ primitives
def quantize_multiplier(real: float) -> tuple[int, int]:
    """``tflite::QuantizeMultiplier``: real ~= multiplier * 2**(shift - 31)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _lround(q * float(1 << 31))
    if abs(q_fixed) > (1 << 31):
        raise ValueError(f"quantize_multiplier({real!r}): significand out of range")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` for int32 (numpy, elementwise)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    # C++ '/' truncates toward zero
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    overflow = (a == b) & (a == INT32_MIN)
    return np.where(overflow, INT32_MAX, q).astype(np.int64)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: rounding arithmetic right shift (ties away from 0)."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite's double-rounding ``MultiplyByQuantizedMultiplier(int32 x, M, shift)``."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = x << left
    shifted = ((shifted + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # int32 multiply wraps
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


# ------------------------------------------------------------- fully connected
def fc_multipliers(input_scale: float, weight_scales, output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-output (multiplier, shift) exactly as TFLM's CalculateOpDataFullyConnected.

    Per-channel weights: ``double(in) * double(w[c]) / double(out)``; per-tensor:
    ``double(float(in * w)) / double(out)`` (the float product is rounded to float32 first,
    as in ``GetQuantizedConvolutionMultipler``).
    """
    ws = np.asarray(weight_scales, dtype=np.float32).ravel()
    in_s = np.float32(input_scale)
    out_s = np.float32(output_scale)
    if ws.size == 1:
        real = float(np.float32(in_s * ws[0])) / float(out_s)
        m, s = quantize_multiplier(real)
        return np.array([m], dtype=np.int64), np.array([s], dtype=np.int64)
    ms, ss = zip(*(quantize_multiplier(float(in_s) * float(w) / float(out_s)) for w in ws))
    return np.array(ms, dtype=np.int64), np.array(ss, dtype=np.int64)


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for int8 (float32 division, TfLiteRound)."""

    def quantize(f: float) -> int:
        return int(zero_point) + _lround(float(np.float32(f) / np.float32(scale)))

    qmin, qmax = -128, 127
    if activation == "relu":
        return max(qmin, quantize(0.0)), qmax
    if activation == "relu6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "relu_n1_to_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    if activation == "none":
        return qmin, qmax
    raise ValueError(f"unknown fused activation {activation!r}")


def fully_connected(x, weights, bias, input_zero_point: int, multipliers, shifts,
                    output_zero_point: int, act_min: int, act_max: int) -> np.ndarray:
    """TFLM ``reference_integer_ops::FullyConnected(PerChannel)`` on a batch ``x`` int8 [n, in]."""
    x = np.asarray(x, dtype=np.int64)
    W = np.asarray(weights, dtype=np.int64)
    acc = (x - int(input_zero_point)) @ W.T
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError("fully_connected: int32 accumulator overflow (TFLite would be undefined here)")
    m = np.broadcast_to(np.asarray(multipliers, dtype=np.int64), (W.shape[0],))
    s = np.broadcast_to(np.asarray(shifts, dtype=np.int64), (W.shape[0],))
    out = multiply_by_quantized_multiplier(acc, m, s) + int(output_zero_point)
    return np.clip(out, act_min, act_max).astype(np.int8)


# ------------------------------------------------------- gemmlowp fixed point
def _srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    s = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    q = abs(s) >> 31
    return q if s >= 0 else -q


def _rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    return (x >> e) + (1 if (x & mask) > (mask >> 1) + (1 if x < 0 else 0) else 0)


def _sat_mul_pot(x: int, e: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> for int32."""
    if e == 0:
        return x
    if e < 0:
        return _rdbpot(x, -e)
    threshold = (1 << (31 - e)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return _wrap32(x << e)


def _rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    t = s + (1 if s >= 0 else -1)
    return abs(t) // 2 * (1 if t >= 0 else -1)  # C '/' truncates


def _exp_on_interval(a: int) -> int:
    """exp(x) for x in [-1/4, 0), Q0.31 in and out."""
    constant_term = 1895147668
    one_third = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _rdbpot(x4, 2)
    poly = _rdbpot(_wrap32(_srdhm(_wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return _wrap32(constant_term + _srdhm(constant_term, _wrap32(x + poly)))


_BARREL = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535, 3: 720401, 4: 242}


def _exp_on_negative_values(a: int, integer_bits: int) -> int:
    """gemmlowp exp_on_negative_values for FixedPoint<int32, integer_bits>; Q0.31 out."""
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod = _wrap32((a & mask) - one_quarter)
    result = _exp_on_interval(_sat_mul_pot(a_mod, integer_bits))  # Rescale<0>
    remainder = _wrap32(a_mod - a)
    for exponent in range(-2, 5):
        if integer_bits > exponent and remainder & (1 << (frac + exponent)):
            result = _srdhm(result, _BARREL[exponent])
    if integer_bits > 5:
        clamp_b = 36 - integer_bits
        if a < -(1 << clamp_b):
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal(half_denominator: int) -> int:
    """The Newton-Raphson loop shared by gemmlowp's 1/(1+x) and (1-x)/(1+x); Q2.29 out."""
    x = _wrap32(1515870810 + _srdhm(half_denominator, -1010580540))
    for _ in range(3):
        hdx = _srdhm(half_denominator, x)
        one_minus = _wrap32((1 << 29) - hdx)
        x = _wrap32(x + _sat_mul_pot(_srdhm(x, one_minus), 2))
    return x


def _gemmlowp_logistic(a: int, integer_bits: int = 4) -> int:
    """gemmlowp ``logistic`` of FixedPoint<int32, integer_bits> raw ``a``; Q0.31 out."""
    abs_input = a if a > 0 else _wrap32(-a)
    e = _exp_on_negative_values(_wrap32(-abs_input), integer_bits)
    x = _newton_reciprocal(_rounding_half_sum(e, INT32_MAX))
    pos = _sat_mul_pot(x, 1)  # Rescale<0>(ExactMulByPot<-1>(x)): Q1.30 -> Q0.31
    if a == 0:
        return 1 << 30
    return pos if a > 0 else _wrap32(INT32_MAX - pos)


def _gemmlowp_tanh(a: int, integer_bits: int = 4) -> int:
    """gemmlowp ``tanh`` of FixedPoint<int32, integer_bits> raw ``a``; Q0.31 out."""
    n = a if a < 0 else _wrap32(-a)
    e = _exp_on_negative_values(n, integer_bits + 1)  # ExactMulByPot<1>
    x = _newton_reciprocal(_rounding_half_sum(e, INT32_MAX))
    t = _sat_mul_pot(_wrap32(x - (1 << 29)), 2)  # Rescale<0>(x - F2::One())
    if a == 0:
        return 0
    return _wrap32(-t) if a < 0 else t


def _lut(kind: str, input_scale: float, input_zero_point: int) -> np.ndarray:
    k_input_integer_bits = 4
    real = float(np.float32(input_scale)) * float(1 << (31 - k_input_integer_bits))
    q, left_shift = math.frexp(real)
    multiplier = _lround(q * float(1 << 31))
    if not 0 <= left_shift <= 30 or multiplier > INT32_MAX:
        raise ValueError(f"{kind}: input scale {input_scale!r} is outside what TFLite Micro supports")
    radius = math.floor(
        1.0 * ((1 << k_input_integer_bits) - 1) * float(1 << (31 - k_input_integer_bits)) / float(1 << left_shift)
    )
    out = np.empty(256, dtype=np.int8)
    for code in range(-128, 128):
        v = code - int(input_zero_point)
        if v <= -radius:
            r = -128
        elif v >= radius:
            r = 127
        else:
            q4 = int(multiply_by_quantized_multiplier(v, multiplier, left_shift))
            if kind == "logistic":
                r = _rdbpot(_gemmlowp_logistic(q4), 31 - 8) - 128
            else:
                r = _rdbpot(_gemmlowp_tanh(q4), 31 - 7)
            r = min(max(r, -128), 127)
        out[code + 128] = r
    return out


def logistic_lut(input_scale: float, input_zero_point: int) -> np.ndarray:
    """int8 LOGISTIC output for input codes -128..127 (index = code + 128), as TFLM."""
    return _lut("logistic", input_scale, input_zero_point)


def tanh_lut(input_scale: float, input_zero_point: int) -> np.ndarray:
    """int8 TANH output for input codes -128..127 (index = code + 128), as TFLM."""
    return _lut("tanh", input_scale, input_zero_point)


def lut_for(layer) -> np.ndarray:
    """The 256-entry table of a :class:`~tinyad.device.tflite_model.Lut` layer."""
    fn = {"logistic": logistic_lut, "tanh": tanh_lut}[layer.kind]
    return fn(layer.input.scale, layer.input.zero_point)


# ------------------------------------------------------------------- model
def run_model(model, x) -> np.ndarray:
    """Forward pass of an Int8Model on int8 inputs [n, n_inputs] -> int8 [n, n_outputs]."""
    from tinyad.device.tflite_model import Dense

    h = np.asarray(x)
    if h.ndim == 1:
        h = h[None, :]
    if h.shape[-1] != model.n_inputs:
        raise ValueError(f"run_model: expected {model.n_inputs} inputs a row, got {h.shape[-1]}")
    h = h.astype(np.int8)
    for layer in model.layers:
        if isinstance(layer, Dense):
            m, s = fc_multipliers(layer.input.scale, layer.weight_scales, layer.output.scale)
            amin, amax = activation_range(layer.activation, layer.output.scale, layer.output.zero_point)
            h = fully_connected(h, layer.weights, layer.bias, layer.input.zero_point, m, s,
                                layer.output.zero_point, amin, amax)
        else:
            h = lut_for(layer)[h.astype(np.int64) + 128]
    return h.astype(np.int8)
