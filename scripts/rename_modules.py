"""Move the flat ``tinyad/`` modules into subpackages and rewrite every mention of them.

    python scripts/rename_modules.py            # git mv what is still at its old place, rewrite the tree
    python scripts/rename_modules.py --check    # exit 1 if anything would change (no writes)
    python scripts/rename_modules.py --no-move  # rewrite only

Re-runnable and idempotent: a second run changes nothing, because no new dotted name
starts with an old one (``tinyad.device.features`` never matches ``tinyad.features``).
It works on files it has never seen (run it again after a merge): it rewrites, in
every file git tracks whose name ends in .py .md .yaml .yml .toml .ini .cfg .sh .c .h .cpp or is
``Makefile``,

* ``from tinyad import a, b as c`` (one line or parenthesised): each moved name is
  imported from its new package, under its old local name when the module was renamed
  (``from tinyad import int8`` -> ``from tinyad.device import model as int8``);
* ``from tinyad.drift import a, b``: names that left a module (``SYMBOLS``) are
  imported from where they went;
* ``tinyad.<old>`` anywhere (imports, ``python -m tinyad.<old>``, ``importlib`` and
  ``monkeypatch`` strings, docs), except a quoted string that is a dict key or a
  subscript (``"tinyad.fleet": ...``, ``tags["tinyad.fleet"]``), and the MLflow tag
  names of ``TAGS`` (``tinyad.sweep.mode``): an external contract, not modules;
* ``tinyad/<old>.py`` paths (``dvc.yaml`` deps, docs).

Never touched: ``dvc.lock`` (``dvc repro`` refreshes it), ``.venv``, untracked and
binary files, and this script (its table names the old modules).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# old module (under tinyad.) -> new module (under tinyad.)
MOVES: dict[str, str] = {
    # device/: the Python twin of a C file of firmware/lib/tinyad (or of a generated one)
    "alerts": "device.alerts",            # tinyad_sample.c, tinyad_alerts.c, tinyad_app.c + tinyad_format.c
    "features": "device.features",        # generated tinyad_features.c
    "int8": "device.model",               # generated tinyad_model.c (TFLite Micro's int8 kernels)
    "tflite_model": "device.tflite_model",  # the flatbuffer of tinyad_model_data.c, read as TFLM reads it
    "runtime": "device.runtime",          # the .tflite under LiteRT / TFLite Micro (model_tflm.cpp)
    # data/: readings in, the tables of docs/architecture.md out
    "simulate": "data.simulate",
    "csvlog": "data.csvlog",
    "plausibility": "data.plausibility",
    "readings": "data.readings",
    "labeling": "data.labeling",
    "clustering": "data.clustering",
    # learn/: the model and its decision (train, quantize)
    "training": "learn.training",
    "quantization": "learn.quantization",
    "calibration": "learn.calibration",
    # evaluate/: judging the model (evaluate stage, the headline, the figures)
    "evaluation": "evaluate.compare",
    "baselines": "evaluate.baselines",
    "scoring": "evaluate.scoring",
    "metrics": "evaluate.metrics",
    "drift": "evaluate.drift",
    "latency": "evaluate.latency",
    "report": "evaluate.report",
    "figures": "evaluate.figures",
    "headline": "evaluate.headline",
    # board/: building the firmware, running it, talking to and powering the board
    "firmware_build": "board.firmware_build",
    "pio": "board.pio",
    "rv32": "board.rv32",
    "icount": "board.icount",
    "power": "board.power",
    "serial_monitor": "board.serial_monitor",
    # tools/: commands around the pipeline (sweeps, tracking, fleets, replay)
    "sweep": "tools.sweep",
    "pareto": "tools.pareto",
    "tracking": "tools.tracking",
    "lifecycle": "tools.lifecycle",
    "summary": "tools.summary",
    "fleet": "tools.fleet",
    "fleet_run": "tools.fleet_run",
    "detect": "tools.detect",
    "plots": "tools.plots",
    "progress": "tools.progress",
    "quiet": "tools.quiet",
}

# names that left a module for another: (module, name) -> new module (full dotted names);
# the remedy of the drift experiment is the twin of tinyad_baseline.c
SYMBOLS: dict[tuple[str, str], str] = {
    (mod, name): "tinyad.device.baseline"
    for mod in ("tinyad.drift", "tinyad.evaluate.drift")
    for name in ("reference_levels", "baseline_correct", "correct_readings")
}

# MLflow tag names that start like a module but are not one (an external contract: the
# runs already logged carry them): never rewritten
TAGS: dict[str, tuple[str, ...]] = {
    "sweep": ("point", "overrides", "dir", "mode", "command", "recommended", "recommended_overrides",
              "recommended_command"),
}

SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".sh", ".c", ".h", ".cpp"}
NAMES = {"Makefile"}
SKIP = {"dvc.lock", "scripts/rename_modules.py"}

_ALT = "|".join(sorted(map(re.escape, MOVES), key=len, reverse=True))
DOTTED = re.compile(rf"(?<![\w.])tinyad\.({_ALT})\b(?![\"']\s*[:\]])")
PATH = re.compile(rf"(?<![\w./-])tinyad/({_ALT})\.py\b")
FROM_TINYAD = re.compile(r"^([ \t]*)from tinyad import (\([^)]*\)|[^\n]*?)([ \t]*#[^\n]*)?$", re.M)
FROM_MODULE = re.compile(r"^([ \t]*)from (tinyad(?:\.\w+)+) import (\([^)]*\)|[^\n]*?)([ \t]*#[^\n]*)?$", re.M)


def _names(spec: str) -> list[tuple[str, str | None]]:
    body = spec.strip()
    if body.startswith("("):
        body = body[1:-1]
    body = re.sub(r"#[^\n]*", "", body)
    out = []
    for part in body.replace("\n", " ").split(","):
        words = part.split()
        if not words:
            continue
        out.append((words[0], words[2] if len(words) == 3 and words[1] == "as" else None))
    return out


def _join(indent: str, module: str, names: list[str], comment: str) -> str:
    line = f"{indent}from {module} import {', '.join(names)}"
    if len(line) > 110 and len(names) > 1:
        line = f"{indent}from {module} import (\n" + "".join(f"{indent}    {n},\n" for n in names) + f"{indent})"
    return line + (comment or "")


def _from_tinyad(m: re.Match) -> str:
    indent, spec, comment = m.group(1), m.group(2), m.group(3) or ""
    names = _names(spec)
    if not any(n in MOVES for n, _ in names):
        return m.group(0)
    groups: dict[str, list[str]] = {}
    for name, alias in names:
        if name in MOVES:
            package, _, leaf = f"tinyad.{MOVES[name]}".rpartition(".")
            local = alias or name
            groups.setdefault(package, []).append(leaf if local == leaf else f"{leaf} as {local}")
        else:
            groups.setdefault("tinyad", []).append(name if alias is None else f"{name} as {alias}")
    lines = [_join(indent, mod, ns, comment if i == 0 else "") for i, (mod, ns) in enumerate(groups.items())]
    return "\n".join(lines)


def _from_module(m: re.Match) -> str:
    indent, module, spec, comment = m.group(1), m.group(2), m.group(3), m.group(4) or ""
    names = _names(spec)
    if not any((module, n) in SYMBOLS for n, _ in names):
        return m.group(0)
    groups: dict[str, list[str]] = {}
    for name, alias in names:
        target = SYMBOLS.get((module, name), module)
        groups.setdefault(target, []).append(name if alias is None else f"{name} as {alias}")
    return "\n".join(_join(indent, mod, ns, comment if i == 0 else "") for i, (mod, ns) in enumerate(groups.items()))


def _dotted(m: re.Match) -> str:
    old = m.group(1)
    rest = re.match(r"\.(\w+)", m.string[m.end():])
    if rest and rest.group(1) in TAGS.get(old, ()):
        return m.group(0)
    return f"tinyad.{MOVES[old]}"


def rewrite(text: str) -> str:
    text = FROM_TINYAD.sub(_from_tinyad, text)
    text = FROM_MODULE.sub(_from_module, text)
    text = DOTTED.sub(_dotted, text)
    return PATH.sub(lambda m: "tinyad/" + MOVES[m.group(1)].replace(".", "/") + ".py", text)


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = []
    for rel in out.decode().split("\0"):
        if not rel or rel in SKIP or rel.startswith(".venv/"):
            continue
        p = Path(rel)
        if p.suffix in SUFFIXES or p.name in NAMES:
            files.append(p)
    return files


def move(dry: bool) -> list[str]:
    done = []
    for old, new in MOVES.items():
        src = ROOT / "tinyad" / f"{old}.py"
        dst = ROOT / "tinyad" / (new.replace(".", "/") + ".py")
        if not src.is_file() or dst.exists():
            continue
        done.append(f"git mv {src.relative_to(ROOT)} {dst.relative_to(ROOT)}")
        if dry:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        init = dst.parent / "__init__.py"
        if not init.exists():
            init.write_text(f'"""``tinyad.{new.rpartition(".")[0]}``: see docs/architecture.md."""\n')
            subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)
        subprocess.run(["git", "mv", str(src), str(dst)], cwd=ROOT, check=True)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a move or a rewrite is due")
    ap.add_argument("--no-move", action="store_true", help="rewrite the files only")
    args = ap.parse_args(argv)
    moved = [] if args.no_move else move(args.check)
    changed = []
    for rel in tracked_files():
        path = ROOT / rel
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if b"\0" in raw:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(text)
        if new != text:
            changed.append(rel.as_posix())
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for line in moved:
        print(line)
    for rel in changed:
        print(f"rewrote {rel}")
    if args.check:
        return 1 if moved or changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
