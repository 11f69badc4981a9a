"""The energy/battery estimate (tinyad/board/power.py): its arithmetic on hand-made figures.

The datasheet figures and the assumptions are replaced by round numbers, and every
expected value is worked out by hand in the test (not by calling the code).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyad.config import BatteryConfig, FirmwareConfig, PowerConfig
from tinyad.board.power import DATASHEET, Datasheet, Range, estimate, format_table, instructions_from_bench, main

ROOT = Path(__file__).resolve().parents[1]

SHEET = Datasheet(
    rail_v=Range(2.0, 2.0, "V", "hand"),
    cpu_ma={80: Range(10.0, 20.0, "mA", "hand"), 240: Range(30.0, 40.0, "mA", "hand")},
    light_sleep_ma=Range(1.0, 1.0, "mA", "hand"),
    deep_sleep_ma=Range(0.01, 0.01, "mA", "hand"),
    dht_measuring_ma=Range(1.0, 2.0, "mA", "hand"),
    dht_standby_ma=Range(0.1, 0.1, "mA", "hand"),
    dht_read_s=Range(0.01, 0.01, "s", "hand"),
)
BATTERY = BatteryConfig(name="b", capacity_mah=1000.0, nominal_v=4.0, converter_efficiency=0.5,
                        regulator_iq_ua=10.0, usable_fraction=0.5)
POWER = PowerConfig(cpu_mhz=[80], batteries=[BATTERY], instructions_per_mac=2.0, other_instructions=0, cpi=1.0,
                    deep_wake_s=0.1, light_wake_s=0.002, sensor_measure_s=1.0, line_bytes=100)


def firmware(mode: str = "alert", sleep: str = "deep") -> FirmwareConfig:
    return FirmwareConfig(envs=["host"], dht_pin=4, led_pin=2, buzzer_pin=25, baud=10000, status_every=10,
                          sleep=sleep, mode=mode)


def scenario(result: dict, sleep: str, mhz: int = 80) -> dict:
    (row,) = [s for s in result["scenarios"] if s["sleep"] == sleep and s["cpu_mhz"] == mhz]
    return row


def test_deep_sleep_energy_and_battery_life_by_hand():
    # 40000 MACs x 2 = 80000 instructions at 80 MHz = 1 ms; a status line every 10 readings:
    # 0.1 x 100 bytes x 10 bits / 10000 baud = 10 ms; wake 100 ms; sensor 10 ms
    res = estimate(POWER, firmware(), period_s=10, macs=40000, sheet=SHEET)
    row = scenario(res, "deep")
    assert row["configured"] and not scenario(res, "light")["configured"]
    assert row["active_s"]["compute"] == pytest.approx(0.001)
    assert row["active_s"]["serial"] == pytest.approx(0.01)
    assert row["active_s"]["total"] == pytest.approx(0.121)
    low = row["low"]
    assert low["energy_mj"]["cpu_active"] == pytest.approx(2.0 * 10.0 * 0.121)  # 2.42 mJ
    assert low["energy_mj"]["cpu_sleep"] == pytest.approx(2.0 * 0.01 * (10 - 0.121))  # 0.19758 mJ
    assert low["energy_mj"]["sensor"] == pytest.approx(2.0 * (1.0 * 1.0 + 0.1 * 9.0))  # 3.8 mJ
    assert low["energy_mj"]["total"] == pytest.approx(6.41758)
    assert low["avg_current_ma"] == pytest.approx(6.41758 / 2.0 / 10)
    # battery: 0.641758 mW at the rail / 0.5 + 4 V x 10 uA = 1.323516 mW; 1000 mAh x 4 V x 0.5 = 2000 mWh
    (bat,) = low["batteries"]
    assert bat["battery_mw"] == pytest.approx(1.323516)
    assert bat["life_days"] == pytest.approx(2000 / 1.323516 / 24)
    high = row["high"]
    assert high["energy_mj"]["total"] == pytest.approx(2.0 * 20.0 * 0.121 + 2.0 * 0.01 * 9.879 + 2.0 * (2.0 + 0.9))
    assert high["batteries"][0]["life_days"] < bat["life_days"]


def test_no_sleep_keeps_the_cpu_current_all_period_and_light_sleep_wakes_faster():
    res = estimate(POWER, firmware(), period_s=10, macs=40000, sheet=SHEET)
    assert scenario(res, "none")["low"]["energy_mj"]["total"] == pytest.approx(2.0 * 10.0 * 10 + 3.8)
    light = scenario(res, "light")
    t = 0.002 + 0.01 + 0.001 + 0.01
    assert light["active_s"]["total"] == pytest.approx(t)
    assert light["low"]["energy_mj"]["total"] == pytest.approx(2.0 * 10.0 * t + 2.0 * 1.0 * (10 - t) + 3.8)


def test_log_mode_prints_a_line_every_reading_and_costs_more():
    alert = scenario(estimate(POWER, firmware("alert"), 10, 40000, sheet=SHEET), "deep")
    log = scenario(estimate(POWER, firmware("log"), 10, 40000, sheet=SHEET), "deep")
    assert log["active_s"]["serial"] == pytest.approx(100 * 10 / 10000)  # 0.1 s
    assert log["low"]["energy_mj"]["total"] - alert["low"]["energy_mj"]["total"] == pytest.approx(2.0 * (10.0 - 0.01) * 0.09)  # 0.09 s moves from sleep to active


def test_a_measured_instruction_count_replaces_the_mac_estimate_and_is_labelled():
    res = estimate(POWER, firmware(), 10, 40000, inference_instructions=240000.0,
                   instructions_source="measured: callgrind", sheet=SHEET)
    assert scenario(res, "deep")["active_s"]["compute"] == pytest.approx(0.003)
    assert res["inputs"]["inference_instructions"]["kind"] == "measured"
    est = estimate(POWER, firmware(), 10, 40000, sheet=SHEET)["inputs"]["inference_instructions"]
    assert est["kind"] == "estimate" and "40000 MACs" in est["source"] and est["value"] == 80000


def test_instructions_from_the_benchmark_json():
    bench = {"builds": [{"style": "lean", "opt": "-O2", "instructions": {"per_inference": 900.0}},
                        {"style": "lean", "opt": "-Os", "instructions": {"per_inference": 1100.0}},
                        {"style": "compact", "opt": "-Os", "instructions": {"per_inference": 2000.0}}]}
    n, src = instructions_from_bench(bench, "lean")
    assert n == 1100.0 and "measured" in src and "-Os" in src
    assert instructions_from_bench(bench, "lean", opt="-O2")[0] == 900.0
    assert instructions_from_bench(bench, "unrolled") is None and instructions_from_bench({}, "lean") is None


def test_every_input_is_labelled_with_a_source_and_the_output_says_estimate():
    res = estimate(POWER, firmware(), 60, 232)
    for key, item in res["inputs"].items():
        items = item if isinstance(item, list) else list(item.values()) if key == "cpu_ma" else [item]
        for it in items:
            assert it["source"] and it["kind"] in ("datasheet", "assumption", "estimate", "measured", "config"), key
    assert "ESP32 Series Datasheet" in res["inputs"]["deep_sleep_ma"]["source"]
    assert "DHT22" in res["inputs"]["dht_standby_ma"]["source"]
    table = format_table(res)
    assert table.startswith("ESTIMATE") and "Table 6" in table and "assumption, params power.deep_wake_s" in table
    assert sum(line.startswith("| deep") for line in table.splitlines()) == 1  # POWER has one clock


def test_the_datasheet_covers_every_configurable_clock():
    assert set(DATASHEET.cpu_ma) == {80, 160, 240}
    assert all(r.low <= r.high for r in DATASHEET.cpu_ma.values())


def test_an_active_time_longer_than_the_period_is_refused():
    with pytest.raises(ValueError, match="exceeds the period"):
        estimate(POWER, firmware(), period_s=0.05, macs=40000, sheet=SHEET)


def test_command_line_reads_params_and_codegen_metrics(tmp_path, capsys):
    codegen = tmp_path / "codegen.json"
    codegen.write_text(json.dumps({"macs": 232}))
    out = tmp_path / "power.json"
    assert main(["--params", str(ROOT / "params.yaml"), "--codegen", str(codegen), "--bench",
                 str(tmp_path / "none.json"), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ESTIMATE" in text and "(configured)" in text
    res = json.loads(out.read_text())
    assert len(res["scenarios"]) == 3 * 3 and res["inputs"]["inference_instructions"]["value"] == 232 * 4.0
    codegen.write_text("{}")
    assert main(["--params", str(ROOT / "params.yaml"), "--codegen", str(codegen)]) == 2
    assert "expected a JSON object with an integer 'macs'" in capsys.readouterr().err
