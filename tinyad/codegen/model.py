"""Emit C sources for an int8 ``.tflite`` MLP: the flatbuffer as an array and plain int8 C.

Every emitter is a pure function that returns C text, so the ``codegen`` stage (and
the lead's feature/config emitters) can compose them; :func:`generate` writes the
model's files atomically and returns their paths::

    from tinyad.codegen.model import generate
    generate("models/model_int8.tflite", "firmware/lib/generated", prefix="tinyad")

Files (``<p>`` is the prefix):

- ``<p>_model_data.h/.c``: ``<p>_model_tflite[]`` (16-byte aligned) and ``<p>_model_tflite_len``,
  for the TFLite Micro interpreter build;
- ``<p>_model_config.h``: ``<P>_N_INPUTS``, ``<P>_N_OUTPUTS``, input/output scale and zero
  point, ``<P>_MODEL_MACS``;
- ``<p>_model.h/.c``: ``void <p>_model_invoke(const int8_t in[], int8_t out[])``, C99, no
  heap, no interpreter, bit-exact with TFLite Micro.

How the C stays exact and fast: each dense layer's requantization is folded by
:func:`tinyad.codegen.requant.fused_requant` into ``clamp((acc * m + k) >> s)`` per output (bias,
input zero point, both TFLite roundings and the output zero point are inside ``k``; the
fold is verified against TFLite's two-step arithmetic for every reachable accumulator
when generating).  The accumulator is a plain int32 sum of int8 x int8 products of the
raw input codes.  Clamps that the value ranges make impossible are left out, and
LOGISTIC/TANH become lookup tables trimmed to their reachable, non-constant span.

Three layouts (``style``):

- ``"lean"`` (default): loops over ``const`` int8 weights and, per output, an int32 pair
  (b, m) of :class:`tinyad.codegen.requant.ShiftRequant` (per-layer shifts are immediates, no
  64-bit constants); every loop is marked ``#pragma GCC unroll`` unless the compiler
  optimizes for size (``__OPTIMIZE_SIZE__``).  So the same source is the smallest
  build at ``-Os`` and straight-line code with immediate weights at ``-O2``
  (benchmarks/bench_inference.py measures both).
- ``"unrolled"``: straight-line code, weights and 64-bit constants as immediates.
- ``"compact"``: plain loops over ``const`` weight and 64-bit constant tables.

Why no layout is both within 1 KB and at most 4 instructions per MAC on rv32imc
(issue 15, open).  Issue 15 stated its goals for the 6-16-8-1 model of its day, 232
MACs, so 928 instructions for the whole invoke; the default is now 8-16-8-1 (the jitter
features), 264 MACs and 1056 instructions, measured in benchmarks/results/bench_inference.md
(lean -Os: 952 B on lx106 at 8.17 / 10.00 instructions per MAC on x86-64 / rv32imc;
unrolled -Os: 2.97 / 4.33 at 4.1-5.2 KB).  The analysis below is the 6-16-8-1 model's.
rv32imc has no multiply-accumulate and no packed SIMD, and each weight is used once,
so each MAC costs ``lb``, ``mul`` and ``add``.  Two products in
one ``mul`` (16-bit lanes) are not exact, since a 16-input sum needs about 19 bits.

A layout that holds each layer's inputs in registers and loops over the outputs was
measured and not adopted:

- the MACs take 672 instructions (2.90/MAC);
- the 25 requantizations take 10 each, plus 3 for the loop;
- the prologue, epilogue and activation loads take about 55;
- so it needs 1089 instructions in all (4.69/MAC), against 928;
- and it is 1416 B on lx106 and 1102 B on rv32, over the 1 KB goal.

No C layout of that size gets below about 4.3/MAC.  Only straight-line code goes
lower, and it is 3.9-5.0 KB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyad.codegen.cgen import BANNER, array, banner, float_literal, header_file, i64_literal, ident, rows, write_files
from tinyad.codegen.requant import FusedRequant, ShiftRequant, fused_requant, shift_requant
from tinyad.device.model import lut_for
from tinyad.device.tflite_model import Dense, Int8Model, Lut, parse_tflite

__all__ = [
    "BANNER",
    "STYLES",
    "banner",
    "model_data_sources",
    "model_config_header",
    "model_sources",
    "model_sizes",
    "plan_model",
    "generate",
]

STYLES = ("lean", "unrolled", "compact")


# ------------------------------------------------------------ flatbuffer array
def model_data_sources(tflite: bytes, prefix: str = "tinyad", source: str = "") -> dict[str, str]:
    """``<p>_model_data.h`` and ``.c``: the flatbuffer as an aligned const array."""
    p = ident(prefix)
    h_name, c_name = f"{p}_model_data.h", f"{p}_model_data.c"
    header = header_file(
        h_name, banner("The .tflite flatbuffer, for the TensorFlow Lite Micro interpreter build.", source),
        f"extern const unsigned char {p}_model_tflite[];\n"
        f"extern const unsigned int {p}_model_tflite_len;\n\n",
        cplusplus=True,
    )
    align = f"{p.upper()}_ALIGN16"
    body = (
        banner(f"{len(tflite)} bytes of flatbuffer, 16-byte aligned as TFLite Micro expects.", source)
        + f'#include "{h_name}"\n\n'
        + "#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
        + f"#define {align} _Alignas(16)\n"
        + "#elif defined(__GNUC__) || defined(__clang__)\n"
        + f"#define {align} __attribute__((aligned(16)))\n"
        + "#else\n"
        + f"#define {align}\n"
        + "#endif\n\n"
        + f"{align} const unsigned char {p}_model_tflite[] = {{\n"
        + rows(tflite, 12, lambda b: f"0x{b:02x}")
        + "\n};\n"
        + f"const unsigned int {p}_model_tflite_len = {len(tflite)}u;\n"
    )
    return {h_name: header, c_name: body}


# The TFLite Micro build's arena: the smallest arena the tflite_micro interpreter runs
# the model in (evaluate measures it by bisection, metrics/evaluate.json
# memory.tflm_arena_bytes, on the 64-bit host: pointers there are twice the ESP32's,
# so the device needs less), plus this margin for the difference between the wheel's
# TFLM and the ESP32 library's, rounded up to 16 bytes.
TFLM_ARENA_MARGIN = 0.25


def tflm_arena_bytes(measured: int) -> int:
    """``TINYAD_TFLM_ARENA_BYTES`` for a measured minimum arena: +25 %, to 16 bytes."""
    if measured <= 0:
        raise ValueError(f"tflm arena: expected a measured size > 0 bytes, got {measured}")
    return -(-int(measured * (1.0 + TFLM_ARENA_MARGIN)) // 16) * 16


def model_config_header(model: Int8Model, prefix: str = "tinyad", tflm_arena_measured: int | None = None) -> str:
    """``<p>_model_config.h``: sizes and the input/output quantization as constants; with
    ``tflm_arena_measured`` (bytes) also ``<P>_TFLM_ARENA_BYTES`` (:func:`tflm_arena_bytes`)."""
    p = ident(prefix)
    P = p.upper()
    name = f"{p}_model_config.h"
    iq, oq = model.input, model.output
    arena = [] if tflm_arena_measured is None else [
        f"/* TFLite Micro build (src/tflm/model_tflm.cpp): evaluate's measured minimum arena of "
        f"{int(tflm_arena_measured)} bytes",
        f" * + {TFLM_ARENA_MARGIN:.0%} (tinyad.codegen.model.TFLM_ARENA_MARGIN), rounded up to 16 bytes */",
        f"#define {P}_TFLM_ARENA_BYTES {tflm_arena_bytes(tflm_arena_measured)}",
    ]
    lines = [
        f"#define {P}_N_INPUTS {model.n_inputs}",
        f"#define {P}_N_OUTPUTS {model.n_outputs}",
        f"#define {P}_INPUT_SCALE {float_literal(iq.scale)}",
        f"#define {P}_INPUT_ZERO_POINT ({iq.zero_point})",
        f"#define {P}_OUTPUT_SCALE {float_literal(oq.scale)}",
        f"#define {P}_OUTPUT_ZERO_POINT ({oq.zero_point})",
        f"#define {P}_MODEL_MACS {model.macs}",
        *arena,
    ]
    return header_file(name, banner("Model sizes and quantization (real = scale * (q - zero_point)).",
                                    Path(model.source).name), "\n".join(lines) + "\n\n")


# ----------------------------------------------------------------- planning
@dataclass
class DensePlan:
    layer: Dense
    fr: FusedRequant
    x_lo: np.ndarray  # per-input reachable code range
    x_hi: np.ndarray
    clamp_lo: int  # clamp actually applied (activation range, maybe tightened by a LUT)
    clamp_hi: int
    need_lo: list[bool]  # per output: can the value fall below clamp_lo?
    need_hi: list[bool]
    out_lo: np.ndarray  # per-output reachable range after the clamp
    out_hi: np.ndarray
    shift: ShiftRequant | None = None  # the int32 refit (lean layout); None: keep the 64-bit form


@dataclass
class LutPlan:
    layer: Lut
    lo: int  # table covers input codes lo..hi; inputs are already inside this range
    table: np.ndarray
    out_lo: np.ndarray
    out_hi: np.ndarray


def _unclamped(fr: FusedRequant, acc: np.ndarray) -> np.ndarray:
    wide = FusedRequant(fr.m, fr.k, fr.s, fr.t, fr.correct, -(1 << 40), 1 << 40, fr.acc_lo, fr.acc_hi)
    return wide.apply(acc)


def plan_model(model: Int8Model, refit: bool = False) -> list:
    """Fused constants, value ranges and clamp decisions for every layer, in order.

    ``refit``: also search the int32 form of each dense layer's requantization
    (:func:`tinyad.codegen.requant.shift_requant`, used by the lean layout)."""
    plans: list = []
    x_lo = np.full(model.n_inputs, -128, dtype=np.int64)
    x_hi = np.full(model.n_inputs, 127, dtype=np.int64)
    layers = model.layers
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense):
            fr = fused_requant(layer, x_lo, x_hi, verify=True)
            lo_c, hi_c = fr.act_min, fr.act_max
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(nxt, Lut):  # the table is constant outside [a, b]: clamp there instead
                full = lut_for(nxt)
                codes = np.arange(-128, 128)
                vals = full[codes + 128]
                a = lo_c
                while a < hi_c and vals[a + 1 + 128] == vals[a + 128]:
                    a += 1
                b = hi_c
                while b > a and vals[b - 1 + 128] == vals[b + 128]:
                    b -= 1
                lo_c, hi_c = a, b
            v_lo = _unclamped(fr, np.array([fr.acc_lo]))[0]
            v_hi = _unclamped(fr, np.array([fr.acc_hi]))[0]
            need_lo = [bool(v < lo_c) for v in v_lo]
            need_hi = [bool(v > hi_c) for v in v_hi]
            out_lo = np.clip(v_lo, lo_c, hi_c)
            out_hi = np.clip(v_hi, lo_c, hi_c)
            sr = shift_requant(fr, lo_c, hi_c) if refit else None
            plans.append(DensePlan(layer, fr, x_lo, x_hi, lo_c, hi_c, need_lo, need_hi, out_lo, out_hi, sr))
            x_lo, x_hi = out_lo.astype(np.int64), out_hi.astype(np.int64)
        else:
            full = lut_for(layer)
            lo, hi = int(x_lo.min()), int(x_hi.max())
            table = full[lo + 128 : hi + 129]
            # each element's own range maps through the monotone table
            o_lo = np.array([full[int(v) + 128] for v in x_lo], dtype=np.int64)
            o_hi = np.array([full[int(v) + 128] for v in x_hi], dtype=np.int64)
            plans.append(LutPlan(layer, lo, table, o_lo, o_hi))
            x_lo, x_hi = o_lo, o_hi
    return plans


# --------------------------------------------------------------- inference C
def _dot(weights_row, names) -> str:
    terms = []
    for w, n in zip((int(v) for v in weights_row), names):
        if w == 0:
            continue
        if not terms:
            terms.append(f"{n} * {w}" if w != 1 else n)
        elif w > 0:
            terms.append(f"+ {n} * {w}" if w != 1 else f"+ {n}")
        else:
            terms.append(f"- {n} * {-w}" if w != -1 else f"- {n}")
    return " ".join(terms) if terms else "0"


def _requant_lines(fr: FusedRequant, o: int, acc: str, m: str, k: str, s: str, t: str | None,
                   clamp_lo: int | None, clamp_hi: int | None, dest: str, ind: str) -> list[str]:
    lines = [f"{ind}int64_t p = (int64_t){acc} * {m} + {k};"]
    if t is not None:
        lines.append(f"{ind}if (p < {t}) p -= INT64_C(2147483648);")
    lines.append(f"{ind}v = (int32_t)(p >> {s});")
    if clamp_lo is not None:
        lines.append(f"{ind}v = v < {clamp_lo} ? {clamp_lo} : v;")
    if clamp_hi is not None:
        lines.append(f"{ind}v = v > {clamp_hi} ? {clamp_hi} : v;")
    lines.append(f"{ind}{dest} = v;")
    return lines


def _mult_literal(m: int) -> str:
    return f"INT32_C({m})" if m <= 0x7FFFFFFF else i64_literal(m)


def _lut_table(plan: LutPlan, li: int, p: str, tables: list[str]) -> str:
    """Append layer ``li``'s trimmed LOGISTIC/TANH table to ``tables``; return its name."""
    tname = f"{p}_lut{li}_"
    tables.append(f"/* layer {li}: {plan.layer.kind} (op {plan.layer.op_index}), input codes {plan.lo}..{plan.lo + len(plan.table) - 1} */")
    tables.append(array("int8_t", tname, plan.table, 16))
    return tname


