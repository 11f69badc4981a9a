"""Run a fleet's rooms in parallel: one Hydra multirun job a room, then DVC records them.

    tinyad fleet run [conf/fleet/benchmark.yaml] [Hydra overrides]
    tinyad fleet run conf/fleet/benchmark.yaml hydra.launcher.n_jobs=2
    tinyad fleet run conf/fleet/benchmark.yaml hydra/launcher=slurm hydra.launcher.partition=cpu

``dvc repro`` runs one stage at a time, and two ``dvc repro`` in one work tree wait
for each other's lock.  So the fleet's rooms run as Hydra jobs on the launcher of
``conf/tinyad_fleet.yaml`` (joblib on this machine; submitit locally or on SLURM), and
DVC keeps the books:

1. ``fleet/`` is brought up to date (``tinyad fleet write``), and ``dvc status`` of
   ``fleet/dvc.yaml`` says which rooms are stale and from which stage on (a room's
   pipeline is a chain: every stage after the first stale one reruns).  Nothing stale:
   nothing is launched.
2. Each job runs its room's stages, the commands DVC would run (``room_commands``:
   ``fleet/dvc.yaml`` with the room substituted), from the project root, with
   ``threads`` TensorFlow/BLAS threads (the outputs do not depend on it).
3. ``dvc commit`` records the rooms that finished, so their stages are cached exactly
   as if ``dvc repro`` had run them; then ``dvc repro fleet/dvc.yaml`` runs what is left
   (the fleet report) and shows that nothing else is stale.

A failed room is named with its stage and log; the others are still recorded.
Exit status: 0 all rooms done, 1 some failed, 2 bad input (fleet file, override).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from tinyad.pipeline import names as stage_names
from tinyad.tools.fleet import FLEET_DIR, FLEET_MODEL_STAGE, ROOT, room_commands, room_stages

# a room's stages before its model (ingest, cluster): what the fleet model learns from
PRE_MODEL = tuple(stage_names()[:stage_names().index("train")])

CONFIG_NAME = "tinyad_fleet"
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "MKL_NUM_THREADS")


def stale_plan(root: Path = ROOT) -> dict[str, list[str]]:
    """room -> the stages to run (the first stale one and every later one), from ``dvc status``.

    A room on the fleet model (``model: shared``) has no ``train`` of its own: its chain
    reads the fleet model, so a stale ``fleet_model`` makes every such room stale from
    its first stage after ``train``."""
    proc = subprocess.run(["dvc", "status", "--json", f"{FLEET_DIR}/dvc.yaml"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dvc status {FLEET_DIR}/dvc.yaml failed: {proc.stderr.strip().splitlines()[-1:]}")
    stale = json.loads(proc.stdout or "{}")
    template, orders, on_fleet_model = room_stages(root)
    first: dict[str, int] = {}
    for key in stale:
        stage = key.split(":")[-1]
        if stage == FLEET_MODEL_STAGE:
            after = max(template.index(s) for s in PRE_MODEL) + 1  # the stage after the labels
            for room in on_fleet_model:
                first[room] = min(first.get(room, len(template)), after)
            continue
        if "@" not in stage:
            continue  # the report: it runs after the rooms
        name, room = stage.split("@", 1)
        first[room] = min(first.get(room, len(template)), template.index(name))
    return {room: [s for s in template[i:] if s in orders[room]] for room, i in sorted(first.items())}


def run_room(room: str, stages: list[str], threads: int, root: Path = ROOT, log_dir: Path | None = None) -> dict[str, Any]:
    """Run the room's ``stages`` in order; returns the seconds per stage.  Raises on a failure."""
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    cmds = dict(room_commands(root, room))
    seconds: dict[str, float] = {}
    for stage in stages:
        t0 = time.perf_counter()
        proc = subprocess.run(cmds[stage], shell=True, cwd=root, env=env, capture_output=True, text=True)
        seconds[stage] = round(time.perf_counter() - t0, 2)
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / f"{stage}.log").write_text(f"$ {cmds[stage]}\n{proc.stdout}\n--- stderr\n{proc.stderr}")
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"room {room}: stage {stage} failed (exit {proc.returncode}): {last}")
    return {"room": room, "stages": seconds, "seconds": round(sum(seconds.values()), 2)}


@hydra.main(config_path=str(ROOT / "conf"), config_name=CONFIG_NAME, version_base=None)
def hydra_job(cfg: DictConfig) -> float:
    """One job: one room's stale stages (``plan``), its timings to ``<job dir>/room.json``."""
    from hydra.core.hydra_config import HydraConfig

    out = Path(HydraConfig.get().runtime.output_dir)
    plan = json.loads(Path(cfg.plan).read_text())
    rec = run_room(str(cfg.room), plan[str(cfg.room)], int(cfg.threads), ROOT, out / "logs")
    (out / "room.json").write_text(json.dumps(rec, indent=2))
    print(f"fleet: room {cfg.room} done in {rec['seconds']:.0f} s", flush=True)
    return rec["seconds"]


def launch(plan: dict[str, list[str]], sweep: Path, overrides: list[str], root: Path = ROOT) -> dict[str, Any]:
    """One Hydra multirun job per room of ``plan``, then one ``dvc commit`` of the rooms that
    finished.  Returns ``{"times": room -> seconds, "failed": [...], "rc": launcher's}``."""
    sweep.mkdir(parents=True, exist_ok=True)
    plan_file = sweep / "plan.json"
    plan_file.write_text(json.dumps(plan, indent=2))
    cmd = [sys.executable, "-m", "tinyad.tools.fleet_run", "-m", f"room={','.join(plan)}", f"plan={plan_file}",
           f"hydra.sweep.dir={sweep}", *overrides]
    proc = subprocess.run(cmd, cwd=root)
    failed = [room for room in plan if not (sweep / room / "room.json").is_file()]
    targets = [f"{FLEET_DIR}/dvc.yaml:{s}@{room}" for room, stages in plan.items() if room not in failed for s in stages]
    if targets:  # one commit for every finished room: DVC loads the repository once
        subprocess.run(["dvc", "commit", "-f", "-q", *targets], cwd=root, check=True)
    times = {r: json.loads((sweep / r / "room.json").read_text())["seconds"] for r in plan if r not in failed}
    return {"times": times, "failed": failed, "rc": proc.returncode, "cmd": cmd}


