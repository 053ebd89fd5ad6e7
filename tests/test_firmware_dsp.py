"""The DSP-extension int8 kernels (firmware/src/int8_dsp/; generate_model(kernels="dsp"))
give the same integers as the plain-C reference kernels and LiteRT's BUILTIN_REF, 0 LSB on every
element, built for a Cortex-M4F and run in QEMU:

* the shipped DS-CNN-S on random and real MFCC inputs, against BUILTIN_REF and the plain build,
  with instructions per inference (the DSP build must stay far below the plain one);
* TFLM's micro_speech model (DEPTHWISE_CONV_2D with depth multiplier 8: the broadcast path);
* random single-operator models (tests/random_models.py, where present) and hand-picked shapes
  for each specialised path and its tails: pointwise 1x1 with odd channel counts and strides,
  the 10x4 single-channel first layer (filter rows of 4 int8), general windows with padding and
  dilation, depthwise with odd channel counts and multipliers 1 / 4, fully connected with odd
  depth and units, average pooling;
* the im2col convolution (filters with short rows) and the matrix product (pointwise layers)
  on hand-picked shapes and on more random CONV_2D / DEPTHWISE_CONV_2D models;
* on the host (gcc, ctypes): the DSP kernels' requantisation (its C) equals the reference's
  kws_multiply_by_quantized_multiplier{,_double} on random and extreme arguments; in QEMU its
  assembler version (rq_store) likewise, within its precondition;
* the DS-CNN-S on the other QEMU cores with the DSP extension (Cortex-M7, Cortex-M55), and
  built with -DKWS_DSP_NO_ASM (the C versions of the assembler loops); the source compiles
  without warnings for cores without the extension (M0, M3), where *_dsp are the plain kernels.

The firmware tests skip where arm-none-eabi-gcc or qemu-system-arm is missing (bash
scripts/setup.sh installs both), the host test where there is no host C compiler.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from conftest import assert_bit_exact

from firmware_helpers import (DEFAULT_MACS, MICRO_SPEECH, TOOLCHAIN_MISSING, litert_reference, needs_toolchain,
                              random_inputs, real_windows)
from kws.errors import KwsError
from kws.firmware import int8_host
from kws.firmware.generate import IM2COL_MIN_ROWS, conv_im2col_scratch, depthwise_3x3_scratch, generate_model
from kws.firmware.sources import SRC_DIR as SRC, kernel_sources
from kws.model_file import load_model

_MISSING = TOOLCHAIN_MISSING


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def shared_build_dir(tmp_path_factory):
    """One build folder for the small models: only the generated model's C is recompiled."""
    return tmp_path_factory.mktemp("dsp_models")


# --- the generator (no toolchain needed) ---------------------------------------------------------


def test_generator_dsp_switch(model):
    plain = generate_model(model.tflite, kernels="plain")
    dsp = generate_model(model.tflite, kernels="dsp")
    assert "kws_int8_ops_dsp.h" not in plain.source and "_dsp(" not in plain.source
    assert '#include "kws_int8_ops_dsp.h"' in dsp.source
    for kernel in ("kws_conv_s8_dsp(", "kws_avg_pool_s8_dsp(",
                   "kws_fully_connected_s8_dsp("):
        assert kernel in dsp.source
    assert "kws_softmax_s8(" in dsp.source  # no DSP version: the plain one
    # The 3x3 depthwise layers take their own kernel, with scratch behind the two activation slots
    # (the only difference of the arenas); the general depthwise kernel stays for other shapes.
    assert "kws_depthwise_3x3_s8_dsp(&op1_params, arena + 2 * KWS_MODEL_SLOT_SIZE, " in dsp.source
    assert "kws_depthwise_conv_s8_dsp" not in {kernel for _, kernel in dsp.kernel_calls}
    # Nothing calls the general DSP depthwise kernel but the 3x3 one's refusals: they go to the
    # plain kernel, through a replacement the source defines (and the link's --wrap).
    assert dsp.wrapped == ("kws_depthwise_conv_s8_dsp", "kws_fully_connected_s8", "kws_avg_pool_s8")
    assert "int __wrap_kws_depthwise_conv_s8_dsp(" in dsp.source and plain.wrapped == ()
    # The first convolution goes through im2col, its matrix in the activation slot it leaves free
    # (it reads the model's input and writes slot 0): no arena for it.
    im2col = conv_im2col_scratch((10, 4, 1), 25 * 5, 25 * 5 * 64)
    assert im2col == 25 * 5 * 40 + 3
    assert f"kws_conv_im2col_s8_dsp(&op0_params, arena + KWS_MODEL_SLOT_SIZE, {im2col}, input, " in dsp.source
    scratch = depthwise_3x3_scratch((3, 3), 1, (1, 1), (1, 1), (25, 5))
    assert dsp.arena_size == plain.arena_size + scratch
    assert dsp.header == plain.header.replace(f"ARENA_SIZE {plain.arena_size}u", f"ARENA_SIZE {dsp.arena_size}u")
    with pytest.raises(KwsError, match="unknown kernels"):
        generate_model(model.tflite, kernels="neon")


# --- the requantisation, on the host ---------------------------------------------------------------


