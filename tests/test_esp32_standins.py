"""The ESP32-only files, compiled here against stand-in headers.

``firmware/src/esp32/`` and ``firmware/src/tflm/`` are the only firmware sources that
no machine of this project can build for the board (the Arduino core, ESP-IDF, the
DHT library and TFLM come from the PlatformIO registry).  They are kept thin (every
board-independent step is in ``firmware/lib/tinyad/tinyad_device.c``, which the host
and rv32 tests run), and this module:

- asserts they total at most ``MAX_LINES`` lines (all lines, ``wc -l``: comments and
  blank lines included), the figure firmware/README.md quotes;
- compiles each of them with the host g++ at ``STRICT_CXXFLAGS`` (warnings as errors)
  against ``tests/standins/`` (declarations only, the signatures of the real
  libraries), for every ``TINYAD_SLEEP_MODE`` and with ``TINYAD_USE_TFLM``; a file that
  does not compile fails the test;
- links the ``esp32dev`` files with the portable library, the generated C and
  ``tests/standins/fake_board.cpp`` (a scripted DHT, Serial to stdout) and runs
  setup() and loop(): the serial lines, the boot clock and the period come out right.

-Wuseless-cast is left out: ``static_cast<int64_t>(tv.tv_sec)`` is useless on the
host (64-bit time_t) but not on every ESP-IDF.  This proves the files are well-formed
against these declarations, not that the real headers agree with them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
STANDINS = ROOT / "tests" / "standins"
ESP32_ONLY = [FIRMWARE / "src/esp32/hal_esp32.cpp", FIRMWARE / "src/esp32/main.cpp",
              FIRMWARE / "src/tflm/model_tflm.cpp"]
MAX_LINES = 150

STRICT_CXXFLAGS = [
    "-std=gnu++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
    "-Wsign-conversion", "-Wold-style-cast", "-Wcast-qual", "-Wcast-align", "-Wformat=2", "-Wundef",
    "-Wduplicated-cond", "-Wduplicated-branches", "-Wlogical-op", "-Wnull-dereference", "-Wdouble-promotion",
    "-Wmissing-declarations", "-Wredundant-decls", "-Wzero-as-null-pointer-constant", "-Wextra-semi",
    "-Wnon-virtual-dtor", "-fno-exceptions", "-fno-rtti", "-ffp-contract=off",
]
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
          "-ffp-contract=off"]

pytestmark = pytest.mark.slow


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}"


def _includes(gen: Path) -> list[str]:
    return ["-I", str(STANDINS), "-I", str(FIRMWARE / "lib/tinyad"), "-I", str(gen)]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: apt-get install -y {'g++' if name == 'g++' else 'gcc'}"
    return path


def test_esp32_only_code_is_at_most_150_lines():
    counts = {p.relative_to(FIRMWARE).as_posix(): len(p.read_text().splitlines()) for p in ESP32_ONLY}
    assert sorted(p.name for p in (FIRMWARE / "src/esp32").iterdir()) == ["hal_esp32.cpp", "main.cpp"]
    assert sorted(p.name for p in (FIRMWARE / "src/tflm").iterdir()) == ["model_tflm.cpp"]
    assert sum(counts.values()) <= MAX_LINES, counts


@pytest.mark.parametrize("defines", [["-DTINYAD_SLEEP_MODE=0"], ["-DTINYAD_SLEEP_MODE=1"],
                                     ["-DTINYAD_SLEEP_MODE=2"], ["-DTINYAD_USE_TFLM"]])
def test_esp32_only_files_compile_against_standins_with_strict_flags(defines, generated_dir, tmp_path):
    gxx, gcc = _tool("g++"), _tool("gcc")
    sources = ESP32_ONLY if "-DTINYAD_USE_TFLM" in defines else ESP32_ONLY[:2]
    for src in sources:
        _run([gxx, *STRICT_CXXFLAGS, *defines, *_includes(generated_dir), "-c", str(src),
              "-o", str(tmp_path / f"{src.stem}.o")])
    # the portable side of the same build (the TFLM fallback is C there)
    _run([gcc, *CFLAGS, *defines, *_includes(generated_dir), "-c", str(FIRMWARE / "lib/tinyad/tinyad_device.c"),
          "-o", str(tmp_path / "tinyad_device.o")])


def test_esp32dev_files_run_on_a_fake_board(generated_dir, tmp_path):
    gxx, gcc = _tool("g++"), _tool("gcc")
    start = 1767571440  # a cold boot sets the RTC to TINYAD_CLOCK_START
    objs = []
    for src in [*ESP32_ONLY[:2], STANDINS / "fake_board.cpp"]:
        objs.append(tmp_path / f"{src.stem}.o")
        _run([gxx, *STRICT_CXXFLAGS, f"-DTINYAD_CLOCK_START={start}", *_includes(generated_dir), "-c", str(src),
              "-o", str(objs[-1])])
    for src in [*sorted((FIRMWARE / "lib/tinyad").glob("*.c")), generated_dir / "tinyad_features.c",
                generated_dir / "tinyad_model.c"]:
        objs.append(tmp_path / f"{src.stem}.c.o")
        _run([gcc, *CFLAGS[:6], "-ffp-contract=off", *_includes(generated_dir), "-c", str(src), "-o", str(objs[-1])])
    exe = tmp_path / "board"
    _run([gxx, *map(str, objs), "-o", str(exe), "-lm"])
    text = subprocess.run([str(exe), "nan,40", "-999,40", "22.5,40.1"], capture_output=True, text=True,
                          check=True).stdout
    period = int(next(line.split()[2] for line in (generated_dir / "tinyad_config.h").read_text().splitlines()
                      if line.startswith("#define TINYAD_PERIOD_S ")))
    # a NaN read, then the library's -999 error value one period later (delay() moved
    # the clock); the valid third reading prints nothing until the window is full
    assert text.splitlines() == [
        f'{{"t":{start},"event":"fault","reason":"nan"}}',
        f'{{"t":{start + period},"event":"fault","reason":"dht_error"}}',
    ], text
