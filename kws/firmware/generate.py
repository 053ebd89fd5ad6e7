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
``input`` directly and the last writes ``output`` directly. With the DSP kernels, scratch for the
kernels that take it (kws_depthwise_3x3_s8_dsp: 3x3 depthwise layers; kws_conv_im2col_s8_dsp:
convolutions with short filter rows) in an activation slot the operator leaves free, and behind
the two slots whatever more the largest needs.

The operators and their kernels' parameters (requantisation as LiteRT's BUILTIN_REF kernels
round, clamps, padding) come from :func:`kws.firmware.tflite_graph.read_graph`, which the host
test harness reads models with too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import KwsError
from .c_emit import c_array, c_comment_text, c_header, c_list
from .sources import DEFAULT_KERNELS, check_kernels
from .tflite_graph import KernelOp, output_and_padding, read_graph

HEADER_NAME = "kws_model.h"
SOURCE_NAME = "kws_model.c"

#: The plain kernels that have a DSP-extension version (``<name>_dsp``, kws_int8_ops_dsp.h).
_DSP_KERNELS = ("kws_conv_s8", "kws_depthwise_conv_s8", "kws_avg_pool_s8", "kws_fully_connected_s8")


@dataclass
class GeneratedModel:
    header: str
    source: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    arena_size: int
    ops: list[str] = field(default_factory=list)
    #: (operator index, kernel function) of each kernel call of the invoke, in order.
    kernel_calls: list[tuple[int, str]] = field(default_factory=list)
    #: Kernel fallbacks this model cannot reach, replaced (see :data:`FALLBACK_REPLACEMENTS`):
    #: the source defines ``__wrap_<name>`` for each, and the link must pass ``--wrap=<name>``.
    wrapped: tuple[str, ...] = ()
    header_name: str = HEADER_NAME
    source_name: str = SOURCE_NAME

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape))


#: The kernels that a DSP kernel falls back to and that a model's layers may never reach, with
#: the C that replaces each one then: kws_depthwise_3x3_s8_dsp refuses a layer outside its
#: preconditions (left shifts, accumulator bound) to the general DSP depthwise kernel, 4.6 KB;
#: for a model that calls the 3x3 kernel alone, that refusal goes to the plain kernel instead
#: (the same integers, slower, and DS-CNN's layers never take it). The plain FULLY_CONNECTED
#: and AVERAGE_POOL_2D kernels are the DSP ones' fallbacks for an input offset outside
#: +-32000 and for windows over 256 elements (kws_int8_ops_dsp.h); a model whose layers are all
#: inside gets a body that returns KWS_ERROR_ARGUMENT, so that a change of those conditions in
#: C shows as a failing inference, never as a wrong score. The replacement is a link-time
#: ``--wrap`` (the kernel's object stays linked for what else it holds: --gc-sections drops
#: the function). ``{args}``: the parameters, ``{names}``: them as a call's arguments.
FALLBACK_REPLACEMENTS = {
    "kws_depthwise_conv_s8_dsp": (
        "const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output",
        "return kws_depthwise_conv_s8(p, input, filter, bias, output);"),
    "kws_fully_connected_s8": (
        "const kws_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias, int8_t *output",
        "(void)p; (void)input; (void)weights; (void)bias; (void)output;\n    return KWS_ERROR_ARGUMENT;"),
    "kws_avg_pool_s8": (
        "const kws_pool_params *p, const int8_t *input, int8_t *output",
        "(void)p; (void)input; (void)output;\n    return KWS_ERROR_ARGUMENT;"),
}
#: The DSP kernels' fallback conditions the generator checks (kws_int8_ops_dsp.h): the input
#: offsets the DSP kernels' SADD16 paths take, and the largest average-pool window.
DSP_OFFSET_LIMIT = 32000
DSP_AVG_POOL_MAX_WINDOW = 256


def unreachable_fallbacks(calls: list[tuple[str, dict]]) -> tuple[str, ...]:
    """The fallbacks of :data:`FALLBACK_REPLACEMENTS` that a DSP build's kernel calls cannot
    reach: ``calls`` holds each call's kernel and the layer's facts (``input_offset``,
    ``window``), in order."""
    kernels = [kernel for kernel, _ in calls]
    unreachable = []
    if "kws_depthwise_3x3_s8_dsp" in kernels and "kws_depthwise_conv_s8_dsp" not in kernels:
        unreachable.append("kws_depthwise_conv_s8_dsp")
    if "kws_fully_connected_s8_dsp" in kernels and "kws_fully_connected_s8" not in kernels and all(
            abs(facts["input_offset"]) <= DSP_OFFSET_LIMIT
            for kernel, facts in calls if kernel == "kws_fully_connected_s8_dsp"):
        unreachable.append("kws_fully_connected_s8")
    if "kws_avg_pool_s8_dsp" in kernels and "kws_avg_pool_s8" not in kernels and all(
            facts["window"] <= DSP_AVG_POOL_MAX_WINDOW for kernel, facts in calls if kernel == "kws_avg_pool_s8_dsp"):
        unreachable.append("kws_avg_pool_s8")
    return tuple(unreachable)


