"""Fleet benchmark: one model per room against one model for all, and rooms in parallel.

    python benchmarks/fleet.py compare                  # per-room vs fleet model, benchmark fleet
    python benchmarks/fleet.py compare --rooms sim home office
    python benchmarks/fleet.py speedup --rooms sim home # `tinyad fleet run` with 1 and 2 jobs
    python benchmarks/fleet.py modes                    # the fleet built with model: per_room and model: shared
    python benchmarks/fleet.py bookkeeping --rooms 100  # fleet write and dvc status at scale

``compare`` (in-process, through the same library calls as benchmarks/rooms.py):

* per room: the default pipeline on the room alone (``rooms.run_room``): its own
  K-means labels, scaler, MLP, int8 model, calibrated decision;
* fleet model: every room's own ingest, K-means labels and scaler (per-room
  normalisation: each room's features are standardised by its own train split), then
  ONE MLP trained on the train/val rows of all the rooms together, ONE int8
  conversion (the representative rows drawn from all rooms), and per room its own
  calibrated decision threshold and debounce on its own history.  Rooms whose
  feature set differs (a temperature-only sensor) cannot share the model's inputs:
  they form their own group (one model per feature set).

Per room and approach: F1 overall and by type, events caught, false alarms a week
(alerts a week for a room without labels), the int8 model size, and the time to add
a new room: per room, everything from ingest to the calibrated int8 model; with the
fleet model, ingest, labels, scaler and calibration only (the shared model is reused;
its one training is timed separately).  Results: benchmarks/results/fleet_compare.md.

``modes`` builds the benchmark fleet twice through the pipeline itself (`tinyad fleet
run`, from nothing, in two copies of the project beside it): ``model: per_room`` and
``model: shared`` (docs/fleet.md), and tabulates both reports room by room (``--projects
A B`` tabulates two fleet projects already built).  Results: benchmarks/results/fleet_modes.md.

``speedup`` copies the project (as a fresh clone would hold it) twice and runs
``tinyad fleet run`` over the chosen rooms with ``hydra.launcher.n_jobs=1`` and ``=2``
(one TensorFlow thread a job), from nothing, and prints the wall times, the speed-up
and the time per room; the cost on paper for 1,000 rooms follows from them
(docs/fleet.md).  Results: benchmarks/results/fleet_speedup.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rooms as R  # noqa: E402  (benchmarks/rooms.py: the per-room runner and its table rows)

RESULTS = ROOT / "benchmarks" / "results"


def prepare_room(overrides: list[str], epochs: int | None) -> dict[str, Any]:
    """A room's own half of the fleet model: readings, pseudo-labels, scaler."""
    from tinyad.data.clustering import build_dataset
    from tinyad.data.readings import build_readings

    cfg = R.compose_cfg(overrides + ([f"model.epochs={epochs}"] if epochs else []))
    t0 = time.perf_counter()
    table, events, _ = build_readings(cfg.data, ROOT)
    clus = build_dataset(table, cfg)
    return {"cfg": cfg, "clus": clus, "events": events, "seconds": time.perf_counter() - t0}