def _dense_weights(plan: DensePlan, li: int, p: str, tables: list[str]) -> str:
    """Append layer ``li``'s comment and int8 weight table to ``tables``; return its name."""
    L = plan.layer
    w = f"{p}_l{li}_w_"
    tables.append(f"/* layer {li}: fully connected {L.n_in} -> {L.n_out}, {L.activation} (op {L.op_index}) */")
    tables.append(array("int8_t", w, L.weights.ravel(), 16))
    return w


def _requant64(plan: DensePlan, li: int, p: str, src: str, tables: list[str], unroll: list[str]) -> list[str]:
    """The 64-bit fused requantization (:class:`FusedRequant`) over const tables: appends
    the m, k (, s, t) tables, returns the loop body from the accumulator to ``v``
    (verified in tinyad.codegen.requant.fused_requant).  ``unroll``: lines put before
    the inner loop."""
    L, fr = plan.layer, plan.fr
    m, k, s_, t = (f"{p}_l{li}_{n}_" for n in ("m", "k", "s", "t"))
    big_m = any(v > 0x7FFFFFFF for v in fr.m)
    tables.append(array("int64_t" if big_m else "int32_t", m, fr.m, 6))
    tables.append(array("int64_t", k, fr.k, 4, i64_literal))
    uniform_s = len(set(fr.s)) == 1
    if not uniform_s:
        tables.append(array("uint8_t", s_, fr.s, 16))
    body = ["        int32_t a = 0;", "        int64_t p;"]
    body += unroll
    body.append(f"        for (j = 0; j < {L.n_in}; ++j) a += w[j] * {src}[j];")
    body.append(f"        p = (int64_t)a * {m}[o] + {k}[o];")
    if any(fr.correct):
        tv = [fr.t[o] if fr.correct[o] else -(1 << 63) for o in range(L.n_out)]
        tables.append(array("int64_t", t, tv, 4, i64_literal))
        body.append(f"        if (p < {t}[o]) p -= INT64_C(2147483648);")
    body.append(f"        v = (int32_t)(p >> {fr.s[0] if uniform_s else s_ + '[o]'});")
    return body


