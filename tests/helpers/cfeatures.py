"""Test helpers for the generated feature pipeline (tinyad/codegen/features.py).

- ``write_generated(cfg, scaler, quant, out_dir)``: writes ``tinyad_features.h/.c``,
  ``tinyad_config.h`` and the ``tinyad_model_config.h`` they include, the latter made
  by ``tinyad.codegen.model.model_config_header`` from a layer-less model that has the
  input/output quantization of ``quant`` (the feature pipeline needs no weights).
- ``CFeatures(gen_dir)``: compiles the generated ``tinyad_features.c`` with a small
  batch shim into a shared library (host gcc, ``-std=c99 -Wall -Wextra -Werror
  -ffp-contract=off -O2``) and runs it through ctypes: ``run(temp, hum, sow)`` (sow: second of the week, tinyad.device.features.second_of_week) pushes
  each reading, as ``tinyad_app.c`` does for a valid one, after turning it into tenths
  exactly as ``tinyad_sample.c`` does (``lround(x * 10.0)``; a non-number humidity
  becomes 0, which only happens when humidity is unused).
- ``fit_scaler(df, cfg)``: a scaler fitted on the first 60 % of the frame's valid rows.
- ``python_codes(df, features_cfg, scaler, quant)``: the Python reference,
  ``compute_features`` + ``Scaler.transform`` + ``Int8Runtime.quantize`` on the scored rows.
- ``cross_compile_features(target, gen_dir, obj)``: the generated ``tinyad_features.c``
  compiled to an object for a microcontroller ISA of ``cbuild.CROSS_TARGETS`` (-Os,
  warnings as errors, -ffp-contract=off) against that target's C library (picolibc for
  Xtensa and RISC-V, newlib for ARM: the pipeline needs math.h and string.h); returns
  text/data/bss from the target's ``size``.
- ``realistic_quant(X_scaled)``: an int8 input quantization as a post-training
  quantizer derives it from the range of the representative data (float32 scale).
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.helpers.cbuild import CROSS_TARGETS, require_tool, run_checked
from tests.helpers.project import FIRMWARE
from tinyad.codegen.cgen import write_files as write_sources
from tinyad.codegen.device_config import generate_config_header
from tinyad.codegen.features import generate_features_c
from tinyad.codegen.model import model_config_header
from tinyad.config import Config
from tinyad.device.features import Scaler, compute_features, feature_names, second_of_week, valid_readings
from tinyad.device.runtime import Int8Runtime
from tinyad.device.tflite_model import Int8Model, Quant

HOST_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-O2"]

_SHIM = """\
#include <math.h>
#include <stdint.h>
#include "tinyad_features.h"

int cf_n_features(void) { return TINYAD_N_FEATURES; }
int cf_window(void) { return TINYAD_WINDOW; }
int cf_state_bytes(void) { return (int)sizeof(tinyad_features_t); }

/* n valid readings, pushed in order into one fresh window; per reading: the push
 * result, the int8 codes and the unscaled features (both left at 0 when not full). */
