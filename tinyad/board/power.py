"""Energy per reading and battery life of the ESP32 + DHT22 device: an ESTIMATE.

Run from the project root (after ``dvc repro``; nothing here is measured on a board)::

    python -m tinyad.board.power [--params params.yaml] [--codegen metrics/codegen.json] \\
        [--bench metrics/bench_inference.json] [--json FILE]

It prints a table (one row per sleep mode and CPU clock; the configured sleep mode
marked) and, with ``--json``, writes the same figures as JSON.  ``estimate()`` returns
them as a dict; the caller decides where to log it.

The model (every figure carries its source in the output)
---------------------------------------------------------
One reading every ``T = data.period_s`` seconds.  The chip is active (CPU on, radio
off: the datasheet's "Modem-sleep" current at the clock ``f``) for

    t_active = t_wake + t_sensor + instructions * cpi / f + lines * line_bytes * 10 / baud

- ``t_wake``: deep sleep restarts the chip (boot ROM, bootloader, app start):
  ``power.deep_wake_s``; light sleep ``power.light_wake_s``; no sleep 0 (assumptions);
- ``t_sensor``: one DHT22 transaction, 5 ms (DHT22 datasheet); the CPU busy-waits on
  the single-wire protocol;
- ``instructions``: the int8 inference, measured (``benchmarks/bench_inference.py``:
  callgrind on x86-64, taken as a stand-in for the Xtensa LX6 count) or, without a
  benchmark, MACs (``metrics/codegen.json``) x ``power.instructions_per_mac``; plus
  ``power.other_instructions`` (features, alert logic, formatting); ``cpi`` cycles an
  instruction (assumptions);
- serial output: ``lines`` per reading (alert mode: ``1 / firmware.status_every``;
  log mode: 1), ``power.line_bytes`` bytes, 10 bits a byte at ``firmware.baud``.

The rest of the period the chip sleeps: deep sleep (RTC timer + RTC memory) or light
sleep current; with ``sleep: none`` it stays in modem-sleep (idle CPU) all along.  The
DHT22 is powered all the time: its measuring current for ``power.sensor_measure_s``
after each read, standby current otherwise.  Energy at the 3.3 V rail:

    E = V * (I_cpu * t_active + I_sleep * (T - t_active) + I_dht_meas * t_meas + I_dht_sb * (T - t_meas))

and the battery: ``P_battery = E / T / converter_efficiency + V_battery * I_q``, life
``= capacity_mAh * V_battery * usable_fraction / P_battery``.  Datasheet ranges give a
``low`` (every current at its minimum) and a ``high`` figure.

Not included: the board around the module (a devkit's USB-UART bridge, regulator and
power LED draw milliamps; this is a bare module with the stated converter), the LED
and buzzer during an alert, the radio (off), battery chemistry at low temperature.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyad.config import SLEEP_MODES as CONFIG_SLEEP_MODES, FirmwareConfig, PowerConfig

__all__ = ["DATASHEET", "Datasheet", "Range", "codegen_macs", "estimate", "format_table", "instructions_from_bench", "main"]

ESP32_SRC = ("Espressif, ESP32 Series Datasheet v3.5, Section 3.7 'RTC and Low-Power Management', "
             "Table 6 'Power Consumption by Power Modes'")
DHT22_SRC = "Aosong, AM2302/DHT22 datasheet, 'Technical Specification' (supply current)"
DHT22_COMM_SRC = "Aosong, DHT22 datasheet, 'Communication and signal' (single-bus communication takes 5 ms)"
ESP32_VDD_SRC = "Espressif, ESP32 Series Datasheet v3.5, Table 'Recommended Operating Conditions' (VDD 3.3 V typical)"


@dataclass(frozen=True)
class Range:
    """A datasheet figure: [low, high] (equal for a single value), its unit and source."""

    low: float
    high: float
    unit: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "unit": self.unit, "source": self.source, "kind": "datasheet"}


@dataclass(frozen=True)
class Datasheet:
    """The datasheet figures the estimate uses (tests pass hand-made ones)."""

    rail_v: Range
    # CPU powered on, radio off ("Modem-sleep"), dual-core chip, by clock in MHz
    cpu_ma: dict[int, Range]
    light_sleep_ma: Range
    deep_sleep_ma: Range
    dht_measuring_ma: Range
    dht_standby_ma: Range
    dht_read_s: Range
    extra: dict[str, Any] = field(default_factory=dict)


DATASHEET = Datasheet(
    rail_v=Range(3.3, 3.3, "V", ESP32_VDD_SRC),
    cpu_ma={
        80: Range(20.0, 31.0, "mA", ESP32_SRC + ", Modem-sleep, 80 MHz, dual-core"),
        160: Range(27.0, 44.0, "mA", ESP32_SRC + ", Modem-sleep, 160 MHz, dual-core"),
        240: Range(30.0, 68.0, "mA", ESP32_SRC + ", Modem-sleep, 240 MHz, dual-core"),
    },
    light_sleep_ma=Range(0.8, 0.8, "mA", ESP32_SRC + ", Light-sleep"),
    deep_sleep_ma=Range(0.010, 0.010, "mA", ESP32_SRC + ", Deep-sleep, RTC timer + RTC memory (10 uA)"),
    dht_measuring_ma=Range(1.0, 1.5, "mA", DHT22_SRC + ", measuring"),
    dht_standby_ma=Range(0.040, 0.050, "mA", DHT22_SRC + ", standby (40-50 uA)"),
    dht_read_s=Range(0.005, 0.005, "s", DHT22_COMM_SRC),
)

SLEEP_MODES = tuple(CONFIG_SLEEP_MODES)  # firmware.sleep's choices, tinyad.config.SLEEP_MODES


def instructions_from_bench(bench: dict, style: str, opt: str = "-Os") -> tuple[float, str] | None:
    """Instructions per inference from ``benchmarks/bench_inference.py --json`` output.

    Picks the build of the given layout (``codegen.style``) at ``opt`` (the ESP32
    Arduino build optimises for size, -Os), else any build of that layout; None when
    the JSON holds no such figure.
    """
    builds = [b for b in bench.get("builds", []) if isinstance(b, dict) and b.get("style") == style]
    builds.sort(key=lambda b: b.get("opt") != opt)
    for b in builds:
        n = (b.get("instructions") or {}).get("per_inference")
        if isinstance(n, (int, float)) and n > 0:
            return float(n), (f"measured: callgrind instructions inside {style} inference ({b.get('opt')}), "
                              "x86-64 host (benchmarks/bench_inference.py), a stand-in for the Xtensa LX6 count")
    return None


def _assumption(value: Any, unit: str, key: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": f"assumption, params {key}", "kind": "assumption"}


def estimate(power: PowerConfig, firmware: FirmwareConfig, period_s: float, macs: int,
             inference_instructions: float | None = None, instructions_source: str = "",
             sheet: Datasheet = DATASHEET) -> dict[str, Any]:
    """Every scenario's energy per reading and battery life (see the module docstring)."""
    if period_s <= 0:
        raise ValueError(f"period_s: expected a positive sampling period, got {period_s}")
    if inference_instructions is None:
        inference_instructions = macs * power.instructions_per_mac
        instructions_source = (f"estimate: {macs} MACs (metrics/codegen.json) x {power.instructions_per_mac} "
                               "instructions/MAC (assumption, params power.instructions_per_mac)")
    instructions = inference_instructions + power.other_instructions
    lines = 1.0 if firmware.mode == "log" else (1.0 / firmware.status_every if firmware.status_every > 0 else 0.0)
    t_uart = lines * power.line_bytes * 10.0 / firmware.baud
    t_meas = min(power.sensor_measure_s, period_s)
    v = sheet.rail_v.low

    scenarios = []
    for sleep in SLEEP_MODES:
        for mhz in power.cpu_mhz:
            cpu = sheet.cpu_ma[mhz]
            sleep_ma = {"none": cpu, "light": sheet.light_sleep_ma, "deep": sheet.deep_sleep_ma}[sleep]
            t_wake = {"none": 0.0, "light": power.light_wake_s, "deep": power.deep_wake_s}[sleep]
            t_compute = instructions * power.cpi / (mhz * 1e6)
            t_active = t_wake + sheet.dht_read_s.low + t_compute + t_uart
            if t_active > period_s:
                raise ValueError(f"scenario {sleep}/{mhz} MHz: active {t_active:.3f} s exceeds the period {period_s} s")
            row: dict[str, Any] = {
                "sleep": sleep, "cpu_mhz": mhz, "configured": sleep == firmware.sleep,
                "active_s": {"wake": t_wake, "sensor": sheet.dht_read_s.low, "compute": t_compute,
                             "serial": t_uart, "total": t_active},
            }
            for bound in ("low", "high"):
                i_cpu = getattr(cpu, bound)
                i_sleep = getattr(sleep_ma, bound)
                mj = {
                    "cpu_active": v * i_cpu * t_active,
                    "cpu_sleep": v * i_sleep * (period_s - t_active),
                    "sensor": v * (getattr(sheet.dht_measuring_ma, bound) * t_meas
                                   + getattr(sheet.dht_standby_ma, bound) * (period_s - t_meas)),
                }
                mj["total"] = sum(mj.values())
                avg_ma = mj["total"] / v / period_s
                batteries = []
                for b in power.batteries:
                    p_mw = mj["total"] / period_s / b.converter_efficiency + b.nominal_v * b.regulator_iq_ua / 1000.0
                    hours = b.capacity_mah * b.nominal_v * b.usable_fraction / p_mw
                    batteries.append({"name": b.name, "battery_mw": p_mw, "life_days": hours / 24.0})
                row[bound] = {"energy_mj": mj, "avg_current_ma": avg_ma, "batteries": batteries}
            scenarios.append(row)

    return {
        "note": ("ESTIMATE, not a measurement: datasheet currents and stated assumptions (sources below); "
                 "the radio is off; the board around the ESP32 module is not included"),
        "period_s": period_s,
        "firmware": {"mode": firmware.mode, "status_every": firmware.status_every, "baud": firmware.baud,
                     "configured_sleep": firmware.sleep},
        "inputs": {
            "rail_v": sheet.rail_v.as_dict(),
            "cpu_ma": {str(k): r.as_dict() for k, r in sheet.cpu_ma.items()},
            "light_sleep_ma": sheet.light_sleep_ma.as_dict(),
            "deep_sleep_ma": sheet.deep_sleep_ma.as_dict(),
            "dht_measuring_ma": sheet.dht_measuring_ma.as_dict(),
            "dht_standby_ma": sheet.dht_standby_ma.as_dict(),
            "dht_read_s": sheet.dht_read_s.as_dict(),
            "inference_instructions": {"value": inference_instructions, "unit": "instructions",
                                       "source": instructions_source,
                                       "kind": "measured" if instructions_source.startswith("measured") else "estimate"},
            "other_instructions": _assumption(power.other_instructions, "instructions", "power.other_instructions"),
            "cpi": _assumption(power.cpi, "cycles/instruction", "power.cpi"),
            "deep_wake_s": _assumption(power.deep_wake_s, "s", "power.deep_wake_s"),
            "light_wake_s": _assumption(power.light_wake_s, "s", "power.light_wake_s"),
            "sensor_measure_s": _assumption(power.sensor_measure_s, "s", "power.sensor_measure_s"),
            "serial_lines_per_reading": {"value": lines, "unit": "lines",
                                         "source": "firmware.mode and firmware.status_every", "kind": "config"},
            "line_bytes": _assumption(power.line_bytes, "bytes", "power.line_bytes"),
            "batteries": [{"name": b.name, "capacity_mah": b.capacity_mah, "nominal_v": b.nominal_v,
                           "converter_efficiency": b.converter_efficiency, "regulator_iq_ua": b.regulator_iq_ua,
                           "usable_fraction": b.usable_fraction, "source": "assumption, params power.batteries",
                           "kind": "assumption"} for b in power.batteries],
        },
        "scenarios": scenarios,
    }


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def format_table(result: dict[str, Any]) -> str:
    """The estimate as a markdown table, with its sources underneath."""
    names = [b["name"] for b in result["inputs"]["batteries"]]
    head = ["sleep", "CPU MHz", "active ms", "energy/reading mJ", "avg current mA"] + [f"{n}: days" for n in names]
    out = [f"ESTIMATE (not measured): one reading every {result['period_s']} s, firmware mode "
           f"{result['firmware']['mode']}; low-high from the datasheet ranges", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in result["scenarios"]:
        lo, hi = s["low"], s["high"]
        cells = [s["sleep"] + (" (configured)" if s["configured"] else ""), str(s["cpu_mhz"]),
                 f"{s['active_s']['total'] * 1e3:.1f}",
                 f"{_num(lo['energy_mj']['total'])}-{_num(hi['energy_mj']['total'])}",
                 f"{_num(lo['avg_current_ma'])}-{_num(hi['avg_current_ma'])}"]
        for bl, bh in zip(lo["batteries"], hi["batteries"]):
            cells.append(f"{_num(bh['life_days'])}-{_num(bl['life_days'])}")
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Sources (every figure is a datasheet value or a stated assumption):"]
    for key, item in result["inputs"].items():
        if key == "batteries":
            for b in item:
                out.append(f"- battery {b['name']}: {b['capacity_mah']:g} mAh at {b['nominal_v']:g} V, converter "
                           f"{b['converter_efficiency']:g}, Iq {b['regulator_iq_ua']:g} uA, usable "
                           f"{b['usable_fraction']:g} ({b['source']})")
        elif key == "cpu_ma":
            for mhz, r in item.items():
                out.append(f"- CPU active at {mhz} MHz: {r['low']:g}-{r['high']:g} {r['unit']} ({r['source']})")
        elif "low" in item:
            val = f"{item['low']:g}" if item["low"] == item["high"] else f"{item['low']:g}-{item['high']:g}"
            out.append(f"- {key}: {val} {item['unit']} ({item['source']})")
        else:
            out.append(f"- {key}: {item['value']:g} {item['unit']} ({item['source']})")
    out.append(f"- {result['note']}")
    return "\n".join(out)


def codegen_macs(path: str | Path) -> int:
    """The model's MAC count, as the codegen stage recorded it (``metrics/codegen.json`` ``macs``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run `dvc repro codegen`)")
    try:
        return int(json.loads(path.read_text())["macs"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: expected a JSON object with an integer 'macs' ({exc})") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--codegen", default="metrics/codegen.json", help="the model's MAC count (codegen stage)")
    ap.add_argument("--bench", default="metrics/bench_inference.json",
                    help="measured instructions (benchmarks/bench_inference.py --json), used when present")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    from tinyad.config import ConfigError, load

    try:
        cfg = load(args.params)
    except ConfigError as exc:
        print(f"power: error: {exc}", file=sys.stderr)
        return 2
    try:
        macs = codegen_macs(args.codegen)
    except (FileNotFoundError, ValueError) as exc:
        print(f"power: error: {exc}", file=sys.stderr)
        return 2
    measured = None
    bench = Path(args.bench)
    if bench.is_file():
        measured = instructions_from_bench(json.loads(bench.read_text()), cfg.codegen.style)
    n, src = measured if measured else (None, "")
    result = estimate(cfg.power, cfg.firmware, cfg.data.period_s, macs, n, src)
    print(format_table(result))
    if args.json:
        from tinyad.io import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
