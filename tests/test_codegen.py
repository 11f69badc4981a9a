"""The generated C: bit-exact with TensorFlow Lite Micro, C99-clean, and the stage's files.

For every MLP variant (tests/helpers/cbuild.py: MLP_VARIANTS) and both layouts, the generated
``tinyad_model.c`` is compiled with ``gcc -std=c99 -Wall -Wextra -Werror -pedantic`` and
its outputs on thousands of random and extreme int8 inputs must equal the TFLM
interpreter's exactly.
"""

from __future__ import annotations

import ctypes
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.cbuild import DEFAULT_VARIANT, HOST_CFLAGS, MLP_VARIANTS, CModel, require_tool, run_checked, test_inputs, tflm_predict, variant_tflite
from tinyad.codegen.cgen import BANNER
from tinyad.codegen.model import STYLES, generate, model_sources
from tinyad.device.model import run_model
from tinyad.device.tflite_model import UnsupportedModelError, parse_tflite, read_tflite

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("variant", list(MLP_VARIANTS))
def test_generated_c_equals_tflm(model_dir, tmp_path, variant, style):
    path = variant_tflite(variant, model_dir)
    model = read_tflite(path)
    generate(path, tmp_path / "gen", style=style)
    x = test_inputs(model, 3000, seed=list(MLP_VARIANTS).index(variant))
    ref = tflm_predict(path.read_bytes(), x)
    got = CModel(tmp_path / "gen", build_dir=tmp_path / "build").predict(x)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(run_model(model, x), ref)


def test_generated_files_banner_and_symbols(model_dir, tmp_path):
    path = variant_tflite(DEFAULT_VARIANT, model_dir)
    files = generate(path, tmp_path / "gen", prefix="tinyad")
    names = sorted(p.name for p in files)
    assert names == ["tinyad_model.c", "tinyad_model.h", "tinyad_model_config.h", "tinyad_model_data.c", "tinyad_model_data.h"]
    for p in files:
        assert p.read_text().startswith("/* " + BANNER), p.name
    cfg = (tmp_path / "gen" / "tinyad_model_config.h").read_text()
    sizes = MLP_VARIANTS[DEFAULT_VARIANT][0]
    assert f"#define TINYAD_N_INPUTS {sizes[0]}" in cfg and "#define TINYAD_N_OUTPUTS 1" in cfg
    assert "#define TINYAD_OUTPUT_ZERO_POINT (-128)" in cfg
    assert "void tinyad_model_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);" in (
        tmp_path / "gen" / "tinyad_model.h").read_text()


def test_flatbuffer_array_is_the_file_and_aligned(model_dir, tmp_path):
    path = variant_tflite("mlp4-8-1-tanh", model_dir)
    gen = tmp_path / "gen"
    generate(path, gen)
    lib = tmp_path / "libdata.so"
    run_checked([require_tool("gcc", "gcc"), *HOST_CFLAGS, "-fPIC", "-shared", "-I", str(gen),
                 str(gen / "tinyad_model_data.c"), "-o", str(lib)])
    so = ctypes.CDLL(str(lib))
    n = ctypes.c_uint.in_dll(so, "tinyad_model_tflite_len").value
    arr = (ctypes.c_ubyte * n).in_dll(so, "tinyad_model_tflite")
    assert bytes(arr) == path.read_bytes()
    assert ctypes.addressof(arr) % 16 == 0


