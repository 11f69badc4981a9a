"""K-means pseudo-labelling policies, their scores, and the cluster stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.readings import synthetic_readings
from tinyad.config import ClusterConfig, ThresholdsConfig
from tinyad.data.clustering import NOISE_ANCHOR_SHARE, NOISE_ANCHOR_SPAN
from tinyad.data.labeling import (JITTER_FLOOR, NOISE_FACTOR, RECURRING_MIN_DAYS, RECURRING_SLOT_MIN, SLOTS_PER_DAY, STUCK_FACTOR,
                                  STUCK_MIN_READINGS,
                                  PseudoLabeler, noise_levels, recurring_slots, scores, scores_overall_and_by_type,
                                  stuck_span, time_slots, usual_repeat)

THR = ThresholdsConfig(temp_normal=[23.0, 25.0], hum_normal=[35.0, 45.0], temp_alarm=[20.0, 28.0], hum_alarm=[30.0, 50.0])


def ccfg(policies, k=2, small_frac=0.02, q=0.99, contamination=0.01, recurring_share=0.5) -> ClusterConfig:
    return ClusterConfig(k=k, n_init=5, seed=0, policies=list(policies), contamination=contamination,
                         small_frac=small_frac, distance_quantile=q, plot_features=["temp", "temp_std"],
                         recurring_share=recurring_share)


def blobs(sizes_centers, seed=0, spread=0.3):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, spread, size=(n, 2)) for n, c in sizes_centers])
    return X


def test_threshold_policy_marks_the_cluster_whose_mean_reading_is_out_of_range():
    X = blobs([(300, (0, 0)), (300, (6, 6))])
    temp = np.r_[np.full(300, 24.0), np.full(300, 29.0)]
    lab = PseudoLabeler(ccfg(["threshold"]), THR, use_humidity=False).fit(X, temp)
    cl, y = lab.predict(X)
    hot = int(cl[-1])
    assert lab.anomalous_clusters_ == {hot: ["threshold"]}
    assert y.tolist() == [0] * 300 + [1] * 300
    # without the policy nothing is anomalous
    lab2 = PseudoLabeler(ccfg(["small"]), THR, use_humidity=False).fit(X, temp)
    assert lab2.predict(X)[1].sum() == 0


def test_threshold_policy_uses_humidity_only_when_asked():
    X = blobs([(300, (0, 0)), (300, (6, 6))])
    temp = np.full(600, 24.0)
    hum = np.r_[np.full(300, 40.0), np.full(300, 55.0)]
    with_h = PseudoLabeler(ccfg(["threshold"]), THR, use_humidity=True).fit(X, temp, hum)
    without = PseudoLabeler(ccfg(["threshold"]), THR, use_humidity=False).fit(X, temp, hum)
    assert with_h.predict(X)[1].tolist() == [0] * 300 + [1] * 300
    assert without.predict(X)[1].sum() == 0


def test_small_policy_marks_rare_clusters_only():
    X = blobs([(500, (0, 0)), (480, (5, 0)), (20, (0, 8))])  # the last holds 2 % of the rows
    temp = np.full(len(X), 24.0)
    lab = PseudoLabeler(ccfg(["small"], k=3, small_frac=0.03), THR, use_humidity=False).fit(X, temp)
    _, y = lab.predict(X)
    assert y.tolist() == [0] * 980 + [1] * 20
    assert list(lab.anomalous_clusters_.values()) == [["small"]]
    lab_strict = PseudoLabeler(ccfg(["small"], k=3, small_frac=0.01), THR, use_humidity=False).fit(X, temp)
    assert lab_strict.predict(X)[1].sum() == 0


def test_distance_policy_flags_points_far_from_every_normal_centroid():
    X = blobs([(500, (0, 0)), (500, (6, 0))], spread=0.5)
    temp = np.full(len(X), 24.0)
    lab = PseudoLabeler(ccfg(["distance"], q=0.99), THR, use_humidity=False).fit(X, temp)
    d = lab.normal_distance(X)
    assert lab.distance_threshold_ == pytest.approx(np.quantile(d, 0.99))
    _, y = lab.predict(X)
    assert y.sum() == (d > lab.distance_threshold_).sum() > 0
    far = np.array([[3.0, 5.0], [0.0, -6.0]])  # between/outside the blobs, far from both centroids
    near = np.array([[0.1, 0.0], [5.9, 0.1]])
    assert lab.predict(far)[1].tolist() == [1, 1]
    assert lab.predict(near)[1].tolist() == [0, 0]


@pytest.mark.parametrize("contamination", [0.005, 0.01, 0.02])
def test_edge_policy_keeps_its_contamination_budget_in_a_room_of_unequal_regimes(contamination):
    """Several regimes of very unequal size (a weekday office: occupied days, nights,
    weekends, a rare holiday regime at 3 %): the small regimes are not anomalous, the
    labelling flags at most `contamination` of the train rows, and the flagged rows
    are the ones far from every regime."""
    rng = np.random.default_rng(1)
    regimes = [(5200, (0, 0)), (2600, (4, 0)), (1400, (0, 5)), (500, (6, 6)), (300, (-5, 3))]
    X = np.vstack([rng.normal(c, 0.4, size=(n, 2)) for n, c in regimes])
    outliers = rng.normal(0, 0.3, size=(40, 2)) + np.array([12.0, -9.0])  # 0.4 %: far from all
    X = np.vstack([X, outliers])
    temp = np.full(len(X), 24.0)
    for k in (8, 14):  # at least as many clusters as regimes (cluster.k: 8 by default)
        # edge alone, and edge + context with the second column as the time of day: the
        # two spaces share one budget (their union is cut to it when it flags more)
        for policies in (["edge"], ["edge", "context"]):
            lab = PseudoLabeler(ccfg(policies, k=k, small_frac=0.01, contamination=contamination), THR,
                                use_humidity=False, context_columns=[1]).fit(X, temp)
            _, y = lab.predict(X)
            where = f"k={k} {policies}"
            assert y.mean() <= contamination + 1e-9, f"{where}: {y.mean():.4f} flagged over the budget {contamination}"
            assert y[-40:].all(), f"{where}: the far outliers are not all flagged"
            # no regime is flagged as a whole: the 3 % regime keeps almost all of its rows normal
            small_regime = slice(9700, 10000)
            assert y[small_regime].mean() < 0.2, f"{where}: the small regime was labelled anomalous"
        if k == 14:  # here each space alone flags close to the budget: the union needed the cut
            assert lab.budget_capped_ and lab.context_ is not None
    # the old `small` policy would label the small regimes anomalous (what this replaces)
    old = PseudoLabeler(ccfg(["small"], k=8, small_frac=0.07), THR, use_humidity=False).fit(X, temp)
    assert old.predict(X)[1].mean() > 3 * contamination


def test_the_context_policy_labels_the_homes_heating_on_at_night_and_keeps_the_budget(tmp_path, monkeypatch):
    """The home preset (conf/data/home.yaml): its contextual events, the heating on at
    night, read day-time values when the house should be cooling; near midnight they lie
    close to the evening's clusters in the plain space.  With the time of day weighted
    (the context policy) more of them get a label, and edge + context stay within the
    budget: the train share over it is what the absolute-evidence policies add."""
    import dataclasses

    from tinyad.config import load
    from tinyad.data.clustering import build_dataset
    from tinyad.data.readings import build_readings
    from tinyad.params import compose

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    compose(["data=home"], conf_dir=root / "conf", out=tmp_path / "params.yaml")
    cfg = load(tmp_path / "params.yaml")
    assert "context" in cfg.cluster.policies  # the default
    table, events, _ = build_readings(cfg.data, root)
    contextual = [e for e in events if e.kind == "contextual"]
    assert len(contextual) >= 8

    def label(policies):
        res = build_dataset(table, dataclasses.replace(cfg, cluster=dataclasses.replace(cfg.cluster, policies=policies)))
        pseudo = res.dataset["pseudo_label"].to_numpy()
        return np.mean([(pseudo[e.start:e.stop] == 1).any() for e in contextual]), res.metrics

    plain, _ = label([p for p in cfg.cluster.policies if p != "context"])
    both, m = label(list(cfg.cluster.policies))
    assert both >= plain + 0.3, f"contextual events labelled: {both:.2f} with context, {plain:.2f} without"
    by = m["flagged_by_policy"]
    evidence = by["alarm"]["train"] + by["stuck"]["train"]
    assert m["pseudo_anomalous_frac_by_split"]["train"] <= cfg.cluster.contamination + evidence + 1e-9
    assert m["clusters"]["context"]["weight"] == cfg.cluster.context_weight


def test_absolute_evidence_policies_may_exceed_the_budget():
    """The alarm band and a stuck sensor are evidence of their own: not capped."""
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, size=(2000, 2))
    temp = np.full(2000, 24.0)
    temp[:200] = 31.0  # 10 % outside the alarm band (20-28)
    run = np.zeros(2000)
    run[200:300] = 59  # 5 % stuck at the cap
    lab = PseudoLabeler(ccfg(["edge", "alarm", "stuck"], contamination=0.01), THR, use_humidity=False,
                        run_cap=59).fit(X, temp)
    _, y, why = lab.predict_reasons(X, temp, None, run)
    assert why["alarm"][:200].all() and not why["alarm"][200:].any()
    assert why["stuck"][200:300].all() and why["stuck"].sum() == 100
    assert why["edge"].mean() <= 0.01 + 1e-9
    assert y.mean() >= 0.15
    # a cap of fewer than STUCK_MIN_READINGS repeats is no evidence (an hourly log)
    coarse = PseudoLabeler(ccfg(["stuck"]), THR, use_humidity=False, run_cap=2).fit(X, temp)
    assert coarse.predict(X, temp, None, np.full(2000, 2.0))[1].sum() == 0


def days_of_runs(per_day: list[list[int]], day_len: int = 1440) -> tuple[np.ndarray, np.ndarray]:
    """A run feature (time-ordered) and its calendar days: day d holds repeats of the given lengths."""
    run, day = [], []
    for d, streaks in enumerate(per_day):
        r = np.zeros(day_len)
        at = 10
        for n in streaks:
            r[at:at + n] = np.arange(1, n + 1)  # n readings repeat the one before them
            at += n + 20
        run.append(r)
        day.append(np.full(day_len, d))
    return np.concatenate(run), np.concatenate(day)


def test_the_stuck_span_follows_how_long_the_room_s_own_sensor_repeats():
    cap = 59
    # a noisy sensor repeats twice at most: a stuck one is known after a few readings, not after the cap
    noisy = days_of_runs([[1, 2, 1]] * 10)
    assert stuck_span(*noisy, cap) == max(STUCK_MIN_READINGS, int(STUCK_FACTOR * 2)) < cap
    # a still room repeats for 15 readings every night: its calm is never a stuck sensor
    calm = days_of_runs([[2, 15, 3]] * 10)
    assert stuck_span(*calm, cap) == int(STUCK_FACTOR * 15) > 15
    # stuck sensors on fewer than half the days do not move it (a median of days)
    spoiled = days_of_runs([[2, 15, 3]] * 6 + [[2, 59, 3]] * 4)
    assert stuck_span(*spoiled, cap) == stuck_span(*calm, cap)
    # never beyond the configured span (features.stuck_min), nor below STUCK_MIN_READINGS
    assert stuck_span(*days_of_runs([[30]] * 10), cap) == cap
    assert stuck_span(*days_of_runs([[]] * 10), cap) == STUCK_MIN_READINGS
    # without days (a caller that gives none) the configured span, as before
    assert stuck_span(calm[0], None, cap) == cap
    # a room that repeats for the whole span on most days: no span is evidence, the policy is off
    saturated = days_of_runs([[2, cap, 3]] * 6 + [[2, 15, 3]] * 4)
    assert usual_repeat(*saturated) == cap and stuck_span(*saturated, cap) == 0
    assert stuck_span(*saturated, cap + 1) == cap + 1  # one reading more and it is the cap again
    X0 = np.random.default_rng(1).normal(0, 1, size=(len(saturated[0]), 2))
    off = PseudoLabeler(ccfg(["stuck"]), THR, use_humidity=False, run_cap=cap).fit(X0, np.full(len(X0), 24.0), None,
                                                                                  *saturated)
    assert (off.stuck_run_, off.device_stuck_run, off.summary()["stuck_usual_repeat_readings"]) == (0, 0, cap)
    assert off.predict(X0[:2], np.full(2, 24.0), None, np.full(2, float(cap)))[1].sum() == 0
    # learnt by fit, and the stuck policy flags from it
    X = np.random.default_rng(0).normal(0, 1, size=(len(noisy[0]), 2))
    temp = np.full(len(X), 24.0)
    lab = PseudoLabeler(ccfg(["stuck"]), THR, use_humidity=False, run_cap=cap).fit(X, temp, None, *noisy)
    assert lab.stuck_run_ == stuck_span(*noisy, cap) and lab.summary()["stuck_span_readings"] == lab.stuck_run_
    probe = np.array([lab.stuck_run_ - 1, lab.stuck_run_, cap], dtype=float)
    assert lab.predict(X[:3], temp[:3], None, probe)[1].tolist() == [0, 1, 1]
    # the span the device applies (TINYAD_STUCK_RUN): this one; none below the minimum cap (an hourly log)
    assert lab.device_stuck_run == lab.stuck_run_
    short = PseudoLabeler(ccfg(["stuck"]), THR, use_humidity=False, run_cap=STUCK_MIN_READINGS - 1)
    assert short.fit(X, temp, None, *noisy).device_stuck_run == 0


def test_the_noise_level_follows_the_room_s_own_jitter():
    rng = np.random.default_rng(3)
    day = np.repeat(np.arange(10), 100).astype("datetime64[D]")
    # two quantities: temperature's daily largest jitter 0.2, humidity's 0.5
    jitter = np.column_stack([rng.uniform(0.0, 0.2, 1000), rng.uniform(0.0, 0.5, 1000)])
    jitter[::100] = [0.2, 0.5]  # each day reaches its largest once
    assert noise_levels(jitter, day) == pytest.approx([NOISE_FACTOR * 0.2, NOISE_FACTOR * 0.5])
    # a failing sensor on fewer than half the days does not move it (a median of days)
    spoiled = jitter.copy()
    spoiled[:400:7, 1] = 6.0
    assert noise_levels(spoiled, day) == noise_levels(jitter, day)
    # a sensor that hardly moves: its usual jitter is taken as one tenth, the resolution
    assert noise_levels(np.zeros((1000, 1)), day) == [NOISE_FACTOR * JITTER_FLOOR]
    # without days, or without a jitter feature, the policy flags nothing
    assert noise_levels(jitter, None) is None and noise_levels(np.zeros((1000, 0)), day) is None
    # learnt by fit; each quantity is held to its own level
    X = rng.normal(0, 1, size=(1000, 2))
    temp = np.full(1000, 24.0)
    lab = PseudoLabeler(ccfg(["noise"]), THR, use_humidity=True).fit(X, temp, None, None, day, jitter=jitter)
    assert lab.noise_levels_ == noise_levels(jitter, day)
    assert lab.summary()["noise_levels"] == [round(v, 4) for v in lab.noise_levels_]
    t_lv, h_lv = lab.noise_levels_
    probe = np.array([[t_lv - 0.01, h_lv - 0.01], [t_lv, 0.0], [0.0, h_lv], [0.5, 0.5]])  # at the level: flagged
    assert lab.predict(X[:4], temp[:4], None, None, probe)[1].tolist() == [0, 1, 1, 0]
    # without the policy, or without the jitter of the rows, nothing; other columns than fitted: refused
    assert lab.predict(X[:4], temp[:4], None, None, None)[1].tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match=r"noise policy: expected 2 jitter column\(s\), as fitted, got an array of shape \(4, 1\)"):
        lab.predict(X[:4], temp[:4], None, None, probe[:, :1])
    off = PseudoLabeler(ccfg(["stuck"]), THR, use_humidity=True).fit(X, temp, None, None, day, jitter=jitter)
    assert "noise" not in off.evidence(temp[:4], None, None, probe)


@pytest.mark.parametrize("use_humidity", [True, False], ids=["temp+hum", "temp-only"])
def test_a_failing_sensor_is_labelled_by_the_noise_policy_and_a_lone_spike_is_not(tmp_path, use_humidity):
    from tinyad.data.clustering import build_dataset, jitter_columns

    cfg = stage_cfg(tmp_path)
    cfg.features.use_humidity = use_humidity  # temperature only: one jitter, one level
    assert {"temp_jitter", "hum_jitter"} <= set(cfg.features.names) and "noise" in cfg.cluster.policies
    assert {"temp_jitter", "hum_jitter"} <= set(cfg.cluster.ignore_features)  # the noise policy's evidence
    df = synthetic_readings(days=6, seed=4)  # a train split of four days, the failing sensor on one of them
    # a failing sensor on the first day: noise whose std grows to 1 deg C and 4 %RH over two hours
    s, n = 700, 120
    env = np.arange(1, n + 1) / n
    rng = np.random.default_rng(8)
    df.loc[s:s + n - 1, "temperature"] += np.round(1.0 * env * rng.standard_normal(n), 1)
    df.loc[s:s + n - 1, "humidity"] += np.round(4.0 * env * rng.standard_normal(n), 1)
    df.loc[s:s + n - 1, "fault"] = ""
    res = build_dataset(df, cfg)
    ds = res.dataset
    names = res.scaler.features
    jit = ds[[names[j] for j in jitter_columns(names)]].to_numpy()
    assert len(res.labeler.noise_levels_) == jit.shape[1] == (2 if use_humidity else 1)
    noise = res.labeler.evidence(None, None, None, jit)["noise"] & ds["valid"].to_numpy()
    pseudo = ds["pseudo_label"].to_numpy()
    assert res.metrics["clusters"]["noise_levels"] == [round(v, 4) for v in res.labeler.noise_levels_]
    late = np.arange(s + 3 * n // 4, s + n)  # the last half hour (std above 0.75 deg C, 3 %RH): every step jumps
    least = 0.9 if use_humidity else 0.6  # temperature alone is the weaker tell (the noise is 4x in %RH)
    assert noise[late].mean() >= least and (pseudo[late] == 1).mean() >= least
    assert 0.15 < noise[s:s + n].mean() < 0.75  # the first minutes of a growing noise are no evidence yet
    assert not noise[: s].any() and not noise[s + n + 10:].any()  # the room's own steps and its lone spikes
    spikes = np.flatnonzero((ds["anomaly_type"].to_numpy() == "point") & (np.arange(len(ds)) > s + n + 10))
    assert len(spikes) >= 2  # the synthetic room's lone spikes after the failing sensor: none is noise


def test_all_clusters_anomalous_is_an_error_naming_the_policies():
    X = blobs([(300, (0, 0)), (300, (6, 6))])
    with pytest.raises(ValueError, match="every one of the 2 clusters is anomalous"):
        PseudoLabeler(ccfg(["threshold"]), THR, use_humidity=False).fit(X, np.full(600, 30.0))


def test_scores_and_per_type_definition():
    label = np.array([0, 0, 0, 1, 1, 1, 1, -1])
    atype = np.array(["none", "none", "none", "point", "point", "collective", "collective", "unknown"])
    pred = np.array([1, 0, 0, 1, 1, 1, 0, 1], dtype=bool)
    by = scores_overall_and_by_type(label, atype, pred)
    assert by["overall"] == scores(label[:7] == 1, pred[:7])
    assert by["overall"]["tp"] == 3 and by["overall"]["fp"] == 1 and by["overall"]["fn"] == 1
    # point: rows 0-4 only -> tp 2, fp 1, fn 0
    assert (by["point"]["tp"], by["point"]["fp"], by["point"]["fn"]) == (2, 1, 0)
    assert by["point"]["f1"] == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    # collective: rows 0-2, 5, 6 -> tp 1, fp 1, fn 1
    assert by["collective"]["f1"] == pytest.approx(0.5)
    assert "contextual" not in by
    assert scores_overall_and_by_type(np.full(3, -1), np.array(["unknown"] * 3), np.ones(3, bool)) == {}


# ------------------------------------------------------------------ the stage
def stage_cfg(tmp_path):
    """Compose conf/ (with small overrides) into tmp_path/params.yaml and load it."""
    import os

    from tinyad.config import load
    from tinyad.params import compose

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        compose(["features.window_min=20", "cluster.n_init=2", "cluster.k=8", "cluster.exposure=0.2"],
                conf_dir=os.path.join(root, "conf"), out=tmp_path / "params.yaml")
    finally:
        os.chdir(cwd)
    return load(tmp_path / "params.yaml")


def test_build_dataset_fits_on_train_only_and_marks_invalid_rows(tmp_path):
    from tinyad.data.clustering import build_dataset

    cfg = stage_cfg(tmp_path)
    df = synthetic_readings(days=3, seed=2)
    res = build_dataset(df, cfg)
    ds = res.dataset
    names = res.scaler.features
    assert list(ds.columns[: len(df.columns)]) == list(df.columns)
    for col in ("split", "valid", *names, "cluster", "pseudo_label"):
        assert col in ds.columns
    assert ds["pseudo_label"].dtype == np.int8
    inv = ~ds["valid"]
    assert inv.any() and (ds.loc[inv, "cluster"] == -1).all() and (ds.loc[inv, "pseudo_label"] == -1).all()
    assert set(ds.loc[~inv, "pseudo_label"]) == {0, 1}
    train = ds["valid"] & (ds["split"] == "train")
    np.testing.assert_allclose(res.scaler.mean_, ds.loc[train, names].mean().to_numpy())
    # the test rows do not influence the train pseudo-labels (K-means and policies see train only)
    df2 = df.copy()
    test_rows = (ds["split"] == "test").to_numpy()
    df2.loc[test_rows, "temperature"] += 3.0
    res2 = build_dataset(df2, cfg)
    np.testing.assert_array_equal(res2.dataset.loc[train, "pseudo_label"], ds.loc[train, "pseudo_label"])
    np.testing.assert_array_equal(res2.scaler.mean_, res.scaler.mean_)
    q = res.metrics["pseudo_label_quality"]["all"]
    assert set(q) == {"overall", "point", "contextual", "collective"}
    assert sum(res.metrics["clusters"]["sizes"]) == int(train.sum())


def test_cluster_stage_writes_its_files(tmp_path, capsys):
    from tinyad.device.features import stuck_warning
    from tinyad.stage import stage_main

    main = stage_main("cluster")

    cfg_path = tmp_path / "params.yaml"
    cfg = stage_cfg(tmp_path)
    readings = tmp_path / "readings.parquet"
    synthetic_readings(days=3, seed=4).to_parquet(readings, index=False)
    rc = main(["--params", str(cfg_path), "--readings", str(readings), "--out", str(tmp_path / "ds.parquet"),
               "--exposure", str(tmp_path / "ex.parquet"), "--scaler", str(tmp_path / "scaler.json"),
               "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    scaler = json.loads((tmp_path / "scaler.json").read_text())
    assert set(scaler) == {"features", "mean", "scale", "stuck_run"}
    assert len(scaler["mean"]) == len(scaler["features"]) == len(scaler["scale"])
    ds = pd.read_parquet(tmp_path / "ds.parquet")
    assert list(ds["split"].unique()) == ["train", "val", "test"]
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["rows"] == len(ds) and "pseudo_label_quality" in m
    # stage_cfg's 20-minute window cuts the default 60-minute stuck span: said on stderr and in the metrics
    assert m["warnings"][0] == stuck_warning(cfg.features) and "the stuck span is 19 readings" in m["warnings"][0]
    assert f"cluster: warning: {m['warnings'][0]}" in capsys.readouterr().err.splitlines()
    assert (tmp_path / "plots" / "clusters.png").read_bytes()[:4] == b"\x89PNG"
    ex = pd.read_parquet(tmp_path / "ex.parquet")
    n_train = int((ds["valid"] & (ds["split"] == "train")).sum())
    # a share of the valid train rows, then the noise anchor rows
    assert m["exposure"]["rows"] == round(cfg.cluster.exposure * n_train)
    assert m["exposure"]["noise_anchor_rows"] == round(NOISE_ANCHOR_SHARE * n_train)
    assert len(ex) == m["exposure"]["rows"] + m["exposure"]["noise_anchor_rows"]
    assert list(ex.columns) == [*scaler["features"], "valid", "split", "pseudo_label", "source_row"]
    assert set(ex["split"]) == {"train"} and ex["valid"].all() and set(ex["pseudo_label"]) <= {0, 1}


def test_cluster_stage_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, stages.cluster, tinyad.device.features, tinyad.data.labeling; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_column_is_named():
    from tinyad.data.clustering import check_readings

    with pytest.raises(ValueError, match=r"r.parquet: missing column\(s\) \['event_id'\]"):
        check_readings(synthetic_readings(days=1).drop(columns=["event_id"]), source="r.parquet")


def test_a_log_too_small_for_k_and_the_window_is_refused_with_the_minimum(tmp_path):
    """Issue 13: a 130-row log trained with k=8 and flagged most rows without a warning."""
    import subprocess
    import sys
    from pathlib import Path

    from tinyad.data.clustering import build_dataset
    from tinyad.device.features import MIN_TRAIN_ROWS_PER_CLUSTER

    cfg = stage_cfg(tmp_path)  # window_min 20 at 60 s: a 20-reading window, k = 8
    small = synthetic_readings(days=130 / 1440, seed=5)
    assert len(small) == 130 and cfg.features.window == 20 and cfg.cluster.k == 8
    with pytest.raises(ValueError) as err:
        build_dataset(small, cfg)
    msg = str(err.value)
    assert msg.startswith("readings: the train split has 59 valid rows (of 78 train rows of 130; a row is valid once "
                          "the 20-reading feature window is full) for cluster.k=8: K-means needs at least 10 a "
                          "cluster (80); give a log of at least 165 readings (2.8 h at data.period_s=60) or lower "
                          "cluster.k to at most 5"), msg
    # the minimum it names is enough
    build_dataset(synthetic_readings(days=165 / 1440, seed=5), cfg)
    assert MIN_TRAIN_ROWS_PER_CLUSTER == 10
    # through the stage: one line, exit 2, nothing written
    small.to_parquet(tmp_path / "r.parquet", index=False)
    import yaml as _yaml
    from tinyad.config import to_dict

    (tmp_path / "p.yaml").write_text(_yaml.safe_dump(to_dict(cfg)))
    proc = subprocess.run([sys.executable, "-m", "stages.cluster", "--params", str(tmp_path / "p.yaml"),
                           "--readings", str(tmp_path / "r.parquet"), "--out", str(tmp_path / "d.parquet"),
                           "--exposure", str(tmp_path / "e.parquet"), "--scaler", str(tmp_path / "s.json"), "--metrics", str(tmp_path / "m.json"),
                           "--plots", str(tmp_path / "plots")], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [f"cluster: error: {msg}"]
    assert not (tmp_path / "d.parquet").exists()


def calm_room(days=3, calm=12, stuck=40):
    """The synthetic room with a calm stretch every night (both readings repeat ``calm``
    times, a live sensor in a still room) and one stuck sensor (``stuck`` repeats)."""
    df = synthetic_readings(days=days, seed=4)
    calm_rows = []
    for d in range(days):
        s = d * 1440 + 100
        df.loc[s:s + calm - 1, ["temperature", "humidity"]] = df.loc[s, ["temperature", "humidity"]].to_numpy()
        df.loc[s:s + calm - 1, "fault"] = ""
        calm_rows += list(range(s + 1, s + calm))
    s = 1380
    df.loc[s:s + stuck - 1, ["temperature", "humidity"]] = df.loc[s, ["temperature", "humidity"]].to_numpy()
    df.loc[s:s + stuck - 1, "fault"] = ""
    return df, np.array(calm_rows), np.arange(s, s + stuck)


def test_a_room_whose_calm_nights_stand_out_in_run_keeps_them_normal_as_kmeans_ignores_run_by_default(tmp_path):
    from tinyad.data.clustering import build_dataset

    cfg = stage_cfg(tmp_path)
    default = list(cfg.cluster.ignore_features)
    assert "run" in default  # the default: repeats are the stuck policy's evidence
    df, calm, stuck = calm_room()
    run_cap = cfg.features.run_cap
    assert 12 < run_cap < 40  # the calm runs are below the stuck sensor's span, the stuck one beyond it
    cfg.cluster.ignore_features = []
    with_run = build_dataset(df, cfg)
    flagged = with_run.dataset["pseudo_label"].to_numpy() == 1
    assert flagged[calm].any()  # in a K-means space with run the calmest readings are the farthest ones
    assert with_run.metrics["clusters"]["recurring_slots"]["slots"] == []  # two days of history: no recurrence

    cfg.cluster.ignore_features = default
    res = build_dataset(df, cfg)
    pseudo = res.dataset["pseudo_label"].to_numpy()
    run = res.dataset["run"].to_numpy()
    span = res.metrics["clusters"]["stuck_span_readings"]
    assert 11 < span <= run_cap  # learnt from the nightly calm (11 repeats), above it
    assert not (pseudo[calm] == 1).any()  # a still room is no anomaly ...
    assert (pseudo[stuck][run[stuck] >= span] == 1).all()  # ... a stuck sensor still is (the stuck policy)
    assert "run" not in res.metrics["cluster_features"] and "run" in res.scaler.features  # the model keeps run
    # the device applies the same span (TINYAD_STUCK_RUN): scaler.json carries it; off without the policy
    assert res.scaler.stuck_run == res.labeler.device_stuck_run == span
    assert not any("stuck rule are off" in w for w in res.metrics["warnings"])
    # a room calm for longer than the whole span every night: a repeat that long is no evidence, the
    # policy and the device's rule are off, and the stage says why
    calmer, long_calm, _ = calm_room(calm=run_cap + 10)
    sat = build_dataset(calmer, cfg)
    assert sat.labeler.stuck_usual_ == run_cap and sat.scaler.stuck_run == sat.labeler.device_stuck_run == 0
    assert not (sat.dataset["pseudo_label"].to_numpy()[long_calm] == 1).any()
    assert [w for w in sat.metrics["warnings"] if w.startswith("the stuck policy and the device's stuck rule are off: "
                                                               f"this room's sensor repeats itself for {run_cap} readings")]
    cfg.cluster.policies = [p for p in cfg.cluster.policies if p != "stuck"]
    off = build_dataset(df, cfg)
    assert off.scaler.stuck_run == off.labeler.device_stuck_run == 0


def test_the_context_policy_alone_keeps_the_budget_and_without_the_time_of_day_is_off_with_a_warning(tmp_path):
    from tinyad.data.clustering import build_dataset

    cfg = stage_cfg(tmp_path)
    df, _, _ = calm_room()
    cfg.cluster.policies = ["context"]
    res = build_dataset(df, cfg)
    assert res.labeler.context_ is not None and res.labeler.edge_ is None
    assert res.metrics["pseudo_anomalous_frac_by_split"]["train"] <= cfg.cluster.contamination + 1e-9
    assert not any("context policy" in w for w in res.metrics["warnings"])

    cfg.cluster.policies = ["edge", "context"]
    cfg.cluster.ignore_features = ["tod_sin", "tod_cos"]  # K-means no longer sees the time of day
    res = build_dataset(df, cfg)
    assert res.labeler.context_ is None and "context" not in res.metrics["flagged_by_policy"]
    assert [w for w in res.metrics["warnings"] if "the context policy labels nothing" in w]


def test_the_noise_policy_without_a_jitter_feature_says_it_labels_nothing(tmp_path):
    from tinyad.data.clustering import build_dataset

    cfg = stage_cfg(tmp_path)
    df, _, _ = calm_room()
    assert not any("noise policy" in w for w in build_dataset(df, cfg).metrics["warnings"])
    cfg.features.names = [n for n in cfg.features.names if not n.endswith("_jitter")]
    res = build_dataset(df, cfg)
    assert res.labeler.noise_levels_ is None and "noise" not in res.metrics["flagged_by_policy"]
    assert res.metrics["exposure"]["noise_anchor_rows"] == 0
    assert [w for w in res.metrics["warnings"] if "the noise policy labels nothing" in w]


def test_a_typo_in_cluster_ignore_features_is_refused_naming_the_key():
    import yaml

    from tinyad.config import ConfigError, load_dict

    from pathlib import Path

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["cluster"]["ignore_features"] = ["rn"]
    with pytest.raises(ConfigError, match=r"cluster\.ignore_features\[\]: expected one of .*'run'.*got 'rn'"):
        load_dict(raw, source="params.yaml")


# ------------------------------------------------------- exposure rows (cluster.exposure)
def test_exposure_rows_are_readings_pushed_out_along_one_feature_and_labelled_by_the_policies(tmp_path):
    from tinyad.data.clustering import build_dataset, cluster_space, exposure_rows
    from tinyad.device.features import feature_names

    cfg = stage_cfg(tmp_path)
    res = build_dataset(synthetic_readings(days=3, seed=4), cfg)
    names = feature_names(cfg.features)
    ds, ex = res.dataset, res.exposure.iloc[: res.metrics["exposure"]["rows"]]  # the noise anchor rows follow
    train = ds[ds["valid"] & (ds["split"] == "train")]
    X = train[names].to_numpy(dtype=np.float64)
    assert len(ex) == round(cfg.cluster.exposure * len(train))
    # each row is a train row with exactly one feature moved, by cluster.exposure_sigma standard deviations
    E = ex[names].to_numpy(dtype=np.float64)
    src = ds.loc[ex["source_row"], names].to_numpy(dtype=np.float64)
    assert (ds.loc[ex["source_row"], "split"] == "train").all() and ds.loc[ex["source_row"], "valid"].all()
    moved = src != E
    assert (moved.sum(axis=1) <= 1).all() and moved.any(axis=1).mean() > 0.95
    slack = np.zeros(len(names))
    slack[names.index("run")] = 1.0  # run moves by a whole count, at least one reading
    far = ((np.abs(E - src) - slack) / res.scaler.scale_)[moved]
    assert far.max() <= cfg.cluster.exposure_sigma[1] + 1e-9
    other = ~moved[:, names.index("run")]  # a run pushed down may be clipped at 0
    assert (np.abs(E - src) / res.scaler.scale_)[other][moved[other]].min() >= cfg.cluster.exposure_sigma[0] - 1e-9
    # values a reading could give: never-negative features stay >= 0, run a whole count up to the cap
    for j, name in enumerate(names):
        if X[:, j].min() >= 0:
            assert E[:, j].min() >= 0, name
    r = E[:, names.index("run")]
    assert (r == np.round(r)).all() and r.max() <= cfg.features.run_cap
    # the labels are the fitted policies' on those rows (the alarm band reads the pushed temp/hum)
    space = cluster_space(names, cfg.cluster.ignore_features)
    _, again, _ = res.labeler.predict_reasons(res.scaler.transform(E)[:, space], E[:, names.index("temp")],
                                              E[:, names.index("hum")], r)
    assert (ex["pseudo_label"].to_numpy() == again).all()
    assert 0.2 < ex["pseudo_label"].mean() < 0.95  # some pushes stay inside the clusters' edges
    # seeded by cluster.seed: the same rows again, other rows with another seed
    assert exposure_rows(X, train["temperature"].to_numpy(), train["humidity"].to_numpy(), names, res.scaler,
                         res.labeler, cfg, train.index.to_numpy()).equals(ex)
    cfg.cluster.seed = 1
    assert not exposure_rows(X, train["temperature"].to_numpy(), train["humidity"].to_numpy(), names, res.scaler,
                             res.labeler, cfg).equals(ex)
    cfg.cluster.exposure = 0.0
    assert len(exposure_rows(X, train["temperature"].to_numpy(), train["humidity"].to_numpy(), names, res.scaler,
                             res.labeler, cfg)) == 0


def test_noise_anchor_rows_set_one_jitter_up_to_twice_the_level_and_are_labelled_by_the_policies(tmp_path):
    from tinyad.data.clustering import build_dataset, cluster_space, jitter_columns, noise_anchor_rows
    from tinyad.device.features import feature_names

    cfg = stage_cfg(tmp_path)
    cfg.cluster.exposure = 0.0  # the anchors alone
    res = build_dataset(synthetic_readings(days=6, seed=4), cfg)
    names = feature_names(cfg.features)
    ds, an = res.dataset, res.exposure
    train = ds[ds["valid"] & (ds["split"] == "train")]
    X = train[names].to_numpy(dtype=np.float64)
    assert len(an) == round(NOISE_ANCHOR_SHARE * len(train)) == res.metrics["exposure"]["noise_anchor_rows"] > 0
    # each row is a train row with one jitter feature set between 0 and twice its level
    A = an[names].to_numpy(dtype=np.float64)
    src = ds.loc[an["source_row"], names].to_numpy(dtype=np.float64)
    jit = jitter_columns(names)
    others = [j for j in range(len(names)) if j not in jit]
    np.testing.assert_array_equal(A[:, others], src[:, others])
    levels = np.asarray(res.labeler.noise_levels_)
    assert ((A[:, jit] != src[:, jit]).sum(axis=1) <= 1).all()
    assert (A[:, jit] >= 0).all() and (A[:, jit] <= NOISE_ANCHOR_SPAN * levels + 1e-12).all()
    # labelled by the fitted policies: anomalous from the level on, and otherwise as the row was
    above = (A[:, jit] >= levels).any(axis=1)
    assert 0.3 < above.mean() < 0.7
    space = cluster_space(names, cfg.cluster.ignore_features)
    _, again, _ = res.labeler.predict_reasons(res.scaler.transform(A)[:, space], A[:, names.index("temp")],
                                              A[:, names.index("hum")], A[:, names.index("run")], A[:, jit])
    assert (an["pseudo_label"].to_numpy() == again).all() and (again[above] == 1).all()
    # seeded by cluster.seed; none without the noise policy
    args = (X, train["temperature"].to_numpy(), train["humidity"].to_numpy(), names, res.scaler, res.labeler)
    assert noise_anchor_rows(*args, cfg, train.index.to_numpy()).equals(an)
    cfg.cluster.seed = 1
    assert not noise_anchor_rows(*args, cfg).equals(an)
    cfg.cluster.policies = [p for p in cfg.cluster.policies if p != "noise"]
    assert len(noise_anchor_rows(*args, cfg)) == 0


def test_exposure_features_push_only_the_features_named(tmp_path):
    from tinyad.data.clustering import build_dataset, exposure_space
    from tinyad.device.features import feature_names

    cfg = stage_cfg(tmp_path)
    cfg.cluster.ignore_features = []  # K-means clusters run too, so it may be pushed
    shapes = ["temp_devup", "run", "tod_sin", "tod_cos"]
    cfg.cluster.exposure_features = shapes
    res = build_dataset(synthetic_readings(days=3, seed=4), cfg)
    names = feature_names(cfg.features)
    ex = res.exposure.iloc[: res.metrics["exposure"]["rows"]]  # the noise anchor rows follow
    E = ex[names].to_numpy(dtype=np.float64)
    src = res.dataset.loc[ex["source_row"], names].to_numpy(dtype=np.float64)
    moved = (src != E).any(axis=0)
    assert sorted(np.asarray(names)[moved]) == sorted(shapes)  # each named feature is pushed, no other
    assert (E[:, names.index("temp")] == src[:, names.index("temp")]).all()
    # unset: every clustered feature; a named feature the room does not compute is not pushed
    assert exposure_space(names, [], []) == list(range(len(names)))
    assert exposure_space(names, ["run"], ["run", "temp_devup"]) == [names.index("temp_devup")]
    with pytest.raises(ValueError, match=r"cluster\.exposure_features: none of \['hum'\] is a feature this room clusters"):
        exposure_space([n for n in names if n != "hum"], [], ["hum"])


def test_a_bad_exposure_setting_is_refused_naming_the_key():
    from pathlib import Path

    import yaml

    from tinyad.config import ConfigError, load_dict

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["cluster"]["exposure_sigma"] = [8.0, 1.0]
    with pytest.raises(ConfigError, match=r"cluster\.exposure_sigma: expected \[low, high\] with low < high"):
        load_dict(raw, source="params.yaml")
    raw["cluster"]["exposure_sigma"] = [1.0, 8.0]
    raw["cluster"]["exposure"] = -0.1
    with pytest.raises(ConfigError, match=r"cluster\.exposure: expected a value in \[0.0, 1.0\], got -0.1"):
        load_dict(raw, source="params.yaml")
    raw["cluster"]["exposure"] = 0.2
    raw["cluster"]["context_weight"] = 0.5  # below 1 the context policy would weigh the time of day less
    with pytest.raises(ConfigError, match=r"cluster\.context_weight: expected a value in \[1.0, 10.0\], got 0.5"):
        load_dict(raw, source="params.yaml")
    raw["cluster"]["context_weight"] = 2.0
    raw["cluster"]["policies"] = ["edge", "contxt"]  # a typo
    with pytest.raises(ConfigError, match=r"cluster\.policies\[\]: expected one of \['edge', 'context'.*got 'contxt'"):
        load_dict(raw, source="params.yaml")
    raw["cluster"]["policies"] = ["edge", "context"]
    raw["cluster"]["exposure_features"] = ["temp_devup", "tod_sn"]  # a typo
    with pytest.raises(ConfigError, match=r"cluster\.exposure_features\[\]: expected one of \['temp', .*got 'tod_sn'"):
        load_dict(raw, source="params.yaml")
    raw["cluster"]["exposure_features"] = ["run"]
    raw["cluster"]["ignore_features"] = ["run"]  # K-means leaves it out: nothing to push it from
    with pytest.raises(ConfigError, match=r"cluster\.exposure_features\[\]: expected one of .*got 'run'"):
        load_dict(raw, source="params.yaml")


def test_recurring_slots_are_the_hours_flagged_on_the_share_of_days():
    assert RECURRING_MIN_DAYS == 3
    day = np.repeat(np.arange(6), 24)
    slot = np.tile(np.arange(24), 6)
    flags = np.zeros(6 * 24, dtype=bool)
    flags[[17, 24 + 17, 2 * 24 + 17, 3 * 24 + 9]] = True  # hour 17 on days 0-2, hour 9 on day 3
    both = [17, SLOTS_PER_DAY + 17]  # half of all days: the hour on weekdays and weekend days alike
    assert recurring_slots(flags, day, slot, 0.5) == both
    assert recurring_slots(flags, day, slot, 0.6) == []
    assert recurring_slots(flags, day, slot, 1 / 6) == both  # hour 9: one day, under RECURRING_MIN_DAYS
    assert recurring_slots(flags, day, slot, 0.0) == []  # off
    # a short history: two days, an hour flagged on both is still no schedule
    assert recurring_slots(np.r_[flags[:48], flags[:0]], day[:48], slot[:48], 0.5) == []
    ts = pd.to_datetime(["2026-01-05 00:59", "2026-01-05 17:40", "2026-01-06 23:00", "2026-01-10 09:30", "2026-01-11 23:59"])
    assert list(time_slots(ts)) == [0, 17 * 60 // RECURRING_SLOT_MIN, 23 * 60 // RECURRING_SLOT_MIN,
                                    SLOTS_PER_DAY + 9 * 60 // RECURRING_SLOT_MIN, 2 * SLOTS_PER_DAY - 1]  # Sat, Sun


def _four_weeks(marks):
    """Hourly rows over four weeks from Monday 2026-01-05 (20 weekdays, 8 weekend days),
    flagged where ``marks(date, hour)`` says: (flags, day, slot)."""
    ts = pd.date_range("2026-01-05", periods=28 * 24, freq="h")
    day = ts.normalize().to_numpy()
    flags = np.array([marks(t.normalize(), t.hour) for t in ts], dtype=bool)
    return flags, day, time_slots(ts)


def test_a_schedule_of_one_kind_of_day_recurs_on_that_kind_and_an_hour_marked_on_any_day_does_not():
    assert SLOTS_PER_DAY == 24 and RECURRING_SLOT_MIN == 60
    weekdays = pd.bdate_range("2026-01-05", periods=20)
    weekend = [d for d in pd.date_range("2026-01-05", periods=28) if d.dayofweek >= 5]

    def marks(d, h):
        return ((h == 17 and d in weekdays[:11])  # a weekday warm-up marked on 11 of 20 weekdays: 39 % of all days
                or (h == 9 and d in weekend)  # a weekend-only schedule, every weekend day
                or (h == 2 and (d in weekdays[:8] or d in weekend[:4]))  # a night's anomalies, on any day
                or h == 7  # every day: the all-days rule, on both kinds
                or (h == 12 and d == weekdays[5]))

    flags, day, slot = _four_weeks(marks)
    # hour 2: under half of the weekdays and of all days; on half the weekend days, but the weekdays' same hour is
    # labelled on 8 of 20 (p = 0.4, over the weekend's other hours' 8 / (8 * 22)): chance gives four of eight with 0.41
    assert recurring_slots(flags, day, slot, 0.5) == [7, 17, SLOTS_PER_DAY + 7, SLOTS_PER_DAY + 9]
    assert recurring_slots(flags, day, slot, 0.6) == [7, SLOTS_PER_DAY + 7, SLOTS_PER_DAY + 9]  # 11/20, 4/8 < 0.6
    # the other kind's same hour as the chance (coarse on 8 weekend days): 11 of 20 weekdays stay a schedule with one
    # weekend day labelled at 17:00 (p = 1/8: 7e-6), not with two (p = 2/8: 4e-3)
    one, day, slot = _four_weeks(lambda d, h: marks(d, h) or (h == 17 and d == weekend[0]))
    assert 17 in recurring_slots(one, day, slot, 0.5)
    two, day, slot = _four_weeks(lambda d, h: marks(d, h) or (h == 17 and d in weekend[:2]))
    assert 17 not in recurring_slots(two, day, slot, 0.5)


def test_an_hour_marked_on_half_the_weekend_days_by_chance_is_no_schedule():
    weekend = [d for d in pd.date_range("2026-01-05", periods=28) if d.dayofweek >= 5]
    alone, flags_day, slot = _four_weeks(lambda d, h: h == 20 and d in weekend[:4])
    assert recurring_slots(alone, flags_day, slot, 0.5) == [SLOTS_PER_DAY + 20]  # nothing else marked: the room's schedule
    # the same hour in a room whose anomalies fill each weekend day's other hours (hours 0-19, each on 2 of the 8
    # days): four of eight days is what chance gives there (0.07 against RECURRING_ALPHA / SLOTS_PER_DAY)
    busy, day, slot = _four_weeks(lambda d, h: d in weekend and (
        (h == 20 and d in weekend[:4]) or (h != 20 and (h - 5 * weekend.index(d)) % 20 < 5 and h < 20)))
    assert recurring_slots(busy, day, slot, 0.5) == []
    # an hour every day is a schedule of its own: it does not count as the weekend's chance (p stays 0 for hour 20)
    daily, day, slot = _four_weeks(lambda d, h: (h == 20 and d in weekend[:4]) or h == 7)
    assert recurring_slots(daily, day, slot, 0.5) == [7, SLOTS_PER_DAY + 7, SLOTS_PER_DAY + 20]


def _daily_room(seed=3, weekdays=15):
    """20 days at 5 minutes: the plain readings, a few far readings at 17:00-17:15 on the
    first ``weekdays`` of its 15 weekdays (a steep daily warm-up), one far event at 09:00
    on day 3, and at 17:05 on day 6 a reading outside the alarm band."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-01-05", periods=20 * 288, freq="5min")
    X = rng.normal(0.0, 1.0, size=(len(ts), 2))
    temp = np.full(len(ts), 24.0)
    hour, day = ts.hour.to_numpy(), ts.normalize().to_numpy()
    weekday = np.isin(ts.normalize(), pd.bdate_range(ts[0], periods=weekdays))
    warmup = np.flatnonzero(weekday & (hour == 17) & (ts.minute.to_numpy() < 20))
    X[warmup, 0] = 7.0 + rng.normal(0, 0.2, len(warmup))
    event = np.flatnonzero((ts.normalize() == ts[0].normalize() + pd.Timedelta(days=3)) & (hour == 9))[:10]
    X[event, 1] = 9.0 + rng.normal(0, 0.2, len(event))
    alarm = int(np.flatnonzero((ts.normalize() == ts[0].normalize() + pd.Timedelta(days=6)) & (hour == 17))[1])
    temp[alarm] = 35.0
    return X, temp, day, time_slots(ts), warmup, event, alarm


