"""The headline: about ten figures a user reads first, under short names.

One definition (``FIGURES``) serves every place that shows them:

* ``metrics/headline.json``, written by the last stage (``firmware``) from every
  stage's metrics: ``dvc metrics show metrics/headline.json``;
* the MLflow run: the same short names as top-level metrics (``tinyad.tools.tracking``);
* ``dvc exp show`` through the view that ``tinyad exp`` runs (``exp_show_args``:
  the experiment's name, the params that changed and these figures; it fits a
  160-column terminal; README, "Everyday use");
* the end of ``make repro`` (``tinyad.tools.summary``).

What is shown depends on whether the test split has ground-truth labels
(``evaluate.json`` ``ground_truth``).  With labels: the device's F1 overall and by
anomaly type, the share of events caught and the false alarms a week.  Without:
the device's alerts a day, the share of readings flagged and the longest alert, and
no figure scored against the pipeline's own pseudo-labels.  In both: the int8
``.tflite`` size, the flash of the generated C model, the TFLM arena, the TFLM
latency median and the host firmware's flash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyad.config import flatten

HEADLINE_FILE = "metrics/headline.json"


@dataclass(frozen=True)
class Figure:
    name: str  # key of headline.json and name of the MLflow metric (short: `tinyad exp` fits 160 columns)
    source: str  # metrics file stem (metrics/<source>.json)
    key: str  # dotted key in that file
    label: str  # words, with the unit
    truth: bool | None  # True: only with ground truth; False: only without; None: always
    optional: bool = False  # absent when the test split has none of what it is a share of (a type, an event)


FIGURES: tuple[Figure, ...] = (
    Figure("f1", "evaluate", "headline.device.f1", "device F1, test split", True, optional=True),
    Figure("f1_pt", "evaluate", "headline.device.f1_by_type.point", "  F1 on point anomalies", True, optional=True),
    Figure("f1_ctx", "evaluate", "headline.device.f1_by_type.contextual", "  F1 on contextual anomalies", True, optional=True),
    Figure("f1_col", "evaluate", "headline.device.f1_by_type.collective", "  F1 on collective anomalies", True, optional=True),
    Figure("caught", "evaluate", "headline.device.events_caught_share", "  share of anomaly events caught", True,
           optional=True),  # f1 and caught: absent when the test split holds no labelled event (nothing to detect)
    Figure("fa_wk", "evaluate", "headline.device.false_alarms_per_week", "  false alarm events a week", True),
    Figure("events", "evaluate", "data.events", "  anomaly events in the test split (scored on)", True),
    Figure("anom", "evaluate", "data.test_anomalous_rows", "  anomalous readings in the test split", True),
    Figure("alerts_d", "evaluate", "headline.device.alerts_per_day", "device alerts a day, test split", False),
    Figure("flagged", "evaluate", "headline.device.flagged_share", "  share of readings flagged", False),
    Figure("longest", "evaluate", "headline.device.longest_alert_minutes", "  longest alert (minutes)", False),
    Figure("tflite", "quantize", "tflite_bytes", "int8 .tflite size (bytes)", None),
    Figure("c_flash", "firmware", "model_c.flash_bytes", "generated C model, flash (bytes)", None),
    Figure("arena", "evaluate", "memory.tflm_arena_bytes", "TFLM arena (bytes)", None),
    Figure("lat_us", "evaluate", "latency_us.tflm.median", "TFLM latency on this host (us, median)", None),
    Figure("fw_flash", "firmware", "envs.host.flash_bytes", "host firmware flash (bytes)", None),
)
NAMES = tuple(f.name for f in FIGURES)
DIGITS = 3  # decimals of the headline's fractions (the full values are in the stages' metrics)

# `dvc exp show` restricted to the headline (README, "Everyday use"): every column but
# the experiment's name, the params that differ between the rows (``--only-changed``)
# and the figures above is dropped; ``exp_show_args`` builds it, ``tinyad exp`` runs it.
EXP_SHOW_COMMAND = "tinyad exp"


def exp_show_args(metric_names: list[str] | set[str]) -> list[str]:
    """``dvc exp show`` arguments: keep Experiment and the headline, drop every other metric.

    ``metric_names``: the flattened keys of the other metrics files (the names
    ``dvc exp show`` gives their columns; with the ``<file>:`` prefix when two files
    share a key).  Deps columns (paths) are dropped too; changed params stay.
    """
    import re

    keep = "^(Experiment|" + "|".join(NAMES) + ")$"
    others = sorted(set(metric_names) - set(NAMES))
    drop = "^(Created|State|Executor|metrics/(?!headline\\.json:).*|[^:]*/[^:]*"
    drop += "".join("|" + re.escape(n) for n in others) + ")$"
    return ["exp", "show", "--only-changed", "--keep", keep, "--drop", drop]


def other_metric_names(metrics_dir: str | Path = "metrics") -> set[str]:
    return {k for d in read_metrics(metrics_dir).values() for k in flatten(d)}


def has_ground_truth(metrics: dict[str, dict[str, Any]]) -> bool:
    """Whether evaluate scored against ground-truth labels (``ground_truth`` 1)."""
    return metrics.get("evaluate", {}).get("ground_truth", 0) != 0


def figures_for(ground: bool) -> tuple[Figure, ...]:
    return tuple(f for f in FIGURES if f.truth is None or f.truth == ground)


def headline(metrics: dict[str, dict[str, Any]], source: str = "metrics") -> dict[str, float]:
    """``{short name: value}`` from the stages' metrics (``{stem: parsed json}``).

    A figure that should be there and is not raises ``ValueError`` naming the file
    and the key (a stage that did not run, or an older metrics file).
    """
    ground = has_ground_truth(metrics)
    flat = {stem: flatten(d) for stem, d in metrics.items()}
    out: dict[str, float] = {}
    for f in figures_for(ground):
        value = flat.get(f.source, {}).get(f.key)
        if value is None and f.optional and f.source in flat:
            continue  # e.g. no contextual event in a temperature-only room's test split
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{source}/{f.source}.json: no number at {f.key!r} for the headline figure "
                             f"{f.name!r}; run `dvc repro {f.source}`")
        out[f.name] = round(value, DIGITS) if isinstance(value, float) else value
    return out


def read_metrics(metrics_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``<stem>.json`` of a metrics folder except the headline itself."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(metrics_dir).glob("*.json")):
        if path.name == Path(HEADLINE_FILE).name:
            continue
        try:
            out[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return out


def label_of(name: str) -> str:
    for f in FIGURES:
        if f.name == name:
            return f.label
    raise KeyError(name)


def main(argv: list[str] | None = None) -> int:
    """``tinyad exp [dvc exp show options]``: the experiments, headline only."""
    import argparse
    import shlex
    import subprocess
    import sys

    ap = argparse.ArgumentParser(prog=EXP_SHOW_COMMAND, description="dvc exp show with the headline figures only "
                                 "(tinyad/evaluate/headline.py); other options go to dvc exp show (-A, --sort-by f1, --md, ...)")
    ap.add_argument("--print", action="store_true", help="print the dvc command instead of running it")
    ap.add_argument("--metrics-dir", default="metrics")
    args, rest = ap.parse_known_args(argv)
    cmd = ["dvc", *exp_show_args(other_metric_names(args.metrics_dir)), *rest]
    if args.print:
        print(shlex.join(cmd))
        return 0
    return subprocess.call(cmd, stdout=sys.stdout, stderr=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
