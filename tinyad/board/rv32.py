"""The firmware on the ESP32-C3's instruction set: built for rv32imc, run under QEMU.

The rv32 target is the host simulator itself (``firmware/src/host``: readings in,
serial lines out), with ``firmware/lib/tinyad`` and the generated C, compiled for
rv32imc by Debian's ``riscv64-unknown-elf-gcc`` against picolibc with semihosting
(``-specs=picolibc.specs --oslib=semihost --crt0=semihost``: files, stdout and the
command line go through QEMU), warnings as errors.  QEMU's ``virt`` machine runs it
bare-metal (``-bios none -kernel``), its RAM at 0x80000000, with ``-icount shift=0``
so that the ``minstret`` CSR counts retired instructions exactly.

``firmware/targets/rv32/rv32_counters.c`` wraps one function (linker ``--wrap``) with
two reads of ``minstret`` and prints one ``#rv32-counts`` report line after the
serial lines: ``count="model"`` wraps ``tinyad_model_invoke`` (one inference),
``count="step"`` wraps ``tinyad_app_step`` (the whole per-reading path: validation,
feature window, inference, alert logic, line formatting and its stdio write).

::

    exe = build(gen_dir, build_dir / "program.elf", defines=["-DTINYAD_LOG_MODE=1"])
    run = run_program(exe, ["--status-every", "1", "readings.csv"])
    run.serial   # bytes: the serial lines, to compare with the host simulator's stdout
    run.counts   # {"fn": "tinyad_model_invoke", "calls": n, "total": ..., "min": ..., "max": ...}

Tools (Debian packages): ``gcc-riscv64-unknown-elf``, ``picolibc-riscv64-unknown-elf``,
``qemu-system-misc`` (``scripts/setup.sh`` installs them).  A missing tool raises
:class:`ToolMissing` naming the package, never a skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["ARCH_FLAGS", "CFLAGS", "COUNTED", "ISA", "Rv32Run", "ToolMissing", "build", "compile_elf", "qemu_command",
           "require", "run_console", "run_program"]

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
TARGET_DIR = FIRMWARE / "targets" / "rv32"

ISA = "rv32imc"
CC = ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf")
QEMU = ("qemu-system-riscv32", "qemu-system-misc")
PICOLIBC = "picolibc-riscv64-unknown-elf"
ARCH_FLAGS = ["-march=rv32imc", "-mabi=ilp32"]
# the firmware's own flags (platformio.ini [env] and [env:host]), at the Arduino-ESP32 default -Os
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wstrict-prototypes",
          "-ffp-contract=off", "-Os"]
LIBC_FLAGS = ["-specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost"]
# QEMU virt: RAM from 0x80000000; the program is loaded there (flash and RAM in one region)
LINK_FLAGS = ["-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x200000",
              "-Wl,--defsym=__ram=0x80200000", "-Wl,--defsym=__ram_size=0x200000",
              "-Wl,--defsym=__stack_size=0x8000"]
COUNTED = {"model": "tinyad_model_invoke", "step": "tinyad_app_step"}
REPORT = re.compile(rb"^#rv32-counts fn=(\w+) calls=(\d+) total=(\d+) min=(\d+) max=(\d+)\n\Z", re.MULTILINE)


class ToolMissing(RuntimeError):
    """A cross tool is not installed; the message names the Debian package."""


def require(tool: tuple[str, str]) -> str:
    path = shutil.which(tool[0])
    if path is None:
        raise ToolMissing(f"{tool[0]} not found: install the Debian package {tool[1]} (scripts/setup.sh --test does)")
    return path


def _check(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def build(gen_dir: str | Path, exe: str | Path, defines: Sequence[str] = (), count: str = "model",
          opt: str = "-Os", firmware: str | Path = FIRMWARE) -> Path:
    """The host simulator, lib/tinyad and the generated C, linked for rv32imc (an ELF)."""
    if count not in COUNTED:
        raise ValueError(f"count: expected one of {list(COUNTED)}, got {count!r}")
    cc = require(CC)
    fw, gen, exe = Path(firmware), Path(gen_dir), Path(exe)
    lib, host, target = fw / "lib" / "tinyad", fw / "src" / "host", fw / "targets" / "rv32"
    probe = _check([cc, *ARCH_FLAGS, "-print-file-name=picolibc.specs"]).stdout.strip()
    if not Path(probe).is_absolute():
        raise ToolMissing(f"picolibc for riscv64-unknown-elf not found: install the Debian package {PICOLIBC}")
    sources = [*sorted(lib.glob("*.c")), *sorted(host.glob("*.c")), gen / "tinyad_features.c",
               gen / "tinyad_model.c", target / "rv32_counters.c"]
    return compile_elf(sources, exe, [lib, gen, host],
                       [*defines, *(["-DRV32_COUNT_STEP"] if count == "step" else [])], opt,
                       ["-Wl,--wrap=main", f"-Wl,--wrap={COUNTED[count]}"])


def compile_elf(sources: Sequence[str | Path], exe: str | Path, include_dirs: Sequence[str | Path],
                defines: Sequence[str] = (), opt: str = "-Os", link: Sequence[str] = ()) -> Path:
    """C sources to one bare-metal rv32imc ELF for QEMU virt (picolibc, semihosting)."""
    cc = require(CC)
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    flags = [f for f in CFLAGS if not f.startswith("-O")] + [opt]
    incs = [a for d in include_dirs for a in ("-I", str(d))]
    _check([cc, *ARCH_FLAGS, *LIBC_FLAGS, *flags, *defines, *incs, *map(str, sources), *LINK_FLAGS, *link,
            "-o", str(exe), "-lm"])
    return exe


def qemu_command(exe: str | Path, args: Sequence[str]) -> list[str]:
    """QEMU's command line: the semihosting arguments are the program's argv[1:]."""
    qemu = require(QEMU)
    # picolibc's crt0 supplies argv[0] itself: every arg= is one of argv[1:]
    semi = "enable=on,target=native" + "".join(f",arg={a.replace(',', ',,')}" for a in args)
    return [qemu, "-machine", "virt", "-cpu", "rv32", "-m", "16M", "-bios", "none", "-kernel", str(exe),
            "-nographic", "-monitor", "none", "-serial", "none", "-icount", "shift=0",
            "-semihosting-config", semi]


@dataclass
class Rv32Run:
    returncode: int
    serial: bytes  # the program's output before its report line (the serial lines)
    counts: dict
    stderr: bytes


def run_console(exe: str | Path, args: Sequence[str] = (), cwd: str | Path | None = None,
                timeout: float = 600.0) -> subprocess.CompletedProcess:
    """Run the ELF under QEMU; its semihosting console is the result's ``stderr``."""
    return subprocess.run(qemu_command(exe, args), cwd=cwd, capture_output=True, timeout=timeout)


def run_program(exe: str | Path, args: Sequence[str], cwd: str | Path | None = None,
                timeout: float = 600.0) -> Rv32Run:
    """Run the ELF under QEMU; the semihosting console (the program's stdout and stderr
    alike) is QEMU's standard error.  Input files are named in ``args`` (relative to
    ``cwd``)."""
    proc = subprocess.run(qemu_command(exe, args), cwd=cwd, capture_output=True, timeout=timeout)
    out = proc.stderr
    m = REPORT.search(out)
    if m is None:
        raise RuntimeError(f"{exe}: no #rv32-counts report at the end of the output (exit {proc.returncode}):\n"
                           f"{out[-3000:].decode(errors='replace')}")
    counts = {"fn": m.group(1).decode(), "calls": int(m.group(2)), "total": int(m.group(3)),
              "min": int(m.group(4)), "max": int(m.group(5))}
    counts["mean"] = counts["total"] / counts["calls"] if counts["calls"] else None
    return Rv32Run(proc.returncode, out[: m.start()], counts, proc.stdout)
