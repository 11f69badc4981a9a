"""The firmware under test: the PlatformIO project copied and built, the host simulator fed
CSV rows, its serial lines compared with the Python reference (``tinyad.device.alerts``).

``run_host_firmware(binary, rows)`` feeds raw readings (CSV text, exactly what the
sensor log holds) to the host simulator and returns its serial lines;
``reference_lines`` computes the same lines with the Python reference and the constants
of the generated ``tinyad_config.h``; ``compare_with_reference`` compares them line by
line.  The model's scores for the reference come from ``scores`` (a function of the
rows): by default the firmware's own per-reading scores (status lines at
``--status-every 1``), which checks everything but the model's arithmetic (that is the
codegen tests' job); pass the Python int8 model's codes to check the whole chain.

The fixtures ``generated_dir`` (the generated C the firmware is built against) and
``host_build`` (``build_host`` once a module) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import calendar
import json
import math
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from tests.helpers.project import FIRMWARE
from tinyad.board import pio
from tinyad.device.alerts import AlertRules, RawReading, check_sample, firmware_lines

GENERATED_ENV = "TINYAD_TEST_GENERATED_DIR"  # points the generated_dir fixture at another generated dir

Row = tuple[str, str, str]  # timestamp, temperature, humidity: CSV fields as text


def copy_firmware_project(dst: Path, generated: Path | None) -> Path:
    """The repository's PlatformIO project (sources only) plus a generated dir."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {".pio", ".pio-core", "__pycache__"}
        if Path(folder).resolve() == (FIRMWARE / "lib").resolve():
            skip.add("generated")
        return skip & set(names)

    shutil.copytree(FIRMWARE, dst, ignore=ignore)
    if generated is not None:
        shutil.copytree(generated, dst / "lib" / "generated")
    return dst


def config_constants(generated: Path) -> dict[str, int]:
    """The integer ``#define TINYAD_*`` constants of the generated tinyad_config.h."""
    out = {}
    for m in re.finditer(r"^\s*#define\s+(TINYAD_\w+)\s+\(?\s*(-?\d+)\s*\)?\s*(?:/[*/].*)?$",
                         (generated / "tinyad_config.h").read_text(), re.MULTILINE):
        out[m.group(1)] = int(m.group(2))
    return out


def rules_from_generated(consts: dict[str, int]) -> AlertRules:
    return AlertRules(
        consecutive=consts["TINYAD_ALERT_CONSECUTIVE"], clear_after=consts["TINYAD_ALERT_CLEAR_AFTER"],
        decision_q=consts["TINYAD_DECISION_Q"], instant_q=consts["TINYAD_INSTANT_Q"], raise_q=consts["TINYAD_RAISE_Q"],
        temp_lo=consts["TINYAD_TEMP_ALARM_LO"], temp_hi=consts["TINYAD_TEMP_ALARM_HI"],
        hum_lo=consts["TINYAD_HUM_ALARM_LO"], hum_hi=consts["TINYAD_HUM_ALARM_HI"],
        stuck_run=consts["TINYAD_STUCK_RUN"], stuck_hum=bool(consts.get("TINYAD_USE_HUMIDITY", 1)),
    )


def run_host_firmware(binary: Path, rows: Sequence[Row], status_every: int | None = None,
                      args: Sequence[str] = (), expect_rc: int = 0) -> list[dict]:
    """Feed CSV readings to the host simulator; its serial lines as JSON objects."""
    cmd = [str(binary), *args]
    if status_every is not None:
        cmd += ["--status-every", str(status_every)]
    text = "timestamp,temperature,humidity\n" + "".join(f"{t},{a},{b}\n" for t, a, b in rows)
    proc = subprocess.run(cmd, input=text, capture_output=True, text=True, timeout=120)
    assert proc.returncode == expect_rc, f"{cmd} exited {proc.returncode}\n{proc.stderr[-3000:]}"
    return [json.loads(line) for line in proc.stdout.splitlines()]


def parse_field(text: str) -> float:
    """A CSV reading field as the simulator reads it: empty or nan is a failed read."""
    text = text.strip()
    return math.nan if text == "" or text.lower() == "nan" else float(text)


