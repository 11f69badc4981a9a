"""The firmware: offline PlatformIO build, the `firmware` stage, firmware in the loop.

Everything here builds the PlatformIO project against a directory of generated C
(``firmware/lib/generated``, written by ``codegen``).  The ``generated_dir`` fixture
(tests/conftest.py) takes the one the session's ``pipeline`` (a real ``dvc repro`` in a
copy of the work tree) produced; ``TINYAD_TEST_GENERATED_DIR=<dir>`` points it at
another one (e.g. while developing the firmware against hand-made stand-ins).

Firmware in the loop: the host simulator, fed raw readings (CSV text, exactly what the
sensor log holds), must print the serial lines of the Python reference
(``tinyad.device.alerts``) with the constants of the generated ``tinyad_config.h``, line by
line (``tests/helpers/firmware.py``: ``run_host_firmware``, ``reference_lines``,
``compare_with_reference``).  The model's scores for the reference are by default the
firmware's own per-reading scores (status lines at ``--status-every 1``), which checks
everything but the model's arithmetic (that is the codegen tests' job).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.firmware import (FIRMWARE, Row, compare_with_reference, config_constants, copy_firmware_project,
                                    firmware_scores, parse_field, raw_readings, run_host_firmware, synthetic_rows)
from tests.helpers.project import ROOT
from tinyad.board import pio
from tinyad.device.alerts import check_sample

pytestmark = pytest.mark.slow


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
    from tinyad.stage import stage_main
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
    rc = stage_main("firmware")(["--params", str(params), "--project", str(host_build.project),
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
    from tinyad.stage import stage_main
    from tinyad.board import firmware_build

    monkeypatch.setattr(firmware_build, "registry_reachable", lambda timeout=3.0: False)
    params = write_params(tmp_path / "params.yaml", ["host", "esp32dev"])
    metrics = tmp_path / "metrics.json"
    rc = stage_main("firmware")(["--params", str(params), "--project", str(host_build.project),
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
def test_firmware_in_the_loop_matches_the_python_reference(host_build, generated_dir):
    rows = synthetic_rows(seed=7, n=1500)
    consts = config_constants(generated_dir)
    for every in (None, 1, 0):
        lines = compare_with_reference(host_build.program, rows, generated_dir, status_every=every)
    lines = compare_with_reference(host_build.program, rows, generated_dir)
    kinds = [ln["event"] for ln in lines]
    assert kinds.count("alert") >= 3 and kinds.count("clear") >= 2
    assert any(ln["event"] == "alert" and ln["threshold"] for ln in lines)
    assert consts["TINYAD_STUCK_RUN"] > 0 and any(ln["event"] == "alert" and ln["stuck"] for ln in lines)
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
