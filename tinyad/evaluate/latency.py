"""Latency and memory of the model on this host, measured in process.

``time_calls(fn, runs, warmup)``
    calls ``fn()`` ``warmup`` times untimed, then ``runs`` times, each call timed
    on its own with ``time.perf_counter_ns``; returns median, p95 (numpy's linear
    quantile), mean, min and max in microseconds per call.  One call = one
    inference of batch 1 including setting the input and reading the output.
``keras_call(model, x)``, ``litert_call(tflite, q)``, ``tflm_call(tflite, q)``
    build the batch-1 callables the evaluate stage times: the Keras float model
    called directly (``model(x, training=False)`` on a prebuilt tensor), the
    ``ai_edge_litert`` interpreter with the reference kernels, and the TensorFlow
    Lite Micro interpreter (``tflite_micro`` runtime).
``tflm_arena_bytes(tflite)``
    the smallest TFLite Micro tensor arena the model runs in, found by bisection
    over the interpreter's ``arena_size`` (each probe builds the interpreter and
    invokes it once, in a child process, because a too-small arena can crash the
    runtime instead of raising), to ``step`` bytes; plus the total that TFLM's
    ``RecordingMicroAllocator`` reports for a working arena (it omits the temporary
    allocations made while the kernels are prepared, so it is below the minimum).
``measure_cost(keras_model, tflite, X_test, q_in, runs)``
    the evaluate stage's ``latency_us`` and ``memory`` sections (and their method):
    the three interpreters timed on the first test reading, the arena figures.

Run ``python -m tinyad.evaluate.latency MODEL.tflite`` to print the arena figures of a model.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["keras_call", "litert_call", "tflm_arena_bytes", "tflm_call", "tflm_recorded_arena", "time_calls"]


def time_calls(fn: Callable[[], Any], runs: int, warmup: int) -> dict[str, float | int]:
    """Per-call wall time of ``fn`` in microseconds (median, p95, mean, min, max)."""
    if runs < 1 or warmup < 0:
        raise ValueError(f"time_calls: expected runs >= 1 and warmup >= 0, got {runs}, {warmup}")
    for _ in range(warmup):
        fn()
    ns = np.empty(runs, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(runs):
        t0 = clock()
        fn()
        ns[i] = clock() - t0
    us = ns / 1000.0
    return {
        "median": float(np.median(us)),
        "p95": float(np.quantile(us, 0.95)),
        "mean": float(us.mean()),
        "min": float(us.min()),
        "max": float(us.max()),
        "runs": int(runs),
        "warmup": int(warmup),
    }


def keras_call(model: Any, x: np.ndarray) -> Callable[[], Any]:
    """Batch-1 direct call of a Keras model (no ``predict`` overhead)."""
    import tensorflow as tf

    t = tf.constant(np.asarray(x, dtype=np.float32).reshape(1, -1))

    def call() -> Any:
        return model(t, training=False)

    return call


def litert_interpreter(tflite: bytes) -> Any:
    """``ai_edge_litert`` interpreter with the reference kernels (as the quantize stage)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=bytes(tflite), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def litert_call(tflite: bytes, q: np.ndarray) -> Callable[[], np.ndarray]:
    it = litert_interpreter(tflite)
    i_in = it.get_input_details()[0]["index"]
    i_out = it.get_output_details()[0]["index"]
    x = np.asarray(q, dtype=np.int8).reshape(1, -1)

    def call() -> np.ndarray:
        it.set_tensor(i_in, x)
        it.invoke()
        return it.get_tensor(i_out)

    return call


def tflm_interpreter(tflite: bytes, arena_size: int | None = None) -> Any:
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(bytes(tflite), arena_size=arena_size)


def tflm_codes(tflite: bytes, q_in: np.ndarray) -> np.ndarray:
    """int8 output codes of the TFLite Micro interpreter, one reading at a time (as the device)."""
    it = tflm_interpreter(tflite)
    out = np.zeros(len(q_in), dtype=np.int8)
    for i in range(len(q_in)):
        it.set_input(np.asarray(q_in[i : i + 1], dtype=np.int8), 0)
        it.invoke()
        out[i] = np.asarray(it.get_output(0)).reshape(-1)[0]
    return out


