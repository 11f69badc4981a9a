"""The decision threshold calibrated to a false-alarm budget (tinyad/learn/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson

from tinyad.evaluate import metrics as M
from tinyad.learn.calibration import allowed_false_alarms, calibrate_decision, poisson_upper
from tinyad.learn.calibration import decision_threshold, device_alerts, events_alerted, history_alerts, instant_code
from tinyad.learn.calibration import device_rules, raise_code
from tinyad.learn.calibration import false_alarms as false_alarms_of
from tinyad.learn.calibration import history_weeks_needed, short_history_warning
from tinyad.config import AlertsConfig, ConfigError
from tinyad.device.features import output_code_threshold

QUANT = {"input": {"scale": 0.05, "zero_point": 0}, "output": {"scale": 1 / 256, "zero_point": -128}}
PERIOD = 60
WEEK = 7 * 86400 // PERIOD
HORIZON = 65  # a 60-reading window + clear_after 5


def alerts_cfg(budget=1.0, consecutive=2, clear_after_min=5, calibrate=True, confidence=0.0,
               raise_margin=0.0) -> AlertsConfig:
    """Confidence 0 by default: the scan against the budget itself (the tests of the
    confidence bound set it); raise margin 0: no hysteresis (the tests of the raise code set it)."""
    return AlertsConfig(decision_threshold=0.5, consecutive=consecutive, clear_after_min=clear_after_min, period_s=PERIOD,
                        calibrate=calibrate, max_false_alarms_per_week=budget, budget_confidence=confidence,
                        raise_margin=raise_margin)


def normal_history(weeks: float, seed: int) -> np.ndarray:
    """Model codes of a normal room: mostly near -128, with bursts of higher codes at
    random (people, sunshine, a door) of random height: each burst is a would-be false
    alarm for any decision code below its height."""
    rng = np.random.default_rng(seed)
    n = int(weeks * WEEK)
    codes = rng.integers(-128, -110, n)
    for start in rng.choice(n - 10, size=int(40 * weeks), replace=False):
        codes[start:start + rng.integers(2, 8)] = rng.integers(-100, 127)
    return codes


def calibrate_history(codes: np.ndarray, pseudo: np.ndarray, cfg: AlertsConfig) -> dict:
    """``calibrate_decision`` on a history of model codes alone (no rule, every row valid), its
    first three quarters the train split."""
    n = len(codes)
    split = np.where(np.arange(n) < 3 * n // 4, "train", "val")
    return calibrate_decision(codes, np.zeros(n, bool), np.ones(n, bool), pseudo, split, PERIOD, cfg, QUANT, HORIZON)


def quiet_history(weeks: float, seed: int) -> tuple[np.random.Generator, int, np.ndarray, np.ndarray]:
    """A room's model codes with no event yet (all near -128) and no label: the generator, the
    row count, the codes and the pseudo-labels, for a test to add its events to."""
    rng = np.random.default_rng(seed)
    n = int(weeks * WEEK)
    return rng, n, rng.integers(-128, -110, n), np.zeros(n, np.int64)


def lone_readings(rng: np.random.Generator, n: int, events: np.ndarray, weeks: float) -> list[int]:
    """Rows of about 30 lone readings a week, each more than two horizons from every event."""
    return [i for i in rng.choice(n - 10, size=int(30 * weeks), replace=False) if np.abs(events - i).min() > 2 * HORIZON]


def false_alarms(codes, code, cfg, pseudo=None):
    """Alerts on a history with no pseudo-anomaly: every alert is a false one."""
    n = len(codes)
    assert pseudo is None
    a = history_alerts(codes, np.zeros(n, bool), np.ones(n, bool), code, cfg)
    return len(M.runs(a))


@pytest.mark.parametrize("confidence", [0.0, 0.9])
@pytest.mark.parametrize("budget", [0.5, 1.0, 3.0])
def test_a_normal_history_stays_within_the_budget(budget, confidence):
    weeks = 4.0
    codes = normal_history(weeks, seed=3)
    n = len(codes)
    cfg = alerts_cfg(budget, confidence=confidence)
    allowed = allowed_false_alarms(budget * weeks, confidence)
    split = np.where(np.arange(n) < 3 * n // 4, "train", "val")
    dec = calibrate_decision(codes, np.zeros(n, bool), np.ones(n, bool), np.zeros(n, np.int64), split, PERIOD, cfg, QUANT, HORIZON)
    c = dec["code"]
    fa = false_alarms(codes, c, cfg)
    assert fa <= allowed <= budget * weeks, f"{fa} false alarms in {weeks} weeks at code {c}, {allowed} allowed"
    assert dec["history"]["false_alarms"] == fa
    assert dec["history"]["false_alarms_per_week"] <= budget
    assert dec["budget_false_alarms"] == allowed and dec["budget_confidence"] == confidence
    # the next more sensitive code breaks the budget: the calibration is not needlessly deaf
    lower = max(v for v in np.unique(codes) if v < c)
    assert false_alarms(codes, lower, cfg) > allowed
    # the probability threshold maps back to the code, and quant.json's decision is what consumers read
    assert output_code_threshold(QUANT, dec["threshold"]) == c
    assert decision_threshold({**QUANT, "decision": dec}, cfg) == dec["threshold"]
    assert set(dec) >= {"train", "val", "history", "budget_per_week", "method"}


def test_an_unseen_normal_history_keeps_roughly_to_the_budget():
    """Calibrated on one month, the same room's next month: about the budget, not 10x it."""
    cfg = alerts_cfg(1.0)
    hist = normal_history(8.0, seed=4)
    n = len(hist)
    dec = calibrate_decision(hist, np.zeros(n, bool), np.ones(n, bool), np.zeros(n, np.int64),
                             np.full(n, "train"), PERIOD, cfg, QUANT, HORIZON)
    fresh = normal_history(8.0, seed=5)
    assert false_alarms(fresh, dec["code"], cfg) <= 2 * 8.0


