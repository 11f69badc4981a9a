"""Compose ``conf/`` into ``params.yaml`` exactly as ``dvc exp run`` does.

Run ``python -m tinyad.params`` after editing ``conf/``; ``--check`` exits 1 when the
committed ``params.yaml`` differs from the composition (the test suite does this).
Extra arguments are Hydra overrides (``model.hidden=[32,16]``).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import sys
import typing
import tempfile
from pathlib import Path

import yaml

from tinyad.config import ConfigError, load_dict, register_preflight

ROOT = Path(__file__).resolve().parents[1]
# how a composed params.yaml is named in messages (it is written to a temporary file)
SOURCE = "conf/ composition"


def compose(overrides: list[str] | None = None, conf_dir: str | Path = "conf", out: str | Path = "params.yaml") -> str:
    """Compose with DVC's own Hydra helper and return the YAML text written to ``out``."""
    from dvc.utils.hydra import compose_and_dump

    out = Path(out)
    register_preflight()  # what DVC gets from hydra_plugins/ of the project root
    compose_and_dump(out, str(Path(conf_dir).resolve()), None, "config", str(ROOT), list(overrides or []))
    return out.read_text()


def schema_keys(cls: type | None = None, prefix: str = "") -> list[str]:
    """Every full key of the params schema (``model.hidden``, ``data.sim.seed``, ...), sections too."""
    from tinyad.config import Config

    cls = cls or Config
    out: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        out.append(key)
        typ = hints.get(f.name)
        if dataclasses.is_dataclass(typ):
            out += schema_keys(typ, key + ".")
    return out


def config_groups(conf_dir: str | Path = "conf") -> dict[str, list[str]]:
    """``{group: [options]}`` of the Hydra tree (``data: [sim, uci, ...]``)."""
    conf = Path(conf_dir)
    return {d.name: sorted(p.stem for p in d.glob("*.yaml")) for d in sorted(conf.iterdir())
            if d.is_dir() and d.name != "hydra"} if conf.is_dir() else {}


def did_you_mean(word: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known word, or ``""``."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if not close and "." in word:  # the last part alone: model.hiddn -> model.hidden
        head, _, tail = word.rpartition(".")
        siblings = [k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == head]
        close = [f"{head}.{m}" for m in difflib.get_close_matches(tail, siblings, n=1, cutoff=0.5)]
    return f" (did you mean {close[0]!r}?)" if close else ""


_OVERRIDE = re.compile(r"Could not override '([^']+)'")
_APPEND = re.compile(r"Could not append to config\. An item is already at '([^']+)'")
_GROUP = re.compile(r"Could not find '([^'/]+)/([^']+)'")
_SCHEMA_KEY = re.compile(r"\(full key: ([\w.\[\]]+)\)")


def override_error(exc: BaseException, conf_dir: str | Path = "conf") -> str | None:
    """One line for a bad override or value (Hydra's or the schema's error), with a
    "did you mean" where a known key or option is close; ``None`` for other errors."""
    text = str(exc).replace("ConfigError raised while resolving interpolation: ", "")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    m = _OVERRIDE.search(text)
    if m:
        key = m.group(1)
        return f"{key}: no such parameter{did_you_mean(key, schema_keys())}"
    m = _GROUP.search(text)
    if m:
        group, option = m.groups()
        options = config_groups(conf_dir).get(group, [])
        return (f"{group}={option}: no such option of the group {group!r} (options: {', '.join(options)})"
                f"{did_you_mean(option, options)}")
    if isinstance(exc, ConfigError) or type(exc).__module__.startswith(("hydra", "omegaconf")):
        m = _SCHEMA_KEY.search(first)
        hint = did_you_mean(m.group(1), schema_keys()) if m and "not in" in first else ""
        return first + hint
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "params.yaml"
        try:
            compose(args.overrides, out=fresh)  # the preflight resolver checks every value
            text = fresh.read_text()
            load_dict(yaml.safe_load(text) or {}, source=SOURCE)
        except Exception as exc:  # noqa: BLE001 - Hydra's and the schema's errors become one line
            message = override_error(exc)
            if message is None:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2
    current = Path("params.yaml")
    if args.check:
        if not current.exists() or current.read_text() != text:
            print("params.yaml differs from the composition of conf/: run `python -m tinyad.params`", file=sys.stderr)
            return 1
        return 0
    from tinyad.io import write_text

    write_text(current, text)
    print("wrote params.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