def parse_time(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return calendar.timegm(datetime.fromisoformat(text.rstrip("Z")).timetuple())


def raw_readings(rows: Sequence[Row]) -> list[RawReading]:
    return [RawReading(parse_time(t), parse_field(a), parse_field(b)) for t, a, b in rows]


def firmware_scores(binary: Path, rows: Sequence[Row], use_humidity: bool) -> list[int | None]:
    """Per row, the score the firmware computed (None for faults and while warming up)."""
    lines = run_host_firmware(binary, rows, status_every=1)
    status = iter([ln for ln in lines if ln["event"] == "status"])
    scores = []
    for r in raw_readings(rows):
        fault, _, _ = check_sample(r.temp_c, r.humidity, r.status, use_humidity)
        scores.append(None if fault else next(status)["score"])
    assert next(status, None) is None, "the firmware printed more status lines than valid readings"
    return scores


def reference_lines(rows: Sequence[Row], scores: Sequence[int | None], consts: dict[str, int],
                    status_every: int) -> list[dict]:
    return firmware_lines(raw_readings(rows), scores, rules_from_generated(consts), status_every,
                          bool(consts.get("TINYAD_USE_HUMIDITY", 1)))


def synthetic_rows(seed: int, n: int) -> list[Row]:
    """A room: a slow random walk with spikes, excursions past the alarm limits,
    drifts, a frozen sensor, and every kind of failed read; ISO and integer timestamps mixed."""
    rng = random.Random(seed)
    temp, hum = 24.0, 40.0
    t0 = calendar.timegm((2026, 1, 5, 0, 0, 0))
    rows: list[Row] = []
    event, left = "", 0
    for i in range(n):
        t = t0 + 60 * i
        stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if i % 2 else str(t)
        temp = min(26.0, max(22.0, temp + rng.gauss(0, 0.05)))
        hum = min(45.0, max(35.0, hum + rng.gauss(0, 0.2)))
        if left == 0 and rng.random() < 0.03:
            event, left = rng.choice([("spike", 1), ("hot", rng.randint(3, 20)), ("dry", rng.randint(3, 10)),
                                      ("drift", rng.randint(20, 60)), ("stuck", rng.randint(3, 40))])
            frozen = (temp, hum)
        t_val, h_val = temp, hum
        if left:
            if event == "stuck":  # the sensor repeats its last reading
                t_val, h_val = frozen
            elif event == "spike":
                t_val = temp + rng.uniform(5, 11)
            elif event == "hot":
                t_val = 28.0 + rng.uniform(0.1, 3)
            elif event == "dry":
                h_val = 30.0 - rng.uniform(0.1, 5)
            else:
                t_val = temp + 0.05 * (60 - left)
            left -= 1
        ta, ha = f"{t_val:.1f}", f"{h_val:.1f}"
        r = rng.random()
        if r < 0.02:
            ta = rng.choice(["", "nan", "NaN", "-999", "-3276.7", "95.0", "1e9"])
        elif r < 0.03:
            ha = rng.choice(["", "nan", "-999", "6553.5", "100.5", "-1"])
        rows.append((stamp, ta, ha))
    return rows


@dataclass
class HostBuild:
    project: Path
    home: Path
    proc: subprocess.CompletedProcess

    @property
    def program(self) -> Path:
        return self.project / ".pio" / "build" / "host" / "program"


def build_host(base: Path, generated: Path) -> HostBuild:
    """`pio run -e host` in a copy of the project under ``base``, offline, with an empty HOME."""
    project = copy_firmware_project(base / "firmware", generated)
    home = base / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    proc = pio.run_pio(["run", "-e", "host"], project_dir=project, env=env, offline=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return HostBuild(project, home, proc)


def compare_with_reference(binary: Path, rows: Sequence[Row], generated: Path,
                           scores: Callable[[Sequence[Row]], list[int | None]] | None = None,
                           status_every: int | None = None) -> list[dict]:
    """Host firmware vs the Python reference, line for line; returns the lines."""
    consts = config_constants(generated)
    use_humidity = bool(consts.get("TINYAD_USE_HUMIDITY", 1))
    got_scores = firmware_scores(binary, rows, use_humidity)
    want_scores = scores(rows) if scores is not None else got_scores
    every = consts["TINYAD_STATUS_EVERY"] if status_every is None else status_every
    got = run_host_firmware(binary, rows, status_every=every)
    want = reference_lines(rows, want_scores, consts, every)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"line {i}: firmware {g} != reference {w}"
    assert len(got) == len(want)
    return got
