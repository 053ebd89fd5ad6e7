"""Test harness: the firmware's plain int8 kernels (``firmware/src/int8/``) compiled for this host
and run on numpy arrays, operator by operator.

:func:`build_library` compiles the kernels with the system ``gcc`` (``-O2 -fPIC -shared``) into a
cache directory (``$KWS_CACHE/int8_ops/<hash>/``, else ``~/.cache/kws/int8_ops/<hash>/``, keyed
by the sources and flags) and loads it with ctypes. :class:`Int8Ops` wraps each kernel on numpy
arrays. :func:`model_ops` turns a model's operators (:func:`kws.firmware.tflite_graph.read_graph`,
the reader the code generator uses) into :class:`OpSpec` objects that run one operator in C;
:func:`run_model` chains them. :func:`capture_reference` runs LiteRT's ``BUILTIN_REF`` kernels and
keeps every intermediate tensor, the ground truth the kernels are compared with
(tests/test_int8_kernels.py).

Used only by tests and tools: nothing that builds or runs firmware imports it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import KwsError
from .sources import SRC_DIR, kernel_headers, kernel_sources
from .tflite_graph import PADDING_SAME, PADDING_VALID, ROUNDING_DOUBLE, ROUNDING_SINGLE, KernelOp, read_graph

CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra")


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
    """Compile the plain kernels into a shared library (once per source/flags hash); its path."""
    compiler = host_compiler()
    if compiler is None:
        raise KwsError("no host C compiler: install gcc (or set CC) to build the int8 kernels of firmware/src")
    sources = kernel_sources("plain")
    digest = hashlib.sha256()
    for path in (*sources, *kernel_headers("plain")):
        digest.update(str(path.relative_to(SRC_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(" ".join((compiler, *CFLAGS)).encode())
    out_dir = (cache or _cache_root()) / digest.hexdigest()[:16]
    library = out_dir / "libkws_int8_ops.so"
    if library.exists():
        return library
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        command = [compiler, *CFLAGS, "-I", str(SRC_DIR), *(str(s) for s in sources), "-o", temp]
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


def _runner(ops: Int8Ops, op: KernelOp) -> Callable[[np.ndarray], np.ndarray]:
    """``op``'s C kernel, on its input."""
    w, b, p, shape = op.weights, op.bias, op.params, op.output.shape
    return {
        "CONV_2D": lambda x: ops.conv2d(x, w, b, **p),
        "DEPTHWISE_CONV_2D": lambda x: ops.depthwise_conv2d(x, w, b, **p),
        "FULLY_CONNECTED": lambda x: ops.fully_connected(x, w, b, **p).reshape(shape),
        "AVERAGE_POOL_2D": lambda x: ops.average_pool2d(x, **p),
        "MAX_POOL_2D": lambda x: ops.max_pool2d(x, **p),
        "SOFTMAX": lambda x: ops.softmax(x, **p),
        # No kernel: the bytes are unchanged (LiteRT copies them; the firmware aliases them).
        "RESHAPE": lambda x: np.asarray(x).reshape(shape),
    }[op.name]


def model_ops(interpreter, model_content: bytes, ops: Int8Ops | None = None) -> list[OpSpec]:
    """Every operator of an allocated LiteRT interpreter's model as an :class:`OpSpec`."""
    ops = ops or Int8Ops()
    return [OpSpec(op.index, op.name, op.input.index, op.output.index, op.output.shape,
                   _runner(ops, op), op.params)
            for op in (op.check_supported() for op in read_graph(model_content, interpreter).ops)]


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
