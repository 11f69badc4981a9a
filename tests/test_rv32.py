"""The portable firmware on the ESP32-C3's instruction set, rv32imc, under QEMU.

On the default pipeline that the ``pipeline`` fixture reproduced, the host simulator,
``firmware/lib/tinyad`` and the generated C are built twice from the same sources:
with the host's gcc (``tests/helpers/cfeatures.py: build_host_simulator``) and for rv32imc against
picolibc with semihosting (``tinyad.board.rv32.build``, ``-Os -Werror``), then both are fed
the same raw readings and the rv32 program's serial lines must equal the host's byte
for byte:

- the test split as a fresh device sees it, in the default configuration (alert
  mode, the generated ``TINYAD_STATUS_EVERY``), with a status line for every reading
  (every score printed), in log mode (``-D TINYAD_LOG_MODE=1``) and with the drift
  remedy on (``-D TINYAD_BASELINE_CORRECTION=1`` at params ``drift.*`` and the train
  split's reference levels); every build is TFLM-free (the generated plain-C model);
- a synthetic room with every kind of failed read and mixed timestamp formats;
- the time-of-day features for every second of the day (``tod_sin``/``tod_cos``,
  libm-free, ``tinyad.device.features.tod_sin_cos``), exhaustively.

The minstret counts (``#rv32-counts``) are checked to count what they claim: one
inference a scored reading, one step a reading.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.helpers.cfeatures import FIRMWARE_LIB, build_host_simulator
from tests.helpers.firmware import synthetic_rows
from tinyad.board import rv32
from tinyad.config import load
from tinyad.device.baseline import reference_levels
from tinyad.device.features import compute_features

pytestmark = pytest.mark.slow


def _field(x: float) -> str:
    return "" if isinstance(x, float) and math.isnan(x) else f"{x:.1f}"


@pytest.fixture(scope="module")
def run(pipeline, tmp_path_factory):
    root = pipeline.root
    work = tmp_path_factory.mktemp("rv32")
    dataset = pd.read_parquet(root / "data/processed/dataset.parquet")
    test = dataset[dataset["split"] == "test"].reset_index(drop=True)
    with open(work / "test.csv", "w") as fh:
        fh.write("timestamp,temperature,humidity\n")
        for ts, t, h in zip(test["timestamp"], test["temperature"], test["humidity"]):
            fh.write(f"{ts:%Y-%m-%d %H:%M:%S},{_field(t)},{_field(h)}\n")
    with open(work / "synthetic.csv", "w") as fh:
        fh.write("timestamp,temperature,humidity\n")
        fh.writelines(f"{t},{a},{b}\n" for t, a, b in synthetic_rows(seed=15, n=2000))
    return {"root": root, "work": work, "gen": root / "firmware/lib/generated", "cfg": load(root / "params.yaml"),
            "dataset": dataset, "test": test}


def remedy_defines(run) -> list[str]:
    cfg = run["cfg"]
    train = run["dataset"][run["dataset"]["split"] == "train"]
    ref_t, ref_h = reference_levels(train)
    return ["-DTINYAD_BASELINE_CORRECTION=1", f"-DTINYAD_BASELINE_SHIFT={cfg.drift.baseline_shift}",
            f"-DTINYAD_BASELINE_FRAC_BITS={cfg.drift.baseline_frac_bits}",
            f"-DTINYAD_BASELINE_REF_TEMP10={ref_t}", f"-DTINYAD_BASELINE_REF_HUM10={ref_h}"]


def host_and_target(run, name: str, defines: list[str], args: list[str], count: str = "model"):
    work = run["work"]
    host = build_host_simulator(run["gen"], work / f"host-{name}", defines)
    h = subprocess.run([str(host), *args], cwd=work, capture_output=True, timeout=300)
    assert h.returncode == 0 and h.stderr == b"", h.stderr[-2000:]
    exe = rv32.build(run["gen"], work / f"rv32-{name}-{count}.elf", defines, count=count)
    t = rv32.run_program(exe, args, cwd=work)
    return h, t, exe


CONFIGS = {
    "default": ([], []),
    "status-every-1": ([], ["--status-every", "1"]),
    "log-mode": (["-DTINYAD_LOG_MODE=1"], []),
}


@pytest.mark.parametrize("name", [*CONFIGS, "drift-remedy"])
def test_rv32_serial_lines_equal_the_host_firmware_on_the_test_split(run, name):
    defines, args = CONFIGS.get(name, (None, []))
    if defines is None:
        defines = remedy_defines(run)
    h, t, exe = host_and_target(run, name, defines, [*args, "test.csv"])
    assert t.returncode == 0, t.serial[-2000:]
    assert t.serial == h.stdout, _first_difference(t.serial, h.stdout)
    lines = h.stdout.decode().splitlines()
    n = len(run["test"])
    assert len(lines) >= (n if name in ("status-every-1", "log-mode") else 100)
    assert sum('"event":"alert"' in ln for ln in lines) >= 5
    # the inference ran once a scored reading: what the counts divide by
    _, valid = compute_features(run["test"][["timestamp", "temperature", "humidity", "fault"]], run["cfg"].features)
    if name != "drift-remedy":
        assert t.counts["fn"] == "tinyad_model_invoke" and t.counts["calls"] == int(valid.sum()) > 1000
    assert 100 < t.counts["min"] <= t.counts["max"] < 100_000
    # TFLM-free: the plain-C model, no interpreter linked
    syms = subprocess.run(["riscv64-unknown-elf-nm", str(exe)], capture_output=True, text=True, check=True).stdout
    assert " T tinyad_model_invoke" in syms and "tflm" not in syms.lower()


def test_rv32_equals_the_host_on_faults_and_mixed_timestamps(run):
    h, t, _ = host_and_target(run, "synthetic", [], ["--status-every", "1", "synthetic.csv"], count="step")
    assert t.serial == h.stdout, _first_difference(t.serial, h.stdout)
    text = h.stdout.decode()
    assert all(f'"reason":"{r}"' in text for r in ("nan", "dht_error", "impossible"))
    assert t.counts["fn"] == "tinyad_app_step" and t.counts["calls"] == 2000


def test_missing_cross_tool_fails_naming_the_package():
    with pytest.raises(rv32.ToolMissing, match="install the Debian package qemu-system-misc"):
        rv32.require(("qemu-system-riscv32-not-installed", "qemu-system-misc"))


def _first_difference(a: bytes, b: bytes) -> str:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return f"first difference at byte {i}: rv32 {a[max(0, i - 80):i + 80]!r} host {b[max(0, i - 80):i + 80]!r}"


_TOD_DRIVER = """\
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "tinyad_features.h"

