"""tinyad.device.model (TFLite integer arithmetic in numpy) against TensorFlow Lite Micro, exactly.

The primitives are checked against independent big-integer definitions; the
LOGISTIC/TANH tables against the TFLM interpreter for all 256 input codes at many
scales (one-op models cut out of a converted MLP); the whole forward pass against TFLM
on random and extreme inputs for several MLP shapes; the fused requantization used by
the C generator against the two-step TFLite arithmetic over whole accumulator ranges.
"""

from __future__ import annotations

import math

import flatbuffers
import numpy as np
import pytest

from tests.helpers.cbuild import DEFAULT_VARIANT, MLP_VARIANTS, test_inputs, tflm_predict, variant_tflite
from tinyad.device import model as int8
from tinyad.codegen import requant
from tinyad.device.tflite_model import Dense, Lut, read_tflite


# ------------------------------------------------------------------ primitives
@pytest.mark.parametrize(
    "real, expected",
    [(0.0, (0, 0)), (0.5, (1 << 30, 0)), (1.0, (1 << 30, 1)), (0.75, (3 << 29, 0)), (1e-12, (0, 0)),
     # 1 - 2**-40 rounds up to 2**31: halved, shift + 1
     (1.0 - 2.0 ** -40, (1 << 30, 1))],
)
def test_quantize_multiplier_known_values(real, expected):
    assert int8.quantize_multiplier(real) == expected


def test_quantize_multiplier_is_close():
    rng = np.random.default_rng(0)
    for real in 10 ** rng.uniform(-6, 1, 500):
        m, s = int8.quantize_multiplier(real)
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0 ** -30


