"""The fixtures several test modules share (the helpers they call are in ``tests/helpers/``).

``pipeline`` runs the real default pipeline (``dvc repro``) once per test session in
a throw-away copy of this work tree (tracked and untracked-but-not-ignored files, as a
fresh clone would have them, with its own git repository, DVC cache and MLflow
database) and hands the tests its root.  Tests that need real models, generated C or
firmware use it instead of building their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

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
