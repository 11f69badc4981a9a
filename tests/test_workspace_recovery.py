"""A refused parameter value never breaks the workspace (issue 13, defect 5).

``dvc exp run -S cluster.k=100`` is refused while DVC composes ``conf/`` (the
``tinyad_preflight`` resolver, loaded by DVC from ``hydra_plugins/``), before
``params.yaml`` is written or a stage's outputs deleted.  A value that reaches a stage
anyway (a hand edit of ``params.yaml``, then ``dvc repro``) stops it with a message
that names the recovery, and the recovery restores the workspace.  The project here is
a copy of the real one with its real ``ingest`` stage (a 1-day simulated room).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tinyad.config import RECOVERY

ROOT = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).with_name("dvc"))


def sh(cmd: list[str] | str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "MLFLOW_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300,
                          shell=isinstance(cmd, str))
    if check:
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("ws") / "proj"
    repo.mkdir()
    for d in ("tinyad", "stages", "conf", "hydra_plugins"):
        shutil.copytree(ROOT / d, repo / d, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "conf" / "data" / "sim.yaml").write_text(
        (ROOT / "conf" / "data" / "sim.yaml").read_text() + "\ndata:\n  sim:\n    days: 1\n")
    (repo / "data" / "raw").mkdir(parents=True)
    (repo / "data" / "raw" / ".gitkeep").write_text("")
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"ingest": dvc["stages"]["ingest"]}}, sort_keys=False))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    sh(["git", "init", "-q", "-b", "main"], repo)
    sh([DVC, "init", "-q"], repo)
    sh([DVC, "config", "hydra.enabled", "true"], repo)
    sh([sys.executable, "-m", "tinyad.params"], repo)
    assert yaml.safe_load((repo / "params.yaml").read_text())["data"]["sim"]["days"] == 1
    sh([DVC, "repro", "-q"], repo)
    sh(["git", "add", "-A"], repo)
    sh([*git, "commit", "-q", "-m", "a reproduced pipeline"], repo)
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p: (repo / p).read_bytes() for p in ("params.yaml", "dvc.lock", "data/interim/readings.parquet")}


def test_dvc_exp_run_refuses_an_out_of_range_value_before_touching_anything(project):
    before = snapshot(project)
    proc = sh([DVC, "exp", "run", "-S", "cluster.k=100"], project, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cluster.k: expected a value in [2, 64], got 100" in out
    assert "refused before params.yaml was written: nothing changed" in out
    assert snapshot(project) == before  # params.yaml, dvc.lock and the outputs as they were
    assert "up to date" in sh([DVC, "status"], project).stdout
    # and queued: nothing is queued
    proc = sh([DVC, "exp", "run", "--queue", "-S", "cluster.k=1,8"], project, check=False)
    assert proc.returncode != 0 and "cluster.k: expected a value in [2, 64], got 1" in proc.stdout + proc.stderr
    assert "Queued" not in sh([DVC, "queue", "status"], project).stdout


def test_a_refused_value_in_a_stage_names_the_recovery_and_the_recovery_restores_the_workspace(project):
    before = snapshot(project)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("period_s: 60", "period_s: 0", 1))  # a hand edit
    proc = sh([DVC, "repro"], project, check=False)
    err = [ln for ln in proc.stderr.splitlines() if "error:" in ln and "data.period_s" in ln]
    assert proc.returncode != 0 and len(err) == 1, proc.stdout + proc.stderr
    assert err[0].endswith(f"fix the value, or restore the last committed params and outputs: {RECOVERY}")
    assert not (project / "data/interim/readings.parquet").exists()  # DVC deleted the stage's outputs
    # the documented recovery, as written in the message
    sh(RECOVERY, project)
    assert snapshot(project) == before
    assert "up to date" in sh([DVC, "status"], project).stdout
    assert "didn't change" in sh([DVC, "repro"], project).stdout  # nothing to rerun