def _replacements(names: tuple[str, ...]) -> str:
    """The ``__wrap_`` functions of ``names`` (see :data:`FALLBACK_REPLACEMENTS`)."""
    out = []
    for name in names:
        args, body = FALLBACK_REPLACEMENTS[name]
        out.append(f"/* In place of {name}, a fallback this model cannot reach (kws.firmware.generate). */\n"
                   f"int __wrap_{name}({args});\n"
                   f"int __wrap_{name}({args})\n{{\n    {body}\n}}\n")
    return "\n".join(out)


def _dims(shape) -> str:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4:
        raise KwsError(f"expected a 4-D NHWC shape, got {shape}")
    return "{%d, %d, %d, %d}" % shape


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


@dataclass(frozen=True)
class _Call:
    """One operator's C: its constants and the kernel it calls on (input, output)."""

    constants: list[str]
    kernel: str
    #: The call's arguments between the parameter struct and (input, output), e.g. weights, bias.
    operands: tuple[str, ...] = ()
    #: Bytes of scratch the DSP version of the kernel can use (0: none); see _scratch_kernel.
    scratch: int = 0


#: Kernels with scratch, DSP builds only: plain kernel -> (DSP kernel taking scratch after the
#: parameter struct). The scratch is an activation slot the operator does not use where there
#: is one (the first operator reads the model's input: slot 1 is free), and the arena holds
#: whatever more the largest scratch needs behind the two activation slots.
_SCRATCH_KERNELS = {"kws_depthwise_conv_s8": "kws_depthwise_3x3_s8_dsp", "kws_conv_s8": "kws_conv_im2col_s8_dsp"}

#: Rows of kws_conv_im2col_s8_dsp's matrix an operator gets at least, where no free activation
#: slot holds the whole matrix (the kernel works in chunks of pixels; more rows, less set-up).
IM2COL_MIN_ROWS = 8


#: kws_depthwise_3x3_s8_dsp's plane row stride (words) for planes up to that wide (DW3X3_ROW in C).
DEPTHWISE_3X3_ROW = 8


def depthwise_3x3_scratch(filter_hw: tuple[int, int], depth_multiplier: int, stride: tuple[int, int],
                          dilation: tuple[int, int], out_hw: tuple[int, int]) -> int:
    """Scratch bytes of kws_depthwise_3x3_s8_dsp for a layer it takes, else 0: int16 planes of
    four channels in row pairs (ceil(out_h / 2) + 1 row pairs of max(8, (out_w - 1) * stride_w + 3)
    words each: 8 is the assembler's fixed row stride), 3 bytes to align. The same arithmetic as
    kws_depthwise_3x3_s8_dsp_scratch_size in C (tests/test_firmware_dsp.py compares them)."""
    if tuple(filter_hw) != (3, 3) or depth_multiplier != 1 or stride[0] != 1 or tuple(dilation) != (1, 1):
        return 0
    pair_rows = (out_hw[0] + 1) // 2 + 1
    row = max(DEPTHWISE_3X3_ROW, (out_hw[1] - 1) * stride[1] + 3)
    return 4 * pair_rows * row * 4 + 3


def conv_im2col_scratch(filter_shape: tuple[int, int, int], out_pixels: int, free: int) -> int:
    """Scratch bytes for kws_conv_im2col_s8_dsp, a CONV_2D of filter (h, w, c) with ``out_pixels``
    output pixels (n x h x w), given ``free`` bytes no other tensor uses: the whole matrix (one
    row of h*w*c int8 per pixel) where it fits in ``free``, else at least IM2COL_MIN_ROWS rows;
    3 bytes to align. The whole matrix is kws_conv_im2col_s8_dsp_scratch_size in C
    (tests/test_firmware_dsp.py compares them)."""
    depth = int(np.prod(filter_shape))
    whole = out_pixels * depth + 3
    return whole if whole <= free else max(free, min(whole, IM2COL_MIN_ROWS * depth + 3))


