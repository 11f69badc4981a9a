"""``tinyad detect``: replay a log through the trained int8 model exactly as the device would.

    tinyad detect LOG [--params params.yaml] [--data-preset uci] [--sensor-col room --sensor office] [--out DIR]
                      [--engine python|firmware] [--program build/firmware/host/program]

``LOG`` is either a CSV log, read with the column mapping of ingest
(``data.csv``: the params' own, or that of a preset of ``conf/data/`` with
``--data-preset``; ``--sensor-col``/``--sensor`` read one sensor of a log of several;
put on the model's grid of ``data.period_s``), or a serial log
recorded from the device (the JSON lines of the firmware, ``status``/``fault`` lines
with ``--status-every 1`` or ``reading`` lines in log mode; recognised by its first
line starting with ``{``).  Nothing of the pipeline is re-run: it reads the trained
``models/`` (scaler, int8 ``.tflite``, ``quant.json``) and ``params.yaml``.

The device's chain on every reading, from a fresh start:

* the sensor check (``tinyad.device.alerts.check_sample``): a faulty reading never enters the
  window; a missing grid period is no reading at all;
* the features of the last N valid readings (``tinyad.device.features.compute_features``),
  scaled and quantized (``Scaler``, ``quantize_input``);
* the int8 model: ``tinyad.device.model.run_model`` (the bit-exact Python twin of the
  generated C and of TFLite Micro; no TensorFlow);
* the alert rules as ``codegen`` writes them for the firmware,
  ``tinyad.learn.calibration.device_rules``: the calibrated decision, raise and instant
  codes and debounce of quant.json, the seed's alarm band, the stuck-sensor rule
  (``stuck_run`` of models/scaler.json); then ``tinyad.device.alerts.firmware_lines``
  (the Python reference of the firmware's state machine and serial lines).

``--engine firmware`` instead feeds the same readings to the host firmware that the
``firmware`` stage built (its serial lines are parsed the same way); a test shows the
two give the same alerts.

Outputs in ``--out`` (default ``outputs/detect/<log name>/``): ``alerts.csv`` (one row
an alert: start, end, minutes, readings, what raised it), ``readings.csv`` (every
reading: score, decision, alert state), ``detect.png`` (the log, alerts marked,
labelled anomalies shaded where the log has labels), ``summary.md`` and
``summary.json`` (alerts a day, flagged share, longest alert; with labels the F1 of
the device's decisions and the events caught; the model used: the ``.tflite``'s
SHA-256 and its MLflow registered version when the registry holds it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.device.alerts import NEVER, AlertRules, RawReading, firmware_lines
from tinyad.config import Config, load
from tinyad.io import atomic_path, read_json, write_json, write_text

ENGINES = ("python", "firmware")
DEFAULT_PROGRAM = "build/firmware/host/program"


# ------------------------------------------------------------------ the model
@dataclass
class Device:
    """What the device runs: params, scaler, int8 model, quant.json, the alert rules."""

    cfg: Config
    scaler: Any
    model: Any
    quant: dict[str, Any]
    rules: AlertRules
    threshold: float
    tflite_sha256: str
    source: str

    @classmethod
    def load(cls, params: str | Path = "params.yaml", models: str | Path = "models") -> "Device":
        from tinyad.learn.calibration import decision_threshold, device_rules
        from tinyad.device.features import Scaler, feature_names
        from tinyad.device.tflite_model import read_tflite

        models = Path(models)
        cfg = load(params)
        for name, stage in (("scaler.json", "cluster"), ("model_int8.tflite", "quantize"), ("quant.json", "quantize")):
            if not (models / name).is_file():
                raise FileNotFoundError(f"{models / name}: not found; train the model first (`dvc repro {stage}`)")
        scaler = Scaler.load(models / "scaler.json")
        scaler.check_features(feature_names(cfg.features), source=str(models / "scaler.json"))
        scaler.check_stuck_run(cfg.features.run_cap, source=str(models / "scaler.json"))
        quant = read_json(models / "quant.json")
        threshold = decision_threshold(quant, cfg.alerts)
        rules = device_rules(quant, cfg, scaler.stuck_run)
        tflite = models / "model_int8.tflite"
        return cls(cfg, scaler, read_tflite(tflite), quant, rules, threshold,
                   hashlib.sha256(tflite.read_bytes()).hexdigest(), str(tflite))


# ----------------------------------------------------------------- the log
def is_serial_log(path: Path, lines: int = 20) -> bool:
    """A JSON line (or a time-stamped one of ``pio device monitor``) among the first non-empty lines."""
    seen = 0
    with path.open(errors="replace") as fh:
        for line in fh:
            if line.strip():
                if line.lstrip().startswith("{") or " > {" in line:
                    return True
                seen += 1
                if seen >= lines:
                    break
    return False


def read_serial_log(path: Path) -> pd.DataFrame:
    """The readings of a recorded serial log (firmware JSON lines) as a readings table."""
    rows: list[tuple[int, float, float, str]] = []
    with path.open(errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.strip()
            if not line.startswith("{"):
                if " > {" not in line:
                    continue  # boot banners, blank lines
                line = line[line.index(" > {") + 3:]  # `pio device monitor`'s time filter: "12:00:01.123 > {...}"
            try:
                msg = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {n}: not a JSON line ({exc.msg})") from None
            event = msg.get("event")
            if event == "fault" or (event == "reading" and msg.get("temp") is None):
                rows.append((int(msg["t"]), math.nan, math.nan, str(msg.get("reason", "nan"))))
            elif event in ("status", "reading"):
                hum = msg.get("hum")
                rows.append((int(msg["t"]), float(msg["temp"]), math.nan if hum is None else float(hum), ""))
    if not rows:
        raise ValueError(f"{path}: no status, reading or fault line: record with `--status-every 1` or in log mode")
    df = pd.DataFrame(rows, columns=["t", "temperature", "humidity", "fault"]).drop_duplicates("t", keep="last")
    df = df.sort_values("t").reset_index(drop=True)
    df.insert(0, "timestamp", pd.to_datetime(df.pop("t"), unit="s").astype("datetime64[ns]"))
    df["label"] = np.int8(-1)
    df["anomaly_type"] = "unknown"
    df["event_id"] = np.int32(-1)
    return df


def read_csv_log(path: Path, cfg: Config, preset: str | None = None,
                 sensor: tuple[str | None, str | None] = (None, None)) -> pd.DataFrame:
    """A CSV log with ingest's column mapping (``data.csv`` or a preset's), on the model's grid;
    ``sensor``: (column, name) of the one sensor to read of a log of several, each None for
    the mapping's ``data.csv.sensor_col`` / ``sensor``."""
    from tinyad.data.csvlog import read_logs

    csv_cfg = cfg.data.csv if preset is None else preset_csv(preset)
    col, name = sensor
    source = f"conf/data/{preset}.yaml" if preset is not None else "the params"
    if name is not None and col is None and not csv_cfg.sensor_col:
        raise ValueError(f"--sensor {name!r} needs --sensor-col, the column naming each line's sensor: "
                         f"{source}' data.csv.sensor_col is empty")
    if col is not None and name is None and not csv_cfg.sensor.strip():
        raise ValueError(f"--sensor-col {col!r} needs --sensor, the one to read: {source}' data.csv.sensor is empty")
    if col is not None or name is not None:
        csv_cfg = replace(csv_cfg, sensor_col=csv_cfg.sensor_col if col is None else col,
                          sensor=csv_cfg.sensor if name is None else name)
    table, stats = read_logs(replace(csv_cfg, paths=[str(path.resolve())]), cfg.data.period_s)
    for w in stats.get("warnings", []):  # what ingest would warn about this log (plausibility.check_log)
        print(f"tinyad detect: warning: {w}", file=sys.stderr)
    # the sensor read, as flags and mapping resolved it ("" for a log of one sensor)
    table.attrs |= {"sensor_col": csv_cfg.sensor_col, "sensor": csv_cfg.sensor.strip()}
    return table