def test_the_poisson_upper_bound_is_garwoods():
    """The bound at which k counted events leave exactly 1 - confidence probability of
    counting k or fewer: an exact property of the Poisson law, not a table."""
    for confidence in (0.5, 0.84, 0.9, 0.95):
        assert poisson_upper(0, confidence) == pytest.approx(-np.log(1 - confidence), rel=1e-9)
        for k in range(8):
            assert poisson.cdf(k, poisson_upper(k, confidence)) == pytest.approx(1 - confidence, rel=1e-9)
    assert np.all(np.diff(poisson_upper(np.arange(20), 0.9)) > 0)


def test_the_count_allowed_is_the_largest_whose_bound_is_within_the_budget():
    assert allowed_false_alarms(4.68, 0.0) == 4  # off: the budget itself, a whole count
    assert allowed_false_alarms(4.68, 0.9) == 1  # bounds 2.30, 3.89, 5.32: 2 would not be within 4.68
    assert allowed_false_alarms(3.89, 0.9) == 1 and allowed_false_alarms(3.88, 0.9) == 0  # the bound of 1: 3.8897
    assert allowed_false_alarms(2.0, 0.9) == 0  # a short history: not even 0 bounds the rate; none allowed
    assert allowed_false_alarms(0.0, 0.9) == 0
    for budget in np.linspace(0, 60, 121):
        k = allowed_false_alarms(budget, 0.9)
        assert k == int(k) and k <= budget
        assert k == 0 or poisson_upper(k, 0.9) <= budget
        assert poisson_upper(k + 1, 0.9) > budget
    # more history at the same rate allows more, and approaches the budget itself
    per_week = [allowed_false_alarms(w, 0.9) / w for w in (5, 20, 100, 1000)]
    assert per_week == sorted(per_week) and 0.9 < per_week[-1] <= 1.0