def _im2col_wanted(filter_hw: tuple[int, int], padding: tuple[int, int], in_c: int) -> bool:
    """Whether a CONV_2D goes through im2col: a window other than one unpadded pixel (pointwise
    layers are a matrix product as they are) whose filter rows are short runs (w*c < 16 int8),
    which kws_conv_s8_dsp would walk row by row."""
    if filter_hw[1] * in_c >= 16:
        return False
    return tuple(filter_hw) != (1, 1) or tuple(padding) != (0, 0)


def _weighted(op: KernelOp, prefix: str, weights_attribute: str, free: int = 0) -> _Call:
    """CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: weights, bias, requantisation and parameters."""
    p, weights = op.params, op.weights
    in_shape, out_shape = op.input.shape, op.output.shape
    multipliers, shifts = p["multipliers"], p["shifts"]
    constants = [c_array("int8_t", f"{prefix}_weights", weights, attributes=weights_attribute)]
    if op.bias is not None:
        constants.append(c_array("int32_t", f"{prefix}_bias", op.bias))
    constants += [c_array("int32_t", f"{prefix}_multipliers", multipliers),
                  c_array("int32_t", f"{prefix}_shifts", shifts)]
    operands = (f"{prefix}_weights", f"{prefix}_bias" if op.bias is not None else "NULL")
    quantisation = f"{-p['input_zero_point']}, {p['output_zero_point']}, {p['act_min']}, {p['act_max']}"
    if op.name == "FULLY_CONNECTED":
        units, depth = (int(s) for s in weights.shape)
        if op.input.size % depth:
            raise KwsError(f"operator {op.index} FULLY_CONNECTED: input size not a multiple of {depth}")
        batches = op.input.size // depth
        if op.output.size != batches * units:
            raise KwsError(f"operator {op.index} FULLY_CONNECTED: output shape {out_shape}")
        per_channel = int(len(multipliers) == units and units > 1)
        constants.append(f"static const kws_fc_params {prefix}_params = {{\n"
                         f"    {batches}, {depth}, {units}, {quantisation},\n"
                         f"    {per_channel}, {prefix}_multipliers, {prefix}_shifts, {p['rounding']}}};\n")
        return _Call(constants, "kws_fully_connected_s8", operands)
    if len(in_shape) != 4 or len(out_shape) != 4 or weights.ndim != 4:
        raise op.fail("expected 4-D tensors")
    fh, fw = int(weights.shape[1]), int(weights.shape[2])
    stride_h, stride_w = (int(s) for s in p["stride"])
    dil_h, dil_w = (int(s) for s in p["dilation"])
    out_h, pad_h = output_and_padding(p["padding"], in_shape[1], fh, stride_h, dil_h)
    out_w, pad_w = output_and_padding(p["padding"], in_shape[2], fw, stride_w, dil_w)
    if op.name == "DEPTHWISE_CONV_2D":
        depth_multiplier = p["depth_multiplier"]
        out_c = int(weights.shape[3])
        if depth_multiplier * in_shape[3] != out_c:
            raise KwsError(f"operator {op.index} DEPTHWISE_CONV_2D: channels do not match")
    else:
        depth_multiplier = 1
        out_c = int(weights.shape[0])
        if int(weights.shape[3]) != in_shape[3]:
            raise KwsError(f"operator {op.index} CONV_2D: grouped convolution is not supported")
    computed = (in_shape[0], out_h, out_w, out_c)
    if computed != out_shape:
        raise op.fail(f"output {out_shape}, computed {computed}")
    if len(multipliers) != out_c:
        raise op.fail(f"{len(multipliers)} multipliers for {out_c} channels")
    constants.append(f"static const kws_conv_params {prefix}_params = {{\n"
                     f"    {_dims(in_shape)}, {_dims(weights.shape)}, {_dims(out_shape)},\n"
                     f"    {stride_h}, {stride_w}, {dil_h}, {dil_w}, {pad_h}, {pad_w}, {depth_multiplier},\n"
                     f"    {quantisation},\n"
                     f"    {prefix}_multipliers, {prefix}_shifts, {p['rounding']}}};\n")
    if op.name == "DEPTHWISE_CONV_2D":
        scratch = depthwise_3x3_scratch((fh, fw), depth_multiplier, (stride_h, stride_w), (dil_h, dil_w),
                                        (out_h, out_w))
        return _Call(constants, "kws_depthwise_conv_s8", operands, scratch)
    scratch = 0
    if _im2col_wanted((fh, fw), (pad_h, pad_w), int(in_shape[3])):
        scratch = conv_im2col_scratch((fh, fw, int(in_shape[3])), int(np.prod(out_shape[:3])), free)
    return _Call(constants, "kws_conv_s8", operands, scratch)