def _clamp_store(lo: int, hi: int, need_lo: list[bool], need_hi: list[bool], dest: str, last: bool) -> list[str]:
    """The end of a dense layer's output loop: the clamps some output needs, the store, ``}``."""
    lines = [f"        v = v < {lo} ? {lo} : v;"] if any(need_lo) else []
    if any(need_hi):
        lines.append(f"        v = v > {hi} ? {hi} : v;")
    return lines + [f"        {dest}[o] = {'(int8_t)v' if last else 'v'};", "    }"]


def _emit_unrolled(plans: list, p: str, model: Int8Model) -> tuple[list[str], list[str]]:
    tables: list[str] = []
    body: list[str] = []
    names = [f"x{j}" for j in range(model.n_inputs)]
    body.append("    int32_t v;")
    body.append("    const int32_t " + ", ".join(f"x{j} = in[{j}]" for j in range(model.n_inputs)) + ";")
    for li, plan in enumerate(plans):
        last = li == len(plans) - 1
        if isinstance(plan, DensePlan):
            L = plan.layer
            dest_arr = None if last else f"h{li}"
            if dest_arr:
                body.append(f"    int32_t {dest_arr}[{L.n_out}];")
            body.append(f"    /* layer {li}: fully connected {L.n_in} -> {L.n_out}, {L.activation} (op {L.op_index}) */")
            for o in range(L.n_out):
                fr = plan.fr
                dest = f"{dest_arr}[{o}]" if dest_arr else f"out[{o}]"
                body.append("    {")
                body.append(f"        const int32_t a = {_dot(L.weights[o], names)};")
                lines = _requant_lines(
                    fr, o, "a", _mult_literal(fr.m[o]), i64_literal(fr.k[o]), str(fr.s[o]),
                    i64_literal(fr.t[o]) if fr.correct[o] else None,
                    plan.clamp_lo if plan.need_lo[o] else None,
                    plan.clamp_hi if plan.need_hi[o] else None,
                    dest if not last else f"out[{o}]", "        ",
                )
                if last:
                    lines[-1] = f"        out[{o}] = (int8_t)v;"
                body.extend(lines)
                body.append("    }")
            names = [f"{dest_arr}[{o}]" for o in range(L.n_out)] if dest_arr else names
        else:
            tname = _lut_table(plan, li, p, tables)
            n = len(names)
            if last:
                for j in range(n):
                    body.append(f"    out[{j}] = {tname}[{names[j]} - ({plan.lo})];")
            else:
                arr = f"h{li}"
                body.append(f"    int32_t {arr}[{n}];")
                for j in range(n):
                    body.append(f"    {arr}[{j}] = {tname}[{names[j]} - ({plan.lo})];")
                names = [f"{arr}[{j}]" for j in range(n)]
    return tables, body