def preset_csv(preset: str):
    """``data.csv`` of ``conf/data/<preset>.yaml`` (composed as ``data=<preset>`` would be)."""
    from tinyad.params import compose, config_groups

    options = config_groups().get("data", [])
    if preset not in options:
        raise ValueError(f"--data-preset {preset!r}: no such preset in conf/data/ (options: {', '.join(options)})")
    with tempfile.TemporaryDirectory() as tmp:
        compose([f"data={preset}"], out=Path(tmp) / "params.yaml")
        return load(Path(tmp) / "params.yaml").data.csv


def read_log(path: str | Path, cfg: Config, preset: str | None = None,
             sensor: tuple[str | None, str | None] = (None, None)) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: log not found")
    if is_serial_log(path):
        if sensor != (None, None):
            raise ValueError(f"{path}: a serial log is one device's; --sensor and --sensor-col pick a sensor of a CSV log")
        return read_serial_log(path)
    return read_csv_log(path, cfg, preset, sensor)


# ------------------------------------------------------------------ detection
@dataclass
class Detection:
    readings: pd.DataFrame  # the readings the device saw, with score, decision, alert
    alerts: pd.DataFrame  # one row an alert
    summary: dict[str, Any] = field(default_factory=dict)


def device_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The readings the device receives: every grid row but the missing periods."""
    return table[table["fault"].astype(str) != "missing"].reset_index(drop=True)


def seconds(ts: pd.Series) -> np.ndarray:
    """Epoch seconds of naive timestamps, as the host firmware reads them (UTC, timegm)."""
    return pd.DatetimeIndex(ts).as_unit("s").asi8.astype(np.int64)


def python_scores(rows: pd.DataFrame, dev: Device) -> list[int | None]:
    """The int8 output code of each reading (None: faulty, or the window not yet full)."""
    from tinyad.device.features import compute_features
    from tinyad.device.model import run_model
    from tinyad.device.runtime import Int8Runtime

    X, valid = compute_features(rows, dev.cfg.features)
    scores: list[int | None] = [None] * len(rows)
    if valid.any():
        q_in = Int8Runtime(None, dev.quant).quantize(dev.scaler.transform(X[valid]))
        for pos, code in zip(np.flatnonzero(valid), run_model(dev.model, q_in)[:, 0]):
            scores[pos] = int(code)
    return scores


def raw_readings(rows: pd.DataFrame) -> list[RawReading]:
    return [RawReading(int(t), float(a), float(b)) for t, a, b in
            zip(seconds(rows["timestamp"]), rows["temperature"], rows["humidity"])]


def python_lines(rows: pd.DataFrame, dev: Device) -> list[dict[str, Any]]:
    """The firmware's serial lines (``--status-every 1``) from the Python reference."""
    return firmware_lines(raw_readings(rows), python_scores(rows, dev), dev.rules, 1,
                          dev.cfg.features.use_humidity, "alert")


