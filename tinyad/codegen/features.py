"""Emit the device's feature pipeline in C, bit-exact with Python.

``tinyad/device/features.py`` is the one definition of the model's inputs; this module turns
that definition, the fitted :class:`~tinyad.device.features.Scaler` and the model's input
quantization into plain C99 that computes the same int8 input vector from the same
readings, bit for bit::

    from tinyad.codegen.cgen import write_files
    from tinyad.codegen.features import generate_features_c
    write_files(generate_features_c(cfg.features, scaler, quant, prefix="tinyad"), "firmware/lib/generated")

Files (``<p>`` is the prefix, ``<P>`` its upper case):

- ``<p>_features.h/.c``: ``<p>_features_t`` (the last ``features.window`` VALID readings
  in integer tenths, oldest first; no humidity buffer when no configured feature reads
  humidity), ``<p>_features_init(&f)``,
  ``int <p>_features_push(&f, temp10, hum10, second_of_week, int8_t in[<P>_N_INPUTS])``
  (nonzero once the window is full: ``in`` then holds the model's input codes) and
  ``<p>_features_values(&f, second_of_week, double x[<P>_N_FEATURES])`` (the unscaled
  float64 features of the current window, what ``compute_features`` gives).
  C99, no heap; only the configured features get code.
``<p>_config.h`` (the device constants) is :mod:`tinyad.codegen.device_config`'s.  What does
not depend on the model (the ring buffer, the sort, the input quantization) is hand-written
in ``firmware/lib/tinyad/tinyad_window.h``, which the generated ``.c`` includes: compile it
with ``-I firmware/lib/tinyad``.

Exactness.  Each feature is computed with the integer sums and the float64 operations
of the ``tinyad/device/features.py`` docstring, in the same order; scaling and quantization
then do exactly what Python does, per feature: ``xs = (x - mean) / scale``, then
``v = xs / input_scale``, ``t = trunc(v)``, ``t += sign(v)`` when ``|v - t| >= 0.5``
(``round_half_away``; no ``lround`` so that huge values cannot overflow a ``long``),
``q = t + zero_point``, clamp to [-128, 127].  Every float constant is printed with
``repr`` (shortest round-trip), so the C double equals the Python float.  Compile with
``-ffp-contract=off`` (no fused multiply-add) on a target with ``FLT_EVAL_METHOD == 0``
(no excess precision; the C refuses to compile otherwise).  The one operation that is
not correctly rounded would be ``sin``/``cos`` of the time of day; it is not libm's
but ``tod_sin_cos`` (integer folding, a polynomial in double), mirrored here operation
for operation, so no C library's last bit can move an input code.
"""

from __future__ import annotations

from typing import Any

from tinyad.codegen.cgen import banner, double_literal as _double, header_file, ident
from tinyad.config import FeaturesConfig
from tinyad.device.features import (JITTER_TRIM, TOD_COS_COEF, TOD_QUARTER, TOD_SIN_COEF, TOD_STEP, WINDOW_KINDS, Scaler,
                             counts_runs, feature_names, mdelta_half, uses_humidity)

__all__ = ["feature_pipeline_ram", "generate_features_c", "input_quant", "check_scaler"]

QUANTITIES = ("temp", "hum")


# ------------------------------------------------------------------ helpers
def input_quant(quant: dict[str, Any]) -> tuple[float, int]:
    try:
        scale = float(quant["input"]["scale"])
        zp = int(quant["input"]["zero_point"])
    except (KeyError, TypeError):
        raise ValueError("quant: expected {'input': {'scale': s, 'zero_point': z}, 'output': {...}}") from None
    if not scale > 0:
        raise ValueError(f"quant.input.scale: must be > 0, got {scale}")
    if not -128 <= zp <= 127:
        raise ValueError(f"quant.input.zero_point: expected an int8 value, got {zp}")
    return scale, zp


