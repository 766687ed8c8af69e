"""The learned filters of a trained network: conv kernels as images, how much of each conv1
filter is colour, and which kernels fed which of the paper's two GPUs. Plain numpy arrays out."""

from __future__ import annotations

import numpy as np

from alexnet_core.introspect import conv_layer_names, named_layer


def feeds_groups(model, layer_name: str) -> int:
    """Into how many groups the next convolution splits this conv layer's filters (1 for the
    last one): 2 for conv1 of a network split over two GPUs, whose halves fed one GPU each."""
    names = conv_layer_names(model)
    after = names[names.index(layer_name) + 1 :]
    return model.get_layer(after[0]).groups if after else 1


def conv_kernels(model, layer_name: str = "conv1") -> np.ndarray:
    """The layer's kernel weights, (k, k, c_in, c_out)."""
    layer = named_layer(model, layer_name)
    if type(layer).__name__ != "Conv2D":
        raise ValueError(f"{layer_name!r} is a {type(layer).__name__}, expected a Conv2D layer")
    return np.asarray(layer.get_weights()[0], dtype=np.float32)


def kernel_images(kernels: np.ndarray) -> np.ndarray:
    """(k, k, 3, c_out) kernels as uint8 (c_out, k, k, 3) RGB images, each on its own scale."""
    if kernels.ndim != 4 or kernels.shape[2] != 3:
        raise ValueError(
            f"expected (k, k, 3, c_out) kernels, got {kernels.shape}; "
            "use kernel_slices for layers whose input is not RGB"
        )
    return _to_uint8(np.moveaxis(kernels, 3, 0), axes=(1, 2, 3))


def colour_share(kernels: np.ndarray) -> np.ndarray:
    """For RGB kernels (k, k, 3, c_out): the share of each filter's weight energy that is colour,
    0..1. A filter splits into a grey part (at each pixel, the mean of its three channels) and a
    colour part (the rest), whose squares add up: 0 is a filter that sees brightness alone,
    1 one whose channels cancel out, which sees colour alone."""
    if kernels.ndim != 4 or kernels.shape[2] != 3:
        raise ValueError(f"expected (k, k, 3, c_out) kernels, got {kernels.shape}")
    kernels = kernels.astype(np.float64)
    colour = kernels - kernels.mean(axis=2, keepdims=True)
    total = np.square(kernels).sum(axis=(0, 1, 2))
    share = np.square(colour).sum(axis=(0, 1, 2)) / np.where(total > 0, total, 1)
    return share.astype(np.float32)


def kernel_slices(kernels: np.ndarray, out_channel: int) -> np.ndarray:
    """One filter of (k, k, c_in, c_out) kernels as uint8 (c_in, k, k, 3) grayscale images.

    All slices share the filter's scale, so the input channels it weighs most stand out.
    """
    if not 0 <= out_channel < kernels.shape[3]:
        raise ValueError(f"out_channel {out_channel} is outside 0..{kernels.shape[3] - 1}")
    gray = _to_uint8(np.moveaxis(kernels[..., out_channel], 2, 0)[None], axes=(1, 2, 3))[0]
    return np.repeat(gray[..., None], 3, axis=-1)


def _to_uint8(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Stretch each item to 0..255 over `axes` (a constant item becomes mid-grey)."""
    low = values.min(axis=axes, keepdims=True)
    span = values.max(axis=axes, keepdims=True) - low
    scaled = np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0.5)
    return np.rint(scaled * 255).astype(np.uint8)
