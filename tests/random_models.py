"""Tiny random int8 models, one operator under test each, for checking the firmware's kernels.

:func:`random_single_op_models` draws shapes and operator parameters from a seeded RNG, builds
a Keras model for each draw (fixed batch 1, weights drawn from the same RNG, per-output-channel
magnitudes spread over two decades so that per-channel scales differ), converts it with the
TFLite converter (full-integer post-training quantisation, int8 input and output, a
representative dataset from the same RNG, the converter's own chatter silenced) and checks the
operators it emitted: a draw the converter turns into something else is redrawn. The same
seed gives the same models (bytes), inputs and descriptions.

Operators and what varies:

* CONV_2D: input and output channels (1, 2, 3, 4, 5, 7, 8, 12, 16, 32), kernel 1-5 x 1-5
  (non-square), strides 1-3, dilation 1-2 (stride 1 only: Keras forbids both), SAME / VALID,
  no activation, ReLU, ReLU6 or RELU_N1_TO_1, bias or none, per-channel weight scales (the
  converter's default) or per-tensor (``_experimental_disable_per_channel``); input ranges
  around zero, all positive or all negative (zero points from -128 to 127). Model 2 of each
  convolution and of FULLY_CONNECTED is "amplifying" (weights that nearly cancel on the
  representative data): output scales far below input x weight scale, i.e. positive
  requantisation shifts (up to about 12), which ordinary models never reach.
* DEPTHWISE_CONV_2D: the same, with depth multiplier 1-3.
* AVERAGE_POOL_2D, MAX_POOL_2D: window 1-4 x 1-4, strides 1-3, SAME / VALID, or one window
  over the whole input (up to 12 x 12), optionally a ReLU / ReLU6 after it (the converter fuses
  it).
* FULLY_CONNECTED: depth 1-199 and units 1-20, bias or none, activation, a 2-D input or a 3-D one
  (several rows, ``keep_num_dims``), per-channel weight scales (the converter's default for
  Dense layers in TensorFlow 2.21) or per-tensor
  (``_experimental_disable_per_channel_quantization_for_dense_layers``).
* SOFTMAX: 2-D or 4-D input (several rows), input ranges from narrow to wide, beta 1 or
  another value. The converter always writes beta = 1 (``softmax(beta * x)`` becomes MUL and
  SOFTMAX), so other betas are written into the flatbuffer's SoftmaxOptions afterwards; LiteRT
  honours them.
* RESHAPE: first (a flat input reshaped for a CONV_2D), in the middle (CONV_2D, Flatten,
  Dense; a longer chain DEPTHWISE_CONV_2D, MAX_POOL_2D, Flatten, Dense, Softmax), last (Dense
  then Reshape; CONV_2D then Reshape) and alone.

The first four models of each operator are stratified (each activation, padding, bias / no
bias, per-channel / per-tensor appears among them whatever the seed); later ones draw freely.

RELU_N1_TO_1 is not something Keras layers produce; it is written into the flatbuffer over a
fused ReLU (the field is present there), as with beta.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE")

#: Inputs per model: N_UNIFORM_INPUTS uniform random int8, one quantised from the representative
#: distribution, the same with -2..2 added, one within 1 of the zero point, and the two constant
#: extremes.
N_UNIFORM_INPUTS = 3


@dataclass(frozen=True)
class RandomModel:
    name: str                 # e.g. "conv_2d_1"
    op: str                   # the operator under test
    tflite: bytes
    inputs: np.ndarray        # [N, *input_shape] int8
    description: str          # the drawn parameters
    ops: tuple[str, ...]      # every operator of the model, in order


class _Redraw(Exception):
    """The converter did not emit the intended operators."""


@contextlib.contextmanager
def _quiet():
    """Silence Python- and C-level stdout/stderr (the converter prints from C++)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet():
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return tf, keras


# ------------------------------------------------------------------------------ flatbuffer edits

#: vtable slot of the fields patched after conversion, per options table (the TFLite schema).
_ACTIVATION_SLOT = {"CONV_2D": 10, "DEPTHWISE_CONV_2D": 12, "AVERAGE_POOL_2D": 14, "MAX_POOL_2D": 14,
                    "FULLY_CONNECTED": 4}
_OPTIONS_CLASS = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                  "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
                  "FULLY_CONNECTED": "FullyConnectedOptions", "SOFTMAX": "SoftmaxOptions"}


