"""Full-integer int8 export with TFLiteConverter, and the float conversion for comparison.

The export model is rebuilt with a fixed batch of 1 (a dynamic batch adds SHAPE, STRIDED_SLICE,
PACK and RESHAPE ops) and a softmax on the logits; weights are copied from the trained model.
Calibration uses a pinned list of clean training clips. The int8 input must come out with
scale ``InputRule.input_scale`` and zero point 0, so that the integer input rule is the whole
story: one calibration sample carries the two int8 extremes to pin that range, and the result
is checked.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

from ..input_rule import InputRule
from .dscnn import DsCnnConfig, build_dscnn


@contextlib.contextmanager
def _quiet_converter() -> Iterator[None]:
    """TFLiteConverter's C++ side prints kilobytes to fds 1 and 2, and Python warns that the
    int8 input has no statistics (we pin them ourselves); keep the user's terminal clean.
    Errors still surface as exceptions."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as devnull, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def export_model(trained: keras.Model, architecture: DsCnnConfig, input_shape: tuple[int, int], n_classes: int) -> keras.Model:
    """Batch-1 copy of ``trained`` with a softmax output."""
    fixed = build_dscnn(input_shape, n_classes, architecture, batch_size=1, name="ds_cnn_export")
    fixed.set_weights(trained.get_weights())
    probabilities = keras.layers.Softmax(name="scores")(fixed.output)
    return keras.Model(fixed.input, probabilities, name="ds_cnn_int8")


def _convert(model: keras.Model, calibration: np.ndarray | None) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        def representative() -> Iterator[list[np.ndarray]]:
            for sample in calibration:
                yield [sample[None, ..., None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with _quiet_converter():
        return converter.convert()


def convert_float(model: keras.Model) -> bytes:
    return _convert(model, None)


def convert_int8(model: keras.Model, calibration_inputs: np.ndarray, rule: InputRule) -> bytes:
    """``calibration_inputs``: (n, frames, n_mfcc) float model inputs (``rule.model_input``)."""
    pinned = calibration_inputs.copy()
    pinned[0, 0, 0] = -128 * rule.input_scale
    pinned[0, 0, 1] = 127 * rule.input_scale
    tflite = _convert(model, pinned)
    from ai_edge_litert.interpreter import Interpreter

    detail = Interpreter(model_content=tflite).get_input_details()[0]
    scale, zero_point = detail["quantization"]
    if zero_point != 0 or not np.isclose(scale, rule.input_scale, rtol=1e-6):
        raise RuntimeError(f"int8 input came out as scale {scale}, zero point {zero_point}; "
                           f"expected {rule.input_scale}, 0")
    return tflite


def op_names(tflite: bytes) -> list[str]:
    """The builtin operators of a flatbuffer, in the order the interpreter lists them."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})