def check_scaler(names: list[str], scaler: Scaler) -> None:
    if scaler.mean_ is None or scaler.scale_ is None:
        raise ValueError("scaler: not fitted (models/scaler.json has no mean/scale)")
    scaler.check_features(names, source="scaler")
    if len(scaler.mean_) != len(names) or len(scaler.scale_) != len(names):
        raise ValueError(f"scaler: {len(scaler.mean_)} means / {len(scaler.scale_)} scales for {len(names)} features")


# ------------------------------------------------------------ feature plan
def _needs(names: list[str], cfg: FeaturesConfig) -> dict[str, set[str]]:
    """Per quantity, the window statistics the configured features read."""
    stat_of = {
        "delta": set(), "dev": {"s1"}, "devup": {"s1"}, "std": {"s1", "s2"}, "slope": {"si"},
        "range": {"minmax"}, "iqr": {"sorted"}, "mdelta": {"m2"}, "changes": {"changes"},
        "run": {"run"}, "step": set(), "jitter": {"jitter"},
    }
    assert set(stat_of) == set(WINDOW_KINDS), "tinyad.device.features.WINDOW_KINDS and the C emitter disagree"
    needs: dict[str, set[str]] = {q: set() for q in QUANTITIES}
    for name in names:
        if name in ("temp", "hum", "tod_sin", "tod_cos", "weekend", "run"):
            continue
        q, kind = name.split("_", 1)
        if kind not in stat_of:
            raise ValueError(f"features.names: no C emitter for window feature kind {kind!r} ({name})")
        needs[q] |= stat_of[kind]
    return needs


def _stats_code(q: str, buf: str, needs: set[str], P: str) -> list[str]:
    """C statements computing the window statistics of one quantity (int64 sums)."""
    N = f"{P}_WINDOW"
    L: list[str] = []
    if not needs:
        return L
    L.append(f"    /* {q}: integer statistics of the window {buf}[0] (oldest) .. {buf}[{N} - 1] (current) */")
    if needs & {"s1", "s2", "si", "minmax", "changes"}:
        # the int64 sums over the window: name, the term added per reading v
        sums = [(k, term) for k, term in (("s1", "v"), ("s2", "v * v"), ("si", f"(int64_t)(2 * i - ({N} - 1)) * v"))
                if k in needs]
        if sums:
            L.append(f"    int64_t {', '.join(f'{q}_{k} = 0' for k, _ in sums)};")
        if "minmax" in needs:
            L.append(f"    int32_t {q}_min = {buf}[0], {q}_max = {buf}[0];")
        if "changes" in needs:
            L.append(f"    int32_t {q}_changes = 0;")
        L.append("    for (i = 0; i < " + N + "; ++i) {")
        if sums:
            L.append(f"        const int64_t v = {buf}[i];")
        L += [f"        {q}_{k} += {term};" for k, term in sums]
        if "minmax" in needs:
            L.append(f"        if ({buf}[i] < {q}_min) {q}_min = {buf}[i];")
            L.append(f"        if ({buf}[i] > {q}_max) {q}_max = {buf}[i];")
        if "changes" in needs:
            L.append(f"        if (i > 0 && {buf}[i] != {buf}[i - 1]) ++{q}_changes;")
        L.append("    }")
    if "sorted" in needs:
        L.append(f"    int32_t {q}_iqr;")
        L.append("    {")
        L.append(f"        int16_t s[{N}];")
        L.append(f"        memcpy(s, {buf}, sizeof s);")
        L.append(f"        tinyad_sort_i16(s, {N});")
        L.append(f"        {q}_iqr = (int32_t)s[{N} - 1 - {N} / 4] - (int32_t)s[{N} / 4];")
        L.append("    }")
    if "m2" in needs:
        M = f"{P}_MDELTA_M"
        L.append(f"    int32_t {q}_m2_first, {q}_m2_last; /* twice the median of the first / last {M} readings */")
        L.append("    {")
        L.append(f"        int16_t s[{M}];")
        L.append(f"        memcpy(s, {buf}, sizeof s);")
        L.append(f"        tinyad_sort_i16(s, {M});")
        L.append(f"        {q}_m2_first = (int32_t)s[({M} - 1) / 2] + (int32_t)s[{M} / 2];")
        L.append(f"        memcpy(s, {buf} + ({N} - {M}), sizeof s);")
        L.append(f"        tinyad_sort_i16(s, {M});")
        L.append(f"        {q}_m2_last = (int32_t)s[({M} - 1) / 2] + (int32_t)s[{M} / 2];")
        L.append("    }")
    if "jitter" in needs:
        assert JITTER_TRIM == 2, "the C keeps the two largest steps (d1, d2): tinyad.device.features.JITTER_TRIM"
        J = f"{P}_JITTER_STEPS"
        L.append(f"    /* the last {J} steps |w[i] - w[i-1]|: their sum and the two largest (d1 >= d2) */")
        L.append(f"    int32_t {q}_jsum = 0, {q}_d1 = 0, {q}_d2 = 0;")
        L.append(f"    for (i = {N} - {J}; i < {N}; ++i) {{")
        L.append(f"        const int32_t d = abs((int)({buf}[i] - {buf}[i - 1]));")
        L.append(f"        {q}_jsum += d;")
        L.append(f"        if (d > {q}_d1) {{")
        L.append(f"            {q}_d2 = {q}_d1;")
        L.append(f"            {q}_d1 = d;")
        L.append(f"        }} else if (d > {q}_d2) {{")
        L.append(f"            {q}_d2 = d;")
        L.append("        }")
        L.append("    }")
    if "run" in needs:
        L.append(f"    int32_t {q}_run = 0; /* readings before the current one that repeat it, capped */")
        L.append(f"    for (i = {N} - 2; i >= 0 && {q}_run < {P}_RUN_CAP && {buf}[i] == {buf}[{N} - 1]; --i) ++{q}_run;")
    return L


