"""Generate C for an int8 ``.tflite`` model: weights in flash, per-operator parameter structs for
the kernels of ``firmware/src/kws_int8_ops.h``, a static activation plan and the op sequence.

:func:`generate_model` returns a :class:`GeneratedModel` whose ``header``/``source`` are
``kws_model.h`` / ``kws_model.c``::

    #define KWS_MODEL_INPUT_SIZE   ...   int8 elements of the input
    #define KWS_MODEL_OUTPUT_SIZE  ...
    #define KWS_MODEL_ARENA_SIZE   ...   bytes of activation memory the caller provides
    int kws_model_invoke(const int8_t *input, int8_t *output, int8_t *arena);

Supported operators: CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, FULLY_CONNECTED,
SOFTMAX and RESHAPE (an alias of its input; a copy only where it is the last operator). The graph
must be a chain (each operator reads the previous one's output). Memory plan: two ping-pong buffers in
the arena, each as large as the largest intermediate tensor; the first operator reads
``input`` directly and the last writes ``output`` directly. Requantisation rounds per operator as
LiteRT's BUILTIN_REF kernels do (:data:`kws.firmware.int8_host.LITERT_ROUNDING`).

Operator options come from :func:`int8_host.flatbuffer_options`, tensors and quantisation from
the LiteRT interpreter, the same sources :func:`int8_host.model_ops` uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import int8_reference as ref
from ..errors import KwsError
from . import int8_host

HEADER_NAME = "kws_model.h"
SOURCE_NAME = "kws_model.c"

#: Kernel sets generate_model can call; "dsp" maps these plain kernels to their *_dsp versions.
KERNELS = ("plain", "dsp")
_DSP_KERNELS = ("kws_conv_s8", "kws_depthwise_conv_s8", "kws_avg_pool_s8", "kws_fully_connected_s8")

_SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX",
              "RESHAPE")


@dataclass
class GeneratedModel:
    header: str
    source: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    arena_size: int
    ops: list[str] = field(default_factory=list)
    header_name: str = HEADER_NAME
    source_name: str = SOURCE_NAME

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape))


def _c_array(ctype: str, name: str, values) -> str:
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    lines = []
    for start in range(0, len(flat), 24):
        lines.append("    " + ", ".join(str(v) for v in flat[start:start + 24]) + ",")
    body = "\n".join(lines) if lines else "    0,"
    return f"static const {ctype} {name}[{max(len(flat), 1)}] = {{\n{body}\n}};\n"


def _dims(shape) -> str:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4:
        raise KwsError(f"expected a 4-D NHWC shape, got {shape}")
    return "{%d, %d, %d, %d}" % shape


def _activation_range(number: int, op: str, activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    try:
        return int8_host.activation_range(activation, scale, zero_point)
    except KwsError as error:
        raise KwsError(f"operator {number} ({op}): {error}") from None


def _output_and_padding(padding: int, size: int, filter_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's ComputeOutSize and ComputePaddingHeightWidth for one dimension: (out, leading pad)."""
    effective = (filter_size - 1) * dilation + 1
    if padding == int8_host.PADDING_SAME:
        out = (size + stride - 1) // stride
    else:
        out = (size + stride - effective) // stride
    total = max(0, (out - 1) * stride + effective - size)
    return out, total // 2


_DSP_INCLUDE = """#include "kws_int8_ops_dsp.h"
#if defined(__GNUC__)
#define KWS_ALIGN4 __attribute__((aligned(4)))
#else
#define KWS_ALIGN4
#endif
"""

_PROFILE_MACROS = """
#ifdef KWS_PROFILE /* instructions per kernel call, on a board (board.h) with stdout */
#include <stdio.h>
#include "board.h"
static uint32_t kws_profile_start;
#define KWS_PROFILE_BEGIN() (kws_profile_start = board_counter_now())
#define KWS_PROFILE_END(index, kernel)                                                              \\
    printf("op %d %s instructions %lu\\n", index, kernel,                                            \\
           (unsigned long)board_counter_to_instructions(board_counter_elapsed(kws_profile_start,       \\
                                                                              board_counter_now())))
#else
#define KWS_PROFILE_BEGIN() ((void)0)
#define KWS_PROFILE_END(index, kernel) ((void)0)
#endif
"""


def _instrument(body: list[str], kernels: str) -> list[str]:
    """The kernel calls of ``body`` renamed for ``kernels`` and bracketed by the profile macros."""
    lines = []
    for line in body:
        call = line.strip()
        if not call.startswith("status |= "):
            lines.append(line)
            continue
        kernel = call[len("status |= "):].split("(", 1)[0]
        if kernels == "dsp" and kernel in _DSP_KERNELS:
            kernel += "_dsp"
            line = line.replace(call.split("(", 1)[0], f"status |= {kernel}", 1)
        index = int(call.split("&op", 1)[1].split("_", 1)[0])  # the operator's number, from &op<N>_params
        lines += ["    KWS_PROFILE_BEGIN();", line, f'    KWS_PROFILE_END({index}, "{kernel}");']
    return lines


