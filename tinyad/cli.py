"""How a stage ends: a user's mistake is one clear line, not a traceback.

Every ``stages/<name>.py`` ends with ``raise SystemExit(run_stage(main, "<name>"))``.
A bad parameter (``ConfigError``: the message names the full key), a missing or
unreadable input file, or bad input data (``ValueError`` raised with a message naming
the file and what was expected) prints ``<stage>: error: <message>`` on stderr and
exits with status 2; DVC then stops the pipeline and keeps every earlier output.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Callable

from tinyad.config import ConfigError

USER_ERRORS = (ConfigError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)


def run_stage(main: Callable[[], int | None], name: str) -> int:
    try:
        rc = main()
    except USER_ERRORS as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    return int(rc or 0)
