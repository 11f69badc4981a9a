"""The cluster stage's work: features, chronological split, scaler and K-means pseudo-labels.

``build_dataset(readings, cfg)`` is pure: the interim readings in, a ``ClusterResult``
(the dataset of ``docs/architecture.md``, the scaler fitted on the valid train rows,
the fitted ``tinyad.data.labeling.PseudoLabeler``, the exposure rows and the metrics) out.

The exposure rows (``exposure_rows``, ``cluster.exposure``, off by default) teach the MLP the labelling
away from the history: each is a valid train row with one of the K-means features
pushed ``cluster.exposure_sigma`` standard deviations (uniform, either sign) along
its axis, labelled by the same fitted policies.  The history shows the model only
the anomalies the room happened to have (a spike up, never a dip; a humid burst,
never a dry one); without them a small ReLU network is free to call a reading
normal that is farther out than any it saw, where the labelling says anomalous.
They train the model only: the scaler, the labels and every split are the history's.
docs/detection.md says what they gain across rooms and why they are not the default.  Features and the
split are ``tinyad/device/features.py``'s, the labelling policies ``tinyad/data/labeling.py``'s.
TensorFlow is not imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tinyad.config import Config
from tinyad.device.features import (
    CONTEXT_FEATURES,
    Scaler,
    check_train_size,
    compute_features,
    feature_names,
    split_labels,
    stuck_warning,
)
from tinyad.data.labeling import PseudoLabeler, scores_overall_and_by_type, time_slots

INTERIM_COLUMNS = ("timestamp", "temperature", "humidity", "fault", "label", "anomaly_type", "event_id")


@dataclass
class ClusterResult:
    dataset: pd.DataFrame
    scaler: Scaler
    labeler: PseudoLabeler
    metrics: dict[str, Any]
    exposure: pd.DataFrame | None = None  # exposure_rows: the features, valid, split "train", pseudo_label


def jitter_columns(names: list[str]) -> list[int]:
    """The columns of the ``<q>_jitter`` features among ``names``: the noise policy's evidence."""
    return [j for j, name in enumerate(names) if name.endswith("_jitter")]