void cf_run(const double *temp, const double *hum, const uint32_t *sod, int n,
            int8_t *full, int8_t *codes, double *x)
{
    tinyad_features_t f;
    int i;
    tinyad_features_init(&f);
    for (i = 0; i < n; ++i) {
        const int16_t t10 = (int16_t)lround(temp[i] * 10.0);
        const int16_t h10 = isfinite(hum[i]) ? (int16_t)lround(hum[i] * 10.0) : 0;
        full[i] = (int8_t)tinyad_features_push(&f, t10, h10, sod[i], codes + (long)i * TINYAD_N_FEATURES);
        if (full[i]) tinyad_features_values(&f, sod[i], x + (long)i * TINYAD_N_FEATURES);
    }
}
"""


# the hand-written, model-independent half of the feature pipeline (tinyad_window.h)
FIRMWARE_LIB = FIRMWARE / "lib" / "tinyad"


def write_generated(cfg: Config, scaler: Scaler, quant: dict[str, Any], out_dir: str | Path,
                    prefix: str = "tinyad") -> dict[str, str]:
    files = generate_features_c(cfg.features, scaler, quant, prefix)
    files[f"{prefix}_config.h"] = generate_config_header(cfg, scaler, quant, prefix)
    model = Int8Model(layers=[], input=Quant(float(quant["input"]["scale"]), int(quant["input"]["zero_point"])),
                      output=Quant(float(quant["output"]["scale"]), int(quant["output"]["zero_point"])),
                      n_inputs=len(feature_names(cfg.features)), n_outputs=1, source="test.tflite")
    files[f"{prefix}_model_config.h"] = model_config_header(model, prefix)
    write_sources(files, out_dir)
    return files


class CFeatures:
    """The generated feature pipeline compiled for the host, driven from numpy arrays."""

    def __init__(self, gen_dir: str | Path, build_dir: str | Path | None = None):
        gen = Path(gen_dir)
        self.build_dir = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix="cfeatures-"))
        self.build_dir.mkdir(parents=True, exist_ok=True)
        shim = self.build_dir / "cfeatures_shim.c"
        shim.write_text(_SHIM)
        lib = self.build_dir / "libcfeatures.so"
        gcc = require_tool("gcc", "gcc")
        run_checked([gcc, *HOST_CFLAGS, "-fPIC", "-shared", "-I", str(gen), "-I", str(FIRMWARE_LIB),
                     str(gen / "tinyad_features.c"),
                     str(shim), "-o", str(lib), "-lm"])
        self._lib = ctypes.CDLL(str(lib))
        self.n_features = int(self._lib.cf_n_features())
        self.window = int(self._lib.cf_window())
        self.state_bytes = int(self._lib.cf_state_bytes())
        self._lib.cf_run.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int] + [ctypes.c_void_p] * 3
        self._lib.cf_run.restype = None

    def run(self, temp, hum, sod) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.ascontiguousarray(temp, dtype=np.float64)
        h = np.ascontiguousarray(hum, dtype=np.float64)
        s = np.ascontiguousarray(sod, dtype=np.uint32)
        n = len(t)
        full = np.zeros(n, dtype=np.int8)
        codes = np.zeros((n, self.n_features), dtype=np.int8)
        x = np.zeros((n, self.n_features), dtype=np.float64)
        self._lib.cf_run(t.ctypes.data, h.ctypes.data, s.ctypes.data, n, full.ctypes.data, codes.ctypes.data,
                         x.ctypes.data)
        return full.astype(bool), codes, x

    def run_frame(self, df: pd.DataFrame, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Push the frame's valid readings (the others never reach the window)."""
        ok = valid_readings(df, cfg.features)
        sow = second_of_week(df["timestamp"])
        return self.run(df["temperature"].to_numpy()[ok], df["humidity"].to_numpy()[ok], sow[ok])


def fit_scaler(df: pd.DataFrame, cfg: Config) -> Scaler:
    """The scaler fitted on the first 60 % of the valid rows' features."""
    X, valid = compute_features(df, cfg.features)
    Xv = X[valid]
    return Scaler(features=feature_names(cfg.features)).fit(Xv[: int(0.6 * len(Xv))])


def python_codes(df: pd.DataFrame, cfg: Config, scaler: Scaler, quant: dict[str, Any]):
    """(X float64, X_scaled, codes int8) of the scored rows, as the Python stages compute them."""
    X, valid = compute_features(df, cfg.features)
    Xv = X[valid]
    Xs = scaler.transform(Xv)
    return Xv, Xs, Int8Runtime(None, quant).quantize(Xs)


def realistic_quant(X_scaled: np.ndarray) -> dict[str, Any]:
    """Asymmetric int8 input quantization over the data's range (as TFLite's PTQ does)."""
    lo = min(0.0, float(np.min(X_scaled)))
    hi = max(0.0, float(np.max(X_scaled)))
    scale = float(np.float32((hi - lo) / 255.0))
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return {"input": {"scale": scale, "zero_point": zp}, "output": {"scale": 1.0 / 256.0, "zero_point": -128}}


# The C library each cross target compiles against: (gcc spec file or None, Debian package).
CROSS_LIBC = {
    "xtensa-lx106": ("picolibc.specs", "picolibc-xtensa-lx106-elf", "xtensa-lx106-elf"),
    "rv32imc": ("picolibc.specs", "picolibc-riscv64-unknown-elf", "riscv64-unknown-elf"),
    "cortex-m4": (None, "libnewlib-arm-none-eabi", "arm-none-eabi"),
}
CROSS_FEATURE_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-Os"]


