"""Hyperparameter sweeps: a Hydra multirun grid or an Optuna search, tracked in MLflow.

Run from the project root (docs/sweeps.md has worked examples)::

    # a grid, Hydra's override syntax (the same as `dvc exp run -S`), two points at once
    python -m tinyad.tools.sweep -m model.hidden='[8],[16,8]' cluster.k=3,4
    # a multi-objective search (conf/sweep/optuna.yaml holds the search space)
    python -m tinyad.tools.sweep sweep=optuna sweep.optuna.n_trials=16

The primary config is ``conf/tinyad_sweep.yaml``: the pipeline's ``config.yaml`` plus
the ``sweep`` node (``conf/sweep/``: budgets, objectives, search space) and Hydra's
multirun settings (``hydra/launcher=local``: the joblib launcher with two processes;
``hydra/launcher=slurm``: submitit on SLURM).

What one sweep does:

1. *Preflight*: every point of the grid (or, for a search, the fixed overrides with
   each dimension's first value) is composed and checked against the typed schema
   (``tinyad.config``) before anything runs; a typo (``model.hiddn=[8]``) or a bad
   value fails here with the override named, and nothing is launched or logged.
2. An MLflow *parent run* is created (experiment ``tracking.experiment``, store
   ``tinyad.tools.tracking.resolve_uri``: the project's ``mlflow.db`` unless configured),
   and its id is handed to every point as the config key ``sweep.parent_run_id``
   (a config key travels with the job to any launcher's process or machine).
3. Each point runs the stages of the pipeline table (``tinyad.pipeline``, the one
   ``dvc.yaml`` is checked against) short of the firmware build, each as its own
   ``python -m stages.<name>``: ingest -> cluster -> train -> quantize -> evaluate ->
   codegen (``sweep.codegen``; after evaluate, whose measured TFLM arena it reads),
   into its own directory ``<hydra.sweep.dir>/<n>/`` laid out like the project
   (``params.yaml``, ``data/``, ``models/``, ``metrics/``, ``plots/``).  Points whose
   ``data`` params are equal share one ingest output (``<sweep dir>/shared/``, built
   once under a file lock).  The point is logged as a *child run*
   (``mlflow.parentRunId``) by ``tinyad.tools.tracking.log_pipeline_run``: all params, every
   stage's metrics under the same names as a ``dvc exp run`` (``evaluate.int8_tflm.f1``,
   ``evaluate.memory.tflite_bytes``, ``evaluate.latency_us.tflm.median``, ...).  Its
   summary goes to ``<n>/point.json``.
4. The report (``tinyad.tools.pareto``): Pareto front of F1 against int8 size and latency
   as ``report/pareto.png``, ``.csv``, ``.md``, the recommended point (best F1 within
   ``sweep.flash_budget_bytes`` and ``sweep.ram_budget_bytes``; ties: smaller) and the
   ``dvc exp run -S ...`` command that builds its firmware; all logged to the parent.

The search (``sweep.mode: optuna``) uses Optuna's own API (``optuna`` 5), not
hydra-optuna-sweeper (it pins optuna < 3, whose RDB storage fails under SQLAlchemy 2,
and it cannot pass constraints; docs/sweeps.md).  Each trial is one point as above,
``sweep.optuna.n_jobs`` trials at a time in separate processes (ask/tell); objectives
F1 (max), size and latency (min) from ``sweep.metrics``; the budgets are constraints
(``constraints_func`` of NSGA-II or TPE).

Exit status: 0 when every point finished, 1 when some failed (the report covers the
others), 2 on a bad override or config (nothing run).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shlex
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from tinyad import pipeline
from tinyad.config import PREFLIGHT_KEY, ConfigError, load_dict, register_preflight
from tinyad.paths import project_root

__all__ = [
    "SweepConfig",
    "SweepError",
    "expand_grid",
    "parse_search_space",
    "pipeline_overrides",
    "preflight",
    "run_point",
    "main",
]

CONFIG_NAME = "tinyad_sweep"
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
_HYDRA_FLAGS = {"--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve", "--shell-completion", "-sc",
                "--version"}


class SweepError(ValueError):
    """A sweep override, a sweep setting or a point's run is wrong."""


# ------------------------------------------------------------------ settings
# The types of the ``sweep`` node; its values are written once, in conf/sweep/default.yaml
# and conf/sweep/optuna.yaml (no defaults here: a key missing there is an error).
@dataclass
class SweepMetrics:
    f1: str
    size: str
    latency: str
    ram: str


