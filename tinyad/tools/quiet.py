"""Quiet TensorFlow: drop its known start-up and converter chatter, keep everything else.

``quiet_tensorflow()`` is called before TensorFlow is imported (``tinyad.cli.run_stage``
for every stage, the sweep and the benchmarks).  It

* sets ``TF_CPP_MIN_LOG_LEVEL=1`` (unless already set): TensorFlow's C++ INFO lines
  (oneDNN, CPU features, SavedModel reading) are not printed; its warnings and
  errors still are;
* ignores two Python warnings of the TFLite converter that say nothing to the user
  (``PYTHON_WARNINGS``);
* filters the process's standard output and error (file descriptors 1 and 2, so
  also what C++ prints) through ``NoiseFilter``: a line is dropped only when it
  matches one of ``NOISE`` (each a known message that reads like a problem and is
  not: ``E0000 ... NodeDef mentions attribute use_unbounded_threadpool``, absl's
  ``WARNING: All log messages before absl::InitializeLog()``, the converter's
  ``Ignored output_format`` ...) or belongs to the ``Saved artifact at`` listing that
  Keras prints while the converter exports the model.  Every other line, an error
  or a traceback included, passes unchanged.

``TINYAD_TF_LOGS=1`` in the environment turns all of this off (to see everything).
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import warnings

NOISE = tuple(re.compile(p) for p in (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"^E0000 [0-9:. ]+\d+ node_def_util\.cc:\d+\] NodeDef mentions attribute use_unbounded_threadpool ",
    r"^[IW]0000 [0-9:. ]+\d+ (port|cpu_feature_guard|reader|loader|mlir_graph_optimization_pass|dump_mlir_util)\.cc:\d+\] ",
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$",
    r"^W0000 [0-9:. ]+\d+ tf_tfl_flatbuffer_helpers\.cc:\d+\] Ignored (output_format|drop_control_dependency)\.$",
    r"^W0000 [0-9:. ]+\d+ flatbuffer_export\.cc:\d+\] Skipping runtime version metadata in the model\.",
    r"^fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, output_inference_type: \w+$",
))
# Keras' export listing (printed by tf.lite.TFLiteConverter.from_keras_model): its first
# line and the shapes of the lines that follow it.
LISTING_START = re.compile(r"^Saved artifact at '[^']*'\. The following endpoints are available:$")
LISTING_BODY = re.compile(r"^(|\* Endpoint '\w+'|  \w+ \(\w+\): TensorSpec\(.*\)|Output Type:|Captures:"
                          r"|  TensorSpec\(.*\)|  \d+: TensorSpec\(.*\))$")
PYTHON_WARNINGS = (
    r"Statistics for quantized inputs were expected, but not specified",
    r".*tf\.lite\.Interpreter is deprecated",
)
ENV_OFF = "TINYAD_TF_LOGS"


class NoiseFilter:
    """Line by line: ``keep(line)`` is False for the known noise (stateful for the listing)."""

    def __init__(self) -> None:
        self.in_listing = False

    def keep(self, line: str) -> bool:
        text = line.rstrip("\r\n")
        if self.in_listing:
            if LISTING_BODY.match(text):
                return False
            self.in_listing = False
        if LISTING_START.match(text):
            self.in_listing = True
            return False
        return not any(p.match(text) for p in NOISE)


class _FdFilter:
    """Route file descriptor ``fd`` through a pipe; a thread copies the kept lines to the original."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.original = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.reader = os.fdopen(read_end, "rb", buffering=0)
        self.noise = NoiseFilter()
        self.thread = threading.Thread(target=self._pump, name=f"quiet-fd{fd}", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        pending = b""
        while True:
            chunk = self.reader.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(ln + b"\n" for ln in lines if self.noise.keep(ln.decode("utf-8", "replace")))
            if out:
                os.write(self.original, out)
        if pending and self.noise.keep(pending.decode("utf-8", "replace")):
            os.write(self.original, pending)

    def close(self) -> None:
        os.dup2(self.original, self.fd)  # closes the pipe's write end: the thread sees EOF
        self.thread.join(timeout=10)


_installed: list[_FdFilter] = []


def quiet_tensorflow() -> None:
    """Install the filters (idempotent; see the module docstring)."""
    if os.environ.get(ENV_OFF) == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    for msg in PYTHON_WARNINGS:
        warnings.filterwarnings("ignore", message=msg)
    if _installed:
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        _installed.extend(_FdFilter(fd) for fd in (1, 2))
    except OSError:  # no such descriptor (a daemon without stdio): nothing to filter
        return
    import faulthandler

    if faulthandler.is_enabled():  # a crash report goes to the real stderr, not into the pipe
        faulthandler.enable(file=_installed[1].original)
    atexit.register(_restore)


def _restore() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    while _installed:
        _installed.pop().close()
