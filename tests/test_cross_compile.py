"""The generated sources compile for microcontroller ISAs with warnings as errors.

Debian's bare-metal cross compilers (packages named in tests/helpers/cbuild.py: CROSS_TARGETS;
a missing one fails the test with the ``apt-get install`` line): Xtensa
(``xtensa-lx106-elf-gcc``), RISC-V rv32imc (``riscv64-unknown-elf-gcc -march=rv32imc
-mabi=ilp32``, the ESP32-C3's ISA) and Arm Cortex-M4 (``arm-none-eabi-gcc``).  Objects
are built with ``-c -Os -std=c99 -Wall -Wextra -Werror -pedantic`` and measured with the
target's ``size``; benchmarks/bench_inference.py prints the same numbers as a table.
"""

from __future__ import annotations

import pytest

from tests.helpers.cbuild import DEFAULT_VARIANT, CROSS_TARGETS, cross_compile_size, require_tool, run_checked, variant_tflite
from tinyad.codegen.model import STYLES, generate
from tinyad.device.tflite_model import read_tflite


@pytest.mark.parametrize("target", list(CROSS_TARGETS))
@pytest.mark.parametrize("variant", [DEFAULT_VARIANT, "mlp4-8-1-tanh", "mlp5-12-1-relu-per-tensor"])
def test_cross_compiles_warning_free(model_dir, tmp_path, target, variant):
    path = variant_tflite(variant, model_dir)
    sizes = {}
    for style in STYLES:
        gen = tmp_path / style
        generate(path, gen, style=style)
        sizes[style] = cross_compile_size(target, gen / "tinyad_model.c", gen, tmp_path / f"{style}.o")
        # the inference needs no RAM of its own beyond the stack
        assert sizes[style]["data"] == 0 and sizes[style]["bss"] == 0, sizes
        cmd, size_tool, package = CROSS_TARGETS[target]
        nm = require_tool(size_tool.replace("-size", "-nm"), package)
        symbols = run_checked([nm, str(tmp_path / f"{style}.o")]).stdout
        assert " T tinyad_model_invoke" in symbols
    model = read_tflite(path)
    weight_bytes = sum(l.weights.size for l in model.dense_layers)
    # the compact layout keeps weights as data: smaller than straight-line code,
    # and never smaller than the weights themselves
    assert weight_bytes <= sizes["compact"]["text"] < sizes["unrolled"]["text"], sizes
    # lean at -Os: loops like compact, but 32-bit constants instead of 64-bit ones
    assert weight_bytes <= sizes["lean"]["text"] <= sizes["compact"]["text"], sizes
    # and at -O2 its loops unroll (#pragma GCC unroll): straight-line code, larger
    fast = cross_compile_size(target, tmp_path / "lean" / "tinyad_model.c", tmp_path / "lean", tmp_path / "fast.o", opt="-O2")
    assert fast["text"] > sizes["lean"]["text"] + weight_bytes, (fast, sizes["lean"])

    data = cross_compile_size(target, gen / "tinyad_model_data.c", gen, tmp_path / "data.o")
    assert data["text"] + data["data"] >= path.stat().st_size