@pytest.fixture(scope="module")
def host_library(tmp_path_factory):
    compiler = int8_host.host_compiler()
    if compiler is None:
        pytest.skip("no host C compiler (gcc)")
    library = tmp_path_factory.mktemp("dsp_host") / "libkws_dsp.so"
    command = [compiler, "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", f"-I{SRC}",
               *(str(path) for path in kernel_sources("dsp")), "-o", str(library)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lib = ctypes.CDLL(str(library))
    i32 = ctypes.c_int32
    for name, args in (("kws_dsp_requantize", (i32, i32, i32, i32)),
                       ("kws_multiply_by_quantized_multiplier", (i32, i32, i32)),
                       ("kws_multiply_by_quantized_multiplier_double", (i32, i32, i32)),
                       ("kws_dsp_enabled", ())):
        getattr(lib, name).argtypes = args
        getattr(lib, name).restype = ctypes.c_int32
    return lib


def test_requantisation_equals_the_reference(host_library):
    lib = host_library
    assert lib.kws_dsp_enabled() == 0  # a host without the Arm DSP extension: plain fallbacks
    rng = np.random.default_rng(7)
    accs = np.concatenate([
        rng.integers(-2**31, 2**31, 4000), rng.integers(-70000, 70000, 4000), rng.integers(-300, 300, 2000),
        [-2**31, -2**31 + 1, -2**30 - 1, -2**30, -2**30 + 1, -1, 0, 1, 2**30 - 1, 2**30, 2**31 - 1],
    ]).astype(np.int64)
    multipliers = np.concatenate([rng.integers(2**30, 2**31, 60), [2**30, 2**31 - 1, 0]]).astype(np.int64)
    shifts = np.arange(-31, 31)
    mismatches = []
    for shift in shifts:
        for multiplier in multipliers:
            for acc in accs[rng.integers(0, len(accs), 150)].tolist() + accs[-11:].tolist():
                m, s, a = int(multiplier), int(shift), int(acc)
                for rounding, reference in ((0, lib.kws_multiply_by_quantized_multiplier_double),
                                            (1, lib.kws_multiply_by_quantized_multiplier)):
                    got, want = lib.kws_dsp_requantize(a, m, s, rounding), reference(a, m, s)
                    if got != want:
                        mismatches.append((a, m, s, rounding, got, want))
    assert not mismatches, f"{len(mismatches)} mismatches (acc, multiplier, shift, rounding, got, expected): " \
                           f"{mismatches[:10]}"


class _Dims(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in ("n", "h", "w", "c")]


class _ConvParams(ctypes.Structure):
    """kws_conv_params (kws_int8_ops.h), for the scratch size."""
    _fields_ = [("input", _Dims), ("filter", _Dims), ("output", _Dims),
                *((name, ctypes.c_int32) for name in ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_h",
                                                      "pad_w", "depth_multiplier", "input_offset", "output_offset",
                                                      "act_min", "act_max")),
                ("multipliers", ctypes.c_void_p), ("shifts", ctypes.c_void_p), ("rounding", ctypes.c_int32)]


def test_depthwise_3x3_scratch_size_equals_the_generators(host_library):
    """The arena the generator plans for kws_depthwise_3x3_s8_dsp is what the kernel asks for (too
    little would send it to the general kernel: still exact, only slower), 0 where it does not apply."""
    size = host_library.kws_depthwise_3x3_s8_dsp_scratch_size
    size.argtypes, size.restype = (ctypes.POINTER(_ConvParams),), ctypes.c_int32
    rng = np.random.default_rng(3)
    for _ in range(300):
        fh, fw = (3, 3) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(1, 5, 2))
        multiplier = 1 if rng.random() < 0.8 else 2
        stride = (1 if rng.random() < 0.7 else 2, int(rng.integers(1, 4)))
        dilation = (1, 1) if rng.random() < 0.8 else (1, 2)
        out_h, out_w, channels = (int(v) for v in rng.integers(1, 30, 3))
        p = _ConvParams(_Dims(1, out_h + 2, out_w * stride[1] + 2, channels), _Dims(1, fh, fw, channels * multiplier),
                        _Dims(1, out_h, out_w, channels * multiplier), *stride, *dilation, 1, 1, multiplier)
        expected = depthwise_3x3_scratch((fh, fw), multiplier, stride, dilation, (out_h, out_w))
        assert size(ctypes.byref(p)) == expected, (fh, fw, multiplier, stride, dilation, out_h, out_w, channels)


def test_conv_im2col_scratch_size_equals_the_generators(host_library):
    """The whole im2col matrix the generator plans is what kws_conv_im2col_s8_dsp asks for; with
    less free memory it gets IM2COL_MIN_ROWS rows (the kernel then works in chunks)."""
    size = host_library.kws_conv_im2col_s8_dsp_scratch_size
    size.argtypes, size.restype = (ctypes.POINTER(_ConvParams),), ctypes.c_int32
    rng = np.random.default_rng(4)
    for _ in range(200):
        fh, fw, in_c, out_c, out_h, out_w = (int(v) for v in rng.integers(1, 12, 6))
        p = _ConvParams(_Dims(1, out_h + fh, out_w + fw, in_c), _Dims(out_c, fh, fw, in_c), _Dims(1, out_h, out_w, out_c),
                        1, 1, 1, 1, 0, 0, 1)
        whole = conv_im2col_scratch((fh, fw, in_c), out_h * out_w, 10**9)
        assert size(ctypes.byref(p)) == whole, (fh, fw, in_c, out_h, out_w)
        rows = min(out_h * out_w, IM2COL_MIN_ROWS)
        assert conv_im2col_scratch((fh, fw, in_c), out_h * out_w, 0) == rows * fh * fw * in_c + 3