def fleet_model(prepared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ONE MLP and ONE int8 model over the rooms of ``prepared`` (the same feature set)."""
    from tinyad.device.features import dataset_inputs
    from tinyad.learn.quantization import quantize_model
    from tinyad.learn.training import pooled_training_data, train_model

    # the rows `tinyad fleet train` (stage fleet_model of a `model: shared` fleet) learns from
    X_train, y_train, X_val, y_val = pooled_training_data([(p["clus"].dataset, p["clus"].scaler, p["clus"].exposure)
                                                          for p in prepared.values()])
    cfg = next(iter(prepared.values()))["cfg"]
    t0 = time.perf_counter()
    res = train_model(X_train, y_train, X_val, y_val, cfg.model)
    # the int8 ranges come from the rooms' readings (as the quantize stage's), not from the exposure rows
    X_train = np.concatenate([dataset_inputs(p["clus"].dataset, p["clus"].scaler, "train")[0] for p in prepared.values()])
    X_test = np.concatenate([dataset_inputs(p["clus"].dataset, p["clus"].scaler, "test")[0] for p in prepared.values()])
    q = quantize_model(res.model, X_train, X_test, cfg.quantize, cfg.alerts.decision_threshold)
    return {"model": res.model, "tflite": q["tflite"], "quant": q["quant"], "seconds": time.perf_counter() - t0,
            "train_rows": int(len(X_train))}


def fleet_room(p: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """One room on the shared model: its own calibration, then evaluate."""
    import copy

    from tinyad.evaluate.compare import evaluate
    from tinyad.learn.quantization import calibrate

    cfg, ds, scaler = p["cfg"], p["clus"].dataset, p["clus"].scaler
    quant = copy.deepcopy(shared["quant"])
    t0 = time.perf_counter()
    if cfg.alerts.calibrate:
        quant["decision"] = calibrate(ds, scaler, cfg, shared["tflite"], quant)
    calib = time.perf_counter() - t0
    m = evaluate(ds, scaler, cfg, shared["model"], shared["tflite"], quant).metrics
    m["_cluster"] = p["clus"].metrics
    m["_labelled"] = R.labelled_events(ds, p["events"])
    m["_decision"] = quant.get("decision", {})
    m["_seconds"] = p["seconds"] + calib  # adding this room: ingest, labels, scaler, calibration
    m["_period_s"] = cfg.data.period_s
    return m


def summary(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("room", "ground_truth", "device.f1", "device.f1_point", "device.f1_contextual", "device.f1_collective",
            "device.caught", "device.fa_week", "device.alerts_week", "seconds")
    return {k: row.get(k) for k in keep}


def compare(names: list[str], epochs: int | None) -> dict[str, Any]:
    from tinyad.tools.progress import eta_line
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()
    t_start = time.perf_counter()
    per_room, tflite_bytes = {}, {}
    for i, name in enumerate(names):
        m = R.run_room(R.ROOMS[name][0], epochs)
        per_room[name] = summary(R.room_row(name, m))
        print(eta_line("per-room model", i + 1, 2 * len(names), time.perf_counter() - t_start), flush=True)
    prepared = {n: prepare_room(R.ROOMS[n][0], epochs) for n in names}
    groups: dict[tuple, list[str]] = {}
    for n, p in prepared.items():
        groups.setdefault(tuple(p["clus"].scaler.features), []).append(n)
    fleet, models = {}, []
    for features, members in groups.items():
        shared = fleet_model({n: prepared[n] for n in members})
        models.append({"rooms": members, "features": list(features), "train_seconds": round(shared["seconds"], 1),
                       "train_rows": shared["train_rows"], "tflite_bytes": len(shared["tflite"])})
        for n in members:
            fleet[n] = summary(R.room_row(n, fleet_room(prepared[n], shared)))
            tflite_bytes[n] = len(shared["tflite"])
            print(eta_line("fleet model", len(names) + len(fleet), 2 * len(names), time.perf_counter() - t_start),
                  flush=True)
    return {"rooms": names, "epochs": epochs, "per_room": per_room, "fleet": fleet, "models": models,
            "fleet_tflite_bytes": tflite_bytes, "seconds": round(time.perf_counter() - t_start, 1)}


def _f(v: Any, digits: int = 3) -> str:
    return "-" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def compare_markdown(res: dict[str, Any]) -> str:
    lines = ["# Per-room models against one fleet model (benchmarks/fleet.py compare)", "",
             "Default config per room (its data option only)" + (f"; model.epochs={res['epochs']}" if res["epochs"] else "")
             + ". Test split of each room. Fleet model: one MLP over all the rooms' train rows, each room scaled by "
             "its own scaler and calibrated on its own history.", "",
             "| room | approach | F1 | F1 point | F1 ctx | F1 coll | caught | false alarms/wk | alerts/wk | "
             "time to add the room (s) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in res["rooms"]:
        for approach in ("per_room", "fleet"):
            r = res[approach][name]
            lines.append(f"| {name} | {approach.replace('_', '-')} | {_f(r['device.f1'])} | {_f(r['device.f1_point'], 2)} | "
                         f"{_f(r['device.f1_contextual'], 2)} | {_f(r['device.f1_collective'], 2)} | "
                         f"{_f(r['device.caught'], 2)} | {_f(r['device.fa_week'], 2)} | {_f(r['device.alerts_week'], 2)} | "
                         f"{_f(r['seconds'], 0)} |")
    lab = [n for n in res["rooms"] if res["per_room"][n]["ground_truth"]]
    for approach in ("per_room", "fleet"):
        f1 = [res[approach][n]["device.f1"] or 0.0 for n in lab]
        fa = [res[approach][n]["device.fa_week"] or 0.0 for n in lab]
        add = [res[approach][n]["seconds"] for n in res["rooms"]]
        lines.append(f"\n**{approach.replace('_', '-')}**: macro F1 {np.mean(f1):.3f} over {len(lab)} labelled rooms, "
                     f"mean false alarms {np.mean(fa):.2f}/week, median time to add a room {np.median(add):.0f} s.")
    lines += ["", "| fleet model | rooms | features | train rows | training + int8 (s) | .tflite (bytes) |",
              "|---|---|---|---:|---:|---:|"]
    for i, m in enumerate(res["models"]):
        lines.append(f"| {i + 1} | {', '.join(m['rooms'])} | {len(m['features'])} | {m['train_rows']} | "
                     f"{m['train_seconds']} | {m['tflite_bytes']} |")
    lines.append(f"\nWhole benchmark: {res['seconds']:.0f} s.")
    return "\n".join(lines) + "\n"


def speedup(names: list[str], epochs: int | None, jobs: list[int]) -> dict[str, Any]:
    """`tinyad fleet run` over ``names`` from nothing, once per job count, in fresh copies."""
    import tempfile

    import yaml

    from tests.helpers.project import copy_worktree, run

    out: dict[str, Any] = {"rooms": names, "epochs": epochs, "runs": {}}
    fleet = yaml.safe_load((ROOT / "conf" / "fleet" / "benchmark.yaml").read_text())
    fleet["rooms"] = {n: fleet["rooms"][n] for n in names}
    if epochs:
        fleet["shared"] = [*fleet.get("shared", []), f"model.epochs={epochs}"]
    for n in jobs:
        with tempfile.TemporaryDirectory(dir=ROOT.parent) as tmp:  # beside the project: ../shared resolves
            proj = copy_worktree(Path(tmp) / "proj")
            (proj / "conf" / "fleet" / "bench.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))
            t0 = time.perf_counter()
            proc = run([sys.executable, "-m", "tinyad.tools.fleet", "run", "conf/fleet/bench.yaml",
                        f"hydra.launcher.n_jobs={n}"], proj)
            wall = time.perf_counter() - t0
            runs = sorted((proj / "multirun").glob("fleet-*/fleet.json"))
            rec = json.loads(runs[-1].read_text())
            out["runs"][n] = {"wall_seconds": round(wall, 1), "room_seconds": rec["rooms"]}
            print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", flush=True)
    base = out["runs"][jobs[0]]["wall_seconds"]
    for n in jobs:
        out["runs"][n]["speedup"] = round(base / out["runs"][n]["wall_seconds"], 2)
    return out


def speedup_markdown(res: dict[str, Any]) -> str:
    lines = ["# Rooms in parallel (benchmarks/fleet.py speedup)", "",
             f"`tinyad fleet run` over {len(res['rooms'])} rooms ({', '.join(res['rooms'])}) from nothing, every stage "
             "to the host firmware" + (f", model.epochs={res['epochs']}" if res["epochs"] else "") + ".", "",
             "| jobs | wall (s) | speed-up | mean room time (s) |", "|---:|---:|---:|---:|"]
    for n, r in res["runs"].items():
        lines.append(f"| {n} | {r['wall_seconds']} | {r['speedup']} | {np.mean(list(r['room_seconds'].values())):.0f} |")
    return "\n".join(lines) + "\n"


def bookkeeping(n_rooms: int) -> dict[str, Any]:
    """The serial part of a fleet at scale: `tinyad fleet write` of ``n_rooms`` rooms (the
    benchmark rooms' data options, cycled) and `dvc status` of their unbuilt stages, in a
    scratch root beside the project (so ``../shared`` resolves)."""
    import shutil
    import subprocess
    import tempfile

    from tinyad.tools import fleet as F

    presets = [spec.data for spec in F.load_fleet(ROOT / F.DEFAULT_FLEET, ROOT / "conf").rooms.values()]
    rooms = {f"r{i:04d}": F.Room(f"r{i:04d}", presets[i % len(presets)]) for i in range(n_rooms)}
    tmp = Path(tempfile.mkdtemp(prefix=".fleet-bookkeeping-", dir=ROOT.parent))
    try:
        for name in ("conf", "dvc.yaml", "stages", "tinyad", "firmware"):
            (tmp / name).symlink_to(ROOT / name)
        t0 = time.perf_counter()
        F.write_fleet(F.Fleet(f"r{n_rooms}", f"conf/fleet/r{n_rooms}.yaml", rooms), tmp)
        write_s = time.perf_counter() - t0
        subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
        subprocess.run(["dvc", "init", "-q"], cwd=tmp, check=True)
        t0 = time.perf_counter()
        subprocess.run(["dvc", "status", "--json", "fleet/dvc.yaml"], cwd=tmp, check=True, capture_output=True)
        status_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp)
    return {"rooms": n_rooms, "write_seconds": round(write_s, 1), "write_seconds_per_room": round(write_s / n_rooms, 3),
            "status_seconds": round(status_s, 1)}


def bookkeeping_markdown(res: dict[str, Any]) -> str:
    return ("# A fleet's serial bookkeeping (benchmarks/fleet.py bookkeeping)\n\n"
            "| rooms | `tinyad fleet write` (s) | per room (s) | `dvc status` of the unbuilt stages (s) |\n"
            "|---:|---:|---:|---:|\n"
            f"| {res['rooms']} | {res['write_seconds']} | {res['write_seconds_per_room']} | {res['status_seconds']} |\n")


MODES = ("per_room", "shared")


def mode_fleet(mode: str, root: Path) -> dict[str, Any]:
    """The benchmark fleet in ``mode``; with ``shared``, a room whose inputs differ from the
    fleet model's (the temperature-only sensor) keeps its own model, as `tinyad fleet
    write` asks."""
    import yaml

    from tinyad.tools import fleet as F

    doc = yaml.safe_load((root / "conf" / "fleet" / "benchmark.yaml").read_text())
    doc["name"] = f"benchmark-{mode}"
    if mode == "per_room":
        return doc
    doc["model"] = "shared"
    path = root / "conf" / "fleet" / "modes.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    for room in F.unfit_rooms(F.load_fleet(path, root / "conf"), root=root):
        doc["rooms"][room]["model"] = "own"
    return doc


def modes_projects(n_jobs: int) -> dict[str, str]:
    """Both modes of the benchmark fleet, each built from nothing by `tinyad fleet run` in a
    copy of the project beside it (kept: ``../fleet-modes-<mode>``)."""
    import shutil

    import yaml

    from tests.helpers.project import copy_worktree, run

    out = {}
    for mode in MODES:
        proj = ROOT.parent / f"fleet-modes-{mode}"
        shutil.rmtree(proj, ignore_errors=True)
        copy_worktree(proj)
        (proj / "conf" / "fleet" / "modes.yaml").write_text(yaml.safe_dump(mode_fleet(mode, proj), sort_keys=False))
        proc = run([sys.executable, "-m", "tinyad.tools.fleet", "run", "conf/fleet/modes.yaml",
                    f"hydra.launcher.n_jobs={n_jobs}"], proj)
        print("\n".join(line for line in proc.stdout.splitlines() if line.startswith("fleet:")), flush=True)
        out[mode] = str(proj)
    return out


def modes(projects: dict[str, str]) -> dict[str, Any]:
    """Per room, the device figures of each mode's fleet (its report rows and by-type F1)."""
    out: dict[str, Any] = {"projects": projects, "rooms": {}}
    for mode, proj in projects.items():
        proj = Path(proj)
        report = json.loads((proj / "metrics" / "fleet.json").read_text())["rooms"]
        runs = sorted((proj / "multirun").glob("fleet-*/fleet.json"))
        rec = json.loads(runs[-1].read_text()) if runs else {}
        out.setdefault("runs", {})[mode] = {k: rec.get(k) for k in ("wall_seconds", "fleet_model_seconds")}
        for room, row in report.items():
            by_type = json.loads((proj / "metrics" / room / "evaluate.json").read_text())["headline"]["device"].get(
                "f1_by_type") or {}
            out["rooms"].setdefault(room, {})[mode] = {**row, "f1_by_type": by_type,
                                                        "seconds": (rec.get("rooms") or {}).get(room)}
    return out


def modes_markdown(res: dict[str, Any]) -> str:
    lines = ["# One model per room, or one fleet model: both built by the pipeline (benchmarks/fleet.py modes)", "",
             "The benchmark fleet (conf/fleet/benchmark.yaml) built from nothing by `tinyad fleet run`, once with "
             "`model: per_room` and once with `model: shared` (the temperature-only room keeps its own model: "
             "other inputs). Device figures on each room's test split, from each project's fleet report.", "",
             "| room | mode | model | F1 | F1 point / ctx / coll | caught | false alarms/wk | alerts/wk | flagged | "
             ".tflite B | C flash B | room time (s) |", "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for room, by_mode in res["rooms"].items():
        for mode in MODES:
            r = by_mode.get(mode)
            if r is None:
                continue
            t = r["f1_by_type"]
            types = " / ".join(_f(t.get(k), 2) for k in ("point", "contextual", "collective")) if t else "-"
            lines.append(f"| {room} | {mode} | {r.get('model', 'own')} | {_f(r['f1'])} | {types} | {_f(r['caught'], 2)} | "
                         f"{_f(r['fa_wk'], 2)} | {_f(r['alerts_wk'], 2)} | {_f(r['flagged'], 4)} | {r['tflite']} | "
                         f"{r['c_flash']} | {_f(r['seconds'], 0)} |")
    for mode in MODES:
        rows = [by[mode] for by in res["rooms"].values() if mode in by]
        lab = [r for r in rows if r["labels"]]
        over = [r["room"] for r in rows if r["over_budget"]]
        run = res.get("runs", {}).get(mode, {})
        lines.append(f"\n**{mode}**: macro F1 {np.mean([r['f1'] or 0.0 for r in lab]):.3f} over {len(lab)} labelled rooms; "
                     f"mean false alarms {np.mean([r['fa_wk'] or 0.0 for r in lab]):.2f}/week; over the budget: "
                     f"{', '.join(over) or 'none'}; fleet run {_f(run.get('wall_seconds'), 0)} s wall"
                     + (f", of which the fleet model's training {run['fleet_model_seconds']:.0f} s"
                        if run.get("fleet_model_seconds") else "") + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("compare", help="per-room models against one fleet model")
    c.add_argument("--rooms", nargs="*", default=[n for n in R.ROOMS], choices=list(R.ROOMS))
    c.add_argument("--epochs", type=int, default=None)
    s = sub.add_parser("speedup", help="tinyad fleet run with 1 and 2 jobs")
    s.add_argument("--rooms", nargs="*", default=["sim", "home", "office", "server_room"], choices=list(R.ROOMS))
    s.add_argument("--epochs", type=int, default=None)
    s.add_argument("--jobs", nargs="*", type=int, default=[1, 2])
    m = sub.add_parser("modes", help="the benchmark fleet built with model: per_room and with model: shared")
    m.add_argument("--projects", nargs=2, metavar=("PER_ROOM", "SHARED"),
                   help="tabulate two fleet projects already built (default: build both, beside the project)")
    m.add_argument("--jobs", type=int, default=2)
    b = sub.add_parser("bookkeeping", help="fleet write and dvc status of many unbuilt rooms")
    b.add_argument("--rooms", type=int, default=100)
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.what == "compare":
        res = compare(args.rooms, args.epochs)
        md, stem = compare_markdown(res), "fleet_compare"
    elif args.what == "bookkeeping":
        res = bookkeeping(args.rooms)
        md, stem = bookkeeping_markdown(res), "fleet_bookkeeping"
    elif args.what == "modes":
        projects = dict(zip(MODES, args.projects)) if args.projects else modes_projects(args.jobs)
        res = modes(projects)
        md, stem = modes_markdown(res), "fleet_modes"
    else:
        res = speedup(args.rooms, args.epochs, args.jobs)
        md, stem = speedup_markdown(res), "fleet_speedup"
    (RESULTS / f"{stem}.json").write_text(json.dumps(res, indent=2, default=str))
    (RESULTS / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