def _patch_option(content: bytes, op_index: int, op: str, slot: int, fmt: str, value) -> bytes:
    """Overwrite a scalar field of operator ``op_index``'s options in place. The field must be
    present in the buffer (flatbuffers omit fields equal to their default)."""
    import tflite

    model = tflite.Model.GetRootAsModel(content, 0)
    operator = model.Subgraphs(0).Operators(op_index)
    table = operator.BuiltinOptions()
    options = getattr(tflite, _OPTIONS_CLASS[op])()
    options.Init(table.Bytes, table.Pos)
    offset = options._tab.Offset(slot)
    if offset == 0:
        raise _Redraw(f"{op} options: field at slot {slot} absent")
    patched = bytearray(content)
    struct.pack_into(fmt, patched, options._tab.Pos + offset, value)
    return bytes(patched)


# ---------------------------------------------------------------------------------- building


@dataclass
class _Draw:
    op: str
    input_shape: tuple[int, ...]       # without the batch
    layers: Callable                   # keras module -> list of layers
    description: str
    expected: tuple[str, ...]
    low: float = -1.0                  # representative data range
    high: float = 1.0
    flags: dict | None = None          # converter attributes
    patches: tuple = ()                # (op_index, op, slot, fmt, value)
    #: > 0: an "amplifying" layer (see _set_weights); the relative size of what is left after
    #: the weights cancel on the representative data.
    amplify: float = 0.0
    #: For a weighted operator: per-tensor (True) or per-channel (False) weight scales expected.
    per_tensor: bool | None = None
    out_channels: int = 0


def _set_weights(keras, model, rng: np.random.Generator, amplify: float = 0.0) -> None:
    """Weights from rng: per-output-channel magnitudes over two decades; biases nonzero.

    With ``amplify`` > 0 the weights nearly cancel on the representative data (whose values
    are then equal across channels, or across positions for a depthwise layer): for each
    output channel they sum to ``amplify`` times their largest over the input channels (over
    the window for a depthwise layer), and biases are zero. The output's range, hence its scale, is
    then far smaller than input scale x weight scale: requantisation multipliers above 1
    (positive shifts), which ordinary models never reach."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
        new = []
        for w in weights:
            if w.ndim == 1:  # bias
                new.append(rng.normal(0.0, 0.5 if amplify == 0 else 0.0, w.shape).astype(np.float32))
                continue
            # Output channels: the last axis ([kh, kw, in, multiplier] for a depthwise kernel: the last two).
            channels = w.shape[-2:] if depthwise else w.shape[-1:]
            fan_in = int(np.prod(w.shape[:2])) if depthwise else int(np.prod(w.shape[:-1]))
            magnitude = 10.0 ** rng.uniform(-1.0, 1.0, channels)
            w = rng.normal(0.0, 1.0, w.shape) * magnitude / np.sqrt(max(fan_in, 1))
            if amplify > 0 and depthwise:  # needs a window of 2 or more
                w = w - w.mean(axis=(0, 1), keepdims=True)
                w[0, 0] += amplify * np.abs(w).max(axis=(0, 1))
            elif amplify > 0:  # needs 2 or more input channels
                w = w - w.mean(axis=-2, keepdims=True)
                w[..., 0, :] += amplify * np.abs(w).max(axis=-2)
            new.append(w.astype(np.float32))
        layer.set_weights(new)


def to_tflite(tf, model, data: np.ndarray, flags: dict | None = None) -> bytes:
    """Full-integer PTQ of a Keras model, int8 in and out; ``data`` [n, 1, *input shape]."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([d] for d in data)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    for key, value in (flags or {}).items():
        setattr(converter, key, value)
    with _quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Statistics for quantized inputs were expected ..."
        return converter.convert()