@dataclass
class OptunaSettings:
    n_trials: int
    n_jobs: int
    sampler: str
    population_size: int
    seed: int
    storage: str
    study_name: str
    params: dict[str, str]


@dataclass
class QualityFloorSettings:
    f1: float
    anomalous_rows: int


@dataclass
class SweepConfig:
    """The ``sweep`` node (conf/sweep/default.yaml says what each key does)."""

    mode: str
    flash_budget_bytes: int
    ram_budget_bytes: int
    metrics: SweepMetrics
    codegen: bool
    share_ingest: bool
    parent_run_id: str
    run_name: str
    quality_floor: QualityFloorSettings
    n_points: int  # set by tinyad.tools.sweep for the progress lines
    started_at: float  # set by tinyad.tools.sweep (epoch seconds)
    optuna: OptunaSettings | None = None  # none: a grid (conf/sweep/optuna.yaml adds it)

    def __post_init__(self) -> None:
        if self.mode not in ("grid", "optuna"):
            raise ConfigError(f"sweep.mode: expected one of ['grid', 'optuna'], got {self.mode!r}")
        if self.mode == "optuna" and self.optuna is None:
            raise ConfigError("sweep.optuna: sweep.mode is 'optuna' but there is no sweep.optuna node (use sweep=optuna)")
        if self.flash_budget_bytes <= 0 or self.ram_budget_bytes <= 0:
            raise ConfigError("sweep.flash_budget_bytes, sweep.ram_budget_bytes: expected positive byte counts")
        if self.optuna is not None:
            o = self.optuna
            if o.sampler not in ("nsga2", "tpe"):
                raise ConfigError(f"sweep.optuna.sampler: expected one of ['nsga2', 'tpe'], got {o.sampler!r}")
            if o.n_trials < 1 or o.n_jobs < 1:
                raise ConfigError("sweep.optuna.n_trials, sweep.optuna.n_jobs: expected at least 1")
            if o.population_size < 2:
                raise ConfigError("sweep.optuna.population_size: expected at least 2")


def split_config(cfg: DictConfig | dict, source: str = "overrides") -> tuple[dict, SweepConfig]:
    """The composed config -> (the pipeline's params dict, validated; the sweep settings)."""
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(cfg, DictConfig):
        cfg = cfg.copy()
        with open_dict(cfg):  # the schema checks the point below, with the sweep's own messages
            if PREFLIGHT_KEY in cfg.keys():
                del cfg[PREFLIGHT_KEY]
        raw = OmegaConf.to_container(cfg, resolve=True)
    else:
        raw = dict(cfg)
        raw.pop(PREFLIGHT_KEY, None)
    raw.pop("hydra", None)
    sweep_raw = raw.pop("sweep", None)
    if sweep_raw is None:
        raise SweepError(f"{source}: no `sweep` node (compose conf/{CONFIG_NAME}.yaml)")
    load_dict(raw, source=source)
    try:
        sweep = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SweepConfig), sweep_raw))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError(f"{source}: {str(exc).splitlines()[0]}" + (f" (full key: sweep.{key})" if key else "")) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return raw, sweep


# ------------------------------------------------------------------ overrides
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def parse_overrides(overrides: Sequence[str]) -> list:
    from hydra.errors import OverrideParseException

    try:
        return _parser().parse_overrides(list(overrides))
    except OverrideParseException as exc:
        raise SweepError(f"bad override: {exc}") from None


def pipeline_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides that change the pipeline's params (not ``sweep.*`` or ``hydra.*``)."""
    out = []
    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if key.split(".")[0].split("/")[0] in ("hydra", "sweep"):
            continue
        out.append(o)
    return out


