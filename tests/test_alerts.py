"""The alert logic: the Python reference on hand-made sequences, and C == Python.

``tinyad/device/alerts.py`` is the reference of ``firmware/lib/tinyad`` (sample validation
and the alert state machine).  The first tests pin its behaviour on sequences made
by hand; the last ones compile the C modules with gcc (``-Wall -Wextra -Werror``)
behind a small driver and compare them with Python on seeded random inputs, exactly.
The whole firmware (feature window, model, serial lines) is compared in
``tests/test_firmware.py``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyad.device.alerts import (
    READ_ERROR,
    READ_OK,
    READ_TIMEOUT,
    AlertRules,
    AlertState,
    RawReading,
    absolute_rule,
    alert_active,
    check_sample,
    firmware_lines,
    stuck_rule,
    tenths,
)
from tinyad.config import AlertsConfig, ConfigError, ThresholdsConfig, load

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "firmware" / "lib" / "tinyad"

RULES = AlertRules(consecutive=3, clear_after=2, decision_q=10, temp_lo=200, temp_hi=280, hum_lo=300, hum_hi=500)


def events(rules: AlertRules, outcomes: list[tuple[bool, bool]]) -> list[str]:
    state = AlertState(rules.consecutive, rules.clear_after)
    return [state.step(m, th)[0] for m, th in outcomes]


# ------------------------------------------------------------ state machine
def test_alert_is_raised_after_n_consecutive_anomalous_readings():
    seq = [(False, False)] * 2 + [(True, False)] * 4
    assert events(RULES, seq) == ["", "", "", "", "alert", ""]


def test_a_single_model_spike_does_not_alert():
    seq = [(False, False), (True, False), (False, False), (True, False), (True, False), (False, False)]
    assert "alert" not in events(RULES, seq)


def test_absolute_evidence_raises_at_once_whatever_the_debounce():
    """A reading past the alarm band, or a stuck one, is evidence on its own: no debounce."""
    assert events(RULES, [(False, False), (False, True), (False, False)]) == ["", "alert", ""]
    state = AlertState(RULES.consecutive, RULES.clear_after)
    assert state.step(False, False, True) == ("alert", False, False, True)


def test_a_reading_at_the_instant_code_raises_at_once_and_one_under_it_waits():
    rules = AlertRules(3, 2, 10, 200, 280, 300, 500, instant_q=40)
    assert rules.instant(40) and rules.instant(127) and not rules.instant(39) and not rules.instant(None)
    state = AlertState(rules.consecutive, rules.clear_after)
    got = [state.step(rules.model(q), False, False, rules.instant(q))[0] for q in (39, -5, 40, -5, -5)]
    assert got == ["", "", "alert", "", "clear"]
    # under the instant code the debounce applies: three in a row
    state = AlertState(rules.consecutive, rules.clear_after)
    assert [state.step(rules.model(q), False, False, rules.instant(q))[0] for q in (39, 39, 39)] == ["", "", "alert"]
    # and the arrays' version agrees
    q = np.array([39, -5, 40, -5, -5, 39, 39, 39])
    want = [False, False, True, True, False, False, False, True]
    assert alert_active(q >= 10, np.zeros(8, bool), np.ones(8, bool), 3, 2, q >= 40).tolist() == want


def test_a_normal_reading_resets_the_anomalous_run():
    seq = [(True, False), (True, False), (False, False), (True, False), (True, False), (True, False)]
    assert events(RULES, seq) == ["", "", "", "", "", "alert"]


def test_alert_clears_only_after_m_consecutive_normal_readings():
    seq = [(True, False)] * 3 + [(False, False), (True, False), (False, False), (False, False), (False, False)]
    assert events(RULES, seq) == ["", "", "alert", "", "", "", "clear", ""]


def test_alert_says_which_rules_fired_during_the_raising_run():
    state = AlertState(3, 2)
    state.step(True, False)
    assert state.step(False, True) == ("alert", True, True, False)
    state = AlertState(3, 2)
    state.step(True, False)
    assert state.step(True, False, False, True) == ("alert", True, False, False)
    state = AlertState(2, 2)
    assert state.step(False, True) == ("alert", False, True, False)
    state = AlertState(3, 2)
    state.step(True, False)
    assert state.step(True, False, True) == ("alert", True, False, True)


def test_consecutive_one_alerts_at_once():
    assert events(AlertRules(1, 1, 0, 200, 280, 300, 500), [(True, False), (False, False)]) == ["alert", "clear"]


def test_model_decision_is_score_at_or_above_the_code_and_128_means_never():
    assert RULES.model(10) and RULES.model(127) and not RULES.model(9) and not RULES.model(None)
    never = AlertRules(1, 1, 128, 200, 280, 300, 500)
    assert not any(never.model(q) for q in range(-128, 128))


def test_threshold_rules_are_strict_and_skip_missing_humidity():
    assert not RULES.threshold(200, 300) and not RULES.threshold(280, 500)
    assert RULES.threshold(199, 400) and RULES.threshold(281, 400)
    assert RULES.threshold(240, 299) and RULES.threshold(240, 501)
    assert not RULES.threshold(240, None)


def test_rules_from_params_use_the_seed_alarm_limits_in_tenths():
    rules = AlertRules.from_config(
        AlertsConfig(decision_threshold=0.5, consecutive=2, clear_after_min=5, calibrate=False,
                     max_false_alarms_per_week=1.0, budget_confidence=0.9, period_s=60),
        ThresholdsConfig(temp_normal=[23.0, 25.0], hum_normal=[35.0, 45.0],
                         temp_alarm=[20.0, 28.0], hum_alarm=[30.0, 50.0]),
        decision_q=-3,
    )
    assert (rules.temp_lo, rules.temp_hi, rules.hum_lo, rules.hum_hi) == (200, 280, 300, 500)
    assert (rules.consecutive, rules.clear_after, rules.decision_q) == (2, 5, -3)


@pytest.mark.parametrize("period_s, readings", [(1, 900), (60, 15), (300, 3), (900, 1), (3600, 1)])
def test_the_alert_hold_is_set_in_minutes_and_counted_in_readings(period_s, readings):
    cfg = AlertsConfig(decision_threshold=0.5, consecutive=2, clear_after_min=15, calibrate=True,
                       max_false_alarms_per_week=1.0, budget_confidence=0.9)
    with pytest.raises(ConfigError, match="sampling period is not bound"):
        cfg.clear_after
    assert cfg.bind(period_s).clear_after == readings
    assert AlertRules.from_config(cfg, ThresholdsConfig(temp_normal=[23.0, 25.0], hum_normal=[35.0, 45.0],
                                                        temp_alarm=[20.0, 28.0], hum_alarm=[30.0, 50.0]),
                                  decision_q=0).clear_after == readings


def test_an_alert_hold_the_device_cannot_count_is_refused():
    with pytest.raises(ConfigError, match=r"alerts.clear_after_min: 1200 min at data.period_s 1 s is 72000 readings"):
        AlertsConfig(decision_threshold=0.5, consecutive=2, clear_after_min=1200, calibrate=True,
                     max_false_alarms_per_week=1.0, budget_confidence=0.9, period_s=1)
    with pytest.raises(ConfigError, match="alerts.period_s: 60 differs from data.period_s 300"):
        AlertsConfig(decision_threshold=0.5, consecutive=2, clear_after_min=15, calibrate=True,
                     max_false_alarms_per_week=1.0, budget_confidence=0.9, period_s=60).bind(300)


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="consecutive"):
        AlertRules(0, 1, 0, 200, 280, 300, 500)
    with pytest.raises(ValueError, match="decision_q"):
        AlertRules(1, 1, 129, 200, 280, 300, 500)
    with pytest.raises(ValueError, match=r"instant_q: expected a code from raise_q \(10\) to 128, got 9"):
        AlertRules(2, 1, 10, 200, 280, 300, 500, instant_q=9)
    with pytest.raises(ValueError, match="instant_q"):
        AlertRules(2, 1, 10, 200, 280, 300, 500, instant_q=129)
    with pytest.raises(ValueError, match=r"raise_q: expected a code from decision_q \(10\) to 128, got 9"):
        AlertRules(2, 1, 10, 200, 280, 300, 500, raise_q=9)
    with pytest.raises(ValueError, match=r"instant_q: expected a code from raise_q \(40\) to 128, got 30"):
        AlertRules(2, 1, 10, 200, 280, 300, 500, instant_q=30, raise_q=40)
    assert AlertRules(2, 1, 10, 200, 280, 300, 500).raise_q == 10  # none given: the decision code


# --------------------------------------------------------- sample validation
@pytest.mark.parametrize(
    "temp, hum, status, expected",
    [
        (24.1, 40.2, READ_OK, ("", 241, 402)),
        (-0.05, 0.0, READ_OK, ("", -1, 0)),  # half away from zero
        (float("nan"), 40.0, READ_OK, ("nan", 0, None)),
        (24.0, float("nan"), READ_OK, ("nan", 0, None)),
        (float("inf"), 40.0, READ_OK, ("nan", 0, None)),
        (24.0, 40.0, READ_TIMEOUT, ("timeout", 0, None)),
        (24.0, 40.0, READ_ERROR, ("dht_error", 0, None)),
        (-999.0, 40.0, READ_OK, ("dht_error", 0, None)),
        (24.0, -999.0, READ_OK, ("dht_error", 0, None)),
        (-3276.7, 40.0, READ_OK, ("dht_error", 0, None)),
        (24.0, 6553.5, READ_OK, ("dht_error", 0, None)),
        (80.1, 40.0, READ_OK, ("impossible", 0, None)),
        (-40.1, 40.0, READ_OK, ("impossible", 0, None)),
        (24.0, 100.1, READ_OK, ("impossible", 0, None)),
        (24.0, -0.1, READ_OK, ("impossible", 0, None)),
        (1e300, 40.0, READ_OK, ("impossible", 0, None)),
        (80.0, 100.0, READ_OK, ("", 800, 1000)),
    ],
)
def test_check_sample(temp, hum, status, expected):
    assert check_sample(temp, hum, status) == expected


def test_without_humidity_a_bad_humidity_is_reported_missing_not_faulty():
    assert check_sample(24.0, float("nan"), use_humidity=False) == ("", 240, None)
    assert check_sample(24.0, 6553.5, use_humidity=False) == ("", 240, None)
    assert check_sample(float("nan"), 40.0, use_humidity=False) == ("nan", 0, None)


def test_tenths_rounds_half_away_from_zero_like_lround():
    assert [tenths(v) for v in (0.25, -0.25, 0.35, -0.35, 24.04, 2.5e-1)] == [3, -3, 4, -4, 240, 3]


# ------------------------------------------------------- lines, faults, arrays
def test_faults_print_fault_lines_and_never_alert_or_break_a_run():
    rules = AlertRules(2, 2, 0, 200, 280, 300, 500)
    readings = [RawReading(0, 24.0, 40.0), RawReading(60, float("nan"), 40.0), RawReading(120, -999.0, 40.0),
                RawReading(180, 24.1, 40.0), RawReading(240, 24.0, 40.0, READ_TIMEOUT)]
    lines = firmware_lines(readings, [5, 90, 90, 5, 90], rules, status_every=0)
    assert [ln["event"] for ln in lines] == ["fault", "fault", "alert", "fault"]
    assert [ln["reason"] for ln in lines if ln["event"] == "fault"] == ["nan", "dht_error", "timeout"]
    alert = lines[2]
    assert alert == {"t": 180, "event": "alert", "temp": 24.1, "hum": 40.0, "score": 5,
                     "model": True, "threshold": False, "stuck": False}
    only_faults = firmware_lines([RawReading(i, float("nan"), 40.0) for i in range(10)], [127] * 10,
                                 AlertRules(1, 1, 0, 200, 280, 300, 500), status_every=1)
    assert {ln["event"] for ln in only_faults} == {"fault"}


def test_status_lines_count_valid_readings_only():
    readings = [RawReading(i, 24.0 if i % 3 else float("nan"), 40.0) for i in range(12)]
    lines = firmware_lines(readings, [None] * 12, RULES, status_every=4)
    status = [ln for ln in lines if ln["event"] == "status"]
    assert [ln["t"] for ln in status] == [5, 11]
    assert status[0] == {"t": 5, "event": "status", "temp": 24.0, "hum": 40.0, "score": None,
                         "model": False, "threshold": False, "stuck": False, "alert": False}


# ------------------------------------------------------------ the stuck rule
def test_repeats_count_the_readings_before_that_equal_this_one():
    state = AlertState(1, 1)
    seq = [(240, 400), (240, 400), (240, 400), (241, 400), (241, 400), (241, 401), (241, 401)]
    assert [state.count_repeat(t, h, True) for t, h in seq] == [0, 1, 2, 0, 1, 0, 1]
    state = AlertState(1, 1)  # humidity not used: a temperature that repeats is a repeat
    assert [state.count_repeat(t, h, False) for t, h in seq] == [0, 1, 2, 0, 1, 2, 3]


def test_stuck_rule_is_repeats_at_or_above_the_span_and_zero_is_never():
    assert list(stuck_rule(np.array([0, 4, 5, 59]), 5)) == [False, False, True, True]
    assert not stuck_rule(np.array([0, 5, 1000]), 0).any()
    assert stuck_rule(7, 7) is True and stuck_rule(6, 7) is False and stuck_rule(10**6, 0) is False
    with pytest.raises(ValueError, match="stuck_run"):
        AlertRules(1, 1, 0, 200, 280, 300, 500, stuck_run=-1)


def test_a_stuck_sensor_alerts_names_the_rule_and_clears_when_it_moves_again():
    rules = AlertRules(2, 2, 128, 200, 280, 300, 500, stuck_run=4)
    temps = [24.0, 24.1] + [24.2] * 8 + [24.3, 24.4, 24.3]
    lines = firmware_lines([RawReading(60 * i, t, 40.0) for i, t in enumerate(temps)], [None] * len(temps),
                           rules, status_every=0)
    # the 5th 24.2 (4 repeats) is stuck: absolute evidence, no debounce
    assert lines == [
        {"t": 60 * 6, "event": "alert", "temp": 24.2, "hum": 40.0, "score": None,
         "model": False, "threshold": False, "stuck": True},
        {"t": 60 * 11, "event": "clear", "temp": 24.4, "hum": 40.0, "score": None,
         "model": False, "threshold": False, "stuck": False},
    ]
    # a faulty reading does not break the repeat (the feature window skips it too)
    with_fault = [RawReading(60 * i, float("nan") if i == 4 else 24.2, 40.0) for i in range(8)]
    lines = firmware_lines(with_fault, [None] * 8, AlertRules(1, 1, 128, 200, 280, 300, 500, stuck_run=4), 0)
    assert [(ln["t"], ln["event"]) for ln in lines] == [(240, "fault"), (300, "alert")]


def test_the_absolute_rule_is_the_band_or_the_stuck_rule():
    band = np.array([True, False, False, False])
    run = np.array([0.0, 2.0, 5.0, 9.0])
    assert absolute_rule(band, run, 5).tolist() == [True, False, True, True]
    assert absolute_rule(band, None, 0).tolist() == band.tolist()  # no rule: no run feature needed
    with pytest.raises(ValueError, match="stuck span is 5 readings but there is no run feature"):
        absolute_rule(band, None, 5)


def test_the_stuck_rule_and_the_lines_agree_on_humidity():
    rules = AlertRules(1, 1, 128, 200, 280, 300, 500, stuck_run=2, stuck_hum=True)
    with pytest.raises(ValueError, match="stuck_hum True but use_humidity False"):
        firmware_lines([RawReading(0, 24.0, 40.0)], [None], rules, 0, use_humidity=False)
    # humidity unused: a frozen temperature is stuck whatever the humidity does
    rules = AlertRules(1, 1, 128, 200, 280, 300, 500, stuck_run=2, stuck_hum=False)
    raws = [RawReading(60 * i, 24.0, 40.0 + i) for i in range(4)]
    assert [ln["t"] for ln in firmware_lines(raws, [None] * 4, rules, 0, use_humidity=False)] == [120]


def test_the_replay_command_applies_the_stuck_span(tmp_path, capsys):
    from tinyad.config import load
    from tinyad.device.alerts import main

    log = tmp_path / "r.csv"
    log.write_text("t,temp,hum,score\n" + "".join(f"{60 * i},24.0,40.0,\n" for i in range(5)))
    assert main([str(log), "--params", str(ROOT / "params.yaml"), "--decision-q", "128", "--stuck-run", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()  # 3 repeats at t=180: at once, params' debounce (2) or not
    assert load(ROOT / "params.yaml").alerts.consecutive == 2
    assert lines == ['{"t":180,"event":"alert","temp":24.0,"hum":40.0,"score":null,"model":false,"threshold":false,'
                     '"stuck":true}']
    assert main([str(log), "--params", str(ROOT / "params.yaml"), "--decision-q", "128", "--stuck-run", "0"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit):
        main([str(log), "--params", str(ROOT / "params.yaml"), "--decision-q", "128",
              "--scaler", str(tmp_path / "missing.json")])
    assert "run the cluster stage or pass --stuck-run" in capsys.readouterr().err


def test_the_replay_command_applies_the_instant_code(tmp_path, capsys):
    from tinyad.device.alerts import main

    log = tmp_path / "r.csv"
    log.write_text("t,temp,hum,score\n0,24.0,40.0,10\n60,24.1,40.0,90\n120,24.0,40.0,10\n")
    args = [str(log), "--params", str(ROOT / "params.yaml"), "--decision-q", "0", "--stuck-run", "0"]
    assert main(args) == 0  # params' debounce of 2: the 2nd reading raises it
    assert [json.loads(ln)["t"] for ln in capsys.readouterr().out.splitlines()] == [60]
    assert main(args + ["--instant-q", "10"]) == 0  # the 1st is at the instant code
    assert [json.loads(ln)["t"] for ln in capsys.readouterr().out.splitlines()] == [0]
    with pytest.raises(SystemExit):
        main(args + ["--instant-q", "-1"])
    assert "instant_q: expected a code from raise_q (0) to 128, got -1" in capsys.readouterr().err


def test_the_replay_command_applies_the_raise_code(tmp_path, capsys):
    """Readings under the raise code do not raise an alert; once one is raised, they hold it."""
    from tinyad.device.alerts import main

    clear_after = load(ROOT / "params.yaml").alerts.clear_after
    # params' debounce of 2: the 4th reading (at 60) raises at a raise code of 50; the three at 10 after it
    # (decision code 0) hold it, and only clear_after normal ones clear it
    scores = [10, 10, 60, 60, 10, 10, 10] + [-50] * clear_after
    log = tmp_path / "r.csv"
    log.write_text("t,temp,hum,score\n" + "".join(f"{60 * i},24.0,40.{i % 2},{q}\n" for i, q in enumerate(scores)))
    args = [str(log), "--params", str(ROOT / "params.yaml"), "--decision-q", "0", "--stuck-run", "0", "--mode", "alert"]

    def changes() -> list[tuple[int, str]]:
        lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
        return [(e["t"] // 60, e["event"]) for e in lines if e["event"] in ("alert", "clear")]

    assert main(args + ["--raise-q", "50"]) == 0
    assert changes() == [(3, "alert"), (7 + clear_after - 1, "clear")]
    assert main(args) == 0  # without a raise code the 2nd reading at 10 raises it
    assert changes() == [(1, "alert"), (7 + clear_after - 1, "clear")]


def test_clearing_an_alert_keeps_the_repeat_count():
    state = AlertState(1, 1)
    state.step(True, False)
    for _ in range(3):
        state.count_repeat(240, 400, True)
    assert state.step(False, False)[0] == "clear"
    assert state.count_repeat(240, 400, True) == 3


def test_alert_active_matches_the_step_by_step_machine():
    rng = np.random.default_rng(3)
    model = rng.random(500) < 0.3
    threshold = rng.random(500) < 0.1
    valid = rng.random(500) < 0.9
    instant = model & (rng.random(500) < 0.2)
    active = alert_active(model, threshold, valid, 2, 3, instant)
    state = AlertState(2, 3)
    for i in range(500):
        if valid[i]:
            state.step(model[i], threshold[i], False, instant[i])
        assert active[i] == state.active
    assert active.any() and not active.all()


# ------------------------------------------------------------- C == Python
DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tinyad_alerts.h"
#include "tinyad_sample.h"

/* stdin: "C consecutive clear_after decision_q temp_lo temp_hi hum_lo hum_hi stuck_run stuck_hum instant_q raise_q"
   once, then
   "S status temp_hex hum_hex use_hum"  -> "fault t10 h10 has_hum"
   "A has_score score t10 h10 has_hum"  -> "event model threshold stuck alert_model alert_threshold alert_stuck
                                            active repeats" */
int main(void)
{
    char kind;
    tinyad_alert_cfg_t cfg;
    tinyad_alert_state_t st;
    int c[11];
    tinyad_alert_init(&st);
    if (scanf(" C %d %d %d %d %d %d %d %d %d %d %d", &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8],
              &c[9], &c[10]) != 11)
        return 2;
    cfg.stuck_run = (uint16_t)c[7]; cfg.stuck_hum = (uint8_t)c[8]; cfg.instant_q = (int16_t)c[9];
    cfg.raise_q = (int16_t)c[10];
    cfg.consecutive = (uint16_t)c[0]; cfg.clear_after = (uint16_t)c[1]; cfg.decision_q = (int16_t)c[2];
    cfg.temp_lo = (int16_t)c[3]; cfg.temp_hi = (int16_t)c[4]; cfg.hum_lo = (int16_t)c[5]; cfg.hum_hi = (int16_t)c[6];
    while (scanf(" %c", &kind) == 1) {
        if (kind == 'S') {
            tinyad_raw_t raw; tinyad_sample_t s; int use; char tb[64], hb[64];
            if (scanf("%d %63s %63s %d", &raw.status, tb, hb, &use) != 4) return 2;
            raw.temp_c = strtod(tb, NULL); raw.humidity = strtod(hb, NULL); raw.t = 0; raw.second_of_week = 0;
            s.temp10 = 0; s.hum10 = 0; s.has_hum = 0;
            {
                tinyad_fault_t f = tinyad_sample_check(&raw, use, &s);
                printf("%s %d %d %d\n", f == TINYAD_FAULT_NONE ? "ok" : tinyad_fault_name(f),
                       f ? 0 : s.temp10, f ? 0 : s.hum10, f ? 0 : s.has_hum);
            }
        } else if (kind == 'A') {
            int has_score, score, t10, h10, has_hum; tinyad_sample_t s; tinyad_alert_flags_t fl;
            tinyad_alert_event_t ev;
            if (scanf("%d %d %d %d %d", &has_score, &score, &t10, &h10, &has_hum) != 5) return 2;
            s.t = 0; s.second_of_week = 0; s.temp10 = (int16_t)t10; s.hum10 = (int16_t)h10; s.has_hum = (uint8_t)has_hum;
            ev = tinyad_alert_step(&st, &cfg, &s, has_score, score, &fl);
            printf("%s %d %d %d %d %d %d %d %d\n",
                   ev == TINYAD_ALERT_RAISED ? "alert" : ev == TINYAD_ALERT_CLEARED ? "clear" : "-",
                   fl.model, fl.threshold, fl.stuck, fl.alert_model, fl.alert_threshold, fl.alert_stuck, st.active,
                   st.repeats);
        } else {
            return 2;
        }
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    gcc = shutil.which("gcc")
    assert gcc, "gcc is required (apt-get install gcc)"
    d = tmp_path_factory.mktemp("alerts_driver")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "driver"
    cmd = [gcc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", f"-I{LIB}",
           str(d / "driver.c"), str(LIB / "tinyad_alerts.c"), str(LIB / "tinyad_sample.c"), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def run_driver(exe: Path, rules: AlertRules, commands: list[str]) -> list[str]:
    head = (f"C {rules.consecutive} {rules.clear_after} {rules.decision_q} "
            f"{rules.temp_lo} {rules.temp_hi} {rules.hum_lo} {rules.hum_hi} {rules.stuck_run} {int(rules.stuck_hum)} "
            f"{rules.instant_q} {rules.raise_q}\n")
    proc = subprocess.run([str(exe)], input=head + "\n".join(commands) + "\n", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def random_value(rng: random.Random, kind: str) -> float:
    base, spread, lo, hi = (24.0, 8.0, -40.0, 80.0) if kind == "t" else (40.0, 15.0, 0.0, 100.0)
    r = rng.random()
    if r < 0.6:
        return round(rng.gauss(base, spread), rng.choice([1, 1, 2, 3]))
    if r < 0.7:
        return rng.choice([lo, hi, lo - 0.1, hi + 0.1, lo - 0.04, hi + 0.04, lo - 0.05, hi + 0.05])
    if r < 0.8:
        return rng.choice([float("nan"), float("inf"), -float("inf"), -999.0, -3276.7, 6553.5, 1e5, -1e5, 99999.99])
    if r < 0.9:
        return rng.uniform(-2e5, 2e5)
    return (rng.randrange(-5000, 5000) + rng.choice([0.05, -0.05, 0.5, 0.45, 0.55])) / 10


def test_c_sample_check_equals_python(driver):
    rng = random.Random(20260105)
    cmds, expected = [], []
    for _ in range(4000):
        status = rng.choices([READ_OK, READ_TIMEOUT, READ_ERROR], [0.9, 0.05, 0.05])[0]
        t, h, use = random_value(rng, "t"), random_value(rng, "h"), rng.random() < 0.8
        cmds.append(f"S {status} {float(t).hex()} {float(h).hex()} {int(use)}")
        fault, t10, h10 = check_sample(t, h, status, use)
        expected.append(f"{fault or 'ok'} {t10} {h10 or 0} {int(h10 is not None) if not fault else 0}")
    got = run_driver(driver, RULES, cmds)
    mismatches = [(c, e, g) for c, e, g in zip(cmds, expected, got) if e != g]
    assert len(got) == len(expected) and not mismatches, mismatches[:5]
    assert {e.split()[0] for e in expected} == {"ok", "nan", "timeout", "dht_error", "impossible"}


@pytest.mark.parametrize("seed, decision_q, stuck_run, stuck_hum, instant_q, raise_q",
                         [(1, -20, 0, True, 128, 30), (2, 64, 3, True, 100, 80), (3, 128, 5, False, 128, 128),
                          (4, 0, 1, True, 0, 0), (5, 128, 4, True, 128, 128), (6, -50, 0, True, 20, -50),
                          (7, -100, 0, False, 60, -10), (8, -60, 0, True, 128, 127)])
def test_c_alert_state_machine_equals_python(driver, seed, decision_q, stuck_run, stuck_hum, instant_q, raise_q):
    rng = random.Random(seed)
    rules = AlertRules(consecutive=rng.randint(2, 4) if instant_q < 128 else rng.randint(1, 4),
                       clear_after=rng.randint(1, 6), decision_q=decision_q,
                       temp_lo=200, temp_hi=280, hum_lo=300, hum_hi=500, stuck_run=stuck_run, stuck_hum=stuck_hum,
                       instant_q=instant_q, raise_q=raise_q)
    state = AlertState(rules.consecutive, rules.clear_after)
    cmds, expected = [], []
    # bursts so that runs of anomalies of every length occur
    anomalous_share, stuck_share, prev, raised_at_once, held_only = 0.5, 0.0, (240, 400, True), 0, 0
    for i in range(3000):
        if i % 50 == 0:
            anomalous_share = rng.random()
        has_score = rng.random() < 0.9
        anomalous = rng.random() < anomalous_share
        q = rules.decision_q
        if anomalous and q < rules.raise_q and rng.random() < 0.4:  # between the codes: holds, does not raise
            score = rng.randint(q, rules.raise_q - 1)
        elif anomalous and q <= 127:
            score = rng.randint(q, 127)
        elif not anomalous and q > -128:
            score = rng.randint(-128, min(q, 128) - 1)
        else:
            score = rng.randint(-128, 127)
        t10 = rng.choice([rng.randint(150, 199), rng.randint(281, 330)]) if anomalous and rng.random() < 0.5 \
            else rng.randint(200, 280)
        has_hum = stuck_hum or rng.random() < 0.9  # with humidity used, a valid sample always has it
        h10 = rng.randint(250, 550) if has_hum else 0
        if i and rng.random() < stuck_share:  # runs of repeats of every length: the stuck rule
            t10, h10, has_hum = prev if rng.random() < 0.8 else (prev[0], h10, has_hum)
        prev = (t10, h10, has_hum)
        if i % 50 == 0:
            stuck_share = rng.choice([0.0, 0.5, 0.9, 1.0])
        cmds.append(f"A {int(has_score)} {score} {t10} {h10} {int(has_hum)}")
        stuck = rules.stuck(state.count_repeat(t10, h10 if has_hum else None, rules.stuck_hum))
        model = rules.model(score if has_score else None)
        threshold = rules.threshold(t10, h10 if has_hum else None)
        at_once = not state.active and not threshold and not stuck and rules.instant(score if has_score else None)
        raised_at_once += at_once and state.anomalous_run + 1 < rules.consecutive
        raising = rules.raising(score if has_score else None)
        held_only += state.active and model and not (raising or threshold or stuck)
        event, am, at, ast = state.step(model, threshold, stuck, rules.instant(score if has_score else None), raising)
        alerted = event == "alert"
        expected.append(f"{event or '-'} {int(model)} {int(threshold)} {int(stuck)} {int(am and alerted)} "
                        f"{int(at and alerted)} {int(ast and alerted)} {int(state.active)} {state.repeats}")
    got = run_driver(driver, rules, cmds)
    mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert len(got) == len(expected) and not mismatches, mismatches[:5]
    assert sum(e.startswith("alert") for e in expected) > 3
    assert sum(e.startswith("clear") for e in expected) > 3
    if stuck_run:
        assert sum(e.split()[3] == "1" for e in expected) > 20  # the stuck rule fired
    if instant_q < 128:
        assert raised_at_once > 3  # alerts the debounce alone would not have raised yet
    if decision_q < raise_q:
        assert held_only > 20  # readings under the raise code that held an active alert