def test_a_daily_warm_up_is_the_room_s_schedule_and_an_anomaly_at_another_hour_keeps_its_label():
    X, temp, day, slot, warmup, event, alarm = _daily_room()
    off = PseudoLabeler(ccfg(["edge", "alarm"], k=3, contamination=0.02, recurring_share=0.0), THR,
                        use_humidity=False).fit(X, temp, day=day, slot=slot)
    y_off = off.predict(X, temp, slot=slot)[1]
    assert off.recurring_slots_ == [] and y_off[warmup].mean() > 0.9  # far: labelled without the rule
    on = PseudoLabeler(ccfg(["edge", "alarm"], k=3, contamination=0.02), THR, use_humidity=False).fit(
        X, temp, day=day, slot=slot)
    _, y, reasons = on.predict_reasons(X, temp, slot=slot)
    hour = 17 * 60 // RECURRING_SLOT_MIN
    assert on.recurring_slots_ == [hour, SLOTS_PER_DAY + hour]  # over half of all days: the hour of every day
    assert y[warmup[warmup != alarm]].sum() == 0  # 15 of 20 days: the room's schedule
    assert y[event].all()  # once, at 09:00: an anomaly
    assert y[alarm] == 1 and reasons["alarm"][alarm]  # absolute evidence is never dropped
    assert y.sum() < y_off.sum()
    # rows given no slot: nothing dropped (the made-up rows pass their base row's)
    assert on.predict(X[warmup], temp[warmup])[1].mean() > 0.9
    assert on.summary()["recurring_slots"]["slots"] == [hour, SLOTS_PER_DAY + hour]


