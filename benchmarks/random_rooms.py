"""Rooms nobody chose: the default pipeline on simulated rooms whose every parameter is drawn.

    python benchmarks/random_rooms.py                 # 12 rooms (about 2 min), benchmarks/results/random_rooms.md
    python benchmarks/random_rooms.py --rooms 20 --seed 2

The presets of ``conf/data/`` (``benchmarks/rooms.py``) are eight rooms a building
engineer chose, and ``rooms.py --draws`` moves their weather and anomalies but keeps
their physics.  Here each room's physics is drawn too (``random_room``, from ranges a
building engineer would call indoor rooms): its comfort level and humidity, its daily
swing, its heating's cycle, its schedule (none, an office's weekdays, a home's mornings
and evenings) and setback, its sensor's noise, its resolution (0.1 or 0.01), whether it
reads humidity, and its period (1, 2 or 5 minutes).  Its anomalies are the mix of the
presets (``ANOMALIES``, as ``conf/data/home.yaml``), its alarm band the one its user
would set around the range the room shows (``alarm_band``, from its normal readings).  Every other parameter is the
default config: nothing here was tuned on these rooms, and no room is drawn twice for
the same ``--seed``.

The table is ``rooms.py``'s (the device's F1 by type, events caught, false alarms a
week, the verdicts against issue 11's goals, the baselines), after one table of each
room's drawn parameters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rooms as R  # noqa: E402

# the presets' anomaly mix (conf/data/home.yaml, office.yaml: about 2.4 % of the readings)
ANOMALIES = ["data.sim.anomalies.point.per_day=0.3", "data.sim.anomalies.dip.per_day=0.15",
             "data.sim.anomalies.contextual.per_day=0.25", "data.sim.anomalies.contextual.duration=[20,40]",
             "data.sim.anomalies.rise.per_day=0.15", "data.sim.anomalies.rise.duration=[40,80]",
             "data.sim.anomalies.stuck.per_day=0.15", "data.sim.anomalies.stuck.duration=[40,80]",
             "data.sim.anomalies.noise.per_day=0.1", "data.sim.anomalies.noise.duration=[40,80]",
             "data.sim.anomalies.min_gap=60"]
SCHEDULES = {  # name: (weekday hours, weekend hours)
    "none": ([[0.0, 24.0]], [[0.0, 24.0]]),
    "office": ([[7.0, 18.0]], []),
    "home": ([[6.0, 8.5], [17.0, 23.0]], [[8.0, 23.0]]),
}


def random_room(rng: np.random.Generator) -> dict[str, Any]:
    """One room's drawn parameters."""
    schedule = str(rng.choice(list(SCHEDULES)))
    humidity = bool(rng.random() < 0.8)
    return {
        "base_temp_c": round(float(rng.uniform(17.0, 26.0)), 1),
        "base_humidity": round(float(rng.uniform(25.0, 60.0)), 1),
        "day_amplitude_c": round(float(rng.uniform(0.2, 2.5)), 2),
        "peak_hour": round(float(rng.uniform(12.0, 17.0)), 1),
        "hvac_band_c": round(float(rng.uniform(0.1, 0.8)), 2),
        "hvac_period_min": [float(a) for a in (rng.choice([[10, 20], [15, 30], [20, 40]]))],
        "drift_c": round(float(rng.uniform(0.05, 0.3)), 2),
        "temp_noise_c": float(rng.choice([0.05, 0.1, 0.15])),
        "hum_noise": round(float(rng.uniform(0.1, 0.6)), 2),
        "resolution": float(rng.choice([0.1, 0.1, 0.01])),
        "humidity": humidity,
        "schedule": schedule,
        "setback_c": 0.0 if schedule == "none" else round(float(rng.uniform(1.0, 5.0)), 1),
        "occupied_vapour": 0.0 if schedule == "none" else round(float(rng.uniform(0.0, 0.15)), 2),
        "period_s": int(rng.choice([60, 60, 120, 300])),
        "seed": int(rng.integers(1000, 10**6)),
    }


