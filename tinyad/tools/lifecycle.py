"""The MLflow model lifecycle of one pipeline run, as MLflow 3's users expect it.

``tinyad.tools.tracking`` calls these while it logs a run:

* **the experiment's kind**: the tag ``mlflow.experimentKind`` =
  ``custom_model_development``, so the UI opens the model-training view (runs,
  metrics, models), not the GenAI one;
* **the headline in the runs table**: MLflow 3's table shows no metric until one is
  chosen; the experiment tag ``mlflow.sharedViewState.headline`` holds a view with the
  headline's columns, opened by ``runs_view_path`` (``...runs?viewStateShareKey=headline``,
  printed after each run is logged; "Override saved view" keeps it);
* **real run times**: the run starts when the ``dvc`` process that runs the pipeline
  started (``pipeline_start_ms``: the nearest ancestor process whose command is
  ``dvc repro``/``dvc exp``), not when the last stage logs it, and ends when logging
  ends;
* **a readable name and a description**: ``run_name`` is what changed against the
  committed ``params.yaml`` (``hidden=[32,16] k=6``; the DVC experiment's name first
  when there is one; ``baseline <commit>`` when nothing changed), and
  ``description`` (the tag ``mlflow.note.content``, the run's "Description") holds the
  headline and the changes;
* **the dataset** (``log_dataset``): the ingested readings
  (``data/interim/readings.parquet``) as an MLflow dataset input: name, digest, its
  source, and the data config as context (one line: source, period, files or seed;
  every ``data.*`` key is a run param as well);
* **the models** (``log_models``): the trained Keras model as a logged model of the
  ``keras`` flavor, with the int8 ``.tflite``, ``quant.json``, ``scaler.json`` and the
  generated C as that model's artifacts (``int8/``, ``int8/generated/``), linked to
  the run as its output; then a version of the registered model
  ``tracking.registered_model`` with the tags ``tflite_bytes``, ``arena_bytes``,
  ``c_flash_bytes``, ``tflite_sha256`` and the headline's ``f1`` (or, without labels,
  ``alerts_per_day`` and ``flagged_share``), so a user can move an alias
  (``champion``) to the version they flash: ``MlflowClient().set_registered_model_alias(
  "tinyad-detector", "champion", <version>)``.  ``tinyad detect`` finds the version of
  the model it runs by its ``tflite_sha256``.

MLflow and Keras are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The runs table's headline view: MLflow's shared view state (an experiment tag holding
# the table's UI state) opened by ``#/experiments/<id>/runs?viewStateShareKey=headline``
VIEW_KEY = "headline"
VIEW_TAG = "mlflow.sharedViewState." + VIEW_KEY
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
NOTE_TAG = "mlflow.note.content"
KERAS_MODEL = "models/model.keras"
READINGS = "data/interim/readings.parquet"
INT8_ARTIFACTS = ("models/model_int8.tflite", "models/quant.json", "models/scaler.json")
GENERATED = "firmware/lib/generated"


@dataclass(frozen=True)
class RunFiles:
    """Where a pipeline run's model, int8 files, generated C and readings are, relative
    to the root: the single-room pipeline's by default; a fleet room's are under its
    name (``tinyad.tools.fleet.room_run_files``).  ``foreign_metrics``: the stages whose
    metrics file in the run's metrics folder is not the run's own (a room on the fleet
    model keeps a ``train.json`` from when it had its own model)."""

    keras: str = KERAS_MODEL
    int8: tuple[str, ...] = INT8_ARTIFACTS
    generated: str = GENERATED
    readings: str = READINGS
    foreign_metrics: tuple[str, ...] = ()


SINGLE_ROOM = RunFiles()
NAME_MAX = 80
REGISTRY_DESCRIPTION = (
    "The tinyad anomaly detector: one version per pipeline run (the Keras model, with the int8 .tflite and "
    "the generated C under int8/). Tags: int8 size, arena, C flash, F1 (or alerts a day without labels), "
    "the .tflite's sha256 (tinyad detect finds its version by it). Move the alias `champion` to the version "
    "you flash.")
TAG_MAX = 500  # MLflow's limit on an input tag's value


def headline_view() -> str:
    """The UI state of the runs table with the headline figures as columns (JSON)."""
    from tinyad.evaluate.headline import NAMES

    columns = ["attributes.`Dataset`", "attributes.`Models`"] + [f"metrics.`{n}`" for n in NAMES]
    return json.dumps({"selectedColumns": columns}, separators=(",", ":"))


def runs_view_path(experiment_id: str) -> str:
    return f"#/experiments/{experiment_id}/runs?viewStateShareKey={VIEW_KEY}"


# ------------------------------------------------------------- run times
def _proc_start_ms(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])
        btime = next(int(ln.split()[1]) for ln in Path("/proc/stat").read_text().splitlines() if ln.startswith("btime"))
        return int((btime + ticks / os.sysconf("SC_CLK_TCK")) * 1000)
    except (OSError, ValueError, StopIteration, IndexError):
        return None


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return []


def pipeline_start_ms(pid: int | None = None) -> int | None:
    """Start (epoch ms) of the nearest ancestor ``dvc repro`` / ``dvc exp`` process, or None."""
    pid = os.getppid() if pid is None else pid
    for _ in range(32):
        if not pid or pid <= 1:
            return None
        args = _cmdline(pid)
        words = [Path(a).name for a in args[:4]]
        if any(w in ("dvc", "dvc.exe") for w in words) or (len(args) > 2 and args[1:3] == ["-m", "dvc"]):
            if {"repro", "exp", "queue"} & set(args):
                return _proc_start_ms(pid)
        pid = _parent(pid)
    return None


# ------------------------------------------------------------- name, description
def changed_params(root: Path, params: dict[str, str]) -> dict[str, str]:
    """``{key: value}`` of the logged params that differ from the committed params.yaml."""
    import yaml

    from tinyad.tools.tracking import read_params

    try:
        proc = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if proc.returncode != 0:
        return {}
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base_path = Path(tmp) / "params.yaml"
        base_path.write_text(proc.stdout)
        try:
            base = read_params(base_path)
        except (ValueError, yaml.YAMLError):
            return {}
    return {k: v for k, v in params.items() if base.get(k) != v}


def short_key(key: str, keys: list[str]) -> str:
    """The last part of a dotted key, longer only where two keys would share it."""
    parts = key.split(".")
    for n in range(1, len(parts) + 1):
        tail = ".".join(parts[-n:])
        if sum(1 for k in keys if k == tail or k.endswith("." + tail)) == 1:
            return tail
    return key


def run_name(changed: dict[str, str], exp_name: str | None, commit: str | None) -> str:
    keys = sorted(changed)
    text = " ".join(f"{short_key(k, keys)}={changed[k].replace(' ', '')}" for k in keys)
    if exp_name:
        text = f"{exp_name} {text}".strip()
    if not text:
        text = f"baseline {commit[:7]}" if commit else "baseline"
    return text if len(text) <= NAME_MAX else text[: NAME_MAX - 1] + "…"


def description(headline: dict[str, Any], changed: dict[str, str], warnings: list[str]) -> str:
    from tinyad.evaluate.headline import FIGURES

    lines = ["**Headline** (metrics/headline.json)", ""]
    for f in FIGURES:
        if f.name in headline:
            v = headline[f.name]
            lines.append(f"- {f.label.strip()}: **{v:.3f}**" if isinstance(v, float) else f"- {f.label.strip()}: **{v}**")
    lines += ["", "**Changed params** (against the committed params.yaml): "
              + (", ".join(f"`{k}={v}`" for k, v in sorted(changed.items())) or "none")]
    for w in warnings:
        lines.append(f"\nwarning: {w}")
    return "\n".join(lines)


# ------------------------------------------------------------------ dataset
def data_context(data: dict[str, Any]) -> str:
    """One line of the data config: source, period and, for CSV logs, the files."""
    parts = [f"source={data.get('source')}", f"period_s={data.get('period_s')}"]
    csv = data.get("csv") or {}
    if data.get("source") == "csv":
        parts.append("paths=" + ",".join(csv.get("paths") or []))
    else:
        seed = (data.get("sim") or {}).get("seed")
        if seed is not None:
            parts.append(f"sim.seed={seed}")
    return " ".join(parts)


def log_dataset(client, run_id: str, root: Path, params_path: Path, files: RunFiles = SINGLE_ROOM) -> bool:
    """The ingested readings as the run's dataset input; False when there are none."""
    import pandas as pd
    import yaml
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag

    path = root / files.readings
    if not path.is_file():
        return False
    import warnings

    raw = yaml.safe_load(params_path.read_text()) or {}
    data = raw.get("data") or {}
    df = pd.read_parquet(path)
    name = f"readings ({data.get('source', '?')})"
    with warnings.catch_warnings():  # MLflow's hints about its source registry and integer columns
        warnings.simplefilter("ignore", UserWarning)
        ds = from_pandas(df, source=str(path.resolve()), name=name, targets="label" if "label" in df.columns else None)
        entity = ds._to_mlflow_entity()
    # the context badge: the data config in one line (every data.* key is also a run param)
    tags = [InputTag("mlflow.data.context", data_context(data)[:TAG_MAX])]
    client.log_inputs(run_id, datasets=[DatasetInput(entity, tags=tags)])
    return True


