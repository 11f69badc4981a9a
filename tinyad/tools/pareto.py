"""Pareto front and sweep report: F1 against int8 size and latency, under the device's budgets.

Pure functions over a list of ``SweepPoint`` (one a finished sweep point: its
overrides, F1, int8 size, latency and RAM); ``write_report`` writes the report files.
``tinyad.tools.sweep`` calls it at the end of a sweep and logs the files to the sweep's
MLflow parent run.  It can also be run on a finished sweep directory (one
``<point>/point.json`` a point, as ``tinyad.tools.sweep`` writes them)::

    python -m tinyad.tools.pareto multirun/sweep-2026-01-05_10-00-00 \\
        [--flash-budget 3072] [--ram-budget 2048] [--out <dir>/report]

Definitions (written out because the report states them):

* objectives: maximise F1, minimise size (bytes), minimise latency (us);
* a point *dominates* another when it is at least as good in every objective and
  strictly better in one; the front is the set of points no other point dominates.
  ``front_f1_size`` is the front over (F1, size) alone, ``front_all`` over all three;
* a point *meets the budgets* when ``size <= flash_budget`` and ``ram <= ram_budget``;
* a point *meets the quality floor* (``QualityFloor``, ``sweep.quality_floor``) when its
  F1 is at least ``f1`` and it was scored on at least ``anomalous_rows`` anomalous test
  readings; every row states the test events and anomalous readings it was scored on;
* the recommended point: the highest F1 among the points that meet the budgets and
  the floor; ties go to the smaller size, then the lower latency, then the lower point name.

Writes ``pareto.png`` (F1 against size and F1 against latency, fronts drawn, budget
marked, recommendation starred), ``pareto.csv`` and ``pareto.md`` (every point, with
``meets_budgets``, ``front_f1_size``, ``front_all`` and ``recommended`` columns and
the command that builds the recommended firmware).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "SweepPoint",
    "SweepReport",
    "dominates",
    "pareto_mask",
    "meets_budgets",
    "meets_floor",
    "QualityFloor",
    "recommend",
    "dvc_command",
    "repro_command",
    "report_rows",
    "write_report",
    "load_points",
]


@dataclass
class SweepPoint:
    """One finished sweep point."""

    name: str
    overrides: list[str]  # the pipeline overrides that make this point (Hydra syntax)
    f1: float
    size: float  # int8 model flash, bytes
    latency: float  # us per inference
    ram: float  # bytes
    accuracy: float = math.nan
    run_id: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def test_events(self) -> float:
        """Anomaly events in the test split this point was scored on (nan: not known)."""
        return float(self.extra.get("test_events", math.nan))

    @property
    def anomalous_rows(self) -> float:
        """Anomalous readings in the test split this point was scored on (nan: not known)."""
        return float(self.extra.get("anomalous_rows", math.nan))

    def __post_init__(self) -> None:
        for key in ("f1", "size", "latency", "ram"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(float(v)):
                raise ValueError(f"sweep point {self.name!r}: {key} must be a number, got {v!r}")


@dataclass
class SweepReport:
    rows: list[dict[str, Any]]
    recommended: SweepPoint | None
    markdown: str
    paths: dict[str, Path]


# ---------------------------------------------------------------- the front
def _as_min(p: SweepPoint, objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective vector to minimise: -F1, size, latency (as asked)."""
    out = []
    for o in objectives:
        if o == "f1":
            out.append(-float(p.f1))
        elif o in ("size", "latency", "ram"):
            out.append(float(getattr(p, o)))
        else:
            raise ValueError(f"unknown objective {o!r}; expected f1, size, latency or ram")
    return tuple(out)


def dominates(a: SweepPoint, b: SweepPoint, objectives: Sequence[str] = ("f1", "size", "latency")) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    va, vb = _as_min(a, objectives), _as_min(b, objectives)
    return all(x <= y for x, y in zip(va, vb)) and any(x < y for x, y in zip(va, vb))


def pareto_mask(points: Sequence[SweepPoint], objectives: Sequence[str] = ("f1", "size", "latency")) -> list[bool]:
    """True for the points that no other point dominates (duplicates all stay)."""
    return [not any(dominates(q, p, objectives) for q in points if q is not p) for p in points]


def meets_budgets(p: SweepPoint, flash_budget: float, ram_budget: float) -> bool:
    return p.size <= flash_budget and p.ram <= ram_budget


@dataclass(frozen=True)
class QualityFloor:
    """What a point must reach to be recommended: an F1, scored on enough anomalous readings."""

    f1: float = 0.0
    anomalous_rows: int = 0

    def met_by(self, p: SweepPoint) -> bool:
        rows = p.anomalous_rows
        enough = self.anomalous_rows <= 0 or (not math.isnan(rows) and rows >= self.anomalous_rows)
        return p.f1 >= self.f1 and enough

    def text(self) -> str:
        return f"F1 >= {self.f1:g} scored on at least {self.anomalous_rows} anomalous test readings"