def _specs_flags(target: str, cc: str) -> list[str]:
    specs, package, triple = CROSS_LIBC[target]
    if specs is None:
        probe = subprocess.run([cc, "-E", "-x", "c", "-", "-o", "/dev/null"], input="#include <math.h>\n",
                               text=True, capture_output=True)
        if probe.returncode != 0:
            raise AssertionError(f"{cc} finds no math.h: install it with `apt-get install -y {package}`")
        return []
    found = run_checked([cc, f"-print-file-name={specs}"]).stdout.strip()
    for cand in (Path(found), Path("/usr/lib") / triple / specs):
        if cand.is_absolute() and cand.is_file():
            return [f"--specs={cand}"]
    raise AssertionError(f"{specs} for {cc} not found: install it with `apt-get install -y {package}`")


def cross_compile_features(target: str, gen_dir: Path, obj: Path) -> dict[str, int]:
    cmd, size_tool, package = CROSS_TARGETS[target]
    cc = require_tool(cmd[0], package)
    size = require_tool(size_tool, package.replace("gcc-", "binutils-"))
    obj.parent.mkdir(parents=True, exist_ok=True)
    run_checked([cc, *cmd[1:], *_specs_flags(target, cc), *CROSS_FEATURE_CFLAGS, "-I", str(gen_dir),
                 "-I", str(FIRMWARE_LIB), "-c",
                 str(gen_dir / "tinyad_features.c"), "-o", str(obj)])
    out = run_checked([size, str(obj)]).stdout.splitlines()
    text, data, bss = (int(v) for v in out[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def write_firmware_sources(tflite: str | Path, cfg: Config, scaler: Scaler, gen_dir: str | Path) -> dict[str, Any]:
    """Everything the firmware includes, generated into ``gen_dir`` as the codegen stage
    does: the model sources from ``tflite``, the feature pipeline and the config header.
    Returns the model's input/output quantization (the ``quant.json`` shape)."""
    from tinyad.codegen.model import generate
    from tinyad.device.tflite_model import read_tflite

    generate(tflite, gen_dir)
    model = read_tflite(tflite)
    quant = {"input": {"scale": model.input.scale, "zero_point": model.input.zero_point},
             "output": {"scale": model.output.scale, "zero_point": model.output.zero_point}}
    files = generate_features_c(cfg.features, scaler, quant)
    files["tinyad_config.h"] = generate_config_header(cfg, scaler, quant)
    write_sources(files, gen_dir)
    return quant


def build_host_simulator(gen_dir: str | Path, exe: str | Path, defines: list[str] | tuple = ()) -> Path:
    """The portable firmware (lib/tinyad) and the host simulator compiled with gcc on
    the generated sources, warnings as errors."""
    lib, host, gen = FIRMWARE_LIB, FIRMWARE / "src" / "host", Path(gen_dir)
    run_checked([require_tool("gcc", "gcc"), "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wpedantic",
                 "-ffp-contract=off", "-O2", *defines, "-I", str(lib), "-I", str(gen), "-I", str(host),
                 *map(str, sorted(lib.glob("*.c"))), *map(str, sorted(host.glob("*.c"))),
                 str(gen / "tinyad_features.c"), str(gen / "tinyad_model.c"), "-o", str(exe), "-lm"])
    return Path(exe)


def host_simulator_status(exe: str | Path, df: pd.DataFrame, csv_path: str | Path) -> list[dict]:
    """Feed the frame's readings (CSV, full precision) to the simulator; its status lines."""
    import json

    with open(csv_path, "w") as fh:
        fh.write("timestamp,temperature,humidity\n")
        for ts, t, h in zip(df["timestamp"], df["temperature"], df["humidity"]):
            fh.write(f"{ts:%Y-%m-%d %H:%M:%S},{t!r},{h!r}\n")
    out = run_checked([str(exe), "--status-every", "1", str(csv_path)]).stdout.splitlines()
    return [json.loads(line) for line in out if '"event":"status"' in line]
