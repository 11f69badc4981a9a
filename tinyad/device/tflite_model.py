"""Read an int8 ``.tflite`` MLP into plain numpy arrays (no interpreter, no TensorFlow).

The flatbuffer is parsed with the schema module that ships inside the ``tflite-micro``
wheel (``schema_py_generated``), so what is read is exactly what the TensorFlow Lite
Micro interpreter reads.  Only what the project's models use is accepted:

- one subgraph, one int8 input tensor ``[1, n]`` and one int8 output tensor;
- a chain of ``FULLY_CONNECTED`` ops (int8 weights, symmetric per-tensor or per-channel
  scales, optional int32 bias, fused activation NONE / RELU / RELU6 / RELU_N1_TO_1),
  each optionally followed by ``LOGISTIC`` or ``TANH`` (int8 in and out).

Anything else fails with :class:`UnsupportedModelError` naming the file, the operator
index and what was expected.  Use::

    from tinyad.device.tflite_model import read_tflite
    model = read_tflite("models/model_int8.tflite")
    for layer in model.layers: print(layer)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Quant",
    "Dense",
    "Lut",
    "Int8Model",
    "UnsupportedModelError",
    "read_tflite",
    "parse_tflite",
]

# TensorType codes of the TFLite schema that we meet
_INT8, _INT32 = 9, 2
_TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
# ActivationFunctionType codes
ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}


class UnsupportedModelError(ValueError):
    """The .tflite holds something the generated C does not implement."""


@dataclass(frozen=True)
class Quant:
    """Per-tensor affine quantization of an activation tensor: real = scale * (q - zero_point)."""

    scale: float  # the float32 value stored in the flatbuffer, widened exactly
    zero_point: int


@dataclass
class Dense:
    """One FULLY_CONNECTED op: ``out = act(W @ (x - zp_in) + bias)`` in TFLite int8 arithmetic."""

    weights: np.ndarray  # int8 [n_out, n_in]
    bias: np.ndarray  # int32 [n_out] (zeros when the op has no bias tensor)
    weight_scales: np.ndarray  # float32 [1] (per-tensor) or [n_out] (per-channel)
    input: Quant
    output: Quant
    activation: str  # none | relu | relu6 | relu_n1_to_1
    op_index: int = -1

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])

    @property
    def per_channel(self) -> bool:
        return self.weight_scales.size > 1


@dataclass
class Lut:
    """An elementwise int8 op (LOGISTIC or TANH) that codegen turns into a lookup table."""

    kind: str  # logistic | tanh
    input: Quant
    output: Quant
    op_index: int = -1


@dataclass
class Int8Model:
    """The model as an ordered list of layers plus its input/output quantization."""

    layers: list
    input: Quant
    output: Quant
    n_inputs: int
    n_outputs: int
    source: str = "<bytes>"
    op_names: list[str] = field(default_factory=list)

    @property
    def dense_layers(self) -> list[Dense]:
        return [l for l in self.layers if isinstance(l, Dense)]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference (sum of n_in * n_out over dense layers)."""
        return sum(l.n_in * l.n_out for l in self.dense_layers)