def _emit_loops(plans: list, p: str, model: Int8Model, unroll: bool) -> tuple[list[str], list[str]]:
    """Loops over const tables: the lean layout (``unroll``) and the compact one.

    Compact: int8 weights and the 64-bit fused constants (m, k, s, t) as tables.

    Lean, per dense layer: int8 weights and, per output, the int32 pair (b, m) of
    :class:`tinyad.codegen.requant.ShiftRequant` with the layer's ``frac``/``shift`` as immediates
    (a layer whose requantization cannot be refitted keeps the 64-bit form of the
    compact layout).  Every loop carries ``<P>_UNROLL_(n)``: ``#pragma GCC unroll n``
    unless the build optimizes for size (``__OPTIMIZE_SIZE__``, i.e. ``-Os``/``-Oz``),
    so one source gives straight-line code with immediate weights at ``-O2`` and the
    smallest loops at ``-Os``.
    """
    P = p.upper()
    U = f"{P}_UNROLL_"
    tables: list[str] = [
        "/* Unroll every loop when optimizing for speed (weights become immediates);",
        " * keep the loops when optimizing for size. Both compute the same thing. */",
        "#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)",
        f"#define {P}_PRAGMA_(x) _Pragma(#x)",
        f"#define {U}(n) {P}_PRAGMA_(GCC unroll n)",
        "#else",
        f"#define {U}(n)",
        "#endif",
    ] if unroll else []

    def u(n: int, indent: str = "    ") -> list[str]:
        return [f"{indent}{U}({n})"] if unroll else []

    body: list[str] = ["    int32_t o, j, v;", f"    int32_t x_in[{model.n_inputs}];"]
    body += u(model.n_inputs)
    body.append(f"    for (j = 0; j < {model.n_inputs}; ++j) x_in[j] = in[j];")
    src = "x_in"
    for li, plan in enumerate(plans):
        last = li == len(plans) - 1
        if isinstance(plan, DensePlan):
            L = plan.layer
            sr = plan.shift
            w = _dense_weights(plan, li, p, tables)
            dest = "out" if last else f"h{li}"
            if not last:
                body.append(f"    int32_t {dest}[{L.n_out}];")
            body.append(f"    /* layer {li}: fully connected {L.n_in} -> {L.n_out}, {L.activation} */")
            body += u(L.n_out)
            body.append(f"    for (o = 0; o < {L.n_out}; ++o) {{")
            body.append(f"        const int8_t *w = {w} + o * {L.n_in};")
            if sr is not None:
                q = f"{p}_l{li}_q_"
                pairs = [v for o in range(L.n_out) for v in (sr.b[o], sr.m[o])]
                tables.append(f"/* per output: b, m; out = clamp((((acc << {sr.frac}) + b) * m) >> {sr.shift}) */")
                tables.append(array("int32_t", q, pairs, 6))
                body.append("        int32_t a = 0;")
                body += u(L.n_in, "        ")
                body.append(f"        for (j = 0; j < {L.n_in}; ++j) a += w[j] * {src}[j];")
                scaled = f"a * {1 << sr.frac}" if sr.frac else "a"
                body.append(f"        v = (int32_t)(((int64_t)({scaled} + {q}[2 * o]) * {q}[2 * o + 1]) >> {sr.shift});")
                lo, hi, need_lo, need_hi = sr.clamp_lo, sr.clamp_hi, sr.need_lo, sr.need_hi
            else:  # the 64-bit fused form of the compact layout
                body.extend(_requant64(plan, li, p, src, tables, u(L.n_in, "        ")))
                lo, hi, need_lo, need_hi = plan.clamp_lo, plan.clamp_hi, plan.need_lo, plan.need_hi
            body.extend(_clamp_store(lo, hi, need_lo, need_hi, dest, last))
            src = dest
        else:
            tname = _lut_table(plan, li, p, tables)
            n = len(plan.out_lo)
            dest = "out" if last else f"h{li}"
            if not last:
                body.append(f"    int32_t {dest}[{n}];")
            body += u(n)
            body.append(f"    for (j = 0; j < {n}; ++j) {dest}[j] = {tname}[{src}[j] - ({plan.lo})];")
            src = dest
    return tables, body


