"""Pareto front, budget check, recommendation and the report files (tinyad/tools/pareto.py)."""

from __future__ import annotations

import csv
import json
import shlex

import pytest

from tinyad.tools.pareto import (
    SweepPoint,
    dominates,
    dvc_command,
    load_points,
    main,
    meets_budgets,
    pareto_mask,
    recommend,
    repro_command,
    write_report,
)


def P(name, f1, size, latency, ram=1000.0, overrides=None):
    return SweepPoint(name=name, overrides=overrides if overrides is not None else [f"model.seed={name}"],
                      f1=f1, size=size, latency=latency, ram=ram)


def test_dominance_needs_one_strictly_better_objective():
    a = P("a", 0.9, 2000, 1.0)
    assert dominates(a, P("b", 0.8, 2500, 1.2))
    assert dominates(a, P("c", 0.9, 2000, 1.1))  # equal F1 and size, faster
    assert not dominates(a, P("d", 0.9, 2000, 1.0))  # identical: neither dominates
    assert not dominates(a, P("e", 0.95, 3000, 0.5))  # a trade-off
    # F1 is maximised: a higher F1 alone is enough
    assert dominates(P("f", 0.91, 2000, 1.0), a)


def test_front_in_two_and_three_objectives():
    pts = [
        P("small", 0.80, 1500, 0.9),
        P("mid", 0.90, 2000, 1.0),
        P("dominated", 0.85, 2500, 1.2),  # mid is better in all three
        P("big_slow", 0.95, 3000, 1.5),
        P("big_fast", 0.95, 3000, 1.1),  # same F1 and size as big_slow, faster
    ]
    assert pareto_mask(pts, ("f1", "size")) == [True, True, False, True, True]
    assert pareto_mask(pts, ("f1", "size", "latency")) == [True, True, False, False, True]
    with pytest.raises(ValueError, match="unknown objective"):
        pareto_mask(pts, ("f1", "flash"))


def test_recommendation_is_best_f1_within_budgets_ties_to_smaller():
    pts = [
        P("too_big", 0.99, 4000, 1.0),
        P("too_much_ram", 0.97, 2000, 1.0, ram=3000),
        P("tie_large", 0.93, 2800, 0.8),
        P("tie_small", 0.93, 2200, 1.3),
        P("weak", 0.70, 1000, 0.5),
    ]
    best = recommend(pts, flash_budget=3072, ram_budget=2048)
    assert best is not None and best.name == "tie_small"
    assert meets_budgets(best, 3072, 2048)
    assert not meets_budgets(pts[0], 3072, 2048) and not meets_budgets(pts[1], 3072, 2048)
    # equal F1 and size: the faster one
    assert recommend([P("x", 0.9, 2000, 2.0), P("y", 0.9, 2000, 1.5)], 3072, 2048).name == "y"
    assert recommend(pts, flash_budget=500, ram_budget=2048) is None


def test_commands_round_trip_through_the_shell():
    ov = ["model.hidden=[16,8]", "cluster.k=4", "data.sim.days=6"]
    cmd = dvc_command(ov)
    words = shlex.split(cmd)
    assert words[:3] == ["dvc", "exp", "run"]
    assert [w for w in words[3:] if w != "-S"] == ov and words[3::2] == ["-S"] * 3
    r = shlex.split(repro_command(ov))
    assert r[:3] == ["python", "-m", "tinyad.params"] and r[3:6] == ov and r[-3:] == ["&&", "dvc", "repro"]


def test_point_rejects_missing_figures():
    with pytest.raises(ValueError, match="size must be a number"):
        SweepPoint(name="0", overrides=[], f1=0.5, size=float("nan"), latency=1.0, ram=1.0)