def _pool(op: KernelOp, prefix: str) -> _Call:
    p = op.params
    in_shape, out_shape = op.input.shape, op.output.shape
    fh, fw = (int(s) for s in p["filter_size"])
    stride_h, stride_w = (int(s) for s in p["stride"])
    out_h, pad_h = output_and_padding(p["padding"], in_shape[1], fh, stride_h, 1)
    out_w, pad_w = output_and_padding(p["padding"], in_shape[2], fw, stride_w, 1)
    computed = (in_shape[0], out_h, out_w, in_shape[3])
    if computed != out_shape:
        raise KwsError(f"operator {op.index} {op.name}: output {out_shape}, computed {computed}")
    constants = [f"static const kws_pool_params {prefix}_params = {{\n"
                 f"    {_dims(in_shape)}, {_dims(out_shape)}, {fh}, {fw}, {stride_h}, {stride_w},\n"
                 f"    {pad_h}, {pad_w}, {p['act_min']}, {p['act_max']}}};\n"]
    return _Call(constants, "kws_avg_pool_s8" if op.name == "AVERAGE_POOL_2D" else "kws_max_pool_s8")


def _softmax(op: KernelOp, prefix: str) -> _Call:
    p = op.params
    depth = op.input.shape[-1]
    constants = [f"static const kws_softmax_params {prefix}_params = {{\n"
                 f"    {op.input.size // depth}, {depth}, {p['multiplier']}, {p['left_shift']}, {p['diff_min']}}};\n"]
    return _Call(constants, "kws_softmax_s8")


