"""An int8 ``.tflite`` read as the firmware's kernels take it: each operator with its tensors and
the parameters of its kernel (requantisation multipliers and shifts, clamps, strides, padding).

The code generator (:mod:`kws.firmware.generate`) writes these parameters into C, the host test
harness (:mod:`kws.firmware.int8_host`) passes them to the same kernels compiled for this machine:
both read a model here, once. Operator options come from the flatbuffer, parsed with the small
``tflite`` package (the TFLite schema's generated Python, a runtime dependency: no TensorFlow);
tensors, their quantisation and constant data from LiteRT's interpreter (``ai-edge-litert``),
which the caller may reuse (:func:`reference_interpreter`: BUILTIN_REF kernels, every tensor kept).

Requantisation rounds per operator as LiteRT's BUILTIN_REF kernels do (:data:`LITERT_ROUNDING`):
twice (gemmlowp) in the convolutions, once in FULLY_CONNECTED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tflite

from .. import int8_reference as ref
from ..errors import KwsError

#: kws_padding of kws_int8_ops.h.
PADDING_VALID, PADDING_SAME = 0, 1
#: Requantisation roundings (kws_rounding): gemmlowp's two steps, or one 64-bit rounding.
ROUNDING_DOUBLE, ROUNDING_SINGLE = 0, 1
#: What LiteRT's BUILTIN_REF kernels use, measured on the default model (tests/test_int8_kernels.py).
LITERT_ROUNDING = {"CONV_2D": ROUNDING_DOUBLE, "DEPTHWISE_CONV_2D": ROUNDING_DOUBLE, "FULLY_CONNECTED": ROUNDING_SINGLE}

#: The operators the firmware has kernels for (RESHAPE needs none: the bytes do not change).
SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX",
             "RESHAPE")
_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")

# The flatbuffer's Padding enum (SAME = 0, VALID = 1) as kws_padding.
_PADDING = {tflite.Padding.SAME: PADDING_SAME, tflite.Padding.VALID: PADDING_VALID}


def reference_interpreter(model_content: bytes):
    """LiteRT with the BUILTIN_REF kernels, keeping every intermediate tensor."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model_content, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                              experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    return interpreter


def _round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: the clamp of a fused activation."""
    lo, hi = -128, 127
    quantize = lambda v: zero_point + _round_half_away(v / scale)  # noqa: E731
    if activation == tflite.ActivationFunctionType.RELU:
        lo = max(lo, quantize(0.0))
    elif activation == tflite.ActivationFunctionType.RELU6:
        lo, hi = max(lo, quantize(0.0)), min(hi, quantize(6.0))
    elif activation == tflite.ActivationFunctionType.RELU_N1_TO_1:
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    elif activation != tflite.ActivationFunctionType.NONE:
        raise KwsError(f"fused activation {activation} is not supported by the int8 kernels")
    return lo, hi


def output_and_padding(padding: int, size: int, filter_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's ComputeOutSize and ComputePaddingHeightWidth for one dimension: (out, leading pad)."""
    effective = (filter_size - 1) * dilation + 1
    if padding == PADDING_SAME:
        out = (size + stride - 1) // stride
    else:
        out = (size + stride - effective) // stride
    total = max(0, (out - 1) * stride + effective - size)
    return out, total // 2


