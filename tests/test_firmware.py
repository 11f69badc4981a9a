"""The firmware: offline PlatformIO build, the `firmware` stage, firmware in the loop.

Everything here builds the PlatformIO project against a directory of generated C
(``firmware/lib/generated``, written by ``codegen``).  The ``generated_dir`` fixture
takes the one the session's ``pipeline`` (a real ``dvc repro`` in a copy of the work
tree) produced; ``TINYAD_TEST_GENERATED_DIR=<dir>`` points it at another one (e.g.
while developing the firmware against hand-made stand-ins).

Firmware in the loop: ``run_host_firmware(binary, rows)`` feeds raw readings (CSV
text, exactly what the sensor log holds) to the host simulator and returns its serial
lines; ``reference_lines`` computes the same lines with the Python reference
(``tinyad.device.alerts``) and the constants of the generated ``tinyad_config.h``; the test
compares them line by line.  The model's scores for the reference come from
``scores`` (a function of the rows): by default the firmware's own per-reading
scores (status lines at ``--status-every 1``), which checks everything but the
model's arithmetic (that is the codegen tests' job); pass the Python int8 model's
codes to check the whole chain.
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

import pytest

from tinyad.board import pio
from tinyad.device.alerts import AlertRules, RawReading, check_sample, firmware_lines

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
GENERATED_ENV = "TINYAD_TEST_GENERATED_DIR"

pytestmark = pytest.mark.slow

Row = tuple[str, str, str]  # timestamp, temperature, humidity: CSV fields as text


# ------------------------------------------------------------------- helpers
@pytest.fixture(scope="session")
def generated_dir(request) -> Path:
    """The generated C the firmware is built against (see the module docstring)."""
    override = os.environ.get(GENERATED_ENV)
    if override:
        path = Path(override).resolve()
    else:
        path = request.getfixturevalue("pipeline").path("firmware/lib/generated")
    assert (path / "tinyad_config.h").is_file(), f"{path}: no tinyad_config.h (run `dvc repro codegen`)"
    return path


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
        decision_q=consts["TINYAD_DECISION_Q"],
        temp_lo=consts["TINYAD_TEMP_ALARM_LO"], temp_hi=consts["TINYAD_TEMP_ALARM_HI"],
        hum_lo=consts["TINYAD_HUM_ALARM_LO"], hum_hi=consts["TINYAD_HUM_ALARM_HI"],
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
    drifts, and every kind of failed read; ISO and integer timestamps mixed."""
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
                                      ("drift", rng.randint(20, 60))])
        t_val, h_val = temp, hum
        if left:
            if event == "spike":
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


