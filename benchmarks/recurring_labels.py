"""Which hours the recurring rule drops in every benchmark room, and what that does to its labels.

    python benchmarks/recurring_labels.py                 # the presets, their draws 1-2, cluster seeds 1-2,
                                                          # and the 36 drawn rooms of random_rooms.py seeds 1-3
    python benchmarks/recurring_labels.py --set cluster.recurring_share=0

Ingest and cluster only (no training; about 4 minutes on 2 cores).  Per room: the slots
learnt (``clusters.recurring_slots.slots``: weekday hours 0-23, weekend hours 24-47),
the train split's pseudo-anomalous readings and how many of them lie inside an injected
event, and a digest of the whole pseudo-label column (every split), so that two runs,
on two commits or with two ``--set``, can be compared room by room: the same digest is
the same labels, row for row.  Printed as a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import random_rooms as RR  # noqa: E402
import rooms as R  # noqa: E402


def benchmark_rooms() -> list[tuple[str, list[str]]]:
    """(name, overrides) of every room the detection benchmarks run."""
    out = [(n, R.ROOMS[n][0]) for n in R.ROOMS]
    out += [(f"{n} draw {i}", R.ROOMS[n][0] + R.draw_overrides(R.ROOMS[n][0], i)) for n in R.ROOMS for i in (1, 2)]
    out += [(f"{n} cluster.seed={i}", R.ROOMS[n][0] + [f"cluster.seed={i}"]) for n in R.ROOMS for i in (1, 2)]
    out += [(f"seed {s} {name}", ov) for s in (1, 2, 3) for name, _, ov in RR.draw_rooms(s, 12)]
    return out


def room_labels(overrides: list[str], extra: list[str]) -> dict:
    from tinyad.data.clustering import build_dataset
    from tinyad.data.readings import build_readings

    cfg = R.compose_cfg(overrides + extra, None)
    table, _, _ = build_readings(cfg.data, ROOT)
    clus = build_dataset(table, cfg)
    ds = clus.dataset
    pseudo, label = ds["pseudo_label"].to_numpy(), ds["label"].to_numpy()
    train = (ds["split"].to_numpy() == "train") & (pseudo == 1)
    return {"slots": clus.metrics["clusters"].get("recurring_slots", {}).get("slots", []),
            "pseudo_train": int(train.sum()), "inside_events": int((train & (label == 1)).sum()),
            "digest": hashlib.md5(np.ascontiguousarray(pseudo).tobytes()).hexdigest()[:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="Hydra overrides for every room")
    args = ap.parse_args()
    print("| room | recurring slots | pseudo-anomalous (train) | of them inside an event | labels digest |")
    print("|---|---|---:|---:|---|")
    for name, overrides in benchmark_rooms():
        r = room_labels(overrides, args.set)
        print(f"| {name} | {r['slots']} | {r['pseudo_train']} | {r['inside_events']} | {r['digest']} |", flush=True)


if __name__ == "__main__":
    main()
