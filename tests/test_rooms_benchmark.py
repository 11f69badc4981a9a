"""benchmarks/rooms.py --seeds and --draws: the runs they make and the table printed of them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _rooms_module():
    spec = importlib.util.spec_from_file_location("rooms_benchmark", ROOT / "benchmarks" / "rooms.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rooms = _rooms_module()


def row(name, ground=True, share=0.01, **device):
    r = {"room": name, "ground_truth": ground, "pseudo_share_train": share}
    r.update({f"device.{k}": v for k, v in device.items()})
    return r


def test_seed_runs_move_the_model_and_clustering_seeds_and_run_0_is_the_default():
    assert rooms.seed_overrides(0) == []
    default = rooms.compose_cfg(rooms.ROOMS["sim"][0])
    cfg = rooms.compose_cfg(rooms.ROOMS["sim"][0] + rooms.seed_overrides(2))
    assert (cfg.model.seed, cfg.cluster.seed) == (3, 2)
    assert (cfg.model.seed, cfg.cluster.seed) != (default.model.seed, default.cluster.seed)
    assert {rooms.seed_overrides(i)[0] for i in range(1, 4)} == {"model.seed=2", "model.seed=3", "model.seed=4"}


def test_draws_move_each_room_s_own_data_seed_and_change_its_readings():
    assert all(rooms.draw_overrides(rooms.ROOMS[n][0], 0) == [] for n in ("home", "uci_inject"))
    home = rooms.ROOMS["home"][0]
    default = rooms.compose_cfg(home)
    drawn = rooms.compose_cfg(home + rooms.draw_overrides(home, 2))
    assert drawn.data.sim.seed == default.data.sim.seed + 2 * rooms.DRAW_STEP
    assert drawn.data.period_s == default.data.period_s and drawn.thresholds == default.thresholds  # the same preset
    inject = rooms.ROOMS["uci_inject"][0]
    assert rooms.compose_cfg(inject + rooms.draw_overrides(inject, 1)).data.inject.seed == (
        rooms.compose_cfg(inject).data.inject.seed + rooms.DRAW_STEP)
    assert rooms.draw_overrides(rooms.ROOMS["uci"][0], 1) == []  # a real log as it is has no draw
    assert rooms.draw_overrides(home + ["data.sim.seed=5"], 1) == [f"data.sim.seed={5 + rooms.DRAW_STEP}"]  # from --set's seed
    # two rooms' draws stay apart: each moves its own seed
    seeds = {rooms.compose_cfg(rooms.ROOMS[n][0] + rooms.draw_overrides(rooms.ROOMS[n][0], 1)).data.sim.seed
             for n in ("sim", "home", "office", "server_room")}
    assert len(seeds) == 4
    from tinyad.data.readings import build_readings

    short = ["data.sim.days=2"]
    a, _, _ = build_readings(rooms.compose_cfg(home + short).data, rooms.ROOT)
    b, _, _ = build_readings(rooms.compose_cfg(home + short + rooms.draw_overrides(home, 1)).data, rooms.ROOT)
    assert len(a) == len(b) and not a["temperature"].equals(b["temperature"])


def test_draws_table_says_what_its_runs_moved():
    md = rooms.seeds_markdown([[row("a", f1=0.8)], [row("a", f1=0.6)]], None, how=rooms.DRAWS_HOW)
    assert md.startswith("# Multi-room benchmark over draws of the rooms' data (benchmarks/rooms.py --draws)")
    assert f"by {rooms.DRAW_STEP}*i" in md and "model.seed" not in md
    assert rooms.HISTORY_NOTE in md


def test_a_changed_default_is_beneath_the_data_options_and_a_typo_is_refused(tmp_path):
    conf = rooms.changed_defaults(["cluster.contamination=0.02", "features.window_min=30"], tmp_path)
    sim = rooms.compose_cfg(rooms.ROOMS["sim"][0], conf)
    home = rooms.compose_cfg(rooms.ROOMS["home"][0], conf)
    assert home.cluster.contamination == 0.02 and home.features.window_min == 30
    assert sim.cluster.contamination == 0.11 and sim.features.window_min == 30  # the simulator states its own
    # --set is over every room, the simulator's statement included
    assert rooms.compose_cfg(rooms.ROOMS["sim"][0] + ["cluster.contamination=0.02"]).cluster.contamination == 0.02
    assert rooms.compose_cfg(rooms.ROOMS["home"][0]).cluster.contamination == 0.01  # conf/ itself: untouched
    for bad in ("cluster.contaminaton=0.02", "cluster.contamination", "nope.k=3"):
        with pytest.raises(SystemExit, match=rf"--default {re.escape(bad)}: expected KEY=VALUE with a key of conf/config.yaml"):
            rooms.changed_defaults([bad], tmp_path / bad)


def test_seeds_table_gives_the_mean_and_range_and_counts_the_passing_runs():
    runs = [
        [row("a", f1=0.8, caught=1.0, fa_week=0.0), row("u", ground=False, alerts_week=0.5)],
        [row("a", f1=0.6, caught=0.8, fa_week=2.0), row("u", ground=False, alerts_week=3.0)],
    ]
    md = rooms.seeds_markdown(runs, None, ["cluster.exposure=0.2"])
    line_a = next(x for x in md.splitlines() if x.startswith("| a |"))
    assert "0.700 [0.600, 0.800]" in line_a  # F1
    assert "0.90 [0.80, 1.00]" in line_a and "1.00 [0.00, 2.00]" in line_a  # caught, false alarms a week
    assert line_a.endswith("| 1/2 |")  # run 1 misses events and the false-alarm budget
    line_u = next(x for x in md.splitlines() if x.startswith("| u |"))
    assert "1.75 [0.50, 3.00]" in line_u and line_u.endswith("| 1/2 |")
    assert "| 0 | 0.800 | 2/2 |" in md and "| 1 | 0.600 | 0/2 |" in md
    assert "**0.700** mean over the 2 runs with an event to score, [0.600, 0.800]" in md
    assert "Not the default config: cluster.exposure=0.2" in md


def test_seeds_table_refuses_runs_of_other_rooms():
    with pytest.raises(ValueError, match="run rooms differ at 0"):
        rooms.seeds_markdown([[row("a", f1=0.8)], [row("b", f1=0.8)]], None)


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds: expected at least 1 run, got 0"),
    (["--labels-only", "--seeds", "2"], "--seeds: the labels do not depend on the model's seed"),
    (["--draws", "0"], "--draws: expected at least 1 run, got 0"),
    (["--seeds", "2", "--draws", "2"], "--seeds and --draws: one at a time"),
    (["--labels-only", "--draws", "2"], "--draws: not with --labels-only"),
])
def test_seeds_option_refuses_what_it_cannot_run(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        rooms.main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_events_caught_by_kind_count_the_test_split_s_events_the_device_alerts_on():
    import numpy as np
    import pandas as pd

    from tinyad.data.simulate import Event

    ds = pd.DataFrame({"split": ["train"] * 10 + ["test"] * 10})
    events = [Event(0, "noise", "collective", 2, 5, 0.0, 0.0),  # in train: not counted
              Event(1, "noise", "collective", 11, 14, 0.0, 0.0), Event(2, "noise", "collective", 15, 18, 0.0, 0.0),
              Event(3, "point", "point", 19, 20, 0.0, 0.0)]
    alert = np.zeros(10, dtype=bool)
    alert[[2, 9]] = True  # rows 12 and 19: the first noise event and the spike
    got = rooms.caught_events(ds, events, alert)
    assert got == {"noise": 0.5, "point": 1.0}
    r = row("home", f1=0.5, caught=0.75, fa_week=0.0)
    r.update(labelled={"noise": 1.0}, caught_by_kind=got, test_days=6.0, events=3, seconds=1.0)
    table = rooms.markdown([r], None)
    assert "## The device: share of the test split's events caught, by kind" in table
    assert rooms.HISTORY_NOTE in table
    line = [ln for ln in table.splitlines() if ln.startswith("| home |") and ln.count("|") == len(rooms.KINDS) + 2][-1]
    cells = dict(zip(rooms.KINDS, [c.strip() for c in line.split("|")[2:-1]]))
    assert cells["noise"] == "0.50" and cells["point"] == "1.00" and cells["stuck"] == "-"


def test_a_room_whose_test_split_holds_no_anomaly_is_judged_on_its_false_alarms_alone():
    """0 events caught of 0 is no miss and F1 0 on nothing to detect is no score: the room is
    judged on its false alarms, and left out of the macro F1 (the table says so)."""
    from tinyad.evaluate.scoring import headline_of

    def metrics(anomalous_rows, events, recall, f1, fa):
        det = {"f1": f1, "by_type": {}, "alerts": {"alerts": fa, "alerts_per_week": float(fa)},
               "events": {"events": events, "caught": events, "recall": recall, "false_alarm_events": fa,
                          "median_delay_readings": None}}
        result = {"device": det, "isolation_forest": {**det, "f1": 0.5}}
        head, _ = headline_of(result, True, 7.0, 60.0, 0.5, {"max_false_alarms_per_week": 1.0, "contamination": 0.01})
        return {"ground_truth": 1, "data": {"test_days": 7.0, "test_anomalous_rows": anomalous_rows, "events": events},
                "_period_s": 60.0, "_cluster": {"pseudo_anomalous_frac_by_split": {"train": 0.01}},
                "_decision": {}, "_seconds": 1.0, "headline": head, **result}

    quiet = rooms.room_row("quiet", metrics(0, 0, None, 0.0, 2))
    busy = rooms.room_row("busy", metrics(40, 4, 1.0, 0.9, 0))
    assert quiet["device.f1"] is None and quiet["device.caught"] is None and quiet["isolation_forest.f1"] is None
    assert rooms.verdicts(quiet) == ["false alarms 2.00/week > 1"]  # no "events caught 0 %", no F1 below IF
    assert rooms.verdicts(rooms.room_row("calm", metrics(0, 0, None, 0.0, 0))) == []
    assert rooms.verdicts(busy) == [] and busy["device.f1"] == 0.9
    assert rooms.macro_f1([quiet, busy]) == pytest.approx(0.9)
    table = rooms.markdown([quiet, busy], None)
    assert "over the 1 labelled rooms: **0.900**" in table and "no anomaly in their test split: quiet." in table
    # a run of draws in which no room had an event is no macro F1 of 0, and the mean leaves it out
    md = rooms.seeds_markdown([[quiet, busy], [quiet, rooms.room_row("busy", metrics(0, 0, None, 0.0, 0))]], None)
    assert "| 1 | - | 1/2 |" in md and "**0.900** mean over the 1 runs with an event to score" in md


def test_drawn_rooms_are_reproducible_configs_with_the_band_around_the_room_s_own_range():
    """benchmarks/random_rooms.py: the same --seed draws the same rooms, each composes into a
    config, and its alarm band encloses every normal reading the room shows (the user's band)."""
    import numpy as np

    spec = importlib.util.spec_from_file_location("random_rooms_benchmark", ROOT / "benchmarks" / "random_rooms.py")
    rr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rr)
    from tinyad.data.simulate import simulate

    first, again = ([rr.random_room(np.random.default_rng(seed)) for seed in (4, 5)] for _ in range(2))
    assert first == again and first[0] != first[1]
    for room in first:
        cfg = rooms.compose_cfg(rr.overrides(room))
        assert cfg.data.period_s == room["period_s"] and cfg.data.sim.base_temp_c == room["base_temp_c"]
        assert cfg.features.use_humidity == room["humidity"] == cfg.data.sim.humidity
        table, _ = simulate(cfg.data)
        normal = (table["label"] == 0).to_numpy() & (table["fault"] == "").to_numpy()
        t = table["temperature"].to_numpy()[normal]
        lo, hi = cfg.thresholds.temp_alarm
        assert lo <= t.min() - 2.0 and t.max() + 5.0 <= hi < t.max() + 6.0
        if room["humidity"]:
            h = table["humidity"].to_numpy()[normal]
            hlo, hhi = cfg.thresholds.hum_alarm
            assert hlo <= h.min() and h.max() < hhi