def draw_rooms(seed: int, n: int) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The first ``n`` rooms of ``--seed`` ``seed``: (name, drawn parameters, Hydra overrides)."""
    rng = np.random.default_rng(seed)
    drawn = []
    for i in range(n):
        room = random_room(rng)
        drawn.append((f"r{i + 1:02d}", room, overrides(room)))
    return drawn


def alarm_band(room: dict[str, Any]) -> tuple[list[float], list[float]]:
    """The band a user would set around the room's own range, as the presets' are (home: 16.8-22.4
    deg C and 41-63 %RH alarmed at 15-28 and 25-70): 2 deg C below its coldest normal reading and
    5 above its warmest, 10 %RH below its driest and 8 above its most humid (within 0-100)."""
    from tinyad.data.simulate import simulate

    table, _ = simulate(R.compose_cfg(_overrides(room, None)).data)
    normal = (table["label"] == 0).to_numpy() & (table["fault"] == "").to_numpy()
    t = table["temperature"].to_numpy()[normal]
    temp = [float(np.floor(t.min() - 2.0)), float(np.ceil(t.max() + 5.0))]
    if not room["humidity"]:
        return temp, [0.0, 100.0]
    h = table["humidity"].to_numpy()[normal]
    return temp, [float(max(0.0, np.floor(h.min() - 10.0))), float(min(100.0, np.ceil(h.max() + 8.0)))]


def overrides(room: dict[str, Any]) -> list[str]:
    """The Hydra overrides of a drawn room: the home preset's data option (its anomaly mix and
    41 days) with every physical parameter replaced, and the alarm band of ``alarm_band``."""
    return _overrides(room, alarm_band(room))


def _overrides(room: dict[str, Any], band: tuple[list[float], list[float]] | None) -> list[str]:
    week, weekend = SCHEDULES[room["schedule"]]
    out = ["data=home", f"data.period_s={room['period_s']}", f"data.sim.seed={room['seed']}",
           f"data.sim.weekday_hours={week}".replace(" ", ""), f"data.sim.weekend_hours={weekend}".replace(" ", ""),
           f"data.sim.hvac_period_min={room['hvac_period_min']}".replace(" ", ""), *ANOMALIES]
    if band is not None:
        out += [f"thresholds.temp_alarm={band[0]}".replace(" ", ""), f"thresholds.hum_alarm={band[1]}".replace(" ", "")]
    for key in ("base_temp_c", "base_humidity", "day_amplitude_c", "peak_hour", "hvac_band_c", "drift_c",
                "temp_noise_c", "hum_noise", "resolution", "setback_c", "occupied_vapour"):
        out.append(f"data.sim.{key}={room[key]}")
    if not room["humidity"]:
        out += ["data.sim.humidity=false", "features.use_humidity=false", "data.sim.anomalies.humidity.per_day=0.0"]
    else:
        out.append("data.sim.anomalies.humidity.per_day=0.15")
    return out


def params_markdown(rooms: list[tuple[str, dict[str, Any], list[str]]]) -> str:
    lines = ["| room | period (s) | comfort deg C / %RH | daily swing | schedule, setback | heating band, cycle (min) | "
             "noise deg C / %RH | resolution | humidity | alarm band |",
             "|---|---:|---|---:|---|---|---|---:|---|---|"]
    for name, r, ov in rooms:
        band = {o.split("=")[0]: o.split("=")[1] for o in ov if o.startswith("thresholds.")}
        t, h = (band[f"thresholds.{k}_alarm"].strip("[]").split(",") for k in ("temp", "hum"))
        lines.append(f"| {name} | {r['period_s']} | {r['base_temp_c']:g} / {r['base_humidity']:g} | {r['day_amplitude_c']:g} | "
                     f"{r['schedule']}, {r['setback_c']:g} | {r['hvac_band_c']:g}, {r['hvac_period_min'][0]:g}-{r['hvac_period_min'][1]:g} | "
                     f"{r['temp_noise_c']:g} / {r['hum_noise']:g} | {r['resolution']:g} | {'yes' if r['humidity'] else 'no'} | "
                     f"{float(t[0]):g}-{float(t[1]):g} deg C" + (f", {float(h[0]):g}-{float(h[1]):g} %RH" if r["humidity"] else "") + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rooms", type=int, default=12, help="how many rooms to draw")
    ap.add_argument("--seed", type=int, default=1, help="the draw of the rooms' parameters")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "random_rooms.md"))
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="Hydra overrides for every room, after its own (the table says so), e.g. alerts.raise_margin=0")
    args = ap.parse_args(argv)
    from tinyad.tools.progress import eta_line
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()
    drawn = draw_rooms(args.seed, args.rooms)
    rows, start = [], time.perf_counter()
    for i, (name, room, ov) in enumerate(drawn, 1):
        print(f"random_rooms: {name} {room}", file=sys.stderr, flush=True)
        rows.append(R.room_row(name, R.run_room(ov, extra=args.set)))
        print(eta_line("random_rooms: room", i, len(drawn), time.perf_counter() - start), file=sys.stderr,
              flush=True)
    command = f"benchmarks/random_rooms.py --rooms {args.rooms} --seed {args.seed}" + "".join(f" --set {o}" for o in args.set)
    table = R.markdown(rows, None, args.set).replace("# Multi-room benchmark (benchmarks/rooms.py)",
                                                     f"# Drawn rooms ({command})", 1)
    head, sep, rest = table.partition("\n## The device")
    text = head + "\n## The drawn rooms\n\n" + params_markdown(drawn) + sep + rest
    R.write_table(text, Path(args.out), {"rooms": {n: {**r, "overrides": ov} for n, r, ov in drawn}, "set": args.set,
                                             "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