def generate_model(model_content: bytes, *, name: str = "kws_model", kernels: str = "plain") -> GeneratedModel:
    """C for ``model_content`` (an int8 TFLite flatbuffer). Raises :class:`KwsError` for an
    operator, option or graph shape the kernels do not support.

    ``kernels``: "plain" calls the reference kernels of kws_int8_ops.h; "dsp" the DSP-extension
    ones of kws_int8_ops_dsp.h where there is one (same integers, no extra memory). Built with
    ``-DKWS_PROFILE`` the invoke prints ``op <i> <kernel> instructions <n>`` per kernel call."""
    if kernels not in KERNELS:
        raise KwsError(f"unknown kernels {kernels!r}; known: {', '.join(KERNELS)}")
    interpreter = int8_host.reference_interpreter(model_content)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    options = int8_host.flatbuffer_options(model_content)
    details = interpreter._get_ops_details()
    if len(details) != len(options):
        raise KwsError(f"the interpreter has {len(details)} operators, the flatbuffer {len(options)}")
    in_detail = interpreter.get_input_details()
    out_detail = interpreter.get_output_details()
    if len(in_detail) != 1 or len(out_detail) != 1:
        raise KwsError("only models with one input and one output are supported")
    if in_detail[0]["dtype"] != np.int8 or out_detail[0]["dtype"] != np.int8:
        raise KwsError("only int8 input and output are supported")
    graph_input, graph_output = int(in_detail[0]["index"]), int(out_detail[0]["index"])

    def shape(index: int) -> tuple[int, ...]:
        return tuple(int(s) for s in tensors[index]["shape"])

    def size(index: int) -> int:
        return int(np.prod(shape(index)))

    def quant(index: int) -> tuple[np.ndarray, np.ndarray]:
        q = tensors[index]["quantization_parameters"]
        return np.asarray(q["scales"], np.float32), np.asarray(q["zero_points"], np.int64)

    # The memory plan: where each activation tensor lives ("input", "output", or an arena slot).
    n_ops = len(details)
    location: dict[int, str] = {graph_input: "input"}
    slot_of: dict[int, int] = {}
    slot_size = 0
    constants: list[str] = []
    body: list[str] = []
    op_names: list[str] = []
    previous = graph_input

    for number, (detail, opt) in enumerate(zip(details, options)):
        op = detail["op_name"]
        op_names.append(op)
        if op not in _SUPPORTED:
            raise KwsError(f"operator {number} ({op}) has no int8 kernel in firmware/src")
        inputs = [int(i) for i in detail["inputs"]]
        out_index = int(detail["outputs"][0])
        if len(detail["outputs"]) != 1:
            raise KwsError(f"operator {number} ({op}) has {len(detail['outputs'])} outputs")
        if inputs[0] != previous:
            raise KwsError(f"operator {number} ({op}) does not read the previous operator's output (not a chain)")
        last = number == n_ops - 1
        if last and out_index != graph_output:
            raise KwsError("the last operator's output is not the model's output")
        if tensors[out_index]["dtype"] != np.int8:
            raise KwsError(f"operator {number} ({op}) does not produce int8")
        src = location[inputs[0]]

        if op == "RESHAPE":
            if size(inputs[0]) != size(out_index):
                raise KwsError(f"operator {number} RESHAPE changes the element count")
            if last:
                body.append(f"    memcpy(output, {src}, {size(out_index)}u);")
                location[out_index] = "output"
            else:
                location[out_index] = src
                if inputs[0] in slot_of:
                    slot_of[out_index] = slot_of[inputs[0]]
            previous = out_index
            continue

        if last:
            dst = "output"
        else:
            slot = 1 if slot_of.get(inputs[0]) == 0 else 0
            slot_of[out_index] = slot
            dst = "arena" if slot == 0 else "arena + KWS_MODEL_SLOT_SIZE"
            slot_size = max(slot_size, size(out_index))
        location[out_index] = dst
        prefix = f"op{number}"
        in_scale, in_zp = quant(inputs[0])
        out_scale, out_zp = quant(out_index)
        in_shape, out_shape = shape(inputs[0]), shape(out_index)

        if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            weights = interpreter.get_tensor(inputs[1])
            w_scale, w_zp = quant(inputs[1])
            if weights.dtype != np.int8:
                raise KwsError(f"operator {number} ({op}): weights are {weights.dtype}, not int8")
            if np.any(w_zp != 0):
                raise KwsError(f"operator {number} ({op}): weights with a non-zero zero point")
            has_bias = len(inputs) > 2 and inputs[2] >= 0
            bias = interpreter.get_tensor(inputs[2]) if has_bias else None
            if bias is not None and bias.dtype != np.int32:
                raise KwsError(f"operator {number} ({op}): bias is {bias.dtype}, not int32")
            multipliers, shifts = int8_host._requant(in_scale[0], w_scale, out_scale[0])
            act_min, act_max = _activation_range(number, op, opt["activation"], float(out_scale[0]), int(out_zp[0]))
            rounding = int8_host.LITERT_ROUNDING[op]
            out_channels = out_shape[-1]
            if op != "FULLY_CONNECTED" and len(multipliers) == 1 and out_channels > 1:
                multipliers = np.repeat(multipliers, out_channels)
                shifts = np.repeat(shifts, out_channels)
            constants.append(_c_array("int8_t", f"{prefix}_weights", weights))
            if bias is not None:
                constants.append(_c_array("int32_t", f"{prefix}_bias", bias))
            constants.append(_c_array("int32_t", f"{prefix}_multipliers", multipliers))
            constants.append(_c_array("int32_t", f"{prefix}_shifts", shifts))
            bias_ref = f"{prefix}_bias" if bias is not None else "NULL"
            if op == "FULLY_CONNECTED":
                units, depth = (int(s) for s in weights.shape)
                if size(inputs[0]) % depth:
                    raise KwsError(f"operator {number} FULLY_CONNECTED: input size not a multiple of {depth}")
                batches = size(inputs[0]) // depth
                if size(out_index) != batches * units:
                    raise KwsError(f"operator {number} FULLY_CONNECTED: output shape {out_shape}")
                per_channel = int(len(multipliers) == units and units > 1)
                constants.append(
                    f"static const kws_fc_params {prefix}_params = {{\n"
                    f"    {batches}, {depth}, {units}, {-int(in_zp[0])}, {int(out_zp[0])}, {act_min}, {act_max},\n"
                    f"    {per_channel}, {prefix}_multipliers, {prefix}_shifts, {rounding}}};\n"
                )
                body.append(f"    status |= kws_fully_connected_s8(&{prefix}_params, {src}, {prefix}_weights, "
                            f"{bias_ref}, {dst});")
            else:
                if len(in_shape) != 4 or len(out_shape) != 4 or weights.ndim != 4:
                    raise KwsError(f"operator {number} ({op}): expected 4-D tensors")
                fh, fw = int(weights.shape[1]), int(weights.shape[2])
                stride_h, stride_w = (int(s) for s in opt["stride"])
                dil_h, dil_w = (int(s) for s in opt["dilation"])
                padding = int8_host._PADDING[opt["padding"]]
                out_h, pad_h = _output_and_padding(padding, in_shape[1], fh, stride_h, dil_h)
                out_w, pad_w = _output_and_padding(padding, in_shape[2], fw, stride_w, dil_w)
                if op == "DEPTHWISE_CONV_2D":
                    depth_multiplier = int(weights.shape[3]) // in_shape[3]
                    out_c = int(weights.shape[3])
                    if depth_multiplier * in_shape[3] != out_c:
                        raise KwsError(f"operator {number} DEPTHWISE_CONV_2D: channels do not match")
                else:
                    depth_multiplier = 1
                    out_c = int(weights.shape[0])
                    if int(weights.shape[3]) != in_shape[3]:
                        raise KwsError(f"operator {number} CONV_2D: grouped convolution is not supported")
                computed = (in_shape[0], out_h, out_w, out_c)
                if computed != out_shape:
                    raise KwsError(f"operator {number} ({op}): output {out_shape}, computed {computed}")
                if len(multipliers) != out_c:
                    raise KwsError(f"operator {number} ({op}): {len(multipliers)} multipliers for {out_c} channels")
                constants.append(
                    f"static const kws_conv_params {prefix}_params = {{\n"
                    f"    {_dims(in_shape)}, {_dims(weights.shape)}, {_dims(out_shape)},\n"
                    f"    {stride_h}, {stride_w}, {dil_h}, {dil_w}, {pad_h}, {pad_w}, {depth_multiplier},\n"
                    f"    {-int(in_zp[0])}, {int(out_zp[0])}, {act_min}, {act_max},\n"
                    f"    {prefix}_multipliers, {prefix}_shifts, {rounding}}};\n"
                )
                kernel = "kws_depthwise_conv_s8" if op == "DEPTHWISE_CONV_2D" else "kws_conv_s8"
                body.append(f"    status |= {kernel}(&{prefix}_params, {src}, {prefix}_weights, {bias_ref}, {dst});")
        elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            if float(in_scale[0]) != float(out_scale[0]) or int(in_zp[0]) != int(out_zp[0]):
                raise KwsError(f"operator {number} {op} with different input and output quantisation")
            act_min, act_max = _activation_range(number, op, opt["activation"], float(out_scale[0]), int(out_zp[0]))
            fh, fw = (int(s) for s in opt["filter_size"])
            stride_h, stride_w = (int(s) for s in opt["stride"])
            padding = int8_host._PADDING[opt["padding"]]
            out_h, pad_h = _output_and_padding(padding, in_shape[1], fh, stride_h, 1)
            out_w, pad_w = _output_and_padding(padding, in_shape[2], fw, stride_w, 1)
            computed = (in_shape[0], out_h, out_w, in_shape[3])
            if computed != out_shape:
                raise KwsError(f"operator {number} {op}: output {out_shape}, computed {computed}")
            constants.append(
                f"static const kws_pool_params {prefix}_params = {{\n"
                f"    {_dims(in_shape)}, {_dims(out_shape)}, {fh}, {fw}, {stride_h}, {stride_w},\n"
                f"    {pad_h}, {pad_w}, {act_min}, {act_max}}};\n"
            )
            kernel = "kws_avg_pool_s8" if op == "AVERAGE_POOL_2D" else "kws_max_pool_s8"
            body.append(f"    status |= {kernel}(&{prefix}_params, {src}, {dst});")
        elif op == "SOFTMAX":
            if int(out_zp[0]) != -128 or not math.isclose(float(out_scale[0]), 1 / 256):
                raise KwsError(f"operator {number} SOFTMAX: output must have scale 1/256 and zero point -128")
            multiplier, left_shift, diff_min = ref.softmax_parameters(float(in_scale[0]), float(opt["beta"]))
            depth = in_shape[-1]
            constants.append(
                f"static const kws_softmax_params {prefix}_params = {{\n"
                f"    {size(inputs[0]) // depth}, {depth}, {multiplier}, {left_shift}, {diff_min}}};\n"
            )
            body.append(f"    status |= kws_softmax_s8(&{prefix}_params, {src}, {dst});")
        previous = out_index

    if previous != graph_output:
        raise KwsError("the operator chain does not end at the model's output")
    body = _instrument(body, kernels)
    if kernels == "dsp":
        # Weights aligned to 4 bytes: the DSP kernels read them 32 bits at a time.
        constants = [c.replace("static const int8_t ", "static const int8_t KWS_ALIGN4 ", 1) for c in constants]
    in_shape, out_shape = shape(graph_input), shape(graph_output)
    arena_size = 2 * slot_size
    upper = name.upper()
    guard = f"{upper}_H"
    ops_comment = " -> ".join(op_names)
    header = f"""/* {HEADER_NAME}: generated by kws.firmware.generate from an int8 .tflite; do not edit.
 * Operators: {ops_comment}
 */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define KWS_MODEL_INPUT_SIZE {size(graph_input)}u
#define KWS_MODEL_OUTPUT_SIZE {size(graph_output)}u
#define KWS_MODEL_ARENA_SIZE {max(arena_size, 1)}u
#define KWS_MODEL_INPUT_DIMS {len(in_shape)}
#define KWS_MODEL_OUTPUT_DIMS {len(out_shape)}
#define KWS_MODEL_OPERATORS {n_ops}

extern const int32_t kws_model_input_shape[KWS_MODEL_INPUT_DIMS];
extern const int32_t kws_model_output_shape[KWS_MODEL_OUTPUT_DIMS];

/* Runs the model: input [KWS_MODEL_INPUT_SIZE], output [KWS_MODEL_OUTPUT_SIZE], arena
 * [KWS_MODEL_ARENA_SIZE] bytes of scratch (no alignment needed). Returns 0 (KWS_OK), or
 * nonzero if a kernel refused its parameters. */
int {name}_invoke(const int8_t *input, int8_t *output, int8_t *arena);

#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""
    source = f"""/* {SOURCE_NAME}: generated by kws.firmware.generate from an int8 .tflite; do not edit.
 * Memory plan: two ping-pong slots of KWS_MODEL_SLOT_SIZE bytes in the arena.
 */
#include <stddef.h>
#include <string.h>

#include "kws_int8_ops.h"
{_DSP_INCLUDE if kernels == "dsp" else ""}#include "{HEADER_NAME}"
{_PROFILE_MACROS}
#define KWS_MODEL_SLOT_SIZE {slot_size}u

const int32_t kws_model_input_shape[KWS_MODEL_INPUT_DIMS] = {{{", ".join(str(s) for s in in_shape)}}};
const int32_t kws_model_output_shape[KWS_MODEL_OUTPUT_DIMS] = {{{", ".join(str(s) for s in out_shape)}}};

{chr(10).join(constants)}
int {name}_invoke(const int8_t *input, int8_t *output, int8_t *arena)
{{
    int status = 0;
    (void)arena;
    (void)input;
{chr(10).join(body)}
    return status;
}}
"""
    return GeneratedModel(header, source, in_shape, out_shape, arena_size, op_names)
