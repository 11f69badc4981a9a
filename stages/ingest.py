"""Stage ``ingest``: readings (simulated or from CSV logs) -> the tidy interim table.

Run from the project root (``dvc.yaml`` does exactly this)::

    python -m stages.ingest --params params.yaml --out data/interim/readings.parquet \\
        --report metrics/ingest.json --plots plots/ingest

``data.source`` picks the input: ``sim`` (the built-in room, ``tinyad.data.simulate``),
``csv`` (real logs, ``tinyad.data.csvlog``) or ``csv+inject`` (real logs with the
simulator's labelled anomalies injected relative to the log's own level, seeded by
``data.inject.seed``; the real background is then taken as normal, label 0).

Writes the table of ``docs/architecture.md`` as parquet (deterministic bytes for the
same parameters), the data report ``metrics/ingest.json`` and
``plots/ingest/timeline.png`` (the series with labelled anomalies shaded).  Input
errors (``IngestError``, ``ConfigError``) are raised; ``tinyad.cli.run_stage`` prints
``ingest: error: <message>`` and exits with status 2, as for every stage.  The work is
``tinyad/data/readings.py``'s, the plot ``tinyad.evaluate.figures.plot_timeline``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinyad.evaluate.figures import plot_timeline
from tinyad.io import write_json
from tinyad.data.readings import build_readings, ingest_report, timezone_lines, write_parquet
from tinyad.stage import parse_args, read_inputs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, out="data/interim/readings.parquet",
                      report="metrics/ingest.json", plots="plots/ingest")
    cfg = read_inputs(args, table=None).cfg
    table, events, stats = build_readings(cfg.data)
    report = ingest_report(table, events, stats, cfg.data)
    write_parquet(table, args.out)
    write_json(args.report, report)
    plot_timeline(table, events, Path(args.plots) / "timeline.png",
                  title=f"ingest: {cfg.data.source}, {report['rows']} readings, {report['events']['total']} events")
    print(f"ingest: {report['rows']} rows ({report['days']} days), {report['faults']['total']} faults, "
          f"{report['events']['total']} anomaly events -> {args.out}")
    skipped = {k: v for k, v in report.get("skipped_lines", {}).items() if v}
    if skipped:  # lines that hold no reading of the room: counted, never silently dropped
        print("ingest: lines skipped: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()))
    for line in timezone_lines(report):
        print(line)
    for w in report["warnings"]:
        print(f"ingest: warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "ingest"))