def model_sources(model: Int8Model, prefix: str = "tinyad", style: str = "lean") -> dict[str, str]:
    """``<p>_model.h`` and ``<p>_model.c``: the int8 inference as plain C99."""
    if style not in STYLES:
        raise ValueError(f"codegen style: expected one of {list(STYLES)}, got {style!r}")
    p = ident(prefix)
    P = p.upper()
    h_name, c_name = f"{p}_model.h", f"{p}_model.c"
    desc = " -> ".join([str(model.n_inputs)] + [
        f"{l.n_out} {l.activation}" if isinstance(l, Dense) else l.kind for l in model.layers
    ])
    header = header_file(
        h_name, banner(f"int8 inference, bit-exact with TensorFlow Lite Micro: {desc}.", Path(model.source).name),
        f"/* One inference: quantized inputs (real = {P}_INPUT_SCALE * (q - {P}_INPUT_ZERO_POINT))\n"
        f" * to quantized outputs ({P}_OUTPUT_SCALE, {P}_OUTPUT_ZERO_POINT). No state, no heap. */\n"
        f"void {p}_model_invoke(const int8_t in[{P}_N_INPUTS], int8_t out[{P}_N_OUTPUTS]);\n\n",
        includes=f'#include <stdint.h>\n\n#include "{p}_model_config.h"\n\n', cplusplus=True,
    )
    plans = plan_model(model, refit=style == "lean")
    if style == "unrolled":
        tables, body = _emit_unrolled(plans, p, model)
    else:
        tables, body = _emit_loops(plans, p, model, unroll=style == "lean")
    c = (
        banner(f"int8 inference ({style}): {desc}; {model.macs} multiply-accumulates.", Path(model.source).name)
        + f'#include "{h_name}"\n\n'
        + "/* The requantization shifts negative 64-bit values right and relies on the\n"
        + " * arithmetic shift that every supported compiler does (C99 leaves it to the\n"
        + " * implementation): refuse to compile where it is not so. */\n"
        + f"typedef char {p}_arithmetic_shift_check_[((-1) >> 1) == -1 ? 1 : -1];\n\n"
        + ("\n".join(tables) + "\n\n" if tables else "")
        + f"void {p}_model_invoke(const int8_t in[{P}_N_INPUTS], int8_t out[{P}_N_OUTPUTS])\n{{\n"
        + "\n".join(body)
        + "\n}\n"
    )
    return {h_name: header, c_name: c}