# --- the shipped model in QEMU ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dsp_build(model, tmp_path_factory):
    from kws.firmware.infer import build_infer

    return build_infer(model.tflite, tmp_path_factory.mktemp("infer_dsp"), kernels="dsp")


@pytest.fixture(scope="module")
def plain_build(model, tmp_path_factory):
    from kws.firmware.infer import build_infer

    return build_infer(model.tflite, tmp_path_factory.mktemp("infer_plain"), kernels="plain")



@needs_toolchain
def test_default_model_dsp_bit_exact(model, dsp_build, plain_build):
    from kws.firmware.infer import run_infer

    assert dsp_build.warnings == {}
    inputs = random_inputs(dsp_build.model.input_shape, 12, seed=21)
    outputs, instructions = run_infer(dsp_build, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), "DS-CNN-S, DSP kernels, random inputs")
    plain_outputs, plain_instructions = run_infer(plain_build, inputs)
    assert_bit_exact(outputs, plain_outputs, "DS-CNN-S, DSP kernels against the plain build")
    median, plain_median = float(np.median(instructions)), float(np.median(plain_instructions))
    print(f"DS-CNN-S: plain {int(plain_median):,} instructions ({DEFAULT_MACS / plain_median:.3f} MACs/instr), "
          f"dsp {int(median):,} ({DEFAULT_MACS / median:.3f} MACs/instr), {plain_median / median:.2f}x")
    # Measured 2026-11-24: about 8.9 M instructions, 0.30 MACs per instruction (plain: 40.3 M).
    assert DEFAULT_MACS / median > 0.25, instructions
    assert instructions.max() - instructions.min() < 0.01 * instructions.min()


@needs_toolchain
def test_default_model_dsp_real_mfcc_windows_bit_exact(model, dsp_build):
    from kws.firmware.infer import run_infer

    inputs = real_windows(model, dsp_build.model.input_shape, 8)
    outputs, _ = run_infer(dsp_build, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), "DS-CNN-S, DSP kernels, real MFCC windows")


@needs_toolchain
def test_tflm_micro_speech_dsp_bit_exact(shared_build_dir):
    from kws.firmware.infer import build_infer, run_infer

    if not MICRO_SPEECH.exists():
        pytest.skip(f"the micro_speech model is not available here ({MICRO_SPEECH} absent)")
    content = MICRO_SPEECH.read_bytes()
    image = build_infer(content, shared_build_dir, kernels="dsp")
    inputs = random_inputs(image.model.input_shape, 12, seed=22)
    outputs, instructions = run_infer(image, inputs)
    assert_bit_exact(outputs, litert_reference(content, inputs), "micro_speech, DSP kernels, random inputs")
    print(f"micro_speech, DSP kernels: {int(np.median(instructions)):,} instructions per inference")


# --- small models: every specialised path and its tails --------------------------------------------


