"""Instructions per inference, counted (never timed), on x86-64 and on rv32imc.

- ``x86_model_instructions(gen_dir, build_dir, k, opt)``: the generated
  ``<p>_model_invoke`` in a small driver (``DRIVER``: k inferences on varying inputs),
  compiled by the host gcc at ``opt`` with ``-fno-tree-vectorize`` (scalar code, as a
  microcontroller runs it), counted by ``valgrind --tool=callgrind`` inside the function
  only (``--toggle-collect``; the call and return included); per call.
- ``tflm_x86_instructions(tflite, build_dir, k)``: the TensorFlow Lite Micro
  interpreter (the ``tflite-micro`` wheel) in a Python process, counting only inside
  ``tflite::micro::MicroInterpreter::Invoke()`` over k invokes; per call.  Callgrind
  instruments nothing until the driver has made its first invoke (``--instr-atstart=no``,
  then callgrind's START_INSTRUMENTATION request from a tiny C library the driver loads
  with ctypes): importing Python and numpy under full instrumentation was 97 % of the
  codegen stage's time, and the first invoke's one-time work is left out without a
  second, empty run.  Also its arena (the recording allocator's total).
- ``rv32_model_instructions(gen_dir, build_dir, k, opt)``: the same driver built for
  rv32imc (``tinyad.board.rv32``) and run under QEMU ``-icount shift=0``, ``minstret`` read
  around every call (``firmware/targets/rv32/rv32_counters.c``); mean per call.

Tools: gcc and valgrind (x86), the rv32 tools of ``tinyad.board.rv32``; a missing one
raises ``tinyad.board.rv32.ToolMissing`` naming its Debian package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinyad.board import rv32

__all__ = ["DRIVER", "callgrind_total", "rv32_model_instructions", "rv32_step_instructions", "step_readings_csv",
           "tflm_x86_instructions", "x86_model_instructions"]

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

# argv: model.tflite k callgrind_start.so ["allocations"]; outside valgrind the start request is a no-op
TFLM_DRIVER = """\
import ctypes
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
k = int(sys.argv[2])
it = runtime.Interpreter.from_bytes(data)
n = int(it.get_input_details(0)["shape"][1])
x = np.zeros((1, n), dtype=np.int8)
it.set_input(x, 0)
it.invoke()  # the first invoke's one-time work: before callgrind instruments anything
ctypes.CDLL(sys.argv[3]).tinyad_callgrind_start()
for i in range(k):
    x[0, :] = (np.arange(n) * 11 + i * 37) % 256 - 128
    it.set_input(x, 0)
    it.invoke()
if len(sys.argv) > 4:
    it.print_allocations()