def meets_floor(p: SweepPoint, floor: QualityFloor | None) -> bool:
    return floor is None or floor.met_by(p)


def recommend(points: Sequence[SweepPoint], flash_budget: float, ram_budget: float,
              floor: QualityFloor | None = None) -> SweepPoint | None:
    """Best F1 meeting the budgets and the quality floor; ties: smaller size, then lower latency, then name."""
    ok = [p for p in points if meets_budgets(p, flash_budget, ram_budget) and meets_floor(p, floor)]
    if not ok:
        return None
    return min(ok, key=lambda p: (-p.f1, p.size, p.latency, p.name))


# ---------------------------------------------------------------- commands
def dvc_command(overrides: Sequence[str]) -> str:
    """The ``dvc exp run`` that builds this point's firmware (and logs it to MLflow)."""
    return " ".join(["dvc", "exp", "run", *[f"-S {shlex.quote(o)}" for o in overrides]])


def repro_command(overrides: Sequence[str]) -> str:
    """The same through ``params.yaml``: compose it with the overrides, then ``dvc repro``."""
    return " ".join(["python", "-m", "tinyad.params", *[shlex.quote(o) for o in overrides], "&&", "dvc", "repro"])


# ---------------------------------------------------------------- report
COLUMNS = ["point", "overrides", "f1", "accuracy", "test_events", "anomalous_rows", "size_bytes", "latency_us",
           "ram_bytes", "meets_budgets", "meets_floor", "front_f1_size", "front_all", "recommended", "run_id"]


def report_rows(points: Sequence[SweepPoint], flash_budget: float, ram_budget: float,
                floor: QualityFloor | None = None) -> tuple[list[dict[str, Any]], SweepPoint | None]:
    """One row a point, best F1 first (then smaller size)."""
    front2 = pareto_mask(points, ("f1", "size"))
    front3 = pareto_mask(points, ("f1", "size", "latency"))
    best = recommend(points, flash_budget, ram_budget, floor)
    rows = []
    for p, f2, f3 in zip(points, front2, front3):
        rows.append({
            "point": p.name,
            "overrides": " ".join(p.overrides),
            "f1": float(p.f1),
            "accuracy": float(p.accuracy),
            "test_events": _count(p.test_events),
            "anomalous_rows": _count(p.anomalous_rows),
            "size_bytes": int(p.size) if float(p.size).is_integer() else float(p.size),
            "latency_us": float(p.latency),
            "ram_bytes": int(p.ram) if float(p.ram).is_integer() else float(p.ram),
            "meets_budgets": meets_budgets(p, flash_budget, ram_budget),
            "meets_floor": meets_floor(p, floor),
            "front_f1_size": f2,
            "front_all": f3,
            "recommended": best is not None and p is best,
            "run_id": p.run_id,
        })
    rows.sort(key=lambda r: (-r["f1"], r["size_bytes"], r["latency_us"], r["point"]))
    return rows, best


def _count(v: float) -> int | float:
    return v if math.isnan(v) else int(v)


