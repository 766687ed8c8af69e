"""What a training job trains on: a dataset's arrays cut to the settings (TrainingData), what
config.json records about them, and warnings about settings that would train but say little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alexnet_core.config import TrainConfig
from alexnet_core.data import held_out_digest
from alexnet_core.decode_cache import LOADER_VERSION

LEFT_OUT_RECORDED = 50  # config.json lists the first files left out of the data, and counts all


@dataclass(frozen=True)
class TrainingData:
    """The arrays a job trains on (uint8 images, int labels) and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    name: str
    skipped: tuple[str, ...] = ()  # files and folders of the source left out, and why
    warnings: tuple[str, ...] = ()  # data_warnings: what about the data will make it say little

    @classmethod
    def from_dataset(cls, ds, train_subset: int = 0) -> TrainingData:
        # Datasets are shuffled by their seed, so the first train_subset images are a fair draw.
        n = train_subset or len(ds.y_train)
        empty_x = np.zeros((0, *ds.x_train.shape[1:]), np.uint8)
        empty_y = np.zeros((0,), np.int64)
        return cls(
            ds.x_train[:n], ds.y_train[:n],
            ds.x_val if ds.x_val is not None else empty_x,
            ds.y_val if ds.y_val is not None else empty_y,
            ds.x_test if ds.x_test is not None else empty_x,
            ds.y_test if ds.y_test is not None else empty_y,
            tuple(ds.class_names), str(getattr(ds, "source", "")), str(getattr(ds, "name", "")),
            tuple(getattr(ds, "skipped", ())),
        )  # fmt: skip

    def describe(self) -> dict:
        """What config.json records about the data."""
        return {
            "source": self.source,
            "name": self.name,
            "class_names": list(self.class_names),
            "image_size": int(self.x_train.shape[1]),
            "num_train": len(self.y_train),
            "num_val": len(self.y_val),
            "num_test": len(self.y_test),
            "held_out_digest": held_out_digest(self.x_val, self.y_val, self.x_test, self.y_test),
            "left_out": len(self.skipped),
            "left_out_first": list(self.skipped[:LEFT_OUT_RECORDED]),
            "loader": LOADER_VERSION,  # how the files were read: see read_differently
        }


def read_differently(recorded: dict) -> str:
    """For a run whose data now loads with other classes or other held-out images: a sentence
    saying that this app reads some files differently from the version that trained it (its
    config.json's `recorded` data has another loader, or none), so the files may be the same;
    '' where the loader is the same, or for the sample and Keras' copy, which it reads alike."""
    if recorded.get("loader") == LOADER_VERSION or recorded.get("source") in ("sample", "keras"):
        return ""
    return (" This version of the app reads some files differently from the one that trained "
            "the run (UTF-8 names in zips made without the zip's UTF-8 flag, as macOS and "
            "Info-ZIP make them; a train/ folder of images alone; 16-bit transparency; NaN in "
            "float images), which can change the classes or the held-out images though the "
            "files did not change: if so, train a new run on them.")  # fmt: skip


def data_warnings(dataset, train_config: TrainConfig) -> list[str]:
    """What about a data.Dataset and these settings would make training say little, in
    words: settings that train, but not meaningfully (a tiny subset, a batch bigger than the
    data, a validation share larger than the training split, none held out for validation)."""
    labels = TrainingData.from_dataset(dataset, train_config.train_subset).y_train
    n, names = len(labels), dataset.class_names
    split, val, classes = len(dataset.y_train), len(dataset.y_val), len(names)
    batch, images = train_config.batch_size, f"image{'s' * (n != 1)}"
    said = []
    # A subset is a seeded random draw, not one per class: a small one can miss a class.
    missing = [name for name, count in zip(names, np.bincount(labels, minlength=classes),
                                           strict=True) if count == 0]  # fmt: skip
    if missing:
        listed = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        said.append(f"{len(missing)} of the {classes} classes ({listed}) have no image among "
                    f"the {n:,} training {images}: the network never learns them.")  # fmt: skip
    if batch > n:
        said.append(f"The batch of {batch:,} is larger than the {n:,} training {images}: every "
                    "epoch is a single optimizer step.")  # fmt: skip
    if val > split:  # against the whole split: a subset is a quick look, its validation whole
        said.append(f"More images are held out for validation ({val:,}) than train "
                    f"({split:,}): lower the validation share.")  # fmt: skip
    if val == 0:
        why = "too few images of each class for the validation share"
        if not train_config.validation_fraction:
            why = "the validation share is 0"
        said.append(f"No images are held out for validation ({why}): the run has no "
                    "validation accuracy, and best.keras keeps the epoch with the best "
                    "training accuracy.")  # fmt: skip
    return said
