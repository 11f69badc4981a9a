"""Test helpers: build generated C with the host compiler and drive it from Python.

- ``CModel(generated_dir).predict(q_in)``: compiles ``<prefix>_model.c`` with a tiny
  batch shim into a shared library (gcc, ``-std=c99 -Wall -Wextra -Werror -pedantic``)
  and runs it through ctypes, one ``<prefix>_model_invoke`` a row.
- ``tflm_predict(model_bytes, q_in)``: the TensorFlow Lite Micro interpreter (the
  ``tflite-micro`` wheel), batch 1 per invoke.
- ``make_mlp_tflite(sizes, activation, seed, path)``: a small Keras MLP
  Dense(act)...Dense(1, sigmoid) converted to a full-int8 .tflite (TensorFlow needed).
- ``default_shape()``, ``DEFAULT_VARIANT``: the shape of the model the pipeline trains by
  default (params.yaml), the first of ``MLP_VARIANTS``.
- ``extreme_inputs(model)``: all -128, all 127, alternating, and per first-layer neuron
  the inputs that drive its accumulator to either end (saturating sums).

Used by tests/test_int8_exact.py, tests/test_codegen.py, tests/test_cross_compile.py,
tests/helpers/cfeatures.py and benchmarks/bench_inference.py.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.helpers.project import ROOT

HOST_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]


def run_checked(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, text=True, capture_output=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def require_tool(tool: str, apt_package: str) -> str:
    """Path of ``tool``; fails (never skips) naming the Debian package that provides it."""
    path = shutil.which(tool)
    if path is None:
        raise AssertionError(f"{tool} not found: install it with `apt-get install -y {apt_package}`")
    return path


_SHIM = """\
#include <stdint.h>
#include "{p}_model.h"
int cmodel_n_inputs(void) {{ return {P}_N_INPUTS; }}
int cmodel_n_outputs(void) {{ return {P}_N_OUTPUTS; }}
void cmodel_predict(const int8_t *in, int8_t *out, int n)
{{
    int i;
    for (i = 0; i < n; ++i) {p}_model_invoke(in + i * {P}_N_INPUTS, out + i * {P}_N_OUTPUTS);
}}
"""


class CModel:
    """The generated ``<prefix>_model_invoke`` compiled for the host, callable on arrays."""

    def __init__(self, generated_dir: str | Path, prefix: str = "tinyad", build_dir: str | Path | None = None,
                 cflags: list[str] | None = None):
        gen = Path(generated_dir)
        self.build_dir = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix="cmodel-"))
        self.build_dir.mkdir(parents=True, exist_ok=True)
        shim = self.build_dir / "cmodel_shim.c"
        shim.write_text(_SHIM.format(p=prefix, P=prefix.upper()))
        lib = self.build_dir / f"lib{prefix}_model.so"
        gcc = require_tool("gcc", "gcc")
        run_checked([gcc, *(cflags or HOST_CFLAGS), "-fPIC", "-shared", "-I", str(gen),
                     str(gen / f"{prefix}_model.c"), str(shim), "-o", str(lib)])
        self._lib = ctypes.CDLL(str(lib))
        self.n_inputs = int(self._lib.cmodel_n_inputs())
        self.n_outputs = int(self._lib.cmodel_n_outputs())
        self._lib.cmodel_predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._lib.cmodel_predict.restype = None

    def predict(self, q_in) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(q_in, dtype=np.int8).reshape(-1, self.n_inputs))
        out = np.zeros((x.shape[0], self.n_outputs), dtype=np.int8)
        self._lib.cmodel_predict(x.ctypes.data, out.ctypes.data, x.shape[0])
        return out


def tflm_predict(model_bytes: bytes, q_in) -> np.ndarray:
    """Run the TensorFlow Lite Micro interpreter row by row (batch 1 per invoke)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(model_bytes))
    x = np.asarray(q_in, dtype=np.int8)
    shape = tuple(interp.get_input_details(0)["shape"])
    outs = []
    for row in x.reshape(-1, shape[-1]):
        interp.set_input(row.reshape(shape), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs).astype(np.int8)


def extreme_inputs(model) -> np.ndarray:
    """Edge-case int8 inputs: constant, alternating and accumulator-saturating rows."""
    n = model.n_inputs
    rows = [np.full(n, -128), np.full(n, 127), np.zeros(n), np.full(n, model.input.zero_point),
            np.where(np.arange(n) % 2, 127, -128), np.where(np.arange(n) % 2, -128, 127)]
    W = model.dense_layers[0].weights
    for w in W:
        rows.append(np.where(w > 0, 127, -128))
        rows.append(np.where(w > 0, -128, 127))
    return np.stack(rows).astype(np.int8)