def read_tflite(path: str | Path) -> Int8Model:
    """Read and validate ``path``; see :func:`parse_tflite`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: .tflite model not found")
    return parse_tflite(path.read_bytes(), source=str(path))


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    return fb


def _op_names(fb) -> dict[int, str]:
    return {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def parse_tflite(data: bytes, source: str = "<bytes>") -> Int8Model:
    """Parse flatbuffer bytes into an :class:`Int8Model` (raises UnsupportedModelError)."""
    fb = _schema()
    buf = bytearray(data)
    if len(buf) < 8 or bytes(buf[4:8]) != b"TFL3":
        raise UnsupportedModelError(f"{source}: not a TFLite flatbuffer (file identifier 'TFL3' missing at byte 4)")
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(buf, 0))
    names = _op_names(fb)
    if not model.subgraphs or len(model.subgraphs) != 1:
        raise UnsupportedModelError(f"{source}: expected exactly one subgraph, found {len(model.subgraphs or [])}")
    sg = model.subgraphs[0]
    tensors = sg.tensors

    def where(i: int) -> str:
        return f"{source}: operator {i}"

    def tensor_name(t) -> str:
        return t.name.decode() if isinstance(t.name, bytes) else str(t.name)

    def buffer_of(ti: int) -> np.ndarray | None:
        t = tensors[ti]
        b = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        if b is None:
            return None
        if b.data is not None and len(b.data):
            return np.asarray(b.data, dtype=np.uint8)
        if b.offset and b.size:  # large-model layout: data after the flatbuffer
            return np.frombuffer(bytes(buf[b.offset : b.offset + b.size]), dtype=np.uint8)
        return None

    def quant_of(ti: int, what: str, op: int) -> Quant:
        t = tensors[ti]
        if t.type != _INT8:
            raise UnsupportedModelError(
                f"{where(op)}: {what} tensor {tensor_name(t)!r} is {_TYPE_NAMES.get(t.type, t.type)}, expected int8"
            )
        q = t.quantization
        if q is None or q.scale is None or len(q.scale) != 1:
            raise UnsupportedModelError(f"{where(op)}: {what} tensor {tensor_name(t)!r} needs one per-tensor scale")
        return Quant(scale=float(np.float32(q.scale[0])), zero_point=int(q.zeroPoint[0]))

    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnsupportedModelError(f"{source}: expected one input and one output tensor, found {len(sg.inputs)} and {len(sg.outputs)}")
    in_t, out_t = int(sg.inputs[0]), int(sg.outputs[0])
    for role, ti in (("model input", in_t), ("model output", out_t)):
        shape = list(tensors[ti].shape)
        if len(shape) != 2 or shape[0] != 1:
            raise UnsupportedModelError(f"{source}: {role} shape {shape}, expected [1, n]")

    layers: list = []
    op_names: list[str] = []
    current = in_t
    for i, op in enumerate(sg.operators or []):
        oc = model.operatorCodes[op.opcodeIndex]
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        name = names.get(code, f"builtin code {code}")
        op_names.append(name)
        ins = [int(v) for v in op.inputs]
        outs = [int(v) for v in op.outputs]
        if not ins or ins[0] != current or len(outs) != 1:
            raise UnsupportedModelError(f"{where(i)} ({name}): the graph is not a simple chain of single-output ops")
        if name == "FULLY_CONNECTED":
            opts = op.builtinOptions
            act_code = int(getattr(opts, "fusedActivationFunction", 0))
            if act_code not in ACTIVATIONS:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): fused activation {act_code} unsupported, expected NONE, RELU, RELU6 or RELU_N1_TO_1")
            if getattr(opts, "weightsFormat", 0) != 0:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): shuffled weights format unsupported")
            if len(ins) < 2:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): no weights tensor")
            w_t = tensors[ins[1]]
            if w_t.type != _INT8:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): weights are {_TYPE_NAMES.get(w_t.type, w_t.type)}, expected int8")
            raw = buffer_of(ins[1])
            shape = [int(s) for s in w_t.shape]
            if raw is None or len(shape) != 2 or raw.size != shape[0] * shape[1]:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): weights must be a constant 2-D tensor")
            W = raw.view(np.int8).reshape(shape).copy()
            wq = w_t.quantization
            scales = np.asarray(wq.scale, dtype=np.float32)
            zps = np.asarray(wq.zeroPoint, dtype=np.int64)
            if scales.size not in (1, shape[0]) or (scales.size > 1 and wq.quantizedDimension != 0):
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): weight scales must be per-tensor or per output channel")
            if np.any(zps != 0):
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): weight zero points must be 0 (symmetric)")
            bias = np.zeros(shape[0], dtype=np.int32)
            if len(ins) > 2 and ins[2] >= 0:
                b_t = tensors[ins[2]]
                if b_t.type != _INT32:
                    raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): bias is {_TYPE_NAMES.get(b_t.type, b_t.type)}, expected int32")
                braw = buffer_of(ins[2])
                if braw is None or braw.size != 4 * shape[0]:
                    raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): bias must be a constant int32 [{shape[0]}]")
                bias = braw.view("<i4").astype(np.int32)
            in_q = quant_of(ins[0], "input", i)
            out_q = quant_of(outs[0], "output", i)
            if tensors[ins[0]].shape[-1] != shape[1]:
                raise UnsupportedModelError(f"{where(i)} (FULLY_CONNECTED): input width {tensors[ins[0]].shape[-1]} != weights {shape[1]}")
            layers.append(Dense(W, bias, scales, in_q, out_q, ACTIVATIONS[act_code], op_index=i))
        elif name in ("LOGISTIC", "TANH"):
            in_q = quant_of(ins[0], "input", i)
            out_q = quant_of(outs[0], "output", i)
            if name == "LOGISTIC" and out_q.zero_point != -128:
                raise UnsupportedModelError(f"{where(i)} (LOGISTIC): output zero point {out_q.zero_point}, TFLite Micro requires -128")
            layers.append(Lut(name.lower(), in_q, out_q, op_index=i))
        else:
            raise UnsupportedModelError(
                f"{where(i)}: operator {name} is not supported by the C code generator "
                "(expected FULLY_CONNECTED, LOGISTIC or TANH)"
            )
        current = outs[0]
    if current != out_t:
        raise UnsupportedModelError(f"{source}: the op chain does not end at the model output tensor")
    if not any(isinstance(l, Dense) for l in layers):
        raise UnsupportedModelError(f"{source}: no FULLY_CONNECTED op found")
    return Int8Model(
        layers=layers,
        input=quant_of(in_t, "model input", -1),
        output=quant_of(out_t, "model output", -1),
        n_inputs=int(tensors[in_t].shape[1]),
        n_outputs=int(tensors[out_t].shape[1]),
        source=source,
        op_names=op_names,
    )