@pytest.fixture(scope="module")
def host_build(tmp_path_factory, generated_dir) -> HostBuild:
    """`pio run -e host` in a copy of the project, offline, with an empty HOME."""
    base = tmp_path_factory.mktemp("fw")
    project = copy_firmware_project(base / "firmware", generated_dir)
    home = base / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    proc = pio.run_pio(["run", "-e", "host"], project_dir=project, env=env, offline=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return HostBuild(project, home, proc)


# ----------------------------------------------------------- offline build
def test_pio_builds_host_offline_with_the_project_local_core(host_build):
    out = host_build.proc.stdout + host_build.proc.stderr
    assert "[SUCCESS]" in out
    # the only "install" is PlatformIO copying the in-repository platform
    foreign = [ln for ln in pio.install_attempts(out) if "file://platforms/hostsim" not in ln
               and "hostsim@" not in ln]
    assert foreign == [], foreign
    assert host_build.program.is_file() and os.access(host_build.program, os.X_OK)
    # tool-scons was made from PyPI's scons, inside the project, in the required range
    core = pio.core_dir(host_build.project)
    meta = json.loads((core / "packages" / "tool-scons" / ".piopm").read_text())
    assert meta["spec"]["owner"] == "platformio" and meta["name"] == "tool-scons"
    import semantic_version
    from platformio.dependencies import get_core_dependencies

    assert semantic_version.SimpleSpec(get_core_dependencies()["tool-scons"]).match(
        semantic_version.Version(meta["version"]))
    assert (core / "platforms" / "hostsim" / "platform.json").is_file()
    # nothing was written outside the project (no ~/.platformio)
    assert list(host_build.home.iterdir()) == []


def test_second_build_is_up_to_date_and_provisioning_is_idempotent(host_build):
    info = pio.provision(host_build.project)
    assert not info.created
    before = host_build.program.stat().st_mtime_ns
    proc = pio.run_pio(["run", "-e", "host"], project_dir=host_build.project, offline=True,
                       env=dict(os.environ, HOME=str(host_build.home)))
    assert "Compiling" not in proc.stdout and "[SUCCESS]" in proc.stdout
    assert host_build.program.stat().st_mtime_ns == before


def test_edited_platform_is_picked_up(tmp_path, generated_dir):
    project = copy_firmware_project(tmp_path / "firmware", generated_dir)
    env = dict(os.environ, HOME=str(tmp_path))
    pio.run_pio(["run", "-e", "host"], project_dir=project, env=env, offline=True)
    builder = project / "platforms" / "hostsim" / "builder" / "main.py"
    builder.write_text(builder.read_text().replace('PROGNAME="program"', 'PROGNAME="program2"'))
    pio.run_pio(["run", "-e", "host"], project_dir=project, env=env, offline=True)
    assert (project / ".pio" / "build" / "host" / "program2").is_file()


def test_missing_generated_files_stop_the_build_with_the_remedy(tmp_path):
    project = copy_firmware_project(tmp_path / "firmware", None)
    proc = pio.run_pio(["run", "-e", "host"], project_dir=project, offline=True, check=False,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode != 0
    assert "run `dvc repro codegen` first" in proc.stdout + proc.stderr


# --------------------------------------------------------------- the stage
def write_params(path: Path, envs: list[str], sleep: str = "none") -> Path:
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["firmware"]["envs"] = envs
    raw["firmware"]["sleep"] = sleep
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_stage_copies_the_program_and_reports_its_size(host_build, pipeline, tmp_path, monkeypatch):
    from stages import firmware as stage
    from tinyad.board.firmware_build import elf_sections_size

    # the stage ends by logging the pipeline run to MLflow: keep that in tmp_path
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = write_params(tmp_path / "params.yaml", ["host"])
    out, metrics = tmp_path / "build" / "firmware", tmp_path / "metrics" / "firmware.json"
    # the headline it writes reads the upstream stages' metrics: the pipeline's own
    metrics.parent.mkdir(parents=True)
    for upstream in pipeline.path("metrics").glob("*.json"):
        if upstream.name not in ("firmware.json", "headline.json"):
            shutil.copy(upstream, metrics.parent / upstream.name)
    rc = stage.main(["--params", str(params), "--project", str(host_build.project),
                     "--out", str(out), "--metrics", str(metrics)])
    assert rc == 0
    report = json.loads(metrics.read_text())["envs"]["host"]
    program = out / "host" / "program"
    assert program.read_bytes() == host_build.program.read_bytes()
    berkeley = subprocess.run(["size", str(program)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in berkeley.splitlines()[1].split()[:3])
    assert (report["text"], report["data"], report["bss"]) == (text, data, bss)
    head = json.loads((tmp_path / "metrics" / "headline.json").read_text())
    assert head["fw_flash"] == report["text"] + report["data"]
    assert report["flash_bytes"] == text + data and report["ram_bytes"] == data + bss
    assert json.loads((out / "host" / "size.json").read_text())["text"] == text
    # the ELF-header method used for the ESP32 agrees with GNU size on the host ELF
    assert elf_sections_size(program) == {"text": text, "data": data, "bss": bss}


def test_stage_refuses_esp32_offline_and_says_how_to_build_it(host_build, tmp_path, monkeypatch, capsys):
    from stages import firmware as stage
    from tinyad.board import firmware_build

    monkeypatch.setattr(firmware_build, "registry_reachable", lambda timeout=3.0: False)
    params = write_params(tmp_path / "params.yaml", ["host", "esp32dev"])
    metrics = tmp_path / "metrics.json"
    rc = stage.main(["--params", str(params), "--project", str(host_build.project),
                     "--out", str(tmp_path / "out"), "--metrics", str(metrics)])
    err = capsys.readouterr().err
    assert rc == 1 and not metrics.exists() and not (tmp_path / "out").exists()
    for needle in ("esp32dev", "espressif32", "registry", "unreachable", "pio run -d firmware -e esp32dev"):
        assert needle in err, err


def test_sleep_param_becomes_the_esp32_build_flag():
    from tinyad.board.firmware_build import build_flags
    from tinyad.config import FirmwareConfig

    cfg = FirmwareConfig(envs=["esp32dev"], dht_pin=4, led_pin=2, buzzer_pin=25, baud=115200,
                         status_every=10, sleep="deep")
    assert build_flags("esp32dev", cfg) == "-DTINYAD_SLEEP_MODE=2"
    assert build_flags("host", cfg) == ""


# ------------------------------------------------------ firmware in the loop
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


def test_firmware_in_the_loop_matches_the_python_reference(host_build, generated_dir):
    rows = synthetic_rows(seed=7, n=1500)
    consts = config_constants(generated_dir)
    for every in (None, 1, 0):
        lines = compare_with_reference(host_build.program, rows, generated_dir, status_every=every)
    lines = compare_with_reference(host_build.program, rows, generated_dir)
    kinds = [ln["event"] for ln in lines]
    assert kinds.count("alert") >= 3 and kinds.count("clear") >= 2
    assert any(ln["event"] == "alert" and ln["threshold"] for ln in lines)
    assert {ln["reason"] for ln in lines if ln["event"] == "fault"} >= {"nan", "dht_error", "impossible"}
    # the window fills with valid readings only: the first W-1 valid readings have no score
    scores = firmware_scores(host_build.program, rows, bool(consts.get("TINYAD_USE_HUMIDITY", 1)))
    valid_scores = [s for s, r in zip(scores, raw_readings(rows))
                    if not check_sample(r.temp_c, r.humidity)[0]]
    w = consts["TINYAD_WINDOW"]
    assert all(s is None for s in valid_scores[: w - 1]) and all(s is not None for s in valid_scores[w - 1:])


def test_faults_never_enter_the_window(host_build, generated_dir):
    """Interleaving failed reads changes nothing but the fault lines themselves."""
    w = config_constants(generated_dir)["TINYAD_WINDOW"]
    clean = [r for r in synthetic_rows(seed=5, n=6 * w) if not check_sample(*map(parse_field, r[1:]))[0]]
    mixed: list[Row] = []
    for i, (t, a, b) in enumerate(clean):
        mixed.append((t, a, b))
        mixed.append((t, ["nan", "-999", "", "95.0"][i % 4], b))
    lines = run_host_firmware(host_build.program, mixed, status_every=1)
    faults = [ln for ln in lines if ln["event"] == "fault"]
    assert len(faults) == len(clean)
    assert {ln["reason"] for ln in faults} == {"nan", "dht_error", "impossible"}
    assert [ln for ln in lines if ln["event"] != "fault"] == run_host_firmware(host_build.program, clean,
                                                                                  status_every=1)
    status = [ln for ln in lines if ln["event"] == "status"]
    assert [ln["score"] is None for ln in status] == [True] * (w - 1) + [False] * (len(clean) - w + 1)


def test_led_and_buzzer_follow_the_alert(host_build, generated_dir):
    consts = config_constants(generated_dir)
    n_on, w = consts["TINYAD_ALERT_CONSECUTIVE"], consts["TINYAD_WINDOW"]
    temps = ["24.0"] * 5 + ["35.0"] * n_on + ["24.0"] * (3 * w + consts["TINYAD_ALERT_CLEAR_AFTER"])
    temps += ["35.0"] * n_on
    proc = subprocess.run([str(host_build.program), "--trace", "--status-every", "0"],
                          input="".join(f"{60 * i},{t},40.0\n" for i, t in enumerate(temps)),
                          capture_output=True, text=True)
    assert proc.returncode == 0
    events = [json.loads(ln)["event"] for ln in proc.stdout.splitlines()]
    assert events[0] == "alert" and events[-1] == "alert"  # the threshold rule fired at once, twice
    expected = []
    for ev in events:
        expected += ["led on", "buzzer on"] if ev == "alert" else ["led off", "buzzer off"]
    assert proc.stderr.splitlines() == expected


def test_a_recorded_serial_log_replays_to_itself(host_build):
    rows = synthetic_rows(seed=11, n=400)
    first = subprocess.run([str(host_build.program), "--status-every", "1"],
                           input="".join(f"{a},{b},{c}\n" for a, b, c in rows), capture_output=True, text=True)
    assert first.returncode == 0
    again = subprocess.run([str(host_build.program), "--status-every", "1"], input=first.stdout,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


def test_simulator_usage_errors(host_build, tmp_path):
    prog = str(host_build.program)
    for args in (["--status-every"], ["--status-every", "-1"], ["--status-every", "x"], ["--bogus"], ["a", "b"]):
        proc = subprocess.run([prog, *args], input="", capture_output=True, text=True)
        assert proc.returncode == 2 and "usage:" in proc.stderr, args
    proc = subprocess.run([prog, str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert proc.returncode == 3 and "missing.csv" in proc.stderr
    log = tmp_path / "log.csv"
    log.write_text("0,24.0,40.0\n")
    proc = subprocess.run([prog, "--status-every", "1", str(log)], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["temp"] == 24.0



# ------------------------------------------------------ microcontroller ISAs
CROSS = {
    "xtensa": ["xtensa-lx106-elf-gcc", "-mlongcalls"],
    "riscv32": ["riscv64-unknown-elf-gcc", "-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"],
    "arm": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb"],
}


@pytest.mark.parametrize("isa", sorted(CROSS))
def test_portable_core_compiles_for_microcontrollers_with_warnings_as_errors(isa, generated_dir, tmp_path):
    cc, *flags = CROSS[isa]
    assert shutil.which(cc), f"{cc} missing: run scripts/setup.sh --test (Debian cross compilers)"
    sources = sorted((FIRMWARE / "lib" / "tinyad").glob("*.c")) + sorted(generated_dir.glob("*.c"))
    for src in sources:
        proc = subprocess.run(
            [cc, *flags, "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-ffp-contract=off",
             f"-I{FIRMWARE / 'lib' / 'tinyad'}", f"-I{generated_dir}", "-c", str(src),
             "-o", str(tmp_path / (src.stem + ".o"))],
            capture_output=True, text=True)
        assert proc.returncode == 0, f"{isa}: {src.name}\n{proc.stderr}"