# ------------------------------------------------------------------ models
def version_tags(root: Path, headline: dict[str, Any], files: RunFiles = SINGLE_ROOM) -> dict[str, str]:
    tflite = root / files.int8[0]
    tags = {"tflite_sha256": hashlib.sha256(tflite.read_bytes()).hexdigest()}
    for key, name in (("tflite", "tflite_bytes"), ("arena", "arena_bytes"), ("c_flash", "c_flash_bytes"),
                      ("f1", "f1"), ("alerts_d", "alerts_per_day"), ("flagged", "flagged_share")):
        if key in headline:
            v = headline[key]
            tags[name] = str(int(v)) if isinstance(v, float) and v.is_integer() and name.endswith("bytes") else str(v)
    return tags


def log_models(run_id: str, root: Path, uri: str, registered_model: str,
               headline: dict[str, Any], files: RunFiles = SINGLE_ROOM) -> dict[str, str]:
    """Keras logged model + int8/C artifacts + registry version; ``{}`` without a trained model."""
    keras_path = root / files.keras
    if not keras_path.is_file() or not (root / files.int8[0]).is_file():
        return {}
    import tempfile

    import keras
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri
    from mlflow.types.schema import Schema, TensorSpec

    model = keras.models.load_model(keras_path, compile=False)
    n_in = int(model.input_shape[-1])
    import numpy as np

    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), (-1, n_in), "features")]),
                               outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 1), "anomaly")]))
    out: dict[str, str] = {}
    with _use_tracking_uri(uri):
        client = mlflow.MlflowClient(uri)
        with mlflow.start_run(run_id=run_id):  # resumes the run; tracking sets its end time after this
            info = mlflow.keras.log_model(model, name="detector", signature=signature,
                                          pip_requirements=[f"keras=={keras.__version__}"])
        out["model_id"] = info.model_id
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "int8"
            staged.mkdir()
            import shutil

            for rel in files.int8:
                if (root / rel).is_file():
                    shutil.copy2(root / rel, staged / Path(rel).name)
            if (root / files.generated).is_dir():
                shutil.copytree(root / files.generated, staged / "generated")
            client.log_model_artifacts(info.model_id, str(staged), artifact_path="int8")
        if registered_model:
            mv = mlflow.register_model(f"models:/{info.model_id}", registered_model,
                                       tags=version_tags(root, headline, files))
            out["registered_model"] = registered_model
            out["version"] = str(mv.version)
            if not client.get_registered_model(registered_model).description:
                client.update_registered_model(registered_model, description=REGISTRY_DESCRIPTION)
    return out
