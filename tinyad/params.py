"""Compose ``conf/`` into ``params.yaml`` exactly as ``dvc exp run`` does.

Run ``python -m tinyad.params`` after editing ``conf/``; ``--check`` exits 1 when the
committed ``params.yaml`` differs from the composition (the test suite does this).
Extra arguments are Hydra overrides (``model.hidden=[32,16]``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from tinyad.config import ConfigError, load_dict, register_preflight


ROOT = Path(__file__).resolve().parents[1]


def compose(overrides: list[str] | None = None, conf_dir: str | Path = "conf", out: str | Path = "params.yaml") -> str:
    """Compose with DVC's own Hydra helper and return the YAML text written to ``out``."""
    from dvc.utils.hydra import compose_and_dump

    out = Path(out)
    register_preflight()  # what DVC gets from hydra_plugins/ of the project root
    compose_and_dump(out, str(Path(conf_dir).resolve()), None, "config", str(ROOT), list(overrides or []))
    return out.read_text()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args(argv)
    from omegaconf.errors import OmegaConfBaseException

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "params.yaml"
        try:
            compose(args.overrides, out=fresh)  # the preflight resolver checks every value
            load_dict(yaml.safe_load(fresh.read_text()) or {}, source="conf/ composition")
        except (ConfigError, OmegaConfBaseException) as exc:
            msg = str(exc).splitlines()[0].replace("ConfigError raised while resolving interpolation: ", "")
            print(f"error: {msg}", file=sys.stderr)
            return 2
        text = fresh.read_text()
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