def test_a_weekday_warm_up_on_under_half_of_all_days_is_dropped_on_weekdays_alone():
    # 8 of 15 weekdays: 8 of 20 days. Seed 4 puts no weekend label at 17:00: one, on 1 of the 5 weekend days, would make
    # the chance 1/5 and keep the weekday hour (4e-3; the coarse term of test_a_schedule_of_one_kind_of_day_...)
    X, temp, day, slot, warmup, event, alarm = _daily_room(seed=4, weekdays=8)
    hour = 17 * 60 // RECURRING_SLOT_MIN
    on = PseudoLabeler(ccfg(["edge", "alarm"], k=3, contamination=0.02), THR, use_humidity=False).fit(
        X, temp, day=day, slot=slot)
    assert on.recurring_slots_ == [hour]  # the weekdays' 17:00, not the weekend's
    y = on.predict(X, temp, slot=slot)[1]
    assert y[warmup[warmup != alarm]].sum() == 0 and y[event].all()
    far = X[warmup[:1]]  # the same far reading at 17:00 on a weekday and on a weekend day
    assert on.predict(far, temp[:1], slot=np.array([hour]))[1][0] == 0
    assert on.predict(far, temp[:1], slot=np.array([SLOTS_PER_DAY + hour]))[1][0] == 1