def test_a_confidence_keeps_an_unseen_month_within_the_budget():
    """The budget is a ceiling: calibrated with the confidence bound on one month, the
    same room's next months stay within it where the count alone lets them break it."""
    cfg0, cfg9 = alerts_cfg(1.0, confidence=0.0), alerts_cfg(1.0, confidence=0.9)
    hist = normal_history(4.0, seed=4)
    n = len(hist)
    args = (np.zeros(n, bool), np.ones(n, bool), np.zeros(n, np.int64), np.full(n, "train"), PERIOD)
    at0 = calibrate_decision(hist, *args, cfg0, QUANT, HORIZON)
    at9 = calibrate_decision(hist, *args, cfg9, QUANT, HORIZON)
    assert at9["code"] > at0["code"]  # less sensitive than the count alone
    over0 = over9 = 0
    for seed in range(10, 20):
        fresh = normal_history(4.0, seed=seed)
        over0 += false_alarms(fresh, at0["code"], cfg0) > 4.0
        over9 += false_alarms(fresh, at9["code"], cfg9) > 4.0
    assert over9 <= 1 < over0, (over0, over9)


def test_a_budget_confidence_out_of_range_is_refused_in_one_line():
    for bad in (0.3, 1.0, -0.1, float("nan")):
        with pytest.raises(ConfigError, match=rf"alerts.budget_confidence: expected 0 \(off\) or a value in "
                                              rf"\[0.5, 0.999\], got {bad}"):
            alerts_cfg(confidence=bad)
    for good in (0.0, 0.5, 0.9, 0.999):
        assert alerts_cfg(confidence=good).budget_confidence == good
    with pytest.raises(ConfigError, match=r"alerts.max_false_alarms_per_week: expected a value in \[0.0, 1000.0\], got nan"):
        alerts_cfg(budget=float("nan"))


def test_a_history_too_short_to_bound_the_rate_allows_no_false_alarm():
    """Two weeks at one a week: not even a clean history bounds the rate at 0.9 (2.30 >
    2), so the scan allows none, where the count alone would allow two."""
    weeks = 2.0
    codes = normal_history(weeks, seed=8)
    n = len(codes)
    args = (np.zeros(n, bool), np.ones(n, bool), np.zeros(n, np.int64), np.full(n, "train"), PERIOD)
    at9 = calibrate_decision(codes, *args, alerts_cfg(1.0, confidence=0.9), QUANT, HORIZON)
    at0 = calibrate_decision(codes, *args, alerts_cfg(1.0, confidence=0.0), QUANT, HORIZON)
    assert at9["budget_false_alarms"] == 0 and at0["budget_false_alarms"] == 2
    assert at9["history"]["false_alarms"] == 0 < at0["history"]["false_alarms"] <= 2
    assert at9["code"] > at0["code"]
    # and says so: two weeks are short of the 2.3 that bound it; the 0.0 confidence bounds nothing
    warning = short_history_warning(at9)
    assert warning and "holds 2.0 weeks, too short to show that the device keeps to 1 false alarm(s) a week" in warning
    assert "bounds the rate only to 1.2 a week" in warning and "log at least 2.3 weeks of history" in warning
    assert short_history_warning(at0) is None and history_weeks_needed(1.0, 0.9) == pytest.approx(2.302585)
    long = calibrate_decision(*(np.tile(a, 2) for a in (codes, *args[:4])), PERIOD, alerts_cfg(1.0, confidence=0.9),
                              QUANT, HORIZON)
    assert long["history_weeks"] == pytest.approx(4.0) and short_history_warning(long) is None


def test_alerts_explained_by_pseudo_anomalies_are_not_false_alarms():
    """Events the labelling found (pseudo-anomalous runs, within the contamination
    budget) may alert: the calibration does not go deaf to them."""
    cfg = alerts_cfg(1.0)
    codes = normal_history(4.0, seed=6)
    n = len(codes)
    pseudo = np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(7)
    starts = rng.choice(np.arange(100, n - 200, 500), size=60, replace=False)
    for s in starts:  # 60 events of 30 readings, high codes: 1.1 % of the history
        codes[s:s + 30] = 127  # more anomalous than any normal burst
        pseudo[s:s + 30] = 1
    dec = calibrate_decision(codes, np.zeros(n, bool), np.ones(n, bool), pseudo, np.full(n, "train"), PERIOD, cfg, QUANT, HORIZON)
    a = history_alerts(codes, np.zeros(n, bool), np.ones(n, bool), dec["code"], cfg)
    assert all(a[s:s + 30].any() for s in starts), "a labelled event raised no alert"
    assert dec["history"]["alerts"] >= 60
    assert dec["history"]["false_alarms"] <= 4


