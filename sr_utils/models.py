"""Model architectures: the original CIFAR-10 x2 and STL-10 x3 / x6 CNNs, and a residual
sub-pixel family for any integer scale, with its serializable layers."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .images import check_int

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
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="sr", dtype="float32")(x)  # float32 under mixed precision
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
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="sr", dtype="float32")(x)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name=f"stl10_x{scale}_original")


# --------------------------------------------------------------------------------------
# Residual sub-pixel family (fully convolutional, any integer scale)
# --------------------------------------------------------------------------------------
def build_original(scale: int) -> keras.Model:
    """The original study's model of ``scale``: ``build_cifar10_x2()`` at x2 (``(N, 16, 16, 3)`` ->
    ``(N, 32, 32, 3)``), ``build_stl10(scale)`` otherwise (``(N, 96 / scale, 96 / scale, 3)`` ->
    ``(N, 96, 96, 3)``), float32 in [0, 1]: the reference every better model's cost is compared with."""
    return build_cifar10_x2() if scale == 2 else build_stl10(scale)


@keras.saving.register_keras_serializable(package="sr_utils")
class DepthToSpace(layers.Layer):
    """Sub-pixel upsampling: ``(N, h, w, C * s * s)`` -> ``(N, h * s, w * s, C)`` (``tf.nn.depth_to_space``)."""

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = check_int(block_size, "block_size", 2)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.block_size
        return (n, None if h is None else h * s, None if w is None else w * s, c // (s * s))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package="sr_utils")
class InterpolationUpscale(layers.Layer):
    """Plain interpolation by an integer factor for inputs of any size (``tf.image.resize``):
    ``(N, h, w, C)`` -> ``(N, h * scale, w * scale, C)``. Used as a model's global skip."""

    def __init__(self, scale: int, method: str = "bicubic", **kwargs):
        super().__init__(**kwargs)
        scale = check_int(scale, "scale", 2)
        if method not in ("nearest", "bilinear", "bicubic"):
            raise ValueError(f"method must be nearest, bilinear or bicubic, got {method!r}.")
        self.scale, self.method = scale, method

    def call(self, inputs):
        size = tf.shape(inputs)[1:3] * self.scale
        return tf.cast(tf.image.resize(inputs, size, method=self.method), inputs.dtype)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.scale, None if w is None else w * self.scale, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "method": self.method}