def run_fleet(fleet_path: str, overrides: list[str], root: Path = ROOT) -> int:
    """``tinyad fleet run``: the module docstring's steps.  With a fleet model, the rooms' jobs
    run in two rounds around its one training: their labels first (the rooms it learns
    from), then ``dvc repro`` of ``fleet_model`` here, then every room's later stages."""
    from tinyad.config import ConfigError
    from tinyad.tools.fleet import load_fleet, write_fleet

    try:
        fleet = load_fleet(root / fleet_path, root / "conf")
        write_fleet(fleet, root)
    except ConfigError as exc:
        print(f"fleet: error: {exc}", file=sys.stderr)
        return 2
    plan = stale_plan(root)
    t0 = time.perf_counter()
    sweep = root / "multirun" / f"fleet-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    rounds: list[dict[str, Any]] = []
    waiting: set[str] = set()  # rooms on a fleet model that could not be trained
    model_seconds = None  # the fleet model's training, when it ran
    if fleet.shared_rooms and plan:  # a stale fleet model makes every room on it stale (stale_plan)
        labels = {r: [s for s in st if s in PRE_MODEL] for r, st in plan.items()}
        labels = {r: st for r, st in labels.items() if st}
        if labels:
            print(f"fleet: first the labels of {len(labels)} room(s): {', '.join(labels)}", flush=True)
            rounds.append(launch(labels, sweep / "_labels", overrides, root))  # '_': no room's folder
        label_failed = set(rounds[0]["failed"]) if rounds else set()
        blocked = label_failed & set(fleet.learning_rooms)
        if blocked:  # the fleet model cannot learn: its rooms wait, the rooms with their own model go on
            print(f"fleet: error: the fleet model is not trained: its room(s) {', '.join(sorted(blocked))} failed",
                  file=sys.stderr)
            waiting = set(fleet.shared_rooms)
        else:
            print(f"fleet: then the fleet model (dvc repro {FLEET_DIR}/dvc.yaml:{FLEET_MODEL_STAGE})", flush=True)
            t1 = time.perf_counter()
            proc = subprocess.run(["dvc", "repro", "-q", f"{FLEET_DIR}/dvc.yaml:{FLEET_MODEL_STAGE}"], cwd=root)
            model_seconds = round(time.perf_counter() - t1, 1)
            if proc.returncode != 0:
                print(f"fleet: error: stage {FLEET_MODEL_STAGE} failed (exit {proc.returncode}): "
                      f"dvc repro {FLEET_DIR}/dvc.yaml:{FLEET_MODEL_STAGE}", file=sys.stderr)
                return 1
            plan = stale_plan(root)
        plan = {r: st for r, st in plan.items() if r not in label_failed | waiting}
    if plan:
        print(f"fleet: {len(plan)} of {len(fleet.rooms)} rooms to run: " + ", ".join(
            f"{r} (from {s[0]})" for r, s in plan.items()), flush=True)
        rounds.append(launch(plan, sweep, overrides, root))
    if not rounds:
        print("fleet: every room is up to date", flush=True)
        subprocess.run(["dvc", "repro", "-q", f"{FLEET_DIR}/dvc.yaml"], cwd=root, check=True)
        return 0
    failed = sorted({r for rnd in rounds for r in rnd["failed"]} | waiting)
    for rnd in rounds:
        if rnd["rc"] != 0 and not rnd["failed"]:
            print(f"fleet: error: the launcher failed (exit {rnd['rc']}): {shlex.join(rnd['cmd'])}", file=sys.stderr)
            return 2
    times: dict[str, float] = {}
    for rnd in rounds:
        for room, sec in rnd["times"].items():
            times[room] = round(times.get(room, 0.0) + sec, 2)
    wall = time.perf_counter() - t0
    if times:
        print(f"fleet: {len(times)} rooms in {wall:.0f} s wall, {sum(times.values()):.0f} s of room time "
              f"({sum(times.values()) / max(wall, 1e-9):.2f} rooms at once on average); per room: "
              + ", ".join(f"{r} {s:.0f} s" for r, s in times.items()), flush=True)
    if model_seconds is not None:
        print(f"fleet: the fleet model took {model_seconds:.0f} s (dvc repro {FLEET_DIR}/dvc.yaml:{FLEET_MODEL_STAGE}, "
              "nothing when it was up to date)", flush=True)
    (sweep / "fleet.json").write_text(json.dumps({"wall_seconds": round(wall, 1), "rooms": times,
                                                  "fleet_model_seconds": model_seconds, "failed": failed,
                                                  "overrides": overrides}, indent=2))
    # what is left (the report; and a failed room's stages, which then fail again under DVC's eyes)
    if failed:
        print(f"fleet: error: {len(failed)} room(s) failed: {', '.join(failed)} (logs under multirun/)", file=sys.stderr)
        return 1
    subprocess.run(["dvc", "repro", "-q", f"{FLEET_DIR}/dvc.yaml"], cwd=root, check=True)
    return 0


if __name__ == "__main__":
    hydra_job()