def requantization(input_scale: float, weight_scales: np.ndarray,
                   output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The (multiplier, shift) pairs of input scale x weight scale / output scale, per weight scale."""
    pairs = [ref.quantize_multiplier(float(input_scale) * float(s) / float(output_scale)) for s in weight_scales]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def flatbuffer_options(model_content: bytes) -> list[dict[str, Any]]:
    """Each operator of subgraph 0, in order: its builtin code and the options the kernels need
    (``padding`` in the flatbuffer's enum; :func:`read_graph` turns it into kws_padding)."""
    model = tflite.Model.GetRootAsModel(model_content, 0)
    graph = model.Subgraphs(0)
    codes = tflite.BuiltinOperator
    result = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        opcode = model.OperatorCodes(op.OpcodeIndex())
        code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        table = op.BuiltinOptions()
        options: dict[str, Any] = {"code": code}
        if code in (codes.CONV_2D, codes.DEPTHWISE_CONV_2D):
            o = (tflite.Conv2DOptions if code == codes.CONV_2D else tflite.DepthwiseConv2DOptions)()
            o.Init(table.Bytes, table.Pos)
            options.update(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                           dilation=(o.DilationHFactor(), o.DilationWFactor()),
                           activation=o.FusedActivationFunction())
            if code == codes.DEPTHWISE_CONV_2D:
                options["depth_multiplier"] = o.DepthMultiplier()
        elif code in (codes.AVERAGE_POOL_2D, codes.MAX_POOL_2D):
            o = tflite.Pool2DOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                           filter_size=(o.FilterHeight(), o.FilterWidth()), activation=o.FusedActivationFunction())
        elif code == codes.FULLY_CONNECTED:
            o = tflite.FullyConnectedOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(activation=o.FusedActivationFunction())
        elif code == codes.SOFTMAX:
            o = tflite.SoftmaxOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(beta=o.Beta())
        result.append(options)
    return result


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph: where it is, its shape, type and (per-axis) quantisation."""

    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scales: np.ndarray  # float32
    zero_points: np.ndarray  # int64

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])


@dataclass
class KernelOp:
    """One operator as the firmware's kernel runs it.

    ``params`` are the kernel's arguments, named as :class:`kws.firmware.int8_host.Int8Ops`'s
    methods take them: CONV_2D and DEPTHWISE_CONV_2D ``input_zero_point, output_zero_point,
    act_min, act_max, multipliers, shifts, rounding, stride, dilation, padding`` (and
    ``depth_multiplier``); FULLY_CONNECTED the same without the last three; pools ``filter_size,
    stride, padding, act_min, act_max``; SOFTMAX ``multiplier, left_shift, diff_min``; RESHAPE none.
    """

    index: int  # the operator's number in the graph
    name: str  # its builtin name, e.g. "CONV_2D"
    input: Tensor  # the activation it reads
    output: Tensor
    weights: np.ndarray | None = field(default=None, repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def supported(self) -> bool:
        """Whether the firmware has a kernel for it (else it has no params; see :meth:`check_supported`)."""
        return self.name in SUPPORTED

    def check_supported(self) -> "KernelOp":
        """This operator, or :class:`KwsError` when the firmware has no kernel for it."""
        if not self.supported:
            raise KwsError(f"operator {self.index} ({self.name}) has no int8 kernel in firmware/src")
        return self

    def fail(self, problem: str) -> KwsError:
        """A :class:`KwsError` naming this operator."""
        return KwsError(f"operator {self.index} ({self.name}): {problem}")


@dataclass
class Graph:
    """An int8 model's operators (subgraph 0), in order, and its one input and output."""

    ops: list[KernelOp]
    input: Tensor
    output: Tensor
    interpreter: Any = field(repr=False)


def read_graph(model_content: bytes, interpreter=None) -> Graph:
    """Every operator of ``model_content`` as a :class:`KernelOp`; ``interpreter``: an allocated
    LiteRT interpreter of the same model to read tensors from (default: a new
    :func:`reference_interpreter`). Raises :class:`KwsError` for an option or quantisation the
    kernels do not support; an operator without a kernel is read without parameters, for the
    caller to refuse in its own order (:meth:`KernelOp.check_supported`)."""
    interpreter = interpreter or reference_interpreter(model_content)
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    options = flatbuffer_options(model_content)
    op_details = interpreter._get_ops_details()
    if len(op_details) != len(options):
        raise KwsError(f"the interpreter has {len(op_details)} operators, the flatbuffer {len(options)}")

    def tensor(index: int) -> Tensor:
        t = details[index]
        q = t["quantization_parameters"]
        return Tensor(index, tuple(int(s) for s in t["shape"]), np.dtype(t["dtype"]),
                      np.asarray(q["scales"], np.float32), np.asarray(q["zero_points"], np.int64))

    in_details, out_details = interpreter.get_input_details(), interpreter.get_output_details()
    if len(in_details) != 1 or len(out_details) != 1:
        raise KwsError("only models with one input and one output are supported")
    ops = []
    for number, (detail, opt) in enumerate(zip(op_details, options)):
        name = detail["op_name"]
        inputs = [int(i) for i in detail["inputs"]]
        if len(detail["outputs"]) != 1:
            raise KwsError(f"operator {number} ({name}) has {len(detail['outputs'])} outputs")
        op = KernelOp(number, name, tensor(inputs[0]), tensor(int(detail["outputs"][0])))
        if name in _WEIGHTED:
            _weighted(op, opt, tensor(inputs[1]), interpreter.get_tensor(inputs[1]),
                      interpreter.get_tensor(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None)
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            if op.input.scale != op.output.scale or op.input.zero_point != op.output.zero_point:
                raise op.fail("different input and output quantisation")
            act_min, act_max = _activation(op, opt)
            op.params = dict(filter_size=opt["filter_size"], stride=opt["stride"], padding=_PADDING[opt["padding"]],
                             act_min=act_min, act_max=act_max)
        elif name == "SOFTMAX":
            if op.output.zero_point != -128 or not math.isclose(op.output.scale, 1 / 256):
                raise op.fail("output must have scale 1/256 and zero point -128")
            multiplier, left_shift, diff_min = ref.softmax_parameters(op.input.scale, float(opt["beta"]))
            op.params = dict(multiplier=multiplier, left_shift=left_shift, diff_min=diff_min)
        ops.append(op)
    return Graph(ops, tensor(int(in_details[0]["index"])), tensor(int(out_details[0]["index"])), interpreter)


def _activation(op: KernelOp, opt: dict[str, Any]) -> tuple[int, int]:
    try:
        return activation_range(opt["activation"], op.output.scale, op.output.zero_point)
    except KwsError as error:
        raise op.fail(str(error)) from None


def _weighted(op: KernelOp, opt: dict[str, Any], weight_tensor: Tensor, weights: np.ndarray,
              bias: np.ndarray | None) -> None:
    """The weights, bias and requantisation of a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED."""
    if weights.dtype != np.int8:
        raise op.fail(f"weights are {weights.dtype}, not int8")
    if np.any(weight_tensor.zero_points != 0):
        raise op.fail("weights with a non-zero zero point")
    if bias is not None and bias.dtype != np.int32:
        raise op.fail(f"bias is {bias.dtype}, not int32")
    multipliers, shifts = requantization(op.input.scale, weight_tensor.scales, op.output.scale)
    out_channels = op.output.shape[-1]
    if op.name != "FULLY_CONNECTED" and len(multipliers) == 1 and out_channels > 1:
        # Per-tensor weight scales: the convolution kernels take one pair per channel.
        multipliers, shifts = np.repeat(multipliers, out_channels), np.repeat(shifts, out_channels)
    act_min, act_max = _activation(op, opt)
    op.weights, op.bias = weights, bias
    op.params = dict(input_zero_point=op.input.zero_point, output_zero_point=op.output.zero_point, act_min=act_min,
                     act_max=act_max, multipliers=multipliers, shifts=shifts, rounding=LITERT_ROUNDING[op.name])
    if op.name != "FULLY_CONNECTED":
        op.params.update(stride=opt["stride"], dilation=opt["dilation"], padding=_PADDING[opt["padding"]])
        if op.name == "DEPTHWISE_CONV_2D":
            op.params["depth_multiplier"] = weights.shape[3] // op.input.shape[3]
