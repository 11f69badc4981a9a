"""dvc.yaml lists, for every stage, the project modules its script imports.

A stage whose shared module changes must rerun; a module missing from ``deps``
would leave a stale output in DVC's cache.  The imports are read statically
(AST), transitively, within ``stages/`` and ``tinyad/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def project_imports(path: Path) -> set[str]:
    """Project files imported by ``path`` (module-level and function-level imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if not name.startswith(("tinyad", "stages")):
                continue
            rel = Path(*name.split("."))
            for cand in (rel.with_suffix(".py"), rel / "__init__.py"):
                if (ROOT / cand).is_file() and cand.name != "__init__.py":
                    found.add(cand.as_posix())
    return found


def closure(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        todo.extend(project_imports(ROOT / cur) - seen)
    return seen


@pytest.mark.parametrize("stage", list(SPEC))
def test_stage_deps_cover_its_imports(stage):
    script = f"stages/{stage}.py"
    deps = set(SPEC[stage]["deps"])
    needed = closure(script)
    missing = sorted(needed - deps)
    assert not missing, f"dvc.yaml stage {stage!r} imports {missing} but does not list them in deps"


@pytest.mark.parametrize("stage", list(SPEC))
def test_stage_lists_no_module_it_does_not_use(stage):
    deps = {d for d in SPEC[stage]["deps"] if d.endswith(".py")}
    unused = sorted(deps - closure(f"stages/{stage}.py"))
    assert not unused, f"dvc.yaml stage {stage!r} lists {unused} in deps but never imports them"
