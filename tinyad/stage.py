"""The opening every stage's ``main()`` shares: its arguments, the params, the scaler, the table.

    args = parse_args("Train the Keras MLP.", argv, "dataset", "scaler", "model", "metrics", "plots")
    inp = read_inputs(args)            # inp.cfg, inp.scaler (checked), inp.table (the parquet)

``parse_args`` gives every stage ``--params`` (default ``params.yaml``), one required
``--<name>`` per positional name (``"<name>+"``: repeatable, a list) and an optional one per keyword (``default`` as its
value; a ``bool`` default makes a flag, ``count=False`` -> ``--count``; ``_`` in a
keyword is ``-`` in the flag, ``evaluate_metrics=None`` -> ``--evaluate-metrics``).
``read_inputs`` loads the params (``tinyad.config.load``), the scaler of ``--scaler``
checked against the params' features when the stage reads one, and the parquet file of
``--<table>`` (``dataset`` unless told otherwise; ``None`` for none).  Errors are the
user errors of ``tinyad.cli.run_stage`` (exit status 2).  How a stage ends is
``tinyad/cli.py``'s.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tinyad.config import Config, load
from tinyad.device.features import Scaler, feature_names


def parse_args(description: str, argv: list[str] | None, *required: str, **optional: Any) -> argparse.Namespace:
    """The stage's command line (module docstring)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--params", default="params.yaml")
    for name in required:
        if name.endswith("+"):  # repeatable: a list of one value or more
            ap.add_argument(f"--{name[:-1]}", required=True, action="append")
        else:
            ap.add_argument(f"--{name}", required=True)
    for name, default in optional.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            ap.add_argument(flag, action="store_false" if default else "store_true")
        else:
            ap.add_argument(flag, default=default)
    return ap.parse_args(argv)


@dataclass
class StageInputs:
    cfg: Config
    scaler: Scaler | None
    table: pd.DataFrame | None


def load_scaler(path: str, cfg: Config) -> Scaler:
    """The cluster stage's scaler, checked against the features the params define."""
    scaler = Scaler.load(path)
    scaler.check_features(feature_names(cfg.features), source=str(path))
    scaler.check_stuck_run(cfg.features.run_cap, source=str(path))
    return scaler


def read_inputs(args: argparse.Namespace, table: str | None = "dataset", scaler: bool = True) -> StageInputs:
    """The params, the scaler of ``--scaler`` (unless ``scaler`` is False: the cluster stage
    writes it) and the parquet of ``--<table>``."""
    cfg = load(args.params)
    fitted = load_scaler(args.scaler, cfg) if scaler and getattr(args, "scaler", None) else None
    frame = pd.read_parquet(getattr(args, table)) if table else None
    return StageInputs(cfg, fitted, frame)


def stage_main(name: str):
    """The ``main(argv)`` of ``stages/<name>.py``, to run a stage in process (the tests do,
    to see the exception a bad input raises before ``tinyad.cli.run_stage`` turns it into
    exit status 2).  dvc.yaml runs the same function as ``python -m stages.<name>``."""
    import importlib

    return importlib.import_module(f"stages.{name}").main
