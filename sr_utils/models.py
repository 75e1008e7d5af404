"""Model architectures: the original CIFAR-10 x2 CNN and the original STL-10 x3 / x6 CNNs."""

from __future__ import annotations

import keras
from keras import layers

CIFAR10_X2_PARAMS = 225_027


def build_cifar10_x2(input_shape=(16, 16, 3)) -> keras.Model:
    """The original CIFAR-10 x2 model, layer for layer (225,027 parameters for 16x16x3 input).

    Conv2D 64 -> Conv2D 64 -> Conv2DTranspose 128 (stride 2) -> Conv2D 64 -> Conv2D 64 ->
    Conv2D 3 (sigmoid); 3x3 kernels, 'same' padding, ReLU everywhere but the output.

    Input ``(N, 16, 16, 3)`` float32 in [0, 1] -> output ``(N, 32, 32, 3)`` float32 in [0, 1].
    Not compiled: the training notebook compiles it with the original recipe.
    """
    inputs = keras.Input(shape=input_shape, name="lr")
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(128, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="sr")(x)
    return keras.Model(inputs, outputs, name="cifar10_x2_original")


def stl10_upsampling_factors(scale: int) -> tuple[int, int, int, int]:
    """Upsampling factor of each of the four STL-10 blocks for a scale (our interpretation).

    The original says only "4 layers, each a block of convolution, batch normalization, ReLU
    and upsampling". We spread the scale's prime factors over the first two blocks, smallest
    first, and let the last two blocks refine at the output resolution (factor 1): x6 -> (2, 3,
    1, 1) for 16 -> 32 -> 96, x3 -> (1, 3, 1, 1) for 32 -> 32 -> 96, x2 -> (1, 2, 1, 1).
    """
    factors = {2: (1, 2, 1, 1), 3: (1, 3, 1, 1), 4: (2, 2, 1, 1), 6: (2, 3, 1, 1)}
    if scale not in factors:
        raise ValueError(f"STL-10 models are defined for scales {sorted(factors)}, got {scale!r}.")
    return factors[scale]


def build_stl10(scale: int, filters=(64, 64, 32, 32), output_size: int = 96) -> keras.Model:
    """The original STL-10 model: four blocks of Conv2D 3x3 -> BatchNorm -> ReLU -> UpSampling2D
    (nearest; factors from ``stl10_upsampling_factors``), then a Conv2D 3x3 with 3 sigmoid
    outputs so the image lies in [0, 1].

    Input ``(N, output_size // scale, output_size // scale, 3)`` float32 in [0, 1] -> output
    ``(N, output_size, output_size, 3)`` float32 in [0, 1]. Not compiled.
    """
    factors = stl10_upsampling_factors(scale)
    if len(filters) != 4:
        raise ValueError(f"filters needs one width per block (4), got {filters!r}.")
    if output_size % scale:
        raise ValueError(f"output_size {output_size} is not divisible by scale {scale}.")
    inputs = keras.Input(shape=(output_size // scale, output_size // scale, 3), name="lr")
    x = inputs
    for i, (width, factor) in enumerate(zip(filters, factors), start=1):
        x = layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        if factor > 1:
            x = layers.UpSampling2D(factor, name=f"block{i}_up{factor}")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="sr")(x)
    return keras.Model(inputs, outputs, name=f"stl10_x{scale}_original")