def _convert(build, input_shape: tuple[int, ...], seed: int) -> bytes:
    """An int8 .tflite (int8 in/out, per-channel weights) of ``build(keras, input) -> output``."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from random_models import to_tflite

    keras = tf.keras
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    inp = keras.Input(input_shape, batch_size=1)
    net = keras.Model(inp, build(keras, inp))
    for layer in net.layers:  # biases nonzero; output channels of different magnitudes
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) if w.ndim == 1 else
                               (rng.normal(0, 1, w.shape) * 10 ** rng.uniform(-1, 1, w.shape[-1:])
                                / np.sqrt(np.prod(w.shape[:-1]))).astype(np.float32) for w in weights])
    return to_tflite(tf, net, rng.uniform(-1, 1, (10, 1, *input_shape)).astype(np.float32))


def _conv(filters, kernel, strides=1, padding="same", dilation=1, activation=None):
    return lambda keras, x: keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                                                dilation_rate=dilation, activation=activation)(x)


def _depthwise(kernel, strides=1, padding="same", multiplier=1, activation=None):
    return lambda keras, x: keras.layers.DepthwiseConv2D(kernel, strides=strides, padding=padding,
                                                         depth_multiplier=multiplier, activation=activation)(x)


#: name -> (graph, input shape, operators the converter must emit). Odd channel counts exercise
#: the channel and pixel tails; strides, SAME/VALID and dilation the window logic.
SHAPES = {
    "pointwise_7to5": (_conv(5, 1, activation="relu"), (5, 3, 7), ("CONV_2D",)),
    "pointwise_12to3_stride2": (_conv(3, 1, strides=2), (7, 5, 12), ("CONV_2D",)),
    "pointwise_33to9_valid": (_conv(9, 1, padding="valid"), (3, 3, 33), ("CONV_2D",)),
    "first_layer_10x4_stride2": (_conv(7, (10, 4), strides=2, activation="relu"), (21, 10, 1), ("CONV_2D",)),
    "rows4_2x2_2ch_valid": (_conv(3, 2, padding="valid"), (6, 5, 2), ("CONV_2D",)),
    "conv_3x3_5ch_stride2": (_conv(6, 3, strides=2), (9, 7, 5), ("CONV_2D",)),
    "conv_3x2_dilation2": (_conv(4, (3, 2), dilation=2), (8, 7, 3), ("CONV_2D",)),
    "conv_5x5_16ch_valid": (_conv(5, 5, padding="valid"), (7, 6, 16), ("CONV_2D",)),
    # kws_conv_im2col_s8_dsp (filter rows under 16 int8): odd channel counts, SAME padding on
    # every edge, strides, dilation, a clamp narrower than int8 (ReLU6: the general
    # requantisation), odd pixel counts (the last row of a chunk alone).
    "im2col_3x3_3ch_to_5_same": (_conv(5, 3), (7, 5, 3), ("CONV_2D",)),
    "im2col_5x2_1ch_to_9_stride_2x1_relu6": (_conv(9, (5, 2), strides=(2, 1), activation="relu6"), (11, 5, 1),
                                             ("CONV_2D",)),
    "im2col_2x3_5ch_to_8_stride3_valid": (_conv(8, (2, 3), strides=3, padding="valid"), (8, 10, 5), ("CONV_2D",)),
    "im2col_3x3_1ch_to_16_dilation2": (_conv(16, 3, dilation=2), (9, 6, 1), ("CONV_2D",)),
    # kws_dsp_conv_gemm's assembler pairs: depth a multiple of 8, odd pixel and channel counts.
    "pointwise_16to7_odd_pixels": (_conv(7, 1, activation="relu"), (5, 3, 16), ("CONV_2D",)),
    "pointwise_24to6_relu6": (_conv(6, 1, activation="relu6"), (4, 3, 24), ("CONV_2D",)),
    "depthwise_3x3_7ch": (_depthwise(3, activation="relu"), (6, 5, 7), ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_8ch_stride2_valid": (_depthwise(3, strides=2, padding="valid"), (9, 7, 8),
                                        ("DEPTHWISE_CONV_2D",)),
    # kws_depthwise_3x3_s8_dsp (3x3, multiplier 1, stride_h 1): channel groups of 4 and their
    # tails, odd output heights (a last row alone), stride_w 2, VALID, ReLU6's clamp.
    "depthwise_3x3_1ch_valid": (_depthwise(3, padding="valid"), (6, 4, 1), ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_5ch_valid_odd_rows": (_depthwise(3, padding="valid"), (9, 6, 5), ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_13ch_stride_w2_relu6": (_depthwise(3, strides=(1, 2), activation="relu6"), (7, 9, 13),
                                           ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_16ch_valid_stride_w3": (_depthwise(3, strides=(1, 3), padding="valid"), (5, 11, 16),
                                           ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_6ch_one_row": (_depthwise(3), (1, 7, 6), ("DEPTHWISE_CONV_2D",)),
    # Its assembler (planes up to 8 columns, out.h >= 2, right shifts and int8's whole range) at
    # stride_w 2 with a channel tail; its C loop on a plane 14 columns wide.
    "depthwise_3x3_10ch_stride_w2": (_depthwise(3, strides=(1, 2)), (7, 5, 10), ("DEPTHWISE_CONV_2D",)),
    "depthwise_3x3_9ch_wide": (_depthwise(3), (4, 12, 9), ("DEPTHWISE_CONV_2D",)),
    "depthwise_5x3_12ch_stride2": (_depthwise((5, 3), strides=2), (8, 6, 12), ("DEPTHWISE_CONV_2D",)),
    "depthwise_mult4_3ch": (_depthwise((4, 3), multiplier=4, strides=2), (9, 8, 3), ("DEPTHWISE_CONV_2D",)),
    "depthwise_mult8_1ch": (_depthwise((10, 8), multiplier=8, strides=2), (20, 16, 1), ("DEPTHWISE_CONV_2D",)),
    "depthwise_mult2_3ch": (_depthwise(3, multiplier=2), (5, 4, 3), ("DEPTHWISE_CONV_2D",)),
    "dense_13to5": (lambda keras, x: keras.layers.Dense(5, activation="relu")(x), (13,), ("FULLY_CONNECTED",)),
    "dense_64to12": (lambda keras, x: keras.layers.Dense(12)(x), (64,), ("FULLY_CONNECTED",)),
    "avg_pool_5x3": (lambda keras, x: keras.layers.AveragePooling2D((5, 3), strides=2, padding="same")(x),
                     (9, 7, 6), ("AVERAGE_POOL_2D",)),
    "avg_pool_global_7ch": (lambda keras, x: keras.layers.AveragePooling2D((6, 5))(x), (6, 5, 7),
                            ("AVERAGE_POOL_2D",)),
    # A window of 272 > 256 elements: the DSP kernel's plain fallback, which the build must keep.
    "avg_pool_global_17x16_3ch": (lambda keras, x: keras.layers.AveragePooling2D((17, 16))(x), (17, 16, 3),
                                  ("AVERAGE_POOL_2D",)),
}


def test_unreachable_fallbacks_only_where_no_layer_reaches_them():
    """The generator replaces a kernel fallback only when the model's calls cannot reach it:
    the general DSP depthwise kernel when the 3x3 one alone is called, the plain FULLY_CONNECTED
    and AVERAGE_POOL_2D kernels when every layer is inside their DSP kernels' conditions."""
    from kws.firmware.generate import DSP_AVG_POOL_MAX_WINDOW, DSP_OFFSET_LIMIT, unreachable_fallbacks

    inside = {"input_offset": 128, "window": DSP_AVG_POOL_MAX_WINDOW}
    calls = [("kws_depthwise_3x3_s8_dsp", inside), ("kws_avg_pool_s8_dsp", inside),
             ("kws_fully_connected_s8_dsp", inside)]
    assert unreachable_fallbacks(calls) == ("kws_depthwise_conv_s8_dsp", "kws_fully_connected_s8",
                                            "kws_avg_pool_s8")
    assert unreachable_fallbacks([*calls, ("kws_depthwise_conv_s8_dsp", inside)]) == (
        "kws_fully_connected_s8", "kws_avg_pool_s8")
    big_window = {"input_offset": 0, "window": DSP_AVG_POOL_MAX_WINDOW + 1}
    far_offset = {"input_offset": -DSP_OFFSET_LIMIT - 1, "window": 1}
    assert unreachable_fallbacks([*calls, ("kws_avg_pool_s8_dsp", big_window)]) == (
        "kws_depthwise_conv_s8_dsp", "kws_fully_connected_s8")
    assert unreachable_fallbacks([*calls, ("kws_fully_connected_s8_dsp", far_offset)]) == (
        "kws_depthwise_conv_s8_dsp", "kws_avg_pool_s8")
    # A plain build (the plain kernels called by name) keeps them; what no call falls back to is
    # left alone.
    assert unreachable_fallbacks([("kws_avg_pool_s8", inside), ("kws_fully_connected_s8", inside)]) == ()
    assert unreachable_fallbacks([("kws_conv_s8_dsp", inside)]) == ()


