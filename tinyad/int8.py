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
- :class:`FusedRequant`: the requantization of one dense layer folded into a single
  64-bit multiply-add and shift (bias, input and output zero points included); proven
  equal to the two-step TFLite arithmetic over the layer's whole reachable accumulator
  range when it is built, so generated C that uses it is exact by construction.
- :class:`ShiftRequant` / :func:`shift_requant`: the same requantization re-fitted to
  ``((acc_raw + b) * m) >> shift`` with int32 ``b`` and ``m`` and ONE shift per layer (no
  64-bit constants); found by exact integer search and then checked against the
  TFLite arithmetic for every accumulator value in the layer's reachable range.
- :func:`run_model`: the whole forward pass of an :class:`~tinyad.tflite_model.Int8Model`.

No TensorFlow import.  Example::

    from tinyad.tflite_model import read_tflite
    from tinyad.int8 import run_model
    q_out = run_model(read_tflite("models/model_int8.tflite"), q_in)  # int8 [n, out]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
    "FusedRequant",
    "fused_requant",
    "layer_ranges",
    "ShiftRequant",
    "shift_requant",
    "run_model",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _wrap32(x: int) -> int:
    """Two's-complement int32 wrap of a Python int (what the C int32 arithmetic yields)."""
    return ((int(x) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _round_half_away(x: float) -> int:
    """``std::round`` (TfLiteRound) for a double: halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# ------------------------------------------------------------------ primitives
def quantize_multiplier(real: float) -> tuple[int, int]:
    """``tflite::QuantizeMultiplier``: real ~= multiplier * 2**(shift - 31)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_half_away(q * float(1 << 31))
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
        return int(zero_point) + _round_half_away(float(np.float32(f) / np.float32(scale)))

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
    multiplier = _round_half_away(q * float(1 << 31))
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
    """The 256-entry table of a :class:`~tinyad.tflite_model.Lut` layer."""
    fn = {"logistic": logistic_lut, "tanh": tanh_lut}[layer.kind]
    return fn(layer.input.scale, layer.input.zero_point)


# --------------------------------------------------- fused requantization
@dataclass
class FusedRequant:
    """One dense layer's requantization as ``out = clamp((acc_raw * m + k) >> s)``.

    ``acc_raw = sum_j w[o, j] * x[j]`` over the raw int8 input codes (zero point NOT
    subtracted).  ``k`` carries the bias, the input zero point (``-zp_in * sum_j w``),
    TFLite's two rounding offsets and the output zero point.  TFLite rounds twice (the
    doubling high multiply, then the rounding shift, ties away from zero); where that
    differs from one floor shift (a negative intermediate), ``p < t`` subtracts
    ``2**31`` first; ``correct[o]`` is False where the clamp makes that irrelevant.
    Arrays are per output channel (Python ints in object arrays: 64-bit safe).
    """

    m: list[int]
    k: list[int]
    s: list[int]
    t: list[int]
    correct: list[bool]
    act_min: int
    act_max: int
    acc_lo: list[int]  # reachable raw accumulator range (for exhaustive checks)
    acc_hi: list[int]

    def apply(self, acc_raw) -> np.ndarray:
        """Vectorised evaluation on raw accumulators [n, out] (int64) -> int64 clamped."""
        acc = np.asarray(acc_raw, dtype=np.int64)
        out = np.empty(acc.shape, dtype=np.int64)
        for o in range(acc.shape[-1]):
            a = acc[..., o]
            big = max(abs(int(a.min())), abs(int(a.max()))) * abs(self.m[o]) + abs(self.k[o]) + (1 << 32)
            if big < (1 << 63):
                p = a * np.int64(self.m[o]) + np.int64(self.k[o])
                if self.correct[o]:
                    p = np.where(p < np.int64(self.t[o]), p - (1 << 31), p)
                out[..., o] = p >> self.s[o]
            else:  # exact Python integers (slow path, never hit by int8 MLPs of sane size)
                p = [int(v) * self.m[o] + self.k[o] for v in np.ravel(a)]
                p = [v - (1 << 31) if self.correct[o] and v < self.t[o] else v for v in p]
                out[..., o] = np.array([v >> self.s[o] for v in p], dtype=np.int64).reshape(a.shape)
        return np.clip(out, self.act_min, self.act_max)


def layer_ranges(weights: np.ndarray, x_lo: int, x_hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``sum_j w[o, j] * x[j]`` for every x[j] in [x_lo, x_hi] (per output)."""
    W = np.asarray(weights, dtype=np.int64)
    lo = np.where(W > 0, W * x_lo, W * x_hi).sum(axis=1)
    hi = np.where(W > 0, W * x_hi, W * x_lo).sum(axis=1)
    return lo, hi


def fused_requant(layer, x_lo=-128, x_hi=127, verify: bool = True) -> FusedRequant:
    """Fold a :class:`~tinyad.tflite_model.Dense` layer's requantization into constants.

    ``[x_lo, x_hi]`` is the range of the layer's input codes (scalars, or one bound per
    input: the previous layer's reachable outputs).
    With ``verify`` the fused form is compared with :func:`multiply_by_quantized_multiplier`
    for every reachable accumulator value that lands inside the clamp, plus the two
    ends; a mismatch raises (it would be a bug in the algebra, not in the model).
    """
    W = np.asarray(layer.weights, dtype=np.int64)
    mults, shifts = fc_multipliers(layer.input.scale, layer.weight_scales, layer.output.scale)
    mults = np.broadcast_to(mults, (W.shape[0],))
    shifts = np.broadcast_to(shifts, (W.shape[0],))
    amin, amax = activation_range(layer.activation, layer.output.scale, layer.output.zero_point)
    zin, zout = int(layer.input.zero_point), int(layer.output.zero_point)
    acc_lo, acc_hi = layer_ranges(W, x_lo, x_hi)
    fold = np.asarray(layer.bias, dtype=np.int64) - zin * W.sum(axis=1)
    ms, ks, ss, ts, cs = [], [], [], [], []
    for o in range(W.shape[0]):
        M, sh = int(mults[o]), int(shifts[o])
        ls, e = max(sh, 0), max(-sh, 0)
        # TFLite computes acc (with bias) in int32 and acc << ls in int32: check no overflow
        for a in (int(acc_lo[o] + fold[o]), int(acc_hi[o] + fold[o])):
            if not INT32_MIN <= a << ls <= INT32_MAX:
                raise OverflowError(f"layer op {layer.op_index} output {o}: int32 overflow in TFLite's accumulator")
        mx = M << ls
        round1 = 1 << 30
        round2 = (1 << (30 + e)) if e else 0
        s = 31 + e
        k = int(fold[o]) * mx + round1 + round2 + (zout << s)
        t = round2 + (zout << s)  # p < t  <=>  (acc + fold) * mx + 2**30 < 0  <=>  high mul < 0
        correct = bool(e) and amin < zout
        ms.append(mx), ks.append(k), ss.append(s), ts.append(t), cs.append(correct)
    fr = FusedRequant(ms, ks, ss, ts, cs, amin, amax, [int(v) for v in acc_lo], [int(v) for v in acc_hi])
    if verify:
        _verify_fused(fr, fold, mults, shifts, zout)
    return fr


def _verify_fused(fr: FusedRequant, fold, mults, shifts, zout: int, max_points: int = 1 << 16) -> None:
    for o in range(len(fr.m)):
        lo, hi = fr.acc_lo[o], fr.acc_hi[o]
        if hi - lo + 1 <= max_points:
            acc = np.arange(lo, hi + 1, dtype=np.int64)
        else:  # dense sampling around every output step of interest plus random points
            rng = np.random.default_rng(o)
            acc = np.unique(np.concatenate([rng.integers(lo, hi + 1, max_points), [lo, hi, 0]]))
        ref = np.clip(
            multiply_by_quantized_multiplier(acc + int(fold[o]), int(mults[o]), int(shifts[o])) + zout,
            fr.act_min, fr.act_max,
        )
        got = FusedRequant(
            [fr.m[o]], [fr.k[o]], [fr.s[o]], [fr.t[o]], [fr.correct[o]], fr.act_min, fr.act_max, [lo], [hi]
        ).apply(acc[:, None])[:, 0]
        bad = np.nonzero(ref != got)[0]
        if bad.size:
            a = int(acc[bad[0]])
            raise AssertionError(f"fused requantization differs from TFLite at output {o}, acc {a}: {got[bad[0]]} != {ref[bad[0]]}")


# ------------------------------------------------- int32 requantization
@dataclass
class ShiftRequant:
    """A dense layer's requantization as ``clamp((((acc_raw << frac) + b[o]) * m[o]) >> shift)``.

    ``b`` and ``m`` are int32 per output channel; ``frac`` and ``shift`` are one per
    layer, so the generated C keeps two 32-bit words an output (no 64-bit constants)
    and shifts by immediates.  ``frac`` gives the offset ``b`` sub-accumulator
    resolution (TFLite's rounding constants are fractions of an accumulator step) while
    ``acc << frac`` still fits int32; the product is one widening 32x32->64 multiply
    (``mulh`` on 32-bit cores when ``shift >= 32``).  It is not TFLite's formula: the
    constants are searched (:func:`shift_requant`) so that the result equals TFLite's
    for every accumulator in ``[acc_lo[o], acc_hi[o]]``, and that is checked point by
    point when it is built.  ``clamp_lo``/``clamp_hi`` may be tighter than the
    activation range (a following lookup table is constant outside them);
    ``need_lo``/``need_hi`` say, per output, whether the clamp can act at all.
    """

    b: list[int]
    m: list[int]
    frac: int
    shift: int
    clamp_lo: int
    clamp_hi: int
    acc_lo: list[int]
    acc_hi: list[int]
    need_lo: list[bool]
    need_hi: list[bool]

    def unclamped(self, acc_raw) -> np.ndarray:
        acc = np.asarray(acc_raw, dtype=np.int64)
        b = np.asarray(self.b, dtype=np.int64)
        return (((acc << self.frac) + b) * np.asarray(self.m, dtype=np.int64)) >> self.shift

    def apply(self, acc_raw) -> np.ndarray:
        """Vectorised evaluation on raw accumulators [..., out] -> int64 clamped."""
        return np.clip(self.unclamped(acc_raw), self.clamp_lo, self.clamp_hi)


def _fit_channel(acc: np.ndarray, f: np.ndarray, lo: int, hi: int, frac: int, shift: int,
                 m_max: int, chunk: int = 2048, tries: int = 8192) -> tuple[int, int] | None:
    """Integers (b, m) with clip((((acc << frac) + b) * m) >> shift, lo, hi) == f, or None.

    ``f`` is non-decreasing over the sorted ``acc``.  For every run of equal values v
    the first element must reach v (unless v == lo) and the last must stay below
    v + 1 (unless v == hi): linear constraints on (m, k = b * m).  The m for which some
    real k exists follow from every pair of constraints; inside that range candidates
    are tried from the middle outwards, each needing an integer b with b * m inside
    that m's k interval and ``(acc << frac) + b`` inside int32 (at most ``tries`` of them).
    """
    if np.any(np.diff(f) < 0):
        return None
    cut = np.nonzero(np.diff(f))[0]
    if cut.size == 0:
        return None  # constant output: nothing to fit (the caller keeps the 64-bit form)
    x = acc << frac
    first = x[np.concatenate([[0], cut + 1])]
    last = x[np.concatenate([cut, [len(x) - 1]])]
    v = f[np.concatenate([[0], cut + 1])]
    one = np.int64(1) << np.int64(shift)
    # k >= c1 - a1 * m   and   k <= c2 - a2 * m
    a1, c1 = first[v > lo], v[v > lo] * one
    a2, c2 = last[v < hi], (v[v < hi] + 1) * one - 1
    m_lo, m_hi = 1, m_max
    if a1.size and a2.size:
        d = a2[None, :] - a1[:, None]
        r = c2[None, :] - c1[:, None]
        if np.any((d == 0) & (r < 0)):
            return None
        if np.any(d > 0):
            m_hi = min(m_hi, int((r[d > 0] // d[d > 0]).min()))
        if np.any(d < 0):
            m_lo = max(m_lo, int((-((-r[d < 0]) // d[d < 0])).max()))  # ceil(r / d) for d < 0
    if m_lo > m_hi:
        return None
    b_lim = (1 << 31) - 1 - max(abs(int(x[0])), abs(int(x[-1])))
    mid = (m_lo + m_hi) // 2
    for start in range(0, min(m_hi - m_lo + 1, tries), chunk):
        off = np.arange(start, min(start + chunk, m_hi - m_lo + 1), dtype=np.int64)
        m = mid + np.where(off % 2 == 0, off // 2, -(off + 1) // 2)  # mid, mid-1, mid+1, ...
        m = m[(m >= m_lo) & (m <= m_hi)]
        k_lo = (c1[None, :] - a1[None, :] * m[:, None]).max(axis=1) if a1.size else np.full(m.size, -(1 << 62))
        k_hi = (c2[None, :] - a2[None, :] * m[:, None]).min(axis=1) if a2.size else np.full(m.size, 1 << 62)
        b = -((-k_lo) // m)  # ceil(k_lo / m)
        ok = (b * m <= k_hi) & (np.abs(b) <= b_lim)
        if ok.any():
            i = int(np.argmax(ok))
            return int(b[i]), int(m[i])
    return None


def shift_requant(fr: FusedRequant, clamp_lo: int | None = None, clamp_hi: int | None = None,
                  fracs=None) -> ShiftRequant | None:
    """Refit a layer's :class:`FusedRequant` as a :class:`ShiftRequant`, or None.

    The target is TFLite's result clamped to ``[clamp_lo, clamp_hi]`` (default: the
    activation range) for every accumulator in the layer's reachable range.  ``frac``
    is tried from the largest that keeps ``acc << frac`` inside int32 down by 4 (or the
    given ``fracs``); for each, the shift is the largest that keeps every ``m`` below
    2**31, then a few smaller ones.  The result is checked point by point over the
    whole range; None when nothing fits (the caller keeps the 64-bit form).
    """
    lo = fr.act_min if clamp_lo is None else int(clamp_lo)
    hi = fr.act_max if clamp_hi is None else int(clamp_hi)
    if not any(fr.m):
        return None
    targets = []
    for o in range(len(fr.m)):
        acc = np.arange(fr.acc_lo[o], fr.acc_hi[o] + 1, dtype=np.int64)
        one = FusedRequant([fr.m[o]], [fr.k[o]], [fr.s[o]], [fr.t[o]], [fr.correct[o]], lo, hi, [0], [0])
        targets.append((acc, one.apply(acc[:, None])[:, 0]))
    span = max(max(abs(a), abs(b)) for a, b in zip(fr.acc_lo, fr.acc_hi))
    if fracs is None:
        top_frac = 30 - max(span, 1).bit_length()
        fracs = range(max(top_frac, 0), max(top_frac - 4, -1), -1)
    m_max = (1 << 31) - 1
    for frac in fracs:
        if frac < 0 or (span << frac) >= (1 << 30):
            continue
        # slope of channel o in units of (acc << frac) is m[o] / 2**(s[o] + frac)
        top = min(31 + s + frac - int(m).bit_length() for m, s in zip(fr.m, fr.s) if m > 0)
        for shift in range(min(top, 62), max(top - 4, 0), -1):
            found = [_fit_channel(acc, f, lo, hi, frac, shift, m_max) for acc, f in targets]
            if any(x is None for x in found):
                continue
            sr = ShiftRequant([x[0] for x in found], [x[1] for x in found], int(frac), int(shift), lo, hi,
                              list(fr.acc_lo), list(fr.acc_hi), [], [])
            for acc, f in targets:  # the search is exact; this is the proof, point by point
                o = len(sr.need_lo)
                g = (((acc << frac) + sr.b[o]) * sr.m[o]) >> shift
                if not np.array_equal(np.clip(g, lo, hi), f):
                    raise AssertionError(f"shift_requant: fitted channel {o} differs from TFLite")
                sr.need_lo.append(bool(g[0] < lo))
                sr.need_hi.append(bool(g[-1] > hi))
            return sr
    return None


# ------------------------------------------------------------------- model
def run_model(model, x) -> np.ndarray:
    """Forward pass of an Int8Model on int8 inputs [n, n_inputs] -> int8 [n, n_outputs]."""
    from tinyad.tflite_model import Dense

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
