"""Why one benchmark room misses an event or raises a false alarm: its test split, event by event.

    python benchmarks/explain_room.py --preset home          # a room of benchmarks/rooms.py
    python benchmarks/explain_room.py --drawn 3:2            # r02 of random_rooms.py --seed 3
    python benchmarks/explain_room.py --drawn 3:2 --set alerts.raise_margin=0

The default pipeline runs on the room as the benchmark runs it (about 10-20 s), then two
tables are printed:

* every injected event with readings in the test split (one that began in the
  validation split is marked so, and counts from its first test reading, as evaluate
  counts it): its kind, when, how many readings, how many of them the pseudo-labels
  call anomalous (what the labelling says of them; the model learnt from the train
  split's), the model's highest int8 output code in it, its readings at the decision
  and at the raise code, the longest run at the raise code (invalid readings skipped, as
  the device's debounce skips them), whether the alarm band or the stuck rule fired, and
  whether the device alerted;
* every false alarm of the test split, as evaluate counts one (a run of alerting
  readings, one of them known normal, none inside an event): when, how long, the
  evidence in it (model readings at the raise code, the band, the stuck rule), its
  highest code, and the share of its readings the pseudo-labels call anomalous (a
  labelling miss when high, the model's own guess when low).

Codes and shares are over the valid readings (a faulty reading has no model output).

The calibrated decision (code, raise code, debounce, instant code) heads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rooms as R  # noqa: E402
from tinyad.evaluate.metrics import runs  # noqa: E402  (the maximal runs evaluate counts alerts and events by)


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
    name, room, overrides = RR.draw_rooms(seed_i, index_i)[-1]
    print(f"explain_room: {name} of --seed {seed_i}: {room}")
    return name, overrides


def longest_run(flags: np.ndarray) -> int:
    return max((b - a for a, b in runs(flags)), default=0)


def event_rows(event_id: np.ndarray, codes: np.ndarray, valid: np.ndarray, pseudo: np.ndarray, band: np.ndarray,
               stuck: np.ndarray, alert: np.ndarray, code: int, raise_q: int) -> list[dict[str, Any]]:
    """Per event of the test rows (``event_id`` >= 0, in order of its first row): what each
    part of the device saw of it.  Every array is per test row; ``codes`` is read on the
    valid rows only."""
    out = []
    for e in pd.unique(event_id[event_id >= 0]):  # in order of appearance
        rows = np.flatnonzero(event_id == e)
        ok = rows[valid[rows]]  # the readings the model read
        c = codes[ok]
        out.append({"id": int(e), "first": int(rows[0]), "readings": len(rows), "pseudo": int(pseudo[ok].sum()),
                    "max_code": int(c.max()) if len(c) else None, "at_code": int((c >= code).sum()),
                    "at_raise": int((c >= raise_q).sum()), "longest_at_raise": longest_run(c >= raise_q),
                    "band": bool(band[rows].any()), "stuck": bool(stuck[rows].any()), "caught": bool(alert[rows].any())})
    return out


def false_alarm_rows(alert: np.ndarray, event_id: np.ndarray, normal: np.ndarray, codes: np.ndarray,
                     valid: np.ndarray, pseudo: np.ndarray, band: np.ndarray, stuck: np.ndarray,
                     raise_q: int) -> list[dict[str, Any]]:
    """The false alarms as evaluate counts them (``tinyad.evaluate.metrics.event_scores``: a run
    of alerting test rows holding a known normal row and no event row), with their evidence."""
    out = []
    for a, b in runs(alert):
        if not normal[a:b].any() or (event_id[a:b] >= 0).any():
            continue
        ok = np.arange(a, b)[valid[a:b]]
        evidence = [w for w, f in (("model", codes[ok] >= raise_q), ("band", band[a:b]), ("stuck", stuck[a:b]))
                    if f.any()]
        out.append({"first": a, "readings": b - a, "evidence": evidence,
                    "max_code": int(codes[ok].max()) if len(ok) else None,
                    "pseudo_share": float(pseudo[ok].mean()) if len(ok) else None})
    return out


def explain(name: str, overrides: list[str], extra: list[str]) -> str:
    from tinyad.device.alerts import absolute_rule
    from tinyad.device.features import output_code_threshold
    from tinyad.learn.calibration import decision_threshold, device_alerts, instant_code, raise_code

    m, ctx = R.room_pipeline(overrides, extra=extra)
    cfg, ds, events, ev, quant = ctx["cfg"], ctx["dataset"], ctx["events"], ctx["evaluation"], ctx["quant"]
    row = R.room_row(name, m)
    # the device's decision as every consumer reads it (calibrated or not)
    code = output_code_threshold(quant, decision_threshold(quant, cfg.alerts, lenient=True))
    raise_q, instant = raise_code(quant, cfg.alerts, lenient=True), instant_code(quant, cfg.alerts)
    debounce = device_alerts(quant, cfg.alerts).consecutive
    test_rows = np.flatnonzero(ds["split"].astype(str).to_numpy() == "test")  # a chronological tail
    test = ev.test
    valid = ev.extras["valid_in_test"]  # the test rows the model reads
    codes = np.zeros(len(test), dtype=np.int64)  # read on the valid rows only
    codes[valid] = ev.extras["q_tflm"]
    band = np.zeros(len(test), dtype=bool)
    band[valid] = ev.detections["thresholds"].decision  # the seed's alarm band, as evaluate ran it
    stuck = np.zeros(len(test), dtype=bool)
    if "run" in ds:
        stuck[valid] = absolute_rule(np.zeros(int(valid.sum()), dtype=bool), ds["run"].to_numpy(dtype=float)[test_rows][valid],
                                     ctx["scaler"].stuck_run)
    alert = test["alert_device"].to_numpy(dtype=bool)
    pseudo = test["pseudo_label"].to_numpy() == 1
    event_id = test["event_id"].to_numpy(dtype=np.int64)
    normal = test["label"].to_numpy(dtype=np.int64) == 0
    stamps = test["timestamp"]
    by_id = {e.event_id: e for e in events}

    lines = [f"# {name}: the test split, event by event ({' '.join(overrides + extra)})", "",
             f"Decision: code {code}, raise code {raise_q}, debounce {debounce}, instant code "
             f"{'never' if instant > 127 else instant}; period {cfg.data.period_s} s; "
             f"device F1 {R.fmt(row['device.f1'])}, events caught {R.fmt(row['device.caught'], 2)}, false alarms/week "
             f"{R.fmt(row['device.fa_week'], 2)}.", "",
             "| event | kind | start | readings | pseudo-labelled | max code | at code | at raise | longest at raise "
             "| band | stuck | caught |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in event_rows(event_id, codes, valid, pseudo, band, stuck, alert, code, raise_q):
        e = by_id.get(r["id"])
        kind = "?" if e is None else e.kind + (" (began in val)" if e.start < test_rows[0] else "")
        lines.append(f"| {r['id']} | {kind} | {stamps.iloc[r['first']]:%a %d %H:%M} | {r['readings']} | {r['pseudo']} | "
                     f"{R.fmt(r['max_code'])} | {r['at_code']} | {r['at_raise']} | {r['longest_at_raise']} | "
                     f"{'yes' if r['band'] else '-'} | {'yes' if r['stuck'] else '-'} | "
                     f"{'yes' if r['caught'] else '**no**'} |")
    fas = false_alarm_rows(alert, event_id, normal, codes, valid, pseudo, band, stuck, raise_q)
    lines += ["", "| false alarm | start | readings | evidence in it | max code | pseudo-labelled |",
              "|---:|---|---:|---|---:|---:|"]
    for n, r in enumerate(fas, 1):
        share = "-" if r["pseudo_share"] is None else f"{r['pseudo_share']:.0%}"
        lines.append(f"| {n} | {stamps.iloc[r['first']]:%a %d %H:%M} | {r['readings']} | {', '.join(r['evidence']) or '-'} | "
                     f"{R.fmt(r['max_code'])} | {share} |")
    if not fas:
        lines.append("| - | none | | | | |")
    counted = R._get(m, "device", "events", "false_alarm_events")
    if counted is not None and counted != len(fas):  # one definition: evaluate's; say so if they ever part
        lines += ["", f"(evaluate counted {counted} false alarms, this table {len(fas)})"]
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