def _convert(tf, keras, draw: _Draw, rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    inp = keras.Input(draw.input_shape, batch_size=1)
    x = inp
    for layer in draw.layers(keras):
        x = layer(x)
    model = keras.Model(inp, x)
    _set_weights(keras, model, rng, draw.amplify)
    data = rng.uniform(draw.low, draw.high, (12, 1, *draw.input_shape))
    if draw.amplify > 0:  # equal across channels (across positions for DEPTHWISE_CONV_2D)
        data = np.broadcast_to(data[:, :, :1, :1, :] if draw.op == "DEPTHWISE_CONV_2D" else data[..., :1],
                               data.shape)
    data = np.ascontiguousarray(data, dtype=np.float32)
    return to_tflite(tf, model, data, draw.flags), data[:, 0]


def convert_keras(build: Callable, input_shape: tuple[int, ...], seed: int) -> bytes:
    """An int8 .tflite of any Keras graph ``build(keras, input) -> output`` (batch 1, weights
    and representative data from ``seed``), e.g. for models the generator must refuse."""
    tf, keras = _tensorflow()
    rng = np.random.default_rng(seed)
    keras.utils.clear_session()
    inp = keras.Input(input_shape, batch_size=1)
    model = keras.Model(inp, build(keras, inp))
    _set_weights(keras, model, rng)
    return to_tflite(tf, model, rng.uniform(-1.0, 1.0, (8, 1, *input_shape)).astype(np.float32))


def patch_softmax_beta(content: bytes, op_index: int, beta: float) -> bytes:
    """``content`` with SOFTMAX operator ``op_index``'s beta overwritten."""
    return _patch_option(content, op_index, "SOFTMAX", 4, "<f", beta)


def patch_fused_activation(content: bytes, op_index: int, op: str, activation: int) -> bytes:
    """``content`` with operator ``op_index``'s fused activation overwritten (the field must be
    present: the converter writes it only when it is not NONE)."""
    return _patch_option(content, op_index, op, _ACTIVATION_SLOT[op], "<b", activation)


def _finish(draw: _Draw, content: bytes, data: np.ndarray, rng: np.random.Generator, name: str) -> RandomModel:
    from kws.firmware.tflite_graph import reference_interpreter

    for patch in draw.patches:
        content = _patch_option(content, *patch)
    interpreter = reference_interpreter(content)
    ops = tuple(d["op_name"] for d in interpreter._get_ops_details())
    if ops != draw.expected:
        raise _Redraw(f"{name}: the converter emitted {ops}, not {draw.expected}")
    if draw.per_tensor is not None:
        weights = interpreter._get_ops_details()[0]["inputs"][1]
        scales = {t["index"]: t for t in interpreter.get_tensor_details()}[weights]["quantization_parameters"]["scales"]
        if (len(scales) == 1) != (draw.per_tensor or draw.out_channels == 1):
            raise RuntimeError(f"{name}: {len(scales)} weight scales, per-tensor={draw.per_tensor}")
    detail = interpreter.get_input_details()[0]
    shape = tuple(int(s) for s in detail["shape"])
    if detail["dtype"] != np.int8 or shape != (1, *draw.input_shape):
        raise _Redraw(f"{name}: input {detail['dtype']} {shape}")
    scale, zero_point = detail["quantization"]
    uniform = rng.integers(-128, 128, (N_UNIFORM_INPUTS, *shape), dtype=np.int64)
    realistic = np.round(data[:2] / scale) + zero_point
    realistic[1] += rng.integers(-2, 3, realistic[1].shape)  # near it (amplifying models: unsaturated)
    realistic = np.clip(realistic, -128, 127).reshape(2, *shape)
    # Near the zero point: -1, 0 or +1 from it; for an amplifying model the same offset across
    # channels (across positions for DEPTHWISE_CONV_2D), the direction its weights cancel in.
    noise = rng.integers(-1, 2, (1, *shape))
    if draw.amplify > 0:
        noise = noise[:, :, :1, :1, :] if draw.op == "DEPTHWISE_CONV_2D" else noise[..., :1]
    near_zero = np.clip(np.broadcast_to(zero_point + noise, (1, *shape)), -128, 127)
    extremes = np.stack([np.full(shape, v) for v in (-128, 127)])
    inputs = np.concatenate([uniform, realistic, near_zero, extremes]).astype(np.int8)
    return RandomModel(name, draw.op, content, inputs, draw.description, ops)


# --------------------------------------------------------------------------------- the draws

_CHANNELS = (1, 2, 3, 4, 5, 7, 8, 12, 16, 32)


_ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")


def _activation(rng, index: int) -> tuple[str | None, str]:
    """(Keras activation, label); 'relu_n1_to_1' is a ReLU patched after conversion. The first
    four models of an operator take each activation once; later ones draw."""
    choice = _ACTIVATIONS[index] if index < 4 else str(rng.choice(_ACTIVATIONS))
    return {"none": None, "relu": "relu", "relu6": "relu6", "relu_n1_to_1": "relu"}[choice], choice


def _input_range(rng, spread: float) -> tuple[float, float]:
    """The representative data's range: mostly around zero, sometimes all positive (input zero
    point -128) or all negative (+127)."""
    kind = rng.choice(["mixed", "positive", "negative"], p=[0.7, 0.2, 0.1])
    low, high = -float(rng.uniform(0.0, spread)), float(rng.uniform(0.5, spread))
    if kind == "positive":
        return float(rng.uniform(0.0, 0.5)), high
    if kind == "negative":
        return low - 0.5, -float(rng.uniform(0.0, 0.5))
    return low, high


def _spatial(rng, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    low = effective if padding == "valid" else 1
    return int(rng.integers(low, max(low, effective) + 8))


def _draw_conv(rng, depthwise: bool, index: int) -> _Draw:
    """Models 0-3 cover, between them: every activation, SAME and VALID each with and without
    dilation, no bias (model 2, also amplifying: positive shifts), per-tensor scales; the rest
    draws everything."""
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    in_c = int(rng.choice(_CHANNELS))
    out_c = int(rng.choice(_CHANNELS))
    multiplier = int(rng.integers(1, 4))
    kh, kw = (int(k) for k in rng.integers(1, 6, 2))
    amplify = float(10.0 ** rng.uniform(-4.5, -3.0)) if index == 2 else 0.0
    if amplify and depthwise:
        kh = max(kh, 2)
    elif amplify:
        in_c = max(in_c, 2)
    dilated = index % 4 in (1, 2) if index < 4 else bool(rng.random() < 0.35)
    if dilated:
        dh, dw = (int(d) for d in rng.integers(1, 3, 2))
        if dh == dw == 1:
            dh = 2
        sh = sw = 1
    else:
        dh = dw = 1
        sh, sw = (int(s) for s in rng.integers(1, 4, 2))
    padding = ("same", "valid")[index % 2] if index < 4 else str(rng.choice(["same", "valid"]))
    if amplify and depthwise:  # partial windows at the borders would not cancel
        padding = "valid"
    h, w = _spatial(rng, kh, sh, dh, padding), _spatial(rng, kw, sw, dw, padding)
    activation, label = _activation(rng, index)
    use_bias = index != 2 if index < 4 else bool(rng.random() < 0.75)
    per_tensor = index == 3 if index < 4 else bool(rng.random() < 0.25)
    low, high = _input_range(rng, 3.0)

    def layers(keras):
        if depthwise:
            return [keras.layers.DepthwiseConv2D((kh, kw), strides=(sh, sw), padding=padding,
                                                 depth_multiplier=multiplier, dilation_rate=(dh, dw),
                                                 activation=activation, use_bias=use_bias)]
        return [keras.layers.Conv2D(out_c, (kh, kw), strides=(sh, sw), padding=padding, dilation_rate=(dh, dw),
                                    activation=activation, use_bias=use_bias)]

    channels = f"{in_c}->{in_c * multiplier} (multiplier {multiplier})" if depthwise else f"{in_c}->{out_c}"
    description = (f"input {h}x{w}x{in_c}, channels {channels}, kernel {kh}x{kw}, stride {sh}x{sw}, "
                   f"dilation {dh}x{dw}, {padding.upper()}, {label}, {'bias' if use_bias else 'no bias'}, "
                   f"{'per-tensor' if per_tensor else 'per-channel'}, input range [{low:.2f}, {high:.2f}]"
                   f"{f', amplifying {amplify:.2g}' if amplify else ''}")
    patches = ((0, op, _ACTIVATION_SLOT[op], "<b", 2),) if label == "relu_n1_to_1" else ()
    return _Draw(op, (h, w, in_c), layers, description, (op,), low, high,
                 {"_experimental_disable_per_channel": True} if per_tensor else None, patches, amplify, per_tensor,
                 in_c * multiplier if depthwise else out_c)


def _draw_pool(rng, kind: str, index: int) -> _Draw:
    op = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
    ph, pw = (int(k) for k in rng.integers(1, 5, 2))
    if ph == pw == 1:
        ph = 2
    sh, sw = (int(s) for s in rng.integers(1, 4, 2))
    padding = ("same", "valid")[index % 2] if index < 4 else str(rng.choice(["same", "valid"]))
    h, w = _spatial(rng, ph, sh, 1, padding), _spatial(rng, pw, sw, 1, padding)
    if index == 5 or (index > 5 and rng.random() < 0.2):  # one window over the whole input
        h, w = (int(v) for v in rng.integers(1, 13, 2))
        ph, pw, sh, sw, padding = h, w, 1, 1, "valid"
    c = int(rng.choice(_CHANNELS))
    after = ("none", "relu", "relu6", "none")[index] if index < 4 else str(rng.choice(["none", "relu", "relu6"]))
    low, high = _input_range(rng, 8.0)

    def layers(keras):
        pool = keras.layers.AveragePooling2D if kind == "avg" else keras.layers.MaxPooling2D
        result = [pool((ph, pw), strides=(sh, sw), padding=padding)]
        if after != "none":
            result.append(keras.layers.ReLU(max_value=6.0 if after == "relu6" else None))
        return result

    description = (f"input {h}x{w}x{c}, window {ph}x{pw}, stride {sh}x{sw}, {padding.upper()}, "
                   f"then {after}, input range [{low:.2f}, {high:.2f}]")
    return _Draw(op, (h, w, c), layers, description, (op,), low, high)


def _draw_fc(rng, index: int) -> _Draw:
    depth = int(rng.integers(1, 49)) if rng.random() < 0.7 else int(rng.integers(49, 200))
    units = int(rng.integers(1, 21))
    rows = (1, int(rng.integers(2, 4)))[index % 2] if index < 4 else int(rng.choice([1, 1, 2, 3]))
    use_bias = index != 2 if index < 4 else bool(rng.random() < 0.7)
    activation, label = _activation(rng, index)
    per_tensor = index in (1, 2) if index < 4 else bool(rng.random() < 0.4)
    amplify = float(10.0 ** rng.uniform(-4.5, -3.0)) if index == 2 else 0.0
    if amplify:
        depth = max(depth, 2)
    low, high = _input_range(rng, 3.0)
    shape = (depth,) if rows == 1 else (rows, depth)

    def layers(keras):
        return [keras.layers.Dense(units, activation=activation, use_bias=use_bias)]

    description = (f"input {'x'.join(str(s) for s in shape)}, units {units}, {label}, "
                   f"{'bias' if use_bias else 'no bias'}, {'per-tensor' if per_tensor else 'per-channel'}, "
                   f"input range [{low:.2f}, {high:.2f}]{f', amplifying {amplify:.2g}' if amplify else ''}")
    flags = {"_experimental_disable_per_channel_quantization_for_dense_layers": True} if per_tensor else None
    patches = ((0, "FULLY_CONNECTED", _ACTIVATION_SLOT["FULLY_CONNECTED"], "<b", 2),) if label == "relu_n1_to_1" else ()
    return _Draw("FULLY_CONNECTED", shape, layers, description, ("FULLY_CONNECTED",), low, high, flags, patches,
                 amplify, per_tensor, units)


def _draw_softmax(rng, index: int) -> _Draw:
    if (index % 2 == 0) if index < 4 else rng.random() < 0.5:
        shape: tuple[int, ...] = (int(rng.integers(1, 40)),)
    else:
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 13)))
    spread = float(10.0 ** rng.uniform(-0.5, 1.5))
    low, high = -spread * float(rng.uniform(0.2, 1.0)), spread * float(rng.uniform(0.2, 1.0))
    patched = index >= 2 if index < 4 else bool(rng.random() < 0.6)
    beta = float(np.float32(10.0 ** rng.uniform(-1.0, 1.0))) if patched else 1.0

    def layers(keras):
        return [keras.layers.Softmax()]

    description = (f"input {'x'.join(str(s) for s in shape)}, input range [{low:.2f}, {high:.2f}], "
                   f"beta {beta:.4g}{' (patched)' if beta != 1.0 else ''}")
    patches = ((0, "SOFTMAX", 4, "<f", beta),) if beta != 1.0 else ()
    return _Draw("SOFTMAX", shape, layers, description, ("SOFTMAX",), low, high, None, patches)


