"""The repository under test: its paths, the tools' environment, commands, a fresh copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and plots the tests keep for a person to look at
FIRMWARE = ROOT / "firmware"
VENV_BIN = Path(sys.executable).parent

# The sweeps' tests (tests/test_sweep.py through Hydra, tests/test_dvc_queue.py through
# DVC's queue) run this grid of two model sizes, smallest first, on the reduced pipeline
# (six days, three epochs, 50 latency runs): one point for each of the two parallel
# workers, so a sweep takes one pipeline's time; the grid's expansion into points is
# tested without running it (test_sweep.py's fast tests).
SWEEP_GRID = "[4],[16,8]"
SWEEP_GRID_LOGGED = ["[4]", "[16, 8]"]  # as MLflow logs the values
REDUCED_PIPELINE = ["data.sim.days=6", "model.epochs=3", "evaluate.latency_runs=50"]


def tool_env(extra: dict | None = None) -> dict:
    """The environment a stage sees: the venv's python and dvc first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("TINYAD_ROOT", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra or {})
    return env


def run(cmd: list[str], cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or tool_env(), text=True, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed with {proc.returncode} in {cwd}\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
    return proc


def copy_worktree(dst: Path) -> Path:
    """Copy what a fresh clone would hold (plus uncommitted work) and make it a repo."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if not src.is_file():
            continue  # deleted in the work tree
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    git = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    run(["git", "init", "-q", "-b", "main"], dst)
    run(["git", "add", "-A"], dst)
    run([*git, "commit", "-q", "-m", "copy of the work tree under test"], dst)
    return dst