def make_mlp_tflite(sizes: list[int], activation: str, seed: int, path: str | Path,
                    per_channel: bool = True) -> Path:
    """Build a Keras MLP ``sizes[0] -> ... -> sizes[-1]`` (sigmoid output) and convert it to
    full-int8 (int8 input and output) with a representative dataset.  Biases are drawn
    at random so that the converter keeps them (all-zero biases get dropped)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from tinyad.learn.quantization import convert_int8  # the pipeline's own converter settings

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    layers = [keras.Input((sizes[0],))]
    layers += [keras.layers.Dense(h, activation=activation) for h in sizes[1:-1]]
    layers += [keras.layers.Dense(sizes[-1], activation="sigmoid")]
    model = keras.Sequential(layers)
    for layer in model.layers:
        w, b = layer.get_weights()
        layer.set_weights([w, rng.normal(0.0, 0.3, size=b.shape).astype(np.float32)])
    X = (rng.normal(size=(400, sizes[0])) * rng.uniform(0.5, 2.0, size=sizes[0])).astype(np.float32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(convert_int8(model, X[:200], per_channel=per_channel))
    return path


def default_shape(params: str | Path | None = None) -> tuple[list[int], str]:
    """Layer sizes and hidden activation of the model the pipeline trains by default:
    one input a feature of ``features`` in params.yaml, ``model.hidden``, one output."""
    from tinyad.config import load
    from tinyad.device.features import feature_names

    cfg = load(params or ROOT / "params.yaml")
    return [len(feature_names(cfg.features)), *cfg.model.hidden, 1], cfg.model.activation


_DEFAULT_SIZES, _DEFAULT_ACT = default_shape()
DEFAULT_VARIANT = f"mlp{'-'.join(map(str, _DEFAULT_SIZES))}-{_DEFAULT_ACT}"

# The model variants the tests and the benchmark use: name -> (layer sizes, activation, per-channel)
MLP_VARIANTS: dict[str, tuple[list[int], str, bool]] = {
    DEFAULT_VARIANT: (_DEFAULT_SIZES, _DEFAULT_ACT, True),  # the default shape (params.yaml)
    "mlp4-8-1-tanh": ([4, 8, 1], "tanh", True),
    "mlp6-32-16-8-1-relu6": ([6, 32, 16, 8, 1], "relu6", True),
    "mlp5-12-1-relu-per-tensor": ([5, 12, 1], "relu", False),
}


def variant_tflite(name: str, root: str | Path, seed: int = 1) -> Path:
    """The .tflite of an MLP_VARIANTS entry under ``root`` (built once, then reused)."""
    sizes, act, per_channel = MLP_VARIANTS[name]
    path = Path(root) / f"{name}-s{seed}.tflite"
    if not path.is_file():
        make_mlp_tflite(sizes, act, seed, path, per_channel=per_channel)
    return path


def test_inputs(model, n_random: int = 3000, seed: int = 0) -> np.ndarray:
    """Extreme rows plus ``n_random`` uniform int8 rows (seeded)."""
    rng = np.random.default_rng(seed)
    rand = rng.integers(-128, 128, size=(n_random, model.n_inputs))
    return np.concatenate([extreme_inputs(model), rand]).astype(np.int8)


test_inputs.__test__ = False  # not a pytest test


# ------------------------------------------------------------ cross compilers
# target -> (compiler command, size tool, Debian package).  -ffreestanding: the generated
# inference needs only <stdint.h>, which GCC itself provides for freestanding builds
# (the bare-metal xtensa/riscv toolchains ship no C library headers of their own).
CROSS_TARGETS: dict[str, tuple[list[str], str, str]] = {
    "xtensa-lx106": (["xtensa-lx106-elf-gcc", "-mlongcalls"], "xtensa-lx106-elf-size", "gcc-xtensa-lx106"),
    "rv32imc": (["riscv64-unknown-elf-gcc", "-march=rv32imc", "-mabi=ilp32"], "riscv64-unknown-elf-size",
                "gcc-riscv64-unknown-elf"),
    "cortex-m4": (["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb"], "arm-none-eabi-size", "gcc-arm-none-eabi"),
}
CROSS_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffreestanding", "-Os"]


def cross_compile_size(target: str, source: Path, include_dir: Path, obj: Path, opt: str = "-Os") -> dict[str, int]:
    """Compile one C file to an object for ``target`` (``opt``, default -Os; warnings as
    errors) and return its sizes from the target's ``size``: text, data, bss (bytes)."""
    cmd, size_tool, package = CROSS_TARGETS[target]
    cc = require_tool(cmd[0], package)
    size = require_tool(size_tool, package)
    obj.parent.mkdir(parents=True, exist_ok=True)
    flags = [f for f in CROSS_CFLAGS if not f.startswith("-O")] + [opt]
    run_checked([cc, *cmd[1:], *flags, "-I", str(include_dir), "-c", str(source), "-o", str(obj)])
    out = run_checked([size, str(obj)]).stdout.splitlines()
    text, data, bss = (int(v) for v in out[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}
