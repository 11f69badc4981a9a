"""The library baseline of ``tinyad/evaluate/baselines.py``: PyOD's ECOD, scored row by row against the train rows."""

from __future__ import annotations

import numpy as np
import pytest

from tinyad.evaluate.baselines import EcodBaseline


def features(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Scaled-feature-like columns: symmetric, right- and left-skewed, and a coarse (tied) one."""
    rng = np.random.default_rng(seed)
    return np.c_[
        rng.normal(size=n),
        rng.exponential(size=n) - 1.0,
        1.0 - rng.exponential(size=n),
        np.round(rng.normal(size=n), 1),
    ]


@pytest.fixture(scope="module")
def fitted():
    X = features()
    return EcodBaseline(contamination=0.05).fit(X), X


def test_an_obvious_outlier_scores_above_the_bulk(fitted):
    model, X = fitted
    outlier = np.array([[8.0, 9.0, -9.0, 7.0]])
    s_out = model.score(outlier)[0]
    s_bulk = model.score(X)
    assert s_out > s_bulk.max()
    assert s_out > np.quantile(s_bulk, 0.5) * 2
    assert model.decision(outlier).tolist() == [True]
    # a reading at the centre of every column is not flagged
    assert model.decision(np.median(X, axis=0, keepdims=True)).tolist() == [False]


def test_decisions_flag_about_the_contamination_share_on_train(fitted):
    model, X = fitted
    assert model.model_.labels_.mean() == pytest.approx(0.05, abs=0.002)  # PyOD's own train labels
    # re-scored one row at a time the train rows rank a little lower (+1 in the ECDF): close to 5%
    assert model.decision(X).mean() == pytest.approx(0.05, abs=0.01)
    for c in (0.01, 0.1):
        m = EcodBaseline(contamination=c).fit(X)
        assert m.decision(X).mean() == pytest.approx(c, rel=0.3)


def test_scores_equal_pyod_scoring_each_row_alone(fitted):
    """The vectorized inductive score is PyOD's decision_function on a batch of one row."""
    model, X = fitted
    rng = np.random.default_rng(4)
    rows = np.r_[rng.normal(size=(6, 4)) * 2, X[:4], [[8.0, 9.0, -9.0, 7.0]], [[-8.0, -3.0, 3.0, -7.0]]]
    mine = model.score(rows)
    ref = np.array([model.model_.decision_function(rows[i : i + 1])[0] for i in range(len(rows))])
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)


def test_a_row_score_does_not_depend_on_the_batch(fitted):
    model, X = fitted
    block = np.tile([[5.0, 6.0, -6.0, 5.0]], (200, 1))  # a long run of the same anomalous reading
    alone = model.score(block[:1])[0]
    assert model.score(block) == pytest.approx(np.full(200, alone))
    assert model.decision(block).all()


def test_bad_use_gives_clear_errors():
    with pytest.raises(ValueError, match="not fitted"):
        EcodBaseline().score(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="contamination"):
        EcodBaseline(contamination=0.0).fit(features(100))
    model = EcodBaseline().fit(features(100))
    with pytest.raises(ValueError, match="expected 4 features"):
        model.score(np.zeros((2, 3)))


def test_a_column_constant_on_the_train_rows_keeps_every_score_finite():
    """An hourly log's run feature in a short history never repeats: constant on the train rows.
    PyOD alone scores every row NaN there; the constant column counts both tails, and the other
    columns score as PyOD does."""
    X = np.c_[features(3000), np.zeros(3000)]
    model = EcodBaseline(contamination=0.05).fit(X)
    assert model.varying_.tolist() == [True] * 4 + [False]
    at_constant = np.r_[X[:5], [[8.0, 9.0, -9.0, 7.0, 0.0]]]
    ref = np.array([model.model_.decision_function(at_constant[i : i + 1, :4])[0] for i in range(len(at_constant))])
    np.testing.assert_allclose(model.score(at_constant), ref, rtol=1e-12, atol=1e-12)
    off = at_constant.copy()
    off[:, 4] = 2.0  # off the constant: the right tail of an empty one, log(n + 1) more
    np.testing.assert_allclose(model.score(off) - model.score(at_constant), np.log(3001), rtol=1e-12)
    assert np.isfinite(model.score(X)).all() and model.decision(X).mean() == pytest.approx(0.05, abs=0.01)
    flat = EcodBaseline().fit(np.zeros((50, 2)))  # nothing varies: the train rows score 0, anything else is flagged
    assert flat.model_ is None and flat.decision(np.array([[0.0, 0.0], [0.0, 1.0]])).tolist() == [False, True]
