"""Benchmark the generated int8 C inference against the TensorFlow Lite Micro interpreter.

Run from the project root::

    .venv/bin/python benchmarks/bench_inference.py [--tflite models/model_int8.tflite] \\
        [--k 1000] [--k-tflm 200] [--json metrics/bench_inference.json]

If the ``.tflite`` does not exist, a model of the default shape (params.yaml: one input
a feature, ``model.hidden``, sigmoid output; tests/helpers/cbuild.py: make_mlp_tflite, seed 1,
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
  model's MAC count.  The interpreter: a Python process, counting only inside
  ``tflite::micro::MicroInterpreter::Invoke()`` over K invokes after the first (callgrind
  instruments nothing before it, tinyad/board/icount.py), per call; its arena is
  ``Arena allocation total`` of the recording allocator.  The JSON also
  holds the driver-inclusive count ((K inferences - 0) / K, which adds the driver's loop
  that fills the inputs);
- instructions per inference on rv32imc (the ESP32-C3's ISA): the same driver built by
  riscv64-unknown-elf-gcc at the row's level and run under QEMU ``-icount shift=0``,
  ``minstret`` read around each call (tinyad/board/icount.py, tinyad/board/rv32.py);
- goals (PASS/FAIL): >= 6x fewer instructions than TFLM (x86-64 against x86-64), <= 4
  instructions per MAC on x86-64 and on rv32imc, and flash <= 1024 bytes on every cross
  target, each judged on that row's build.

The protocol of the task: instructions at -O2 on the host, size at -Os on the cross
targets.  Where the fastest and the smallest build of one layout differ (the lean
layout unrolls only when not optimizing for size), the table shows both rows.

``--hidden 32,16`` benchmarks a random-weights model of that hidden shape instead.

Needs gcc, valgrind, the cross compilers and QEMU (apt packages: gcc, valgrind,
gcc-xtensa-lx106, gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf,
gcc-arm-none-eabi, qemu-system-misc).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.cbuild import CROSS_TARGETS, cross_compile_size, default_shape, make_mlp_tflite  # noqa: E402
from tinyad.board import icount  # noqa: E402
from tinyad.codegen.model import STYLES, generate  # noqa: E402
from tinyad.device.tflite_model import read_tflite  # noqa: E402

OPTS = ("-Os", "-O2")
GOAL_SPEEDUP = 6.0
GOAL_PER_MAC = 4.0
GOAL_FLASH = 1024

# The per-reading path needs the feature pipeline and constants too: those of the
# project's last `dvc repro` (the model files are replaced by each build's)
PIPELINE_GENERATED = ROOT / "firmware" / "lib" / "generated"


PIPELINE_TFLITE = ROOT / "models" / "model_int8.tflite"


def step_instructions(tflite: Path, gen: Path, build: Path, opt: str) -> dict | None:
    """rv32imc instructions per reading (tinyad_app_step) with this build's model C, or
    None: the generated feature pipeline carries the project's own model's input
    quantization (its #error guards refuse any other model), so the path is counted
    for the project's model only, after `dvc repro codegen`."""
    if not (PIPELINE_GENERATED / "tinyad_features.c").is_file() or not PIPELINE_TFLITE.is_file():
        return None
    if Path(tflite).read_bytes() != PIPELINE_TFLITE.read_bytes():
        return None
    full = build / "generated"
    shutil.copytree(PIPELINE_GENERATED, full, dirs_exist_ok=True)
    for f in gen.glob("tinyad_model*"):
        shutil.copy2(f, full / f.name)
    return icount.rv32_step_instructions(full, build / "rv32-step", opt)


def c_instructions(gen: Path, build: Path, k: int, opt: str) -> dict:
    return icount.x86_model_instructions(gen, build, k, opt)


def tflm_instructions(tflite: Path, build: Path, k: int) -> dict:
    return icount.tflm_x86_instructions(tflite, build, k)


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
            rv = icount.rv32_model_instructions(gen, build / "rv32", k, opt)
            rv["per_mac"] = rv["per_inference"] / model.macs
            step = step_instructions(tflite, gen, build, opt)
            speedup = tf["per_inference"] / ins["per_inference"]
            flash = max(s["text"] + s["data"] for s in sizes.values())
            res["builds"].append({
                "style": style, "opt": opt, "sizes": sizes, "instructions": ins, "instructions_rv32imc": rv,
                "instructions_per_reading_rv32imc": step,
                "speedup_vs_tflm": speedup, "flash_max": flash,
                "pass": {"speedup": speedup >= GOAL_SPEEDUP,
                         "per_mac": max(ins["per_mac"], rv["per_mac"]) <= GOAL_PER_MAC,
                         "flash": flash <= GOAL_FLASH},
            })
    return res


def print_table(res: dict) -> None:
    t = res["tflm"]
    print(f"model {res['tflite']}: shape {'-'.join(map(str, res['shape']))}, {res['macs']} MACs, "
          f".tflite {res['tflite_bytes']} bytes, TFLM arena {t['arena_bytes']} bytes")
    print("flash/RAM: text/data/bss bytes of the inference object (weights, constants, tables, code), per cross "
          "target; instructions per inference inside invoke(): x86-64 by callgrind (host gcc, -fno-tree-vectorize), "
          "rv32imc by minstret under QEMU -icount (riscv64-unknown-elf-gcc -march=rv32imc); TFLM: x86-64 only; "
          "rv32/reading: the whole per-reading path (tinyad_app_step: validation, features, inference, alerts, "
          "serial line), mean over a day of readings, rv32imc")
    targets = list(CROSS_TARGETS)
    head = f"{'build':<15}" + "".join(f"{tg + ' t/d/b':>19}" for tg in targets)
    head += (f"{'x86 ins':>8}{'/MAC':>6}{'rv32 ins':>9}{'/MAC':>6}{'rv32/reading':>13}{'vsTFLM':>7}  "
             f"{'>=6x':<5}{'<=4/MAC':<8}{'<=1KB':<5}")
    print(head)
    for b in res["builds"]:
        row = f"{b['style'] + ' ' + b['opt']:<15}"
        row += "".join(f"{'%d/%d/%d' % (s['text'], s['data'], s['bss']):>19}" for s in b["sizes"].values())
        i, r = b["instructions"], b["instructions_rv32imc"]
        ok = {k: "PASS" if v else "FAIL" for k, v in b["pass"].items()}
        row += f"{i['per_inference']:>8.0f}{i['per_mac']:>6.2f}{r['per_inference']:>9.0f}{r['per_mac']:>6.2f}"
        step = b["instructions_per_reading_rv32imc"]
        row += f"{step['per_reading']:>13.0f}" if step else f"{'-':>13}"
        row += f"{b['speedup_vs_tflm']:>6.1f}x  {ok['speedup']:<5}{ok['per_mac']:<8}{ok['flash']:<5}"
        print(row)
    row = f"{'TFLite Micro':<15}" + "".join(f"{'-':>19}" for _ in targets)
    row += f"{t['per_inference']:>8.0f}{t['per_mac']:>6.2f}{'-':>9}{'-':>6}{'-':>13}{1.0:>6.1f}x"
    print(row)
    print("(<=4/MAC: on both ISAs; vsTFLM: x86-64 against x86-64. One build meets every goal only if its row")
    print(" passes all three; the JSON also has driver-inclusive x86 counts and rv32 min/max)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="generated C vs TFLite Micro: size and instructions")
    ap.add_argument("--tflite", default=str(ROOT / "models" / "model_int8.tflite"))
    ap.add_argument("--k", type=int, default=1000, help="inferences of the generated C under callgrind")
    ap.add_argument("--k-tflm", type=int, default=200, help="interpreter invokes under callgrind")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    ap.add_argument("--hidden", default=None,
                    help="e.g. 32,16: benchmark a random-weights model of this hidden shape instead of --tflite")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        work = Path(tmp)
        tflite = Path(args.tflite)
        if args.hidden:
            sizes, act = default_shape()
            sizes = [sizes[0], *(int(h) for h in args.hidden.split(",")), sizes[-1]]
            name = "-".join(map(str, sizes))
            print(f"--hidden {args.hidden}: a {name} {act} model (seed 1, random weights)")
            tflite = make_mlp_tflite(sizes, act, 1, work / f"hidden_{name}.tflite")
        elif not tflite.is_file():
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