def tflm_call(tflite: bytes, q: np.ndarray, arena_size: int | None = None) -> Callable[[], np.ndarray]:
    it = tflm_interpreter(tflite, arena_size)
    x = np.asarray(q, dtype=np.int8).reshape(1, -1)

    def call() -> np.ndarray:
        it.set_input(x, 0)
        it.invoke()
        return it.get_output(0)

    return call


# ------------------------------------------------------------------ arena size
_PROBE = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
it = runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[2]))
d = it.get_input_details(0)
it.set_input(np.zeros(tuple(d["shape"]), dtype=d["dtype"]), 0)
it.invoke()
it.get_output(0)
print("ok")
"""


def _probe(model_path: Path, arena: int) -> bool:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(model_path), str(arena)],
        capture_output=True, text=True, timeout=120,
    )
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def tflm_arena_bytes(tflite: bytes, step: int = 16, start: int | None = None) -> dict[str, int]:
    """Smallest working TFLM arena (bisection to ``step`` bytes, child processes)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(bytes(tflite))
        hi = int(start or max(1024, 4 * len(tflite)))
        while not _probe(path, hi):
            hi *= 2
            if hi > 64 * 1024 * 1024:
                raise RuntimeError("tflm_arena_bytes: the model does not run in a 64 MiB arena")
        lo = 0  # known to fail
        probes = 1
        while hi - lo > step:
            mid = (lo + hi) // 2
            probes += 1
            if _probe(path, mid):
                hi = mid
            else:
                lo = mid
        return {"arena_bytes": int(hi), "resolution_bytes": int(step), "probes": probes}


def tflm_recorded_arena(tflite: bytes, arena_size: int | None = None) -> int:
    """``Arena allocation total`` reported by TFLM's RecordingMicroAllocator after one invoke."""
    it = tflm_interpreter(tflite, arena_size)
    d = it.get_input_details(0)
    it.set_input(np.zeros(tuple(d["shape"]), dtype=d["dtype"]), 0)
    it.invoke()
    sys.stderr.flush()
    fd, tmp = tempfile.mkstemp(suffix=".txt")
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        it.print_allocations()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
    text = Path(tmp).read_text(errors="replace")
    os.unlink(tmp)
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise RuntimeError(f"tflm_recorded_arena: no 'Arena allocation total' in TFLM's report: {text[:300]!r}")
    return int(m.group(1))


def measure_cost(keras_model: Any, tflite: bytes, X_test: np.ndarray, q_in: np.ndarray, runs: int) -> dict[str, Any]:
    """Latency (us per batch-1 inference) and memory of the three interpreters."""
    warmup = max(10, runs // 10)
    x = X_test[0] if len(X_test) else np.zeros(q_in.shape[1])
    q = q_in[0] if len(q_in) else np.zeros(q_in.shape[1], np.int8)
    lat = {
        "keras": time_calls(keras_call(keras_model, x), runs, warmup),
        "litert": time_calls(litert_call(tflite, q), runs, warmup),
        "tflm": time_calls(tflm_call(tflite, q), runs, warmup),
    }
    arena = tflm_arena_bytes(tflite)
    memory = {
        "tflite_bytes": len(tflite),
        "tflm_arena_bytes": arena["arena_bytes"],
        "tflm_arena_resolution_bytes": arena["resolution_bytes"],
        "tflm_arena_recorded_bytes": tflm_recorded_arena(tflite, arena["arena_bytes"] * 2),
    }
    method = {
        "latency": (
            f"in process on this host, time.perf_counter_ns around each of {runs} batch-1 calls after {warmup} "
            "warm-up calls; keras: model(x, training=False) on a prebuilt tensor; litert: ai_edge_litert "
            "Interpreter (BUILTIN_REF kernels) set_tensor+invoke+get_tensor; tflm: tflite_micro runtime "
            "set_input+invoke+get_output"
        ),
        "tflm_arena": (
            "minimum arena_size for which the tflite_micro interpreter builds and invokes, by bisection in child "
            f"processes (resolution {arena['resolution_bytes']} bytes); recorded: RecordingMicroAllocator total"
        ),
    }
    return {"latency_us": lat, "memory": memory, "method": method}



def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="Print the TFLite Micro arena a .tflite model needs.")
    ap.add_argument("tflite")
    args = ap.parse_args(argv)
    data = Path(args.tflite).read_bytes()
    out = tflm_arena_bytes(data)
    out["recorded_total_bytes"] = tflm_recorded_arena(data)
    out["tflite_bytes"] = len(data)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
