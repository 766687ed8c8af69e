"""Looking inside a trained network: feature maps, the images that excite a unit and the pixels
it sees (filters.py turns the learned kernels into pictures).

Every function takes a keras.Model built by `build_alexnet` (or loaded from a run) and uint8
RGB images, and returns numpy arrays. Sub-models that expose inner layers are built once per
(model, layers) and cached, so a page can redraw a layer grid without rebuilding anything.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from alexnet_core.images import resize_image

# Layers whose geometry (kernel, stride, padding) moves the receptive field.
_GEOMETRY_KINDS = ("Conv2D", "MaxPooling2D")

# model -> {tuple of layer names: sub-model}. Weak keys: a model dropped by the page's cache
# takes its sub-models with it. The lock matters because Streamlit runs sessions in threads.
_EXTRACTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def extractor(model, layer_names: tuple[str, ...]):
    """A cached keras.Model from the model's input to the named layers' outputs."""
    import keras

    with _LOCK:
        per_model = _EXTRACTORS.setdefault(model, {})
        if layer_names not in per_model:
            outputs = [named_layer(model, name).output for name in layer_names]
            # model.input, not model.inputs: a one-element list makes Keras warn on every call.
            per_model[layer_names] = keras.Model(model.input, outputs)
        return per_model[layer_names]


def run_batches(sub_model, images: np.ndarray, batch_size: int = 256, progress=None):
    """Yield (start, outputs as a list of numpy arrays) for each batch, in inference mode."""
    total, size = len(images), sub_model.input.shape[1]
    for start in range(0, total, batch_size):
        batch = images[start : start + batch_size]
        if batch.shape[1:3] != (size, size):  # e.g. a 32x32 dataset for a 227x227 model
            batch = np.stack([resize_image(image, size) for image in batch])
        # predict_on_batch runs a compiled graph: faster than an eager call after its first use.
        outputs = sub_model.predict_on_batch(batch)
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        # float32 also from a mixed-precision model: float16 sums and statistics overflow.
        yield start, [np.asarray(out, dtype=np.float32) for out in outputs]
        if progress is not None:
            progress(min(start + batch_size, total), total)


def prepare_image(model, image: np.ndarray) -> np.ndarray:
    """A uint8 (H, W, 3) image resized to the model's input size, with a batch axis."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"expected one uint8 RGB image of shape (H, W, 3), got {image.dtype} {image.shape}"
        )
    return resize_image(image, image_size(model))[None]


def image_size(model) -> int:
    """Side of the square raw images the model takes."""
    return int(model.inputs[0].shape[1])


def feature_layer_names(model) -> list[str]:
    """Conv, norm and pool layers in order (the ones with feature maps)."""
    from alexnet_core.model import feature_layer_names as names

    return names(model)


def feature_maps(model, image: np.ndarray, layer_name: str) -> np.ndarray:
    """The named layer's output for one image: (h, w, c) for feature layers, (units,) for dense."""
    (maps,) = next(run_batches(extractor(model, (layer_name,)), prepare_image(model, image)))[1]
    return maps[0]


def all_feature_maps(model, image: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature layer's (h, w, c) output for one image, from a single forward pass."""
    names = tuple(feature_layer_names(model))
    _, outputs = next(run_batches(extractor(model, names), prepare_image(model, image)))
    return {name: out[0] for name, out in zip(names, outputs, strict=True)}


def strongest_channels(maps: np.ndarray, k: int) -> list[int]:
    """Indices of the k channels of (h, w, c) maps with the highest mean activation."""
    means = maps.reshape(-1, maps.shape[-1]).mean(axis=0)
    return [int(i) for i in np.argsort(-means, kind="stable")[:k]]


def _input_layer_name(model) -> str:
    """The last preprocessing layer: what conv1 receives."""
    names = {layer.name for layer in model.layers}
    return "resize" if "resize" in names else "normalize"


def _normalised_input(model, image: np.ndarray) -> np.ndarray:
    sub_model = extractor(model, (_input_layer_name(model),))
    return next(run_batches(sub_model, prepare_image(model, image)))[1][0][0]


def network_input(model, image: np.ndarray) -> np.ndarray:
    """The exact (S, S, 3) input conv1 saw, un-normalised back to displayable uint8 RGB."""
    normalised = _normalised_input(model, image)
    layer = model.get_layer("normalize")
    mean = np.asarray(layer.mean, dtype=np.float32).reshape(3)
    std = np.sqrt(np.asarray(layer.variance, dtype=np.float32).reshape(3))
    scale = float(model.get_layer("rescale").scale)
    pixels = (normalised * std + mean) / scale
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def network_input_stats(model, image: np.ndarray) -> dict[str, list[float]]:
    """Per-channel (R, G, B) mean, std, min and max of the normalised tensor conv1 saw."""
    values = _normalised_input(model, image).reshape(-1, 3)
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
    }


def conv_layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers if type(layer).__name__ == "Conv2D"]


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Blow up (..., h, w, 3) images by pixel repetition, so a 3x3 kernel stays crisp."""
    return np.repeat(np.repeat(image, factor, axis=-3), factor, axis=-2)


@dataclass(frozen=True, eq=False)
class UnitMaxima:
    """Each image's strongest response per channel of one layer, from one pass over images."""

    layer_name: str
    image_size: int  # side of the images searched (boxes are given in their pixels)
    values: np.ndarray  # float32 (N, C): the channel's largest activation in each image
    rows: np.ndarray  # int (N, C): where it was (0 for dense layers)
    cols: np.ndarray


