"""The whole pipeline under DVC (`dvc repro`): all seven stages run, cache, and rerun only what changed.

(tinyad/pipeline.py, the table of the stages, is tested by test_pipeline_table.py.)
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.helpers.project import run

STAGES = ["ingest", "cluster", "train", "quantize", "evaluate", "codegen", "firmware"]

pytestmark = pytest.mark.slow


def ran_stages(stdout: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", stdout)


def test_dvc_yaml_declares_the_seven_stages_in_order(pipeline):
    spec = yaml.safe_load(pipeline.path("dvc.yaml").read_text())
    assert list(spec["stages"]) == STAGES
    for name, stage in spec["stages"].items():
        assert f"stages/{name}.py" in stage["deps"], f"{name} must list its script in deps"
        assert f"python -m stages.{name} " in stage["cmd"]
        assert stage.get("params"), f"{name} must list the params it reads"


def test_first_repro_runs_all_seven_stages(pipeline):
    assert ran_stages(pipeline.repro_stdout) == STAGES


def test_every_declared_output_exists(pipeline):
    spec = yaml.safe_load(pipeline.path("dvc.yaml").read_text())
    for name, stage in spec["stages"].items():
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                rel = next(iter(entry)) if isinstance(entry, dict) else entry
                assert pipeline.path(rel).exists(), f"{name}: {rel} missing"
        for entry in stage.get("metrics", []):
            rel = next(iter(entry)) if isinstance(entry, dict) else entry
            assert json.loads(pipeline.path(rel).read_text()), f"{rel} is empty"


def test_second_repro_runs_nothing_and_status_is_clean(pipeline):
    proc = run(["dvc", "repro"], pipeline.root)
    assert ran_stages(proc.stdout) == []
    status = run(["dvc", "status", "--json"], pipeline.root)
    assert json.loads(status.stdout) == {}


def test_param_read_only_by_evaluate_reruns_only_evaluate_and_downstream(pipeline):
    params = pipeline.path("params.yaml")
    original = params.read_text()
    raw = yaml.safe_load(original)
    raw["evaluate"]["latency_runs"] = int(raw["evaluate"]["latency_runs"]) + 1
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        proc = run(["dvc", "repro"], pipeline.root)
        ran = ran_stages(proc.stdout)
        assert ran[0] == "evaluate", ran
        # codegen is downstream of evaluate: it sizes the TFLM arena from evaluate's measurement
        assert not set(ran) & {"ingest", "cluster", "train", "quantize"}, ran
        assert set(ran) <= {"evaluate", "codegen", "firmware"}, ran
    finally:
        params.write_text(original)
        run(["dvc", "repro"], pipeline.root)
