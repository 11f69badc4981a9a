"""Sweeps through the Hydra entry point (tinyad/tools/sweep.py): preflight, grid, search, MLflow.

The fast tests check the override handling and the launcher configs; the slow ones
run a real 2-point grid (one point a worker) and a 4-trial Optuna search (two
generations of two) on a reduced dataset in a
throw-away copy of the work tree and read the results back with
``mlflow.search_runs``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers.project import REDUCED_PIPELINE, SWEEP_GRID, SWEEP_GRID_LOGGED, copy_worktree, run, tool_env

from tinyad.tools.sweep import (
    SweepError,
    compose,
    expand_grid,
    parse_search_space,
    pipeline_overrides,
    preflight,
    split_config,
)

SMALL = REDUCED_PIPELINE


# ------------------------------------------------------------------ fast
def test_grid_is_the_cartesian_product_of_the_sweep_overrides():
    pts = expand_grid(["model.hidden=[8],[16,8]", "cluster.k=3,4,5", "model.epochs=3"])
    assert len(pts) == 6
    assert pts[0] == ["model.hidden=[8]", "cluster.k=3", "model.epochs=3"]
    assert pts[-1] == ["model.hidden=[16,8]", "cluster.k=5", "model.epochs=3"]
    assert len({tuple(p) for p in pts}) == 6
    assert len(expand_grid(["cluster.k=range(3,7)"])) == 4


def test_preflight_checks_every_point_and_names_the_typo():
    points, settings, dims = preflight(["model.hidden=[8],[16,8]", "cluster.k=3,4", *SMALL])
    assert len(points) == 4 and settings.mode == "grid" and dims == []
    with pytest.raises(SweepError, match=r"model\.hiddn"):
        preflight(["model.hiddn=[8],[16,8]", "cluster.k=3,4"])
    # only the second value is bad: the error names that point
    with pytest.raises(SweepError, match=r"model\.hidden=\[0\].*expected a list of positive layer sizes"):
        preflight(["model.hidden=[8],[0]"])
    with pytest.raises(SweepError, match=r"sweep\.flash_budget"):
        preflight(["sweep.flash_budget=100"])
    with pytest.raises(SweepError, match="interval"):
        preflight(["model.learning_rate=interval(0.001,0.01)"])


def test_search_space_from_yaml_and_command_line():
    points, settings, dims = preflight(["sweep=optuna", "model.dropout=interval(0,0.3)", *SMALL])
    assert settings.mode == "optuna" and settings.optuna is not None
    assert points == [["sweep=optuna", *SMALL]]
    by_key = {d.key: d for d in dims}
    assert by_key["model.hidden"].kind == "categorical" and "[16,8]" in by_key["model.hidden"].choices
    assert by_key["model.learning_rate"].kind == "float" and by_key["model.learning_rate"].log
    assert (by_key["cluster.k"].kind, by_key["cluster.k"].low, by_key["cluster.k"].high) == ("int", 3, 8)
    assert (by_key["model.dropout"].low, by_key["model.dropout"].high) == (0, 0.3)
    with pytest.raises(SweepError, match=r"model\.hiddn"):
        preflight(["sweep=optuna", "model.hiddn=choice([8],[16])"])
    with pytest.raises(SweepError, match="expected choice"):
        parse_search_space({"model.epochs": "5"})
    # both ends of a range are checked: dropout may not exceed 0.9
    with pytest.raises(SweepError, match=r"model\.dropout.*0\.95"):
        preflight(["sweep=optuna", "model.dropout=interval(0,0.95)"])


def test_sweep_settings_are_typed_and_kept_out_of_the_pipeline_params():
    params, sweep = split_config(compose(["sweep=optuna", "sweep.optuna.n_trials=3"]))
    assert "sweep" not in params and "hydra" not in params and set(params) >= {"data", "model", "tracking"}
    assert sweep.optuna.n_trials == 3 and sweep.flash_budget_bytes > 0 and sweep.ram_budget_bytes > 0
    with pytest.raises(Exception, match=r"sweep\.optuna\.sampler"):
        split_config(compose(["sweep=optuna", "sweep.optuna.sampler=grid"]))
    assert pipeline_overrides(["model.hidden=[8]", "sweep=optuna", "sweep.optuna.n_trials=3",
                               "hydra.launcher.n_jobs=1", "hydra/launcher=slurm", "+cluster.k=3"]) == [
        "model.hidden=[8]", "+cluster.k=3"]


def test_the_sweep_settings_are_the_yaml_s_written_once():
    """conf/sweep/*.yaml holds the values; the dataclasses only type them (a missing key fails)."""
    import dataclasses

    import yaml

    from tinyad.config import ConfigError

    conf = Path(__file__).parents[1] / "conf/sweep"
    optuna_yaml = yaml.safe_load((conf / "optuna.yaml").read_text())["optuna"]
    default_yaml = yaml.safe_load((conf / "default.yaml").read_text())
    sweep = split_config(compose(["sweep=optuna"]))[1]
    assert dataclasses.asdict(sweep.optuna) == optuna_yaml
    assert dataclasses.asdict(sweep.quality_floor) == default_yaml["quality_floor"]
    assert (sweep.codegen, sweep.share_ingest) == (default_yaml["codegen"], default_yaml["share_ingest"])
    with pytest.raises(ConfigError, match=r"sweep\.optuna\.seed"):
        split_config(compose(["sweep=optuna", "~sweep.optuna.seed"]))


def test_the_sweep_config_leaves_params_yaml_unchanged():
    """DVC composes config.yaml only: the sweep node and conf/hydra/ must not leak into it."""
    proc = subprocess.run([sys.executable, "-m", "tinyad.params", "--check"], cwd=Path(__file__).parents[1],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_launcher_configs_compose_and_name_installed_plugins():
    import importlib

    from hydra.utils import get_class

    local = compose([], hydra_node=True).hydra.launcher
    assert local._target_.endswith("JoblibLauncher") and local.n_jobs == 2
    for choice in ("slurm", "submitit_slurm", "submitit_local"):
        cfg = compose([f"hydra/launcher={choice}"], hydra_node=True).hydra.launcher
        assert "hydra_submitit_launcher" in cfg._target_
        assert get_class(cfg._target_).__name__ in ("SlurmLauncher", "LocalLauncher")
    slurm = compose(["hydra/launcher=slurm", "hydra.launcher.partition=cpu"], hydra_node=True).hydra.launcher
    assert slurm.partition == "cpu" and slurm.cpus_per_task == 2 and slurm.timeout_min == 60
    importlib.import_module("hydra_plugins.hydra_joblib_launcher.joblib_launcher")


def test_a_typo_fails_before_anything_runs(tmp_path):
    repo = copy_worktree(tmp_path / "repo")
    proc = run([sys.executable, "-m", "tinyad.tools.sweep", "-m", "model.hiddn=[8],[16,8]", "cluster.k=3,4"], repo,
               check=False)
    assert proc.returncode == 2
    assert "model.hiddn" in proc.stderr and "error:" in proc.stderr
    assert not (repo / "multirun").exists() and not (repo / "mlflow.db").exists()


def test_a_failing_point_fails_the_sweep_and_its_parent_run(tmp_path):
    """A point whose ingest fails (no such log): exit 1, parent run FAILED, nothing reported."""
    repo = copy_worktree(tmp_path / "repo")
    proc = run([sys.executable, "-m", "tinyad.tools.sweep", "-m", "data.source=csv", "data.csv.paths=[no/such/log.csv]",
                "hydra.launcher.n_jobs=1", "hydra.sweep.dir=multirun/bad"], repo, check=False)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 of 1 points failed" in proc.stderr and "no/such/log.csv" in proc.stdout + proc.stderr
    runs = _runs(repo)
    assert len(runs) == 1 and runs["status"].iloc[0] == "FAILED"
    assert runs["metrics.sweep.failed"].iloc[0] == 1 and runs["metrics.sweep.points"].iloc[0] == 0
    assert not (repo / "multirun/bad/report").exists()


# ------------------------------------------------------------------ slow
def _runs(repo: Path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["tinyad"])


FIGURES = ["metrics.evaluate.int8_tflm.f1", "metrics.evaluate.int8_tflm.accuracy",
           "metrics.evaluate.memory.tflite_bytes", "metrics.evaluate.latency_us.tflm.median",
           "metrics.evaluate.memory.tflm_arena_bytes"]


GRID, GRID_LOGGED = SWEEP_GRID, SWEEP_GRID_LOGGED  # the same grid as tests/test_dvc_queue.py


@pytest.fixture(scope="module")
def sweep_repo(tmp_path_factory) -> Path:
    return copy_worktree(tmp_path_factory.mktemp("sweep") / "repo")


@pytest.mark.slow
def test_grid_through_hydra_gives_one_child_run_a_point(sweep_repo):
    repo = sweep_repo
    proc = run([sys.executable, "-m", "tinyad.tools.sweep", "-m", f"model.hidden={GRID}", *SMALL,
                "hydra.sweep.dir=multirun/grid"], repo, env=tool_env())
    sweep_dir = repo / "multirun/grid"
    log = proc.stdout + proc.stderr
    assert "Joblib.Parallel(n_jobs=2" in log and f"is launching {len(GRID_LOGGED)} jobs" in log
    runs = _runs(repo)
    parents = runs[runs["tags.tinyad.sweep.mode"] == "grid"]
    assert len(parents) == 1
    parent_id = parents["run_id"].iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent_id]
    assert len(children) == len(GRID_LOGGED) and set(children["status"]) == {"FINISHED"}
    assert sorted(children["params.model.hidden"]) == sorted(GRID_LOGGED)
    assert children[FIGURES].notna().all().all()
    assert (children["metrics.evaluate.int8_tflm.accuracy"].between(0, 1)).all()
    # side by side: a bigger network is a bigger flatbuffer, point by point
    size = children.set_index("params.model.hidden")["metrics.evaluate.memory.tflite_bytes"]
    assert list(size[GRID_LOGGED]) == sorted(size), size
    # every point in its own directory; equal data params: one shared ingest
    for n in range(len(GRID_LOGGED)):
        assert (sweep_dir / str(n) / "models/model_int8.tflite").is_file()
        assert (sweep_dir / str(n) / "point.json").is_file()
    assert len(list((sweep_dir / "shared").glob("ingest-*"))) == 1
    # the report is on the parent run
    from mlflow.tracking import MlflowClient

    arts = [a.path for a in MlflowClient().list_artifacts(parent_id, "report")]
    assert sorted(arts) == ["report/pareto.csv", "report/pareto.md", "report/pareto.png"]


@pytest.mark.slow
def test_tiny_optuna_search_reports_a_front_and_a_configuration_within_budgets(sweep_repo):
    repo = sweep_repo
    run([sys.executable, "-m", "tinyad.tools.sweep", "sweep=optuna", "sweep.optuna.n_trials=4",
         "sweep.optuna.population_size=2", "sweep.optuna.params={model.hidden: 'choice([4],[8],[16,8])'}",
         "model.learning_rate=interval(0.003,0.01)", *SMALL, "hydra.sweep.dir=multirun/search",
         # three epochs on six days: no point reaches the default quality floor, which would
         # rightly leave no recommendation; this test is about the budgets and the front
         "sweep.quality_floor.f1=0.0", "sweep.quality_floor.anomalous_rows=1"], repo, env=tool_env())
    report = repo / "multirun/search/report"
    png = (report / "pareto.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    rows = list(csv.DictReader((report / "pareto.csv").open()))
    assert len(rows) == 4
    settings = split_config(compose(["sweep=optuna"]))[1]
    rec = [r for r in rows if r["recommended"] == "true"]
    assert len(rec) == 1
    assert int(rec[0]["size_bytes"]) <= settings.flash_budget_bytes
    assert int(rec[0]["ram_bytes"]) <= settings.ram_budget_bytes
    feasible = [r for r in rows if r["meets_budgets"] == "true"]
    assert float(rec[0]["f1"]) == max(float(r["f1"]) for r in feasible)
    md = (report / "pareto.md").read_text()
    assert f"Recommended: point {rec[0]['point']}" in md and "dvc exp run -S" in md
    runs = _runs(repo)
    parent = runs[runs["tags.tinyad.sweep.mode"] == "optuna"]
    assert len(parent) == 1
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"].iloc[0]]
    assert len(children) == 4 and children[FIGURES].notna().all().all()
    assert parent["tags.tinyad.sweep.recommended"].iloc[0] == rec[0]["point"]
    lr = children["params.model.learning_rate"].astype(float)
    assert lr.between(0.003, 0.01).all()
