"""How a stage ends: a user's mistake is one clear line, not a traceback.

Every ``stages/<name>.py`` ends with ``raise SystemExit(run_stage(main, "<name>"))``.
``run_stage`` first quiets TensorFlow (``tinyad.tools.quiet``: before any stage imports
it).  A bad parameter (``ConfigError``: the message names the full key), a missing
or unreadable input file, or bad input data (``ValueError`` raised with a message
naming the file and what was expected) prints ``<stage>: error: <message>`` on
stderr and exits with status 2; DVC then stops the pipeline and keeps every earlier
output.  A missing input that another stage of ``dvc.yaml`` writes names that stage
(``run `dvc repro cluster` first``).  Anything else is a bug and keeps its traceback.

The exit-code contract of every stage:

* 0: the stage ran and wrote its outputs (warnings go to stderr as
  ``<stage>: warning: ...`` and do not change the status);
* 2: bad input (``USER_ERRORS``: a parameter, a missing or unreadable file, data that
  is not what the stage expects), one line on stderr, no output written;
* 1 (``firmware`` only): the environment cannot do it, not the input: an ESP32
  environment whose PlatformIO platform is not installed while the registry is
  unreachable, or a failed compiler run; one line naming the environment and where
  to build it instead;
* anything else (Python's 1 with a traceback): a bug.

A stage's ``main(argv)`` raises; it does not catch its user errors itself, so that
it can be called in process (``tinyad.stage.stage_main``, the tests) and the
exception seen.  The opening of a ``main`` (its
arguments, the params, the scaler, the parquet) is ``tinyad/stage.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from tinyad.config import ConfigError

USER_ERRORS = (ConfigError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)


def stage_outputs(dvc_yaml: str | Path = "dvc.yaml") -> dict[str, str]:
    """``{output path: stage}`` of every ``outs``/``metrics``/``plots`` entry of dvc.yaml."""
    import yaml

    try:
        spec = yaml.safe_load(Path(dvc_yaml).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[str, str] = {}
    for stage, body in (spec.get("stages") or {}).items():
        for section in ("outs", "metrics", "plots"):
            for entry in (body or {}).get(section) or []:
                path = next(iter(entry)) if isinstance(entry, dict) else entry
                out[str(Path(path))] = stage
    return out


def missing_input_hint(exc: BaseException, dvc_yaml: str | Path = "dvc.yaml") -> str:
    """``": run `dvc repro <stage>` first"`` when the missing file is a stage's output."""
    text = f"{getattr(exc, 'filename', '') or ''} {exc}"
    outputs = stage_outputs(dvc_yaml)
    for path in sorted(outputs, key=len, reverse=True):
        if path in text or str(Path(path).resolve()) in text:
            return f" (written by the {outputs[path]!r} stage: run `dvc repro {outputs[path]}` first)"
    return ""


def describe(exc: BaseException) -> str:
    """The one-line message of a user error; a missing file says which stage writes it."""
    if isinstance(exc, FileNotFoundError):
        text = str(exc)
        if exc.filename and exc.strerror:
            text = f"{exc.filename}: not found"
        elif "No such file" not in text and "not found" not in text:
            text = f"{text}: not found"
        return text + missing_input_hint(exc)
    if isinstance(exc, ConfigError):
        from tinyad.params import override_error

        return override_error(exc) or str(exc)
    return str(exc)


def run_stage(main: Callable[[], int | None], name: str, quiet: bool = True) -> int:
    if quiet:
        from tinyad.tools.quiet import quiet_tensorflow

        quiet_tensorflow()
    try:
        rc = main()
    except USER_ERRORS as exc:
        print(f"{name}: error: {describe(exc)}", file=sys.stderr)
        return 2
    return int(rc or 0)
