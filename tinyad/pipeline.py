"""The pipeline, written down once: the stages in order, their paths and their params.

``STAGES`` is the one table of the seven stages.  ``dvc.yaml`` is written by hand (its
comments and the module ``deps`` stay readable and mergeable) and
``tests/test_pipeline_table.py`` checks it against this table: each stage's ``cmd``,
its data and model ``deps``, ``outs``, ``metrics`` and ``params``.  The project
modules a stage imports are the other part of ``deps``; ``tests/test_dvc_deps.py``
checks those against the imports.

The sweep (``tinyad.tools.sweep.run_point``) and the benchmarks run the same table with
``run``: each stage as ``python -m stages.<name>`` with the table's argv, its paths
under a work directory laid out like the project (``<work>/data/``, ``models/``,
``metrics/``, ``plots/``; the sources that no stage writes, ``data/raw`` and the
firmware project, stay in the project)::

    python -m tinyad.pipeline            # the table, one stage a line
    python -m tinyad.pipeline --dvc      # the stages' dvc.yaml commands
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

__all__ = ["StagePath", "Stage", "STAGES", "StageError", "READINGS", "DATASET", "EXPOSURE", "SCALER", "MODEL", "TFLITE", "QUANT",
           "GENERATED", "stage", "names", "produced", "argv", "command", "run_stage", "run"]

IN, OUT, METRIC, PARAMS = "in", "out", "metric", "params"
PARAMS_FILE = "params.yaml"
CODE_ROOT = Path(__file__).resolve().parents[1]  # holds tinyad/ and stages/


@dataclass(frozen=True)
class StagePath:
    """One path of a stage: its option (``None``: read without an option), role and dvc entries.

    ``role`` is ``in`` (a dependency), ``out`` (an output, cached unless ``cache`` is
    false), ``metric`` (a metrics file, never cached) or ``params`` (params.yaml).
    ``dvc`` is what dvc.yaml lists for it when that is not the path itself (a folder
    the stage reads in part, a folder of which one file is declared).
    """

    option: str | None
    path: str
    role: str = IN
    cache: bool = True
    dvc: tuple[str, ...] = ()

    @property
    def declared(self) -> tuple[str, ...]:
        return self.dvc or (self.path,)


@dataclass(frozen=True)
class Stage:
    """One stage: ``stages/<name>.py`` with ``paths`` (in argv order) and the params it reads.

    ``flags`` are options without a value that ``dvc repro`` passes and the runs of
    ``run`` leave out unless asked (codegen's ``--count``: callgrind and QEMU, minutes).
    """

    name: str
    paths: tuple[StagePath, ...]
    params: tuple[str, ...]
    flags: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        return f"stages/{self.name}.py"

    def of_role(self, role: str) -> list[StagePath]:
        return [p for p in self.paths if p.role == role]


# the files that pass between stages, each path written once: (the option its readers use, path)
READINGS = ("--readings", "data/interim/readings.parquet")
DATASET = ("--dataset", "data/processed/dataset.parquet")
EXPOSURE = ("--exposure", "data/processed/exposure.parquet")  # the cluster stage's exposure rows (train only)
SCALER = ("--scaler", "models/scaler.json")
MODEL = ("--model", "models/model.keras")
TFLITE = ("--tflite", "models/model_int8.tflite")
QUANT = ("--quant", "models/quant.json")
GENERATED = "firmware/lib/generated"
_P = StagePath("--params", PARAMS_FILE, PARAMS)


def _reads(*files: tuple[str, str]) -> tuple[StagePath, ...]:
    return tuple(StagePath(option, path) for option, path in files)


def _metrics(stage: str, option: str | None = "--metrics", role: str = METRIC) -> StagePath:
    return StagePath(option, f"metrics/{stage}.json", role)


def _plots(stage: str, **kw) -> StagePath:
    return StagePath("--plots", f"plots/{stage}", OUT, cache=False, **kw)


STAGES: tuple[Stage, ...] = (
    Stage("ingest", (
        _P, StagePath(None, "data/raw"), StagePath("--out", READINGS[1], OUT), _metrics("ingest", "--report"),
        _plots("ingest"),
    ), ("data",)),
    Stage("cluster", (
        _P, *_reads(READINGS), StagePath("--out", DATASET[1], OUT), StagePath(*EXPOSURE, OUT), StagePath(*SCALER, OUT),
        _metrics("cluster"), _plots("cluster"),
    ), ("data.period_s", "features", "split", "thresholds", "cluster")),
    Stage("train", (
        _P, *_reads(DATASET, SCALER, EXPOSURE), StagePath(*MODEL, OUT), _metrics("train"),
        _plots("train", dvc=("plots/train/history.csv",)),
    ), ("features", "model")),
    Stage("quantize", (
        _P, *_reads(DATASET, SCALER, MODEL), StagePath("--out", TFLITE[1], OUT), StagePath(*QUANT, OUT),
        _metrics("quantize"),
    ), ("data.period_s", "features", "quantize", "thresholds", "cluster.contamination", "alerts")),
    Stage("evaluate", (
        _P, *_reads(DATASET, SCALER, MODEL, TFLITE, QUANT), _metrics("evaluate"), _plots("evaluate"),
    ), ("data.period_s", "features", "thresholds", "cluster", "alerts", "evaluate", "drift")),
    # after evaluate: the TFLM arena it measured sizes the generated arena
    Stage("codegen", (
        _P, *_reads(TFLITE, QUANT, SCALER), StagePath("--out", GENERATED, OUT), _metrics("codegen"),
        _metrics("evaluate", "--evaluate-metrics", IN),
        StagePath(None, "firmware/targets/rv32/rv32_counters.c"),  # built by --count
    ), ("data.period_s", "features", "thresholds", "alerts", "firmware", "codegen", "drift.baseline_shift",
        "drift.baseline_frac_bits"), flags=("--count",)),
    Stage("firmware", (
        _P,
        StagePath("--project", "firmware", dvc=("firmware/platformio.ini", "firmware/lib", "firmware/src",
                                                "firmware/platforms")),
        StagePath("--out", "build/firmware", OUT),
        _metrics("firmware"),
        _metrics("headline", "--headline"),
        # the headline gathers the upstream stages' metrics
        *(_metrics(n, None, IN) for n in ("ingest", "cluster", "train", "quantize", "evaluate", "codegen")),
    ), ("data.period_s", "firmware", "power", "tracking")),
)


class StageError(RuntimeError):
    """A stage run by ``run_stage`` exited non-zero."""


def names() -> list[str]:
    return [s.name for s in STAGES]


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no stage {name!r} (the stages: {', '.join(names())})")


def produced() -> set[str]:
    """Every path some stage writes (outputs and metrics)."""
    return {p.path for s in STAGES for p in s.paths if p.role in (OUT, METRIC)}


def argv(name: str, work: str | Path | None = None, *, root: str | Path | None = None,
         moved: Mapping[str, str] | None = None, flags: bool = True) -> list[str]:
    """The options of stage ``name``: its paths under ``work`` (relative as in dvc.yaml when None).

    A path that no stage writes (``firmware``, the project) resolves against ``root``;
    ``moved`` puts a written path elsewhere under ``work`` (``{"firmware/lib/generated":
    "generated"}``).  ``flags`` adds the stage's value-less options.
    """
    s = stage(name)
    made = produced() | {PARAMS_FILE}
    out: list[str] = []
    for p in s.paths:
        if p.option is None:
            continue
        rel = (moved or {}).get(p.path, p.path)
        if work is None:
            val = rel
        elif p.path in made:
            val = str(Path(work) / rel)
        else:
            val = str(Path(root) / rel) if root is not None else rel
        out += [p.option, val]
    return out + (list(s.flags) if flags else [])


def command(name: str) -> str:
    """The stage's command as dvc.yaml writes it."""
    return " ".join(["python", "-m", f"stages.{name}", *argv(name)])


def run_stage(name: str, work: str | Path, *, log: str | Path | None = None, root: str | Path | None = None,
              moved: Mapping[str, str] | None = None, flags: bool = False) -> None:
    """Run ``python -m stages.<name>`` on the paths under ``work`` (``work/params.yaml`` its params).

    The stage runs in ``root`` (default: the working directory, the project root as
    ``dvc repro`` runs it; the sources no stage writes are found there), with this
    ``tinyad``'s tree first on ``PYTHONPATH`` (the stages of the code that runs them).
    Its stdout is appended to ``log`` (after a header line) and its stderr left on
    ours; without ``log`` both are captured, and shown in the ``StageError`` of a
    failure.  ``flags`` adds the stage's value-less options (codegen's ``--count``).
    """
    root = Path(root) if root is not None else Path.cwd()
    args = argv(name, Path(work), root=root, moved=moved, flags=flags)
    cmd = [sys.executable, "-m", f"stages.{name}", *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CODE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if log is not None:  # the stage's stdout to the log, its stderr (errors, warnings) where ours goes
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as fh:
            fh.write(f"\n===== stage {name}: {' '.join(args)}\n")
            fh.flush()
            proc = subprocess.run(cmd, cwd=root, env=env, stdout=fh, text=True)
        if proc.returncode:
            raise StageError(f"stage {name} failed with exit status {proc.returncode} ({' '.join(args)}); "
                             f"its output: {log}")
        return
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise StageError(f"stage {name} failed with exit status {proc.returncode} ({' '.join(args)}):\n"
                         f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}")


def run(work: str | Path, stages: Iterable[str] | None = None, **kw) -> None:
    """Run ``stages`` (default: all), in the table's order whatever the order given."""
    wanted = set(names() if stages is None else stages)
    unknown = wanted - set(names())
    if unknown:
        raise KeyError(f"no stage(s) {sorted(unknown)} (the stages: {', '.join(names())})")
    for s in STAGES:
        if s.name in wanted:
            run_stage(s.name, work, **kw)


def main(argv_: Sequence[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dvc", action="store_true", help="print each stage's dvc.yaml command")
    args = ap.parse_args(argv_)
    for s in STAGES:
        if args.dvc:
            print(f"{s.name}: {command(s.name)}")
            continue
        paths = {r: ", ".join(d for p in s.of_role(r) for d in p.declared) or "-" for r in (IN, OUT, METRIC)}
        print(f"{s.name}: in {paths[IN]}; out {paths[OUT]}; metrics {paths[METRIC]}; params {', '.join(s.params)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
