"""The firmware's int8 kernels (``firmware/src/kws_int8_ops.c``) compiled for this host, on numpy.

:func:`load_library` compiles ``kws_int8_ops.c`` with the system ``gcc`` (``-O2 -fPIC -shared``)
into a cache directory (``$KWS_CACHE/int8_ops/<hash>/``, else ``~/.cache/kws/int8_ops/<hash>/``,
keyed by the sources and flags) and loads it with ctypes. :class:`Int8Ops` wraps each kernel
on numpy arrays. :func:`model_ops` reads a TFLite int8 model's operators (options from the
flatbuffer, tensors and quantisation from the LiteRT interpreter) into :class:`OpSpec` objects
that run one operator in C; :func:`run_model` chains them. :func:`capture_reference` runs
LiteRT's ``BUILTIN_REF`` kernels and keeps every intermediate tensor, the ground truth the
kernels are compared with (tests/test_int8_kernels.py). Requantisation rounds per operator as
LiteRT does (:data:`LITERT_ROUNDING`): twice (gemmlowp) in the convolutions, once in
FULLY_CONNECTED.

The flatbuffer is read with the ``tflite`` package where installed, else with TensorFlow's
``schema_py_generated``. Used only by tests and tools; nothing in kws's runtime imports it.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import KwsError
from .. import int8_reference as ref

#: The firmware sources: firmware/ beside the kws package, in a source checkout.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "src"
SOURCES = ("kws_int8_ops.c",)
HEADERS = ("kws_int8_ops.h",)
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra")

PADDING_VALID, PADDING_SAME = 0, 1
#: Requantisation roundings (kws_rounding): gemmlowp's two steps, or one 64-bit rounding.
ROUNDING_DOUBLE, ROUNDING_SINGLE = 0, 1
#: What LiteRT's BUILTIN_REF kernels use, measured on the default model (tests/test_int8_kernels.py).
LITERT_ROUNDING = {"CONV_2D": ROUNDING_DOUBLE, "DEPTHWISE_CONV_2D": ROUNDING_DOUBLE, "FULLY_CONNECTED": ROUNDING_SINGLE}


# ------------------------------------------------------------------------------ the library

class Dims(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32), ("c", ctypes.c_int32)]


_I32P = ctypes.POINTER(ctypes.c_int32)
_I8P = ctypes.POINTER(ctypes.c_int8)


class ConvParams(ctypes.Structure):
    _fields_ = [("input", Dims), ("filter", Dims), ("output", Dims),
                ("stride_h", ctypes.c_int32), ("stride_w", ctypes.c_int32),
                ("dilation_h", ctypes.c_int32), ("dilation_w", ctypes.c_int32),
                ("pad_h", ctypes.c_int32), ("pad_w", ctypes.c_int32),
                ("depth_multiplier", ctypes.c_int32),
                ("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32),
                ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32),
                ("multipliers", _I32P), ("shifts", _I32P), ("rounding", ctypes.c_int32)]


class PoolParams(ctypes.Structure):
    _fields_ = [("input", Dims), ("output", Dims),
                ("filter_h", ctypes.c_int32), ("filter_w", ctypes.c_int32),
                ("stride_h", ctypes.c_int32), ("stride_w", ctypes.c_int32),
                ("pad_h", ctypes.c_int32), ("pad_w", ctypes.c_int32),
                ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]


class FcParams(ctypes.Structure):
    _fields_ = [("batches", ctypes.c_int32), ("depth", ctypes.c_int32), ("units", ctypes.c_int32),
                ("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32),
                ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32),
                ("per_channel", ctypes.c_int32), ("multipliers", _I32P), ("shifts", _I32P),
                ("rounding", ctypes.c_int32)]


class SoftmaxParams(ctypes.Structure):
    _fields_ = [("rows", ctypes.c_int32), ("depth", ctypes.c_int32), ("input_multiplier", ctypes.c_int32),
                ("input_left_shift", ctypes.c_int32), ("diff_min", ctypes.c_int32)]


def host_compiler() -> str | None:
    """The system C compiler (``$CC``, else ``gcc``), or None where there is none."""
    return shutil.which(os.environ.get("CC", "gcc"))


def _cache_root() -> Path:
    base = os.environ.get("KWS_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "kws") / "int8_ops"


def build_library(cache: Path | None = None) -> Path:
    """Compile the kernels into a shared library (once per source/flags hash); its path."""
    compiler = host_compiler()
    if compiler is None:
        raise KwsError("no host C compiler: install gcc (or set CC) to build firmware/src/kws_int8_ops.c")
    digest = hashlib.sha256()
    for name in (*SOURCES, *HEADERS):
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    digest.update(" ".join((compiler, *CFLAGS)).encode())
    out_dir = (cache or _cache_root()) / digest.hexdigest()[:16]
    library = out_dir / "libkws_int8_ops.so"
    if library.exists():
        return library
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        command = [compiler, *CFLAGS, "-I", str(SOURCE_DIR), *(str(SOURCE_DIR / s) for s in SOURCES), "-o", temp]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise KwsError(f"compiling the int8 kernels failed:\n{result.stderr.strip()}")
        os.replace(temp, library)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return library


def _i8(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int8)


def _i32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int32)


def _p8(a: np.ndarray):
    return a.ctypes.data_as(_I8P)


def _p32(a: np.ndarray | None):
    return None if a is None else a.ctypes.data_as(_I32P)


def _dims(shape) -> Dims:
    n, h, w, c = (int(s) for s in shape)
    return Dims(n, h, w, c)


class Int8Ops:
    """The C kernels on numpy arrays. Shapes are NHWC; results are new int8 arrays."""

    def __init__(self, library: Path | None = None):
        self.path = Path(library) if library else build_library()
        lib = ctypes.CDLL(str(self.path))
        for name, argtypes in {
            "kws_conv_init": [ctypes.POINTER(ConvParams), Dims, Dims, *[ctypes.c_int32] * 9, _I32P, _I32P],
            "kws_depthwise_conv_init": [ctypes.POINTER(ConvParams), Dims, Dims, *[ctypes.c_int32] * 10, _I32P, _I32P],
            "kws_avg_pool_init": [ctypes.POINTER(PoolParams), Dims, *[ctypes.c_int32] * 7],
            "kws_max_pool_init": [ctypes.POINTER(PoolParams), Dims, *[ctypes.c_int32] * 7],
            "kws_conv_s8": [ctypes.POINTER(ConvParams), _I8P, _I8P, _I32P, _I8P],
            "kws_depthwise_conv_s8": [ctypes.POINTER(ConvParams), _I8P, _I8P, _I32P, _I8P],
            "kws_avg_pool_s8": [ctypes.POINTER(PoolParams), _I8P, _I8P],
            "kws_max_pool_s8": [ctypes.POINTER(PoolParams), _I8P, _I8P],
            "kws_fully_connected_s8": [ctypes.POINTER(FcParams), _I8P, _I8P, _I32P, _I8P],
            "kws_softmax_s8": [ctypes.POINTER(SoftmaxParams), _I8P, _I8P],
            "kws_multiply_by_quantized_multiplier": [ctypes.c_int32] * 3,
            "kws_multiply_by_quantized_multiplier_double": [ctypes.c_int32] * 3,
        }.items():
            getattr(lib, name).argtypes = argtypes
            getattr(lib, name).restype = ctypes.c_int32
        self.lib = lib

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise KwsError(f"{what}: the C kernel refused its arguments (status {status})")

    def multiply_by_quantized_multiplier(self, x: int, multiplier: int, shift: int,
                                         rounding: int = ROUNDING_SINGLE) -> int:
        f = (self.lib.kws_multiply_by_quantized_multiplier if rounding == ROUNDING_SINGLE
             else self.lib.kws_multiply_by_quantized_multiplier_double)
        return int(f(x, multiplier, shift))

    def _conv(self, depthwise: bool, input, filter, bias, *, stride=(1, 1), dilation=(1, 1), padding=PADDING_SAME,
              input_zero_point: int, output_zero_point: int, act_min: int = -128, act_max: int = 127,
              multipliers, shifts, depth_multiplier: int = 1, rounding: int = ROUNDING_DOUBLE) -> np.ndarray:
        x, f = _i8(input), _i8(filter)
        m, s = _i32(multipliers), _i32(shifts)
        b = None if bias is None else _i32(bias)
        p = ConvParams()
        common = (int(stride[0]), int(stride[1]), int(dilation[0]), int(dilation[1]), int(padding),
                  int(input_zero_point), int(output_zero_point), int(act_min), int(act_max), _p32(m), _p32(s))
        if depthwise:
            status = self.lib.kws_depthwise_conv_init(ctypes.byref(p), _dims(x.shape), _dims(f.shape),
                                                      int(depth_multiplier), *common)
        else:
            status = self.lib.kws_conv_init(ctypes.byref(p), _dims(x.shape), _dims(f.shape), *common)
        what = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        self._check(status, what)
        p.rounding = int(rounding)
        if len(m) != p.output.c or len(s) != p.output.c:
            raise KwsError(f"{what}: {p.output.c} output channels but {len(m)} multipliers")
        out = np.empty((p.output.n, p.output.h, p.output.w, p.output.c), np.int8)
        kernel = self.lib.kws_depthwise_conv_s8 if depthwise else self.lib.kws_conv_s8
        self._check(kernel(ctypes.byref(p), _p8(x), _p8(f), _p32(b), _p8(out)), what)
        return out

    def conv2d(self, input, filter, bias, **kwargs) -> np.ndarray:
        """CONV_2D: input [n,h,w,c], filter [out_c,fh,fw,c], bias [out_c] or None."""
        return self._conv(False, input, filter, bias, **kwargs)

    def depthwise_conv2d(self, input, filter, bias, **kwargs) -> np.ndarray:
        """DEPTHWISE_CONV_2D: input [n,h,w,c], filter [1,fh,fw,c*depth_multiplier]."""
        return self._conv(True, input, filter, bias, **kwargs)

    def average_pool2d(self, input, *, filter_size, stride, padding=PADDING_VALID, act_min: int = -128,
                       act_max: int = 127) -> np.ndarray:
        x = _i8(input)
        p = PoolParams()
        self._check(self.lib.kws_avg_pool_init(ctypes.byref(p), _dims(x.shape), int(filter_size[0]),
                                               int(filter_size[1]), int(stride[0]), int(stride[1]), int(padding),
                                               int(act_min), int(act_max)), "AVERAGE_POOL_2D")
        out = np.empty((p.output.n, p.output.h, p.output.w, p.output.c), np.int8)
        self._check(self.lib.kws_avg_pool_s8(ctypes.byref(p), _p8(x), _p8(out)), "AVERAGE_POOL_2D")
        return out

    def max_pool2d(self, input, *, filter_size, stride, padding=PADDING_VALID, act_min: int = -128,
                   act_max: int = 127) -> np.ndarray:
        x = _i8(input)
        p = PoolParams()
        self._check(self.lib.kws_max_pool_init(ctypes.byref(p), _dims(x.shape), int(filter_size[0]),
                                               int(filter_size[1]), int(stride[0]), int(stride[1]), int(padding),
                                               int(act_min), int(act_max)), "MAX_POOL_2D")
        out = np.empty((p.output.n, p.output.h, p.output.w, p.output.c), np.int8)
        self._check(self.lib.kws_max_pool_s8(ctypes.byref(p), _p8(x), _p8(out)), "MAX_POOL_2D")
        return out

    def fully_connected(self, input, weights, bias, *, input_zero_point: int, output_zero_point: int,
                        multipliers, shifts, act_min: int = -128, act_max: int = 127,
                        rounding: int = ROUNDING_SINGLE) -> np.ndarray:
        """FULLY_CONNECTED: input [..., depth] (flattened to [batches, depth]), weights [units, depth]."""
        w = _i8(weights)
        units, depth = w.shape
        x = _i8(input).reshape(-1, depth)
        m, s = _i32(np.atleast_1d(multipliers)), _i32(np.atleast_1d(shifts))
        if len(m) not in (1, units) or len(s) != len(m):
            raise KwsError(f"FULLY_CONNECTED: {units} units but {len(m)} multipliers")
        b = None if bias is None else _i32(bias)
        p = FcParams(x.shape[0], depth, units, -int(input_zero_point), int(output_zero_point), int(act_min),
                     int(act_max), int(len(m) == units and units > 1), _p32(m), _p32(s), int(rounding))
        out = np.empty((x.shape[0], units), np.int8)
        self._check(self.lib.kws_fully_connected_s8(ctypes.byref(p), _p8(x), _p8(w), _p32(b), _p8(out)),
                    "FULLY_CONNECTED")
        return out

    def softmax(self, input, *, multiplier: int, left_shift: int, diff_min: int) -> np.ndarray:
        """SOFTMAX over the last axis: int8 in, int8 out with scale 1/256 and zero point -128."""
        x = _i8(input)
        rows = x.reshape(-1, x.shape[-1])
        p = SoftmaxParams(rows.shape[0], rows.shape[1], int(multiplier), int(left_shift), int(diff_min))
        out = np.empty_like(rows)
        self._check(self.lib.kws_softmax_s8(ctypes.byref(p), _p8(rows), _p8(out)), "SOFTMAX")
        return out.reshape(x.shape)


# -------------------------------------------------------------------------- a model's operators

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def _round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: the clamp of a fused activation."""
    lo, hi = -128, 127
    quantize = lambda v: zero_point + _round_half_away(v / scale)  # noqa: E731
    if activation == 1:
        lo = max(lo, quantize(0.0))
    elif activation == 3:
        lo, hi = max(lo, quantize(0.0)), min(hi, quantize(6.0))
    elif activation == 2:
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    elif activation != 0:
        raise KwsError(f"fused activation {activation} is not supported by the int8 kernels")
    return lo, hi


