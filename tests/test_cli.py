"""The `tinyad` entry point, one-line errors, and quiet TensorFlow output."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tinyad.tools import quiet
from tinyad.cli import describe, missing_input_hint

ROOT = Path(__file__).resolve().parents[1]

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796157488.905596    3295 port.cc:153] oneDNN custom operations are on. You may see slightly",
    "E0000 00:00:1796157532.448621    3295 node_def_util.cc:682] NodeDef mentions attribute use_unbounded_threadpool "
    "which is not in the op definition: Op<name=MapDataset; signature=input_dataset:variant>" + "x" * 400,
    "W0000 00:00:1796157576.380982    5489 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.",
    "fully_quantize: 0, inference_type: 6, input_inference_type: INT8, output_inference_type: INT8",
    "Saved artifact at '/tmp/tmp5224sypx'. The following endpoints are available:",
    "",
    "* Endpoint 'serve'",
    "  args_0 (POSITIONAL_ONLY): TensorSpec(shape=(None, 6), dtype=tf.float32, name='features')",
    "Output Type:",
    "  TensorSpec(shape=(None, 1), dtype=tf.float32, name=None)",
    "Captures:",
    "  139928373624080: TensorSpec(shape=(), dtype=tf.resource, name=None)",
]
REAL = [
    "E0000 00:00:1796157532.448621    3295 some_kernel.cc:12] Invalid argument: shape mismatch",
    "Traceback (most recent call last):",
    "ValueError: dataset: missing column 'pseudo_label'",
    "quantize: decision code -127 (probability 0.002)",
]


def test_the_filter_drops_the_known_noise_and_keeps_real_errors():
    f = quiet.NoiseFilter()
    assert [ln for ln in NOISE if f.keep(ln)] == []
    f = quiet.NoiseFilter()
    mixed = NOISE[:3] + REAL[:1] + NOISE[5:] + REAL[1:]
    assert [ln for ln in mixed if f.keep(ln)] == REAL


def test_a_process_that_installs_it_prints_only_the_real_lines():
    code = (
        "import os, sys; from tinyad.tools.quiet import quiet_tensorflow; quiet_tensorflow()\n"
        f"lines = {NOISE + REAL!r}\n"
        "os.write(2, ('\\n'.join(lines[:7]) + '\\n').encode())\n"  # as C++ writes, past Python
        "print('\\n'.join(lines[7:]), file=sys.stderr)\n"
        "print('stdout line')\n"
        "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '1'\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", quiet.ENV_OFF)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == REAL
    assert proc.stdout == "stdout line\n"
    proc = subprocess.run([sys.executable, "-c", code.replace("assert os.environ", "pass #")], cwd=ROOT,
                          capture_output=True, text=True, env={**env, quiet.ENV_OFF: "1"})
    assert len(proc.stderr.splitlines()) == len(NOISE + REAL)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("override, expected", [
    ("model.hiddn=[8]", "error: model.hiddn: no such parameter (did you mean 'model.hidden'?)"),
    ("data.sim.sed=3", "error: data.sim.sed: no such parameter (did you mean 'data.sim.seed'?)"),
    ("data=ucii", "did you mean 'uci'?"),
    ("+model.hiddn=[8]", "(did you mean 'model.hidden'?)"),
    ("model.epochs=many", "Value 'many' of type 'str' could not be converted to Integer (full key: model.epochs)"),
])
def test_params_errors_are_one_line_with_a_hint_and_no_temporary_file(override, expected):
    before = (ROOT / "params.yaml").read_text()
    proc = subprocess.run([sys.executable, "-m", "tinyad.params", override], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert expected in proc.stderr
    assert "/tmp" not in proc.stderr and "tmp" not in proc.stderr.split(":")[1]
    assert (ROOT / "params.yaml").read_text() == before


def test_a_missing_input_names_the_stage_that_writes_it(tmp_path):
    err = FileNotFoundError(2, "No such file or directory", "models/scaler.json")
    assert describe(err) == "models/scaler.json: not found (written by the 'cluster' stage: run `dvc repro cluster` first)"
    assert missing_input_hint(FileNotFoundError("data/interim/readings.parquet")).endswith("`dvc repro ingest` first)")
    assert missing_input_hint(FileNotFoundError("elsewhere.csv")) == ""
    # a stage started before its inputs exist: one line, the stage named
    (tmp_path / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "stages.train", "--params", str(ROOT / "params.yaml"), "--dataset",
         "data/processed/dataset.parquet", "--scaler", "models/scaler.json", "--exposure",
         "data/processed/exposure.parquet", "--model", "m.keras",
         "--metrics", "m.json", "--plots", "p"],
        cwd=tmp_path, capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr == ("train: error: models/scaler.json: not found (written by the 'cluster' stage: "
                           "run `dvc repro cluster` first)\n")


# ------------------------------------------------------------------ tinyad
def test_the_console_script_points_at_the_dispatcher():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"tinyad": "tinyad.__main__:main"}
    assert "-e ." in (ROOT / "scripts/setup.sh").read_text()


def test_every_command_has_a_module_with_main_and_help():
    from tinyad.__main__ import COMMANDS

    assert {"detect", "monitor", "sweep", "power", "params"} <= set(COMMANDS)
    out = subprocess.run([sys.executable, "-m", "tinyad"], cwd=ROOT, capture_output=True, text=True).stdout
    for name in COMMANDS:
        assert f"  {name} " in out
    for name in ("detect", "power", "params", "exp"):
        proc = subprocess.run([sys.executable, "-m", "tinyad", name, "--help"], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: tinyad {name}"), proc.stdout[:200]


def test_an_unknown_command_is_one_line_with_a_hint():
    proc = subprocess.run([sys.executable, "-m", "tinyad", "detcet"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "did you mean 'detect'?" in proc.stderr


def test_python_dash_m_still_runs_each_module():
    proc = subprocess.run([sys.executable, "-m", "tinyad.board.power", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "usage:" in proc.stdout


# ------------------------------------------------------------------ PlatformIO
def test_platformio_header_recommends_the_offline_command_and_monitor_has_filters():
    import configparser

    text = (ROOT / "firmware/platformio.ini").read_text()
    header = [ln for ln in text.splitlines() if ln.startswith(";")]
    assert any("tinyad pio run -e host" in ln for ln in header)
    # every `pio` command the header recommends names the project and, for the ESP32, the registry it needs
    assert not any(ln.lstrip("; ").startswith("pio run -d firmware -e host") for ln in header)
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(text)
    filters = [f.strip() for f in ini["esp32_common"]["monitor_filters"].split(",")]
    import platformio.device.monitor.filters as pio_filters

    builtin = {p.stem for p in Path(pio_filters.__file__).parent.glob("*.py")} | {"printable", "direct", "default"}
    assert {"time", "printable", "log2file"} <= set(filters)
    assert set(filters) - builtin == {"esp32_exception_decoder"}  # the espressif32 platform's own


def test_an_offline_registry_error_gets_an_explanation():
    from tinyad.board.pio import registry_hint

    out = "Tool Manager: Installing platformio/tool-scons @ ~4.40801.0\nHTTPClientError: \n"
    hint = registry_hint(out)
    assert "api.registry.platformio.org" in hint and "tinyad pio run -e host" in hint and "tool-scons" in hint
    assert registry_hint("Building in release mode\nSUCCESS") == ""


def test_a_time_stamped_monitor_log_is_a_serial_log(tmp_path):
    from tinyad.tools.detect import read_serial_log, is_serial_log

    log = tmp_path / "platformio-device-monitor-1.log"
    log.write_text("ets Jun  8 2016 00:22:57\n"
                   '12:00:01.123 > {"t":60,"event":"status","temp":24.0,"hum":40.0,"score":1,"model":false,'
                   '"threshold":false,"stuck":false,"alert":false}\n')
    assert is_serial_log(log)
    assert read_serial_log(log)["temperature"].tolist() == [24.0]


@pytest.mark.slow
def test_the_pipelines_output_has_no_tensorflow_noise_and_shows_training_progress(pipeline):
    out = (pipeline.repro_stdout + pipeline.repro_stderr).splitlines()
    assert any(ln.startswith("Running stage 'train'") for ln in out), "no repro output kept"
    noise = [ln for ln in out if ln.startswith(("I0000", "W0000", "E0000", "WARNING: All log messages"))
             or "TensorSpec(" in ln or ln.startswith("Saved artifact at")]
    assert noise == []
    # a line every few epochs, and the early stop's line when training stops before the last epoch
    epochs = [ln for ln in out if ln.startswith(("train: epoch ", "train: stopped early after epoch "))]
    assert 3 <= len(epochs) <= 12, epochs
    assert any(ln.startswith("train: epoch ") for ln in epochs), epochs
