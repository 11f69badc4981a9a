"""Benchmark the generated int8 C inference against the TensorFlow Lite Micro interpreter.

Run from the project root::

    .venv/bin/python benchmarks/bench_inference.py [--tflite models/model_int8.tflite] \\
        [--k 1000] [--k-tflm 200] [--json metrics/bench_inference.json]

If the ``.tflite`` does not exist, a default-shaped model (7 inputs, hidden [16, 8],
relu, sigmoid output; tests/cbuild.py: make_mlp_tflite, seed 1) is built in a temporary
directory.  For both layouts of the generated C (``unrolled``, ``compact``) it prints:

- flash and RAM: text / data / bss of the inference object on each cross target
  (``-c -Os``, the target's ``size``), plus the ``.tflite`` size and the TFLite Micro
  arena bytes (``Arena allocation total`` of the interpreter's recording allocator);
- instructions per inference on this host, counted by ``valgrind --tool=callgrind``
  (deterministic): the generated C in a driver compiled ``-O2 -fno-tree-vectorize``,
  run with K and with 0 inferences, (difference) / K; the interpreter in a Python
  process run with K and 0 invokes, counting only inside
  ``tflite::micro::MicroInterpreter::Invoke()`` (``--toggle-collect``, so Python's own
  work is excluded), (difference) / K.  Also instructions per multiply-accumulate
  against the model's MAC count.

Needs gcc, valgrind and the cross compilers (apt packages: gcc, valgrind,
gcc-xtensa-lx106, gcc-riscv64-unknown-elf, gcc-arm-none-eabi).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cbuild import CROSS_TARGETS, cross_compile_size, make_mlp_tflite, require_tool, run_checked  # noqa: E402
from tinyad.codegen_c import STYLES, generate  # noqa: E402
from tinyad.tflite_model import read_tflite  # noqa: E402

DRIVER = """\
#include <stdint.h>
#include <stdlib.h>
#include "{p}_model.h"
volatile int8_t sink;
int main(int argc, char **argv)
{{
    long k = argc > 1 ? atol(argv[1]) : 0, i;
    int8_t in[{P}_N_INPUTS], out[{P}_N_OUTPUTS];
    int j;
    for (i = 0; i < k; ++i) {{
        for (j = 0; j < {P}_N_INPUTS; ++j) in[j] = (int8_t)(i * 37 + j * 11);
        {p}_model_invoke(in, out);
        sink = out[0];
    }}
    return 0;
}}
"""

TFLM_DRIVER = """\
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
k = int(sys.argv[2])
it = runtime.Interpreter.from_bytes(data)
n = int(it.get_input_details(0)["shape"][1])
x = np.zeros((1, n), dtype=np.int8)
it.set_input(x, 0)
it.invoke()  # first invoke in both runs: one-time work cancels out
for i in range(k):
    x[0, :] = (np.arange(n) * 11 + i * 37) % 256 - 128
    it.set_input(x, 0)
    it.invoke()
if len(sys.argv) > 3:
    it.print_allocations()
