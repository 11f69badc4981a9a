"""One table of device constants (tinyad.codegen.device_config.DEVICE_CONSTANTS).

The table generates ``tinyad_config.h`` and is the ``#ifndef`` list of
``firmware/lib/tinyad/tinyad_generated.h``: the two are compared here, both ways.  The
constants that must stay equal across a Python and a C file without one generating
the other (the DHT22 limits, the baud in ``platformio.ini``, the sleep modes) are
checked here as well.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinyad.codegen.device_config import DEVICE_CONSTANTS, generate_config_header
from tinyad.codegen.model import model_config_header
from tinyad.config import SLEEP_MODES, load
from tinyad.device.features import Scaler, feature_names
from tinyad.device.tflite_model import Int8Model, Quant

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "firmware" / "lib" / "tinyad"
GENERATED_H = LIB / "tinyad_generated.h"
QUANT = {"input": {"scale": 0.05, "zero_point": -3}, "output": {"scale": 1.0 / 256.0, "zero_point": -128},
         "decision": {"threshold": 0.5}}


def ifndef_names(text: str) -> set[str]:
    """``NAME`` of every ``#ifndef TINYAD_NAME`` (the include guard left out)."""
    return {m for m in re.findall(r"^\s*#ifndef\s+TINYAD_(\w+)", text, re.M) if not m.endswith("_H")}


def defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*#define\s+TINYAD_(\w+)[ \t]+(\S+)", text, re.M))


@pytest.fixture(scope="module")
def config_header(tmp_path_factory):
    cfg = load(ROOT / "params.yaml")
    names = feature_names(cfg.features)
    path = tmp_path_factory.mktemp("scaler") / "scaler.json"
    path.write_text(json.dumps({"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names)}))
    return cfg, generate_config_header(cfg, Scaler.load(path), QUANT, reference_levels=(242, 398))


def test_the_decision_comment_names_the_budget_and_its_confidence(tmp_path):
    cfg = load(ROOT / "params.yaml")
    names = feature_names(cfg.features)
    path = tmp_path / "scaler.json"
    path.write_text(json.dumps({"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names)}))
    dec = {"threshold": 0.5, "code": 0, "val": {"alerts_per_week": 3.25, "false_alarms_per_week": 0.5}}
    header = generate_config_header(cfg, Scaler.load(path), {**QUANT, "decision": dec})
    text = " ".join(line.strip(" */") for line in header.splitlines())
    assert (f"alerts.max_false_alarms_per_week = {cfg.alerts.max_false_alarms_per_week!r} at "
            f"alerts.budget_confidence = {cfg.alerts.budget_confidence!r}") in text
    assert "(validation: 3.25 alerts a week, 0.50 false alarms a week;" in text


def test_the_table_is_the_ifndef_list_of_tinyad_generated_h():
    table = {c.name for c in DEVICE_CONSTANTS}
    checked = ifndef_names(GENERATED_H.read_text())
    assert not table - checked, f"in DEVICE_CONSTANTS, not checked by tinyad_generated.h: {sorted(table - checked)}"
    assert not checked - table, f"checked by tinyad_generated.h, not in DEVICE_CONSTANTS: {sorted(checked - table)}"


def test_c_defaults_are_the_table_s():
    got = defines(GENERATED_H.read_text())
    for c in DEVICE_CONSTANTS:
        if c.when in ("always", "remedy"):
            assert c.name not in got, f"TINYAD_{c.name} has a C default but the table says it is required"
        else:
            assert got.get(c.name) == c.when, f"TINYAD_{c.name}: C default {got.get(c.name)} != table {c.when}"


def test_the_generated_headers_define_exactly_the_table(config_header):
    cfg, header = config_header
    got = defines(header)
    want = {c.name for c in DEVICE_CONSTANTS if c.header == "config"}
    assert set(got) == want, (sorted(set(got) - want), sorted(want - set(got)))
    for c in DEVICE_CONSTANTS:
        if c.flag:
            assert f"#ifndef TINYAD_{c.name} /* a -D build flag wins */" in header, c.name
    n = len(feature_names(cfg.features))
    model = Int8Model(layers=[], input=Quant(0.05, -3), output=Quant(1.0 / 256.0, -128), n_inputs=n, n_outputs=1,
                      source="test.tflite")
    model_defs = defines(model_config_header(model))
    for c in DEVICE_CONSTANTS:
        if c.header == "model_config":
            assert c.name in model_defs, c.name
    # the values are the params'
    assert got["SLEEP_MODE"] == str(SLEEP_MODES[cfg.firmware.sleep])
    assert got["BASELINE_SHIFT"] == str(cfg.drift.baseline_shift)
    assert got["BASELINE_FRAC_BITS"] == str(cfg.drift.baseline_frac_bits)
    assert (got["BASELINE_REF_TEMP10"], got["BASELINE_REF_HUM10"]) == ("242", "398")
    assert got["BAUD"] == f"{cfg.firmware.baud}UL"


def test_platformio_monitor_speed_is_firmware_baud():
    cfg = load(ROOT / "params.yaml")
    speeds = re.findall(r"^monitor_speed\s*=\s*(\d+)", (ROOT / "firmware" / "platformio.ini").read_text(), re.M)
    assert speeds and all(int(s) == cfg.firmware.baud for s in speeds), (speeds, cfg.firmware.baud)


def test_dht22_limits_agree_in_c_alerts_and_csvlog():
    from tinyad.device import alerts
    from tinyad.data import csvlog

    c = {k: int(v.strip("()")) for k, v in defines((LIB / "tinyad_sample.h").read_text()).items()
         if k in ("TEMP10_MIN", "TEMP10_MAX", "HUM10_MIN", "HUM10_MAX", "DHT_ERROR_VALUE10", "DHT_ALLONES_TEMP10",
                  "DHT_ALLONES_HUM10")}
    assert c == {"TEMP10_MIN": alerts.TEMP10_MIN, "TEMP10_MAX": alerts.TEMP10_MAX, "HUM10_MIN": alerts.HUM10_MIN,
                 "HUM10_MAX": alerts.HUM10_MAX, "DHT_ERROR_VALUE10": alerts.DHT_ERROR_VALUE10,
                 "DHT_ALLONES_TEMP10": alerts.DHT_ALLONES_TEMP10, "DHT_ALLONES_HUM10": alerts.DHT_ALLONES_HUM10}
    assert csvlog.TEMP_RANGE_C == (alerts.TEMP10_MIN / 10.0, alerts.TEMP10_MAX / 10.0)
    assert csvlog.HUM_RANGE == (alerts.HUM10_MIN / 10.0, alerts.HUM10_MAX / 10.0)
    assert csvlog.DHT_ERROR_VALUE * 10 == alerts.DHT_ERROR_VALUE10


def test_sleep_modes_are_one_table():
    from tinyad.board import power
    from tinyad.config import FirmwareConfig
    from tinyad.board.firmware_build import build_flags

    assert power.SLEEP_MODES == tuple(SLEEP_MODES)
    for name, code in SLEEP_MODES.items():
        fw = FirmwareConfig(envs=["esp32dev"], dht_pin=4, led_pin=2, buzzer_pin=25, baud=115200,
                            status_every=10, sleep=name)
        assert build_flags("esp32dev", fw) == f"-DTINYAD_SLEEP_MODE={code}"
