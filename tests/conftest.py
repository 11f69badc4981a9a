"""The fixtures several test modules share (the helpers they call are in ``tests/helpers/``).

- ``pipeline`` runs the real default pipeline (``dvc repro``) once per test session in
a throw-away copy of this work tree (tracked and untracked-but-not-ignored files, as a
fresh clone would have them, with its own git repository, DVC cache and MLflow
database) and hands the tests its root.  Tests that need real models, generated C or
firmware use it instead of building their own.
- ``generated_dir``: the generated C the firmware is built against, the pipeline's
  (``TINYAD_TEST_GENERATED_DIR=<dir>`` points it at another one, e.g. while developing
  the firmware against hand-made stand-ins).
- ``host_build``: the host firmware built by PlatformIO from a copy of the project on
  ``generated_dir``, once a module (``tests.helpers.firmware.build_host``).
- ``model_dir``: where ``tests.helpers.cbuild.variant_tflite`` keeps the MLP variants it
  builds, once a session.
- ``workdir``: the evaluate stage's inputs on a small labelled room log, with a tiny
  Keras model and its int8 twin, once a module (``tests.helpers.evaluate``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.evaluate import write_evaluate_inputs
from tests.helpers.firmware import GENERATED_ENV, HostBuild, build_host
from tests.helpers.project import copy_worktree, run


@dataclass
class Pipeline:
    root: Path
    repro_stdout: str
    repro_stderr: str = ""

    def path(self, rel: str) -> Path:
        return self.root / rel


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Pipeline:
    """The default pipeline, reproduced once in a copy of the work tree."""
    reuse = os.environ.get("TINYAD_TEST_PIPELINE_ROOT")  # a work tree already reproduced (while developing)
    if reuse:
        log = Path(reuse) / ".dvc" / "tmp" / "repro.log"  # the output of its `dvc repro`, if kept there
        return Pipeline(root=Path(reuse).resolve(), repro_stdout=log.read_text() if log.is_file() else "")
    root = copy_worktree(tmp_path_factory.mktemp("pipeline") / "repo")
    proc = run(["dvc", "repro"], root)
    return Pipeline(root=root, repro_stdout=proc.stdout, repro_stderr=proc.stderr)


@pytest.fixture(scope="session")
def generated_dir(request) -> Path:
    """The generated C the firmware is built against (see the module docstring)."""
    override = os.environ.get(GENERATED_ENV)
    if override:
        path = Path(override).resolve()
    else:
        path = request.getfixturevalue("pipeline").path("firmware/lib/generated")
    assert (path / "tinyad_config.h").is_file(), f"{path}: no tinyad_config.h (run `dvc repro codegen`)"
    return path


@pytest.fixture(scope="module")
def host_build(tmp_path_factory, generated_dir) -> HostBuild:
    """`pio run -e host` in a copy of the project, offline, with an empty HOME."""
    return build_host(tmp_path_factory.mktemp("fw"), generated_dir)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The folder of the MLP variants' .tflite files (built on first use, then reused)."""
    return tmp_path_factory.getbasetemp() / "mlp-models"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """dataset.parquet, scaler.json, model.keras, model_int8.tflite, quant.json, params.yaml."""
    return write_evaluate_inputs(tmp_path_factory.mktemp("evaluate"))
