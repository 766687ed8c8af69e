"""Where did the network look? Heat maps of the places in an image that made its answer.

`grad_cam` weighs the last convolution's feature maps by how much each raises the class's
score; `occlusion` covers one place at a time and sees how far the class's probability falls.
`overlay_heatmap` blends either over the image. Images are raw uint8 RGB.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from alexnet_core.classify import predict_probabilities
from alexnet_core.introspect import conv_layer_names, extractor, prepare_image

# The layer feeding the softmax (a contract name from model.py); Grad-CAM differentiates the
# class score before the softmax, as the Grad-CAM paper does: softmax gradients vanish for a
# confident prediction.
PENULTIMATE = "drop7"

# Anchor colours of the "jet" colour map (cold blue to hot red) for heat map overlays.
_JET_STOPS = np.array([0.0, 0.125, 0.375, 0.625, 0.875, 1.0])
_JET_COLOURS = np.array(
    [(0, 0, 143), (0, 0, 255), (0, 255, 255), (255, 255, 0), (255, 0, 0), (128, 0, 0)], float
)


def colour_stops() -> list[tuple[float, tuple[int, int, int]]]:
    """The overlays' colour map as (heat in [0, 1], RGB) anchors, for drawing its key."""
    pairs = zip(_JET_STOPS, _JET_COLOURS, strict=True)
    return [(float(at), tuple(int(c) for c in rgb)) for at, rgb in pairs]


def grad_cam(model, image: np.ndarray, class_index: int | None = None, layer_name=None):
    """Grad-CAM heat map (H, W) in [0, 1] at the size of `image`: where the class score came from.

    class_index defaults to the predicted class, layer_name to the last convolution.
    """
    import tensorflow as tf

    layer_name = layer_name or conv_layer_names(model)[-1]
    sub_model = extractor(model, (layer_name, PENULTIMATE))
    head = model.get_layer("predictions")
    with tf.GradientTape() as tape:
        maps, features = sub_model(prepare_image(model, image), training=False)
        scores = tf.matmul(tf.cast(features, tf.float32), head.kernel) + head.bias
        if class_index is None:
            class_index = int(tf.argmax(scores[0]))
        if not 0 <= class_index < scores.shape[-1]:
            raise ValueError(f"class_index {class_index} is outside 0..{scores.shape[-1] - 1}")
        score = scores[0, class_index]
    # float32 in numpy: a mixed-precision model's maps are float16.
    gradients = tape.gradient(score, maps)[0].numpy().astype(np.float32)  # (h, w, c)
    weights = gradients.mean(axis=(0, 1))  # how much each channel raises the class score
    cam = np.maximum((maps[0].numpy().astype(np.float32) * weights).sum(axis=-1), 0)  # (h, w)
    return _to_unit(resize_heatmap(cam, image.shape[:2]))


def occlusion(model, image: np.ndarray, class_index: int | None = None, patch=None, stride=None):
    """Occlusion map (H, W) in [0, 1] at the size of `image`: how far the class probability
    falls when a square of the image's mean colour covers each place (Zeiler and Fergus, 2014,
    who probed their AlexNet-style network this way). Each pixel gets the mean fall over the
    squares that cover it; places whose cover raises the probability get 0.

    class_index defaults to the predicted class; the square is a quarter of the model's image
    side and moves by half of itself, unless patch and stride say otherwise.
    """
    x = prepare_image(model, image)[0]
    side = x.shape[0]
    patch = min(patch or max(1, side // 4), side)
    stride = stride or max(1, patch // 2)
    if stride > patch:
        raise ValueError(f"stride {stride} is more than the patch side {patch}: the places "
                         "between squares would never be covered")  # fmt: skip
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)  # the last square reaches the edge
    corners = [(r, c) for r in starts for c in starts]
    fill = x.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    covered = np.repeat(x[None], len(corners) + 1, axis=0)
    for copy, (r, c) in zip(covered[1:], corners, strict=True):
        copy[r : r + patch, c : c + patch] = fill
    probabilities = predict_probabilities(model, covered)
    if class_index is None:
        class_index = int(probabilities[0].argmax())
    if not 0 <= class_index < probabilities.shape[1]:
        raise ValueError(f"class_index {class_index} is outside 0..{probabilities.shape[1] - 1}")
    falls = probabilities[0, class_index] - probabilities[1:, class_index]
    total, count = np.zeros((side, side)), np.zeros((side, side))
    for fall, (r, c) in zip(falls, corners, strict=True):
        total[r : r + patch, c : c + patch] += fall
        count[r : r + patch, c : c + patch] += 1
    return _to_unit(resize_heatmap(np.maximum(total / count, 0), image.shape[:2]))


def _to_unit(heat: np.ndarray) -> np.ndarray:
    """A non-negative map scaled to [0, 1], after resizing, so the hottest displayed pixel is
    exactly 1; all zeros stay zeros. A map that is not finite means the network's scores were
    not: there is nothing honest to draw."""
    if not np.isfinite(heat).all():
        raise ValueError("the network's scores for this image are not finite numbers (NaN or "
                         "infinity): its weights have diverged, so it has no heat map")  # fmt: skip
    return heat / heat.max() if heat.max() > 0 else heat


EXPLANATIONS = ("grad_cam", "occlusion")  # the ways `explain` answers "where did it look?"


def explain(model, image: np.ndarray, class_index: int, method: str = "grad_cam") -> np.ndarray:
    """The heat map (H, W) in [0, 1] of `method`, one of EXPLANATIONS, for one class."""
    if method not in EXPLANATIONS:
        raise ValueError(f"method must be one of {EXPLANATIONS}, got {method!r}")
    explainer = occlusion if method == "occlusion" else grad_cam
    return explainer(model, image, class_index)


def resize_heatmap(heatmap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float (h, w) map to `shape` (H, W); values stay within its range."""
    if heatmap.shape == tuple(shape):
        return heatmap.astype(np.float32)
    resized = Image.fromarray(heatmap.astype(np.float32)).resize(
        (shape[1], shape[0]), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The image with the heat map blended over it in jet colours, uint8 (H, W, 3)."""
    heat = np.clip(resize_heatmap(heatmap, image.shape[:2]), 0, 1)
    colours = np.stack([np.interp(heat, _JET_STOPS, _JET_COLOURS[:, c]) for c in range(3)], axis=-1)
    blended = (1 - alpha) * image.astype(np.float64) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
