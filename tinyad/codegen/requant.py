"""The requantization of a dense layer folded into constants for generated C (codegen only).

Moved here from the int8 module (now :mod:`tinyad.device.model`), which keeps the
Python twin of the device's int8 arithmetic (TFLite's kernels,
:func:`~tinyad.device.model.run_model`); this module only bakes that arithmetic into
constants the model emitter (:mod:`tinyad.codegen.model`) prints:

- :class:`FusedRequant` / :func:`fused_requant`: one dense layer's requantization folded
  into a single 64-bit multiply-add and shift (bias, input and output zero points
  included); proven equal to the two-step TFLite arithmetic over the layer's whole
  reachable accumulator range when it is built, so generated C that uses it is exact by
  construction.
- :class:`ShiftRequant` / :func:`shift_requant`: the same requantization re-fitted to
  ``((acc_raw + b) * m) >> shift`` with int32 ``b`` and ``m`` and ONE shift per layer (no
  64-bit constants); found by exact integer search and then checked against the
  TFLite arithmetic for every accumulator value in the layer's reachable range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyad.device.model import INT32_MAX, INT32_MIN, activation_range, fc_multipliers, multiply_by_quantized_multiplier

__all__ = ["FusedRequant", "fused_requant", "layer_ranges", "ShiftRequant", "shift_requant"]


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
    """Fold a :class:`~tinyad.device.tflite_model.Dense` layer's requantization into constants.

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
