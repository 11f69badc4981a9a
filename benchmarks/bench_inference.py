"""Benchmark the generated int8 C inference against the TensorFlow Lite Micro interpreter.

Run from the project root::

    .venv/bin/python benchmarks/bench_inference.py [--tflite models/model_int8.tflite] \\
        [--k 1000] [--k-tflm 200] [--json metrics/bench_inference.json]

If the ``.tflite`` does not exist, a model of the default shape (params.yaml: one input
a feature, ``model.hidden``, sigmoid output; tests/cbuild.py: make_mlp_tflite, seed 1,
random weights) is built in a temporary directory; pass the pipeline's model for the
real figures.  For every layout of the generated C (``lean``, ``unrolled``,
``compact``) and both optimization levels (``-Os``, ``-O2``) it prints one table row:

- flash and RAM: text / data / bss of the inference object (``tinyad_model.c``: weights,
  constants, tables and code; the flatbuffer array is not linked by this build) on each
  cross target (``-c``, the target's ``size``); "flash" = text + data;
- instructions per inference on this host, counted by ``valgrind --tool=callgrind``
  (deterministic): inside ``tinyad_model_invoke`` only (``--toggle-collect``; the call
  and return included), per call, in a driver compiled ``-fno-tree-vectorize`` at the
  row's level (scalar code); and instructions per multiply-accumulate against the
  model's MAC count.  The interpreter: a Python process run with K and with 0 invokes,
  counting only inside ``tflite::micro::MicroInterpreter::Invoke()``, (difference) / K;
  its arena is ``Arena allocation total`` of the recording allocator.  The JSON also
  holds the driver-inclusive count ((K inferences - 0) / K, which adds the driver's loop
  that fills the inputs);
- goals (PASS/FAIL): >= 6x fewer instructions than TFLM, <= 4 instructions per MAC, and
  flash < 1024 bytes on every cross target, each judged on that row's build.

The protocol of the task: instructions at -O2 on the host, size at -Os on the cross
targets.  Where the fastest and the smallest build of one layout differ (the lean
layout unrolls only when not optimizing for size), the table shows both rows.

Needs gcc, valgrind and the cross compilers (apt packages: gcc, valgrind,
gcc-xtensa-lx106, gcc-riscv64-unknown-elf, gcc-arm-none-eabi).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cbuild import CROSS_TARGETS, cross_compile_size, default_shape, make_mlp_tflite, require_tool, run_checked  # noqa: E402
from tinyad.codegen_c import STYLES, generate  # noqa: E402
from tinyad.tflite_model import read_tflite  # noqa: E402

OPTS = ("-Os", "-O2")
GOAL_SPEEDUP = 6.0
GOAL_PER_MAC = 4.0
GOAL_FLASH = 1024

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


def c_instructions(gen: Path, build: Path, k: int, opt: str, prefix: str = "tinyad") -> dict:
    drv = build / "driver.c"
    drv.write_text(DRIVER.format(p=prefix, P=prefix.upper()))
    exe = build / f"driver{opt}"
    run_checked([require_tool("gcc", "gcc"), "-std=c99", opt, "-fno-tree-vectorize", "-I", str(gen),
                 str(gen / f"{prefix}_model.c"), str(drv), "-o", str(exe)])
    n_k = callgrind_total([str(exe), str(k)])
    n_0 = callgrind_total([str(exe), "0"])
    inside = callgrind_total([str(exe), str(k)], toggle=f"{prefix}_model_invoke")
    return {"per_inference": inside / k, "with_driver": (n_k - n_0) / k}


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
                 "shape": [model.n_inputs] + [l.n_out for l in model.dense_layers],
                 "goals": {"speedup_min": GOAL_SPEEDUP, "instr_per_mac_max": GOAL_PER_MAC, "flash_max": GOAL_FLASH},
                 "builds": []}
    tf = tflm_instructions(tflite, work, k_tflm)
    tf["per_mac"] = tf["per_inference"] / model.macs
    res["tflm"] = tf
    for style in STYLES:
        gen = work / style / "gen"
        generate(tflite, gen, style=style)
        for opt in OPTS:
            build = work / style / opt
            build.mkdir(parents=True, exist_ok=True)
            sizes = {t: cross_compile_size(t, gen / "tinyad_model.c", gen, build / f"{t}.o", opt=opt) for t in CROSS_TARGETS}
            ins = c_instructions(gen, build, k, opt)
            ins["per_mac"] = ins["per_inference"] / model.macs
            speedup = tf["per_inference"] / ins["per_inference"]
            flash = max(s["text"] + s["data"] for s in sizes.values())
            res["builds"].append({
                "style": style, "opt": opt, "sizes": sizes, "instructions": ins, "speedup_vs_tflm": speedup,
                "flash_max": flash,
                "pass": {"speedup": speedup >= GOAL_SPEEDUP, "per_mac": ins["per_mac"] <= GOAL_PER_MAC,
                         "flash": flash < GOAL_FLASH},
            })
    return res


def print_table(res: dict) -> None:
    t = res["tflm"]
    print(f"model {res['tflite']}: shape {'-'.join(map(str, res['shape']))}, {res['macs']} MACs, "
          f".tflite {res['tflite_bytes']} bytes, TFLM arena {t['arena_bytes']} bytes")
    print("flash/RAM: text/data/bss bytes of the inference object (weights, constants, tables, code); "
          "instr: host x86-64, callgrind, inside invoke()")
    targets = list(CROSS_TARGETS)
    head = f"{'build':<15}" + "".join(f"{tg + ' t/d/b':>19}" for tg in targets)
    head += f"{'instr':>8}{'/MAC':>6}{'vsTFLM':>7}  {'>=6x':<5}{'<=4/MAC':<8}{'<1KB':<5}"
    print(head)
    for b in res["builds"]:
        row = f"{b['style'] + ' ' + b['opt']:<15}"
        row += "".join(f"{'%d/%d/%d' % (s['text'], s['data'], s['bss']):>19}" for s in b["sizes"].values())
        i = b["instructions"]
        ok = {k: "PASS" if v else "FAIL" for k, v in b["pass"].items()}
        row += f"{i['per_inference']:>8.0f}{i['per_mac']:>6.2f}{b['speedup_vs_tflm']:>6.1f}x  "
        row += f"{ok['speedup']:<5}{ok['per_mac']:<8}{ok['flash']:<5}"
        print(row)
    row = f"{'TFLite Micro':<15}" + "".join(f"{'-':>19}" for _ in targets)
    row += f"{t['per_inference']:>8.0f}{t['per_mac']:>6.2f}{1.0:>6.1f}x"
    print(row)
    print("(-Os: the size protocol; -O2: the instruction protocol. A layout meets all three goals in one")
    print(" build only if one row passes all three; the JSON also has driver-inclusive instruction counts)")


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
            sizes, act = default_shape()
            name = "-".join(map(str, sizes))
            print(f"{tflite} not found: building a default-shaped model ({name} {act}, seed 1, random weights)")
            tflite = make_mlp_tflite(sizes, act, 1, work / f"default_{name}.tflite")
        res = run(tflite, args.k, args.k_tflm, work)
    print_table(res)
    if args.json:
        from tinyad.io import write_json

        write_json(args.json, res)


if __name__ == "__main__":
    main()
