"""Where things are, resolved from the project root.

``dvc exp run --queue`` runs each experiment in a temporary copy of the repository
under ``<root>/.dvc/tmp/exps/``, where untracked files (the MLflow database, the
shared datasets beside the project) are missing and relative paths point into the
copy.  ``project_root()`` therefore returns the *original* root: ``TINYAD_ROOT`` if
set, else the part of the working directory before ``/.dvc/tmp/exps/``, else the
working directory itself (DVC runs stages from the root).
"""

from __future__ import annotations

import os
from pathlib import Path

_EXPS_MARKER = os.sep + os.path.join(".dvc", "tmp", "exps") + os.sep


def project_root(cwd: str | Path | None = None) -> Path:
    env = os.environ.get("TINYAD_ROOT")
    if env:
        return Path(env).resolve()
    here = str(Path(cwd or os.getcwd()).resolve()) + os.sep
    idx = here.find(_EXPS_MARKER)
    if idx >= 0:
        return Path(here[:idx])
    return Path(here).resolve()


def resolve_external(path: str | Path, cwd: str | Path | None = None) -> Path:
    """Resolve a user path (absolute, or relative to the project root)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (project_root(cwd) / p)