def _markdown(rows: list[dict[str, Any]], best: SweepPoint | None, flash_budget: float, ram_budget: float,
              floor: QualityFloor | None = None) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else ""
        if isinstance(v, float):
            return "n/a" if math.isnan(v) else f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
        return str(v).replace("|", "\\|")

    cols = [c for c in COLUMNS if c != "run_id"]
    lines = [
        f"# Sweep report: {len(rows)} point{'s' if len(rows) != 1 else ''}",
        "",
        f"Budgets: int8 model flash <= {flash_budget:g} bytes, RAM (TFLM arena) <= {ram_budget:g} bytes. "
        "Objectives: maximise F1, minimise size and latency. `front_f1_size`: on the Pareto front of "
        "F1 against size; `front_all`: on the front of all three.",
        "",
        f"Quality floor: {floor.text() if floor else 'none'} (`meets_floor`; a point below it is never "
        "recommended). Every F1 was scored on the `test_events` anomaly events and `anomalous_rows` "
        "anomalous readings of that point's test split: an F1 on a handful of readings says little.",
        "",
    ]
    if best is None:
        lines += ["**No point meets the budgets and the quality floor**: raise the budgets, search other "
                  "models, or score on a longer test split.", ""]
    else:
        scored = (f", scored on {_count(best.test_events)} events / {_count(best.anomalous_rows)} anomalous readings"
                  if not math.isnan(best.anomalous_rows) else "")
        lines += [
            f"**Recommended: point {best.name}** (`{' '.join(best.overrides) or 'defaults'}`): F1 {best.f1:.3f}"
            f"{scored}, {best.size:g} bytes, {best.latency:.1f} us, RAM {best.ram:g} bytes.",
            "",
            "Build its firmware (and log it to MLflow) with",
            "",
            "```",
            dvc_command(best.overrides),
            "```",
            "",
            "or, into `params.yaml` and the workspace:",
            "",
            "```",
            repro_command(best.overrides),
            "```",
            "",
        ]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for r in rows:
        lines.append("| " + " | ".join(cell(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in r.items()})
    return buf.getvalue()


def _front_line(points: list[SweepPoint], mask: list[bool], x: str) -> tuple[list[float], list[float]]:
    on = sorted((getattr(p, x), p.f1) for p, m in zip(points, mask) if m)
    return [a for a, _ in on], [b for _, b in on]


def _plot(points: list[SweepPoint], best: SweepPoint | None, flash_budget: float, ram_budget: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyad.io import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    ok = [meets_budgets(p, flash_budget, ram_budget) for p in points]
    for ax, x, label in ((axes[0], "size", "int8 model size (bytes)"), (axes[1], "latency", "latency (us, TFLM, batch 1)")):
        mask = pareto_mask(points, ("f1", x))
        for p, good in zip(points, ok):
            ax.scatter(getattr(p, x), p.f1, s=36, marker="o",
                       facecolors="tab:blue" if good else "none", edgecolors="tab:blue", zorder=3)
            ax.annotate(p.name, (getattr(p, x), p.f1), fontsize=7, xytext=(3, 3), textcoords="offset points")
        fx, fy = _front_line(points, mask, x)
        ax.plot(fx, fy, drawstyle="steps-post", color="tab:orange", lw=1.5, marker="s", ms=11, mfc="none",
                label=f"Pareto front (F1 vs {x})", zorder=2)
        if best is not None:
            ax.scatter(getattr(best, x), best.f1, s=220, marker="*", color="tab:red", zorder=4,
                       label=f"recommended: point {best.name}")
        if x == "size":
            ax.axvline(flash_budget, color="gray", ls="--", lw=1, label=f"flash budget {flash_budget:g} B")
        ax.set_xlabel(label)
        ax.set_ylabel("F1 (int8 model, test split)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{len(points)} point(s); filled: within flash {flash_budget:g} B and RAM {ram_budget:g} B")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_report(points: Sequence[SweepPoint], flash_budget: float, ram_budget: float, out_dir: str | Path,
                 floor: QualityFloor | None = None) -> SweepReport:
    """Write pareto.png, pareto.csv and pareto.md into ``out_dir``."""
    from tinyad.io import write_text

    points = list(points)
    if not points:
        raise ValueError("sweep report: no finished point to report on")
    out = Path(out_dir)
    rows, best = report_rows(points, flash_budget, ram_budget, floor)
    md = _markdown(rows, best, flash_budget, ram_budget, floor)
    paths = {"png": out / "pareto.png", "csv": out / "pareto.csv", "md": out / "pareto.md"}
    _plot(points, best, flash_budget, ram_budget, paths["png"])
    write_text(paths["csv"], _csv(rows))
    write_text(paths["md"], md)
    return SweepReport(rows=rows, recommended=best, markdown=md, paths=paths)


def load_points(sweep_dir: str | Path) -> list[SweepPoint]:
    """The ``point.json`` files of a sweep directory (finished points only)."""
    out = []
    for f in sorted(Path(sweep_dir).glob("*/point.json"), key=lambda p: (len(p.parent.name), p.parent.name)):
        rec = json.loads(f.read_text())
        try:
            out.append(point_from_record(rec))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{f}: not a finished sweep point ({exc})") from None
    return out


def point_from_record(rec: dict[str, Any]) -> SweepPoint:
    m = rec["metrics"]
    return SweepPoint(
        name=str(rec["point"]), overrides=list(rec["overrides"]), f1=m["f1"], size=m["size"],
        latency=m["latency"], ram=m["ram"], accuracy=m.get("accuracy", math.nan), run_id=rec.get("run_id", ""),
        extra={k: v for k, v in m.items() if k not in ("f1", "size", "latency", "ram", "accuracy")},
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--flash-budget", type=float, default=3072)
    ap.add_argument("--ram-budget", type=float, default=2048)
    ap.add_argument("--min-f1", type=float, default=0.5, help="quality floor: the least F1 recommended")
    ap.add_argument("--min-anomalous-rows", type=int, default=50,
                    help="quality floor: the fewest anomalous test readings an F1 is trusted on")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    try:
        points = load_points(args.sweep_dir)
        rep = write_report(points, args.flash_budget, args.ram_budget, args.out or Path(args.sweep_dir) / "report",
                           QualityFloor(args.min_f1, args.min_anomalous_rows))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(rep.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