def unit_maxima(model, images: np.ndarray, layer_name: str, batch_size: int = 256, progress=None):
    """UnitMaxima for every channel of `layer_name` over uint8 images (N, S, S, 3)."""
    if len(images) == 0:
        raise ValueError("unit_maxima: got no images to search, expected at least one")
    sub_model = extractor(model, (layer_name,))
    values, rows, cols = [], [], []
    for _, (out,) in run_batches(sub_model, np.asarray(images), batch_size, progress):
        flat = out.reshape(len(out), -1, out.shape[-1])  # (n, h*w, c); h*w = 1 for dense
        best = flat.argmax(axis=1)  # (n, c)
        values.append(np.take_along_axis(flat, best[:, None], axis=1)[:, 0])
        spatial = out.shape[1:3] if out.ndim == 4 else (1, 1)
        row, col = np.unravel_index(best, spatial)
        rows.append(row.astype(np.int32))
        cols.append(col.astype(np.int32))
    parts = (np.concatenate(part) for part in (values, rows, cols))
    return UnitMaxima(layer_name, int(np.shape(images)[1]), *parts)


def strongest_images(model, maxima: UnitMaxima, channel: int, k: int = 9):
    """The k images whose `channel` fires most: [(index, value, box)], best first.

    value is the channel's largest activation in the image; box (top, left, bottom, right,
    bottom/right exclusive, in the images' pixels) is the theoretical receptive field of the
    unit at that maximum, from the strides, kernels and padding of the layers before it.
    For a dense layer the box is the whole image.
    """
    channels = maxima.values.shape[1]
    if not 0 <= channel < channels:
        raise ValueError(f"channel {channel} is outside 0..{channels - 1} of {maxima.layer_name!r}")
    order = np.argsort(-maxima.values[:, channel], kind="stable")[:k]
    rows, cols = maxima.rows[:, channel], maxima.cols[:, channel]
    return [
        (
            int(i),
            float(maxima.values[i, channel]),
            receptive_box(model, maxima.layer_name, rows[i], cols[i], maxima.image_size),
        )
        for i in order
    ]


def top_activating(model, images, layer_name: str, channel: int, k: int = 9, batch_size=256):
    """strongest_images over one pass of `images` (see there); for one channel."""
    return strongest_images(model, unit_maxima(model, images, layer_name, batch_size), channel, k)


def outlined(image: np.ndarray, box: tuple[int, int, int, int], factor: int = 4) -> np.ndarray:
    """The image enlarged `factor` times with the box drawn as a yellow frame."""
    big = enlarge(image, factor).copy()
    top, left, bottom, right = (v * factor for v in box)
    bottom, right = min(bottom, big.shape[0]) - 1, min(right, big.shape[1]) - 1
    yellow = np.array([255, 220, 0], np.uint8)
    big[top, left : right + 1] = big[bottom, left : right + 1] = yellow
    big[top : bottom + 1, left] = big[top : bottom + 1, right] = yellow
    return big


def tile_images(images: np.ndarray, columns: int, gap: int | None = None) -> np.ndarray:
    """uint8 (N, h, w, 3) images in one mosaic on a white background, in rows of `columns`
    (of N, if fewer). Without a `gap`, each is set off from the next by white an eighth of its
    side (at least 2 pixels): with less, small enlarged kernels merged into one strip."""
    n, h, w = images.shape[:3]
    if n == 0:
        raise ValueError("tile_images: got no images, expected at least one")
    columns = min(columns, n)
    gap = max(2, h // 8) if gap is None else gap
    rows = -(-n // columns)
    mosaic = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for i, image in enumerate(images):
        row, col = divmod(i, columns)
        top, left = row * (h + gap), col * (w + gap)
        mosaic[top : top + h, left : left + w] = image
    return mosaic


def receptive_box(model, layer_name: str, row: int, col: int, image_side: int | None = None):
    """(top, left, bottom, right) of the pixels unit (row, col) of the layer can see.

    In the pixels of raw images of side `image_side` (default: the model's image size);
    bottom and right are exclusive. Dense layers see the whole image.
    """
    image_side = image_side or image_size(model)
    if len(named_layer(model, layer_name).output.shape) != 4:
        return (0, 0, image_side, image_side)
    # Walk forward: `jump` is the distance between neighbouring units in input pixels, `span`
    # their receptive field, `first` the centre of unit 0 (all in network-input pixels).
    jump, span, first = 1.0, 1.0, 0.0
    for current in model.layers:
        if type(current).__name__ in _GEOMETRY_KINDS:
            pooling = type(current).__name__ == "MaxPooling2D"
            kernel = (current.pool_size if pooling else current.kernel_size)[0]
            stride = current.strides[0]
            pad = _same_padding(current.input.shape[1], kernel, stride, current.padding)
            first += ((kernel - 1) / 2 - pad) * jump
            span += (kernel - 1) * jump
            jump *= stride
        if current.name == layer_name:
            break
    # The resize layer (if any) stretched the raw image to the network's size: scale back.
    network_side = _input_size(model)
    ratio = image_side / network_side
    box = []
    for centre in (first + row * jump, first + col * jump):
        low = max(0.0, centre - (span - 1) / 2) * ratio
        high = min(float(network_side), centre + (span - 1) / 2 + 1) * ratio
        box.append((math.floor(low), max(math.ceil(high), math.floor(low) + 1)))
    (top, bottom), (left, right) = box
    return (top, left, bottom, right)


def _same_padding(size: int, kernel: int, stride: int, padding: str) -> int:
    """Pixels added before the first row by TensorFlow's padding rule (0 for 'valid')."""
    if padding == "valid":
        return 0
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0) // 2


def _input_size(model) -> int:
    return int(model.get_layer(_input_layer_name(model)).output.shape[1])


def named_layer(model, layer_name: str):
    """The model's layer of that name; a ValueError lists the names there are."""
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"no layer named {layer_name!r}; the model has {', '.join(names)}")
    return model.get_layer(layer_name)
