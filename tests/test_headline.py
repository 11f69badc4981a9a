"""The headline: one list of figures for headline.json, MLflow, `tinyad exp` and the summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyad.evaluate import headline as H

ROOT = Path(__file__).resolve().parents[1]


def stage_metrics(ground: bool) -> dict:
    device = {"alerts_per_day": 2.5, "flagged_share": 0.04, "longest_alert_minutes": 90.0}
    data = {"test_rows": 100}
    if ground:
        device |= {"f1": 0.8, "f1_by_type": {"point": 0.9, "contextual": 0.7, "collective": 0.6},
                   "events_caught_share": 0.75, "false_alarms_per_week": 1.5}
        data |= {"events": 12, "test_anomalous_rows": 340}
    return {
        "evaluate": {"ground_truth": int(ground), "headline": {"device": device}, "data": data,
                     "memory": {"tflm_arena_bytes": 2323}, "latency_us": {"tflm": {"median": 3.2}},
                     "int8_tflm": {"accuracy": 0.99}},
        "quantize": {"tflite_bytes": 3400},
        "firmware": {"envs": {"host": {"flash_bytes": 24637}}, "model_c": {"flash_bytes": 920}},
    }


def test_with_labels_the_device_f1_by_type_and_what_it_was_scored_on():
    got = H.headline(stage_metrics(True))
    assert list(got) == [f.name for f in H.figures_for(True)]
    assert got["f1"] == 0.8 and got["f1_ctx"] == 0.7 and got["events"] == 12 and got["anom"] == 340
    assert got["tflite"] == 3400 and got["c_flash"] == 920 and got["fw_flash"] == 24637
    assert "alerts_d" not in got
    assert 9 <= len(got) <= 16


def test_a_test_split_without_an_event_has_no_share_of_events_caught():
    m = stage_metrics(True)
    m["evaluate"]["headline"]["device"]["events_caught_share"] = None  # event_scores: none caught of none
    m["evaluate"]["headline"]["device"]["f1"] = None  # nothing to detect, no score (scoring.headline_figures)
    m["evaluate"]["data"]["events"] = 0
    got = H.headline(m)
    assert "caught" not in got and "f1" not in got and got["events"] == 0 and got["fa_wk"] == 1.5


def test_without_labels_no_figure_is_scored_against_pseudo_labels():
    got = H.headline(stage_metrics(False))
    assert got["alerts_d"] == 2.5 and got["flagged"] == 0.04 and got["longest"] == 90.0
    assert not {"f1", "f1_pt", "caught", "fa_wk", "events", "anom"} & set(got)
    assert got["arena"] == 2323 and got["lat_us"] == 3.2


def test_a_missing_figure_names_the_file_the_key_and_the_stage():
    m = stage_metrics(True)
    del m["firmware"]["model_c"]
    with pytest.raises(ValueError, match=r"metrics/firmware\.json: no number at 'model_c\.flash_bytes'.*dvc repro firmware"):
        H.headline(m)


def test_summary_shows_the_headline_and_no_f1_without_labels(tmp_path):
    from tinyad.tools.summary import summary

    (tmp_path / "metrics").mkdir()
    for stem, data in stage_metrics(False).items():
        (tmp_path / "metrics" / f"{stem}.json").write_text(json.dumps(data))
    (tmp_path / H.HEADLINE_FILE).write_text(json.dumps(H.headline(stage_metrics(False))))
    text = summary(tmp_path)
    assert "alerts_d" in text and "2.5" in text and "F1" not in text and "accuracy" not in text
    assert H.EXP_SHOW_COMMAND in text


def test_mlflow_gets_the_headline_under_its_short_names(tmp_path):
    from tests.helpers.tracking import fake_project, search_runs
    from tinyad.tools.tracking import log_pipeline_run

    proj = fake_project(tmp_path / "p")
    (proj / H.HEADLINE_FILE).write_text(json.dumps(H.headline(stage_metrics(True))))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert log_pipeline_run(proj, artifacts=[], uri=uri, experiment="t", strict=True)
    runs = search_runs(uri, "t")
    assert runs["metrics.f1"].iloc[0] == 0.8 and runs["metrics.c_flash"].iloc[0] == 920
    assert "metrics.headline.f1" not in runs.columns


@pytest.fixture()
def exp_repo(tmp_path):
    """A git + DVC repository holding the project's dvc.yaml, params and metrics, one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "metrics", repo / "metrics")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "baseline"], cwd=repo, check=True)
    return repo


def test_exp_show_view_fits_160_columns_with_the_headline_and_the_changed_params(exp_repo):
    # the workspace changes a param and a figure that is not in the headline
    params = (exp_repo / "params.yaml").read_text()
    assert "  hidden:\n  - 16\n  - 8\n" in params
    (exp_repo / "params.yaml").write_text(params.replace("  hidden:\n  - 16\n  - 8\n", "  hidden:\n  - 32\n  - 16\n"))
    ev = json.loads((exp_repo / "metrics/evaluate.json").read_text())
    ev["latency_us"]["keras"]["median"] += 1.0
    (exp_repo / "metrics/evaluate.json").write_text(json.dumps(ev))

    (exp_repo / H.HEADLINE_FILE).write_text(json.dumps(H.headline(H.read_metrics(exp_repo / "metrics"))))

    args = H.exp_show_args(H.other_metric_names(exp_repo / "metrics"))
    proc = subprocess.run(["dvc", *args, "--no-pager"], cwd=exp_repo, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "160"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # an experiment's row is named like "├── 1a2b3c4 [rummy-pelt]" (24 characters, 15 more than
    # "workspace"): the table leaves room for it
    assert max(len(ln) for ln in lines) <= 160 - 15, proc.stdout
    header = lines[1].split()
    ground = H.has_ground_truth(H.read_metrics(exp_repo / "metrics"))
    assert header == ["Experiment", *[f.name for f in H.figures_for(ground)], "model.hidden"], proc.stdout
    assert "…" not in proc.stdout  # nothing truncated
    # the plain view has hundreds of columns
    wide = subprocess.run(["dvc", "exp", "show", "--no-pager", "--csv"], cwd=exp_repo, capture_output=True, text=True)
    assert len(wide.stdout.splitlines()[0].split(",")) > 300


def test_a_type_absent_from_the_test_split_is_left_out_not_an_error():
    """A temperature-only room may have no contextual event in its test split: its by-type
    F1 is absent from evaluate.json, and the headline leaves that figure out."""
    from tinyad.evaluate.headline import headline

    ev = {"ground_truth": 1, "headline": {"device": {"f1": 0.8, "f1_by_type": {"point": 1.0, "collective": 0.7},
                                                     "events_caught_share": 1.0, "false_alarms_per_week": 0.0}}}
    metrics = {"evaluate": ev}
    try:
        headline(metrics)
    except ValueError as exc:  # a non-optional figure of another stage is missing: not the by-type one
        assert "f1_ctx" not in str(exc) and "f1_pt" not in str(exc) and "f1_col" not in str(exc), exc
    ev["headline"]["device"].pop("false_alarms_per_week")  # a figure every labelled test split has
    with pytest.raises(ValueError, match="'fa_wk'"):
        headline(metrics)