def test_headers_are_valid_cplusplus(model_dir, tmp_path):
    path = variant_tflite("mlp4-8-1-tanh", model_dir)
    gen = tmp_path / "gen"
    generate(path, gen)
    src = tmp_path / "use.cc"
    src.write_text('#include "tinyad_model.h"\n#include "tinyad_model_data.h"\n'
                   "int main() { int8_t in[TINYAD_N_INPUTS] = {0}; int8_t out[TINYAD_N_OUTPUTS];\n"
                   "  tinyad_model_invoke(in, out); return (int)tinyad_model_tflite_len + out[0]; }\n")
    gxx = require_tool("g++", "g++")
    run_checked([gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", str(gen), "-c", str(src), "-o", str(tmp_path / "use.o")])
    # and the C sources themselves compile and link with it
    gcc = require_tool("gcc", "gcc")
    run_checked([gcc, *HOST_CFLAGS, "-I", str(gen), "-c", str(gen / "tinyad_model.c"), "-o", str(tmp_path / "m.o")])
    run_checked([gcc, *HOST_CFLAGS, "-I", str(gen), "-c", str(gen / "tinyad_model_data.c"), "-o", str(tmp_path / "d.o")])
    run_checked([gxx, str(tmp_path / "use.o"), str(tmp_path / "m.o"), str(tmp_path / "d.o"), "-o", str(tmp_path / "use")])
    assert subprocess.run([str(tmp_path / "use")]).returncode >= 0


def test_prefix_changes_every_symbol(model_dir, tmp_path):
    path = variant_tflite("mlp4-8-1-tanh", model_dir)
    gen = tmp_path / "gen"
    generate(path, gen, prefix="room")
    assert (gen / "room_model.c").is_file()
    x = test_inputs(read_tflite(path), 200)
    np.testing.assert_array_equal(CModel(gen, prefix="room", build_dir=tmp_path / "b").predict(x),
                                  tflm_predict(path.read_bytes(), x))
    with pytest.raises(ValueError, match="not a C identifier"):
        generate(path, gen, prefix="9bad-name")


def _with_op_replaced(model_bytes: bytes, op_name: str) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(model_bytes), 0))
    code = getattr(fb.BuiltinOperator, op_name)
    last = m.subgraphs[0].operators[-1]
    m.operatorCodes[last.opcodeIndex].builtinCode = code
    m.operatorCodes[last.opcodeIndex].deprecatedBuiltinCode = min(code, 127)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_unsupported_op_is_named(model_dir):
    data = _with_op_replaced(variant_tflite("mlp4-8-1-tanh", model_dir).read_bytes(), "SOFTMAX")
    with pytest.raises(UnsupportedModelError, match=r"m\.tflite: operator 3: operator SOFTMAX is not supported"):
        parse_tflite(data, source="m.tflite")


def test_not_a_tflite_is_refused(tmp_path):
    with pytest.raises(UnsupportedModelError, match="not a TFLite flatbuffer"):
        parse_tflite(b"\x00" * 64, source="junk.bin")
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        generate(tmp_path / "missing.tflite", tmp_path / "gen")


def test_style_is_checked(model_dir):
    model = read_tflite(variant_tflite("mlp4-8-1-tanh", model_dir))
    with pytest.raises(ValueError, match="codegen style"):
        model_sources(model, "tinyad", "fancy")


def _quant_json(model) -> dict:
    """quant.json as the quantize stage writes it, with a calibrated decision threshold."""
    return {"input": {"scale": model.input.scale, "zero_point": model.input.zero_point},
            "output": {"scale": model.output.scale, "zero_point": model.output.zero_point},
            "decision": {"threshold": 0.5}}