def _srdhm_bigint(a: int, b: int) -> int:
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return int((ab + nudge) / (1 << 31)) if abs(ab) < (1 << 52) else (
        (ab + nudge) // (1 << 31) if ab + nudge >= 0 else -((-(ab + nudge)) // (1 << 31)))


def test_saturating_rounding_doubling_high_mul():
    rng = np.random.default_rng(1)
    edges = [-(1 << 31), (1 << 31) - 1, 0, 1, -1, 1 << 30, -(1 << 30)]
    a = np.concatenate([rng.integers(-(1 << 31), 1 << 31, 4000), edges, edges])
    b = np.concatenate([rng.integers(-(1 << 31), 1 << 31, 4000), edges, edges[::-1]])
    got = int8.saturating_rounding_doubling_high_mul(a, b)
    want = [_srdhm_bigint(int(x), int(y)) for x, y in zip(a, b)]
    np.testing.assert_array_equal(got, want)
    assert int8.saturating_rounding_doubling_high_mul(-(1 << 31), -(1 << 31)) == (1 << 31) - 1


def test_rounding_divide_by_pot_rounds_half_away_from_zero():
    x = np.array([5, -5, 6, -6, 7, -7, 4, -4, 0, 1, -1])
    np.testing.assert_array_equal(int8.rounding_divide_by_pot(x, 1), [3, -3, 3, -3, 4, -4, 2, -2, 0, 1, -1])
    rng = np.random.default_rng(2)
    v = rng.integers(-(1 << 31), 1 << 31, 2000)
    for e in (0, 1, 5, 17, 31):
        want = [math.floor(abs(int(t)) / 2**e + 0.5) * (1 if t >= 0 else -1) for t in v]
        np.testing.assert_array_equal(int8.rounding_divide_by_pot(v, e), want)


def test_activation_range():
    assert int8.activation_range("none", 0.1, 5) == (-128, 127)
    assert int8.activation_range("relu", 0.1, -128) == (-128, 127)
    assert int8.activation_range("relu", 0.1, -20) == (-20, 127)
    assert int8.activation_range("relu6", 0.05, -128) == (-128, -8)  # -128 + 6 / 0.05
    with pytest.raises(ValueError, match="unknown fused activation"):
        int8.activation_range("gelu", 0.1, 0)


# ------------------------------------------------------- against the interpreter
def _single_op_model(model_bytes: bytes, op_index: int, scale: float, zero_point: int) -> bytes:
    """The op ``op_index`` alone, its input re-quantized to (scale, zero_point)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(model_bytes), 0))
    sg = m.subgraphs[0]
    op = sg.operators[op_index]
    sg.operators = [op]
    sg.inputs = np.array([op.inputs[0]], dtype=np.int32)
    sg.outputs = np.array(op.outputs, dtype=np.int32)
    q = sg.tensors[op.inputs[0]].quantization
    q.scale = np.array([scale], dtype=np.float32)
    q.zeroPoint = np.array([zero_point], dtype=np.int64)
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("variant, kind", [(DEFAULT_VARIANT, "logistic"), ("mlp4-8-1-tanh", "tanh")])
def test_lut_equals_tflm_for_every_input_code(model_dir, variant, kind):
    path = variant_tflite(variant, model_dir)
    model = read_tflite(path)
    i = next(i for i, l in enumerate(model.layers) if isinstance(l, Lut) and l.kind == kind)
    layer, width = model.layers[i], model.layers[i - 1].n_out
    codes = np.arange(-128, 128 + (-256) % width).clip(-128, 127).astype(np.int8).reshape(-1, width)
    rng = np.random.default_rng(3)
    cases = [(layer.input.scale, layer.input.zero_point)]
    cases += [(float(np.float32(10 ** rng.uniform(-3.5, -0.3))), int(rng.integers(-128, 128))) for _ in range(12)]
    cases += [(1 / 16, 0), (1 / 256, -128), (2.0 ** -10, 127)]  # power-of-two scales
    for scale, zp in cases:
        ref = tflm_predict(_single_op_model(path.read_bytes(), layer.op_index, scale, zp), codes).ravel()[:256]
        lut = int8.logistic_lut(scale, zp) if kind == "logistic" else int8.tanh_lut(scale, zp)
        np.testing.assert_array_equal(lut, ref, err_msg=f"{kind} scale {scale} zero point {zp}")


@pytest.mark.parametrize("variant", list(MLP_VARIANTS))
def test_run_model_equals_tflm(model_dir, variant):
    path = variant_tflite(variant, model_dir)
    model = read_tflite(path)
    x = test_inputs(model, 2000)
    ref = tflm_predict(path.read_bytes(), x)
    assert len(np.unique(ref)) > 10, "degenerate test model: outputs barely vary"
    np.testing.assert_array_equal(int8.run_model(model, x), ref)


def test_variants_cover_per_channel_and_per_tensor(model_dir):
    kinds = set()
    for variant in MLP_VARIANTS:
        model = read_tflite(variant_tflite(variant, model_dir))
        kinds |= {l.per_channel for l in model.dense_layers if l.n_out > 1}
        assert any(l.bias.any() for l in model.dense_layers), f"{variant}: biases were dropped"
    assert kinds == {True, False}


# ------------------------------------------------------- fused requantization
def _random_dense(rng, n_in, n_out, activation, per_channel=True):
    from tinyad.device.tflite_model import Quant

    W = rng.integers(-127, 128, size=(n_out, n_in)).astype(np.int8)
    ws = np.float32(10 ** rng.uniform(-3, -1.5, n_out if per_channel else 1))
    in_q = Quant(float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128)))
    out_q = Quant(float(np.float32(10 ** rng.uniform(-3, 0.5))), int(rng.integers(-128, 128)))
    bias = rng.integers(-20000, 20000, n_out).astype(np.int32)
    return Dense(W, bias, np.atleast_1d(ws), in_q, out_q, activation)


@pytest.mark.parametrize("activation", ["none", "relu", "relu6", "relu_n1_to_1"])
def test_fused_requant_equals_two_step_over_whole_range(activation):
    rng = np.random.default_rng({"none": 0, "relu": 1, "relu6": 2, "relu_n1_to_1": 3}[activation])
    for trial in range(6):
        layer = _random_dense(rng, int(rng.integers(1, 5)), 4, activation, per_channel=bool(trial % 2))
        fr = requant.fused_requant(layer, verify=False)
        m, s = int8.fc_multipliers(layer.input.scale, layer.weight_scales, layer.output.scale)
        m, s = np.broadcast_to(m, (4,)), np.broadcast_to(s, (4,))
        fold = layer.bias.astype(np.int64) - layer.input.zero_point * layer.weights.astype(np.int64).sum(axis=1)
        for o in range(4):
            acc = np.arange(fr.acc_lo[o], fr.acc_hi[o] + 1, dtype=np.int64)
            ref = np.clip(int8.multiply_by_quantized_multiplier(acc + fold[o], m[o], s[o]) + layer.output.zero_point,
                          fr.act_min, fr.act_max)
            one = requant.FusedRequant([fr.m[o]], [fr.k[o]], [fr.s[o]], [fr.t[o]], [fr.correct[o]],
                                    fr.act_min, fr.act_max, [0], [0])
            np.testing.assert_array_equal(one.apply(acc[:, None])[:, 0], ref)


def test_fused_requant_rejects_what_tflite_cannot_compute():
    rng = np.random.default_rng(9)
    layer = _random_dense(rng, 4, 2, "none")
    layer.bias = np.array([2**31 - 10, 0], dtype=np.int64)  # acc + bias overflows int32
    with pytest.raises(OverflowError, match="int32 overflow"):
        requant.fused_requant(layer)


# ------------------------------------------------- int32 refit (lean layout)
@pytest.mark.parametrize("activation", ["none", "relu", "relu6"])
def test_shift_requant_equals_tflite_over_whole_range(activation):
    rng = np.random.default_rng({"none": 10, "relu": 11, "relu6": 12}[activation])
    fitted = 0
    for trial in range(4):
        layer = _random_dense(rng, int(rng.integers(2, 9)), 3, activation, per_channel=bool(trial % 2))
        fr = requant.fused_requant(layer, verify=False)
        sr = requant.shift_requant(fr)
        if sr is None:
            continue
        fitted += 1
        assert all(-(1 << 31) <= v < (1 << 31) for v in sr.b + sr.m), "constants must be int32"
        m, s = int8.fc_multipliers(layer.input.scale, layer.weight_scales, layer.output.scale)
        m, s = np.broadcast_to(m, (3,)), np.broadcast_to(s, (3,))
        fold = layer.bias.astype(np.int64) - layer.input.zero_point * layer.weights.astype(np.int64).sum(axis=1)
        for o in range(3):
            acc = np.arange(fr.acc_lo[o], fr.acc_hi[o] + 1, dtype=np.int64)
            assert int(np.abs(acc << sr.frac).max()) + abs(sr.b[o]) < (1 << 31), "(acc << frac) + b overflows int32"
            ref = np.clip(int8.multiply_by_quantized_multiplier(acc + fold[o], m[o], s[o]) + layer.output.zero_point,
                          fr.act_min, fr.act_max)
            one = requant.ShiftRequant([sr.b[o]], [sr.m[o]], sr.frac, sr.shift, sr.clamp_lo, sr.clamp_hi,
                                    [0], [0], [True], [True])
            np.testing.assert_array_equal(one.apply(acc[:, None])[:, 0], ref)
    if activation != "none":
        # a clamp at the output zero point hides TFLite's symmetric rounding around zero,
        # the one thing a single floor shift cannot reproduce; without it the refit
        # usually fails (and the lean layout keeps the 64-bit form for that layer)
        assert fitted >= 2, "the refit should succeed for most random relu layers"


def test_shift_requant_refuses_what_it_cannot_fit():
    rng = np.random.default_rng(14)
    fr = requant.fused_requant(_random_dense(rng, 4, 2, "relu"), verify=False)
    # frac 0 leaves the offset an integer number of accumulator steps: TFLite's rounding
    # constants are fractions of a step, so this layer has no exact int32 form at frac 0
    assert requant.shift_requant(fr, fracs=[0]) is None
    assert requant.shift_requant(fr) is not None


def test_the_int8_twin_rounds_as_c_lround_even_below_a_half_by_one_ulp():
    # floor(abs(x) + 0.5) gives 1 for the largest double below 0.5; C's lround gives 0
    from tinyad.device import model as int8

    assert [int8._lround(x) for x in (0.49999999999999994, 0.5, -0.5, 2.5, -2.5)] == [0, 1, -1, 3, -3]
