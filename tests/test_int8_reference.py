"""kws.int8_reference and the fast classifier give LiteRT's reference-kernel integers."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_bit_exact, shared_data

from dsp import mfcc_q15
from kws import int8_reference as ref
from kws.inference import Classifier
from kws.model_file import load_model


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def reference_interpreter(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model.tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                              experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    return interpreter


def test_head_arithmetic_equals_reference_kernels(model, reference_interpreter):
    """Our FULLY_CONNECTED and SOFTMAX on the reference kernels' own intermediate tensors."""
    from kws.inference import _ReferenceHead

    head = _ReferenceHead(reference_interpreter, model)
    ops = reference_interpreter._get_ops_details()
    logits_index, output_index = ops[-2]["outputs"][0], ops[-1]["outputs"][0]
    rng = np.random.default_rng(0)
    for _ in range(400):
        x = rng.integers(-128, 128, (1, model.n_frames, model.mfcc.n_mfcc, 1)).astype(np.int8)
        reference_interpreter.set_tensor(reference_interpreter.get_input_details()[0]["index"], x)
        reference_interpreter.invoke()
        pooled = reference_interpreter.get_tensor(head._pooled).reshape(1, -1)
        logits = ref.fully_connected(pooled, head._weights, head._bias, **head._fc)
        assert_bit_exact(logits, reference_interpreter.get_tensor(logits_index).reshape(1, -1), "FULLY_CONNECTED")
        probabilities = ref.softmax(reference_interpreter.get_tensor(logits_index).reshape(1, -1), **head._softmax)
        assert_bit_exact(probabilities, reference_interpreter.get_tensor(output_index).reshape(1, -1), "SOFTMAX")


def test_softmax_on_extreme_logits(model, reference_interpreter):
    """Saturated and tied logits: all equal, one dominant, -128 everywhere but one."""
    from kws.inference import _ReferenceHead

    head = _ReferenceHead(reference_interpreter, model)
    logits = np.array([[0] * 12, [127] + [-128] * 11, [-128] * 11 + [127], [5, 5] + [-128] * 10, [-128] * 12])
    out = ref.softmax(logits, **head._softmax)
    assert out.shape == logits.shape and out.dtype.kind == "i"
    assert (out[1, 1:] == -128).all() and out[1, 0] == 127
    assert np.all(np.abs(out[0] - out[0, 0]) == 0)


def test_fast_classifier_equals_reference_kernels_on_random_inputs(model):
    fast, reference = Classifier(model, fast=True), Classifier(model)
    rng = np.random.default_rng(1)
    for _ in range(500):
        window = rng.integers(-128, 128, (model.n_frames, model.mfcc.n_mfcc)).astype(np.int8)
        assert_bit_exact(fast.scores_from_int8(window), reference.scores_from_int8(window), "random window")


def test_fast_classifier_equals_reference_kernels_on_speech(model):
    fast, reference = Classifier(model, fast=True), Classifier(model)
    root = shared_data("speech_commands_v2_test_dev")
    files = sorted(root.glob("*/*.wav"))[::10]
    for path in files:
        samples, _ = sf.read(path, dtype="int16")
        window = mfcc_q15(np.pad(samples, (0, max(0, 16000 - len(samples))))[:16000], config=model.mfcc)
        assert_bit_exact(fast.scores(window), reference.scores(window), path.name)
    assert len(files) > 200


def test_fixed_point_primitives():
    int32_min, int32_max = ref.INT32_MIN, ref.INT32_MAX
    assert ref.srdhm(np.array([int32_min]), int32_min)[0] == int32_max  # the one saturating case
    assert ref.srdhm(np.array([1 << 30]), 1 << 30)[0] == 1 << 29
    assert list(ref.rounding_divide_by_pot(np.array([5, -5, 6, -6, 7, -7]), 1)) == [3, -3, 3, -3, 4, -4]
    assert ref.quantize_multiplier(0.5) == (1 << 30, 0)
    assert ref.quantize_multiplier(1.0) == (1 << 30, 1)
    # exp(0) = 1 (saturated Q0.31), exp(-1) = 0.3679
    values = ref.exp_on_negative_values(np.array([0, -(1 << 26)]))
    assert values[0] == int32_max and abs(values[1] / 2**31 - np.exp(-1)) < 1e-6