@keras.saving.register_keras_serializable(package="sr_utils")
class RepConv3x3(layers.Layer):
    """A 3x3 convolution trained as three parallel branches, a 3x3 and a 1x1 convolution plus the
    identity (when input and output channels match), summed before the activation: structural
    re-parameterisation (RepVGG, ECBSR). Being linear, the branches fold into one 3x3 convolution
    with the same output (``folded``; ``fold_reparameterized`` does a whole model), so the extra
    branches cost nothing at inference. 'same' padding, stride 1.

    Input ``(N, h, w, C_in)`` -> output ``(N, h, w, filters)``, in the layer's compute dtype.
    """

    def __init__(self, filters: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int(filters, "filters", 1)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel3 = self.add_weight(name="kernel3", shape=(3, 3, channels, self.filters), initializer="glorot_uniform")
        self.kernel1 = self.add_weight(name="kernel1", shape=(1, 1, channels, self.filters), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.identity = channels == self.filters

    def call(self, x):
        y = keras.ops.conv(x, self.kernel3, padding="same") + keras.ops.conv(x, self.kernel1, padding="same") + self.bias
        return self.activation(y + x if self.identity else y)

    def folded(self) -> tuple:
        """``(kernel (3, 3, C_in, filters), bias (filters,))`` float32 numpy arrays of the single 3x3
        convolution equal to the three branches."""
        kernel = keras.ops.convert_to_numpy(self.kernel3).copy()
        kernel[1, 1] += keras.ops.convert_to_numpy(self.kernel1)[0, 0]
        if self.identity:
            kernel[1, 1] += np.eye(self.filters, dtype=kernel.dtype)
        return kernel, keras.ops.convert_to_numpy(self.bias).copy()

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "activation": keras.activations.serialize(self.activation)}


def residual_subpixel_architecture(scale: int, filters: int, blocks: int) -> str:
    """One line naming the layers of ``build_residual_subpixel(scale, filters, blocks)``, for
    training records and model cards."""
    return (f"Conv{filters} head - {blocks} x ResBlock(Conv-ReLU-Conv, no BN) - Conv + long skip - "
            f"Conv(3x{scale}^2) - DepthToSpace({scale}) + bicubic skip")


def build_residual_subpixel(scale: int, filters: int = 48, blocks: int = 4, name: str | None = None,
                            reparameterized: bool = False) -> keras.Model:
    """A fast SR network in the style of EDSR / ESPCN, for any integer scale >= 2.

    Everything runs at LR resolution: a 3x3 head convolution, ``blocks`` residual blocks
    (Conv-ReLU-Conv plus identity, no BatchNorm), a 3x3 convolution with a long skip, then a
    3x3 convolution to ``3 * scale**2`` channels and sub-pixel upsampling (``DepthToSpace``).
    A global skip adds the bicubic upscale of the input, so the network learns only the
    residual detail. Fully convolutional: any input size.

    Input ``(N, h, w, 3)`` float32 in [0, 1] -> output ``(N, h * scale, w * scale, 3)`` float32,
    approximately in [0, 1] (not clipped: clip at inference). Not compiled.

    ``reparameterized=True``: every 3x3 convolution of the body and head is a ``RepConv3x3`` (extra
    1x1 and identity branches while training); ``fold_reparameterized`` turns the trained model into
    this architecture's plain model, with the same outputs and the plain model's cost.
    """
    scale = check_int(scale, "scale", 2)
    if filters < 1 or blocks < 0:
        raise ValueError(f"filters must be >= 1 and blocks >= 0, got filters={filters}, blocks={blocks}.")
    def conv(name, activation=None):
        if reparameterized:
            return RepConv3x3(filters, activation=activation, name=name)
        return layers.Conv2D(filters, 3, padding="same", activation=activation, name=name)

    inputs = keras.Input(shape=(None, None, 3), name="lr")
    head = conv("head")(inputs)
    x = head
    for i in range(1, blocks + 1):
        y = conv(f"block{i}_conv1", "relu")(x)
        y = conv(f"block{i}_conv2")(y)
        x = layers.Add(name=f"block{i}_add")([x, y])
    x = conv("body_out")(x)
    x = layers.Add(name="long_skip")([x, head])
    x = layers.Conv2D(3 * scale * scale, 3, padding="same", name="to_subpixels")(x)
    x = DepthToSpace(scale, name="depth_to_space")(x)
    base = InterpolationUpscale(scale, "bicubic", name="bicubic_skip")(inputs)
    outputs = layers.Add(name="sr", dtype="float32")([x, base])  # float32 output under mixed precision
    return keras.Model(inputs, outputs, name=name or f"residual_subpixel_x{scale}_f{filters}b{blocks}")


def fold_reparameterized(model: keras.Model) -> keras.Model:
    """The plain residual sub-pixel model (``build_residual_subpixel``, same scale, filters, blocks
    and name) whose outputs equal ``model``'s, a ``reparameterized=True`` one: each ``RepConv3x3``
    folded into one 3x3 convolution, every other layer's weights copied.

    Raises:
        ValueError: ``model`` is not a reparameterized residual sub-pixel model.
    """
    names = {layer.name: layer for layer in model.layers}
    if not isinstance(names.get("head"), RepConv3x3) or not isinstance(names.get("depth_to_space"), DepthToSpace):
        raise ValueError(f"{model.name} is not a residual sub-pixel model built with reparameterized=True.")
    blocks = sum(1 for n in names if n.startswith("block") and n.endswith("_conv1"))
    plain = build_residual_subpixel(names["depth_to_space"].block_size, names["head"].filters, blocks, name=model.name)
    for layer in plain.layers:
        source = names[layer.name]
        layer.set_weights(list(source.folded()) if isinstance(source, RepConv3x3) else source.get_weights())
    return plain


@dataclass(frozen=True)
class ResidualSubpixel:
    """One architecture of the residual sub-pixel family: ``filters`` channels, ``blocks`` residual blocks."""

    filters: int
    blocks: int

    def name(self, data: str, scale: int) -> str:
        """The registry name of this architecture trained on ``data`` at ``scale``: ``natural_x2_rsp64x5``."""
        return f"{data}_x{scale}_rsp{self.filters}x{self.blocks}"

    def build(self, scale: int, name: str | None = None, reparameterized: bool = False) -> keras.Model:
        """``build_residual_subpixel(scale, filters, blocks, name, reparameterized)``."""
        return build_residual_subpixel(scale, filters=self.filters, blocks=self.blocks, name=name, reparameterized=reparameterized)

    def describe(self, scale: int) -> str:
        """``residual_subpixel_architecture(scale, filters, blocks)``."""
        return residual_subpixel_architecture(scale, self.filters, self.blocks)


def traced(model: keras.Model):
    """``model`` as one TensorFlow graph for RGB batches of any size, ``(N, h, w, 3)`` float32 in
    [0, 1] -> its output tensor: traced once, it runs faster than eager calls and frees each
    layer's activations as it goes (on a 256-pixel tile, a peak of about 0.73 GB for the process
    instead of 1.15 GB in eager mode, on the x2 photo model). The upscaler runs models this way,
    and their speed is timed this way (``cost.time_methods``)."""
    return tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