def test_report_files_name_the_recommended_point(tmp_path):
    pts = [
        P("0", 0.80, 2272, 1.0, ram=1792, overrides=["model.hidden=[8]"]),
        P("1", 0.92, 3400, 1.2, ram=2323, overrides=["model.hidden=[16,8]"]),
        P("2", 0.85, 2272, 1.1, ram=1792, overrides=["model.hidden=[8]", "cluster.k=4"]),
    ]
    rep = write_report(pts, 3072, 2048, tmp_path / "report")
    assert rep.recommended is not None and rep.recommended.name == "2"
    png = rep.paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    rows = list(csv.DictReader(rep.paths["csv"].open()))
    assert [r["point"] for r in rows] == ["1", "2", "0"]  # best F1 first
    rec = [r for r in rows if r["recommended"] == "true"]
    assert len(rec) == 1 and rec[0]["point"] == "2" and rec[0]["meets_budgets"] == "true"
    assert {r["point"]: r["front_f1_size"] for r in rows} == {"0": "false", "1": "true", "2": "true"}
    md = rep.paths["md"].read_text()
    assert "Recommended: point 2" in md
    assert "dvc exp run -S 'model.hidden=[8]' -S cluster.k=4" in md
    assert md.count("\n| ") == 1 + len(pts)  # header + one row a point


def test_report_without_a_feasible_point_says_so(tmp_path):
    rep = write_report([P("0", 0.9, 5000, 1.0)], 3072, 2048, tmp_path)
    assert rep.recommended is None
    assert "No point meets the budgets" in rep.paths["md"].read_text()
    with pytest.raises(ValueError, match="no finished point"):
        write_report([], 3072, 2048, tmp_path)


def test_cli_reads_a_sweep_directory(tmp_path, capsys):
    for name, f1, size in (("0", 0.8, 2272), ("1", 0.9, 3400)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "point.json").write_text(json.dumps({
            "point": name, "overrides": [f"cluster.k={3 + int(name)}"], "run_id": f"r{name}",
            "metrics": {"f1": f1, "size": size, "latency": 1.0, "ram": 1500, "accuracy": 0.99,
                        "test_events": 14, "anomalous_rows": 955},
        }))
    assert [p.name for p in load_points(tmp_path)] == ["0", "1"]
    assert main([str(tmp_path), "--flash-budget", "3000"]) == 0
    out = capsys.readouterr().out
    assert "Recommended: point 0" in out and "scored on 14 events / 955 anomalous readings" in out
    assert (tmp_path / "report" / "pareto.png").is_file()
    (tmp_path / "1" / "point.json").write_text(json.dumps({"point": "1", "overrides": [], "metrics": {"f1": 0.5}}))
    assert main([str(tmp_path)]) == 2
    assert "1/point.json: not a finished sweep point" in capsys.readouterr().err


def test_the_recommendation_never_names_a_point_below_the_quality_floor(tmp_path):
    from tinyad.tools.pareto import QualityFloor

    def Q(name, f1, size, rows, events=3):
        return SweepPoint(name, [f"cluster.k={name}"], f1, size, 1.0, 1000,
                          extra={"test_events": events, "anomalous_rows": rows})

    floor = QualityFloor(f1=0.5, anomalous_rows=50)
    # the case: 1.000 on 5 anomalous rows, 0.021 on many; a real 0.7 wins
    pts = [Q("a", 1.0, 1000, 5, 1), Q("b", 0.021, 900, 900), Q("c", 0.7, 2000, 800)]
    assert recommend(pts, 3072, 2048, floor).name == "c"
    assert recommend(pts[:2], 3072, 2048, floor) is None
    assert recommend(pts[:2], 3072, 2048).name == "a"  # no floor: the old, misleading answer
    rep = write_report(pts, 3072, 2048, tmp_path, floor)
    md = rep.paths["md"].read_text()
    assert "Quality floor: F1 >= 0.5 scored on at least 50 anomalous test readings" in md
    rows = {r["point"]: r for r in rep.rows}
    assert rows["a"]["anomalous_rows"] == 5 and rows["a"]["test_events"] == 1 and rows["a"]["meets_floor"] is False
    assert rows["c"]["meets_floor"] is True and rows["c"]["recommended"] is True
    assert "| a | cluster.k=a | 1.000 |" in md and "| 1 | 5 |" in md
    none = write_report(pts[:2], 3072, 2048, tmp_path / "none", floor)
    assert "No point meets the budgets and the quality floor" in none.paths["md"].read_text()