@needs_toolchain
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_specialised_paths_bit_exact(name, shared_build_dir):
    from kws.firmware.infer import build_infer, run_infer

    graph, shape, ops = SHAPES[name]
    content = _convert(graph, shape, seed=sorted(SHAPES).index(name))
    image = build_infer(content, shared_build_dir, kernels="dsp")
    assert tuple(image.model.ops) == ops, image.model.ops
    if name.startswith("depthwise_3x3_") and "stride2" not in name:  # the kernel under test is called
        assert [kernel for _, kernel in image.model.kernel_calls] == ["kws_depthwise_3x3_s8_dsp"]
        # ... and its refusals go to the plain kernel, not the general DSP one (not linked).
        assert image.model.wrapped == ("kws_depthwise_conv_s8_dsp",)
    if name == "avg_pool_global_17x16_3ch":
        assert image.model.wrapped == ()
    if name.startswith(("im2col_", "first_layer_", "rows4_", "conv_3x")):
        assert [kernel for _, kernel in image.model.kernel_calls] == ["kws_conv_im2col_s8_dsp"]
    assert image.warnings == {}
    inputs = random_inputs(image.model.input_shape, 4, seed=len(name))
    outputs, _ = run_infer(image, inputs)
    assert_bit_exact(outputs, litert_reference(content, inputs), f"{name}, DSP kernels")


def _mismatch(what: str, outputs: np.ndarray, expected: np.ndarray) -> list[str]:
    """[] where ``outputs`` equal ``expected``, else one line: how many differ, where, what."""
    if np.array_equal(outputs, expected):
        return []
    bad = np.argwhere(outputs != expected)[:5]
    return [f"{what}: {int(np.sum(outputs != expected))} of {outputs.size} differ, first at "
            f"{[tuple(int(i) for i in b) for b in bad]}: got {[int(outputs[tuple(b)]) for b in bad]}, "
            f"expected {[int(expected[tuple(b)]) for b in bad]}"]


@needs_toolchain
def test_random_single_op_models_bit_exact(shared_build_dir):
    """tests/random_models.py's models of the operators with a DSP kernel (and RESHAPE chains)."""
    from kws.firmware.infer import build_infer, run_infer

    random_models = pytest.importorskip("random_models")
    ops = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "RESHAPE")
    failures = []
    models = random_models.random_single_op_models(2027, 2, ops)
    assert len(models) == 2 * len(ops)
    for m in models:
        image = build_infer(m.tflite, shared_build_dir, kernels="dsp")
        outputs, _ = run_infer(image, m.inputs)
        failures += _mismatch(f"{m.name} ({m.description})", outputs, litert_reference(m.tflite, m.inputs))
    assert not failures, "\n".join(failures)


@needs_toolchain
def test_random_convolutions_bit_exact(shared_build_dir):
    """More random CONV_2D and DEPTHWISE_CONV_2D models (tests/random_models.py: channels 1-32,
    kernels 1-5 x 1-5, strides, dilation, SAME / VALID, activations): the im2col convolution, the
    matrix product, the general paths and the 3x3 depthwise kernel, whichever each shape takes."""
    from kws.firmware.infer import build_infer, run_infer

    random_models = pytest.importorskip("random_models")
    failures, kernels = [], set()
    for m in random_models.random_single_op_models(2031, 10, ("CONV_2D", "DEPTHWISE_CONV_2D")):
        image = build_infer(m.tflite, shared_build_dir, kernels="dsp")
        kernels.update(kernel for _, kernel in image.model.kernel_calls)
        outputs, _ = run_infer(image, m.inputs)
        failures += _mismatch(f"{m.name} ({m.description})", outputs, litert_reference(m.tflite, m.inputs))
    assert not failures, "\n".join(failures)
    assert "kws_conv_im2col_s8_dsp" in kernels, kernels


# --- other cores and the C fallbacks ------------------------------------------------------------------


def _other_qemu_boards() -> list[str]:
    from kws.firmware.boards import DEFAULT_BOARD, board_names

    return [name for name in board_names(qemu_only=True) if name != DEFAULT_BOARD]


