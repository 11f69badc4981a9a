"""Atomic writes (tinyad/io.py): complete files only, with the user's umask like any file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tinyad.io import atomic_dir, atomic_path, write_bytes, write_json, write_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def umask():
    def set_(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_files_written_atomically_get_the_umask_like_open(tmp_path, umask, mask):
    umask(mask)
    with open(tmp_path / "plain.txt", "w") as fh:
        fh.write("x")
    write_text(tmp_path / "a.txt", "x")
    write_bytes(tmp_path / "b.bin", b"x")
    write_json(tmp_path / "c.json", {"a": 1})
    with atomic_path(tmp_path / "d.png") as tmp:
        tmp.write_bytes(b"png")
    want = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert want == 0o666 & ~mask
    for name in ("a.txt", "b.bin", "c.json", "d.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.json", "d.png", "plain.txt"]


def test_a_failed_write_leaves_neither_the_output_nor_a_temporary_file(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("stage failed")
    assert list(tmp_path.iterdir()) == []


def test_mlflow_copies_an_output_with_the_same_mode(tmp_path, umask):
    """MLflow copies artifacts with their mode: an atomic output must not arrive as 0600."""
    umask(0o022)
    out = tmp_path / "metrics" / "evaluate.json"
    write_json(out, {"f1": 0.5})
    store = tmp_path / "store"
    code = ("import sys, mlflow; c = mlflow.MlflowClient(sys.argv[1]); "
            "e = c.create_experiment('io', artifact_location=sys.argv[2]); r = c.create_run(e); "
            "c.log_artifact(r.info.run_id, sys.argv[3]); print(r.info.run_id)")
    proc = subprocess.run([sys.executable, "-c", code, f"sqlite:///{tmp_path / 'm.db'}", store.as_uri(), str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    copied = next(store.rglob("evaluate.json"))
    assert stat.S_IMODE(copied.stat().st_mode) == 0o644


def test_a_folder_is_replaced_as_a_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out" / "env"
    target.mkdir(parents=True)
    (target / "old.bin").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "new.bin").write_text("new")
            raise RuntimeError("build failed")
    assert sorted(p.name for p in target.iterdir()) == ["old.bin"]
    with atomic_dir(target) as tmp:
        assert tmp.parent == target.parent and not (target / "new.bin").exists()
        (tmp / "new.bin").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.bin"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["env"]  # no temporary folder left
