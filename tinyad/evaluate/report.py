"""The evaluate stage's ``summary.md``: warnings, the headline, then the comparison
table (with ground truth) or the diagnostic against the pseudo-labels (without), and
the latency and memory tables.  Pure: the metrics dict in, markdown out.
"""

from __future__ import annotations

from typing import Any

from tinyad.config import dotted
from tinyad.evaluate.metrics import BASELINES, HEADLINE_DETECTORS, LABELS, MODELS


def fmt_value(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def fmt_pct(v: Any, digits: int = 2) -> str:
    return "n/a" if v is None else f"{100.0 * float(v):.{digits}f}%"


TABLE_COLUMNS = [
    ("accuracy", "accuracy", True),
    ("precision", "precision", True),
    ("recall", "recall", True),
    ("f1", "F1", True),
    ("pr_auc", "PR-AUC", True),
    ("by_type.point.f1", "F1 point", True),
    ("by_type.contextual.f1", "F1 contextual", True),
    ("by_type.collective.f1", "F1 collective", True),
    ("events.recall", "events caught", True),
    ("events.false_alarms_per_day", "false alarms/day", False),
    ("events.median_delay_readings", "median delay (readings)", False),
]



def summary_markdown(metrics: dict[str, Any], model: str = "int8_tflm") -> str:
    """summary.md: warnings, the headline (alerts as the person on call sees them), then with
    ground truth the comparison table (best value of each column in bold) or without it
    the diagnostic agreement with the pseudo-labels; the cost tables."""
    ground = bool(metrics.get("ground_truth"))
    lines = ["# Evaluation on the test split" + ("" if ground else ": NO ground truth"), ""]
    lines += warnings_markdown(metrics.get("warnings", []))
    lines += headline_markdown(metrics)
    lines += comparison_markdown(metrics, model) if ground else diagnostic_markdown(metrics)
    if "latency_us" in metrics:
        lines += ["", "| interpreter | median us | p95 us |", "|---|---:|---:|"]
        for k, v in metrics["latency_us"].items():
            lines.append(f"| {k} | {fmt_value(v['median'], 1)} | {fmt_value(v['p95'], 1)} |")
    if "memory" in metrics:
        lines += ["", "| memory | bytes |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in metrics["memory"].items()]
    return "\n".join(lines) + "\n"


def warnings_markdown(warnings: list[str]) -> list[str]:
    return [f"> **Warning:** {w}" for w in warnings] + ([""] if warnings else [])


def headline_markdown(metrics: dict[str, Any]) -> list[str]:
    """The headline table: the device and each baseline."""
    head = metrics.get("headline", {})
    ground = bool(metrics.get("ground_truth"))
    data = metrics.get("data", {})
    method = metrics.get("method", {})
    b = head.get("budgets", {})
    names = [n for n in HEADLINE_DETECTORS if n in head]
    lines = ["## Headline", ""]
    if not ground:
        lines += [
            "**No ground truth**: every `label` of the test split is -1, so no figure on this page measures "
            "detection quality. What can be said is what each detector would do on this log: the alerts it raises "
            "and how much of the time it is alerting.",
            "",
        ]
    lines += [
        f"Test period: {fmt_value(head.get('test_days'), 2)} days, {data.get('test_valid_rows')} valid readings of "
        f"{data.get('test_rows')} (one every {fmt_value(head.get('period_s'), 0)} s). Decision threshold "
        f"{method.get('decision_threshold', fmt_value(head.get('decision_threshold')))}. "
        f"Alerts: {method.get('alerts', '')}.",
        "",
    ]
    cols: list[tuple[str, str, Any]] = [("alerts", "alerts", str), ("alerts_per_day", "alerts/day", lambda v: fmt_value(v, 2)),
                                        ("alerts_per_week", "alerts/week", lambda v: fmt_value(v, 2))]
    if ground:
        cols += [("false_alarms_per_week", "false alarm events/week", lambda v: fmt_value(v, 2)),
                 ("events_caught", "events caught", None),
                 ("f1_by_type.point", "F1 point", fmt_value), ("f1_by_type.contextual", "F1 contextual", fmt_value),
                 ("f1_by_type.collective", "F1 collective", fmt_value)]
    cols += [("flagged_share", "flagged share", fmt_pct), ("longest_alert_minutes", "longest alert (min)", lambda v: fmt_value(v, 0)),
             ("longest_alert_readings", "longest alert (readings)", str)]
    lines += ["| detector | " + " | ".join(c[1] for c in cols) + " |", "|---|" + "---:|" * len(cols)]
    for n in names:
        h = head[n]
        cells = []
        for key, _, fmt in cols:
            if key == "events_caught":
                cells.append(f"{h['events_caught']}/{h['events']}")
                continue
            v = dotted(h, key)
            cells.append("n/a" if v is None else fmt(v))
        label = f"**{LABELS.get(n, n)}**" if n == "device" else LABELS.get(n, n)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if b:
        lines += [
            "",
            f"Budgets: at most {fmt_value(b.get('max_false_alarms_per_week'), 2)} false alarms a week "
            f"(`alerts.max_false_alarms_per_week`)"
            + ("; without labels every alert counts against it" if not ground else "")
            + (f"; at most {fmt_pct(b.get('contamination'))} of the readings flagged (`cluster.contamination`)" if not ground else "")
            + ". An alert is a rising edge of the alert state; flagged share: valid readings with the alert on.",
        ]
    return lines + [""]


def diagnostic_markdown(metrics: dict[str, Any]) -> list[str]:
    """Without ground truth: agreement with the pseudo-labels, labelled as what it is."""
    names = [n for n in (*MODELS, *BASELINES) if n in metrics and "diagnostic_vs_pseudo_labels" in metrics[n]]
    data = metrics.get("data", {})
    lines = [
        "## Diagnostic: agreement with the K-means pseudo-labels",
        "",
        "**Imitation of the K-means labels, not detection quality.** The model was trained on these pseudo-labels "
        "(cluster stage), so agreeing with them says how faithfully it imitates K-means, not whether it finds "
        f"anomalies. {data.get('pseudo_anomalous_rows')} valid test readings are pseudo-anomalous, in "
        f"{data.get('pseudo_runs')} runs.",
        "",
        "| detector | agreement | pseudo-anomalous readings flagged | flags on pseudo-anomalous readings | "
        "overlap (Dice) | pseudo-anomaly runs alerted | alerts outside them |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        g = metrics[n]["diagnostic_vs_pseudo_labels"]
        lines.append(
            f"| {LABELS.get(n, n)} | {fmt_pct(g['agreement'])} | {fmt_pct(g['pseudo_anomalous_flagged'])} | "
            f"{fmt_pct(g['flagged_pseudo_anomalous'])} | {fmt_value(g['dice_overlap'])} | "
            f"{g['pseudo_runs_alerted']}/{g['pseudo_runs']} | {g['alerts_outside_pseudo_runs']} |"
        )
    return lines


def comparison_markdown(metrics: dict[str, Any], model: str = "int8_tflm") -> list[str]:
    """With ground truth: the comparison table (best value of each column in bold) and the wins/losses."""
    names = [n for n in (*MODELS, *BASELINES) if n in metrics]
    cols = [c for c in TABLE_COLUMNS if any(dotted(metrics[n], c[0]) is not None for n in names)]
    data = metrics.get("data", {})
    lines = [
        "## All detectors against the ground-truth labels",
        "",
        f"Scored against ground-truth labels: {data.get('test_valid_rows')} valid readings of {data.get('test_rows')} "
        f"({fmt_value(data.get('test_days'), 2)} days), {data.get('events')} anomaly events.",
        "",
        "| detector | " + " | ".join(c[1] for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    best = {}
    for key, _, higher in cols:
        vals = [dotted(metrics[n], key) for n in names]
        vals = [v for v in vals if v is not None]
        best[key] = (max(vals) if higher else min(vals)) if vals else None
    for n in names:
        cells = []
        for key, _, _ in cols:
            v = dotted(metrics[n], key)
            s = fmt_value(v)
            cells.append(f"**{s}**" if v is not None and v == best[key] else s)
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    lines += ["", f"Where the device model ({LABELS.get(model, model)}) stands against each baseline:", ""]
    for b in BASELINES:
        if b not in metrics or model not in metrics:
            continue
        wins, losses = [], []
        for key, label, higher in cols:
            mv, bv = dotted(metrics[model], key), dotted(metrics[b], key)
            if mv is None or bv is None or mv == bv:
                continue
            (wins if (mv > bv) == higher else losses).append(label)
        lines.append(
            f"- vs {LABELS[b]}: better on {', '.join(wins) or 'nothing'}; worse on {', '.join(losses) or 'nothing'}."
        )
    return lines