def model_sizes(model: Int8Model, tflite: bytes) -> dict:
    """Sizes for metrics/codegen.json (bytes of the model's own arrays, as stored)."""
    dense = model.dense_layers
    return {
        "weights_bytes": int(sum(l.weights.size for l in dense)),
        "bias_bytes": int(sum(4 * l.n_out for l in dense)),
        "flatbuffer_bytes": len(tflite),
        "macs": int(model.macs),
        "n_inputs": model.n_inputs,
        "n_outputs": model.n_outputs,
        "layers": [
            {"op": "fully_connected", "n_in": l.n_in, "n_out": l.n_out, "activation": l.activation,
             "per_channel": bool(l.per_channel)} if isinstance(l, Dense) else {"op": l.kind}
            for l in model.layers
        ],
    }


def generate(tflite_path: str | Path, out_dir: str | Path, prefix: str = "tinyad",
             style: str = "lean") -> list[Path]:
    """Write the model's C files into ``out_dir`` (atomically); returns their paths."""
    tflite_path = Path(tflite_path)
    data = tflite_path.read_bytes()
    model = parse_tflite(data, source=str(tflite_path))
    files: dict[str, str] = {}
    files.update(model_data_sources(data, prefix, source=tflite_path.name))
    files[f"{prefix}_model_config.h"] = model_config_header(model, prefix)
    files.update(model_sources(model, prefix, style))
    return write_files(files, out_dir)