def expand_grid(overrides: Sequence[str]) -> list[list[str]]:
    """Every point of the grid that ``overrides`` describe, in Hydra's basic sweeper's order."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = parse_overrides(overrides)
    for o in parsed:
        if o.is_sweep_override() and not o.is_discrete_sweep():
            raise SweepError(f"override {o.input_line!r}: interval() is a search space; use sweep=optuna for it")
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(p) for batch in batches for p in batch]


@dataclass
class Dimension:
    """One searched key: ``kind`` is categorical, int or float."""

    key: str
    kind: str
    choices: list[str] = field(default_factory=list)  # override value strings (categorical)
    low: float = 0.0
    high: float = 0.0
    step: int | None = None
    log: bool = False

    def first(self) -> str:
        return self.extremes()[0]

    def extremes(self) -> list[str]:
        """Every choice, or both ends of a range: the values preflight checks."""
        if self.kind == "categorical":
            return list(self.choices)
        fmt = (lambda v: str(int(v))) if self.kind == "int" else (lambda v: repr(float(v)))
        return [fmt(self.low), fmt(self.high)]

    def suggest(self, trial) -> str:
        """Ask the trial for a value; returns it as an override value string."""
        if self.kind == "categorical":
            return str(trial.suggest_categorical(self.key, self.choices))
        if self.kind == "int":
            return str(trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step or 1, log=self.log))
        return repr(float(trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)))


def parse_search_space(space: dict[str, str], source: str = "sweep.optuna.params") -> list[Dimension]:
    """``{"model.hidden": "choice([8],[16,8])", "model.learning_rate": "interval(1e-3, 1e-2)"}``."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    dims = []
    for key, expr in space.items():
        parsed = parse_overrides([f"{key}={expr}"])[0]
        val = parsed.value()
        log = "log" in getattr(val, "tags", set())
        if isinstance(val, ChoiceSweep):
            dims.append(Dimension(key, "categorical", choices=list(parsed.sweep_string_iterator())))
        elif isinstance(val, RangeSweep):
            ints = all(isinstance(v, int) for v in (val.start, val.stop, val.step))
            if ints and val.step > 0:
                dims.append(Dimension(key, "int", low=val.start, high=val.stop - val.step, step=int(val.step), log=log))
            else:
                dims.append(Dimension(key, "categorical", choices=list(parsed.sweep_string_iterator())))
        elif isinstance(val, IntervalSweep):
            ints = isinstance(val.start, int) and isinstance(val.end, int)
            dims.append(Dimension(key, "int" if ints else "float", low=val.start, high=val.end, log=log))
        else:
            raise SweepError(f"{source}.{key}: expected choice(...), range(...) or interval(...), got {expr!r}")
        d = dims[-1]
        if d.kind == "categorical" and not d.choices:
            raise SweepError(f"{source}.{key}: empty {expr!r}")
        if d.kind != "categorical" and not d.low <= d.high:
            raise SweepError(f"{source}.{key}: empty range {expr!r}")
    return dims


# ------------------------------------------------------------------ compose
def compose(overrides: Sequence[str], conf_dir: Path = CONF_DIR, hydra_node: bool = False) -> DictConfig:
    """Compose ``conf/tinyad_sweep.yaml`` with plain (non-sweep) overrides."""
    from hydra import compose as hcompose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_preflight()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir), version_base=None):
        return hcompose(CONFIG_NAME, overrides=list(overrides), return_hydra_config=hydra_node)


def _check_point(overrides: Sequence[str], conf_dir: Path) -> tuple[dict, SweepConfig]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    where = " ".join(overrides) or "(no overrides)"
    try:
        cfg = compose(overrides, conf_dir)
    except (HydraException, OmegaConfBaseException) as exc:
        msg = " ".join(str(exc).split())
        raise SweepError(f"sweep point [{where}]: {msg}") from None
    try:
        return split_config(cfg, source=f"sweep point [{where}]")
    except ConfigError as exc:
        raise SweepError(str(exc)) from None


def preflight(overrides: Sequence[str], conf_dir: Path = CONF_DIR) -> tuple[list[list[str]], SweepConfig, list[Dimension]]:
    """Check every point before anything runs: (grid points, sweep settings, search dims).

    For a grid the points are the Cartesian product; for a search there is one
    "point" (the fixed overrides) and the search dimensions, each checked with its
    first value.  Raises ``SweepError`` naming the bad override.
    """
    parsed = parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    _, base = _check_point(fixed, conf_dir)
    if base.mode == "grid":
        points = expand_grid(overrides)
        for p in points:
            _check_point(p, conf_dir)
        return points, base, []
    # a search: the yaml space, then sweep overrides from the command line on top
    space = dict(base.optuna.params) if base.optuna else {}
    for o in parsed:
        if o.is_sweep_override():
            space[o.key_or_group] = o.input_line.split("=", 1)[1]
    dims = parse_search_space(space)
    if not dims:
        raise SweepError("sweep.optuna.params: the search space is empty")
    for d in dims:
        for value in d.extremes():
            _check_point([*fixed, f"{d.key}={value}"], conf_dir)
    return [fixed], base, dims