def test_stage_main_writes_files_and_metrics(model_dir, tmp_path):
    from tinyad.stage import stage_main

    codegen_main = stage_main("codegen")

    path = variant_tflite(DEFAULT_VARIANT, model_dir)
    model = read_tflite(path)
    quant = tmp_path / "quant.json"
    quant.write_text(json.dumps(_quant_json(model)))
    from tinyad.config import load
    from tinyad.device.features import feature_names

    names = feature_names(load(ROOT / "params.yaml").features)
    assert len(names) == model.n_inputs
    scaler = tmp_path / "scaler.json"
    scaler.write_text(json.dumps({"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names)}))
    out, metrics = tmp_path / "generated", tmp_path / "metrics" / "codegen.json"
    codegen_main(["--params", str(ROOT / "params.yaml"), "--tflite", str(path), "--quant", str(quant),
                  "--scaler", str(scaler), "--out", str(out), "--metrics", str(metrics)])
    m = json.loads(metrics.read_text())
    sizes = MLP_VARIANTS[DEFAULT_VARIANT][0]
    assert m["macs"] == sum(a * b for a, b in zip(sizes, sizes[1:])) == model.macs
    assert m["weights_bytes"] == m["macs"]
    assert m["bias_bytes"] == 4 * sum(sizes[1:])
    assert m["style"] == load(ROOT / "params.yaml").codegen.style  # the layout comes from params
    assert m["flatbuffer_bytes"] == path.stat().st_size
    for name in m["files"]:
        assert (out / name).is_file()
    x = test_inputs(model, 300)
    np.testing.assert_array_equal(CModel(out, build_dir=tmp_path / "b").predict(x), tflm_predict(path.read_bytes(), x))

    # --style overrides params
    codegen_main(["--params", str(ROOT / "params.yaml"), "--tflite", str(path), "--quant", str(quant),
                  "--scaler", str(scaler), "--out", str(out), "--metrics", str(metrics), "--style", "compact"])
    assert json.loads(metrics.read_text())["style"] == "compact"
    assert "int8 inference (compact)" in (out / "tinyad_model.c").read_text()
    config_h = (out / "tinyad_config.h").read_text()
    assert "#define TINYAD_INSTANT_Q 128 " in config_h  # no instant code calibrated: never
    assert re.search(r"#define TINYAD_RAISE_Q \(?(-?\d+)\)? ", config_h)[1] == re.search(
        r"#define TINYAD_DECISION_Q \(?(-?\d+)\)? ", config_h)[1]  # nor a raise code: no hysteresis

    # the calibrated debounce and instant code reach the device's header
    from tinyad.device.features import output_code_threshold

    q = _quant_json(model)
    code = output_code_threshold(q, 0.5)
    q["decision"] |= {"code": code, "consecutive": 2, "instant_code": code + 9, "raise_code": code + 4}
    quant.write_text(json.dumps(q))
    codegen_main(["--params", str(ROOT / "params.yaml"), "--tflite", str(path), "--quant", str(quant),
                  "--scaler", str(scaler), "--out", str(out), "--metrics", str(metrics)])
    config_h = (out / "tinyad_config.h").read_text()
    assert f"#define TINYAD_INSTANT_Q {code + 9} " in config_h or f"#define TINYAD_INSTANT_Q ({code + 9}) " in config_h
    assert f"#define TINYAD_RAISE_Q {code + 4} " in config_h or f"#define TINYAD_RAISE_Q ({code + 4}) " in config_h
    assert "#define TINYAD_ALERT_CONSECUTIVE 2 " in config_h

    # a quant.json that does not describe this .tflite is refused, naming the file
    bad = _quant_json(model)
    bad["input"]["zero_point"] += 1
    quant.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"quant\.json: input quantization"):
        codegen_main(["--params", str(ROOT / "params.yaml"), "--tflite", str(path), "--quant", str(quant),
                      "--scaler", str(scaler), "--out", str(out), "--metrics", str(metrics)])


def test_lean_layout_refits_and_falls_back_exactly(model_dir, tmp_path, monkeypatch):
    """The lean layout uses the int32 (b, m) tables where the refit exists and the 64-bit
    form where it does not; both must equal TFLM (forced here: no refit at all)."""
    import tinyad.codegen.model as cg

    path = variant_tflite(DEFAULT_VARIANT, model_dir)
    model = read_tflite(path)
    x = test_inputs(model, 1500, seed=7)
    ref = tflm_predict(path.read_bytes(), x)
    src = cg.model_sources(model, "tinyad", "lean")["tinyad_model.c"]
    assert "static const int32_t tinyad_l0_q_[" in src  # first layer: relu, refitted
    monkeypatch.setattr(cg, "shift_requant", lambda *a, **k: None)
    gen = tmp_path / "gen"
    cg.generate(path, gen, style="lean")
    assert "_q_[" not in (gen / "tinyad_model.c").read_text()
    np.testing.assert_array_equal(CModel(gen, build_dir=tmp_path / "b").predict(x), ref)


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
def test_lean_layout_exact_at_both_optimization_levels(model_dir, tmp_path, opt):
    """-O2 unrolls every loop (#pragma GCC unroll), -Os keeps them: same results."""
    path = variant_tflite("mlp6-32-16-8-1-relu6", model_dir)
    model = read_tflite(path)
    generate(path, tmp_path / "gen", style="lean")
    x = test_inputs(model, 1500, seed=8)
    flags = [f for f in HOST_CFLAGS if not f.startswith("-O")] + [opt]
    got = CModel(tmp_path / "gen", build_dir=tmp_path / "b", cflags=flags).predict(x)
    np.testing.assert_array_equal(got, tflm_predict(path.read_bytes(), x))


def test_style_choices_agree_with_config():
    from tinyad.config import CodegenConfig

    assert CodegenConfig().style == STYLES[0] == "lean"
    for style in STYLES:
        CodegenConfig(style)
    with pytest.raises(ValueError, match="codegen.style"):
        CodegenConfig("fancy")
