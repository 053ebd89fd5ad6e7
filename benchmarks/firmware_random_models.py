"""The seeded random int8 models of ``bench_firmware.py --random-models``: two small networks and
single layers of shapes the DS-CNN-S and micro_speech figures do not cover, chosen so that
between them they take each kernel path of the DSP build, the slow ones included.

Each model is a Keras graph converted by the tests' own int8 export path
(``tests/random_models.py``'s :func:`convert_keras`: batch 1, weights drawn from the seed with
per-output-channel magnitudes over two decades, nonzero biases, full-integer post-training
quantisation on uniform representative data, int8 in and out). The same seed gives the same
bytes. Their weights are random: the figures are about the kernels' cost on those shapes, not
about a trained network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

#: The seed of the first model; model i uses SEED + i.
SEED = 2020


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    input_shape: tuple[int, ...]
    build: Callable  # (keras, input) -> output
    ops: tuple[str, ...]  # the operators the converter must emit


def _ds_cnn_48_96(keras, x):
    """DS-CNN with other widths and a 5x3 depthwise at stride 2 (the general DSP depthwise kernel)
    besides a 3x3 one at 96 channels (the 3x3 kernel)."""
    layers = keras.layers
    x = layers.Conv2D(48, (10, 4), strides=2, padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D((5, 3), strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(96, 1, activation="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Conv2D(96, 1, activation="relu")(x)
    x = layers.AveragePooling2D((x.shape[1], x.shape[2]))(x)
    x = layers.Flatten()(x)
    return layers.Softmax()(layers.Dense(12)(x))


def _cnn_3x3(keras, x):
    """A plain CNN of 3x3 convolutions: 1 input channel (im2col), 16 and 32 (the matrix product
    on whole rows), a max pool between and a stride-2 layer."""
    layers = keras.layers
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.AveragePooling2D((x.shape[1], x.shape[2]))(x)
    x = layers.Flatten()(x)
    return layers.Softmax()(layers.Dense(12)(x))


SPECS = (
    Spec("ds_cnn_48_96", "DS-CNN: CONV 10x4 /2 1->48; DW 5x3 /2; PW 48->96; DW 3x3; PW 96->96; avg pool 13x3; "
         "FC 96->12; softmax", (49, 10, 1), _ds_cnn_48_96,
         ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D",
          "FULLY_CONNECTED", "SOFTMAX")),
    Spec("cnn_3x3", "CNN: CONV 3x3 1->16; max pool 2x2; CONV 3x3 16->32; CONV 3x3 /2 32->32; avg pool 12x3; "
         "FC 32->12; softmax", (49, 10, 1), _cnn_3x3,
         ("CONV_2D", "MAX_POOL_2D", "CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED",
          "SOFTMAX")),
    Spec("dw_5x3_mult2_dil", "DEPTHWISE 5x3, multiplier 2, dilation 2x1, 7 -> 14 channels, SAME, 20x9x7",
         (20, 9, 7), lambda keras, x: keras.layers.DepthwiseConv2D((5, 3), padding="same", depth_multiplier=2,
                                                                   dilation_rate=(2, 1))(x),
         ("DEPTHWISE_CONV_2D",)),
    Spec("dw_3x3_13ch_relu6_sw2", "DEPTHWISE 3x3, 13 channels, stride 1x2, ReLU6, SAME, 25x9x13",
         (25, 9, 13), lambda keras, x: keras.layers.DepthwiseConv2D(3, strides=(1, 2), padding="same",
                                                                    activation="relu6")(x),
         ("DEPTHWISE_CONV_2D",)),
    Spec("conv_5x2_3to7_s21", "CONV 5x2, 3 -> 7 channels, stride 2x1, ReLU6, SAME, 21x8x3", (21, 8, 3),
         lambda keras, x: keras.layers.Conv2D(7, (5, 2), strides=(2, 1), padding="same", activation="relu6")(x),
         ("CONV_2D",)),
    Spec("pw_33to9", "CONV 1x1, 33 -> 9 channels, VALID, 11x5x33", (11, 5, 33),
         lambda keras, x: keras.layers.Conv2D(9, 1, padding="valid")(x), ("CONV_2D",)),
    Spec("fc_199to20", "FULLY_CONNECTED 199 -> 20, ReLU", (199,),
         lambda keras, x: keras.layers.Dense(20, activation="relu")(x), ("FULLY_CONNECTED",)),
    Spec("avg_pool_17x16", "AVERAGE_POOL 17x16 over 17x16x3 (a window over 256)", (17, 16, 3),
         lambda keras, x: keras.layers.AveragePooling2D((17, 16))(x), ("AVERAGE_POOL_2D",)),
    Spec("max_pool_3x3_s2", "MAX_POOL 3x3 /2, SAME, 25x5x12", (25, 5, 12),
         lambda keras, x: keras.layers.MaxPooling2D(3, strides=2, padding="same")(x), ("MAX_POOL_2D",)),
)


def random_models(seed: int = SEED) -> list[tuple[Spec, bytes]]:
    """Each spec with its int8 .tflite (seed ``seed + i``), checked for the operators it names."""
    from random_models import convert_keras  # tests/random_models.py (bench_firmware puts tests/ on the path)

    from kws.firmware.tflite_graph import read_graph

    models = []
    for i, spec in enumerate(SPECS):
        content = convert_keras(spec.build, spec.input_shape, seed + i)
        ops = tuple(op.name for op in read_graph(content).ops)
        if ops != spec.ops:
            raise SystemExit(f"{spec.name}: the converter emitted {ops}, not {spec.ops}")
        models.append((spec, content))
    return models