@needs_toolchain
@pytest.mark.parametrize("board", _other_qemu_boards())
def test_default_model_dsp_on_other_cores(board, model, tmp_path):
    """Cortex-M7 and Cortex-M55 have the DSP extension too: the same kernels, the same integers."""
    from kws.firmware.infer import build_infer, run_infer

    image = build_infer(model.tflite, tmp_path, board=board, kernels="dsp")
    assert image.warnings == {}
    inputs = random_inputs(image.model.input_shape, 3, seed=23)
    outputs, instructions = run_infer(image, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), f"DS-CNN-S, DSP kernels on {board}")
    print(f"{board}: {int(np.median(instructions)):,} instructions per inference")


M55 = "qemu-mps3-an547"


def _m55_gemm_uses_helium(image) -> bool:
    """Whether the M55 image's matrix product is the Helium one (VMLADAVA.S8, which objdump
    spells VMLAVA.S8, in kws_dsp_conv_gemm)."""
    text = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", "--disassemble=kws_dsp_conv_gemm",
                           str(image.elf)], capture_output=True, text=True, check=True).stdout
    return "vmlava.s8" in text


@needs_toolchain
def test_helium_matrix_product_bit_exact_on_the_m55(tmp_path):
    """The Cortex-M55's matrix product (pointwise and im2col convolutions) with Helium
    (mac_2x2_mve: 16 int8 pairs a VMLADAVA.S8, the last step predicated): hand-picked shapes
    (depths 1 to 40, odd channel and pixel counts, ReLU6), random pointwise shapes (depths 1-80,
    strides, SAME/VALID) and random convolutions, against LiteRT BUILTIN_REF."""
    from kws.firmware.infer import build_infer, run_infer

    random_models = pytest.importorskip("random_models")
    rng = np.random.default_rng(2055)
    cases = [(name, *SHAPES[name][:2], sorted(SHAPES).index(name)) for name in sorted(SHAPES)
             if name.startswith(("pointwise_", "im2col_", "first_layer_"))]
    for i in range(8):
        depth, filters = int(rng.integers(1, 81)), int(rng.integers(1, 40))
        h, w, stride = int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 3))
        padding = ("same", "valid")[i % 2]
        activation = (None, "relu", "relu6")[i % 3]
        cases.append((f"random_pointwise_{h}x{w}x{depth}_to_{filters}_stride{stride}_{padding}_{activation}",
                      _conv(filters, 1, strides=stride, padding=padding, activation=activation), (h, w, depth),
                      100 + i))
    models = [(name, _convert(graph, shape, seed=seed), seed) for name, graph, shape, seed in cases]
    models += [(f"{m.name} ({m.description})", m.tflite, m.inputs)
               for m in random_models.random_single_op_models(2055, 6, ("CONV_2D",))]
    failures, kernels, helium = [], set(), []
    for name, content, inputs in models:
        image = build_infer(content, tmp_path, board=M55, kernels="dsp")
        assert image.warnings == {}
        kernels.update(kernel for _, kernel in image.model.kernel_calls)
        helium.append(_m55_gemm_uses_helium(image))
        if isinstance(inputs, int):  # a seed
            inputs = random_inputs(image.model.input_shape, 3, seed=inputs)
        outputs, _ = run_infer(image, inputs)
        failures += _mismatch(name, outputs, litert_reference(content, inputs))
    assert not failures, "\n".join(failures)
    assert {"kws_conv_s8_dsp", "kws_conv_im2col_s8_dsp"} <= kernels, kernels
    assert all(helium), "the M55 build's matrix product is not the Helium one"


@needs_toolchain
def test_dsp_kernels_without_assembler_bit_exact(model, tmp_path, monkeypatch):
    """-DKWS_DSP_NO_ASM: the C versions of the assembler loops and requantisation."""
    from kws.firmware import toolchain
    from kws.firmware.infer import build_infer, run_infer

    monkeypatch.setattr(toolchain, "OWN_FLAGS", (*toolchain.OWN_FLAGS, "-DKWS_DSP_NO_ASM"))
    image = build_infer(model.tflite, tmp_path, kernels="dsp")
    assert image.warnings == {}
    inputs = random_inputs(image.model.input_shape, 3, seed=24)
    outputs, _ = run_infer(image, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), "DS-CNN-S, DSP kernels without assembler")
    for name in ("first_layer_10x4_stride2", "im2col_3x3_1ch_to_16_dilation2", "pointwise_16to7_odd_pixels",
                 "pointwise_7to5", "pointwise_33to9_valid", "conv_3x3_5ch_stride2",
                 "depthwise_3x3_8ch_stride2_valid", "depthwise_3x3_13ch_stride_w2_relu6", "depthwise_mult4_3ch"):
        graph, shape, _ = SHAPES[name]
        content = _convert(graph, shape, seed=sorted(SHAPES).index(name))
        image = build_infer(content, tmp_path / "small", kernels="dsp")
        inputs = random_inputs(image.model.input_shape, 3, seed=25)
        outputs, _ = run_infer(image, inputs)
        assert_bit_exact(outputs, litert_reference(content, inputs), f"{name}, DSP kernels without assembler")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")
