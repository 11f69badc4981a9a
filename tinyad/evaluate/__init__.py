"""Judging the model: the baselines it is compared with, the metrics and scores, the
drift experiment, latency, the report, the figures and the headline (``evaluate``
and every stage that reports)."""