def test_recurring_share_out_of_range_is_refused_in_one_line():
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match=r"cluster.recurring_share: expected a value in \[0.0, 1.0\], got 1.5"):
        ccfg(["edge"], recurring_share=1.5)


def test_the_cluster_stage_drops_a_daily_labelled_hour_in_every_split_and_its_anchor_rows_keep_the_hour(tmp_path):
    """Through build_dataset: a steep jump at 17:00-17:30 on every day of a week-long log is
    labelled with the rule off; with it on (the default) the hour is recurring, no split
    keeps a label there, and the noise anchor rows built on those rows carry no edge label."""
    from tinyad.data.clustering import build_dataset

    cfg = stage_cfg(tmp_path)
    cfg.cluster.exposure = 0.0  # the made-up rows are the noise anchors alone
    df = synthetic_readings(days=10, seed=6)
    ts = pd.DatetimeIndex(df["timestamp"])
    daily = (ts.hour == 17) & (ts.minute < 30)
    df.loc[daily, "temperature"] = df.loc[daily, "temperature"] + 2.5  # still inside the alarm band
    assert df.loc[daily, "temperature"].max() < cfg.thresholds.temp_alarm[1]
    cfg.cluster.recurring_share = 0.0
    off = build_dataset(df, cfg)
    off_pseudo = off.dataset["pseudo_label"].to_numpy()
    off_train = daily & (off.dataset["split"].to_numpy() == "train") & (off_pseudo == 1)
    assert len(np.unique(ts[off_train].normalize())) >= 3  # labelled on most of the train days without the rule
    cfg.cluster.recurring_share = 0.5
    on = build_dataset(df, cfg)
    slots = on.metrics["clusters"]["recurring_slots"]
    assert 17 * 60 // RECURRING_SLOT_MIN in slots["slots"] and slots["share"] == 0.5
    pseudo = on.dataset["pseudo_label"].to_numpy()
    for split in ("train", "val", "test"):
        rows = daily & (on.dataset["split"].to_numpy() == split)
        assert rows.any() and not (pseudo[rows] == 1).any(), split
    anchors = on.exposure[on.exposure["source_row"].isin(np.flatnonzero(daily))]
    assert len(anchors)  # drawn at random (seeded): some fall on the daily hour
    # ... and are labelled by the noise level alone: those below it carry no label
    jit = [c for c in anchors.columns if c.endswith("_jitter")]
    below = (anchors[jit].to_numpy() < np.asarray(on.labeler.noise_levels_)).all(axis=1)
    assert below.any() and not (anchors["pseudo_label"].to_numpy()[below] == 1).any()
