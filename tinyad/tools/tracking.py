"""One MLflow run per pipeline run: params, every stage's metrics, curves, artifacts, tags.

The last pipeline stage calls ``log_pipeline_run``; the same thing is available as a
command that logs an existing run's outputs from the files afterwards (the recovery
command when tracking failed during the pipeline)::

    python -m tinyad.tools.tracking log [--root .] [--params params.yaml] [--metrics-dir metrics]
                                  [--uri URI] [--experiment NAME] [--artifact PATH ...]

What one run holds:

* params: every key of ``params.yaml``, flattened with dots (``model.hidden``, as
  ``dvc params diff`` names them); lists are logged as JSON;
* metrics: every number in every ``<metrics dir>/<stage>.json``, flattened as
  ``<stage>.<key>.<key>`` (``evaluate.int8_litert.f1``, ``quantize.tflite_bytes``);
  list items get their index as a key, booleans become 0/1, strings and nulls are
  left out; characters MLflow refuses in a name become ``_``; the headline
  (``metrics/headline.json``, ``tinyad/evaluate/headline.py``) under its short names
  (``f1``, ``tflite``, ...), so the runs table has few columns worth showing;
* step metrics: the training curves of ``plots/train/history.csv`` as
  ``train.history.<column>`` with the epoch as the step;
* artifacts: the files and folders passed in (``default_artifacts`` lists the int8
  model, the generated C, the plots, the metrics and the firmware build), each under
  its path relative to the root;
* tags: ``git.commit``, ``git.dirty`` (of the root's work tree), ``dvc.exp_name`` and
  ``dvc.baseline_rev`` when run by ``dvc exp run`` (DVC puts ``DVC_EXP_NAME`` and
  ``DVC_EXP_BASELINE_REV`` in the environment of the experiment's stages: see
  ``dvc/repo/experiments/queue/base.py``), and ``tinyad.root``.  The run is named after
  the DVC experiment when there is one.

Artifacts of a local sqlite store go to ``mlartifacts/`` beside the database (set
when this module creates the experiment).  Where: an explicit ``uri`` argument (``--uri``), else ``MLFLOW_TRACKING_URI`` if set,
else the ``tracking.uri`` param, else ``sqlite:///<project root>/mlflow.db`` with the absolute project root of
``tinyad.paths.project_root`` (the original root also inside a queued experiment's
temporary copy, so queued experiments land in the same database).  Experiment:
``tracking.experiment``.

Failure: ``log_pipeline_run`` never raises unless ``strict=True``.  When the store is
unreachable, locked or read-only, it prints what failed and the exact command that
logs the run later, and returns ``None``.  When the run had been created before the
failure, the command carries ``--replace-run <id>``: the recovery logs a complete run,
then deletes the half-logged one (no duplicate).  When a local ``mlflow.db`` is not a
database (corrupt), it says so and how to move it aside to start a new store first; the DVC metrics files are untouched by
tracking in any case.  For HTTP stores it bounds MLflow's retries and timeout
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``MLFLOW_HTTP_REQUEST_TIMEOUT``) unless the
environment sets them.  MLflow is imported inside the functions that need it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from tinyad.config import flatten
from tinyad.evaluate.headline import HEADLINE_FILE

__all__ = [
    "artifact_location",
    "default_artifacts",
    "flatten_metrics",
    "log_pipeline_run",
    "metric_name",
    "recovery_command",
    "resolve_uri",
]

DEFAULT_EXPERIMENT = "tinyad"
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")
# MLflow's limits on one log_batch call
_BATCH_METRICS, _BATCH_PARAMS = 1000, 100
_PARAM_VALUE_MAX = 6000
HEADLINE_NAME = Path(HEADLINE_FILE).name


# ------------------------------------------------------------------ pure parts
def metric_name(key: str) -> str:
    """A key MLflow accepts: letters, digits, ``_ - . / space``; others become ``_``."""
    name = _BAD_NAME_CHARS.sub("_", str(key))
    if not name or name.startswith("/") or ".." in name:
        name = name.lstrip("/").replace("..", "._") or "_"
    return name


def _numbers(obj: Any, prefix: str, out: dict[str, float]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _numbers(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _numbers(v, f"{prefix}.{i}", out)
    elif isinstance(obj, bool):
        out[metric_name(prefix)] = float(obj)
    elif isinstance(obj, (int, float)) and math.isfinite(obj):
        out[metric_name(prefix)] = float(obj)


def flatten_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every finite number of a nested metrics dict, keyed ``prefix.a.b`` (see module doc)."""
    out: dict[str, float] = {}
    _numbers(metrics, prefix, out)
    return out


