"""The firmware stage's exit codes (tinyad.cli.run_stage): bad input is 2."""

from __future__ import annotations

from pathlib import Path

from tinyad.cli import run_stage

ROOT = Path(__file__).resolve().parents[1]


def test_missing_generated_files_are_bad_input(tmp_path, capsys):
    from tinyad.stage import stage_main

    project = tmp_path / "firmware"
    (project / "lib" / "generated").mkdir(parents=True)
    argv = ["--params", str(ROOT / "params.yaml"), "--project", str(project), "--out", str(tmp_path / "out"),
            "--metrics", str(tmp_path / "metrics" / "firmware.json")]
    rc = run_stage(lambda: stage_main("firmware")(argv), "firmware", quiet=False)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "firmware: error:" in err and "tinyad_config.h" in err and "run `dvc repro codegen` first" in err
    assert not (tmp_path / "metrics").exists()
