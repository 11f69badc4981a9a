"""The metric functions on hand-made cases whose answers are worked out in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from tinyad.evaluate import metrics as M


def test_confusion_and_scores_by_hand():
    # rows:      0  1  2  3  4  5  6  7
    y_true = [0, 0, 0, 0, 1, 1, 1, 0]
    y_pred = [0, 1, 0, 0, 1, 0, 1, 1]
    # tn: 0,2,3 -> 3; fp: 1,7 -> 2; fn: 5 -> 1; tp: 4,6 -> 2
    assert M.confusion(y_true, y_pred) == {"tn": 3, "fp": 2, "fn": 1, "tp": 2}
    s = M.binary_scores(y_true, y_pred)
    assert s["accuracy"] == pytest.approx(5 / 8)
    assert s["precision"] == pytest.approx(2 / 4)
    assert s["recall"] == pytest.approx(2 / 3)
    # F1 = 2PR/(P+R) = 2 * 1/2 * 2/3 / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
    assert s["f1"] == pytest.approx(4 / 7)


def test_scores_without_positives_or_predictions_are_zero_not_nan():
    s = M.binary_scores([0, 0, 0], [0, 0, 0])
    assert s["accuracy"] == 1.0
    assert s["precision"] == 0.0 and s["recall"] == 0.0 and s["f1"] == 0.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="different lengths"):
        M.confusion([0, 1], [0, 1, 1])


def test_pr_auc_tiny_case_by_hand():
    # scores sorted high to low: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg)
    y = [1, 0, 1, 0]
    score = [0.9, 0.8, 0.7, 0.1]
    # thresholds: 0.9 -> P 1/1, R 1/2; 0.8 -> P 1/2, R 1/2; 0.7 -> P 2/3, R 1; 0.1 -> P 2/4, R 1
    curve = M.pr_curve(y, score)
    np.testing.assert_allclose(curve["precision"], [1.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(curve["recall"], [0.5, 0.5, 1.0, 1.0])
    # AP = sum (R_k - R_{k-1}) P_k = 0.5 * 1 + 0 * 0.5 + 0.5 * 2/3 + 0 = 5/6
    assert M.pr_auc(y, score) == pytest.approx(5 / 6)


def test_pr_auc_ties_form_one_point():
    # two rows tie at 0.5 (one pos, one neg): one threshold with P 1/2, R 1
    y = [1, 0]
    curve = M.pr_curve(y, [0.5, 0.5])
    assert list(curve["precision"]) == [0.5] and list(curve["recall"]) == [1.0]
    assert M.pr_auc(y, [0.5, 0.5]) == pytest.approx(0.5)


def test_pr_auc_perfect_and_no_positives():
    assert M.pr_auc([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2]) == pytest.approx(1.0)
    assert M.pr_auc([0, 0], [0.3, 0.2]) == 0.0


def test_pr_auc_matches_scikit_learn_on_random_data():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.2
    score = np.round(rng.random(500) + y * 0.3, 2)  # rounding makes ties
    assert M.pr_auc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)


def test_scores_by_type_uses_normal_rows_plus_the_type():
    # row:   0       1       2        3             4             5
    kind = ["none", "none", "point", "point", "collective", "collective"]
    y_true = [0, 0, 1, 1, 1, 1]
    y_pred = [1, 0, 1, 0, 1, 1]
    out = M.scores_by_type(y_true, y_pred, kind)
    assert set(out) == {"point", "collective"}  # contextual absent from the data
    # point: rows 0-3: tp 1 (row 2), fn 1 (row 3), fp 1 (row 0) -> P 1/2, R 1/2, F1 1/2
    assert out["point"]["recall"] == pytest.approx(0.5)
    assert out["point"]["f1"] == pytest.approx(0.5)
    # collective: rows 0,1,4,5: tp 2, fp 1 -> P 2/3, R 1, F1 = 2*(2/3)/(5/3) = 4/5
    assert out["collective"]["recall"] == pytest.approx(1.0)
    assert out["collective"]["f1"] == pytest.approx(0.8)
    assert out["collective"]["rows"] == 2


def test_runs():
    assert M.runs([0, 1, 1, 0, 1, 0, 0, 1]) == [(1, 3), (4, 5), (7, 8)]
    assert M.runs([]) == []
    assert M.runs([1, 1]) == [(0, 2)]


def test_event_scores_by_hand():
    # index:  0  1  2  3  4  5  6  7  8  9 10 11 12 13
    event = [-1, 0, 0, 0, -1, -1, 1, 1, -1, -1, -1, 2, 2, -1]
    kind = ["none", "point", "point", "point", "none", "none", "collective", "collective",
            "none", "none", "none", "collective", "collective", "none"]
    alert = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0]
    normal = [e < 0 for e in event]
    out = M.event_scores(alert, event, normal, kind, days=2.0)
    # event 0 caught at row 3 (start row 1): delay 2; event 1 missed; event 2 caught at row 11: delay 0
    assert out["events"] == 3 and out["caught"] == 2
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["median_delay_readings"] == pytest.approx(1.0)  # median of [2, 0]
    assert out["max_delay_readings"] == 2
    assert out["by_type"]["point"] == {"events": 1, "caught": 1, "recall": 1.0}
    assert out["by_type"]["collective"] == {"events": 2, "caught": 1, "recall": 0.5}
    # alert runs: (0,1) normal only -> false alarm; (3,5) starts in event 0 -> its tail, not false;
    # (8,9) normal -> false; (10,12) reaches event 2 -> not false.  2 false alarms over 2 days.
    assert out["false_alarm_events"] == 2
    assert out["false_alarms_per_day"] == pytest.approx(1.0)


def test_event_scores_without_events_or_catches():
    out = M.event_scores([1, 1, 0, 1], [-1, -1, -1, -1], [True] * 4, ["none"] * 4, days=0.5)
    assert out["events"] == 0 and out["recall"] is None  # no share of events caught without an event
    assert out["median_delay_readings"] is None
    assert out["false_alarm_events"] == 2 and out["false_alarms_per_day"] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="days"):
        M.event_scores([1], [-1], [True], ["none"], days=0)


def test_unknown_rows_never_count_as_false_alarms():
    # an alert on rows of unknown truth (normal False, no event) is not a false alarm
    out = M.event_scores([1, 1, 0], [-1, -1, -1], [False, False, True], ["unknown"] * 3, days=1.0)
    assert out["false_alarm_events"] == 0