"""


def callgrind_total(cmd: list[str], toggle: str | None = None) -> int:
    """Instructions executed (Ir) as counted by callgrind."""
    valgrind = require_tool("valgrind", "valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        args = [valgrind, "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out"]
        if toggle:
            args.append(f"--toggle-collect={toggle}")
        proc = subprocess.run(args + cmd, capture_output=True, text=True)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise RuntimeError(f"callgrind failed on {cmd}:\n{proc.stderr[-3000:]}")
        return int(m.group(1))


def c_instructions(gen: Path, build: Path, k: int, prefix: str = "tinyad") -> dict:
    drv = build / "driver.c"
    drv.write_text(DRIVER.format(p=prefix, P=prefix.upper()))
    exe = build / "driver"
    run_checked([require_tool("gcc", "gcc"), "-std=c99", "-O2", "-fno-tree-vectorize", "-I", str(gen),
                 str(gen / f"{prefix}_model.c"), str(drv), "-o", str(exe)])
    n_k = callgrind_total([str(exe), str(k)])
    n_0 = callgrind_total([str(exe), "0"])
    inside = callgrind_total([str(exe), str(k)], toggle=f"{prefix}_model_invoke")
    return {"per_inference": (n_k - n_0) / k, "inside_invoke": inside / k}


def tflm_instructions(tflite: Path, build: Path, k: int) -> dict:
    script = build / "tflm_driver.py"
    script.write_text(TFLM_DRIVER)
    py = sys.executable
    toggle = "tflite::micro::MicroInterpreter::Invoke()"
    n_k = callgrind_total([py, str(script), str(tflite), str(k)], toggle=toggle)
    n_0 = callgrind_total([py, str(script), str(tflite), "0"], toggle=toggle)
    proc = subprocess.run([py, str(script), str(tflite), "0", "allocations"], capture_output=True, text=True)
    m = re.search(r"Arena allocation total (\d+) bytes", proc.stderr + proc.stdout)
    return {"per_inference": (n_k - n_0) / k, "arena_bytes": int(m.group(1)) if m else None}


def run(tflite: Path, k: int, k_tflm: int, work: Path) -> dict:
    model = read_tflite(tflite)
    res: dict = {"tflite": str(tflite), "tflite_bytes": tflite.stat().st_size, "macs": model.macs,
                 "shape": [model.n_inputs] + [l.n_out for l in model.dense_layers], "generated": {}}
    for style in STYLES:
        gen = work / style / "gen"
        build = work / style / "build"
        build.mkdir(parents=True, exist_ok=True)
        generate(tflite, gen, style=style)
        sizes = {t: cross_compile_size(t, gen / "tinyad_model.c", gen, build / f"{t}.o") for t in CROSS_TARGETS}
        ins = c_instructions(gen, build, k)
        ins["per_mac"] = ins["per_inference"] / model.macs
        res["generated"][style] = {"sizes": sizes, "instructions": ins}
    tf = tflm_instructions(tflite, work, k_tflm)
    tf["per_mac"] = tf["per_inference"] / model.macs
    res["tflm"] = tf
    for style in STYLES:
        res["generated"][style]["speedup_vs_tflm"] = tf["per_inference"] / res["generated"][style]["instructions"]["per_inference"]
    return res


def print_table(res: dict) -> None:
    print(f"model {res['tflite']}: shape {'-'.join(map(str, res['shape']))}, {res['macs']} MACs, "
          f".tflite {res['tflite_bytes']} bytes, TFLM arena {res['tflm']['arena_bytes']} bytes")
    print()
    print(f"{'inference':<22}{'target':<14}{'text':>8}{'data':>8}{'bss':>8}")
    for style, r in res["generated"].items():
        for t, s in r["sizes"].items():
            print(f"{'generated C ' + style:<22}{t:<14}{s['text']:>8}{s['data']:>8}{s['bss']:>8}")
    print()
    print(f"{'host x86-64 (callgrind)':<28}{'instr/inference':>16}{'instr/MAC':>11}{'vs TFLM':>9}{'in invoke()':>13}")
    for style, r in res["generated"].items():
        i = r["instructions"]
        print(f"{'generated C ' + style:<28}{i['per_inference']:>16.0f}{i['per_mac']:>11.2f}"
              f"{r['speedup_vs_tflm']:>8.1f}x{i['inside_invoke']:>13.0f}")
    t = res["tflm"]
    print(f"{'TFLite Micro interpreter':<28}{t['per_inference']:>16.0f}{t['per_mac']:>11.2f}{1.0:>8.1f}x{t['per_inference']:>13.0f}")
    print("(instr/inference of the generated C: driver with K minus 0 inferences, so it includes the")
    print(" driver's loop that fills the inputs; 'in invoke()': inside the function only)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="generated C vs TFLite Micro: size and instructions")
    ap.add_argument("--tflite", default=str(ROOT / "models" / "model_int8.tflite"))
    ap.add_argument("--k", type=int, default=1000, help="inferences of the generated C under callgrind")
    ap.add_argument("--k-tflm", type=int, default=200, help="interpreter invokes under callgrind")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        work = Path(tmp)
        tflite = Path(args.tflite)
        if not tflite.is_file():
            print(f"{tflite} not found: building the default-shaped model (7-16-8-1 relu, seed 1)")
            tflite = make_mlp_tflite([7, 16, 8, 1], "relu", 1, work / "default_7-16-8-1.tflite")
        res = run(tflite, args.k, args.k_tflm, work)
    print_table(res)
    if args.json:
        from tinyad.io import write_json

        write_json(args.json, res)


if __name__ == "__main__":
    main()
