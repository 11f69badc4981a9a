"""Pseudo-labels without ground truth: K-means clusters turned into normal/anomalous.

K-means (scikit-learn, ``cluster.k`` clusters, ``cluster.n_init`` restarts, seed
``cluster.seed``) is fitted on the *scaled* features of the valid train rows; every
other valid row is assigned to its nearest centroid.  Then the policies listed in
``cluster.policies`` decide, using the train rows only, which rows are anomalous
(a row is anomalous when any listed policy says so).

The default policies are ``edge``, ``context``, ``alarm``, ``stuck`` and ``noise``: they hold on any room,
because none of them depends on how many regimes (day/night, weekdays/weekends,
heating seasons) a room has or how large each is.

``edge`` (the contamination budget)
    Learnt from Edge Impulse's K-means anomaly block: a row's score is its distance
    to the nearest *edge* of a normal cluster, ``min_c (|x - mu_c| - r_c)`` in the
    scaled feature space, with ``r_c`` the cluster's spread (RMS distance of its
    train rows to its centroid).  Since the training history is not known to be
    clean, K-means is fitted twice: once on every valid train row, then again on
    the rows whose score is below the ``1 - 3 * cluster.contamination`` quantile
    (the most outlying rows no longer pull a centroid towards them), and clusters
    holding less than 1 % of the rows, or half the contamination budget, are not references
    (a cluster that small may be made of anomalies alone: a stuck sensor's readings,
    one long event).  A row
    is anomalous when its score is above the ``1 - cluster.contamination``
    quantile of the train rows' scores *and* beyond Tukey's far-out fence of those
    scores (Q3 + 3 IQR): on the train split the policy flags at most
    ``contamination`` of the rows, whatever the room, and fewer when fewer rows stand
    out from the bulk (a room without anomalies: the real UCI office gets 0.35 %).
    Rows that the absolute-evidence
    policies below flag are left out of the fit and of the budget (a stuck sensor's
    readings would otherwise use it up: they are the farthest of all).  Every cluster, large or
    small, is a regime of the room; only distance from all of them is evidence.
``context`` (the same budget, shared with ``edge``)
    The edge score again, in a second K-means space where the time of day
    (``CONTEXT_FEATURES``: ``tod_sin``, ``tod_cos``) is multiplied by
    ``cluster.context_weight`` (2) after scaling.  The time of day then dominates
    which cluster a row falls in, so each cluster is a context (a few hours of the
    day) and a row is far when its readings are unusual *for that context*: a night
    at the day's temperature, a warm-up at 02:00.  In the plain space such a row
    lies near the day-time cluster and is not far.  Weighting the plain space
    instead costs the rises and stuck sensors (whose evidence is in the readings,
    not the time) a share of their labels, so the two spaces are kept and their
    flags joined: each flags at most the budget, and when their union flags more
    than ``contamination`` of the fit rows each threshold is raised to at least one
    common quantile of its own scores (a threshold held higher by its fence stays),
    the lowest quantile that brings the union within the budget.  Without the time
    of day among the clustered features the policy flags nothing and the cluster
    stage warns (docs/detection.md, "The context policy").
What recurs daily is the room's schedule (``cluster.recurring_share``, 0.5)
    The ``edge`` and ``context`` flags are then dropped in every hour of the day
    (``RECURRING_SLOT_MIN``) in which they fall on at least ``recurring_share`` of
    the history's days, and on at least ``RECURRING_MIN_DAYS`` (3) of them; and in
    every hour of the weekdays alone, or of the weekend days alone, in which they fall
    on at least that share of the days of that kind, on three of them at least, and on
    more of them than chance would (``RECURRING_ALPHA``) (``recurring_slots``,
    ``time_slots``; learnt on the train rows, the rows the absolute-evidence policies
    flag left out; exposure and anchor rows keep their base row's slot, unless pushed
    along the time of day or ``weekend``).  The steepest
    minutes of a weekday warm-up are among a room's most unusual 1 % and fall at the
    same hour day after day; an anomaly does not.  A schedule is often one kind of day's:
    a warm-up labelled on 11 of 19 weekdays is on 11 of 25 days, under half of them.
    The chance test, because a room's labels also fall in one hour on several days of a
    kind by chance (four of a history's six weekend days at 02:00, in a room whose
    contextual events come at night): that kind's hour recurs only when a binomial
    count over its days, each day labelled there with the larger of the shares of the
    kind's other hours (the all-days rule's left out) and of the other kind's same
    hour, reaches as many days with
    probability at most ``RECURRING_ALPHA`` over the kind's hours.  0 turns it off.  The absolute-evidence policies
    below are never dropped.  The cost: an anomaly inside such an hour has only the
    absolute evidence and the model's learning from other hours.
``alarm`` (absolute evidence)
    A reading outside the seed's alarm band (``thresholds.temp_alarm``, and
    ``thresholds.hum_alarm`` when humidity is used) is anomalous: the band is what
    the user set for the room, and the device alerts on it anyway.
``stuck`` (absolute evidence)
    A reading whose ``run`` feature (temperature and humidity repeated exactly)
    reached the span learnt from the room's own repeats (``stuck_span``: ``STUCK_FACTOR``
    times the median over the history's days of each day's longest repeat, at most
    ``features.run_cap``, the ``features.stuck_min`` minutes, and at least
    ``STUCK_MIN_READINGS``) is anomalous, provided the cap is at least
    ``STUCK_MIN_READINGS`` readings: fewer repeats (an hourly log) are no evidence of
    a stuck sensor; nor is a repeat as long as the cap in a room whose usual longest
    repeat already reaches it (the policy is then off, and the cluster stage warns).
    The device applies the same rule (``device_stuck_run``, ``TINYAD_STUCK_RUN``), as
    it applies the alarm band: a model whose history held no stuck sensor has nothing
    to learn it from.
``noise`` (absolute evidence)
    A reading whose jitter (a ``<q>_jitter`` feature: the mean step between the
    readings of the last ``features.jitter_min`` minutes, its two largest steps left
    out, so a lone spike does not count) reached the level learnt from the room's own
    (``noise_levels``: ``NOISE_FACTOR`` times the median over the history's days of
    each day's largest jitter, that usual jitter taken as at least ``JITTER_FLOOR``,
    the features' resolution) is anomalous: a failing sensor, whose every step jumps
    while each reading stays in the room's range.  Each quantity is held to its own
    level.  Without the days of the rows, or without a jitter feature, the policy
    flags nothing.

The older policies remain for comparison:

``threshold``
    A cluster is anomalous when the mean of its train rows' raw temperature lies
    outside ``thresholds.temp_normal`` or (when humidity is used) the mean of their
    raw humidity lies outside ``thresholds.hum_normal``: the seed's rule "normal is
    23-25 deg C, 35-45 %RH" applied to the cluster's centroid in reading units.
``small``
    A cluster holding less than ``cluster.small_frac`` of the train rows is
    anomalous: anomalies are rare, so rare regions of feature space are suspect.
``distance``
    After the two cluster policies, the remaining clusters are *normal*.  A row whose
    Euclidean distance (scaled feature space) to the nearest normal centroid exceeds
    the ``cluster.distance_quantile`` quantile of that same distance over the train
    rows of normal clusters is anomalous, whatever its cluster: it catches anomalies
    that K-means folded into a big normal cluster.

If no cluster is left normal, labelling fails with a clear error (the policies are
too aggressive for the data).  ``pseudo_label`` is -1 on rows that are not scored.

Quality against ground truth (``scores``, ``scores_overall_and_by_type``): precision, recall and F1 of the anomalous
label over the rows with a known label (``label`` != -1).  For one anomaly type T,
the per-type scores are computed on the rows that are normal (``anomaly_type`` ==
``none``) or of type T only; rows of other types are left out, so per-type precision
counts the false alarms on normal rows against the hits on T.

The module is pure (arrays in, objects out); ``stages/cluster.py`` does the I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyad.config import ClusterConfig, ThresholdsConfig
from tinyad.evaluate.metrics import ANOMALY_TYPES, NO_ANOMALY

__all__ = ["PseudoLabeler", "RECURRING_ALPHA", "RECURRING_MIN_DAYS", "RECURRING_SLOT_MIN", "SLOTS_PER_DAY", "STUCK_MIN_READINGS", "noise_levels", "recurring_slots", "scores",
           "scores_overall_and_by_type", "stuck_span", "time_slots", "usual_repeat"]

STUCK_MIN_READINGS = 5  # the stuck policy needs a run cap of at least this many readings
TRIM_FACTOR = 3.0  # edge: refit K-means without the rows above the 1 - 3 * contamination quantile
REF_SHARE = 0.5  # edge: clusters under REF_SHARE * contamination of the rows are no reference,
MIN_REF_SHARE = 0.01  # nor clusters under 1 % of them
FENCE_IQR = 3.0  # edge: and only rows beyond Q3 + 3 IQR of the train scores (Tukey's far-out fence)
STUCK_FACTOR = 3.0  # stuck: a repeat this many times the room's usual longest one a day (stuck_span)
NOISE_FACTOR = STUCK_FACTOR  # noise: the same rule, a jitter three times the room's usual largest one a day
JITTER_FLOOR = 0.1  # noise: the usual jitter is taken as at least one tenth, the features' resolution


RECURRING_SLOT_MIN = 60  # recurring_share: the slot of the day (minutes) a recurrence is counted in
RECURRING_MIN_DAYS = 3  # recurring_share: a slot recurs on at least this many days too (a short history: none)
RECURRING_ALPHA = 0.001  # recurring_share: and on more days than chance gives with this probability over a kind's slots
SLOTS_PER_DAY = 1440 // RECURRING_SLOT_MIN  # time_slots: a weekday's slots, then a weekend day's


def time_slots(timestamps: Any) -> np.ndarray:
    """The slot of every timestamp (``RECURRING_SLOT_MIN`` minutes each, local time, as the
    features count it: ``second_of_week``): its slot of the day on a weekday (0 to
    ``SLOTS_PER_DAY`` - 1), that plus ``SLOTS_PER_DAY`` on a Saturday or Sunday."""
    from tinyad.device.features import SECONDS_PER_DAY, is_weekend, second_of_week

    second = second_of_week(timestamps)
    return (second % SECONDS_PER_DAY) // (60 * RECURRING_SLOT_MIN) + SLOTS_PER_DAY * is_weekend(second).astype(np.int64)


def recurring_slots(flags: np.ndarray, day: np.ndarray, slot: np.ndarray, share: float) -> list[int]:
    """The slots (``time_slots``) whose ``flags`` recur (each row's calendar day and slot;
    ``share`` 0: none; the module docstring):

    * every day: an hour flagged on at least ``share`` of all the days ``day`` holds, and on
      at least ``RECURRING_MIN_DAYS`` of them, recurs on weekdays and weekend days alike;
    * on one kind of day: a slot flagged on at least ``share`` of the days of its kind
      (weekdays, weekend days), on at least ``RECURRING_MIN_DAYS`` of them, and on more
      than chance gives: with ``d`` of the kind's ``n`` days flagged in it, a binomial
      ``(n, p)`` reaches ``d`` with probability at most ``RECURRING_ALPHA`` /
      ``SLOTS_PER_DAY``, ``p`` the larger of the share of days flagged in the kind's other
      slots (those the all-days rule did not take) and the share of the other kind's days
      flagged in the same hour (an hour whose anomalies come on any day, as a night's, is
      no one kind's schedule).  The second is coarse on a short history: on five or six
      weekend days, one label in the hour makes it a fifth or a sixth, and a weekday
      schedule must then be labelled on more of its weekdays to count.

    In a history of two days any hour flagged once would be "half the days": no
    recurrence is counted on fewer than three."""
    from scipy.stats import binom

    flags = np.asarray(flags, dtype=bool)
    day, slot = np.asarray(day), np.asarray(slot)
    if share <= 0 or not flags.any():
        return []
    hour, kind = slot % SLOTS_PER_DAY, slot // SLOTS_PER_DAY

    def days(rows: np.ndarray) -> int:
        return len(np.unique(day[rows]))

    out = set()
    for h in np.unique(hour[flags]):
        if days(flags & (hour == h)) >= max(share * len(np.unique(day)), RECURRING_MIN_DAYS):
            out |= {int(h), int(h) + SLOTS_PER_DAY}
    every_day = set(out)
    for k in np.unique(kind[flags]):
        n = days(kind == k)
        other_n = days(kind != k)
        # the kind's hours that may be chance: those the all-days rule did not find a schedule
        marked = {int(s): days(flags & (slot == s)) for s in np.unique(slot[flags & (kind == k)]) if int(s) not in every_day}
        total, others = sum(marked.values()), SLOTS_PER_DAY - 1 - len(every_day) // 2
        for s, d in marked.items():
            if d < max(share * n, RECURRING_MIN_DAYS):
                continue
            other_kind = days(flags & (kind != k) & (hour == s % SLOTS_PER_DAY)) / other_n if other_n else 0.0
            p = max((total - d) / (n * max(others, 1)), other_kind)
            if binom.sf(d - 1, n, p) <= RECURRING_ALPHA / SLOTS_PER_DAY:
                out.add(s)
    return sorted(out)


def stuck_span(run: np.ndarray, day: np.ndarray | None, run_cap: int) -> int:
    """The repeat length (readings) that the stuck policy takes as a stuck sensor, learnt from the history.

    A live sensor repeats itself by chance, and how long depends on its resolution, its
    noise and the room's calm: a 0.1-step DHT22 in a still office repeats both readings
    for half an hour on a quiet night, a noisy or finer sensor hardly twice in a row.
    The room's usual longest repeat is the median over the history's days of each day's
    longest (``run``, the time-ordered run feature, ``day`` the calendar day of each
    row): a median of days, so the days a stuck sensor spoils, if fewer than half, do not
    move it, and a calm that comes every night sets it.  The span is ``STUCK_FACTOR``
    times that, never more than ``run_cap`` (the span ``features.stuck_min`` states: the
    latest the policy waits, and its span when ``day`` is not given) and never less than
    ``STUCK_MIN_READINGS``.  0 (the policy and the device's rule off) when the usual
    longest repeat itself reaches ``run_cap``: a live sensor in that room repeats for the
    whole span on most days, so a repeat that long is no evidence of a stuck one (a
    ``features.stuck_min`` or window too short for a calm room; the cluster stage warns).
    """
    r = np.asarray(run, dtype=np.float64)
    if day is None or len(r) == 0:
        return int(run_cap)
    usual = usual_repeat(r, day)
    if usual >= run_cap:
        return 0
    return int(min(run_cap, max(STUCK_MIN_READINGS, math.ceil(STUCK_FACTOR * usual))))


def usual_repeat(run: np.ndarray, day: np.ndarray) -> float:
    """The room's usual longest repeat (readings): the median over the calendar days ``day``
    of each day's largest ``run`` (``stuck_span``)."""
    return float(_daily_max_median(np.asarray(run, dtype=np.float64)[:, None], day)[0])


def _daily_max_median(values: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per column of ``values`` [n, m], the median over the calendar days ``day`` of each day's maximum."""
    v = np.asarray(values, dtype=np.float64)
    _, which = np.unique(np.asarray(day), return_inverse=True)
    top = np.full((which.max() + 1, v.shape[1]), -np.inf)
    np.maximum.at(top, which, v)
    return np.median(top, axis=0)


def noise_levels(jitter: np.ndarray, day: np.ndarray | None) -> list[float] | None:
    """The jitter (per column of ``jitter``, the unscaled ``<q>_jitter`` features of the
    history's rows) that the noise policy takes as a failing sensor, learnt from the history.

    A live sensor's steps depend on its noise, its resolution and how fast the room
    moves; a failing one jumps at every step.  The room's usual jitter is the median
    over the history's days of each day's largest (a median of days, as ``stuck_span``:
    the days a failing sensor spoils, if fewer than half, do not move it), taken as at
    least ``JITTER_FLOOR``; the level is ``NOISE_FACTOR`` times that.  None (the policy
    flags nothing) without ``day`` or without rows.
    """
    j = np.asarray(jitter, dtype=np.float64)
    if day is None or j.ndim != 2 or len(j) == 0 or j.shape[1] == 0:
        return None
    usual = np.maximum(_daily_max_median(j, day), JITTER_FLOOR)
    return [float(NOISE_FACTOR * u) for u in usual]


@dataclass
class EdgeSpace:
    """One space the edge score is measured in (Edge Impulse's K-means anomaly block).

    K-means on the rows (``weights`` multiply the scaled feature columns first: the
    context policy's time of day), the reference clusters and their RMS radii, a
    trimmed refit, and the threshold: above the ``1 - contamination`` quantile of the
    fit rows' scores and beyond Tukey's far-out fence of them.
    """

    kmeans: Any
    radius: np.ndarray
    clusters: list[int]
    threshold: float = float("inf")
    fence: float = float("inf")
    weights: np.ndarray | None = None

    @classmethod
    def fit(cls, X: np.ndarray, assign: np.ndarray | None, cfg: ClusterConfig, km: Any = None,
            weights: np.ndarray | None = None) -> "EdgeSpace":
        """``km``/``assign``: a K-means already fitted on these rows (the labeler's own), else one is fitted."""
        from sklearn.cluster import KMeans

        Xw = X if weights is None else X * weights
        if km is None:
            km = KMeans(n_clusters=cfg.k, n_init=cfg.n_init, random_state=cfg.seed).fit(Xw)
            assign = km.labels_
        space = cls._refs(km, Xw, assign, cfg, weights)
        s = space._score(Xw)
        keep = s <= np.quantile(s, 1.0 - min(TRIM_FACTOR * cfg.contamination, 0.5))
        if keep.sum() >= cfg.k:
            km = KMeans(n_clusters=cfg.k, n_init=cfg.n_init, random_state=cfg.seed).fit(Xw[keep])
            space = cls._refs(km, Xw[keep], km.labels_, cfg, weights)
        s = space._score(Xw)
        budget = float(np.quantile(s, 1.0 - cfg.contamination, method="higher"))  # at most the budget
        q1, q3 = np.percentile(s, [25.0, 75.0])
        space.fence = float(q3 + FENCE_IQR * (q3 - q1))  # Tukey's far-out fence
        space.threshold = max(budget, space.fence)
        return space

    @classmethod
    def _refs(cls, km: Any, Xw: np.ndarray, assign: np.ndarray, cfg: ClusterConfig,
              weights: np.ndarray | None) -> "EdgeSpace":
        k = km.n_clusters
        sizes = np.bincount(assign, minlength=k)
        d = np.sqrt(((Xw - km.cluster_centers_[assign]) ** 2).sum(axis=1))
        radius = np.array([np.sqrt(np.mean(d[assign == c] ** 2)) if sizes[c] else 0.0 for c in range(k)])
        # a cluster smaller than half the expected anomaly share may be made of anomalies alone
        least = max(MIN_REF_SHARE, REF_SHARE * cfg.contamination)
        refs = [c for c in range(k) if sizes[c] and sizes[c] / sizes.sum() >= least]
        return cls(km, radius, refs or [int(np.argmax(sizes))], weights=weights)

    def _score(self, Xw: np.ndarray) -> np.ndarray:
        out = np.full(len(Xw), np.inf)
        for c in self.clusters:  # row blocks would not save much: few clusters
            out = np.minimum(out, np.sqrt(((Xw - self.kmeans.cluster_centers_[c]) ** 2).sum(axis=1)) - self.radius[c])
        return out

    def score(self, X_scaled: np.ndarray) -> np.ndarray:
        """Distance to the nearest edge of a reference cluster (negative inside one)."""
        X = np.asarray(X_scaled, dtype=np.float64)
        return self._score(X if self.weights is None else X * self.weights)

    def flags(self, X_scaled: np.ndarray) -> np.ndarray:
        return self.score(X_scaled) > self.threshold

    def summary(self) -> dict[str, Any]:
        return {"reference_clusters": [int(c) for c in self.clusters],
                "radius": [round(float(self.radius[c]), 4) for c in self.clusters],
                "threshold": float(self.threshold), "fence": float(self.fence)}


@dataclass
class PseudoLabeler:
    """K-means plus the labelling policies (scikit-learn style: fit returns self)."""

    cluster_cfg: ClusterConfig
    thresholds: ThresholdsConfig
    use_humidity: bool = True
    kmeans_: Any = None
    cluster_sizes_: np.ndarray | None = None
    cluster_temp_: np.ndarray | None = None
    cluster_hum_: np.ndarray | None = None
    anomalous_clusters_: dict[int, list[str]] = field(default_factory=dict)
    normal_clusters_: list[int] = field(default_factory=list)
    distance_threshold_: float = float("inf")
    run_cap: int | None = None  # features.run_cap (the stuck policy), None: no run feature
    context_columns: list[int] = field(default_factory=list)  # the time of day's columns (CONTEXT_FEATURES)
    edge_: EdgeSpace | None = None  # the edge policy's space
    context_: EdgeSpace | None = None  # the context policy's space (None: off, or no time of day)
    budget_capped_: bool = False  # the union of edge and context was over the budget and was cut to it
    stuck_run_: int | None = None  # the stuck policy's span in readings, learnt by fit (stuck_span; 0: off)
    stuck_usual_: float | None = None  # the room's usual longest repeat it was learnt from (usual_repeat)
    noise_levels_: list[float] | None = None  # the noise policy's level per jitter column, learnt by fit
    recurring_slots_: list[int] = field(default_factory=list)  # slots whose edge/context flags are dropped (fit)

    def fit(self, X_scaled: np.ndarray, temperature: np.ndarray, humidity: np.ndarray | None = None,
            run: np.ndarray | None = None, day: np.ndarray | None = None, *,
            jitter: np.ndarray | None = None, slot: np.ndarray | None = None) -> "PseudoLabeler":
        """Fit on the scaled features and raw readings of the valid train rows.

        ``run`` (the unscaled run feature) and ``jitter`` (the unscaled ``<q>_jitter``
        features, one column each) let the ``edge`` and ``context`` policies leave the
        rows the absolute-evidence policies flag out of their fit and their budget; with
        ``day`` (the calendar day of each row) the stuck policy learns its span from the
        room's own repeats (``stuck_span``), else it waits for ``run_cap``, and the noise
        policy its levels from the room's own jitter (``noise_levels``), else it flags nothing.
        With ``day`` and ``slot`` (``time_slots``) the hours whose ``edge``/``context`` flags
        recur, every day or on one kind of day, are learnt (``recurring_slots``; none without them).
        """
        from sklearn.cluster import KMeans

        cfg = self.cluster_cfg
        X = np.asarray(X_scaled, dtype=np.float64)
        if X.ndim != 2 or len(X) < cfg.k:
            raise ValueError(f"cluster: need at least cluster.k={cfg.k} valid train rows, got {len(X)}")
        if not cfg.policies:
            raise ValueError(f"cluster.policies: empty; expected at least one of {list(ClusterConfig.POLICIES)}")
        self.stuck_run_ = None if run is None or self.run_cap is None else stuck_span(run, day, self.run_cap)
        self.stuck_usual_ = None if self.stuck_run_ is None or day is None or not len(run) else usual_repeat(run, day)
        self.noise_levels_ = None if jitter is None else noise_levels(jitter, day)
        km = KMeans(n_clusters=cfg.k, n_init=cfg.n_init, random_state=cfg.seed)
        assign = km.fit_predict(X)
        self.kmeans_ = km
        self.recurring_slots_ = []
        if "edge" in cfg.policies or "context" in cfg.policies:
            ev = self.evidence(temperature, humidity if self.use_humidity else None, run, jitter)
            known = np.zeros(len(X), dtype=bool)
            for flags in ev.values():
                known |= flags
            if (~known).sum() < cfg.k:
                known[:] = False
            self._fit_edges(X[~known], assign[~known])
            if day is not None and slot is not None and self.spaces():
                flagged = np.zeros(len(X), dtype=bool)
                for space in self.spaces().values():
                    flagged |= space.flags(X)
                self.recurring_slots_ = recurring_slots(flagged & ~known, day, slot, cfg.recurring_share)
        k = cfg.k
        self.cluster_sizes_ = np.bincount(assign, minlength=k)
        temperature = np.asarray(temperature, dtype=np.float64)
        self.cluster_temp_ = np.array([temperature[assign == c].mean() if self.cluster_sizes_[c] else np.nan for c in range(k)])
        if humidity is not None and self.use_humidity:
            humidity = np.asarray(humidity, dtype=np.float64)
            self.cluster_hum_ = np.array([humidity[assign == c].mean() if self.cluster_sizes_[c] else np.nan for c in range(k)])
        else:
            self.cluster_hum_ = None

        reasons: dict[int, list[str]] = {}
        if "threshold" in cfg.policies:
            lo, hi = self.thresholds.temp_normal
            for c in range(k):
                t = self.cluster_temp_[c]
                out = not (lo <= t <= hi)
                if self.cluster_hum_ is not None:
                    hlo, hhi = self.thresholds.hum_normal
                    out = out or not (hlo <= self.cluster_hum_[c] <= hhi)
                if out:
                    reasons.setdefault(c, []).append("threshold")
        if "small" in cfg.policies:
            frac = self.cluster_sizes_ / self.cluster_sizes_.sum()
            for c in np.flatnonzero(frac < cfg.small_frac):
                reasons.setdefault(int(c), []).append("small")
        self.anomalous_clusters_ = reasons
        self.normal_clusters_ = [c for c in range(k) if c not in reasons]
        if not self.normal_clusters_:
            raise ValueError(
                f"cluster: every one of the {k} clusters is anomalous under policies {list(cfg.policies)}; "
                "loosen cluster.small_frac or thresholds"
            )
        if "distance" in cfg.policies:
            d = self.normal_distance(X)
            in_normal = np.isin(assign, self.normal_clusters_)
            self.distance_threshold_ = float(np.quantile(d[in_normal], cfg.distance_quantile))
        else:
            self.distance_threshold_ = float("inf")
        return self

    def _fit_edges(self, X: np.ndarray, assign: np.ndarray) -> None:
        """The edge and context policies: one EdgeSpace each, then their union cut to the budget."""
        cfg = self.cluster_cfg
        self.edge_ = self.context_ = None
        if "edge" in cfg.policies:
            self.edge_ = EdgeSpace.fit(X, assign, cfg, self.kmeans_)
        if "context" in cfg.policies and self.context_columns:
            weights = np.ones(X.shape[1])
            weights[self.context_columns] = cfg.context_weight
            self.context_ = EdgeSpace.fit(X, None, cfg, None, weights)
        spaces = list(self.spaces().values())
        self.budget_capped_ = False
        if len(spaces) < 2:
            return
        # each space flags at most the budget; their union may flag more: raise each
        # threshold to at least one common quantile q of its own scores, the lowest q at
        # which the union is within the budget (the share is non-increasing in q)
        scored = [e.score(X) for e in spaces]

        def union(q: float | None) -> float:
            flags = np.zeros(len(X), dtype=bool)
            for e, s in zip(spaces, scored):
                t = e.threshold if q is None else max(e.threshold, float(np.quantile(s, q, method="higher")))
                flags |= s > t
            return float(flags.mean())

        if union(None) <= cfg.contamination:
            return
        lo, hi = 1.0 - cfg.contamination, 1.0
        for _ in range(40):  # bisection: hi always keeps the union within the budget
            mid = (lo + hi) / 2.0
            if union(mid) <= cfg.contamination:
                hi = mid
            else:
                lo = mid
        for e, s in zip(spaces, scored):
            e.threshold = max(e.threshold, float(np.quantile(s, hi, method="higher")))
        self.budget_capped_ = True

    def spaces(self) -> dict[str, EdgeSpace]:
        """The fitted edge-score spaces by policy name (``edge``, ``context``)."""
        return {n: e for n, e in (("edge", self.edge_), ("context", self.context_)) if e is not None}

    @property
    def device_stuck_run(self) -> int:
        """The stuck policy's span in readings, 0 when the policy is off (not in
        ``cluster.policies``, no run feature, or a cap under ``STUCK_MIN_READINGS``).  The
        device applies the same rule (``tinyad.device.alerts.stuck_rule``, ``TINYAD_STUCK_RUN``):
        the cluster stage writes it into ``models/scaler.json`` (``Scaler.stuck_run``)."""
        if not self.stuck_configured:
            return 0
        return int(self.run_cap if self.stuck_run_ is None else self.stuck_run_)

    @property
    def stuck_configured(self) -> bool:
        """The stuck policy is in ``cluster.policies`` and has a run feature whose cap is at least
        ``STUCK_MIN_READINGS``: what it needs before the room's own repeats are looked at."""
        return "stuck" in self.cluster_cfg.policies and self.run_cap is not None and self.run_cap >= STUCK_MIN_READINGS

    def evidence(self, temperature: np.ndarray | None, humidity: np.ndarray | None,
                 run: np.ndarray | None, jitter: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The absolute-evidence policies' flags (``alarm``, ``stuck``, ``noise``) of these rows."""
        out: dict[str, np.ndarray] = {}
        pol = self.cluster_cfg.policies
        if "alarm" in pol and temperature is not None:
            from tinyad.evaluate.baselines import ThresholdRule  # the seed's alarm rule, one definition

            out["alarm"] = ThresholdRule(self.thresholds, use_humidity=self.use_humidity).decision(temperature, humidity)
        if run is not None and self.device_stuck_run:
            out["stuck"] = np.asarray(run, dtype=np.float64) >= self.device_stuck_run
        if "noise" in pol and jitter is not None and self.noise_levels_ is not None:
            j = np.asarray(jitter, dtype=np.float64)
            if j.ndim != 2 or j.shape[1] != len(self.noise_levels_):
                raise ValueError(f"noise policy: expected {len(self.noise_levels_)} jitter column(s), as fitted, "
                                 f"got an array of shape {j.shape}")
            out["noise"] = (j >= np.asarray(self.noise_levels_)).any(axis=1)
        return out

    def _check_fitted(self) -> None:
        if self.kmeans_ is None:
            raise ValueError("PseudoLabeler: not fitted")

    def normal_distance(self, X_scaled: np.ndarray) -> np.ndarray:
        """Distance of every row to the nearest normal centroid."""
        self._check_fitted()
        cents = self.kmeans_.cluster_centers_[self.normal_clusters_]
        diff = np.asarray(X_scaled, dtype=np.float64)[:, None, :] - cents[None, :, :]
        return np.sqrt((diff * diff).sum(axis=2)).min(axis=1)

    def predict(self, X_scaled: np.ndarray, temperature: np.ndarray | None = None,
                humidity: np.ndarray | None = None, run: np.ndarray | None = None,
                jitter: np.ndarray | None = None, slot: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(cluster, pseudo_label)`` of every row (int, int8 0/1).

        ``temperature``/``humidity`` (raw readings) feed the ``alarm`` policy, ``run``
        (the unscaled run feature) the ``stuck`` policy and ``jitter`` (the unscaled
        jitter features, as in ``fit``) the ``noise`` policy; without them those
        policies flag nothing.  ``slot`` (``time_slots`` of the rows) drops the ``edge`` and
        ``context`` flags in the recurring slots learnt by ``fit``; without it nothing is
        dropped (the made-up rows of ``tinyad.data.clustering`` pass their base row's slot).
        """
        return self.predict_reasons(X_scaled, temperature, humidity, run, jitter, slot)[:2]

    def predict_reasons(self, X_scaled: np.ndarray, temperature: np.ndarray | None = None,
                        humidity: np.ndarray | None = None, run: np.ndarray | None = None,
                        jitter: np.ndarray | None = None, slot: np.ndarray | None = None):
        """``(cluster, pseudo_label, {policy: flags})``: which policy flagged each row."""
        self._check_fitted()
        X = np.asarray(X_scaled, dtype=np.float64)
        assign = self.kmeans_.predict(X)
        reasons: dict[str, np.ndarray] = {}
        if self.anomalous_clusters_:
            reasons["cluster"] = np.isin(assign, list(self.anomalous_clusters_))
        if np.isfinite(self.distance_threshold_):
            reasons["distance"] = self.normal_distance(X) > self.distance_threshold_
        recurring = None
        if slot is not None and self.recurring_slots_:
            recurring = np.isin(np.asarray(slot), self.recurring_slots_)
        for name, space in self.spaces().items():
            reasons[name] = space.flags(X) if recurring is None else space.flags(X) & ~recurring
        reasons.update(self.evidence(temperature, humidity, run, jitter))
        label = np.zeros(len(X), dtype=bool)
        for flags in reasons.values():
            label |= flags
        return assign.astype(np.int64), label.astype(np.int8), reasons

    def summary(self) -> dict[str, Any]:
        self._check_fitted()
        out: dict[str, Any] = {
            "sizes": [int(v) for v in self.cluster_sizes_],
            "mean_temperature": [round(float(v), 3) for v in self.cluster_temp_],
            "anomalous_clusters": {str(c): r for c, r in sorted(self.anomalous_clusters_.items())},
            "normal_clusters": [int(c) for c in self.normal_clusters_],
            "distance_threshold": self.distance_threshold_ if np.isfinite(self.distance_threshold_) else None,
        }
        for name, space in self.spaces().items():
            out[name] = space.summary()
        if self.context_ is not None:
            out["context"]["weight"] = float(self.cluster_cfg.context_weight)
            out["context"]["columns"] = [int(j) for j in self.context_columns]
            out["budget_capped"] = bool(self.budget_capped_)
        if self.stuck_run_ is not None:
            out["stuck_span_readings"] = int(self.stuck_run_)
        if self.stuck_usual_ is not None:
            out["stuck_usual_repeat_readings"] = round(self.stuck_usual_, 1)
        if self.noise_levels_ is not None:
            out["noise_levels"] = [round(v, 4) for v in self.noise_levels_]
        if self.spaces():
            out["recurring_slots"] = {"slot_minutes": RECURRING_SLOT_MIN, "share": float(self.cluster_cfg.recurring_share),
                                      "min_days": RECURRING_MIN_DAYS, "alpha": RECURRING_ALPHA,
                                      "weekend_from": SLOTS_PER_DAY, "slots": [int(v) for v in self.recurring_slots_]}
        if self.cluster_hum_ is not None:
            out["mean_humidity"] = [round(float(v), 3) for v in self.cluster_hum_]
        return out


# -------------------------------------------------------------------- scoring
def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | int]:
    """Precision, recall, F1 of the positive (anomalous) class, with the counts."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = int((y_true & y_pred).sum())
    fp = int((~y_true & y_pred).sum())
    fn = int((y_true & ~y_pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "n": int(len(y_true))}


def scores_overall_and_by_type(label: np.ndarray, anomaly_type: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """``scores`` overall and one entry per anomaly type (rows normal or of that type).

    ``label`` is 1/0/-1 (-1: unknown, left out); returns ``{}`` when no label is known.
    (``tinyad.evaluate.metrics.scores_by_type`` is the per-type part alone, on known labels,
    as evaluate reports it.)
    """
    label = np.asarray(label)
    atype = np.asarray(anomaly_type).astype(str)
    y_pred = np.asarray(y_pred).astype(bool)
    known = label >= 0
    if not known.any():
        return {}
    out: dict[str, Any] = {"overall": scores(label[known] == 1, y_pred[known])}
    for t in ANOMALY_TYPES:
        rows = known & ((atype == NO_ANOMALY) | (atype == t))
        if ((atype == t) & known).any():
            out[t] = scores(label[rows] == 1, y_pred[rows])
    return out