def _draw_reshape(rng, variant: int) -> _Draw:
    low, high = -float(rng.uniform(0.0, 2.0)), float(rng.uniform(0.5, 2.0))
    h, w, c = (int(v) for v in rng.integers(2, 7, 3))
    filters, units = int(rng.choice(_CHANNELS)), int(rng.integers(1, 13))
    k = int(rng.integers(1, 4))
    if variant == 0:  # RESHAPE in the middle: CONV_2D, Flatten, Dense
        def layers(keras):
            return [keras.layers.Conv2D(filters, k, padding="same", activation="relu"), keras.layers.Flatten(),
                    keras.layers.Dense(units)]

        return _Draw("RESHAPE", (h, w, c), layers,
                     f"CONV_2D {k}x{k} {c}->{filters} SAME relu on {h}x{w}, Flatten, Dense {units}",
                     ("CONV_2D", "RESHAPE", "FULLY_CONNECTED"), low, high)
    if variant == 1:  # RESHAPE last, after FULLY_CONNECTED
        depth, a, b = int(rng.integers(1, 30)), int(rng.integers(1, 5)), int(rng.integers(1, 5))

        def layers(keras):
            return [keras.layers.Dense(a * b), keras.layers.Reshape((a, b))]

        return _Draw("RESHAPE", (depth,), layers, f"Dense {depth}->{a * b}, Reshape to {a}x{b} (last)",
                     ("FULLY_CONNECTED", "RESHAPE"), low, high)
    if variant == 2:  # RESHAPE first, then CONV_2D
        def layers(keras):
            return [keras.layers.Reshape((h, w, c)), keras.layers.Conv2D(filters, k, padding="valid" if k <= min(h, w)
                                                                         else "same")]

        return _Draw("RESHAPE", (h * w * c,), layers, f"Reshape {h * w * c} to {h}x{w}x{c} (first), CONV_2D "
                     f"{k}x{k} ->{filters}", ("RESHAPE", "CONV_2D"), low, high)
    if variant == 3:  # a longer chain with RESHAPE in the middle
        pool = int(rng.integers(2, 4))

        def layers(keras):
            return [keras.layers.DepthwiseConv2D(k, padding="same", activation="relu6"),
                    keras.layers.MaxPooling2D(pool, padding="same"), keras.layers.Flatten(),
                    keras.layers.Dense(units + 1), keras.layers.Softmax()]

        return _Draw("RESHAPE", (h, w, c), layers,
                     f"DEPTHWISE_CONV_2D {k}x{k} relu6 on {h}x{w}x{c}, MAX_POOL_2D {pool}x{pool} SAME, Flatten, "
                     f"Dense {units + 1}, Softmax",
                     ("DEPTHWISE_CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"), low, high)

    if variant == 5:  # RESHAPE alone (first and last: a copy)
        def layers(keras):
            return [keras.layers.Reshape((w, h * c))]

        return _Draw("RESHAPE", (h, w, c), layers, f"Reshape {h}x{w}x{c} to {w}x{h * c} (alone)", ("RESHAPE",),
                     low, high)

    def layers(keras):  # variant 4: CONV_2D then RESHAPE last (4-D to 2-D)
        return [keras.layers.Conv2D(filters, k, padding="same"), keras.layers.Reshape((h * w * filters,))]

    return _Draw("RESHAPE", (h, w, c), layers, f"CONV_2D {k}x{k} {c}->{filters} on {h}x{w}, Reshape to "
                 f"{h * w * filters} (last)", ("CONV_2D", "RESHAPE"), low, high)