def check_readings(df: pd.DataFrame, source: str = "readings") -> None:
    missing = [c for c in INTERIM_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; expected {list(INTERIM_COLUMNS)} (docs/architecture.md)")


def build_dataset(readings: pd.DataFrame, cfg: Config) -> ClusterResult:
    """Pure: readings -> dataset with split, features, clusters and pseudo-labels."""
    check_readings(readings)
    names = feature_names(cfg.features)
    X, valid = compute_features(readings, cfg.features)
    split = split_labels(len(readings), cfg.split)
    train = valid & (split == "train")
    check_train_size(len(readings), int((split == "train").sum()), int(train.sum()), cfg.cluster.k,
                     cfg.features.window, cfg.split.train, cfg.features.period_s)
    scaler = Scaler(features=names).fit(X[train])
    Xs = np.zeros_like(X)
    Xs[valid] = scaler.transform(X[valid])
    run = X[:, names.index("run")] if "run" in names else None
    jit = jitter_columns(names)  # the noise policy's evidence
    space = cluster_space(names, cfg.cluster.ignore_features)  # the features K-means clusters
    labeler = PseudoLabeler(cfg.cluster, cfg.thresholds, use_humidity=cfg.features.use_humidity,
                            run_cap=cfg.features.run_cap if run is not None else None,
                            context_columns=[i for i, j in enumerate(space) if names[j] in CONTEXT_FEATURES])
    temp = readings["temperature"].to_numpy(dtype=np.float64)
    hum = readings["humidity"].to_numpy(dtype=np.float64)
    hum_train = hum[train] if np.isfinite(hum[train]).all() else None
    day = pd.DatetimeIndex(readings["timestamp"]).to_numpy().astype("datetime64[D]")  # the stuck span's days
    slot = time_slots(readings["timestamp"])  # hour and kind of day: where labels recur (cluster.recurring_share)
    labeler.fit(Xs[train][:, space], temp[train], hum_train, None if run is None else run[train], day[train],
                jitter=X[train][:, jit] if jit else None, slot=slot[train])
    scaler.stuck_run = labeler.device_stuck_run  # the device applies the stuck policy's rule (Scaler)
    cluster = np.full(len(readings), -1, dtype=np.int64)
    pseudo = np.full(len(readings), -1, dtype=np.int8)
    hum_valid = hum[valid] if cfg.features.use_humidity else None
    cluster[valid], pseudo[valid], reasons = labeler.predict_reasons(
        Xs[valid][:, space], temp[valid], hum_valid, None if run is None else run[valid],
        X[valid][:, jit] if jit else None, slot[valid])

    ds = readings.reset_index(drop=True).copy()
    ds["split"] = pd.Series(split, dtype="string")
    ds["valid"] = valid
    for j, name in enumerate(names):
        ds[name] = X[:, j]
    ds["cluster"] = cluster
    ds["pseudo_label"] = pseudo

    metrics: dict[str, Any] = {
        "rows": int(len(ds)),
        "valid_rows": int(valid.sum()),
        "features": names,
        "cluster_features": [names[j] for j in space],
        "rows_by_split": {s: int((split == s).sum()) for s in ("train", "val", "test")},
        "pseudo_anomalous_frac": float((pseudo[valid] == 1).mean()) if valid.any() else 0.0,
        "contamination": float(cfg.cluster.contamination),
        "pseudo_anomalous_frac_by_split": pseudo_share_by_split(pseudo, valid, split),
        "flagged_by_policy": {
            p: {s: float(f[split[valid] == s].mean()) if (split[valid] == s).any() else 0.0 for s in ("train", "val", "test")}
            for p, f in reasons.items()
        },
        "clusters": labeler.summary(),
    }
    stuck_cut = stuck_warning(cfg.features)
    warnings = [stuck_cut] if stuck_cut else []
    if labeler.stuck_configured and labeler.stuck_run_ == 0:  # stuck_span: the room's usual repeat reaches the cap
        warnings.append(f"the stuck policy and the device's stuck rule are off: this room's sensor repeats "
                        f"itself for {labeler.stuck_usual_:g} readings on a usual day (the median of the history's daily "
                        f"longest repeat), the whole features.stuck_min span ({cfg.features.run_cap} readings), so a "
                        f"repeat that long is no evidence of a stuck sensor; lengthen features.stuck_min and "
                        f"features.window_min")
    if "noise" in cfg.cluster.policies and not jit:
        warnings.append("cluster.policies holds noise, but features.names holds no jitter feature "
                        "(temp_jitter, hum_jitter): the noise policy labels nothing")
    if "context" in cfg.cluster.policies and labeler.context_ is None:
        warnings.append(f"cluster.policies holds context, but K-means clusters no time of day "
                        f"({', '.join(CONTEXT_FEATURES)}; features.names, cluster.ignore_features): "
                        "the context policy labels nothing")
    metrics["warnings"] = [*warnings, *budget_warnings(
        metrics["pseudo_anomalous_frac_by_split"], cfg.cluster.contamination, metrics["flagged_by_policy"])]
    label = ds["label"].to_numpy()
    atype = ds["anomaly_type"].astype(str).to_numpy()
    quality = {}
    for name, rows in (("all", valid), *((s, valid & (split == s)) for s in ("train", "val", "test"))):
        q = scores_overall_and_by_type(label[rows], atype[rows], pseudo[rows] == 1)
        if q:
            quality[name] = q
    if quality:
        metrics["pseudo_label_quality"] = quality
    exposure = exposure_rows(X[train], temp[train], hum[train], names, scaler, labeler, cfg, np.flatnonzero(train),
                             slot=slot[train])
    anchors = noise_anchor_rows(X[train], temp[train], hum[train], names, scaler, labeler, cfg, np.flatnonzero(train),
                                slot=slot[train])
    metrics["exposure"] = {"rows": int(len(exposure)),
                           "anomalous_share": float(exposure["pseudo_label"].mean()) if len(exposure) else 0.0,
                           "noise_anchor_rows": int(len(anchors)),
                           "noise_anchor_anomalous_share": float(anchors["pseudo_label"].mean()) if len(anchors) else 0.0}
    exposure = pd.concat([exposure, anchors], ignore_index=True) if len(anchors) else exposure
    return ClusterResult(ds, scaler, labeler, metrics, exposure)


def exposure_rows(X: np.ndarray, temperature: np.ndarray, humidity: np.ndarray, names: list[str], scaler: Scaler,
                  labeler: PseudoLabeler, cfg: Config, rows: np.ndarray | None = None, *,
                  slot: np.ndarray | None = None) -> pd.DataFrame:
    """``cluster.exposure`` of the valid train rows ``X`` (unscaled features, ``names``), each
    with one K-means feature pushed along its axis (one of ``cluster.exposure_features``
    when set: ``exposure_space``), labelled by ``labeler`` (module docstring).

    A pushed value stays one a reading could give: a push that would take a feature
    never negative in the history below 0, or ``run`` above ``features.run_cap``, goes
    the other way (then clipped), ``run`` moves by a whole count (at least one reading), and a pushed
    ``temp``/``hum`` is the reading the alarm policy reads.  Seeded by
    ``cluster.seed``.  Columns: ``names``, ``valid`` (True), ``split`` ("train"),
    ``pseudo_label`` (0/1), ``source_row`` (the row of ``X`` pushed, as ``rows`` numbers
    them: the dataset's rows in ``build_dataset``).  ``slot`` (the slot of each row of
    ``X``, ``time_slots``: its hour and kind of day) gives a row its base row's slot for
    the recurring rule, unless the time of day or ``weekend`` was the feature pushed
    (then none: nothing is dropped).
    """
    c = cfg.cluster
    n = int(round(c.exposure * len(X)))
    pushed = exposure_space(names, c.ignore_features, c.exposure_features)
    rng = np.random.default_rng(c.seed)
    base = rng.integers(0, len(X), n) if len(X) else np.zeros(0, dtype=np.int64)
    axis = np.asarray(pushed, dtype=np.int64)[rng.integers(0, len(pushed), n)]
    push = rng.uniform(c.exposure_sigma[0], c.exposure_sigma[1], n) * rng.choice([-1.0, 1.0], n)
    raw = X[base].astype(np.float64, copy=True)
    ix = np.arange(n)
    start, step = raw[ix, axis], np.abs(push) * scaler.scale_[axis]
    never_negative = X.min(axis=0) >= 0.0 if len(X) else np.zeros(len(names), dtype=bool)
    high = np.full(n, np.inf)
    if "run" in names:
        on_run = axis == names.index("run")
        high[on_run] = cfg.features.run_cap
        step[on_run] = np.maximum(np.round(step[on_run]), 1.0)  # a whole count of readings, at least one
    moved = start + np.sign(push) * step
    moved = np.where(never_negative[axis] & (moved < 0.0), start + step, moved)  # a push out of what a
    moved = np.where(moved > high, start - step, moved)  # reading can give goes the other way
    raw[ix, axis] = moved
    if "run" in names:  # a run pushed down from below its push: clipped at 0
        j = names.index("run")
        raw[:, j] = np.clip(raw[:, j], 0, cfg.features.run_cap)
    row_slot = None
    if slot is not None:
        row_slot = np.asarray(slot, dtype=np.int64)[base]
        # pushed along the time of day or the day of the week: another hour, or another kind of day
        row_slot[np.isin(axis, [names.index(f) for f in (*CONTEXT_FEATURES, "weekend") if f in names])] = -1
    return _labelled_rows(raw, base, temperature, humidity, names, scaler, labeler, cfg, rows, len(X), row_slot)


def _labelled_rows(raw: np.ndarray, base: np.ndarray, temperature: np.ndarray, humidity: np.ndarray,
                   names: list[str], scaler: Scaler, labeler: PseudoLabeler, cfg: Config,
                   rows: np.ndarray | None, n_rows: int, slot: np.ndarray | None = None) -> pd.DataFrame:
    """Rows made from train rows ``base`` (``raw``: their features, some moved), labelled by
    ``labeler``'s every policy (``slot``: each made row's slot, ``time_slots``, for the recurring
    rule): the exposure and noise anchor frame (``exposure_rows``)."""
    n = len(raw)
    space = cluster_space(names, cfg.cluster.ignore_features)
    temp = raw[:, names.index("temp")] if "temp" in names else np.asarray(temperature, dtype=np.float64)[base]
    hum = raw[:, names.index("hum")] if "hum" in names else np.asarray(humidity, dtype=np.float64)[base]
    run = raw[:, names.index("run")] if "run" in names else None
    jit = jitter_columns(names)
    if n:
        _, pseudo, _ = labeler.predict_reasons(scaler.transform(raw)[:, space], temp,
                                               hum if cfg.features.use_humidity else None, run,
                                               raw[:, jit] if jit else None, slot)
    else:
        pseudo = np.zeros(0, dtype=np.int8)
    out = pd.DataFrame(raw, columns=list(names))
    out["valid"] = True
    out["split"] = pd.Series(["train"] * n, dtype="string")
    out["pseudo_label"] = np.asarray(pseudo, dtype=np.int8)
    out["source_row"] = (np.arange(n_rows) if rows is None else np.asarray(rows))[base].astype(np.int64)
    return out


NOISE_ANCHOR_SHARE = 0.02  # noise anchor rows, as a share of the valid train rows
NOISE_ANCHOR_SPAN = 2.0  # their jitter is drawn uniformly from 0 to this many times the noise policy's level


def noise_anchor_rows(X: np.ndarray, temperature: np.ndarray, humidity: np.ndarray, names: list[str],
                      scaler: Scaler, labeler: PseudoLabeler, cfg: Config, rows: np.ndarray | None = None, *,
                      slot: np.ndarray | None = None) -> pd.DataFrame:
    """Rows that teach the model the noise policy's level, whether or not the history
    held a failing sensor: ``NOISE_ANCHOR_SHARE`` of the valid train rows ``X``, each
    with one jitter feature set to a value drawn uniformly from 0 to
    ``NOISE_ANCHOR_SPAN`` times that feature's level (``labeler.noise_levels_``), then
    labelled by every policy (so anomalous from the level on, and otherwise as the
    row was).  Without them the model meets a jitter above the history's only where
    it extrapolates: the simulator's model, whose history holds no failing sensor,
    alerted 15 times a day on a sensor whose noise grew by 0.2 deg C.  Empty when the
    ``noise`` policy is off or has no level.  Seeded by ``cluster.seed``; the columns
    of ``exposure_rows``; ``slot``: as there (an anchor keeps its base row's hour).
    """
    jit = jitter_columns(names)
    levels = labeler.noise_levels_
    n = int(round(NOISE_ANCHOR_SHARE * len(X))) if jit and levels and "noise" in cfg.cluster.policies else 0
    rng = np.random.default_rng([cfg.cluster.seed, 1])
    base = rng.integers(0, len(X), n) if n else np.zeros(0, dtype=np.int64)
    which = rng.integers(0, len(jit), n) if n else np.zeros(0, dtype=np.int64)
    raw = X[base].astype(np.float64, copy=True)
    if n:
        top = NOISE_ANCHOR_SPAN * np.asarray(levels, dtype=np.float64)[which]
        raw[np.arange(n), np.asarray(jit)[which]] = rng.uniform(0.0, 1.0, n) * top
    return _labelled_rows(raw, base, temperature, humidity, names, scaler, labeler, cfg, rows, len(X),
                          None if slot is None else np.asarray(slot, dtype=np.int64)[base])


def cluster_space(names: list[str], ignore: list[str]) -> list[int]:
    """The columns of the features K-means clusters: all but ``cluster.ignore_features``.

    The model still gets every feature as an input; the policies still read the raw
    readings, the ``run`` feature (``stuck``) and the jitter features (``noise``).
    ``cluster.ignore_features: [run, temp_jitter, hum_jitter]`` (the default) leaves
    repeats to the stuck policy and jitter to the noise policy; the stuck policy judges them against the
    room's own repeats (``tinyad.data.labeling.stuck_span``): in a calm room a long run
    of identical readings is how the room behaves, and a distance in ``run`` would make
    the calmest nights the room's "anomalies", which the model learns to alert on
    (docs/detection.md, "A calm room").
    """
    space = [j for j, n in enumerate(names) if n not in ignore]
    if not space:
        raise ValueError(f"cluster.ignore_features: {list(ignore)} leaves K-means none of the features {names}")
    return space


def exposure_space(names: list[str], ignore: list[str], pushed: list[str]) -> list[int]:
    """The columns exposure rows push: the K-means features (``cluster_space``), or those
    of them named in ``cluster.exposure_features`` when it is set.

    ``Config`` refuses a name that is not a clustered feature; one the room does not
    compute (a ``hum`` feature with ``features.use_humidity: false``) is not pushed,
    as it is not clustered.  Pushing only the shape features (``temp_devup``, ``run``,
    the time of day) and never the levels (``temp``, ``hum``) leaves a level beyond
    the history to the alarm band: docs/detection.md says what that changes.
    """
    space = cluster_space(names, ignore)
    if not pushed:
        return space
    out = [j for j in space if names[j] in pushed]
    if not out:
        raise ValueError(f"cluster.exposure_features: none of {list(pushed)} is a feature this room clusters "
                         f"({[names[j] for j in space]})")
    return out


WARN_FACTOR = 3.0  # a split's pseudo-anomalous share this many times the budget is "far above" it


def pseudo_share_by_split(pseudo: np.ndarray, valid: np.ndarray, split: np.ndarray) -> dict[str, float]:
    """The share of valid rows labelled anomalous, per split."""
    out = {}
    for s in ("train", "val", "test"):
        rows = valid & (split == s)
        out[s] = float((pseudo[rows] == 1).mean()) if rows.any() else 0.0
    return out


def budget_warnings(shares: dict[str, float], contamination: float, by_policy: dict[str, dict[str, float]]) -> list[str]:
    """One line per split whose pseudo-anomalous share is far above ``cluster.contamination``."""
    out = []
    for s, share in shares.items():
        if share > WARN_FACTOR * contamination:
            top = max(by_policy, key=lambda p: by_policy[p].get(s, 0.0)) if by_policy else "?"
            out.append(
                f"{s} split: {share:.1%} of the readings are pseudo-anomalous, over {WARN_FACTOR:g}x the "
                f"contamination budget cluster.contamination={contamination:g} (mostly policy {top!r}"
                + (": is thresholds.temp_alarm/hum_alarm set for this room?" if top == "alarm" else "")
                + (": a stuck or coarse sensor?" if top == "stuck" else "")
                + ")"
            )
    return out