@pytest.mark.parametrize("cpu", ["-mcpu=cortex-m0", "-mcpu=cortex-m3", "-mcpu=cortex-m7", "-mcpu=cortex-m55"])
def test_dsp_source_compiles_cleanly_for(cpu, tmp_path):
    """Without the DSP extension (M0, M3) the *_dsp functions are the plain kernels; with it
    (M7, M55) the same code as on the M4. No warnings either way, in any kernel's file."""
    for source in kernel_sources("dsp"):
        command = ["arm-none-eabi-gcc", cpu, "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Wpedantic",
                   "-Wshadow", "-Werror", f"-I{SRC}", "-c", str(source), "-o", str(tmp_path / "kernel.o")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{source.name}: {result.stderr}"


#: A 32-bit xorshift generator for the C test apps below (deterministic on every board).
_XORSHIFT = r"""
static uint32_t state = 2463534242u;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}
"""


def _run_on_target(tmp_path, app: str, name: str, kernels: str, flags: tuple[str, ...] = ()):
    """Build the C test ``app`` with the ``kernels`` set for the default board and run it in QEMU."""
    from kws.firmware import toolchain
    from kws.firmware.boards import DEFAULT_BOARD, get_board
    from kws.firmware.qemu import run_elf
    from kws.firmware.sources import BOARDS_DIR

    target = get_board(DEFAULT_BOARD)
    gcc = toolchain.require_toolchain()
    (tmp_path / f"{name}.c").write_text(app)
    own = (*toolchain.base_command(gcc, target), "-std=c99", f"-I{SRC}", f"-I{BOARDS_DIR}", *flags)
    objects = tmp_path / "obj"
    compiles = [*toolchain.compiles_of(kernel_sources(kernels), objects / "kws", own),
                toolchain.Compile(tmp_path / f"{name}.c", objects / "app" / f"{name}.o", own),
                *toolchain.board_compiles(target, objects, own)]
    linked = toolchain.compile_and_link(compiles, gcc=gcc, target=target, out_dir=tmp_path, name=name)
    return run_elf(linked.elf, [name], machine=target.qemu_machine, cwd=tmp_path, timeout=120)


_RQ_APP = r"""
/* The DSP kernels' requantisation (assembler on a DSP core) against the reference's, on the target. */
#include <stdio.h>

#include "int8_dsp/kws_int8_dsp_internal.h" /* for the static rq_make / rq_store under test */

""" + _XORSHIFT + r"""
int main(void)
{
    uint32_t i, bad = 0, n = 0, n_fast = 0;
    for (i = 0; i < 300000u; ++i) {
        const uint32_t kind = next() & 3u;
        const int32_t acc = kind == 0 ? (int32_t)next()
                          : kind == 1 ? (int32_t)(next() % 2000001u) - 1000000
                          : kind == 2 ? (int32_t)(next() % 20001u) - 10000
                                      : (int32_t)(next() % 301u) - 150;
        const int32_t multiplier = (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu));
        const int32_t shift = (next() & 1u) ? (int32_t)(next() % 62u) - 31 : -(int32_t)(next() % 14u);
        const int32_t offset = (int32_t)(next() % 256u) - 128;
        const int32_t lo = -128 + (int32_t)(next() % 64u), hi = 127 - (int32_t)(next() % 64u);
        const int32_t left = shift > 0 ? shift : 0;
        int32_t want = (int32_t)((uint32_t)kws_multiply_by_quantized_multiplier_double(acc, multiplier, shift) +
                                 (uint32_t)offset);
        int8_t got;
        /* rq_store's precondition (the kernels check it per layer). */
        if ((acc < 0 ? -(int64_t)acc : (int64_t)acc) >= ((int64_t)1 << (30 - left))) continue;
        ++n;
#if KWS_USE_DSP
        const kws_rq r = rq_make(multiplier, shift, offset, lo, hi);
        rq_store(&r, acc, &got);
#else
        got = 0;
#endif
        if (shift >= -21 && shift <= -1) { /* kws_rqf's folded form: int8's whole range */
            const kws_rqf f = rqf_make(multiplier, shift, offset);
            const int32_t fast = rqf_value_c(f.multiplier, f.round, f.right, (int32_t)((uint32_t)acc << 1));
            const int32_t want8 = want < -128 ? -128 : (want > 127 ? 127 : want);
            ++n_fast;
            if (fast != want8) {
                if (bad < 10)
                    printf("rqf: acc %ld multiplier %ld shift %ld offset %ld: got %ld expected %ld\n", (long)acc,
                           (long)multiplier, (long)shift, (long)offset, (long)fast, (long)want8);
                ++bad;
            }
        }
        want = want < lo ? lo : (want > hi ? hi : want);
        if (got != want) {
            if (bad < 10)
                printf("acc %ld multiplier %ld shift %ld offset %ld [%ld, %ld]: got %d expected %ld\n", (long)acc,
                       (long)multiplier, (long)shift, (long)offset, (long)lo, (long)hi, got, (long)want);
            ++bad;
        }
    }
    printf("checked %lu (of which the folded form %lu) mismatches %lu dsp %d\n", (unsigned long)n,
           (unsigned long)n_fast, (unsigned long)bad, KWS_USE_DSP);
    return bad != 0;
}
"""


_DW3X3_APP = r"""
/* kws_depthwise_3x3_s8_dsp against the plain kernel (the reference's integers; LiteRT checks it in
 * test_firmware_infer.py) on random 3x3 layers, run on the target: the assembler path (right
 * shifts 1 to 21, int8's whole range, planes up to 8 wide, out.h >= 2), its C fallback (left
 * shifts, narrower clamps, wider planes, out.h 1) and the refusals (zero points outside int8,
 * shifts outside [-21, 6], biases past the bound, too little scratch), with guard bytes around
 * the output. */
#include <stdio.h>
#include <string.h>

#include "kws_int8_ops.h"
#include "kws_int8_ops_dsp.h"

""" + _XORSHIFT + r"""
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }

#define MAX_C 13
#define GUARD 8
static int8_t input[2 * 9 * 12 * MAX_C], filter[9 * MAX_C];
static int8_t got[2 * 9 * 12 * MAX_C + 2 * GUARD], want[2 * 9 * 12 * MAX_C];
static int32_t bias[MAX_C], multipliers[MAX_C], shifts[MAX_C];
static uint32_t scratch[1024];

int main(void)
{
    int32_t i, k, bad = 0, cases = 0, fast = 0;
    for (i = 0; i < 900; ++i) {
        /* mostly planes up to 8 wide (the assembler's), some wider */
        const int32_t c = range(1, MAX_C), n = range(1, 2), h = range(1, 9), w = (next() & 3u) ? range(1, 7) : range(1, 12);
        const int32_t stride_w = range(1, 3), kind = range(0, 9);
        const kws_padding padding = (next() & 1u) ? KWS_PADDING_SAME : KWS_PADDING_VALID;
        const int32_t zero_in = kind == 9 ? range(128, 300) : range(-128, 127), zero_out = range(-128, 127);
        const int32_t narrow = kind >= 6 && kind <= 7;
        const int32_t lo = narrow ? range(-128, 0) : -128, hi = narrow ? range(lo, 127) : 127;
        kws_conv_params p;
        const kws_dims in = {n, h, w, c}, f = {1, 3, 3, c};
        int32_t size, out_size, need, rqf = !narrow && kind != 9;
        for (k = 0; k < c; ++k) {
            multipliers[k] = (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu));
            shifts[k] = kind == 8 ? range(-3, 6) : kind == 5 ? range(-26, 8) : range(-12, -1);
            if (shifts[k] >= 0 || shifts[k] < -21) rqf = 0;
            bias[k] = (kind == 4 && k == 0) ? (int32_t)next() : range(-40000, 40000);
        }
        for (k = 0; k < 9 * c; ++k) filter[k] = (int8_t)next();
        if (kws_depthwise_conv_init(&p, in, f, 1, 1, stride_w, 1, 1, padding, zero_in, zero_out, lo, hi, multipliers,
                                    shifts) != KWS_OK)
            continue;
        size = n * h * w * c;
        out_size = p.output.n * p.output.h * p.output.w * p.output.c;
        for (k = 0; k < size; ++k) input[k] = (int8_t)next();
        need = kws_depthwise_3x3_s8_dsp_scratch_size(&p);
        if (need > (int32_t)sizeof scratch) continue;
        {
            const int32_t *b = (next() & 7u) ? bias : NULL;
            memset(got, 0x5A, sizeof got);
            kws_depthwise_3x3_s8_dsp(&p, scratch, kind == 3 ? need - 4 : need, input, filter, b, got + GUARD);
            kws_depthwise_conv_s8(&p, input, filter, b, want);
        }
        ++cases;
        fast += rqf && kind != 3 && kind != 4 && p.output.h >= 2 && (p.output.w - 1) * stride_w + 3 <= 8;
        for (k = 0; k < GUARD; ++k)
            if (got[k] != 0x5A || got[GUARD + out_size + k] != 0x5A) {
                if (bad < 10) printf("case %ld: a write outside the output\n", (long)i);
                ++bad;
                break;
            }
        for (k = 0; k < out_size; ++k)
            if (got[GUARD + k] != want[k]) {
                if (bad < 10)
                    printf("case %ld (c %ld n %ld h %ld w %ld stride_w %ld pad %d kind %ld): element %ld got %d "
                           "expected %d\n", (long)i, (long)c, (long)n, (long)h, (long)w, (long)stride_w, (int)padding,
                           (long)kind, (long)k, got[GUARD + k], want[k]);
                ++bad;
                break;
            }
    }
    printf("cases %ld assembler-path %ld mismatches %ld dsp %d\n", (long)cases, (long)fast, (long)bad,
           kws_dsp_enabled());
    return bad != 0;
}
"""


@needs_toolchain
@pytest.mark.parametrize("asm", [True, False], ids=["assembler", "no_assembler"])
def test_depthwise_3x3_random_layers_on_the_target(tmp_path, asm):
    """kws_depthwise_3x3_s8_dsp equals the plain kernel on random 3x3 layers (1-13 channels,
    one or two batches, 1-9 x 1-12 inputs, stride_w 1-3, SAME / VALID, left and right shifts,
    clamps, refusals), writing nothing outside its output; with the assembler and without it."""
    result = _run_on_target(tmp_path, _DW3X3_APP, "dw3x3_check", "dsp", () if asm else ("-DKWS_DSP_NO_ASM",))
    assert " mismatches 0 dsp 1" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split("cases ")[1].split()[0]) > 600, result.stdout
    assert int(result.stdout.split("assembler-path ")[1].split()[0]) > 150, result.stdout
    assert result.returncode == 0


@needs_toolchain
def test_requantisation_assembler_on_the_target(tmp_path):
    """rq_store (the assembler requantisation the convolutions use) equals the reference's
    requantisation, offset and clamp on random cases within its precondition
    (|acc| < 2^(30 - left shift)), run in QEMU; so does kws_rqf's folded form (right shifts 1 to
    21, int8's whole range), what the matrix product and the 3x3 depthwise kernel use."""
    result = _run_on_target(tmp_path, _RQ_APP, "rq_check", "plain")
    assert " mismatches 0 dsp 1" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split("checked ")[1].split()[0]) > 150_000, result.stdout
    assert int(result.stdout.split("folded form ")[1].split(")")[0]) > 50_000, result.stdout
    assert result.returncode == 0