def firmware_input(rows: pd.DataFrame) -> str:
    """The readings as the CSV text the host firmware reads on standard input."""
    def cell(x: float) -> str:
        return "" if not np.isfinite(x) else f"{x:.1f}"

    out = ["timestamp,temperature,humidity"]
    for ts, t, h in zip(rows["timestamp"], rows["temperature"], rows["humidity"]):
        out.append(f"{pd.Timestamp(ts).strftime('%Y-%m-%d %H:%M:%S')},{cell(t)},{cell(h)}")
    return "\n".join(out) + "\n"


def firmware_lines_of(rows: pd.DataFrame, program: str | Path) -> list[dict[str, Any]]:
    """The host firmware's serial lines (``--status-every 1``) on these readings."""
    program = Path(program)
    if not program.is_file():
        raise FileNotFoundError(f"{program}: host firmware not found; build it with `dvc repro firmware`")
    proc = subprocess.run([str(program), "--status-every", "1"], input=firmware_input(rows),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ValueError(f"{program}: exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]


def per_reading(rows: pd.DataFrame, lines: list[dict[str, Any]]) -> pd.DataFrame:
    """One row a reading: fault, score, model/threshold/stuck decision, alert state, alert/clear event."""
    out = rows[["timestamp", "temperature", "humidity", "fault", "label", "anomaly_type", "event_id"]].copy()
    n = len(out)
    score = np.full(n, np.nan)
    model = np.zeros(n, dtype=bool)
    rule = np.zeros(n, dtype=bool)
    stuck = np.zeros(n, dtype=bool)
    alert = np.zeros(n, dtype=bool)
    fault = np.array([""] * n, dtype=object)
    event = np.array([""] * n, dtype=object)
    raised = np.array([""] * n, dtype=object)
    t = seconds(out["timestamp"])
    i = 0  # each reading gives exactly one status or fault line, after its alert/clear line
    for ln in lines:
        if i >= n:
            raise ValueError(f"more serial lines than readings ({n})")
        if int(ln["t"]) != int(t[i]):
            raise ValueError(f"serial line for t={ln['t']} where reading {i} has t={t[i]}")
        if ln["event"] in ("alert", "clear"):
            event[i] = ln["event"]
            if ln["event"] == "alert":
                raised[i] = "+".join(k for k in ("model", "threshold", "stuck") if ln.get(k))
            continue
        if ln["event"] == "fault":
            fault[i] = ln["reason"]
            alert[i] = alert[i - 1] if i else False
        else:
            score[i] = np.nan if ln["score"] is None else ln["score"]
            model[i], rule[i], alert[i] = bool(ln["model"]), bool(ln["threshold"]), bool(ln["alert"])
            stuck[i] = bool(ln["stuck"])
        i += 1
    if i != n:
        raise ValueError(f"{n} readings but {i} status/fault lines")
    out["fault"] = fault
    out["score"] = score
    out["model"] = model
    out["threshold"] = rule
    out["stuck"] = stuck
    out["decision"] = model | rule | stuck
    out["alert"] = alert
    out["event"] = event
    out["raised_by"] = raised
    return out


def alert_table(r: pd.DataFrame, period_s: float) -> pd.DataFrame:
    """One row an alert: start, end (the clearing reading, or the end of the log), what raised it."""
    from tinyad.evaluate.metrics import runs

    rows = []
    ts = pd.DatetimeIndex(r["timestamp"])
    for a, b in runs(r["alert"].to_numpy()):
        seg = r.iloc[a:b]
        cleared = b < len(r)
        end = ts[b] if cleared else ts[b - 1] + pd.Timedelta(seconds=period_s)
        rows.append({
            "start": ts[a], "end": end, "cleared": cleared,
            "minutes": (end - ts[a]).total_seconds() / 60.0, "readings": int(b - a),
            "raised_by": str(seg["raised_by"].iloc[0]),
            "max_score": float(np.nanmax(seg["score"])) if seg["score"].notna().any() else math.nan,
            "max_temperature": float(seg["temperature"].max()),
            "min_temperature": float(seg["temperature"].min()),
            "max_humidity": float(seg["humidity"].max()) if seg["humidity"].notna().any() else math.nan,
            "labelled_anomaly": bool((seg["label"] == 1).any()),
        })
    cols = ["start", "end", "cleared", "minutes", "readings", "raised_by", "max_score", "max_temperature",
            "min_temperature", "max_humidity", "labelled_anomaly"]
    return pd.DataFrame(rows, columns=cols)


def summarise(r: pd.DataFrame, alerts: pd.DataFrame, period_s: float) -> dict[str, Any]:
    from tinyad.evaluate import metrics as M

    ts = pd.DatetimeIndex(r["timestamp"])
    days = ((ts[-1] - ts[0]).total_seconds() + period_s) / 86400.0 if len(ts) else 0.0
    valid = r["fault"].astype(str).to_numpy() == ""
    out: dict[str, Any] = {
        "readings": int(len(r)), "valid_readings": int(valid.sum()), "faults": int((~valid).sum()),
        "days": days, "alerts": int(len(alerts)),
        "alerts_per_day": len(alerts) / days if days else 0.0,
        "alerts_per_week": 7.0 * len(alerts) / days if days else 0.0,
        "flagged_share": float(r["alert"][valid].mean()) if valid.any() else 0.0,
        "longest_alert_minutes": float(alerts["minutes"].max()) if len(alerts) else 0.0,
    }
    label = r["label"].to_numpy(dtype=np.int64)
    known = valid & (label >= 0)
    out["labels"] = int(known.any())
    if known.any():
        y = label[known] == 1
        out |= {f"device_{k}": v for k, v in M.binary_scores(y, r["decision"].to_numpy()[known]).items()}
        ev = M.event_scores(r["alert"].to_numpy(), r["event_id"].to_numpy(dtype=np.int64), label == 0,
                            r["anomaly_type"].astype(str).to_numpy(), days)
        out["events"] = int(ev["events"])
        out["events_caught"] = int(ev["caught"])
        out["false_alarm_events"] = int(ev["false_alarm_events"])
    return out


def detect(table: pd.DataFrame, dev: Device, engine: str = "python", program: str | Path = DEFAULT_PROGRAM) -> Detection:
    if engine not in ENGINES:
        raise ValueError(f"--engine: expected one of {list(ENGINES)}, got {engine!r}")
    rows = device_rows(table)
    if rows.empty:
        raise ValueError("the log holds no reading")
    lines = python_lines(rows, dev) if engine == "python" else firmware_lines_of(rows, program)
    r = per_reading(rows, lines)
    period = float(dev.cfg.data.period_s)
    alerts = alert_table(r, period)
    return Detection(r, alerts, summarise(r, alerts, period))


# ------------------------------------------------------------------ registry
def registered_version(sha256: str, root: Path) -> str | None:
    """``<name> version <n>`` of the MLflow registered model whose ``tflite_sha256`` tag is this."""
    db = root / "mlflow.db"
    if not db.is_file():
        return None
    try:
        from mlflow.tracking import MlflowClient

        from tinyad.tools.tracking import resolve_uri

        client = MlflowClient(tracking_uri=resolve_uri(None, root))
        found = client.search_model_versions(f"tags.tflite_sha256 = '{sha256}'")
    except Exception:  # noqa: BLE001 - the registry is optional here
        return None
    if not found:
        return None
    v = max(found, key=lambda mv: int(mv.version))
    return f"{v.name} version {v.version}"


# ------------------------------------------------------------------ outputs
def write_outputs(det: Detection, out: Path, log: Path, dev: Device, engine: str, version: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "alerts.csv") as tmp:
        det.alerts.to_csv(tmp, index=False)
    with atomic_path(out / "readings.csv") as tmp:
        det.readings.to_csv(tmp, index=False)
    s = det.summary | {
        "log": str(log), "engine": engine, "model": dev.source, "tflite_sha256": dev.tflite_sha256,
        "registered_version": version, "decision_threshold": dev.threshold, "decision_code": dev.rules.decision_q,
        "raise_code": dev.rules.raise_q, "instant_code": dev.rules.instant_q, "consecutive": dev.rules.consecutive, "clear_after": dev.rules.clear_after,
    }
    write_json(out / "summary.json", s)
    write_text(out / "summary.md", summary_markdown(s))
    plot(det, out / "detect.png", log.name)


def summary_markdown(s: dict[str, Any]) -> str:
    lines = [
        f"# detect: {s['log']}", "",
        f"Model: `{s['model']}` (sha256 {s['tflite_sha256'][:12]}; "
        f"{s['registered_version'] or 'not found in the MLflow registry'}), engine: {s['engine']}; "
        f"decision code {s['decision_code']} (probability {s['decision_threshold']:g}), "
        f"{s['consecutive']} anomalous readings"
        + (f" at code {s['raise_code']} or above" if s.get("raise_code", s["decision_code"]) != s["decision_code"] else "")
        + " raise an alert"
        + (f" (one at code {s['instant_code']} or above at once)" if s.get("instant_code", NEVER) != NEVER else "")
        + f", as one past the alarm band or stuck does; {s['clear_after']} normal ones clear it.", "",
        "| figure | value |", "|---|---:|",
        f"| readings (valid) | {s['readings']} ({s['valid_readings']}) |",
        f"| days | {s['days']:.2f} |",
        f"| alerts | {s['alerts']} |",
        f"| alerts a day | {s['alerts_per_day']:.2f} |",
        f"| share of readings flagged | {100 * s['flagged_share']:.2f}% |",
        f"| longest alert (minutes) | {s['longest_alert_minutes']:.0f} |",
    ]
    if s.get("labels"):
        lines += [
            f"| F1 of the device's decisions (labels) | {s['device_f1']:.3f} |",
            f"| events caught | {s['events_caught']}/{s['events']} |",
            f"| false alarm events | {s['false_alarm_events']} |",
        ]
    else:
        lines += ["", "No labels in this log: nothing is scored as accuracy; the figures are what the device would do."]
    return "\n".join(lines) + "\n"


def plot(det: Detection, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyad.evaluate.metrics import runs

    r = det.readings
    has_hum = r["humidity"].notna().any()
    fig, axes = plt.subplots(2 if has_hum else 1, 1, figsize=(14, 6 if has_hum else 4), sharex=True, squeeze=False)
    ts = pd.DatetimeIndex(r["timestamp"])
    labelled = r["label"].to_numpy() == 1
    for ax, col, unit in zip(axes[:, 0], ("temperature", "humidity"), ("deg C", "%RH")):
        ax.plot(ts, r[col], lw=0.7, color="tab:blue", label=col)
        for k, (a, b) in enumerate(runs(labelled)):
            ax.axvspan(ts[a], ts[b - 1], color="tab:orange", alpha=0.3, lw=0, label="labelled anomaly" if k == 0 else None)
        for k, row in enumerate(det.alerts.itertuples()):
            ax.axvspan(row.start, row.end, color="tab:red", alpha=0.2, lw=0, label="device alert" if k == 0 else None)
        if len(det.alerts):
            starts = det.alerts["start"]
            ax.plot(starts, r.set_index("timestamp").loc[starts, col], "v", color="tab:red", ms=7, label="alert raised")
        ax.set_ylabel(f"{col} ({unit})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    s = det.summary
    head = f"{title}: {s['alerts']} alerts in {s['days']:.1f} days ({s['alerts_per_day']:.2f} a day), " \
           f"{100 * s['flagged_share']:.1f}% of readings flagged"
    if s.get("labels"):
        head += f"; F1 {s['device_f1']:.3f}, events caught {s['events_caught']}/{s['events']}"
    axes[0, 0].set_title(head, fontsize=10)
    axes[-1, 0].set_xlabel("time")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    from tinyad.cli import describe
    from tinyad.config import ConfigError
    from tinyad.paths import project_root

    ap = argparse.ArgumentParser(prog="tinyad detect", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="a CSV log or a recorded serial log (JSON lines)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--models", default="models", help="folder of scaler.json, model_int8.tflite, quant.json")
    ap.add_argument("--data-preset", default=None, help="read the CSV with conf/data/<preset>.yaml's column mapping")
    ap.add_argument("--sensor", default=None,
                    help="of a log of several sensors or rooms, the one to read (data.csv.sensor)")
    ap.add_argument("--sensor-col", default=None,
                    help="the column naming each line's sensor (data.csv.sensor_col; default: the mapping's), "
                         "e.g. --data-preset influxdb --sensor-col room --sensor office")
    ap.add_argument("--out", default=None, help="output folder (default outputs/detect/<log name>[/<sensor>])")
    ap.add_argument("--engine", choices=ENGINES, default="python",
                    help="python: the bit-exact reference (default); firmware: the host firmware program")
    ap.add_argument("--program", default=DEFAULT_PROGRAM, help="the host firmware (--engine firmware)")
    ap.add_argument("--room", default=None,
                    help="a room of the project's fleet (docs/fleet.md): its params, models and host firmware "
                         "(fleet/<room>/params.yaml, models/<room>/, build/<room>/firmware/host/program)")
    args = ap.parse_args(argv)
    log = Path(args.log)
    try:
        if args.room is not None:
            from tinyad.tools.fleet import room_paths

            if args.sensor is not None or args.sensor_col is not None:
                raise ValueError(f"--room {args.room}: a fleet room reads its own sensor (its params' data.csv.sensor); "
                                 "--sensor-col and --sensor pick one for --params or --data-preset")
            args.params, args.models, args.program = room_paths(args.room)
            args.out = args.out or str(Path("outputs") / "detect" / args.room / log.stem)
        dev = Device.load(args.params, args.models)
        table = read_log(log, dev.cfg, args.data_preset, (args.sensor_col, args.sensor))
        det = detect(table, dev, args.engine, args.program)
        version = registered_version(dev.tflite_sha256, project_root())
        # one folder a sensor: replaying the rooms of one export one by one keeps each
        default_out = Path("outputs") / "detect" / log.stem / (args.sensor or "")
        out = Path(args.out) if args.out else default_out
        if table.attrs.get("sensor"):  # one sensor of a log of several: which, through which column
            det.summary |= {"sensor": table.attrs["sensor"], "sensor_col": table.attrs["sensor_col"]}
        write_outputs(det, out, log, dev, args.engine, version)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"tinyad detect: error: {describe(exc)}", file=sys.stderr)
        return 2
    s = det.summary
    print(f"detect: {log}: {s['readings']} readings over {s['days']:.1f} days, model {dev.source} "
          f"(sha256 {dev.tflite_sha256[:12]}; {version or 'not in the MLflow registry'})")
    line = (f"detect: {s['alerts']} alerts ({s['alerts_per_day']:.2f} a day), {100 * s['flagged_share']:.2f}% of "
            f"readings flagged, longest alert {s['longest_alert_minutes']:.0f} min")
    if s.get("labels"):
        line += f"; F1 {s['device_f1']:.3f}, events caught {s['events_caught']}/{s['events']}"
    print(line)
    print(f"detect: wrote {out}/alerts.csv, readings.csv, detect.png, summary.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