# ------------------------------------------------------------------ one point
def _data_key(params: dict) -> str:
    return hashlib.sha256(json.dumps(params["data"], sort_keys=True).encode()).hexdigest()[:16]


# a point runs the pipeline's stages short of the firmware build, its C in <point>/generated/
POINT_STAGES = [n for n in pipeline.names() if n != "firmware"]
_MOVED = {pipeline.GENERATED: "generated"}


def _stage(name: str, work: Path, log: Path | None = None) -> None:
    """Run stage ``name`` of the pipeline table on the paths under ``work``; its output goes to ``log``."""
    try:
        pipeline.run_stage(name, work, log=log, moved=_MOVED)
    except pipeline.StageError as exc:
        raise SweepError(str(exc)) from None


def _ingest(params: dict, out: Path, shared: Path | None, log: Path | None = None) -> None:
    """Ingest into ``out``, or reuse the shared output of equal ``data`` params."""
    if shared is None:
        _stage("ingest", out, log)
        return
    src = shared / f"ingest-{_data_key(params)}"
    src.mkdir(parents=True, exist_ok=True)
    with open(src / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (src / "done").is_file():
            from tinyad.io import write_text

            shutil.copy2(out / "params.yaml", src / "params.yaml")
            _stage("ingest", src, log)
            write_text(src / "done", "\n")
    for rel in (pipeline.READINGS[1], *(p.path for p in pipeline.stage("ingest").of_role(pipeline.METRIC))):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, out / rel)


def point_summary(stage_metrics: dict[str, float], names: SweepMetrics) -> dict[str, float]:
    """The figures a sweep compares, from the flattened stage metrics."""
    out = {}
    for key in ("f1", "size", "latency", "ram"):
        name = getattr(names, key)
        if name not in stage_metrics:
            raise SweepError(f"sweep.metrics.{key}: metric {name!r} not found among the point's metrics")
        out[key] = float(stage_metrics[name])
    f1_name = names.f1
    prefix = f1_name.rsplit(".", 1)[0]  # evaluate.int8_tflm
    for extra, key in (("test_events", "evaluate.data.events"),
                       ("anomalous_rows", "evaluate.data.test_anomalous_rows"),
                       ("accuracy", f"{prefix}.accuracy"),
                       ("f1_point", f"{prefix}.by_type.point.f1"),
                       ("f1_contextual", f"{prefix}.by_type.contextual.f1"),
                       ("f1_collective", f"{prefix}.by_type.collective.f1")):
        if key in stage_metrics:
            out[extra] = float(stage_metrics[key])
    return out


