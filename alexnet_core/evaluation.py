"""Grading a trained network over a whole test split: its loss, top-1 and top-5 accuracy,
confusion matrix, per-class accuracy and its most confident mistakes, over classify's test
views; and how far an accuracy measured on so many images can be trusted (accuracy_margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alexnet_core import classify


def accuracy_margin(accuracy: float, count: int) -> float:
    """Half the width of a 95% interval for the accuracy on all images of the kind tested,
    from the number tested alone: 0.0078 for 80% of 10,000. Agresti and Coull's: the normal
    approximation with two right and two wrong answers added, so that 0% and 100% keep a
    margin (0.0028 for 100% of 1,000)."""
    if not count:
        return math.nan
    adjusted = (accuracy * count + 2) / (count + 4)
    return 1.96 * math.sqrt(adjusted * (1 - adjusted) / (count + 4))


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the evaluated images
    true_class: int
    predicted_class: int
    confidence: float  # probability given to the (wrong) predicted class


@dataclass(frozen=True, eq=False)
class Evaluation:
    class_names: tuple[str, ...]
    loss: float  # mean categorical cross-entropy
    top1: float  # share of images whose most probable class is right
    top5: float  # share whose right class is among the five most probable (all, if C <= 5)
    confusion: np.ndarray  # int (C, C): rows are true classes, columns predicted ones
    per_class_accuracy: np.ndarray  # float (C,), NaN for a class with no images
    mistakes: tuple[Mistake, ...]  # misclassified images, most confidently wrong first
    probabilities: np.ndarray  # float (N, C)

    @property
    def top1_margin(self) -> float:
        """accuracy_margin of top1 over the images evaluated."""
        return accuracy_margin(self.top1, len(self.probabilities))


def evaluate(
    model,
    x: np.ndarray,
    y: np.ndarray,
    class_names,
    batch_size: int = 256,
    progress=None,
    views: str = "single",
) -> Evaluation:
    """Loss, top-1/top-5 accuracy, confusion matrix and mistakes over images x, labels y,
    from the mean probabilities over the test views (see classify.view_batches).

    progress(done, total) is called after each batch, counting every view's images.
    """
    classify.check_class_names(model, class_names)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(
            f"expected as many labels as images (at least one), got {len(x)} images "
            f"and {len(y)} labels"
        )
    probabilities = classify.view_probabilities(model, x, views, batch_size, progress).mean(axis=0)
    classes = len(class_names)
    predicted = probabilities.argmax(axis=1)
    loss = classify.cross_entropy(probabilities, y)
    k = min(5, classes)
    top_k = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    counts = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(counts > 0, np.diag(confusion) / counts, np.nan)
    wrong = np.flatnonzero(predicted != y)
    confidence = probabilities[wrong, predicted[wrong]]
    mistakes = tuple(
        Mistake(int(i), int(y[i]), int(predicted[i]), float(probabilities[i, predicted[i]]))
        for i in wrong[np.argsort(-confidence, kind="stable")]
    )
    return Evaluation(
        class_names=tuple(class_names),
        loss=loss,
        top1=float((predicted == y).mean()),
        top5=float((top_k == y[:, None]).any(axis=1).mean()),
        confusion=confusion,
        per_class_accuracy=per_class,
        mistakes=mistakes,
        probabilities=probabilities,
    )
