"""Stage ``firmware``: build the PlatformIO environments and report their size.

Run (as ``dvc.yaml`` does)::

    python -m stages.firmware --params params.yaml --project firmware \\
        --out build/firmware --metrics metrics/firmware.json --headline metrics/headline.json

For every environment in ``firmware.envs`` (default ``[host]``) it builds with the
project-local PlatformIO core and copies the artifacts into ``<out>/<env>/`` with a
``size.json`` (``tinyad/board/firmware_build.py``, which defines the size figures); then
the power estimate (from ``codegen.json``'s MAC count, next to ``--metrics``), the
size of the generated model C alone, the metrics, the headline
(``tinyad/evaluate/headline.py``) and, as the final stage of the pipeline, the whole pipeline
run logged to MLflow (``tinyad.tools.tracking.log_pipeline_run``): one run per pipeline run.

Exit codes (``tinyad.cli.run_stage``): 2 for bad input (params, missing generated
files or upstream metrics); 1 when an environment cannot be built here (the ESP32
without its platform and no registry: the message says how to build it elsewhere)
or its build fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinyad.board import pio
from tinyad.config import load
from tinyad.board.firmware_build import FirmwareError, Workspace, build_all, model_c_size, power_estimate
from tinyad.io import write_json


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--project", default="firmware")
    ap.add_argument("--out", default="build/firmware")
    ap.add_argument("--metrics", default="metrics/firmware.json")
    ap.add_argument("--headline", default="metrics/headline.json", help="the headline figures (tinyad/evaluate/headline.py)")
    ap.add_argument("--generated", default=None,
                    help="the generated C to build (default <project>/lib/generated; a fleet room's own C is built "
                         "beside the project, in <out>-pio/)")
    ap.add_argument("--track", action=argparse.BooleanOptionalAction, default=True,
                    help="log the pipeline run to MLflow (a fleet's report logs its rooms instead: --no-track)")
    args = ap.parse_args(argv)

    cfg = load(args.params)
    out, metrics_dir = Path(args.out), Path(args.metrics).parent
    ws = Workspace.of(Path(args.project), args.generated and Path(args.generated), out.parent / f"{out.name}-pio")
    try:
        metrics = build_all(ws, out, cfg.firmware)
    except (FirmwareError, pio.PioError) as exc:
        print(f"stages.firmware: error: {exc}", file=sys.stderr)
        return 1
    metrics["power_estimate"] = power_estimate(cfg, metrics_dir / "codegen.json", out)
    metrics["model_c"] = model_c_size(ws.generated, out / "model_c", library=ws.library)
    write_json(args.metrics, metrics)
    # the headline: the few figures shown first (dvc exp show view, MLflow columns)
    from tinyad.evaluate.headline import headline, read_metrics

    stages_metrics = read_metrics(metrics_dir) | {Path(args.metrics).stem: metrics}
    write_json(args.headline, headline(stages_metrics, str(metrics_dir)))
    for env, rep in metrics["envs"].items():
        print(f"firmware {env}: flash {rep['flash_bytes']} B, static RAM {rep['ram_bytes']} B "
              f"(text {rep['text']}, data {rep['data']}, bss {rep['bss']})")

    # The last stage: record the whole pipeline run (params, every stage's metrics,
    # curves, model, generated C, plots, firmware) as one MLflow run.  Stages that DVC
    # took from its cache still count: their metrics files are read here.  A tracking
    # failure is reported with the command that logs the run later; it never fails
    # the stage, so the pipeline's results and DVC metrics stay as they are.
    if args.track:
        from tinyad.tools.tracking import log_pipeline_run

        log_pipeline_run(Path.cwd(), args.params, metrics_dir)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "firmware"))
