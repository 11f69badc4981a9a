"""Progress lines for the long steps: a line every few epochs, a line a sweep point.

Plain lines (no terminal control codes), so they read the same in a terminal, in
``dvc repro``'s output and in a log file.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

LINES_PER_RUN = 10  # about this many epoch lines a training run


def every_n(total: int, lines: int = LINES_PER_RUN) -> int:
    return max(1, -(-int(total) // lines))


def epoch_line(prefix: str, epoch: int, total: int, logs: dict[str, Any], seconds: float) -> str:
    parts = [f"{prefix}: epoch {epoch}/{total}"]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        if logs.get(key) is not None:
            parts.append(f"{key} {float(logs[key]):.4f}")
    return ", ".join(parts) + f" ({seconds:.0f} s)"


def keras_epoch_lines(total: int, prefix: str = "train", out: TextIO | None = None):
    """A Keras callback printing ``epoch_line`` every ``every_n(total)`` epochs and at the end."""
    import keras

    class EpochLines(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.monotonic()
            self.last = 0

        def on_epoch_end(self, epoch, logs=None):
            n = epoch + 1
            if n % every_n(total) == 0 or n == total:
                self.last = n
                print(epoch_line(prefix, n, total, logs or {}, time.monotonic() - self.start),
                      file=out or sys.stdout, flush=True)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_end(self, logs=None):
            n = getattr(self, "epoch", 0)
            if n and n < total:
                print(f"{prefix}: stopped early after epoch {n}/{total} (no better val_loss)",
                      file=out or sys.stdout, flush=True)

    return EpochLines()


def eta_line(prefix: str, done: int, total: int, seconds: float) -> str:
    """``point 2/4 done, about 1 min left`` (the mean time a point so far, times the points left)."""
    left = (total - done) * seconds / done if done else float("nan")
    if done >= total:
        tail = f"all done in {_duration(seconds)}"
    else:
        tail = f"about {_duration(left)} left"
    return f"{prefix} {done}/{total} done, {tail}"


def _duration(s: float) -> str:
    if s != s:
        return "? min"
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
