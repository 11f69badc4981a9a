"""Why one benchmark room misses an event or raises a false alarm: its test split, event by event.

    python benchmarks/explain_room.py --preset home          # a room of benchmarks/rooms.py
    python benchmarks/explain_room.py --drawn 3:2            # r02 of random_rooms.py --seed 3
    python benchmarks/explain_room.py --drawn 3:2 --set alerts.raise_margin=0

The default pipeline runs on the room as the benchmark runs it (about 10-20 s), then two
tables are printed:

* every injected event that starts in the test split: its kind, when, how many readings,
  how many of them the pseudo-labels call anomalous (on the train split, the labels the
  model learnt from; elsewhere what the labelling would have said), the model's highest
  int8 output code in it, its readings at the decision and the raise code, the longest run at
  the raise code (the debounce needs that many), whether the alarm band or the stuck rule
  fired, and whether the device alerted;
* every false alarm of the test split (an alert raised outside any event): when, how long,
  what raised it (model, band, stuck), its highest code, and the share of its readings the
  pseudo-labels call anomalous (a labelling miss when high, a model's guess when low).

The calibrated decision (code, raise code, debounce, instant code) heads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rooms as R  # noqa: E402


def room_overrides(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The room's name and its Hydra overrides, as the benchmark that holds it builds them."""
    if args.preset:
        return args.preset, R.ROOMS[args.preset][0]
    import random_rooms as RR

    seed, _, index = args.drawn.partition(":")
    try:
        seed_i, index_i = int(seed), int(index)
    except ValueError:
        raise SystemExit(f"explain_room: --drawn {args.drawn!r}: expected SEED:INDEX, e.g. 3:2 for r02 of --seed 3")
    if index_i < 1:
        raise SystemExit(f"explain_room: --drawn {args.drawn!r}: rooms count from 1 (r01)")
    rng = np.random.default_rng(seed_i)
    room = None
    for _ in range(index_i):
        room = RR.random_room(rng)
    assert room is not None
    print(f"explain_room: r{index_i:02d} of --seed {seed_i}: {room}")
    return f"r{index_i:02d}", RR.overrides(room)


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs of True in ``flags``: (first, one past last)."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(f))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def longest_run(flags: np.ndarray) -> int:
    return max((b - a for a, b in runs(flags)), default=0)


def explain(name: str, overrides: list[str], extra: list[str]) -> str:
    from tinyad.device.alerts import absolute_rule
    from tinyad.device.runtime import Int8Runtime
    from tinyad.evaluate.baselines import ThresholdRule

    m, ctx = R.room_pipeline(overrides, extra=extra)
    cfg, ds, events, ev, quant = ctx["cfg"], ctx["dataset"], ctx["events"], ctx["evaluation"], ctx["quant"]
    dec = quant.get("decision", {})
    row = R.room_row(name, m)
    code, raise_q = dec.get("code"), dec.get("raise_code", dec.get("code"))
    debounce, instant = dec.get("consecutive"), dec.get("instant_code")
    split = ds["split"].astype(str).to_numpy()
    test_rows = np.flatnonzero(split == "test")
    test = ev.test
    valid = ev.extras["valid_in_test"]  # the test rows the model reads
    # every test row's int8 output code (-128 where the reading is invalid: no model output)
    codes = np.full(len(test), -128, dtype=np.int64)
    codes[valid] = Int8Runtime(ctx["tflite"], quant).run(ev.extras["q_in"], "tflm")
    band = np.zeros(len(test), dtype=bool)
    rule = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity)
    t_all, h_all = ds["temperature"].to_numpy(dtype=float), ds["humidity"].to_numpy(dtype=float)
    band[valid] = rule.decision(t_all[test_rows][valid], h_all[test_rows][valid])
    stuck = np.zeros(len(test), dtype=bool)
    if "run" in ds:
        stuck[valid] = absolute_rule(np.zeros(int(valid.sum()), dtype=bool), ds["run"].to_numpy(dtype=float)[test_rows][valid],
                                     ctx["scaler"].stuck_run)
    alert = test["alert_device"].to_numpy(dtype=bool)
    pseudo = ds["pseudo_label"].to_numpy()[test_rows] == 1
    stamps = test["timestamp"]
    first = int(test_rows[0])

    lines = [f"# {name}: the test split, event by event ({' '.join(overrides + extra)})", "",
             f"Decision: code {code}, raise code {raise_q}, debounce {debounce}, instant code "
             f"{'-' if instant is None else instant}; period {cfg.data.period_s} s; "
             f"device F1 {R.fmt(row['device.f1'])}, events caught {R.fmt(row['device.caught'], 2)}, false alarms/week "
             f"{R.fmt(row['device.fa_week'], 2)}.", "",
             "| event | kind | start | readings | pseudo-labelled | max code | at code | at raise | longest at raise "
             "| band | stuck | caught |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    inside = np.zeros(len(test), dtype=bool)
    for e in events:
        if split[e.start] != "test":
            continue
        a, b = e.start - first, min(e.stop - first, len(test))
        inside[a:b] = True
        c = codes[a:b]
        lines.append(f"| {e.event_id} | {e.kind} | {stamps.iloc[a]:%a %d %H:%M} | {b - a} | {int(pseudo[a:b].sum())} | "
                     f"{int(c.max())} | {int((c >= code).sum())} | {int((c >= raise_q).sum())} | "
                     f"{longest_run(c >= raise_q)} | {'yes' if band[a:b].any() else '-'} | "
                     f"{'yes' if stuck[a:b].any() else '-'} | {'yes' if alert[a:b].any() else '**no**'} |")
    lines += ["", "| false alarm | start | readings | raised by | max code | pseudo-labelled |", "|---:|---|---:|---|---:|---:|"]
    n = 0
    for a, b in runs(alert):
        if inside[a:b].any():
            continue
        n += 1
        by = [w for w, f in (("band", band), ("stuck", stuck), ("model", codes >= raise_q)) if f[a:b].any()]
        lines.append(f"| {n} | {stamps.iloc[a]:%a %d %H:%M} | {b - a} | {', '.join(by) or '-'} | "
                     f"{int(codes[a:b].max())} | {pseudo[a:b].mean():.0%} |")
    if n == 0:
        lines.append("| - | none | | | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", choices=[n for n in R.ROOMS if n != "uci"], help="a room of benchmarks/rooms.py")
    which.add_argument("--drawn", metavar="SEED:INDEX", help="room INDEX (from 1) of random_rooms.py --seed SEED")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="Hydra overrides after the room's own")
    args = ap.parse_args(argv)
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()
    name, overrides = room_overrides(args)
    print(explain(name, overrides, args.set))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