def generate_model(model_content: bytes, *, name: str = "kws_model", kernels: str = DEFAULT_KERNELS) -> GeneratedModel:
    """C for ``model_content`` (an int8 TFLite flatbuffer). Raises :class:`KwsError` for an
    operator, option or graph shape the kernels do not support.

    ``kernels``: "plain" calls the reference kernels of kws_int8_ops.h; "dsp" the DSP-extension
    ones of kws_int8_ops_dsp.h where there is one (same integers; 3x3 depthwise layers take
    scratch in the arena). Built with ``-DKWS_PROFILE`` the invoke prints ``op <i> <kernel> instructions <n>`` per kernel call."""
    check_kernels(kernels)
    graph = read_graph(model_content)
    if graph.input.dtype != np.int8 or graph.output.dtype != np.int8:
        raise KwsError("only int8 input and output are supported")
    # Weights aligned to 4 bytes for the DSP kernels: they read them 32 bits at a time.
    weights_attribute = "KWS_ALIGN4" if kernels == "dsp" else ""

    # The memory plan: where each activation tensor lives ("input", "output", or an arena slot).
    location: dict[int, str] = {graph.input.index: "input"}
    slot_of: dict[int, int] = {}
    # Each slot holds the largest tensor an operator other than the last writes (RESHAPE aliases).
    slot_size = max([op.output.size for op in graph.ops[:-1] if op.name != "RESHAPE"], default=0)
    #: (first arena slot the scratch may use: 0, 1 or 2 = behind both, bytes) per scratch kernel call
    scratch_needs: list[tuple[int, int]] = []
    constants: list[str] = []
    body: list[str] = []
    kernel_calls: list[tuple[int, str]] = []
    call_facts: list[tuple[str, dict]] = []
    previous = graph.input.index
    for op in graph.ops:
        op.check_supported()
        if op.input.index != previous:
            raise KwsError(f"operator {op.index} ({op.name}) does not read the previous operator's output "
                           "(not a chain)")
        last = op is graph.ops[-1]
        if last and op.output.index != graph.output.index:
            raise KwsError("the last operator's output is not the model's output")
        if op.output.dtype != np.int8:
            raise KwsError(f"operator {op.index} ({op.name}) does not produce int8")
        src = location[op.input.index]
        previous = op.output.index

        if op.name == "RESHAPE":
            if op.input.size != op.output.size:
                raise KwsError(f"operator {op.index} RESHAPE changes the element count")
            if last:
                body.append(f"    memcpy(output, {src}, {op.output.size}u);")
                location[op.output.index] = "output"
            else:
                location[op.output.index] = src
                if op.input.index in slot_of:
                    slot_of[op.output.index] = slot_of[op.input.index]
            continue

        if last:
            dst = "output"
        else:
            slot = 1 if slot_of.get(op.input.index) == 0 else 0
            slot_of[op.output.index] = slot
            dst = "arena" if slot == 0 else "arena + KWS_MODEL_SLOT_SIZE"
        location[op.output.index] = dst
        # Scratch may start at the first activation slot from which on neither operand lives.
        used = {slot_of[t] for t in (op.input.index, op.output.index) if t in slot_of and location[t] != "output"}
        first_free = max(used) + 1 if used else 0
        prefix = f"op{op.index}"
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            call = _weighted(op, prefix, weights_attribute, free=(2 - first_free) * slot_size)
        elif op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            call = _pool(op, prefix)
        else:
            call = _softmax(op, prefix)
        kernel = f"{call.kernel}_dsp" if kernels == "dsp" and call.kernel in _DSP_KERNELS else call.kernel
        arguments = (f"&{prefix}_params", src, *call.operands, dst)
        if kernels == "dsp" and call.scratch:
            kernel = _SCRATCH_KERNELS[call.kernel]
            where = ("arena", "arena + KWS_MODEL_SLOT_SIZE", "arena + 2 * KWS_MODEL_SLOT_SIZE")[first_free]
            arguments = (arguments[0], where, f"{call.scratch}", *arguments[1:])
            scratch_needs.append((first_free, call.scratch))
        constants += call.constants
        kernel_calls.append((op.index, kernel))
        call_facts.append((kernel, {"input_offset": -op.params.get("input_zero_point", 0),
                                    "window": int(np.prod(op.params.get("filter_size", (1, 1))))}))
        body += ["    KWS_PROFILE_BEGIN();",
                 f"    status |= {kernel}({', '.join(arguments)});",
                 f'    KWS_PROFILE_END({op.index}, "{kernel}");']

    if previous != graph.output.index:
        raise KwsError("the operator chain does not end at the model's output")
    in_shape, out_shape = graph.input.shape, graph.output.shape
    op_names = [op.name for op in graph.ops]
    scratch_size = max([need - (2 - first) * slot_size for first, need in scratch_needs], default=0)
    arena_size = 2 * slot_size + max(scratch_size, 0)
    wrapped = unreachable_fallbacks(call_facts) if kernels == "dsp" else ()
    header = c_header(f"{name.upper()}_H", f"""#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define KWS_MODEL_INPUT_SIZE {graph.input.size}u
#define KWS_MODEL_OUTPUT_SIZE {graph.output.size}u
#define KWS_MODEL_ARENA_SIZE {max(arena_size, 1)}u
#define KWS_MODEL_INPUT_DIMS {len(in_shape)}
#define KWS_MODEL_OUTPUT_DIMS {len(out_shape)}
#define KWS_MODEL_OPERATORS {len(graph.ops)}

extern const int32_t kws_model_input_shape[KWS_MODEL_INPUT_DIMS];
extern const int32_t kws_model_output_shape[KWS_MODEL_OUTPUT_DIMS];

/* Runs the model: input [KWS_MODEL_INPUT_SIZE], output [KWS_MODEL_OUTPUT_SIZE], arena
 * [KWS_MODEL_ARENA_SIZE] bytes of scratch (no alignment needed). Returns 0 (KWS_OK), or
 * nonzero if a kernel refused its parameters. */
int {name}_invoke(const int8_t *input, int8_t *output, int8_t *arena);

#ifdef __cplusplus
}}
#endif
""", banner=f"/* {HEADER_NAME}: generated by kws.firmware.generate from an int8 .tflite; do not edit.\n"
            f" * Operators: {c_comment_text(' -> '.join(op_names))}\n */\n")
    newline = "\n"
    source = f"""/* {SOURCE_NAME}: generated by kws.firmware.generate from an int8 .tflite; do not edit.
 * Memory plan: two ping-pong slots of KWS_MODEL_SLOT_SIZE bytes in the arena, then the
 * kernels' scratch (if any).
 */
#include <stddef.h>
#include <string.h>

#include "kws_int8_ops.h"
{_DSP_INCLUDE if kernels == "dsp" else ""}#include "{HEADER_NAME}"
{_PROFILE_MACROS}
#define KWS_MODEL_SLOT_SIZE {slot_size}u

const int32_t kws_model_input_shape[KWS_MODEL_INPUT_DIMS] = {{{c_list(in_shape)}}};
const int32_t kws_model_output_shape[KWS_MODEL_OUTPUT_DIMS] = {{{c_list(out_shape)}}};

{newline.join(constants)}
{_replacements(wrapped)}
int {name}_invoke(const int8_t *input, int8_t *output, int8_t *arena)
{{
    int status = 0;
    (void)arena;
    (void)input;
{newline.join(body)}
    return status;
}}
"""
    return GeneratedModel(header, source, in_shape, out_shape, arena_size, op_names, kernel_calls, wrapped)