def test_an_alert_that_never_clears_is_not_a_way_around_the_budget():
    """A code low enough to keep the alert on all the time touches every event; its
    unexplained stretches (farther than the horizon from any pseudo-anomaly) count."""
    cfg = alerts_cfg(1.0)
    n = 2 * WEEK
    codes = np.random.default_rng(8).integers(-128, 0, n)  # below 0 everything is noise
    pseudo = np.zeros(n, dtype=np.int64)
    pseudo[::1000] = 1  # scattered pseudo-anomalies touch any long alert
    codes[pseudo == 1] = 120
    dec = calibrate_decision(codes, np.zeros(n, bool), np.ones(n, bool), pseudo, np.full(n, "train"), PERIOD, cfg,
                             QUANT, HORIZON)
    assert dec["code"] > -20  # far lower, the noise keeps the alert on between the scattered marks
    assert dec["history"]["false_alarms"] <= 2


def test_false_alarm_counting_against_the_pseudo_labels():
    pseudo = np.zeros(1000, dtype=np.int64)
    pseudo[500:510] = 1
    alert = np.zeros(1000, dtype=bool)
    alert[100:110] = True  # far from any mark: one false alarm
    alert[470:530] = True  # leads and trails the event by 30: explained
    assert false_alarms_of(alert, pseudo, 40) == 1
    alert[530:700] = True  # now trails by 190 readings: 150 beyond the horizon of 40 -> 4 more
    assert false_alarms_of(alert, pseudo, 40) == 1 + 4


def test_an_alert_just_after_or_before_an_event_belongs_to_it():
    """Features stay raised for a window after an event: an alert that starts after the
    last labelled reading, or ends before the first, within the horizon, is the event's."""
    pseudo = np.zeros(1000, dtype=np.int64)
    pseudo[500] = 1  # a one-reading spike
    for start, stop, want in ((501, 506, 0), (520, 541, 0), (541, 546, 1), (465, 470, 0), (450, 459, 1)):
        alert = np.zeros(1000, dtype=bool)
        alert[start:stop] = True
        assert false_alarms_of(alert, pseudo, 40) == want, (start, stop)


def test_a_rule_over_budget_turns_the_model_off_and_says_so():
    cfg = alerts_cfg(1.0)
    n = WEEK
    codes = np.full(n, -128)
    rule = np.zeros(n, bool)
    rule[::500] = True
    rule[1::500] = True  # 2 readings in a row outside the alarm band, 20 times a week
    dec = calibrate_decision(codes, rule, np.ones(n, bool), np.zeros(n, np.int64), np.full(n, "train"), PERIOD, cfg, QUANT, HORIZON)
    assert dec["code"] == 128 and "note" in dec
    # every consumer reads it: no instant code either (128 beside code 128 is "never", not an error)
    assert dec["consecutive"] == 2 and dec["instant_code"] == 128
    assert instant_code({**QUANT, "decision": dec}, cfg) == 128
    with pytest.raises(ValueError, match="decision.instant_code must be an integer above decision.code"):
        instant_code({**QUANT, "decision": {**dec, "instant_code": 127}}, cfg)


def test_decision_threshold_without_calibration_is_the_param():
    cfg = alerts_cfg(calibrate=False)
    assert decision_threshold(QUANT, cfg) == 0.5
    with pytest.raises(ValueError, match="alerts.calibrate is true"):
        decision_threshold(QUANT, alerts_cfg())