def read_stage_metrics(metrics_dir: Path, skip: tuple[str, ...] = ()) -> dict[str, float]:
    """``<stage>.<key>...`` -> value for every ``*.json`` in ``metrics_dir`` but the stages in ``skip``."""
    out: dict[str, float] = {}
    if not metrics_dir.is_dir():
        return out
    for path in sorted(metrics_dir.glob("*.json")):
        if path.name == HEADLINE_NAME or path.stem in skip:  # the headline: logged under its short names
            continue
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
        out.update(flatten_metrics(data, path.stem))
    return out


def read_headline(metrics_dir: Path) -> dict[str, float]:
    """The headline figures (``<metrics dir>/headline.json``) under their short names."""
    path = metrics_dir / HEADLINE_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return flatten_metrics(data)


def read_params(params_path: Path) -> dict[str, str]:
    """Flattened ``params.yaml`` as MLflow params (strings; lists as JSON)."""
    import yaml

    if not params_path.is_file():
        raise FileNotFoundError(f"{params_path}: parameter file not found")
    raw = yaml.safe_load(params_path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{params_path}: expected a mapping of sections at the top level")
    out = {}
    for k, v in flatten(raw).items():
        text = json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else str(v)
        out[metric_name(k)] = text[:_PARAM_VALUE_MAX]
    return out


def read_history(path: Path) -> list[tuple[str, float, int]]:
    """``(train.history.<column>, value, epoch)`` of every finite cell of history.csv."""
    import csv

    if not path.is_file():
        return []
    rows: list[tuple[str, float, int]] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "epoch" not in reader.fieldnames:
            raise ValueError(f"{path}: expected a header with an 'epoch' column, got {reader.fieldnames}")
        for line_no, row in enumerate(reader, start=2):
            try:
                step = int(float(row["epoch"]))
            except ValueError:
                raise ValueError(f"{path}:{line_no}: column 'epoch' is {row['epoch']!r}, expected an integer") from None
            for col, cell in row.items():
                if col == "epoch" or cell in ("", None):
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    raise ValueError(f"{path}:{line_no}: column {col!r} is {cell!r}, expected a number") from None
                if math.isfinite(value):
                    rows.append((metric_name(f"train.history.{col}"), value, step))
    return rows


def default_artifacts(root: Path) -> list[Path]:
    """What a pipeline run leaves that is worth keeping with the MLflow run."""
    candidates = [
        "models/model_int8.tflite",
        "models/quant.json",
        "models/scaler.json",
        "firmware/lib/generated",
        "plots",
        "metrics",
        "build/firmware",
    ]
    return [root / c for c in candidates if (root / c).exists()]


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def run_tags(root: Path) -> dict[str, str]:
    tags = {"tinyad.root": str(root)}
    commit = _git(root, "rev-parse", "HEAD")
    if commit:
        tags["git.commit"] = commit
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        if status is not None:
            tags["git.dirty"] = "true" if status else "false"
    for env, tag in (("DVC_EXP_NAME", "dvc.exp_name"), ("DVC_EXP_BASELINE_REV", "dvc.baseline_rev")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    return tags


def resolve_uri(uri: str | None = None, root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI``, else ``uri`` (the tracking.uri param), else the project's sqlite."""
    from tinyad.paths import project_root

    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if uri:
        return uri
    return f"sqlite:///{project_root(root) / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a local sqlite store URI, or ``None`` (server, in-memory).

    Handles ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` and SQLite's URI
    form ``sqlite:///file:/abs/path.db?mode=ro&uri=true``.
    """
    if not uri.startswith("sqlite:///"):
        return None
    db = uri[len("sqlite:///"):]
    if db.startswith("file:"):
        db = db[len("file:"):].split("?", 1)[0]
    if not db or db == ":memory:":
        return None
    return Path(db)


def artifact_location(uri: str) -> str | None:
    """``<db folder>/mlartifacts`` (absolute) for a local sqlite store, else the server's default.

    MLflow would otherwise put a new experiment's artifacts under ``./mlruns`` of the
    working directory, i.e. inside a queued experiment's temporary copy.
    """
    db = sqlite_path(uri)
    return None if db is None else (db.resolve().parent / "mlartifacts").as_uri()


def recovery_command(root: Path, params_path: Path, metrics_dir: Path, uri: str, experiment: str,
                     artifacts: Iterable[Path] = (), replace_run: str | None = None) -> str:
    """The shell command that logs this run's outputs later (replacing a half-logged run)."""
    parts = [
        "cd", shlex.quote(str(root)), "&&", shlex.quote(sys.executable), "-m", "tinyad.tools.tracking", "log",
        "--root", ".", "--params", shlex.quote(_rel(params_path, root)),
        "--metrics-dir", shlex.quote(_rel(metrics_dir, root)),
        "--uri", shlex.quote(uri), "--experiment", shlex.quote(experiment),
    ]
    if replace_run:
        parts += ["--replace-run", shlex.quote(replace_run)]
    for a in artifacts:
        parts += ["--artifact", shlex.quote(_rel(a, root))]
    return " ".join(parts)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(Path(path).resolve())


# ------------------------------------------------------------------- logging
def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _log(root: Path, params_path: Path, metrics_dir: Path, artifacts: list[Path], uri: str,
         experiment: str, history: Path | None, run_name: str | None, extra_tags: dict[str, str],
         created: list[str] | None = None, replace_run: str | None = None, files: Any = None) -> str:
    import time

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from tinyad.tools import lifecycle as L

    files = files or L.SINGLE_ROOM
    params = read_params(params_path)
    headline = read_headline(metrics_dir)
    metrics = read_stage_metrics(metrics_dir, files.foreign_metrics) | headline
    curves = read_history(history) if history else []
    tags = run_tags(root) | extra_tags
    changed = L.changed_params(root, params)
    name = run_name or L.run_name(changed, tags.get("dvc.exp_name"), tags.get("git.commit"))
    warnings = _evaluate_warnings(metrics_dir)
    tags.setdefault(L.NOTE_TAG, L.description(headline, changed, warnings))
    start_ms = L.pipeline_start_ms() or int(time.time() * 1000)

    client = MlflowClient(tracking_uri=uri)
    exp_id = _experiment_id(client, experiment, uri)
    if replace_run:
        tags["tinyad.replaces"] = replace_run
    run = client.create_run(exp_id, run_name=name, tags=tags, start_time=start_ms)
    run_id = run.info.run_id
    if created is not None:
        created.append(run_id)
    try:
        now = int(time.time() * 1000)
        for chunk in _chunks([Param(k, v) for k, v in sorted(params.items())], _BATCH_PARAMS):
            client.log_batch(run_id, params=chunk)
        entries = [Metric(k, v, now, 0) for k, v in sorted(metrics.items())]
        entries += [Metric(k, v, now, step) for k, v, step in curves]
        for chunk in _chunks(entries, _BATCH_METRICS):
            client.log_batch(run_id, metrics=chunk)
        for path in artifacts:
            path = Path(path)
            if not path.exists():
                print(f"tracking: artifact {path} does not exist; skipped", file=sys.stderr)
                continue
            rel = Path(_rel(path, root))
            parent = None if str(rel.parent) in (".", "") or rel.is_absolute() else str(rel.parent)
            if path.is_dir():
                client.log_artifacts(run_id, str(path), artifact_path=str(rel) if not rel.is_absolute() else path.name)
            else:
                client.log_artifact(run_id, str(path), artifact_path=parent)
        L.log_dataset(client, run_id, root, params_path, files)
        registered = _tracking_params(params_path, "registered_model")
        models = L.log_models(run_id, root, uri, registered or "", headline, files)
        extra = [RunTag("tinyad.metrics_logged", str(len(metrics)))]
        extra += [RunTag(f"tinyad.{k}", v) for k, v in models.items()]
        client.log_batch(run_id, tags=extra)
    except BaseException:
        try:
            client.set_terminated(run_id, status="FAILED")
        except Exception:  # the store may be what failed
            pass
        raise
    client.set_terminated(run_id, status="FINISHED", end_time=int(time.time() * 1000))
    if replace_run:
        _retire(client, replace_run, run_id)
    return run_id


def _exp_id_of(uri: str, experiment: str) -> str:
    from mlflow.tracking import MlflowClient

    try:
        exp = MlflowClient(tracking_uri=uri).get_experiment_by_name(experiment)
    except Exception:  # noqa: BLE001 - only a hint
        exp = None
    return exp.experiment_id if exp else "<experiment id>"


def _evaluate_warnings(metrics_dir: Path) -> list[str]:
    try:
        return list(json.loads((metrics_dir / "evaluate.json").read_text()).get("warnings") or [])
    except (OSError, ValueError, AttributeError):
        return []


def _retire(client, old_id: str, new_id: str) -> None:
    """Delete the half-logged run ``old_id`` that ``new_id`` replaces (only after ``new_id`` is complete).

    A run that finished is left alone: it is not the failed attempt.  MLflow keeps a
    deleted run until ``mlflow gc`` (``mlflow runs restore`` brings it back).
    """
    try:
        old = client.get_run(old_id)
    except Exception:  # noqa: BLE001 - never created, or already gone: nothing to replace
        print(f"tracking: run {old_id} to replace is not in the store; nothing deleted", file=sys.stderr)
        return
    if old.info.status == "FINISHED":
        print(f"tracking: run {old_id} finished, it is kept (not the failed attempt)", file=sys.stderr)
        return
    if old.info.lifecycle_stage != "deleted":
        client.delete_run(old_id)
    print(f"tracking: run {new_id} replaces the {old.info.status} run {old_id} (deleted)", file=sys.stderr)


def _experiment_id(client, experiment: str, uri: str) -> str:
    """The experiment's id, created if missing; another process creating it first is fine."""
    from tinyad.tools.lifecycle import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, VIEW_TAG, headline_view

    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        try:
            client.create_experiment(experiment, artifact_location=artifact_location(uri),
                                     tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        except Exception:
            if client.get_experiment_by_name(experiment) is None:
                raise
        exp = client.get_experiment_by_name(experiment)
    for tag, value in ((EXPERIMENT_KIND_TAG, EXPERIMENT_KIND), (VIEW_TAG, headline_view())):
        if exp.tags.get(tag) != value:  # the model-training view (not GenAI); the headline columns
            client.set_experiment_tag(exp.experiment_id, tag, value)
    return exp.experiment_id


@contextmanager
def store_lock(uri: str, timeout_s: float = 300.0) -> Iterator[None]:
    """Serialise writers of one local sqlite store across processes.

    Queued DVC experiments and parallel sweep points finish at the same moment and
    log to the same ``mlflow.db``; SQLite takes one writer at a time, and the very
    first writers race to create the schema and the experiment.  An exclusive
    ``flock`` on ``<db>.lock`` beside the database makes them take turns (each
    logs in well under a second).  Other stores (a tracking server) are not locked.
    """
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    import fcntl
    import time

    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{db}: another process held the tracking lock for {timeout_s:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def log_pipeline_run(
    root: Path,
    params_path: Path | str = "params.yaml",
    metrics_dir: Path | str = "metrics",
    artifacts: list[Path] | None = None,
    *,
    history: Path | str | None = "plots/train/history.csv",
    uri: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
    strict: bool = False,
    replace_run: str | None = None,
    files: Any = None,
) -> str | None:
    """Log one pipeline run to MLflow; returns its run id, or ``None`` if tracking failed.

    Relative paths resolve against ``root`` (the run's work tree).  An explicit
    ``uri`` is used as given; without it the store is ``resolve_uri`` of the
    ``tracking.uri`` param (``MLFLOW_TRACKING_URI``, else the param, else the project's
    sqlite).  ``experiment`` defaults to ``tracking.experiment``.  ``artifacts=None`` logs
    ``default_artifacts(root)``.  ``files`` (a ``tinyad.tools.lifecycle.RunFiles``) says where
    the run's Keras model, int8 files and readings are: the single-room pipeline's by
    default, a fleet room's (``tinyad.tools.fleet.room_run_files``).  With ``strict=False`` a failure is reported on
    stderr with the recovery command and ``None`` is returned.
    """
    root = Path(root).resolve()
    params_path = _under(root, params_path)
    metrics_dir = _under(root, metrics_dir)
    hist = _under(root, history) if history else None
    arts = [_under(root, a) for a in artifacts] if artifacts is not None else default_artifacts(root)
    cfg_uri, cfg_exp = _tracking_params(params_path)
    resolved = uri or resolve_uri(cfg_uri, root)
    exp_name = experiment or cfg_exp or DEFAULT_EXPERIMENT
    if resolved.startswith(("http://", "https://")):
        for k, v in HTTP_DEFAULTS.items():
            os.environ.setdefault(k, v)
    created: list[str] = []
    try:
        with store_lock(resolved):
            run_id = _log(root, params_path, metrics_dir, arts, resolved, exp_name, hist, run_name, dict(tags or {}),
                          created, replace_run, files)
    except Exception as exc:  # noqa: BLE001 - tracking must never lose the pipeline's results
        if strict:
            raise
        first = failure_reason(exc)
        half = ""
        if created:  # the run exists, half logged: the recovery replaces it rather than adding a second one
            half = (f"Run {created[0]} was created before the failure and is incomplete; the command below "
                    "replaces it (it is deleted once the new run is complete).\n")
        hint = ""
        from tinyad.paths import project_root

        original = project_root(root)
        if original != root:
            exp = os.environ.get("DVC_EXP_NAME", "<experiment>")
            hint = (
                f"(This run is a DVC experiment in a temporary copy; once it has finished, restore its outputs with\n"
                f"    cd {shlex.quote(str(original))} && dvc exp apply {shlex.quote(exp)}\n"
                f" and run the command above with 'cd {shlex.quote(str(original))}'.)\n"
            )
        cmd = recovery_command(root, params_path, metrics_dir, resolved, exp_name, arts,
                               created[0] if created else replace_run)
        print(
            f"\nMLflow tracking FAILED for store {resolved!r} (experiment {exp_name!r}): "
            f"{type(exc).__name__}: {first}\n"
            f"The pipeline's results are intact ({_rel(metrics_dir, root)}/ holds the DVC metrics).\n"
            f"{corrupt_store_notice(resolved, exc)}{half}"
            f"Log this run later with:\n    {cmd}\n{hint}",
            file=sys.stderr,
        )
        return None
    from tinyad.tools.lifecycle import runs_view_path

    print(f"MLflow: logged run {run_id} to experiment {exp_name!r} at {resolved}; headline view: "
          f"mlflow ui, then /{runs_view_path(_exp_id_of(resolved, exp_name))}", file=sys.stderr)
    return run_id


SQLITE_MAGIC = b"SQLite format 3\x00"
_CORRUPT = re.compile(r"file is not a database|database disk image is malformed", re.I)


def corrupt_store_notice(uri: str, exc: BaseException | None = None) -> str:
    """For a local sqlite store that is not a database: what to do first ('' otherwise).

    The recovery command cannot work on a corrupt file, so the user is told to move it
    aside (kept, for ``sqlite3 <file> .recover``) and let the command start a new store.
    """
    db = sqlite_path(uri)
    if db is None or not db.is_file():
        return ""
    with open(db, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    corrupt = (head != SQLITE_MAGIC and len(head) > 0) or bool(exc is not None and _CORRUPT.search(str(exc)))
    if not corrupt:
        return ""
    import datetime

    aside = db.with_name(f"{db.name}.corrupt-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    return (f"{db} is not a usable SQLite database (corrupt): the command below fails until the file is "
            f"replaced. Keep it and start a new store with\n    mv {shlex.quote(str(db))} {shlex.quote(str(aside))}\n"
            f"then run the command below (the old runs stay in {aside.name}; try `sqlite3 {shlex.quote(str(aside))} "
            f".recover` to salvage them).\n")


_REASON = re.compile(r"\(\w+(\.\w+)*Error\)|Error:|refused|timed? ?out|locked|readonly|read-only|unreachable", re.I)


def failure_reason(exc: BaseException) -> str:
    """The most telling line of an exception's text (MLflow wraps the driver's message)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if _REASON.search(ln) and not ln.startswith("(raised as a result of"):
            return ln[:500]
    return (lines[0] if lines else type(exc).__name__)[:500]


def _under(root: Path, p: Path | str) -> Path:
    p = Path(p)
    return p if p.is_absolute() else root / p


def _tracking_params(params_path: Path, key: str | None = None):
    """``tracking.uri`` and ``tracking.experiment`` from params.yaml (None when absent);
    with ``key``, that one key of the section."""
    import yaml

    try:
        raw = yaml.safe_load(params_path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        raw = {}
    section = raw.get("tracking") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        section = {}
    if key is not None:
        return section.get(key) or None
    return (section.get("uri") or None), (section.get("experiment") or None)


# ----------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tinyad.tools.tracking", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    lg = sub.add_parser("log", help="log the outputs of an existing pipeline run as one MLflow run")
    lg.add_argument("--root", default=".", help="the run's work tree (default: .)")
    lg.add_argument("--params", default="params.yaml")
    lg.add_argument("--metrics-dir", default="metrics")
    lg.add_argument("--history", default="plots/train/history.csv")
    lg.add_argument("--uri", default=None, help="tracking URI (default: MLFLOW_TRACKING_URI, tracking.uri, project sqlite)")
    lg.add_argument("--experiment", default=None)
    lg.add_argument("--run-name", default=None)
    lg.add_argument("--artifact", action="append", default=None,
                    help="file or folder to attach (repeatable; default: the standard outputs that exist)")
    lg.add_argument("--replace-run", default=None, metavar="RUN_ID",
                    help="a half-logged run of an earlier attempt: deleted once this run is complete")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    try:
        run_id = log_pipeline_run(
            root, args.params, args.metrics_dir,
            [Path(a) for a in args.artifact] if args.artifact else None,
            history=args.history, uri=args.uri, experiment=args.experiment, run_name=args.run_name, strict=True,
            replace_run=args.replace_run,
        )
    except Exception as exc:  # noqa: BLE001 - the CLI reports and exits non-zero
        print(f"tinyad.tools.tracking: {type(exc).__name__}: {exc}", file=sys.stderr)
        notice = corrupt_store_notice(args.uri or resolve_uri(_tracking_params(_under(root, args.params))[0], root), exc)
        if notice:
            print(notice.rstrip("\n"), file=sys.stderr)
        return 1
    print(run_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
