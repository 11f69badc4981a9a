"""What the ``codegen`` stage generates: its inputs, its emitters and its metrics.

An emitter is a function ``(CodegenInputs) -> {file name: C text}``; :data:`EMITTERS`
lists them (one each for the model's data, the model's config, the model, the
features and the device config), :func:`generate_files` runs them and
:func:`tinyad.codegen.cgen.write_files` is the one writer.  Adding an emitter: write the
function and append it to ``EMITTERS``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tinyad.codegen.device_config import generate_config_header
from tinyad.codegen.features import generate_features_c
from tinyad.codegen.model import (TFLM_ARENA_MARGIN, model_config_header, model_data_sources, model_sizes,
                                  model_sources, tflm_arena_bytes)
from tinyad.config import Config
from tinyad.device.features import Scaler
from tinyad.io import read_json
from tinyad.device.tflite_model import Int8Model

__all__ = ["CodegenInputs", "EMITTERS", "check_quant", "codegen_metrics", "count_instructions", "generate_files",
           "read_evaluate_metrics"]


@dataclass
class CodegenInputs:
    """Everything an emitter may use (read once by the stage)."""

    cfg: Config
    prefix: str
    tflite: bytes
    tflite_name: str
    model: Int8Model
    quant: dict
    scaler_path: Path
    style: str
    tflm_arena_measured: int | None = None  # evaluate's memory.tflm_arena_bytes
    reference_levels: tuple[int, int] | None = None  # evaluate's drift.ref_temp10 / ref_hum10


def emit_model_data(ctx: CodegenInputs) -> dict[str, str]:
    return model_data_sources(ctx.tflite, ctx.prefix, source=ctx.tflite_name)


def emit_model_config(ctx: CodegenInputs) -> dict[str, str]:
    return {f"{ctx.prefix}_model_config.h": model_config_header(ctx.model, ctx.prefix, ctx.tflm_arena_measured)}


def emit_model(ctx: CodegenInputs) -> dict[str, str]:
    return model_sources(ctx.model, ctx.prefix, ctx.style)


def emit_features(ctx: CodegenInputs) -> dict[str, str]:
    """The device's feature pipeline, bit-exact with tinyad/device/features.py."""
    return generate_features_c(ctx.cfg.features, Scaler.load(ctx.scaler_path), ctx.quant, ctx.prefix)


def emit_config(ctx: CodegenInputs) -> dict[str, str]:
    """Every device constant (tinyad.codegen.device_config.DEVICE_CONSTANTS)."""
    header = generate_config_header(ctx.cfg, Scaler.load(ctx.scaler_path), ctx.quant, ctx.prefix,
                                    ctx.reference_levels)
    return {f"{ctx.prefix}_config.h": header}


EMITTERS: list[Callable[[CodegenInputs], dict[str, str]]] = [
    emit_model_data,
    emit_model_config,
    emit_model,
    emit_features,
    emit_config,
]


def check_quant(model: Int8Model, quant: dict, quant_path: str) -> None:
    """quant.json must describe the same input/output quantization as the flatbuffer."""
    for side, q in (("input", model.input), ("output", model.output)):
        try:
            scale = float(quant[side]["scale"])
            zp = int(quant[side]["zero_point"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{quant_path}: key '{side}.scale'/'{side}.zero_point' missing or not a number ({exc})") from None
        if zp != q.zero_point or abs(scale - q.scale) > 1e-6 * q.scale:
            raise ValueError(
                f"{quant_path}: {side} quantization (scale {scale}, zero point {zp}) differs from the "
                f".tflite's (scale {q.scale}, zero point {q.zero_point}); rerun quantize"
            )


def generate_files(ctx: CodegenInputs, emitters=None) -> dict[str, str]:
    """Run the emitters; two emitters writing the same file name is an error."""
    files: dict[str, str] = {}
    for emit in emitters or EMITTERS:
        for name, text in emit(ctx).items():
            if name in files:
                raise ValueError(f"codegen: two emitters write {name}")
            files[name] = text
    return files


def read_evaluate_metrics(path: str) -> tuple[int, tuple[int, int] | None]:
    """evaluate's measured TFLM arena (``memory.tflm_arena_bytes``) and, when present, the
    drift remedy's reference levels (``drift.ref_temp10`` / ``ref_hum10``)."""
    m = read_json(path)
    try:
        arena = int(m["memory"]["tflm_arena_bytes"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: no memory.tflm_arena_bytes (rerun evaluate)") from None
    try:
        ref = (int(m["drift"]["ref_temp10"]), int(m["drift"]["ref_hum10"]))
    except (KeyError, TypeError, ValueError):
        ref = None
    return arena, ref


def codegen_metrics(ctx: CodegenInputs, files: dict[str, str]) -> dict:
    """metrics/codegen.json without the instruction counts: sizes, MACs, style, files, arena."""
    metrics = model_sizes(ctx.model, ctx.tflite)
    metrics.update({"style": ctx.style, "files": sorted(files)})
    if ctx.tflm_arena_measured is not None:
        metrics["tflm_arena"] = {"measured_bytes": ctx.tflm_arena_measured, "margin": TFLM_ARENA_MARGIN,
                                 "generated_bytes": tflm_arena_bytes(ctx.tflm_arena_measured)}
    return metrics


# inferences counted per build (deterministic counts: a few suffice)
COUNT_K = 200
COUNT_K_TFLM = 20
COUNT_OPT = "-Os"  # the Arduino-ESP32 default, the build that ships


def count_instructions(gen: Path, tflite: Path, macs: int, prefix: str) -> dict:
    """Instructions per inference of the generated C at -Os on x86-64 and rv32imc, and TFLM on x86-64."""
    from tinyad.board import icount

    with tempfile.TemporaryDirectory(prefix="codegen-count-") as tmp:
        work = Path(tmp)
        x86 = icount.x86_model_instructions(gen, work / "x86", COUNT_K, COUNT_OPT, prefix)
        rv = icount.rv32_model_instructions(gen, work / "rv32", COUNT_K, COUNT_OPT)
        step = icount.rv32_step_instructions(gen, work / "rv32-step", COUNT_OPT)
        tf = icount.tflm_x86_instructions(tflite, work / "tflm", COUNT_K_TFLM)
    return {
        "instructions_per_inference": {"x86_64": x86["per_inference"], "rv32imc": rv["per_inference"],
                                       "tflm_x86_64": tf["per_inference"]},
        "instructions_per_mac": {"x86_64": x86["per_inference"] / macs, "rv32imc": rv["per_inference"] / macs},
        # the whole per-reading path (tinyad_app_step), on the target ISA only
        "instructions_per_reading": {"rv32imc": step["per_reading"], "rv32imc_max": step["max"]},
        # TFLM cannot be built for rv32imc here: both ratios divide by its x86-64 count
        "tflm_ratio": {"x86_64": tf["per_inference"] / x86["per_inference"],
                       "tflm_x86_64_over_rv32imc": tf["per_inference"] / rv["per_inference"]},
        "instructions_method": {"x86_64": x86["method"], "rv32imc": rv["method"], "tflm_x86_64": tf["method"],
                                "rv32imc_per_reading": step["method"]},
    }