def _feature_expr(name: str, cfg: FeaturesConfig, n: int, P: str) -> tuple[list[str], str]:
    """(statements, float64 expression) of one feature, as tinyad/device/features.py computes it."""
    N = f"{P}_WINDOW"
    if name in ("temp", "hum"):
        buf = "f->temp" if name == "temp" else "f->hum"
        return [], f"(double){buf}[{N} - 1] / 10.0"
    if name in ("tod_sin", "tod_cos"):
        return [], "tod_s" if name == "tod_sin" else "tod_c"
    if name == "weekend":
        return [], "second_of_week >= 5u * 86400u ? 1.0 : 0.0"
    if name == "run":
        if cfg.use_humidity:
            cond = f"f->temp[i] == f->temp[{N} - 1] && f->hum[i] == f->hum[{N} - 1]"
        else:
            cond = f"f->temp[i] == f->temp[{N} - 1]"
        return [
            "    {",
            "        int32_t r = 0; /* readings before the current one repeating it (all used quantities), capped */",
            f"        for (i = {N} - 2; i >= 0 && r < {P}_RUN_CAP && {cond}; --i) ++r;",
            "        x[J] = (double)r;",
            "    }",
        ], ""
    q, kind = name.split("_", 1)
    buf = f"f->{q}"
    d = n * (n * n - 1) // 6
    slope = f"(double){q}_si / {_double(10.0 * float(d))}"
    dev = f"(double)((int64_t){N} * {buf}[{N} - 1] - {q}_s1) / {_double(10.0 * float(n))}"
    mdelta = f"(double)({q}_m2_last - {q}_m2_first) / 20.0"
    if kind == "delta":
        return [], f"(double)((int32_t){buf}[{N} - 1] - (int32_t){buf}[0]) / 10.0"
    if kind == "slope":
        return [], slope
    if kind == "std":
        var = f"(int64_t){N} * {q}_s2 - {q}_s1 * {q}_s1"
        return [], f"sqrt((double)({var})) / {_double(10.0 * float(n))}"
    if kind == "range":
        return [], f"(double)({q}_max - {q}_min) / 10.0"
    if kind == "dev":
        return [], dev
    if kind == "iqr":
        return [], f"(double){q}_iqr / 10.0"
    if kind == "mdelta":
        return [], mdelta
    if kind == "changes":
        return [], f"(double){q}_changes"
    if kind == "run":
        return [], f"(double){q}_run"
    if kind == "step":
        return [], f"(double)abs((int)({buf}[{N} - 1] - {buf}[{N} - 2])) / 10.0"
    if kind == "jitter":
        steps = int(cfg.jitter_steps) - JITTER_TRIM
        return [], f"(double)({q}_jsum - {q}_d1 - {q}_d2) / {_double(10.0 * float(steps))}"
    if kind == "devup":
        return [
            "    {",
            f"        const double v = {dev};",
            "        x[J] = v > 0.0 ? v : 0.0; /* np.maximum(v, 0.0) */",
            "    }",
        ], ""
    raise ValueError(f"features.names: no C emitter for window feature kind {kind!r} ({name})")