def _explain_module():
    spec = importlib.util.spec_from_file_location("explain_room_benchmark", ROOT / "benchmarks" / "explain_room.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    return ex


def test_explain_room_replays_the_room_random_rooms_drew_and_refuses_a_bad_index():
    """benchmarks/explain_room.py --drawn SEED:INDEX reads the room random_rooms.py --seed SEED
    ran at INDEX: the one draw_rooms gives both."""
    import argparse

    ex = _explain_module()
    import random_rooms as rr  # on the path explain_room.py set

    drawn = rr.draw_rooms(3, 4)
    assert [d[0] for d in drawn] == ["r01", "r02", "r03", "r04"] and rr.draw_rooms(3, 2) == drawn[:2]
    name, overrides = ex.room_overrides(argparse.Namespace(preset=None, drawn="3:3"))
    assert (name, overrides) == (drawn[2][0], drawn[2][2]) and overrides != drawn[1][2]
    assert ex.room_overrides(argparse.Namespace(preset="home", drawn=None)) == ("home", rooms.ROOMS["home"][0])
    for bad in ("3", "3:0", "x:2"):
        with pytest.raises(SystemExit, match="explain_room: --drawn"):
            ex.room_overrides(argparse.Namespace(preset=None, drawn=bad))


def test_explain_room_tables_count_events_and_false_alarms_as_evaluate_does():
    """The event table takes an event that began before the test split from its first test
    row, reads codes on valid readings only (a debounce run continues over a faulty one), and
    the false alarms are evaluate's: runs of alerting rows with a known normal row and no
    event row, as many as event_scores counts."""
    import numpy as np

    from tinyad.evaluate.metrics import event_scores

    ex = _explain_module()
    #             0   1   2   3   4   5   6   7   8   9  10  11  12  13  14  15
    event_id = np.array([4, 4, -1, -1, 5, 5, 5, 5, -1, -1, -1, -1, -1, -1, -1, -1])
    label = np.where(event_id >= 0, 1, 0)
    label[14:16] = -1                                   # unknown rows (a faulty span's)
    valid = np.ones(16, dtype=bool)
    valid[6] = False                                    # a faulty reading inside event 5
    codes = np.array([90, 10, 0, 0, 90, 95, -128, 99, 0, 0, 80, 85, 0, 0, 90, 90])
    alert = np.array([1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1], dtype=bool)
    pseudo = np.array([1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    band, stuck = np.zeros(16, dtype=bool), np.zeros(16, dtype=bool)
    band[11] = True
    rows = ex.event_rows(event_id, codes, valid, pseudo, band, stuck, alert, code=50, raise_q=85)
    assert [(r["id"], r["first"], r["readings"]) for r in rows] == [(4, 0, 2), (5, 4, 4)]
    e5 = rows[1]
    assert e5["max_code"] == 99 and e5["at_code"] == 3 and e5["at_raise"] == 3 and e5["longest_at_raise"] == 3
    assert e5["pseudo"] == 2 and e5["caught"] and not e5["band"]  # the faulty row's label is not counted
    fas = ex.false_alarm_rows(alert, event_id, label == 0, codes, valid, pseudo, band, stuck, raise_q=85)
    # rows 0-2 touch event 4 and 5-8 event 5: no false alarm; 10-11 is one; 14-15 holds no known normal row
    assert [(r["first"], r["readings"], r["evidence"]) for r in fas] == [(10, 2, ["model", "band"])]
    assert fas[0]["max_code"] == 85 and fas[0]["pseudo_share"] == 0.5
    counted = event_scores(alert, event_id, label == 0, np.where(event_id >= 0, "point", "none"), days=1.0)
    assert counted["false_alarm_events"] == len(fas) and counted["caught"] == sum(r["caught"] for r in rows)
    flags = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert ex.runs(flags) == [(1, 3), (5, 6), (7, 10)] and ex.longest_run(flags) == 3
    assert ex.runs(np.zeros(4, dtype=bool)) == [] and ex.longest_run(np.zeros(4, dtype=bool)) == 0
