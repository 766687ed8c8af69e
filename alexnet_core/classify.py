"""Classifying images with a trained network.

`classify`, `classify_files` and `classify_images` answer "what is this?", over the test views
of `view_batches` (evaluation.py answers "how good is it?" over a whole test split, explain.py
"where did it look?"). Images are raw uint8 RGB: the model does its own preprocessing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from alexnet_core.images import decode_image_and_aspect
from alexnet_core.introspect import (
    image_size,
    prepare_image,
    run_batches,
)

# File types the upload widgets accept (decode_image reads any format Pillow knows).
UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff")

# Keras clips probabilities to [EPSILON, 1 - EPSILON] in its cross-entropy; so do we, so the
# loss here matches the one training reported (without label smoothing).
EPSILON = 1e-7

# Test-time augmentation: average the softmax over several views of each image. "flip" adds
# the mirror image; "ten" is the paper's test (section 4.1): the centre patch and the four
# corner patches, each also mirrored.
TEST_VIEWS = ("single", "flip", "ten")
# What each view of view_batches is, in its order.
VIEW_NAMES = {
    "single": ("the image",),
    "flip": ("the image", "mirrored"),
    "ten": tuple(
        name
        for place in ("centre", "top left", "top right", "bottom left", "bottom right")
        for name in (place, f"{place}, mirrored")
    ),
}


@dataclass(frozen=True, eq=False)
class Prediction:
    probabilities: np.ndarray  # float (C,), sums to 1
    top: tuple[tuple[int, str, float], ...]  # (class index, class name, probability), best first

    @property
    def label(self) -> str:
        return self.top[0][1]

    @property
    def confidence(self) -> float:
        return self.top[0][2]


@dataclass(frozen=True, eq=False)
class FileResult:
    name: str  # the uploaded file's name
    image: np.ndarray | None  # decoded uint8 (S, S, 3) at the model's image size
    prediction: Prediction | None  # None when the file could not be read
    error: str | None = None  # why the file could not be read
    # float (V, C): each test view's probabilities (VIEW_NAMES order); the prediction is their mean
    view_probabilities: np.ndarray | None = None
    aspect: float = 1.0  # the picture's width / height, upright, before it was made square


def predict_probabilities(model, images: np.ndarray, batch_size: int = 256, progress=None):
    """Softmax outputs (N, C) for uint8 images (N, S, S, 3), in inference mode."""
    images = np.asarray(images)
    chunks = [out for _, (out,) in run_batches(model, images, batch_size, progress)]
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, 0))


def warm_up(model) -> None:
    """Run a blank image, and its ten patches, through the model: the first image a user
    classifies is then not the one that traces the predict function for that batch size
    (about 100 ms on a CPU)."""
    side = model.input_shape[1]
    blank = np.zeros((1, side, side, 3), np.uint8)
    view_probabilities(model, blank, "ten")  # one batch of ten views
    predict_probabilities(model, blank)


def view_batches(images: np.ndarray, views: str = "single") -> list[np.ndarray]:
    """The batches (each uint8 (N, S, S, 3)) that a test over `views` averages.

    The paper's 224-pixel patches of 256-pixel images sit 16 pixels, 1/16 of the side, from
    the centre; here a corner view moves its window that far towards the corner, so the image
    moves away from it (2 pixels for a 32-pixel CIFAR image), and the edge it uncovers on the
    corner's side is mirrored as training's random shifts do ('reflect' in Keras, 'symmetric'
    in numpy).
    """
    _view_count(views)  # refuses an unknown name
    images = np.asarray(images)
    if views == "single":
        return [images]
    if views == "flip":
        return [images, images[:, :, ::-1]]
    side = images.shape[1]
    shift = max(1, round(side / 16))
    edge = (shift, shift)
    padded = np.pad(images, ((0, 0), edge, edge, (0, 0)), mode="symmetric")
    far = 2 * shift
    # centre, then the top-left, top-right, bottom-left and bottom-right patches
    offsets = [(shift, shift), (0, 0), (0, far), (far, 0), (far, far)]
    patches = [padded[:, r : r + side, c : c + side] for r, c in offsets]
    return [view for patch in patches for view in (patch, patch[:, :, ::-1])]


def view_probabilities(
    model, images: np.ndarray, views: str = "single", batch_size: int = 256, progress=None
) -> np.ndarray:
    """Softmax outputs (V, N, C) of each test view of the images (see `view_batches`).

    All views of a group of images go through the network as one batch of at most batch_size
    (one image's ten patches are one call). progress(done, total) is called after each batch,
    counting every view's images.
    """
    images = np.asarray(images)
    count = _view_count(views)
    group = max(1, batch_size // count)  # images per batch
    parts = []
    for start in range(0, len(images), group):
        seen = np.concatenate(view_batches(images[start : start + group], views))
        out = predict_probabilities(model, seen, len(seen))
        parts.append(out.reshape(count, -1, out.shape[-1]))  # views come one after another
        if progress is not None:
            progress(count * min(start + group, len(images)), count * len(images))
    return np.concatenate(parts, axis=1) if parts else np.zeros((count, 0, 0))


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of (N, C) probabilities against N class indices: the test loss as
    the tutorial reported it, without the label smoothing a run may train with."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, EPSILON, 1 - EPSILON)).mean())


def make_prediction(probabilities: np.ndarray, class_names, top_k: int = 5) -> Prediction:
    order = np.argsort(-probabilities, kind="stable")[:top_k]
    top = tuple((int(i), str(class_names[i]), float(probabilities[i])) for i in order)
    return Prediction(probabilities=probabilities, top=top)


def classify(model, image: np.ndarray, class_names, top_k: int = 5) -> Prediction:
    """Class probabilities for one uint8 (H, W, 3) image (resized to the model's size)."""
    check_class_names(model, class_names)
    probabilities = predict_probabilities(model, prepare_image(model, image))[0]
    return make_prediction(probabilities, class_names, top_k)


def classify_files(
    model, files: list[tuple[str, bytes]], class_names, top_k: int = 5, views: str = "single"
) -> list[FileResult]:
    """Decode and classify uploaded files, averaging the probabilities over the test views;
    an unreadable file gets an error, not an exception."""
    size = image_size(model)
    decoded: list[tuple[str, np.ndarray | None, str | None, float]] = []
    for name, data in files:
        try:
            decoded.append((name, *decode_image_and_aspect(data, size=size, name=name), None))
        except ValueError as error:
            decoded.append((name, None, 1.0, str(error)))
    return _classify_decoded(model, decoded, class_names, top_k, views)


def classify_images(
    model, images: list[tuple[str, np.ndarray]], class_names, top_k: int = 5, views="single"
) -> list[FileResult]:
    """classify_files for images already decoded (uint8 RGB, e.g. from a test split), each
    with its name; they are resized to the model's image size."""
    decoded = [(name, prepare_image(model, image)[0], image.shape[1] / image.shape[0], None)
               for name, image in images]  # fmt: skip
    return _classify_decoded(model, decoded, class_names, top_k, views)


def _classify_decoded(model, decoded, class_names, top_k: int, views: str) -> list[FileResult]:
    """Results for (name, image or None, aspect, error): one network pass for all the images."""
    check_class_names(model, class_names)
    good = [image for _, image, _, _ in decoded if image is not None]
    each_view = iter(
        view_probabilities(model, np.stack(good), views).swapaxes(0, 1) if good else []
    )
    results = []
    for name, image, aspect, error in decoded:
        if image is None:
            results.append(FileResult(name, None, None, error))
            continue
        seen = next(each_view)  # (V, C)
        prediction = make_prediction(seen.mean(axis=0), class_names, top_k)
        results.append(FileResult(name, image, prediction, view_probabilities=seen,
                                  aspect=aspect))  # fmt: skip
    return results


def results_csv(results: list[FileResult], truth: dict[str, str] | None = None) -> str:
    """A CSV table: file, top class, confidence (and the error for unreadable files). With
    `truth` (file name -> its true class, for the test images among them) a true_class column
    follows the file's name, empty for the files it does not name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    known = ["true_class"] if truth else []
    writer.writerow(["file", *known, "top_class", "confidence", "error"])
    for result in results:
        true_class = [truth.get(result.name, "")] if truth else []
        if result.prediction is None:
            writer.writerow([result.name, *true_class, "", "", result.error])
        else:
            prediction = result.prediction
            confidence = f"{prediction.confidence:.4f}"
            writer.writerow([result.name, *true_class, prediction.label, confidence, ""])
    return buffer.getvalue()


def _view_count(views: str) -> int:
    """How many views a test over `views` makes; ValueError for an unknown name."""
    if views not in TEST_VIEWS:
        raise ValueError(f"views must be one of {TEST_VIEWS}, got {views!r}")
    return len(VIEW_NAMES[views])


def check_class_names(model, class_names) -> None:
    """ValueError unless there is one class name per output unit of the model."""
    units = int(model.output.shape[-1])
    if len(class_names) != units:
        raise ValueError(f"got {len(class_names)} class names for a model with {units} classes")