def feature_pipeline_ram(features_cfg: FeaturesConfig) -> dict[str, int]:
    """Bytes of the ring buffer state and the largest stack scratch of one push."""
    names = feature_names(features_cfg)
    n = int(features_cfg.window)
    n_buf = 2 if uses_humidity(features_cfg) else 1
    needs = _needs(names, features_cfg)
    scratch = 0
    if any("sorted" in v for v in needs.values()):
        scratch = 2 * n
    elif any("m2" in v for v in needs.values()):
        scratch = 2 * mdelta_half(n)
    # int16 arrays and a uint16 count: 2-byte aligned, no padding
    return {"buffer_bytes": n_buf * 2 * n, "state_bytes": n_buf * 2 * n + 2, "sort_scratch_stack_bytes": scratch}


def _tod_code(P: str) -> str:
    """``tod_sin_cos`` of tinyad/device/features.py in C: the same doubles, the same operations."""
    def horner(var: str, coef: tuple[float, ...]) -> list[str]:
        lines = [f"    {var} = {_double(coef[-1])};"]
        lines += [f"    {var} = {_double(c)} + z * {var};" for c in coef[-2::-1]]
        return lines

    return "\n".join([
        f"#define {P}_TOD_STEP {_double(TOD_STEP)} /* features.TOD_STEP: the double nearest 2*pi / 86400 */",
        "",
        "/* sin and cos of 2*pi * sod / 86400 without libm, bit-exact with tinyad.device.features.tod_sin_cos:",
        " * integer quadrant and folding onto [0, pi/4], then Taylor polynomials (Horner) in double. */",
        "static void tod_sin_cos(uint32_t sod, double *sin_out, double *cos_out)",
        "{",
        f"    const uint32_t q = sod / {TOD_QUARTER}u, r = sod % {TOD_QUARTER}u;",
        f"    const int flip = r > {TOD_QUARTER // 2}u;",
        f"    const double t = (double)(flip ? {TOD_QUARTER}u - r : r) * {P}_TOD_STEP;",
        "    const double z = t * t;",
        "    double ps, pc, s, c, v;",
        *horner("ps", TOD_SIN_COEF),
        *horner("pc", TOD_COS_COEF),
        "    s = t + t * (z * ps);",
        "    c = 1.0 + z * pc;",
        "    if (flip) {",
        "        v = s;",
        "        s = c;",
        "        c = v;",
        "    }",
        "    switch (q) {",
        "    case 0: *sin_out = s; *cos_out = c; break;",
        "    case 1: *sin_out = c; *cos_out = -s; break;",
        "    case 2: *sin_out = -s; *cos_out = -c; break;",
        "    default: *sin_out = -c; *cos_out = s; break;",
        "    }",
        "}",
        "",
        "",
    ])