def _schema():
    try:
        import tflite  # the small flatbuffer parser from PyPI

        return tflite
    except ImportError:
        from tensorflow.lite.python import schema_py_generated  # comes with TensorFlow

        return schema_py_generated


def flatbuffer_options(model_content: bytes) -> list[dict[str, Any]]:
    """Each operator of subgraph 0, in order: its builtin code and the options the kernels need."""
    schema = _schema()
    model = schema.Model.GetRootAsModel(model_content, 0)
    graph = model.Subgraphs(0)
    codes = schema.BuiltinOperator
    result = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        opcode = model.OperatorCodes(op.OpcodeIndex())
        code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        table = op.BuiltinOptions()
        options: dict[str, Any] = {"code": code}
        if code in (codes.CONV_2D, codes.DEPTHWISE_CONV_2D):
            o = (schema.Conv2DOptions if code == codes.CONV_2D else schema.DepthwiseConv2DOptions)()
            o.Init(table.Bytes, table.Pos)
            options.update(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                           dilation=(o.DilationHFactor(), o.DilationWFactor()),
                           activation=o.FusedActivationFunction())
            if code == codes.DEPTHWISE_CONV_2D:
                options["depth_multiplier"] = o.DepthMultiplier()
        elif code in (codes.AVERAGE_POOL_2D, codes.MAX_POOL_2D):
            o = schema.Pool2DOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                           filter_size=(o.FilterHeight(), o.FilterWidth()), activation=o.FusedActivationFunction())
        elif code == codes.FULLY_CONNECTED:
            o = schema.FullyConnectedOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(activation=o.FusedActivationFunction())
        elif code == codes.SOFTMAX:
            o = schema.SoftmaxOptions()
            o.Init(table.Bytes, table.Pos)
            options.update(beta=o.Beta())
        result.append(options)
    return result


