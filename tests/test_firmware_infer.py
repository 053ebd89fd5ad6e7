"""The generated model (kws.firmware.generate: weights, parameter structs, ping-pong memory plan,
op sequence) on the firmware's int8 kernels, built for a Cortex-M4F and run in QEMU
(firmware/apps/infer.c via kws.firmware.infer), equals LiteRT's BUILTIN_REF kernels (0 LSB).

The tests that build and run firmware skip where arm-none-eabi-gcc or qemu-system-arm is not on
PATH (scripts/setup.sh installs both); the generator is checked everywhere.
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import assert_bit_exact

from firmware_helpers import (DEFAULT_MACS, MICRO_SPEECH, TOOLCHAIN_MISSING, litert_reference, needs_toolchain,
                              random_inputs, real_windows)
from kws.errors import KwsError
from kws.firmware.generate import generate_model
from kws.model_file import load_model

_MISSING = TOOLCHAIN_MISSING


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def default_build(model, tmp_path_factory):
    from kws.firmware.infer import build_infer

    return build_infer(model.tflite, tmp_path_factory.mktemp("infer_default"), kernels="plain")


# --- the generator (no toolchain needed) -------------------------------------------------------


def test_generated_default_model(model):
    generated = generate_model(model.tflite)
    assert generated.input_shape == (1, model.n_frames, model.mfcc.n_mfcc, 1)
    assert generated.output_shape == (1, len(model.labels))
    assert generated.ops == ["CONV_2D", *["DEPTHWISE_CONV_2D", "CONV_2D"] * 4, "AVERAGE_POOL_2D",
                             "FULLY_CONNECTED", "SOFTMAX"]
    # Two ping-pong slots, each the largest intermediate tensor (25 x 5 x 64), then the scratch of
    # the 3x3 depthwise kernel: four int16 planes of 14 row pairs x 7 columns (words), each row pair
    # 8 words apart (the assembler's fixed stride), 3 bytes to align.
    assert generated.arena_size == 2 * 25 * 5 * 64 + 4 * 14 * 8 * 4 + 3
    assert f"#define KWS_MODEL_ARENA_SIZE {generated.arena_size}u" in generated.header
    assert "malloc" not in generated.source
    # LiteRT's roundings: two-step in the convolutions, single in FULLY_CONNECTED.
    assert "op10_shifts, 1};" in generated.source and "op0_shifts, 0};" in generated.source


def test_generator_rejects_a_non_model():
    with pytest.raises((KwsError, ValueError, RuntimeError)):
        generate_model(b"not a flatbuffer" * 8)


# --- on the device -------------------------------------------------------------------------------


@needs_toolchain
def test_default_model_random_inputs_bit_exact(model, default_build):
    from kws.firmware.infer import run_infer

    assert default_build.warnings == {}
    inputs = random_inputs(default_build.model.input_shape, 20, seed=11)
    outputs, instructions = run_infer(default_build, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), "default model, random inputs")
    # Plain-C reference kernels on a Cortex-M4F: measured about 40.26 M instructions per
    # inference (0.066 MACs per instruction), nearly independent of the input.
    per_mac = instructions / DEFAULT_MACS
    print(f"default model: instructions per inference {int(np.median(instructions)):,} "
          f"(min {instructions.min():,}, max {instructions.max():,}); "
          f"MACs/instruction {DEFAULT_MACS / np.median(instructions):.4f}")
    assert np.all((per_mac > 2) & (per_mac < 40)), instructions
    assert instructions.max() - instructions.min() < 0.01 * instructions.min()


@needs_toolchain
def test_default_model_real_mfcc_windows_bit_exact(model, default_build):
    from kws.firmware.infer import run_infer

    inputs = real_windows(model, default_build.model.input_shape, 6)
    outputs, _ = run_infer(default_build, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), "default model, real MFCC windows")


@needs_toolchain
def test_tflm_micro_speech_bit_exact(tmp_path):
    """TensorFlow Lite Micro's micro_speech model: RESHAPE (aliased), DEPTHWISE_CONV_2D with a
    depth multiplier of 8 and stride 2, FULLY_CONNECTED over 4,000 inputs, SOFTMAX."""
    from kws.firmware.infer import infer

    if not MICRO_SPEECH.exists():
        pytest.skip(f"the micro_speech model is not available here ({MICRO_SPEECH} absent)")
    content = MICRO_SPEECH.read_bytes()
    generated = generate_model(content)
    assert generated.ops == ["RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    inputs = random_inputs(generated.input_shape, 20, seed=12)
    outputs, instructions = infer(content, inputs, tmp_path, kernels="plain")
    assert_bit_exact(outputs, litert_reference(content, inputs), "micro_speech, random inputs")
    print(f"micro_speech: instructions per inference {int(np.median(instructions)):,}")
    assert np.all(instructions > 0)