# ------------------------------------------------------------------ emitters
def generate_features_c(features_cfg: FeaturesConfig, scaler: Scaler, quant: dict[str, Any],
                        prefix: str = "tinyad") -> dict[str, str]:
    """``<p>_features.h`` and ``<p>_features.c`` (file name -> text); see the module docstring."""
    p = ident(prefix)
    P = p.upper()
    names = feature_names(features_cfg)
    check_scaler(names, scaler)
    in_scale, in_zp = input_quant(quant)
    n = int(features_cfg.window)
    if not FeaturesConfig.MIN_WINDOW <= n <= FeaturesConfig.MAX_WINDOW:
        raise ValueError(f"features.window: expected {FeaturesConfig.MIN_WINDOW}..{FeaturesConfig.MAX_WINDOW} "
                         f"readings for the C pipeline, got {n}")
    use_hum = uses_humidity(features_cfg)
    needs = _needs(names, features_cfg)
    m = mdelta_half(n)
    jitter_steps = int(features_cfg.jitter_steps)
    need_tod = any(nm in ("tod_sin", "tod_cos") for nm in names)
    need_i = any(needs.values()) or "run" in names
    nf = len(names)

    h_name, c_name = f"{p}_features.h", f"{p}_features.c"
    listing = "\n".join(f" *   in[{j}] = {nm}" for j, nm in enumerate(names))
    header = header_file(
        h_name,
        banner(f"The feature pipeline of tinyad/device/features.py: window {n}, {nf} features "
               f"({', '.join(names)})."),
        "/*\n"
        + " * The model's inputs, in this order (features.names):\n"
        + listing + "\n"
        + " * Bit-exact with tinyad/device/features.py only when compiled with -ffp-contract=off\n"
        + " * (no fused multiply-add) and FLT_EVAL_METHOD == 0 (checked in the .c file).\n"
        + " */\n"
        + f"#define {P}_N_FEATURES {nf}\n\n"
        + f"#if {P}_WINDOW != {n}\n"
        + f'#error "{p}_config.h and {h_name} were generated for different features.window: rerun stages/codegen.py"\n'
        + "#endif\n"
        + f"#if {P}_N_INPUTS != {P}_N_FEATURES\n"
        + f'#error "the model has {P}_N_INPUTS inputs but features.names gives {nf} features: retrain or rerun stages/codegen.py"\n'
        + "#endif\n\n"
        + "/* The last WINDOW valid readings in tenths, oldest first (index WINDOW-1 is the\n"
        + " * current one).  Plain data, so it can live in RTC memory through deep sleep. */\n"
        + "typedef struct {\n"
        + f"    int16_t temp[{P}_WINDOW];\n"
        + (f"    int16_t hum[{P}_WINDOW];\n" if use_hum else "")
        + "    uint16_t count; /* valid readings held, up to WINDOW */\n"
        + f"}} {p}_features_t;\n\n"
        + f"void {p}_features_init({p}_features_t *f);\n\n"
        + "/* Push one VALID reading (never a faulty one); when the window is full, write the\n"
        + " * model's int8 input codes into in[] and return 1, else return 0. */\n"
        + f"int {p}_features_push({p}_features_t *f, int16_t temp10, int16_t hum10, uint32_t second_of_week,\n"
        + f"                       int8_t in[{P}_N_INPUTS]);\n\n"
        + "/* The unscaled float64 features of the current (full) window, as compute_features(). */\n"
        + f"void {p}_features_values(const {p}_features_t *f, uint32_t second_of_week, double x[{P}_N_FEATURES]);\n\n",
        includes=f'#include <stdint.h>\n\n#include "{p}_config.h"\n\n', cplusplus=True,
    )

    body: list[str] = []
    if need_tod:
        body += ["    double tod_s, tod_c;", "    tod_sin_cos(second_of_week % 86400u, &tod_s, &tod_c);"]
    for q in QUANTITIES:
        if needs[q]:
            body += _stats_code(q, f"f->{q}", needs[q], P)
    for j, name in enumerate(names):
        stmts, expr = _feature_expr(name, features_cfg, n, P)
        body.append(f"    /* x[{j}]: {name} */")
        if stmts:
            body += [s.replace("x[J]", f"x[{j}]") for s in stmts]
        else:
            body.append(f"    x[{j}] = {expr};")

    quant_lines = []
    for j, name in enumerate(names):
        mean, scale = float(scaler.mean_[j]), float(scaler.scale_[j])
        quant_lines.append(f"    in[{j}] = tinyad_quantize_input((x[{j}] - {_double(mean)}) / {_double(scale)}, "
                           f"{P}_IN_SCALE_, {P}_IN_ZERO_POINT_); /* {name} */")

    c = (
        banner(f"The feature pipeline of tinyad/device/features.py: window {n}, {nf} features, then "
                "Scaler and the int8 input quantization, bit-exact with Python.")
        + f'#include "{h_name}"\n\n'
        + "#include <float.h>\n#include <math.h>\n#include <stdlib.h>\n"
        + "#include <string.h>\n\n"
        + "/* The ring buffer, the sort and the input quantization: hand-written, model-independent. */\n"
        + '#include "tinyad_window.h"\n\n'
        + "/* Excess precision (x87) would round differently from Python's float64. */\n"
        + "#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0\n"
        + f'#error "{c_name} must be compiled with FLT_EVAL_METHOD == 0 (IEEE double, no excess precision) to match Python bit for bit"\n'
        + "#endif\n\n"
        + (_tod_code(P) if need_tod else "")
        + (f"#define {P}_RUN_CAP {int(features_cfg.run_cap)} /* features.run_cap: runs are counted up to this */\n"
           if counts_runs(features_cfg) else "")
        + (f"#define {P}_MDELTA_M {m} /* readings in each half of *_mdelta: max(WINDOW / 3, 1) */\n"
           if any("m2" in v for v in needs.values()) else "")
        + (f"#define {P}_JITTER_STEPS {jitter_steps} /* features.jitter_steps: the steps the *_jitter features measure */\n"
           if any("jitter" in v for v in needs.values()) else "")
        + f"#define {P}_IN_SCALE_ {_double(in_scale)} /* quant.json input.scale */\n"
        + f"#define {P}_IN_ZERO_POINT_ ({in_zp}) /* quant.json input.zero_point */\n\n"
        + f"#if {P}_INPUT_ZERO_POINT != {P}_IN_ZERO_POINT_\n"
        + '#error "the model\'s input zero point differs from quant.json: rerun stages/codegen.py"\n'
        + "#endif\n\n"
        + f"void {p}_features_init({p}_features_t *f)\n{{\n"
        + "    memset(f, 0, sizeof *f);\n}\n\n"
        + f"void {p}_features_values(const {p}_features_t *f, uint32_t second_of_week, double x[{P}_N_FEATURES])\n{{\n"
        + ("    int i;\n" if need_i else "")
        + ("" if need_tod or "weekend" in names else "    (void)second_of_week;\n")
        + "\n".join(body) + "\n}\n\n"
        + f"int {p}_features_push({p}_features_t *f, int16_t temp10, int16_t hum10, uint32_t second_of_week,\n"
        + f"                       int8_t in[{P}_N_INPUTS])\n{{\n"
        + f"    double x[{P}_N_FEATURES];\n"
        + ("" if use_hum else "    (void)hum10; /* no configured feature reads humidity */\n")
        + f"    tinyad_window_push(f->temp, f->count, {P}_WINDOW, temp10);\n"
        + (f"    tinyad_window_push(f->hum, f->count, {P}_WINDOW, hum10);\n" if use_hum else "")
        + f"    if (f->count < {P}_WINDOW && ++f->count < {P}_WINDOW) return 0;\n"
        + f"    {p}_features_values(f, second_of_week, x);\n"
        + "    /* Scaler: (x - mean) / scale, then the input quantization (models/scaler.json, quant.json). */\n"
        + "\n".join(quant_lines) + "\n"
        + "    return 1;\n}\n"
    )
    return {h_name: header, c_name: c}