"""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise rv32.ToolMissing(f"{name} not found: install the Debian package {package} (scripts/setup.sh does)")
    return path


def _gcc(args: list[str], what: str) -> None:
    proc = subprocess.run([_tool("gcc", "gcc"), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gcc failed on {what}:\n{proc.stderr}")


# callgrind's START_INSTRUMENTATION client request, for a process run with --instr-atstart=no
CALLGRIND_START_C = """\
#include <valgrind/callgrind.h>
void tinyad_callgrind_start(void) { CALLGRIND_START_INSTRUMENTATION; }
"""


def callgrind_total(cmd: list[str], toggle: str | None = None, instr_atstart: bool = True) -> int:
    """Instructions executed (Ir) as counted by callgrind."""
    valgrind = _tool("valgrind", "valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        args = [valgrind, "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out"]
        if toggle:
            args.append(f"--toggle-collect={toggle}")
        if not instr_atstart:
            args.append("--instr-atstart=no")
        proc = subprocess.run(args + cmd, capture_output=True, text=True)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise RuntimeError(f"callgrind failed on {cmd}:\n{proc.stderr[-3000:]}")
        return int(m.group(1))


def x86_model_instructions(gen: Path, build: Path, k: int, opt: str, prefix: str = "tinyad") -> dict:
    build.mkdir(parents=True, exist_ok=True)
    drv = build / "driver.c"
    drv.write_text(DRIVER.format(p=prefix, P=prefix.upper()))
    exe = build / f"driver{opt}"
    _gcc(["-std=c99", opt, "-fno-tree-vectorize", "-I", str(gen), str(gen / f"{prefix}_model.c"), str(drv),
          "-o", str(exe)], "the x86 driver")
    n_k = callgrind_total([str(exe), str(k)])
    n_0 = callgrind_total([str(exe), "0"])
    inside = callgrind_total([str(exe), str(k)], toggle=f"{prefix}_model_invoke")
    return {"per_inference": inside / k, "with_driver": (n_k - n_0) / k, "isa": "x86-64", "opt": opt,
            "method": f"valgrind callgrind, inside {prefix}_model_invoke, {k} calls, gcc {opt} -fno-tree-vectorize"}


def _counted(r: "rv32.Rv32Run", calls: int, exe: Path) -> dict:
    """The minstret statistics of a finished QEMU run that made exactly ``calls`` calls."""
    if r.returncode != 0 or r.counts["calls"] != calls:
        raise RuntimeError(f"{exe.name} under QEMU: exit {r.returncode}, {r.counts['calls']} counted calls of {calls}")
    return {"mean": r.counts["mean"], "min": r.counts["min"], "max": r.counts["max"]}


def rv32_model_instructions(gen: Path, build: Path, k: int, opt: str) -> dict:
    """Mean minstret count of one tinyad_model_invoke on rv32imc under QEMU."""
    build.mkdir(parents=True, exist_ok=True)
    drv = build / "driver_rv32.c"
    drv.write_text(DRIVER.format(p="tinyad", P="TINYAD"))
    lib = rv32.FIRMWARE / "lib" / "tinyad"
    exe = rv32.compile_elf([drv, gen / "tinyad_model.c", rv32.TARGET_DIR / "rv32_counters.c"],
                           build / f"driver{opt}.elf", [lib, gen], opt=opt,
                           link=["-Wl,--wrap=main", "-Wl,--wrap=tinyad_model_invoke"])
    counts = _counted(rv32.run_program(exe, [str(k)]), k, exe)
    return {"per_inference": counts.pop("mean"), **counts, "isa": rv32.ISA, "opt": opt, "method": f"QEMU virt -icount shift=0, minstret around each of {k} calls of "
                                  f"tinyad_model_invoke (call and return included), riscv64-unknown-elf-gcc "
                                  f"-march=rv32imc {opt}"}


STEP_READINGS = 1440  # one day at one reading a minute: the count of a reading's whole path


def step_readings_csv(path: Path, n: int = STEP_READINGS, seed: int = 0) -> Path:
    """A deterministic day of readings (a daily swing and sensor noise, at the DHT22's
    0.1 step) for the per-reading count: what matters is that every reading takes the
    path a real one takes (validation, features, inference once the window is full,
    the alert logic), not what the room is."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(n)
    temp = 23.5 + 0.8 * np.sin(2 * np.pi * (minutes / 1440.0 - 0.375)) + rng.normal(0, 0.1, n)
    hum = 40.0 + 3.0 * np.cos(2 * np.pi * minutes / 1440.0) + rng.normal(0, 0.5, n)
    start = np.datetime64("2026-01-05T00:00:00")
    lines = ["timestamp,temperature,humidity"]
    for m, t, h in zip(minutes, temp, hum):
        ts = str(start + np.timedelta64(int(m), "m")).replace("T", " ")
        lines.append(f"{ts},{t:.1f},{h:.1f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def rv32_step_instructions(gen: Path, build: Path, opt: str, n: int = STEP_READINGS) -> dict:
    """Mean (and max) minstret count of ``tinyad_app_step``, the whole per-reading path of
    the firmware on rv32imc under QEMU, over a day of readings (``step_readings_csv``)."""
    build.mkdir(parents=True, exist_ok=True)
    csv = step_readings_csv(build / "day.csv", n)
    exe = rv32.build(gen, build / f"step{opt}.elf", count="step", opt=opt)
    counts = _counted(rv32.run_program(exe, [csv.name], cwd=build), n, exe)
    return {"per_reading": counts.pop("mean"), **counts, "isa": rv32.ISA, "opt": opt, "method": f"QEMU virt -icount shift=0, minstret around each of {n} calls of tinyad_app_step "
                                  f"(validation, features, inference, alert logic, serial line) on a day of "
                                  f"readings, the firmware built for rv32imc {opt}"}


def tflm_x86_instructions(tflite: Path, build: Path, k: int) -> dict:
    build.mkdir(parents=True, exist_ok=True)
    script = build / "tflm_driver.py"
    script.write_text(TFLM_DRIVER)
    start_c, start_so = build / "callgrind_start.c", build / "callgrind_start.so"
    start_c.write_text(CALLGRIND_START_C)
    _gcc(["-shared", "-fPIC", "-O1", str(start_c), "-o", str(start_so)],
         f"{start_c} (valgrind/callgrind.h, Debian package valgrind)")
    py = sys.executable
    toggle = "tflite::micro::MicroInterpreter::Invoke()"
    n_k = callgrind_total([py, str(script), str(tflite), str(k), str(start_so)], toggle=toggle, instr_atstart=False)
    proc = subprocess.run([py, str(script), str(tflite), "0", str(start_so), "allocations"], capture_output=True,
                          text=True)
    m = re.search(r"Arena allocation total (\d+) bytes", proc.stderr + proc.stdout)
    return {"per_inference": n_k / k, "arena_bytes": int(m.group(1)) if m else None, "isa": "x86-64",
            "method": f"valgrind callgrind inside MicroInterpreter::Invoke(), {k} invokes after the first, "
                      "tflite-micro wheel"}
