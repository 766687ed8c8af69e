"""`build_alexnet`: one Functional Keras model per ModelConfig, with stable layer names.

The model takes raw uint8 RGB images. Scaling, per-channel normalisation, resizing and the
training-time augmentation are layers inside it, so training, feature maps and classification
all see the same preprocessing. Only the Keras 3 API is used, so the model also builds under
the JAX backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from alexnet_core.config import ModelConfig
from alexnet_core.report import plan_layers

# Layers a user can look inside: their outputs are images with channels.
FEATURE_KINDS = ("Conv2D", "MaxPooling2D", "LocalResponseNormalization", "BatchNormalization")


@keras.saving.register_keras_serializable(package="alexnet")
class LocalResponseNormalization(layers.Layer):
    """Across-channel local response normalisation, section 3.3 of the paper.

    b = a / (k + alpha * sum of a^2 over the `depth` neighbouring channels) ** beta, with the
    paper's k=2, n=5, alpha=1e-4, beta=0.75 (alpha not divided by n, as in the paper).
    """

    def __init__(self, depth=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.k, self.alpha, self.beta = depth, k, alpha, beta

    def call(self, inputs):
        radius = self.depth // 2
        channels = inputs.shape[-1]
        squares = ops.pad(ops.square(inputs), [[0, 0], [0, 0], [0, 0], [radius, radius]])
        window_sum = sum(squares[..., i : i + channels] for i in range(self.depth))
        return inputs / ops.power(self.k + self.alpha * window_sum, self.beta)

    def get_config(self):
        return {
            **super().get_config(),
            "depth": self.depth,
            "k": self.k,
            "alpha": self.alpha,
            "beta": self.beta,
        }


def _normalization(config: ModelConfig, index: int) -> layers.Layer:
    if config.normalization == "lrn":
        return LocalResponseNormalization(name=f"norm{index}")
    # momentum 0.9 rather than Keras' 0.99: the running statistics settle within the short
    # runs this app makes, so validation accuracy is trustworthy after the first epoch.
    return layers.BatchNormalization(momentum=0.9, name=f"norm{index}")


def augmentation_layers(config: ModelConfig, seed: int | None = None) -> list[layers.Layer]:
    """The training-time augmentation of `config` in the model's order (none, flips, shifts);
    they act only when called with training=True."""
    # One seed each: the same seed would make flips and shifts draw the same random numbers.
    flip_seed, shift_seed = (None, None) if seed is None else (seed, seed + 1)
    found = []
    if config.augment_flip:
        found.append(layers.RandomFlip("horizontal", seed=flip_seed, name="augment_flip"))
    if config.augment_shift:
        share = config.augment_shift / config.image_size
        found.append(
            layers.RandomTranslation(
                share, share, fill_mode="reflect", seed=shift_seed, name="augment_shift"
            )
        )
    return found


def augment_examples(
    config: ModelConfig, images: np.ndarray, copies: int, seed: int | None = None
) -> np.ndarray:
    """`copies` random training views of each uint8 image (N, S, S, 3), made by the model's
    own augmentation layers: uint8 (N, copies, S, S, 3). A seed makes them reproducible."""
    images = np.asarray(images)
    batch = np.repeat(images.astype("float32"), copies, axis=0)  # each image `copies` times
    for layer in augmentation_layers(config, seed):
        batch = layer(batch, training=True)
    views = np.clip(np.round(ops.convert_to_numpy(batch)), 0, 255).astype(np.uint8)
    return views.reshape(len(images), copies, *images.shape[1:])


def build_alexnet(config: ModelConfig) -> keras.Model:
    """The network described by `config`; ValueError if it cannot work (see plan_layers)."""
    plan_layers(config)  # refuses impossible shapes with a clear message before building

    inputs = keras.Input((config.image_size, config.image_size, 3), dtype="uint8", name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    for layer in augmentation_layers(config):
        x = layer(x)
    variance = [s * s for s in config.std]
    x = layers.Normalization(mean=list(config.mean), variance=variance, name="normalize")(x)
    if config.input_size != config.image_size:
        size = config.input_size
        x = layers.Resizing(size, size, interpolation="bilinear", name="resize")(x)

    for stage in config.conv_stages():
        i = stage.index
        x = layers.Conv2D(
            stage.filters,
            stage.kernel,
            strides=stage.stride,
            padding=stage.padding,
            groups=stage.groups,
            activation=config.activation,
            name=f"conv{i}",
        )(x)
        if stage.norm and config.norm_before_pool:
            x = _normalization(config, i)(x)
        if stage.pool:
            x = layers.MaxPooling2D(stage.pool, strides=config.pool_stride, name=f"pool{i}")(x)
        if stage.norm and not config.norm_before_pool:
            x = _normalization(config, i)(x)

    x = layers.Flatten(name="flatten")(x)
    for fc, drop in (("fc6", "drop6"), ("fc7", "drop7")):
        x = layers.Dense(config.fc_units, activation=config.activation, name=fc)(x)
        x = layers.Dropout(config.dropout, name=drop)(x)
    # float32 softmax even under mixed precision: float16 probabilities underflow.
    outputs = layers.Dense(
        config.num_classes, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=f"alexnet_{config.preset}")


def feature_layer_names(model: keras.Model) -> list[str]:
    """Names of the layers whose outputs are feature maps (conv, norm, pool), in order."""
    return [layer.name for layer in model.layers if type(layer).__name__ in FEATURE_KINDS]