_DRAWS: dict[str, Callable[[np.random.Generator, int], _Draw]] = {
    "CONV_2D": lambda rng, i: _draw_conv(rng, False, i),
    "DEPTHWISE_CONV_2D": lambda rng, i: _draw_conv(rng, True, i),
    "AVERAGE_POOL_2D": lambda rng, i: _draw_pool(rng, "avg", i),
    "MAX_POOL_2D": lambda rng, i: _draw_pool(rng, "max", i),
    "FULLY_CONNECTED": lambda rng, i: _draw_fc(rng, i),
    "SOFTMAX": lambda rng, i: _draw_softmax(rng, i),
    "RESHAPE": lambda rng, i: _draw_reshape(rng, i % 6),
}

MAX_TRIES = 8


def random_model(op: str, index: int, seed: int) -> RandomModel:
    """The ``index``-th random model for ``op`` (its own RNG stream, so models do not depend on
    each other)."""
    tf, keras = _tensorflow()
    rng = np.random.default_rng([seed, OPS.index(op), index])
    name = f"{op.lower()}_{index}"
    failures = []
    for _ in range(MAX_TRIES):
        draw = _DRAWS[op](rng, index)
        keras.utils.clear_session()
        try:
            content, data = _convert(tf, keras, draw, rng)
            return _finish(draw, content, data, rng, name)
        except _Redraw as error:
            failures.append(f"{draw.description}: {error}")
    raise RuntimeError(f"{name}: no usable draw in {MAX_TRIES} tries:\n" + "\n".join(failures))


def random_single_op_models(seed: int, count_per_op: int = 4, ops: tuple[str, ...] = OPS) -> list[RandomModel]:
    """``count_per_op`` random models for each operator in ``ops``, deterministic in ``seed``.
    RESHAPE's models cycle through its placements: in the middle, last after FULLY_CONNECTED,
    first, in the middle of a longer chain, last after a CONV_2D, alone."""
    return [random_model(op, i, seed) for op in ops for i in range(count_per_op)]
