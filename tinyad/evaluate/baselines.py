"""Baseline detectors the model is compared with in ``stages/evaluate.py``.

Each baseline is fitted (where it learns anything) on the valid rows of the train
split only and gives, per row, a continuous ``score`` (higher = more anomalous, for
the precision-recall curve) and a boolean ``decision``:

``ThresholdRule``
    the seed's rule: alarm when the temperature is outside ``thresholds.temp_alarm``
    (20-28 deg C) or the humidity outside ``thresholds.hum_alarm`` (30-50 %RH; a
    missing humidity is ignored, and humidity is ignored entirely when
    ``use_humidity`` is False).  Score: how far the reading is outside its band in
    half-band widths, the larger of the two quantities (negative inside), so
    ``decision == score > 0``.
``KMeansDistance``
    the cluster stage's K-means refitted on the same rows with the same
    ``cluster`` params (``tinyad.data.labeling.PseudoLabeler``, so clusters and their
    normal/anomalous verdicts are those of the cluster stage); score: Euclidean
    distance (scaled features) to the nearest *normal* centroid; decision: the
    score exceeds the ``cluster.distance_quantile`` quantile of that distance over
    the train rows of normal clusters.
``IsolationForestBaseline``
    scikit-learn's ``IsolationForest`` with ``evaluate.isolation_forest_seed`` and
    ``evaluate.isolation_forest_contamination`` on the scaled features; score:
    ``-score_samples`` (higher = more isolated); decision: ``predict == -1``.
``EcodBaseline``
    PyOD's ECOD (empirical-cumulative-distribution outlier detection, Li et al.,
    TKDE 2022; ``pyod.models.ecod.ECOD``) fitted on the scaled features with a
    ``contamination`` share (the stage passes ``evaluate.ecod_contamination`` when
    the params have it, else ``evaluate.isolation_forest_contamination``).  ECOD has
    no parameter to learn but the training sample: a row's score is the sum over
    features of the larger tail's ``-log`` empirical probability (the tail chosen by
    the feature's skewness, as PyOD does).  Decision: score above PyOD's
    ``threshold_`` (the ``1 - contamination`` quantile of the train rows' scores).

    Scoring is *inductive*: each row is scored against the train rows alone, exactly
    as PyOD scores a batch of that one row (``ECOD.decision_function`` ranks a batch
    among the train rows *and the rest of the batch*, so a run of anomalous test
    rows would make each other look less unusual, and a test row's score would
    depend on which other rows are scored with it).  ``score`` computes that one-row
    result for every row at once with sorted train columns
    (``tests/test_baselines.py`` checks it against PyOD row by row); the skewness
    signs are those of the train rows.  A column constant on the train rows has no
    skewness (PyOD's scores would all be NaN): both of its tails count, so a row off
    the constant scores ``log(n + 1)`` there, and PyOD is fitted on the other columns.

Estimators follow scikit-learn's conventions: parameters in ``__init__``, learned
state ending in ``_``, ``fit`` returns ``self``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyad.config import ClusterConfig, EvaluateConfig, ThresholdsConfig

__all__ = ["EcodBaseline", "IsolationForestBaseline", "KMeansDistance", "ThresholdRule"]


@dataclass
class ThresholdRule:
    thresholds: ThresholdsConfig
    use_humidity: bool = True

    @staticmethod
    def _outside(x: np.ndarray, band: list[float]) -> np.ndarray:
        lo, hi = float(band[0]), float(band[1])
        half = (hi - lo) / 2.0
        return (np.abs(x - (lo + hi) / 2.0) - half) / half

    def score(self, temperature: Any, humidity: Any | None = None) -> np.ndarray:
        t = np.asarray(temperature, dtype=np.float64)
        s = self._outside(t, self.thresholds.temp_alarm)
        if self.use_humidity and humidity is not None:
            h = np.asarray(humidity, dtype=np.float64)
            if h.shape != t.shape:
                raise ValueError(f"ThresholdRule: temperature {t.shape} and humidity {h.shape} differ")
            sh = self._outside(h, self.thresholds.hum_alarm)
            s = np.where(np.isfinite(sh), np.maximum(s, sh), s)
        return s

    def decision(self, temperature: Any, humidity: Any | None = None) -> np.ndarray:
        return self.score(temperature, humidity) > 0


@dataclass
class KMeansDistance:
    cluster_cfg: ClusterConfig
    thresholds: ThresholdsConfig
    use_humidity: bool = True
    labeler_: Any = None
    threshold_: float | None = None

    def fit(self, X_scaled: Any, temperature: Any, humidity: Any | None = None) -> "KMeansDistance":
        from tinyad.data.labeling import PseudoLabeler

        X = np.asarray(X_scaled, dtype=np.float64)
        hum = None
        if humidity is not None and self.use_humidity:
            hum = np.asarray(humidity, dtype=np.float64)
            if not np.isfinite(hum).all():
                hum = None
        lab = PseudoLabeler(self.cluster_cfg, self.thresholds, use_humidity=self.use_humidity)
        lab.fit(X, temperature, hum)
        assign = lab.kmeans_.predict(X)
        in_normal = np.isin(assign, lab.normal_clusters_)
        self.labeler_ = lab
        self.threshold_ = float(np.quantile(lab.normal_distance(X[in_normal]), self.cluster_cfg.distance_quantile))
        return self

    def score(self, X_scaled: Any) -> np.ndarray:
        if self.labeler_ is None:
            raise ValueError("KMeansDistance: not fitted")
        return self.labeler_.normal_distance(np.asarray(X_scaled, dtype=np.float64))

    def decision(self, X_scaled: Any) -> np.ndarray:
        return self.score(X_scaled) > self.threshold_


@dataclass
class IsolationForestBaseline:
    cfg: EvaluateConfig
    forest_: Any = None

    def fit(self, X_scaled: Any) -> "IsolationForestBaseline":
        from sklearn.ensemble import IsolationForest

        self.forest_ = IsolationForest(
            random_state=self.cfg.isolation_forest_seed,
            contamination=self.cfg.isolation_forest_contamination,
        ).fit(np.asarray(X_scaled, dtype=np.float64))
        return self

    def score(self, X_scaled: Any) -> np.ndarray:
        if self.forest_ is None:
            raise ValueError("IsolationForestBaseline: not fitted")
        return -self.forest_.score_samples(np.asarray(X_scaled, dtype=np.float64))

    def decision(self, X_scaled: Any) -> np.ndarray:
        if self.forest_ is None:
            raise ValueError("IsolationForestBaseline: not fitted")
        return self.forest_.predict(np.asarray(X_scaled, dtype=np.float64)) == -1


@dataclass
class EcodBaseline:
    contamination: float = 0.05
    model_: Any = None  # PyOD's ECOD, fitted on the varying columns (None: every column is constant)
    sorted_: np.ndarray | None = None  # the train rows, each column sorted
    skew_sign_: np.ndarray | None = None
    varying_: np.ndarray | None = None  # the columns not constant on the train rows
    threshold_: float | None = None

    def fit(self, X_scaled: Any) -> "EcodBaseline":
        from pyod.models.ecod import ECOD
        from scipy.stats import skew

        X = np.asarray(X_scaled, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2:
            raise ValueError(f"EcodBaseline: expected at least 2 rows of features, got shape {X.shape}")
        if not 0.0 < float(self.contamination) <= 0.5:
            raise ValueError(f"EcodBaseline: contamination must be in (0, 0.5], got {self.contamination}")
        # a column constant on the train rows (an hourly log's run, no repeat in a short history) has no
        # skewness (scipy: NaN, which PyOD carries into every score): both tails count, and the train rows
        # score 0 on it, so PyOD's threshold is fitted on the other columns alone
        self.varying_ = np.ptp(X, axis=0) > 0
        self.model_ = ECOD(contamination=float(self.contamination)).fit(X[:, self.varying_]) if self.varying_.any() else None
        self.threshold_ = float(self.model_.threshold_) if self.model_ is not None else 0.0
        self.sorted_ = np.sort(X, axis=0)
        self.skew_sign_ = np.zeros(X.shape[1])
        self.skew_sign_[self.varying_] = np.sign(skew(X[:, self.varying_], axis=0))
        return self

    def score(self, X_scaled: Any) -> np.ndarray:
        if self.sorted_ is None:
            raise ValueError("EcodBaseline: not fitted")
        X = np.asarray(X_scaled, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.sorted_.shape[1]:
            raise ValueError(f"EcodBaseline: expected {self.sorted_.shape[1]} features, got shape {X.shape}")
        n = len(self.sorted_)
        out = np.zeros(len(X))
        for j in range(X.shape[1]):
            col = self.sorted_[:, j]
            # the empirical CDF of the train column plus the row itself, at the row:
            # P(x <= v) = (#train <= v + 1) / (n + 1), and the same of -x for the right tail
            below = np.searchsorted(col, X[:, j], side="right")
            above = n - np.searchsorted(col, X[:, j], side="left")
            u_l = -np.log((below + 1) / (n + 1))
            u_r = -np.log((above + 1) / (n + 1))
            s = self.skew_sign_[j]
            u_skew = u_l * -np.sign(s - 1) + u_r * np.sign(s + 1)
            out += np.maximum(np.maximum(u_l, u_r), u_skew)
        return out

    def decision(self, X_scaled: Any) -> np.ndarray:
        if self.threshold_ is None:
            raise ValueError("EcodBaseline: not fitted")
        return self.score(X_scaled) > self.threshold_