def run_point(
    params: dict,
    out_dir: str | Path,
    *,
    name: str,
    overrides: Sequence[str],
    settings: SweepConfig,
    parent_run_id: str,
    uri: str,
    experiment: str,
    shared_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline's Python stages for one point into ``out_dir`` and log a child run.

    Returns (and writes to ``out_dir/point.json``) ``{"point", "overrides", "run_id",
    "metrics": {f1, size, latency, ram, accuracy, f1_<type>...}, "dir"}``.
    """
    import yaml

    from tinyad.tools import tracking
    from tinyad.io import write_json, write_text

    out = Path(out_dir).resolve()
    load_dict(params, source=f"sweep point {name}")
    write_text(out / "params.yaml", yaml.safe_dump(params, sort_keys=False))
    tfl, quant, met = out / "models/model_int8.tflite", out / "models/quant.json", out / "metrics"
    log = out / "stages.log"
    t0 = time.time()
    _ingest(params, out, Path(shared_dir) if (shared_dir and settings.share_ingest) else None, log)
    for stage in POINT_STAGES:
        if stage != "ingest" and (stage != "codegen" or settings.codegen):
            _stage(stage, out, log)
    seconds = time.time() - t0
    summary = point_summary(tracking.read_stage_metrics(met), settings.metrics)
    tags = {
        "tinyad.sweep.point": name,
        "tinyad.sweep.overrides": " ".join(shlex.quote(o) for o in overrides),
        "tinyad.sweep.dir": str(out.parent),
    }
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    arts = [a for a in (tfl, quant, met, out / "plots/evaluate/summary.md", out / "generated") if a.exists()]
    run_id = tracking.log_pipeline_run(
        out, "params.yaml", "metrics", arts, history="plots/train/history.csv", uri=uri, experiment=experiment,
        run_name=f"{out.parent.name}/{name}", tags=tags, strict=True,
    )
    rec = {"point": name, "overrides": list(overrides), "run_id": run_id, "metrics": summary,
           "seconds": round(seconds, 1), "dir": str(out)}
    write_json(out / "point.json", rec)
    return rec


# ------------------------------------------------------------------ the grid (Hydra)
@hydra.main(config_path=str(CONF_DIR), config_name=CONFIG_NAME, version_base=None)
def hydra_job(cfg: DictConfig) -> float:
    """One multirun job: the point Hydra composed, into ``hydra.sweep.dir/subdir``."""
    from hydra.core.hydra_config import HydraConfig

    from tinyad.tools.tracking import resolve_uri

    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()  # the job may run in a launcher's worker process
    hc = HydraConfig.get()
    params, settings = split_config(cfg, source="sweep point")
    out = Path(hc.runtime.output_dir)
    overrides = pipeline_overrides(list(hc.overrides.task))
    rec = run_point(
        params, out, name=str(hc.job.num), overrides=overrides, settings=settings,
        parent_run_id=settings.parent_run_id, uri=resolve_uri(params["tracking"]["uri"], project_root()),
        experiment=params["tracking"]["experiment"], shared_dir=Path(hc.sweep.dir) / "shared",
    )
    print(f"point {rec['point']}: {' '.join(overrides) or '(defaults)'}: " + ", ".join(
        f"{k} {v:.4g}" for k, v in rec["metrics"].items()), flush=True)
    if settings.n_points:
        from tinyad.tools.progress import eta_line

        done = len(list(Path(hc.sweep.dir).glob("*/point.json")))
        print(eta_line("point", done, settings.n_points, time.time() - settings.started_at), flush=True)
    return rec["metrics"]["f1"]


# ------------------------------------------------------------------ parent run and report
class _Parent:
    def __init__(self, uri: str, experiment: str, name: str, tags: dict[str, str], params: dict[str, Any]):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp else self.client.create_experiment(experiment)
        run = self.client.create_run(exp_id, run_name=name, tags=tags)
        self.run_id = run.info.run_id
        self.client.log_batch(self.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])

    def abort(self) -> None:
        """Mark the parent run KILLED (the sweep was interrupted or crashed)."""
        try:
            self.client.set_terminated(self.run_id, status="KILLED")
        except Exception:  # noqa: BLE001 - the store may be what failed
            pass

    def finish(self, report, n_points: int, n_failed: int, out_dir: Path) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        metrics = [Metric("sweep.points", n_points, now, 0), Metric("sweep.failed", n_failed, now, 0)]
        tags = []
        if report is not None:
            self.client.log_artifacts(self.run_id, str(out_dir), artifact_path="report")
            best = report.recommended
            metrics.append(Metric("sweep.points_within_budgets", sum(r["meets_budgets"] for r in report.rows), now, 0))
            if best is not None:
                from tinyad.tools.pareto import dvc_command

                metrics += [Metric("best.f1", best.f1, now, 0), Metric("best.size_bytes", best.size, now, 0),
                            Metric("best.latency_us", best.latency, now, 0), Metric("best.ram_bytes", best.ram, now, 0)]
                tags += [RunTag("tinyad.sweep.recommended", best.name),
                         RunTag("tinyad.sweep.recommended_overrides", " ".join(best.overrides)),
                         RunTag("tinyad.sweep.recommended_command", dvc_command(best.overrides))]
        self.client.log_batch(self.run_id, metrics=metrics, tags=tags)
        self.client.set_terminated(self.run_id, status="FINISHED" if n_failed == 0 else "FAILED")


def _finish(parent: _Parent, sweep_dir: Path, settings: SweepConfig, n_expected: int) -> int:
    from tinyad.tools.pareto import load_points, write_report

    points = load_points(sweep_dir)
    failed = n_expected - len(points)
    report = None
    if points:
        from tinyad.tools.pareto import QualityFloor

        floor = QualityFloor(settings.quality_floor.f1, settings.quality_floor.anomalous_rows)
        report = write_report(points, settings.flash_budget_bytes, settings.ram_budget_bytes, sweep_dir / "report", floor)
        print(report.markdown)
        print(f"report: {sweep_dir / 'report'}; MLflow parent run {parent.run_id}")
    parent.finish(report, len(points), failed, sweep_dir / "report")
    if failed:
        print(f"error: {failed} of {n_expected} points failed (see the log above and {sweep_dir})", file=sys.stderr)
        return 1
    return 0


def _sweep_context(point: Sequence[str]) -> tuple[Path, str, str]:
    """(absolute sweep dir, tracking uri, experiment) of a sweep whose first point is ``point``."""
    from tinyad.tools.tracking import resolve_uri

    cfg = compose(point, hydra_node=True)
    sweep_dir = Path(str(OmegaConf.select(cfg, "hydra.sweep.dir")))
    if not sweep_dir.is_absolute():
        sweep_dir = project_root() / sweep_dir
    uri = resolve_uri(str(cfg.tracking.uri), project_root())
    return sweep_dir, uri, str(cfg.tracking.experiment)


def _run_grid(overrides: list[str], points: list[list[str]], settings: SweepConfig) -> int:
    sweep_dir, uri, experiment = _sweep_context(points[0])
    if sweep_dir.exists() and any(sweep_dir.glob("*/point.json")):
        raise SweepError(f"hydra.sweep.dir: {sweep_dir} already holds a sweep; pick another directory")
    parent = _Parent(uri, experiment, settings.run_name or sweep_dir.name,
                     {"tinyad.sweep.mode": "grid", "tinyad.sweep.dir": str(sweep_dir),
                      "tinyad.sweep.command": "python -m tinyad.tools.sweep " + " ".join(shlex.quote(o) for o in overrides)},
                     {"sweep.overrides": " ".join(overrides), "sweep.points": len(points),
                      "sweep.flash_budget_bytes": settings.flash_budget_bytes,
                      "sweep.ram_budget_bytes": settings.ram_budget_bytes})
    print(f"sweep: {len(points)} point(s) into {sweep_dir}; MLflow parent run {parent.run_id} at {uri}", flush=True)
    args = [o for o in overrides if not o.startswith(("hydra.sweep.dir=", "sweep.parent_run_id="))]
    args = [o for o in args if not o.startswith(("sweep.n_points=", "sweep.started_at="))]
    argv = ["-m", *args, f"sweep.parent_run_id={parent.run_id}", f"hydra.sweep.dir={sweep_dir}",
            f"sweep.n_points={len(points)}", f"sweep.started_at={time.time():.0f}"]
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    saved = sys.argv
    sys.argv = [saved[0] if saved else "tinyad.tools.sweep", *argv]
    try:
        hydra_job()
    except SystemExit as exc:  # Hydra exits 1 when a job raised
        if exc.code not in (0, None):
            print(f"sweep: a point failed (Hydra exit status {exc.code})", file=sys.stderr)
    except BaseException:
        parent.abort()
        raise
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return _finish(parent, sweep_dir, settings, len(points))


# ------------------------------------------------------------------ the search (Optuna)
def _constraints(trial) -> list[float]:
    """Optuna constraints: <= 0 is feasible ([size - flash budget, ram - ram budget])."""
    return list(trial.user_attrs.get("constraints", [1.0, 1.0]))


def _point_worker(kwargs: dict) -> dict:
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()  # a fresh (spawned) process: before its stages import TensorFlow
    return run_point(**kwargs)


def _run_search(overrides: list[str], fixed: list[str], dims: list[Dimension], settings: SweepConfig) -> int:
    import optuna

    o = settings.optuna
    sweep_dir, uri, experiment = _sweep_context(fixed)
    if sweep_dir.exists() and any(sweep_dir.glob("*/point.json")):
        raise SweepError(f"hydra.sweep.dir: {sweep_dir} already holds a sweep; pick another directory")
    space = {d.key: (d.choices if d.kind == "categorical" else [d.low, d.high]) for d in dims}
    parent = _Parent(uri, experiment, settings.run_name or sweep_dir.name,
                     {"tinyad.sweep.mode": "optuna", "tinyad.sweep.dir": str(sweep_dir),
                      "tinyad.sweep.command": "python -m tinyad.tools.sweep " + " ".join(shlex.quote(x) for x in overrides)},
                     {"sweep.overrides": " ".join(fixed), "sweep.search_space": json.dumps(space),
                      "sweep.n_trials": o.n_trials, "sweep.sampler": o.sampler, "sweep.seed": o.seed,
                      "sweep.flash_budget_bytes": settings.flash_budget_bytes,
                      "sweep.ram_budget_bytes": settings.ram_budget_bytes})
    print(f"search: {o.n_trials} trials ({o.sampler}, {o.n_jobs} at a time) into {sweep_dir}; "
          f"MLflow parent run {parent.run_id} at {uri}", flush=True)
    if o.sampler == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(population_size=o.population_size, seed=o.seed,
                                                constraints_func=_constraints)
    else:
        sampler = optuna.samplers.TPESampler(seed=o.seed, constraints_func=_constraints)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=sampler,
                                storage=o.storage or None, study_name=o.study_name, load_if_exists=bool(o.storage))
    try:
        _search_loop(study, fixed, dims, settings, sweep_dir, parent.run_id, uri, experiment)
    except BaseException:
        parent.abort()
        raise
    return _finish(parent, sweep_dir, settings, o.n_trials)


def _search_loop(study, fixed: list[str], dims: list[Dimension], settings: SweepConfig, sweep_dir: Path,
                 parent_run_id: str, uri: str, experiment: str) -> None:
    """Ask ``n_jobs`` trials, run them in parallel processes, tell their results; repeat."""
    import concurrent.futures as cf
    import multiprocessing as mp

    import optuna

    o = settings.optuna
    done = 0
    t_start = time.time()
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=o.n_jobs, mp_context=ctx) as pool:
        while done < o.n_trials:
            batch = []
            for _ in range(min(o.n_jobs, o.n_trials - done)):
                trial = study.ask()
                point = [*fixed, *[f"{d.key}={d.suggest(trial)}" for d in dims]]
                params, _ = _check_point(point, CONF_DIR)
                name = str(trial.number)
                kwargs = dict(params=params, out_dir=sweep_dir / name, name=name, overrides=pipeline_overrides(point),
                              settings=settings, parent_run_id=parent_run_id, uri=uri, experiment=experiment,
                              shared_dir=sweep_dir / "shared")
                batch.append((trial, point, pool.submit(_point_worker, kwargs)))
            for trial, point, fut in batch:
                try:
                    rec = fut.result()
                except Exception:  # noqa: BLE001 - one failed trial does not end the search
                    print(f"trial {trial.number} [{' '.join(point)}] failed:\n{traceback.format_exc()}", file=sys.stderr)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                m = rec["metrics"]
                trial.set_user_attr("constraints", [m["size"] - settings.flash_budget_bytes,
                                                    m["ram"] - settings.ram_budget_bytes])
                trial.set_user_attr("overrides", rec["overrides"])
                trial.set_user_attr("run_id", rec["run_id"])
                study.tell(trial, [m["f1"], m["size"], m["latency"]])
                print(f"trial {trial.number}: {' '.join(rec['overrides'])}: F1 {m['f1']:.4f}, "
                      f"{m['size']:g} B, {m['latency']:.1f} us, RAM {m['ram']:g} B", flush=True)
            done += len(batch)
            from tinyad.tools.progress import eta_line

            print(eta_line("trial", done, o.n_trials, time.time() - t_start), flush=True)


# ------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> int:
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()  # before any point's stages import TensorFlow
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a.split("=", 1)[0] in _HYDRA_FLAGS for a in args):
        saved = sys.argv
        sys.argv = [saved[0] if saved else "tinyad.tools.sweep", *args]
        try:
            hydra_job()
        finally:
            sys.argv = saved
        return 0
    overrides = [a for a in args if a not in ("-m", "--multirun")]
    unknown = [a for a in overrides if a.startswith("-")]
    if unknown:
        print(f"error: unknown option(s) {unknown}; expected -m and Hydra overrides (key=value)", file=sys.stderr)
        return 2
    try:
        points, settings, dims = preflight(overrides)
        if settings.mode == "grid":
            return _run_grid(overrides, points, settings)
        return _run_search(overrides, points[0], dims, settings)
    except (SweepError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # through the imported module, so that joblib's workers unpickle tinyad.tools.sweep's
    # functions by reference (a function of __main__ would travel by value)
    from tinyad.tools.sweep import main as _main

    sys.exit(_main())
