"""The DS-CNN of Hello Edge (Zhang et al. 2017) in Keras 3, and its bigger teacher.

A first regular convolution, then blocks of depthwise 3x3 convolution and pointwise 1x1
convolution (each followed by batch normalisation and ReLU), global average pooling and a
dense layer to logits. Batch norms fold into the convolutions at int8 export, so the int8
graph holds only CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED and
SOFTMAX.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers


# Keras' default of 0.99 averages over ~100 steps. A run here is only ~2,000 steps, and with
# Adam the (scale-invariant) convolution weights before each norm keep growing, so slow moving
# statistics lag the weights: measured, the last block's moving variance came out 100x the
# real one and inference collapsed to one class. 0.9 tracks within ~10 steps.
BN_MOMENTUM = 0.9


@dataclass(frozen=True)
class DsCnnConfig:
    channels: int = 64
    blocks: int = 4
    first_kernel: tuple[int, int] = (10, 4)
    first_stride: tuple[int, int] = (2, 2)
    dropout: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DsCnnConfig":
        values = dict(values)
        for key in ("first_kernel", "first_stride"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


#: DS-CNN-S: 64 channels, 4 blocks, ~22.6 k parameters, ~2.7 M MACs on 49x10 (the student).
STUDENT = DsCnnConfig()
#: The teacher: wider (172 channels, DS-CNN-M's width) and one block deeper, ~170 k parameters,
#: ~20 M MACs. DS-CNN-L's finer first stride (2x1) doubles the cost again, which a 2-core CPU
#: can't afford over several seeds.
TEACHER = DsCnnConfig(channels=172, blocks=5, first_stride=(2, 2), dropout=0.3)

ARCHITECTURES = {"ds-cnn-s": STUDENT, "ds-cnn-teacher": TEACHER}


def build_dscnn(input_shape: tuple[int, int], n_classes: int, config: DsCnnConfig = STUDENT,
                *, batch_size: int | None = None, name: str = "ds_cnn") -> keras.Model:
    """(frames, coefficients) float input -> n_classes logits."""
    inputs = keras.Input(shape=(*input_shape, 1), batch_size=batch_size, name="mfcc")
    x = layers.Conv2D(config.channels, config.first_kernel, strides=config.first_stride, padding="same",
                      use_bias=False, name="conv_1")(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="conv_1_bn")(x)
    x = layers.ReLU(name="conv_1_relu")(x)
    for block in range(1, config.blocks + 1):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw_{block}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"dw_{block}_bn")(x)
        x = layers.ReLU(name=f"dw_{block}_relu")(x)
        x = layers.Conv2D(config.channels, 1, use_bias=False, name=f"pw_{block}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"pw_{block}_bn")(x)
        x = layers.ReLU(name=f"pw_{block}_relu")(x)
    if config.dropout:
        # Dropout only after the last batch norm: ahead of one it would shift the variance the
        # norm learns in training away from what it sees in inference.
        x = layers.Dropout(config.dropout, name="final_dropout")(x)
    # A pooling window over the whole map (rather than a global-pool op) keeps the int8 graph
    # to AVERAGE_POOL_2D + RESHAPE, both in the firmware's op set.
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]), name="avg_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    logits = layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one inference (convolutions and dense layers)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c * kh * kw
        elif isinstance(layer, layers.Conv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
