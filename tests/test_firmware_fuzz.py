"""The host simulator under AddressSanitizer and UndefinedBehaviorSanitizer.

The simulator is compiled with gcc directly from the same sources PlatformIO builds
(``firmware/lib/tinyad``, ``firmware/src/host`` and the generated C), with
``-fsanitize=address,undefined -fno-sanitize-recover=all``, and fed malformed,
truncated, very long (1 MB), binary and seeded-random lines mixed with valid ones.
It must never crash or trip a sanitizer, must report each bad line on stderr with
its line and column, and must go on: every valid line after the garbage still gives
its serial line.  The generated C comes from the ``generated_dir`` fixture of
``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.firmware import FIRMWARE

pytestmark = pytest.mark.slow

SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
ERROR_LINE = re.compile(r"^<stdin>:(\d+):(\d+): error: \S.*$")
EVENTS = {"alert", "clear", "status", "fault"}


@pytest.fixture(scope="module")
def asan_program(tmp_path_factory, generated_dir) -> Path:
    gcc = shutil.which("gcc")
    assert gcc, "gcc is required (apt-get install gcc)"
    sources = sorted((FIRMWARE / "lib" / "tinyad").glob("*.c")) + sorted((FIRMWARE / "src" / "host").glob("*.c")) \
        + sorted(generated_dir.glob("*.c"))
    exe = tmp_path_factory.mktemp("asan") / "program"
    cmd = [gcc, "-std=c99", "-O1", "-g", *SAN_FLAGS, "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
           f"-I{FIRMWARE / 'lib' / 'tinyad'}", f"-I{FIRMWARE / 'src' / 'host'}", f"-I{generated_dir}",
           *map(str, sources), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def run(exe: Path, data: bytes, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    return subprocess.run([str(exe), *args], input=data, capture_output=True, env=env, timeout=300)


def check_clean(proc: subprocess.CompletedProcess) -> tuple[list[dict], list[str]]:
    """No sanitizer report, a normal exit, JSON lines out, 'line:col: error' lines err."""
    err = proc.stderr.decode("utf-8", "replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err[-3000:]
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{err[-3000:]}"
    lines = [json.loads(ln) for ln in proc.stdout.decode().splitlines()]
    for ln in lines:
        assert ln["event"] in EVENTS and isinstance(ln["t"], int)
    errors = err.splitlines()
    for e in errors:
        assert ERROR_LINE.match(e), e
    return lines, errors


def valid(i: int) -> bytes:
    return f"{1000000 + 60 * i},24.{i % 10},40.0\n".encode()


MALFORMED = [
    b"garbage",
    b"1,2",
    b"1,2,3,4",
    b",,",
    b"abc,24.0,40.0",
    b"-5,24.0,40.0",
    b"99999999999999999999,24.0,40.0",
    b"2026-13-01 00:00:00,24.0,40.0",
    b"2026-02-30 00:00:00,24.0,40.0",
    b"2026-01-05 24:00:00,24.0,40.0",
    b"2026-01-05 00:00,24.0,40.0",
    b"2026-01-05T00:00:00.,24.0,40.0",
    b"1,24.0.0,40",
    b"1,0x1p3,40",
    b"1,1e,40",
    b"1,--1,40",
    b"1,24.0,4 0",
    b"1," + b"9" * 70 + b",40",
    b"1,24\x00.0,40",
    b"\xff\xfe\x00\x01,\x80,\x90",
    b"{",
    b"{}",
    b'{"t":1,"event":"status","temp":24.0',
    b'{"t":1,"event":"status","temp":"x"}',
    b'{"t":1,"event":"boot"}',
    b'{"event":"status","temp":24.0,"hum":40.0}',
    b'{"t":-1,"event":"status","temp":24.0,"hum":40.0}',
    b'{"t":1,"event":"status","temp":nan,"hum":40.0}',
    b'{"t":1,"event":"st\\"atus"}',
    b'{"t":1,"event":"status","temp":24.0,"hum":40.0} trailing',
    b'{"t":1,"event":"status",,"temp":24.0}',
    b'{"t":1,"event":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}',
]


def test_each_malformed_line_is_reported_and_the_next_valid_line_still_counts(asan_program):
    data = b"".join(valid(i) + bad + b"\n" for i, bad in enumerate(MALFORMED)) + valid(len(MALFORMED))
    proc = run(asan_program, data, "--status-every", "1")
    lines, errors = check_clean(proc)
    assert proc.returncode == 1
    reported = [int(ERROR_LINE.match(e).group(1)) for e in errors]
    assert reported == [2 * i + 2 for i in range(len(MALFORMED))]
    status = [ln for ln in lines if ln["event"] == "status"]
    assert [ln["t"] for ln in status] == [1000000 + 60 * i for i in range(len(MALFORMED) + 1)]


def test_error_messages_name_the_column_and_what_was_expected(asan_program):
    proc = run(asan_program, b"0,24.0,40.0\n60,24.0,abc\n120,hot,40\nxyz,24.0,40.0\n")
    _, errors = check_clean(proc)
    assert errors == [
        "<stdin>:2:9: error: expected a humidity in %RH (a number, empty or nan), got 'abc'",
        "<stdin>:3:5: error: expected a temperature in deg C (a number, empty or nan), got 'hot'",
        "<stdin>:4:1: error: expected a timestamp: whole seconds (>= 0) or YYYY-MM-DD HH:MM:SS, got 'xyz'",
    ]


def test_a_one_megabyte_line_is_rejected_and_reading_goes_on(asan_program):
    data = valid(0) + b"7," + b"1" * (1 << 20) + b",40\n" + valid(1) + b"x" * (1 << 20) + valid(2)
    proc = run(asan_program, data, "--status-every", "1")
    lines, errors = check_clean(proc)
    assert len(errors) == 2 and all("longer than 4096" in e for e in errors)
    # the second long line has no line end before valid(2)'s text: they are one line
    assert [ln["t"] for ln in lines if ln["event"] == "status"] == [1000000, 1000060]


def test_truncated_input_and_crlf_line_ends(asan_program):
    proc = run(asan_program, b"0,24.0,40.0\r\n60,24.1,40.0\r\n120,24.,40", "--status-every", "1")
    lines, errors = check_clean(proc)
    assert errors == [] and [ln["temp"] for ln in lines] == [24.0, 24.1, 24.0]
    proc = run(asan_program, b"0,24.0,40.0\n60,24.1", "--status-every", "1")
    lines, errors = check_clean(proc)
    assert len(errors) == 1 and errors[0].startswith("<stdin>:2:")


def test_sensor_faults_give_fault_lines(asan_program):
    data = b"0,,40\n60,nan,40\n120,24.0,NaN\n180,-999,40\n240,24.0,6553.5\n300,95.0,40\n360,24.0,-1\n420,inf,40\n"
    proc = run(asan_program, data, "--status-every", "1")
    lines, errors = check_clean(proc)
    assert errors == []
    assert [(ln["event"], ln.get("reason")) for ln in lines] == [
        ("fault", "nan"), ("fault", "nan"), ("fault", "nan"), ("fault", "dht_error"), ("fault", "dht_error"),
        ("fault", "impossible"), ("fault", "impossible"), ("fault", "nan")]


def mutate(rng: random.Random, line: bytes) -> bytes:
    b = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            del b[min(pos, len(b) - 1)]
        elif op == 1:
            b[pos:pos] = bytes([rng.randrange(256)])
        elif op == 2:
            b[pos:pos] = rng.choice([b",", b".", b"-", b"e", b"nan", b"{", b"}", b'"', b":", b" ", b"\r", b"\x00"])
        elif op == 3 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        else:
            b = b[:pos]
    return bytes(b).replace(b"\n", b"")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_random_lines_never_crash_or_stop_the_simulator(asan_program, generated_dir, seed):
    rng = random.Random(seed)
    templates = [
        b"1767571200,24.1,40.2", b"2026-01-05 00:01:00,24.1,40.2", b"2026-01-05T00:01:00.5Z,-3.5,99.9",
        b'{"t":1767571200,"event":"status","temp":24.1,"hum":40.2,"score":-87,"model":false,'
        b'"threshold":false,"stuck":false,"alert":false}',
        b'{"t":1767571260,"event":"fault","reason":"timeout"}', b"60,,", b"60,nan,nan",
    ]
    out_lines, sentinels = [], 0
    for i in range(4000):
        r = rng.random()
        if r < 0.45:
            line = mutate(rng, rng.choice(templates))
        elif r < 0.6:
            line = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))).replace(b"\n", b"")
        elif r < 0.7:
            line = b",".join(rng.choice([b"", b"1", b"-1", b"1e308", b"-1e308", b"1e-320", b"24.05", b"4294967296",
                                         b"253402300799", b"253402300800", b"nan", b"inf"]) for _ in range(3))
        else:
            line = f"{2000000 + i},{rng.uniform(-60, 100):.{rng.randint(0, 4)}f},{rng.uniform(-10, 110):.2f}".encode()
            sentinels += 1
        out_lines.append(line)
    out_lines.append(b"3000000,24.0,40.0")
    proc = run(asan_program, b"\n".join(out_lines) + b"\n", "--status-every", "1")
    lines, errors = check_clean(proc)
    # at least every well-formed reading produced a line (status or fault)
    assert len([ln for ln in lines if ln["t"] >= 2000000]) >= sentinels + 1
    assert lines[-1]["t"] == 3000000
    assert len(errors) > 500
