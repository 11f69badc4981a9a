"""dvc.yaml against the one table of stages (tinyad/pipeline.py): neither can drift.

The table gives each stage's command, data/model dependencies, outputs, metrics and
params; dvc.yaml is written by hand and must say the same.  The project modules in
``deps`` are checked against the imports by tests/test_dvc_deps.py, so they are left
out here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tinyad import pipeline
from tinyad.pipeline import IN, METRIC, OUT, STAGES

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _entries(items) -> list[tuple[str, bool]]:
    """dvc.yaml ``outs``/``metrics`` -> [(path, cache)]."""
    out = []
    for e in items or []:
        if isinstance(e, dict):
            (path, opts), = e.items()
            out.append((path, (opts or {}).get("cache", True)))
        else:
            out.append((e, True))
    return out


def _module(dep: str) -> bool:
    return dep.endswith(".py") and dep.startswith(("tinyad/", "stages/"))


def test_dvc_yaml_has_the_tables_stages_in_its_order():
    assert list(SPEC) == pipeline.names()


@pytest.mark.parametrize("st", STAGES, ids=lambda s: s.name)
def test_dvc_stage_matches_the_table(st):
    dvc = SPEC[st.name]
    assert " ".join(dvc["cmd"].split()) == pipeline.command(st.name)
    assert st.script in dvc["deps"]
    data_deps = {d for d in dvc["deps"] if not _module(d)}
    assert data_deps == {d for p in st.of_role(IN) for d in p.declared}
    assert _entries(dvc.get("outs")) == [(d, p.cache) for p in st.of_role(OUT) for d in p.declared]
    assert _entries(dvc.get("metrics")) == [(d, False) for p in st.of_role(METRIC) for d in p.declared]
    assert "plots" not in dvc  # the plotted files are outs (cache: false); dvc.yaml's top-level plots show them
    assert dvc["params"] == list(st.params)


def test_every_stage_reads_only_sources_or_what_an_earlier_stage_wrote():
    """The table's order is a valid run order (codegen after evaluate: it reads the measured arena)."""
    written: set[str] = set()
    every = pipeline.produced()
    for st in STAGES:
        for d in (d for p in st.of_role(IN) for d in p.declared):
            # a path some stage writes, or one inside a folder the stage reads (firmware/lib/generated)
            for w in (w for w in every if w == d or w.startswith(d + "/")):
                assert w in written, f"{st.name} reads {w} before a stage writes it"
        written |= {p.path for p in st.paths if p.role in (OUT, METRIC)}
    assert pipeline.names().index("codegen") > pipeline.names().index("evaluate")


def test_argv_puts_written_paths_under_the_work_dir_and_sources_in_the_project(tmp_path):
    args = pipeline.argv("codegen", tmp_path, root=ROOT, moved={"firmware/lib/generated": "generated"}, flags=False)
    opts = dict(zip(args[::2], args[1::2]))
    assert opts["--params"] == str(tmp_path / "params.yaml")
    assert opts["--out"] == str(tmp_path / "generated")
    assert opts["--evaluate-metrics"] == str(tmp_path / "metrics/evaluate.json")
    assert "--count" not in args and "--count" in pipeline.argv("codegen")
    fw = dict(zip(*[iter(pipeline.argv("firmware", tmp_path, root=ROOT))] * 2))
    assert fw["--project"] == str(ROOT / "firmware") and fw["--out"] == str(tmp_path / "build/firmware")


def test_a_failing_stage_raises_with_its_output(tmp_path):
    (tmp_path / "params.yaml").write_text("not: [a, valid params file\n")
    with pytest.raises(pipeline.StageError, match="stage cluster failed.*its output: .*stages.log"):
        pipeline.run(tmp_path, ["cluster"], root=ROOT, log=tmp_path / "stages.log")
    assert "===== stage cluster" in (tmp_path / "stages.log").read_text()
    with pytest.raises(pipeline.StageError, match=r"(?s)stage cluster failed.*params\.yaml"):
        pipeline.run_stage("cluster", tmp_path, root=ROOT)
    with pytest.raises(KeyError, match="no stage"):
        pipeline.run(tmp_path, ["clustr"])
