"""``tinyad``: one entry point for the workbench's commands, the way ``dvc`` and ``mlflow`` do it.

    tinyad <command> [options]        (installed by scripts/setup.sh; also `python -m tinyad`)

Each command is a module's ``main(argv)``; ``python -m tinyad.<module>`` keeps
working.  ``tinyad <command> --help`` shows its options.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module, one line of help); the module's main(argv) runs it
COMMANDS: dict[str, tuple[str, str]] = {
    "detect": ("tinyad.tools.detect", "replay a CSV or serial log through the trained int8 model and the alert logic"),
    "monitor": ("tinyad.board.serial_monitor", "watch the device's serial line, record its readings"),
    "sweep": ("tinyad.tools.sweep", "hyperparameter sweep (Hydra grid or Optuna), Pareto report"),
    "power": ("tinyad.board.power", "energy per reading and battery life on the ESP32 (an estimate)"),
    "params": ("tinyad.params", "compose conf/ into params.yaml (Hydra overrides allowed)"),
    "exp": ("tinyad.evaluate.headline", "dvc exp show with the headline figures only"),
    "summary": ("tinyad.tools.summary", "where the results of the last dvc repro are, and the headline"),
    "log": ("tinyad.tools.tracking", "log an existing pipeline run to MLflow (`tinyad log log`)"),
    "pareto": ("tinyad.tools.pareto", "the Pareto report of a finished sweep"),
    "fleet": ("tinyad.tools.fleet", "many rooms in one project: write fleet/, run the rooms in parallel, the fleet report"),
    "pio": ("tinyad.board.pio", "run PlatformIO with the project-local, offline core"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: tinyad <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "`tinyad <command> --help` for a command's options; `python -m <module>` runs the same."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"tinyad: error: no command {name!r}{hint}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    sys.argv = [f"tinyad {name}", *rest]  # argparse's prog in usage lines
    fn = module.main
    import inspect

    rc = fn(rest) if inspect.signature(fn).parameters else fn()
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
