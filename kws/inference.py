"""Running a kws model with LiteRT: q8.7 MFCC in, int8 scores out.

The reference kernels (``OpResolverType.BUILTIN_REF``) are the ground truth for int8 outputs:
they follow the TFLite quantisation spec exactly, as the firmware's kernels do; the default
XNNPACK delegate can differ by 1 LSB, and so can the optimised builtin kernels without
delegates (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``, about 7x faster): on the default model their
FULLY_CONNECTED differs on about 2 % of inputs while every convolution and the pooling match.
Everything in kws therefore runs the reference kernels by default.
"""

from __future__ import annotations

import numpy as np

from .errors import KwsError
from .model_file import KwsModel


class Classifier:
    """One interpreter for one model; call :meth:`scores` per window of features."""

    def __init__(self, model: KwsModel, *, reference_kernels: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.model = model
        resolver = (OpResolverType.BUILTIN_REF if reference_kernels
                    else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            self.interpreter = Interpreter(model_content=model.tflite, experimental_op_resolver_type=resolver,
                                           num_threads=1)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise KwsError(f"{model.tflite_path} cannot be loaded by LiteRT ({error})") from None
        input_detail = self.interpreter.get_input_details()[0]
        output_detail = self.interpreter.get_output_details()[0]
        expected_shape = (1, model.n_frames, model.mfcc.n_mfcc, 1)
        if tuple(input_detail["shape"]) != expected_shape or input_detail["dtype"] != np.int8:
            raise KwsError(f"{model.tflite_path}: input {tuple(input_detail['shape'])} {input_detail['dtype']} "
                           f"does not match its description ({expected_shape} int8)")
        if output_detail["shape"][-1] != len(model.labels) or output_detail["dtype"] != np.int8:
            raise KwsError(f"{model.tflite_path}: output does not match its {len(model.labels)} labels")
        self._input = input_detail["index"]
        self._output = output_detail["index"]

    def scores_from_int8(self, inputs: np.ndarray) -> np.ndarray:
        """(frames, n_mfcc) int8 model input -> (n_labels,) int8 scores."""
        self.interpreter.set_tensor(self._input, inputs.reshape(1, *inputs.shape, 1).astype(np.int8))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output)[0].copy()

    def scores(self, q8_7: np.ndarray) -> np.ndarray:
        """(frames, n_mfcc) int16 q8.7 MFCC -> (n_labels,) int8 scores."""
        return self.scores_from_int8(self.model.input_rule.apply(q8_7))

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """int8 scores -> float probabilities (the output quantisation undone)."""
        q = self.model.output_quantization
        return (scores.astype(np.float64) - q.zero_point) * q.scale