# The flatbuffer Padding enum: SAME = 0, VALID = 1.
_PADDING = {0: PADDING_SAME, 1: PADDING_VALID}


@dataclass
class OpSpec:
    """One operator of the model, ready to run in C on its (int8) input."""

    index: int
    name: str
    input: int                 # tensor index of the activation input
    output: int                # tensor index of the output
    output_shape: tuple[int, ...]
    run: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False)


def _requant(input_scale: float, weight_scales: np.ndarray, output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    pairs = [ref.quantize_multiplier(float(input_scale) * float(s) / float(output_scale)) for s in weight_scales]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def model_ops(interpreter, model_content: bytes, ops: Int8Ops | None = None) -> list[OpSpec]:
    """Every operator of an allocated LiteRT interpreter's model as an :class:`OpSpec`."""
    ops = ops or Int8Ops()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    options = flatbuffer_options(model_content)
    details = interpreter._get_ops_details()
    if len(details) != len(options):
        raise KwsError(f"the interpreter has {len(details)} operators, the flatbuffer {len(options)}")

    def quant(index: int) -> tuple[np.ndarray, np.ndarray]:
        q = tensors[index]["quantization_parameters"]
        return np.asarray(q["scales"], np.float32), np.asarray(q["zero_points"], np.int64)

    specs = []
    for detail, opt in zip(details, options):
        name = detail["op_name"]
        inputs = [int(i) for i in detail["inputs"]]
        out_index = int(detail["outputs"][0])
        in_scale, in_zp = quant(inputs[0])
        out_scale, out_zp = quant(out_index)
        out_shape = tuple(int(s) for s in tensors[out_index]["shape"])
        params: dict[str, Any] = {}
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            weights = interpreter.get_tensor(inputs[1])
            w_scale, w_zp = quant(inputs[1])
            if np.any(w_zp != 0):
                raise KwsError(f"operator {detail['index']} ({name}): weights with a non-zero zero point")
            bias = interpreter.get_tensor(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None
            multipliers, shifts = _requant(in_scale[0], w_scale, out_scale[0])
            if name != "FULLY_CONNECTED" and len(multipliers) == 1 and out_shape[-1] > 1:
                # Per-tensor weight scales: the convolution kernels take one pair per channel.
                multipliers, shifts = np.repeat(multipliers, out_shape[-1]), np.repeat(shifts, out_shape[-1])
            act_min, act_max = activation_range(opt["activation"], float(out_scale[0]), int(out_zp[0]))
            params = dict(input_zero_point=int(in_zp[0]), output_zero_point=int(out_zp[0]), act_min=act_min,
                          act_max=act_max, multipliers=multipliers, shifts=shifts, rounding=LITERT_ROUNDING[name])
            if name == "FULLY_CONNECTED":
                run = (lambda x, w=weights, b=bias, p=params, s=out_shape:
                       ops.fully_connected(x, w, b, **p).reshape(s))
            else:
                params.update(stride=opt["stride"], dilation=opt["dilation"], padding=_PADDING[opt["padding"]])
                if name == "DEPTHWISE_CONV_2D":
                    params["depth_multiplier"] = weights.shape[3] // int(tensors[inputs[0]]["shape"][3])
                    run = lambda x, w=weights, b=bias, p=params: ops.depthwise_conv2d(x, w, b, **p)  # noqa: E731
                else:
                    run = lambda x, w=weights, b=bias, p=params: ops.conv2d(x, w, b, **p)  # noqa: E731
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            if float(in_scale[0]) != float(out_scale[0]) or int(in_zp[0]) != int(out_zp[0]):
                raise KwsError(f"{name} with different input and output quantisation")
            act_min, act_max = activation_range(opt["activation"], float(out_scale[0]), int(out_zp[0]))
            params = dict(filter_size=opt["filter_size"], stride=opt["stride"], padding=_PADDING[opt["padding"]],
                          act_min=act_min, act_max=act_max)
            pool = ops.average_pool2d if name == "AVERAGE_POOL_2D" else ops.max_pool2d
            run = lambda x, p=params, f=pool: f(x, **p)  # noqa: E731
        elif name == "SOFTMAX":
            if int(out_zp[0]) != -128 or not math.isclose(float(out_scale[0]), 1 / 256):
                raise KwsError("SOFTMAX output must have scale 1/256 and zero point -128")
            multiplier, left_shift, diff_min = ref.softmax_parameters(float(in_scale[0]), float(opt["beta"]))
            params = dict(multiplier=multiplier, left_shift=left_shift, diff_min=diff_min)
            run = lambda x, p=params: ops.softmax(x, **p)  # noqa: E731
        elif name == "RESHAPE":
            # No kernel: the bytes are unchanged (LiteRT copies them; the firmware aliases them).
            run = lambda x, s=out_shape: np.asarray(x).reshape(s)  # noqa: E731
        else:
            raise KwsError(f"operator {detail['index']} ({name}) has no int8 kernel in firmware/src")
        specs.append(OpSpec(int(detail["index"]), name, inputs[0], out_index, out_shape, run, params))
    return specs


def reference_interpreter(model_content: bytes):
    """LiteRT with the BUILTIN_REF kernels, keeping every intermediate tensor."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model_content, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                              experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    return interpreter


def capture_reference(interpreter, x: np.ndarray, specs: list[OpSpec]) -> dict[int, np.ndarray]:
    """Run the reference interpreter on x; every operator's input and output tensor, by index."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    wanted = {s.input for s in specs} | {s.output for s in specs}
    return {i: interpreter.get_tensor(i).copy() for i in wanted}


def run_model(specs: list[OpSpec], x: np.ndarray) -> np.ndarray:
    """All operators run in C, each on the tensor the graph feeds it; the last operator's output."""
    values = {specs[0].input: x}
    for spec in specs:
        if spec.input not in values:
            raise KwsError(f"operator {spec.index} ({spec.name}) reads tensor {spec.input}, which no operator made")
        values[spec.output] = spec.run(values[spec.input]).reshape(spec.output_shape)
    return values[specs[-1].output]