def spiky_history(weeks: float, seed: int, flicker: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes and pseudo-labels of a room whose events last one reading (a spike, an
    hourly log); with ``flicker`` it also has many lone high codes on normal readings."""
    rng = np.random.default_rng(seed)
    n = int(weeks * WEEK)
    codes = rng.integers(-128, -110, n)
    pseudo = np.zeros(n, np.int64)
    spikes = rng.choice(np.arange(100, n - 100, 400), size=int(5 * weeks), replace=False)
    codes[spikes] = 120
    pseudo[spikes] = 1
    if flicker:  # lone high codes far from any event: a debounce of one alerts on each
        lone = [i for i in rng.choice(n - 10, size=int(30 * weeks), replace=False)
                if np.abs(spikes - i).min() > 2 * HORIZON]
        codes[lone] = 120
    return codes, pseudo


def test_the_debounce_is_shortened_when_the_events_are_one_reading_long():
    weeks = 3.0
    codes, pseudo = spiky_history(weeks, seed=5, flicker=False)
    cfg = alerts_cfg(1.0, consecutive=2)
    dec = calibrate_history(codes, pseudo, cfg)
    assert dec["consecutive"] == 1, dec["debounce"]
    assert dec["debounce"]["2"]["pseudo_events_alerted"] == 0  # two in a row never happens
    assert dec["debounce"]["1"]["false_alarms"] <= 1.0 * weeks
    assert dec["debounce"]["1"]["pseudo_events_alerted"] == dec["debounce"]["1"]["pseudo_events"] == pseudo.sum()
    assert dec["history"]["false_alarms_per_week"] <= 1.0
    got = device_alerts({**QUANT, "decision": dec}, cfg)
    assert got.consecutive == 1 and got.clear_after == cfg.clear_after


def test_the_configured_debounce_is_kept_when_one_reading_would_spend_the_budget_on_flicker():
    weeks = 3.0
    codes, pseudo = spiky_history(weeks, seed=6, flicker=True)
    pseudo_long = pseudo.copy()
    for i in np.flatnonzero(pseudo):  # events of four readings: a debounce of two still catches them
        codes[i:i + 4] = 120
        pseudo_long[i:i + 4] = 1
    cfg = alerts_cfg(1.0, consecutive=2)
    dec = calibrate_history(codes, pseudo_long, cfg)
    assert dec["consecutive"] == 2, dec["debounce"]
    one, two = dec["debounce"]["1"], dec["debounce"]["2"]
    assert two["pseudo_events_alerted"] == two["pseudo_events"] == int(weeks * 5)
    # a debounce of one reading would alert on every flicker: within the budget it must stay deaf
    assert one["code"] > 120 and one["pseudo_events_alerted"] == 0
    assert dec["history"]["false_alarms_per_week"] <= 1.0


def test_an_event_is_reached_by_an_alert_on_its_labelled_readings_only():
    pseudo = np.zeros(400, np.int64)
    pseudo[100:103] = 1  # reached only by an alert after its end
    pseudo[200:204] = 1  # reached at its third labelled reading
    pseudo[300] = 1      # reached at once
    alerts = np.zeros(400, bool)
    alerts[103:110] = True
    alerts[202:206] = True
    alerts[300:302] = True
    assert events_alerted(alerts, pseudo, 10) == (2, 3, 2 + 0)
    # runs closer than the horizon are one event: reached at the second run's third reading
    assert events_alerted(alerts, pseudo, 150) == (1, 1, 202 - 100)


def test_a_tie_in_events_reached_goes_to_the_debounce_that_alerts_sooner():
    weeks = 3.0
    codes, pseudo = spiky_history(weeks, seed=7, flicker=False)
    for i in np.flatnonzero(pseudo):  # labels that run on after a spike: both debounces reach every event
        codes[i:i + 4] = 120
        pseudo[i:i + 4] = 1
    cfg = alerts_cfg(1.0, consecutive=2)
    dec = calibrate_history(codes, pseudo, cfg)
    one, two = dec["debounce"]["1"], dec["debounce"]["2"]
    assert one["pseudo_events_alerted"] == two["pseudo_events_alerted"] == one["pseudo_events"] == int(weeks * 5)
    assert (one["delay_readings_sum"], two["delay_readings_sum"]) == (0, int(weeks * 5))  # one reading later, each
    assert dec["consecutive"] == 1, dec["debounce"]


def test_a_tie_goes_to_the_longer_debounce_when_it_alerts_sooner_or_as_soon():
    weeks = 3.0
    rng, n, codes, pseudo = quiet_history(weeks, seed=8)
    starts = np.arange(200, n - 200, 1000)[: int(5 * weeks)]
    for i in starts:  # each event rises in two steps: two middling readings, then high ones
        codes[i:i + 6] = [-100, -100, 120, 120, 120, 120]
        pseudo[i:i + 6] = 1
    # lone middling readings far from the events: a debounce of one that alerts on -100 spends the budget
    lone = lone_readings(rng, n, starts, weeks)
    codes[lone] = -100
    dec = calibrate_history(codes, pseudo, alerts_cfg(1.0, consecutive=2))
    one, two = dec["debounce"]["1"], dec["debounce"]["2"]
    assert one["pseudo_events_alerted"] == two["pseudo_events_alerted"] == len(starts)
    # one reading must wait for the high codes (2 readings in); two in a row alert on the middling ones (1 in)
    assert one["code"] > -100 and two["code"] <= -100
    assert (one["delay_readings_sum"], two["delay_readings_sum"]) == (2 * len(starts), len(starts))
    assert dec["consecutive"] == 2, dec["debounce"]
    # no event at all: a full tie (nothing reached, no delay) keeps the longest debounce
    quiet = rng.integers(-128, -110, n)
    dec = calibrate_history(quiet, np.zeros(n, np.int64), alerts_cfg(1.0, consecutive=3))
    assert dec["consecutive"] == 3 and all(d["pseudo_events_alerted"] == 0 for d in dec["debounce"].values())


def test_an_instant_code_catches_lone_spikes_beside_a_debounce_that_keeps_the_flicker_out():
    """Half the events are one reading at a high code (a spike), half four middling readings,
    and lone middling readings far from any event are flicker: a debounce of 1 must stay above
    the flicker and misses the slow events, a debounce of 2 alone misses the spikes; the
    debounce of 2 with an instant code reaches both within the budget."""
    weeks = 3.0
    rng, n, codes, pseudo = quiet_history(weeks, seed=11)
    starts = np.arange(300, n - 300, 1200)[: int(6 * weeks)]
    for k, i in enumerate(starts):
        width = 1 if k % 2 else 4
        codes[i:i + width] = 120 if width == 1 else -100
        pseudo[i:i + width] = 1
    lone = lone_readings(rng, n, starts, weeks)
    codes[lone] = -100
    cfg = alerts_cfg(1.0, consecutive=2)
    dec = calibrate_history(codes, pseudo, cfg)
    one, two = dec["debounce"]["1"], dec["debounce"]["2"]
    assert one["code"] > -100 and one["pseudo_events_alerted"] == len(starts) // 2  # the spikes only
    assert (dec["consecutive"], dec["code"]) == (2, two["code"]) and two["code"] <= -100
    assert -100 < dec["instant_code"] <= 120 and two["instant_code"] == dec["instant_code"]
    assert two["pseudo_events_alerted"] == two["pseudo_events"] == len(starts)
    assert dec["history"]["false_alarms_per_week"] <= 1.0
    # without the instant code the debounce of 2 reaches the slow events only
    slow = history_alerts(codes, np.zeros(n, bool), np.ones(n, bool), dec["code"], cfg)
    assert events_alerted(slow, pseudo, HORIZON)[0] == len(starts) - len(starts) // 2
    # what the consumers read; without calibration, or with a debounce of 1, never
    quant = {**QUANT, "decision": dec}
    assert instant_code(quant, cfg) == dec["instant_code"]
    assert instant_code(quant, alerts_cfg(calibrate=False)) == 128 and instant_code(QUANT, cfg) == 128
    assert dec["instant_threshold"] < 1.0 and output_code_threshold(QUANT, dec["instant_threshold"]) == dec["instant_code"]
    for bad in (dec["code"], dec["code"] - 1, 129, True, 1.5):
        with pytest.raises(ValueError, match="decision.instant_code must be an integer above decision.code"):
            instant_code({**QUANT, "decision": {**dec, "instant_code": bad}}, cfg)
    spiky, spikes = spiky_history(weeks, seed=5, flicker=False)  # one-reading events: a debounce of 1, no instant code
    one_dec = calibrate_decision(spiky, np.zeros(len(spiky), bool), np.ones(len(spiky), bool), spikes,
                                 np.where(np.arange(len(spiky)) < 3 * len(spiky) // 4, "train", "val"), PERIOD, cfg,
                                 QUANT, HORIZON)
    assert (one_dec["consecutive"], one_dec["instant_code"], one_dec["instant_probability"]) == (1, 128, None)


def test_a_tie_in_events_and_delay_goes_to_the_debounce_that_alerts_less():
    """One-reading events at a high code and lone middling readings far from them: a debounce of 1
    stays above the middling ones, a debounce of 2 goes lower (lone readings never pair) and
    reaches the events at once through its instant code, but its alerts last longer (a middling
    pair after each spike holds them): the same events for more alerting, so the debounce of 1."""
    weeks = 3.0
    codes, pseudo = spiky_history(weeks, seed=9, flicker=False)
    n = len(codes)
    rng = np.random.default_rng(9)
    spikes = np.flatnonzero(pseudo)
    lone = lone_readings(rng, n, spikes, weeks)
    codes[lone] = -100
    for i in spikes:  # a middling pair just after each spike: two in a row hold the alert longer
        codes[i + 4:i + 6] = -100
    cfg = alerts_cfg(1.0, consecutive=2)
    dec = calibrate_history(codes, pseudo, cfg)
    one, two = dec["debounce"]["1"], dec["debounce"]["2"]
    assert one["pseudo_events_alerted"] == two["pseudo_events_alerted"] == len(spikes)
    assert one["delay_readings_sum"] == two["delay_readings_sum"] == 0
    assert two["code"] < one["code"] and two["instant_code"] < 128
    assert (two["false_alarms"], two["readings_alerted"]) > (one["false_alarms"], one["readings_alerted"])
    assert (dec["consecutive"], dec["code"], dec["instant_code"]) == (1, one["code"], 128)


def test_device_alerts_reads_the_calibrated_debounce_and_refuses_a_foreign_one():
    cfg = alerts_cfg(consecutive=3)
    assert device_alerts(QUANT, cfg) == cfg  # no calibration in quant.json: the configured logic
    assert device_alerts({**QUANT, "decision": {"consecutive": 2}}, cfg).consecutive == 2
    assert device_alerts({**QUANT, "decision": {"consecutive": 1}}, alerts_cfg(consecutive=3, calibrate=False)).consecutive == 3
    for bad in (0, 4, 1.5, True, "2"):
        with pytest.raises(ValueError, match="decision.consecutive"):
            device_alerts({**QUANT, "decision": {"consecutive": bad}}, cfg)


def edge_history(weeks: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Events of six readings, each at one code from 40 (the first) to 127 (labelled), and lone
    pairs of normal readings at codes up to -20 (not labelled): every code from -20 to 40
    raises on every event, and a code under -20 raises on some pairs too."""
    rng, n, codes, pseudo = quiet_history(weeks, seed)
    starts = np.arange(300, n - 300, 1500)
    for k, i in enumerate(starts):
        codes[i:i + 6] = 40 if k == 0 else rng.integers(40, 128)
        pseudo[i:i + 6] = 1
    for i in lone_readings(rng, n, starts, weeks):
        codes[i:i + 2] = rng.integers(-90, -19, 2)
    return codes, pseudo


@pytest.mark.parametrize("margin", [0.0, 0.25, 0.5, 1.0])
def test_the_raise_code_sits_between_the_decision_code_and_the_highest_that_reaches_every_event(margin):
    """The scan stops at the edge of the history's false alarms; the raise code goes
    ``raise_margin`` of the way up to the highest code whose alerts reach as many events (40,
    the events' lowest), so a normal reading just above the edge no longer raises an alert
    while every event of the history still does, and the decision code still holds it."""
    weeks = 4.0
    codes, pseudo = edge_history(weeks, seed=21)
    n = len(codes)
    cfg = alerts_cfg(1.0, consecutive=1, raise_margin=margin)
    dec = calibrate_history(codes, pseudo, cfg)
    plain = calibrate_history(codes, pseudo, alerts_cfg(1.0, consecutive=1))
    code, top = dec["code"], 40
    assert code == plain["code"] <= -20 and plain["raise_code"] == code  # margin 0: no hysteresis
    assert dec["raise_code"] == code + int(np.floor((top - code) * margin + 0.5))
    one = dec["debounce"]["1"]
    assert one["pseudo_events_alerted"] == one["pseudo_events"] == plain["debounce"]["1"]["pseudo_events_alerted"]
    assert dec["history"]["false_alarms"] <= plain["history"]["false_alarms"]
    # one more code up and an event would be missed: the top is the highest that reaches them all
    on = history_alerts(codes, np.zeros(n, bool), np.ones(n, bool), code, cfg, raise_at=top + 1)
    assert events_alerted(on, pseudo, HORIZON)[0] < one["pseudo_events"]
    # what the consumers read, and its probability
    quant = {**QUANT, "decision": dec}
    assert raise_code(quant, cfg) == dec["raise_code"]
    assert output_code_threshold(QUANT, dec["raise_threshold"]) == dec["raise_code"]
    assert raise_code(quant, alerts_cfg(calibrate=False)) == output_code_threshold(QUANT, 0.5)


def test_the_raise_code_keeps_a_new_normal_hour_from_alerting():
    """A fresh month of the same room whose normal hours reach a little past the history's (a
    drier night): with the raise code they raise no alert; at the decision code alone they do."""
    weeks = 4.0
    codes, pseudo = edge_history(weeks, seed=22)
    cfg = alerts_cfg(1.0, consecutive=1, raise_margin=0.5)
    dec = calibrate_history(codes, pseudo, cfg)
    rng, n, fresh, _ = quiet_history(weeks, seed=23)
    for i in rng.choice(n - 10, size=40, replace=False):
        fresh[i:i + 3] = dec["code"] + 2  # past the decision code, under the raise code
    valid, rule = np.ones(n, bool), np.zeros(n, bool)
    assert dec["code"] + 2 < dec["raise_code"]
    assert len(M.runs(history_alerts(fresh, rule, valid, dec["code"], cfg))) > 30
    assert not history_alerts(fresh, rule, valid, dec["code"], cfg, raise_at=dec["raise_code"]).any()


def test_the_device_rules_carry_the_raise_code_and_a_foreign_one_is_refused():
    class Cfg:  # the three sections device_rules reads
        from tinyad.config import ThresholdsConfig
        alerts = alerts_cfg(1.0, consecutive=2, raise_margin=0.5)
        thresholds = ThresholdsConfig(temp_normal=[23.0, 25.0], hum_normal=[35.0, 45.0],
                                      temp_alarm=[20.0, 28.0], hum_alarm=[30.0, 50.0])

        class features:
            use_humidity = True

    codes, pseudo = edge_history(4.0, seed=24)
    dec = calibrate_history(codes, pseudo, Cfg.alerts)
    rules = device_rules({**QUANT, "decision": dec}, Cfg, stuck_run=7)
    assert (rules.decision_q, rules.raise_q, rules.instant_q) == (dec["code"], dec["raise_code"], dec["instant_code"])
    assert rules.consecutive == dec["consecutive"] and rules.stuck_run == 7
    for bad in (dec["code"] - 1, 129, True, 1.5):
        with pytest.raises(ValueError, match="decision.raise_code must be an integer from decision.code"):
            raise_code({**QUANT, "decision": {**dec, "raise_code": bad}}, Cfg.alerts)
    above_instant = {**dec, "code": 0, "consecutive": 2, "instant_code": 40, "raise_code": 50}
    with pytest.raises(ValueError, match=r"decision.instant_code \(40\), got 50"):
        raise_code({**QUANT, "decision": above_instant}, Cfg.alerts)
    assert raise_code({**QUANT, "decision": {k: v for k, v in dec.items() if k != "raise_code"}}, Cfg.alerts) == dec["code"]


def test_a_raise_margin_out_of_range_is_refused_in_one_line():
    for bad in (-0.1, 1.5):
        with pytest.raises(ConfigError, match="alerts.raise_margin"):
            alerts_cfg(raise_margin=bad)
