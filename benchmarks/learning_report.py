"""Reproduce the learning figures: ingest -> cluster -> train -> quantize in a temp dir.

    .venv/bin/python benchmarks/learning_report.py                 # default params
    .venv/bin/python benchmarks/learning_report.py --sim-seeds 7 1 2 3
    .venv/bin/python benchmarks/learning_report.py -- model=tiny cluster.k=16

Composes ``conf/`` (plus Hydra overrides after ``--``) into a temporary
``params.yaml``, runs the first four stages of the pipeline table
(``tinyad.pipeline``, the one ``dvc.yaml`` is checked against) as ``dvc repro`` runs
them, into that directory laid out like the project, then prints, for the held-out
*test* split (valid rows only, scored against the simulator's ground truth),
precision / recall / F1 of the anomalous label overall and per anomaly type (per-type scores use the rows that are
normal or of that type, see ``tinyad/data/labeling.py``) for the K-means pseudo-labels,
the float Keras model (probability > ``alerts.decision_threshold``) and the int8
TFLite model (``tinyad.device.features.decide`` on its int8 output code), and the share of
test rows on which the float and int8 decisions agree.  ``--sim-seeds`` repeats the
run for other simulator seeds (``data.sim.seed``) to show the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TYPES = ("overall", "point", "contextual", "collective")


def pipeline(work: Path, overrides: list[str]) -> dict:
    """Run the four stages into ``work``; return the per-type scores and agreement."""
    import numpy as np
    import pandas as pd

    from tinyad.config import load
    from tinyad.device.features import Scaler, dataset_inputs
    from tinyad.data.labeling import scores_overall_and_by_type
    from tinyad.params import compose
    from tinyad.pipeline import DATASET, MODEL, QUANT, SCALER, TFLITE, StageError
    from tinyad.pipeline import run as run_stages

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        compose(overrides, conf_dir=ROOT / "conf", out=work / "params.yaml")
    finally:
        os.chdir(cwd)
    p = str(work / "params.yaml")
    w = lambda rel: str(work / rel)  # noqa: E731
    try:
        run_stages(work, ["ingest", "cluster", "train", "quantize"], root=ROOT)
    except StageError as exc:
        raise SystemExit(str(exc)) from None

    import keras

    from tinyad.device.runtime import predict_int8
    from tinyad.device.features import decide

    cfg = load(p)
    thr = cfg.alerts.decision_threshold
    ds = pd.read_parquet(w(DATASET[1]))
    scaler = Scaler.load(w(SCALER[1]))
    X, rows = dataset_inputs(ds, scaler, "test")
    model = keras.models.load_model(w(MODEL[1]))
    quant = json.loads(Path(w(QUANT[1])).read_text())
    tflite = Path(w(TFLITE[1])).read_bytes()
    p_float = model.predict(X.astype(np.float32), verbose=0, batch_size=4096).ravel()
    d_int8 = decide(predict_int8(tflite, quant, X), quant, thr)
    label = ds["label"].to_numpy()[rows]
    atype = ds["anomaly_type"].astype(str).to_numpy()[rows]
    out = {
        "pseudo": scores_overall_and_by_type(label, atype, ds["pseudo_label"].to_numpy()[rows] == 1),
        "float": scores_overall_and_by_type(label, atype, p_float > thr),
        "int8": scores_overall_and_by_type(label, atype, d_int8),
        "agreement": float(((p_float > thr) == d_int8).mean()),
        "test_rows": int(len(rows)),
        "quantize": json.loads(Path(w("metrics/quantize.json")).read_text()),
    }
    return out


def table(name: str, res: dict) -> str:
    lines = [f"== {name}: {res['test_rows']} valid test rows; float/int8 decision agreement "
             f"{100 * res['agreement']:.2f} %; .tflite {res['quantize']['tflite_bytes']} bytes, "
             f"{res['quantize']['params']} parameters"]
    lines.append(f"{'type':<12}{'rows':>6} | " + " | ".join(f"{m:^20}" for m in ("pseudo P/R/F1", "float P/R/F1", "int8 P/R/F1")))
    for t in TYPES:
        if t not in res["int8"]:
            continue
        n_pos = res["int8"][t]["tp"] + res["int8"][t]["fn"]
        cells = []
        for m in ("pseudo", "float", "int8"):
            s = res[m][t]
            cells.append(f"{s['precision']:.3f} {s['recall']:.3f} {s['f1']:.3f}")
        lines.append(f"{t:<12}{n_pos:>6} | " + " | ".join(f"{c:^20}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-seeds", type=int, nargs="*", default=None, help="data.sim.seed values (default: as configured)")
    ap.add_argument("--keep", default="", help="keep the outputs in this folder instead of a temp dir")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, after --")
    args = ap.parse_args(argv)
    seeds = args.sim_seeds or [None]
    results = {}
    for seed in seeds:
        ov = list(args.overrides) + ([f"data.sim.seed={seed}"] if seed is not None else [])
        name = "default params" if seed is None else f"data.sim.seed={seed}"
        if args.overrides:
            name += " + " + " ".join(args.overrides)
        if args.keep:
            work = Path(args.keep) / (f"seed{seed}" if seed is not None else "default")
            work.mkdir(parents=True, exist_ok=True)
            res = pipeline(work, ov)
        else:
            with tempfile.TemporaryDirectory(prefix="tinyad-learning-") as tmp:
                res = pipeline(Path(tmp), ov)
        results[name] = res
        print(table(name, res), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