/* The time-of-day features of every second of the day, through the generated
 * tinyad_features_values(): FNV-1a 64 of their bits, and every 3600th value. */
int main(void)
{
    tinyad_features_t f;
    double x[TINYAD_N_FEATURES];
    uint64_t h = 1469598103934665603ull, bits;
    uint32_t sod;
    int j, k;
    const int idx[2] = {TOD_SIN_J, TOD_COS_J};
    tinyad_features_init(&f);
    f.count = TINYAD_WINDOW;
    for (sod = 0; sod < 86400u; ++sod) {
        tinyad_features_values(&f, sod, x);
        for (k = 0; k < 2; ++k) {
            memcpy(&bits, &x[idx[k]], sizeof bits);
            for (j = 0; j < 8; ++j) {
                h = (h ^ ((bits >> (8 * j)) & 0xffu)) * 1099511628211ull;
            }
            if (sod % 3600u == 0) {
                printf("%lu %d %016llx\\n", (unsigned long)sod, k, (unsigned long long)bits);
            }
        }
    }
    printf("fnv %016llx\\n", (unsigned long long)h);
    return 0;
}
"""


def test_time_of_day_features_equal_python_for_every_second_of_the_day_on_rv32(run):
    from tinyad.device.features import feature_names, tod_sin_cos

    names = feature_names(run["cfg"].features)
    assert "tod_sin" in names and "tod_cos" in names
    drv = run["work"] / "tod_driver.c"
    drv.write_text(_TOD_DRIVER)
    exe = rv32.compile_elf([drv, run["gen"] / "tinyad_features.c"], run["work"] / "tod.elf",
                           [run["gen"], FIRMWARE_LIB],
                           [f"-DTOD_SIN_J={names.index('tod_sin')}", f"-DTOD_COS_J={names.index('tod_cos')}"])
    out = rv32.run_console(exe).stderr.decode().splitlines()
    s, c = tod_sin_cos(np.arange(86400))
    both = np.stack([s, c], axis=1).view(np.uint64)  # [sod, k] bits
    h = 1469598103934665603
    for byte in both.reshape(-1).astype("<u8").tobytes():
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    want = [f"{sod} {k} {int(both[sod, k]):016x}" for sod in range(0, 86400, 3600) for k in range(2)]
    assert out[:-1] == want
    assert out[-1] == f"fnv {h:016x}"


def test_the_pipeline_metrics_count_the_whole_per_reading_path_beside_one_inference(run):
    """metrics/codegen.json (`dvc metrics show`): the per-reading path on rv32imc holds the
    inference and more (validation, features, alerts, the serial line)."""
    import json

    m = json.loads((run["root"] / "metrics" / "codegen.json").read_text())
    step, model = m["instructions_per_reading"], m["instructions_per_inference"]["rv32imc"]
    assert step["rv32imc"] > model > 0
    assert step["rv32imc_max"] >= step["rv32imc"]
    assert "tinyad_app_step" in m["instructions_method"]["rv32imc_per_reading"]
