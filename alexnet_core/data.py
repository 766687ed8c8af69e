"""Datasets: CIFAR-10 (through Keras, a local copy, or the bundled sample) and image folders.

`load_dataset(source)` returns uint8 images and int64 labels split into train, validation and
test. Images stay at their small size (32x32 by default); resizing to 227 happens inside the
model, per batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from alexnet_core import cifar, image_folders, packed_jpegs, source_files
from alexnet_core.decode_cache import Decoded, load_cached
from alexnet_core.images import check_memory, resize_image

SAMPLE_PATH = Path(__file__).parent / "assets" / "cifar10-sample.zip"
SOURCE_VARIABLE = "ALEXNET_CIFAR10"  # Environment variable naming a local CIFAR-10 copy.


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels in three splits, each shuffled by the seed (so a prefix is a fair
    sample)."""

    name: str  # What was loaded, for people: the kind of source and its path.
    source: str  # What the source resolved to: "keras", "sample" or a path.
    class_names: tuple[str, ...]  # Label i means class_names[i].
    x_train: np.ndarray  # uint8 (N, H, W, 3) RGB.
    y_train: np.ndarray  # int64 (N,).
    x_val: np.ndarray  # Carved out of the training images, stratified by class.
    y_val: np.ndarray
    x_test: np.ndarray  # The source's own test split, or one carved out by the seed.
    y_test: np.ndarray
    # "file: problem" for each unreadable file left out, "folder/: why" for each folder.
    skipped: tuple[str, ...] = ()
    from_cache: bool = False  # True when the decoded arrays came from the disk cache.

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def held_out_digest(self) -> str:
        return held_out_digest(self.x_val, self.y_val, self.x_test, self.y_test)

    def summary(self) -> str:
        text = (
            f"{self.name}: {len(self.y_train):,} train / {len(self.y_val):,} validation / "
            f"{len(self.y_test):,} test images, {self.num_classes} classes, "
            f"{self.image_size}x{self.image_size}"
        )
        count = len(self.skipped)
        left_out = f", {count:,} {'file or folder' if count == 1 else 'files or folders'} left out"
        return text + (left_out if self.skipped else "")


def load_dataset(
    source: str | os.PathLike = "auto",
    *,
    image_size: int = 32,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load a dataset. source: "auto", "sample", "keras", or a path to cifar-10-python.tar.gz,
    a cifar-10-batches-py folder, the packed JPEG copy (.npz), or an image folder or zip
    (train/<class>/*, test/<class>/*, or just <class>/*, where test_fraction of each class
    becomes the test split).

    Raises ValueError, naming the path and the problem, for a source it cannot use.
    """
    _check_options(source, image_size, validation_fraction, test_fraction, seed)
    image_size = int(image_size)
    if source == "auto" and os.environ.get(SOURCE_VARIABLE):  # say where the path came from
        try:
            return load_dataset(
                default_source(), image_size=image_size, validation_fraction=validation_fraction,
                test_fraction=test_fraction, seed=seed, cache_dir=cache_dir,
            )  # fmt: skip
        except ValueError as error:
            raise ValueError(f"${SOURCE_VARIABLE} names {error}") from error
    source = recorded_source(source)
    from_cache = False
    if source == "keras":
        x_train, y_train, x_test, y_test = cifar.load_keras_cifar10()
        name = f"CIFAR-10 from keras.datasets ({cifar.keras_cache_folder()})"
        decoded = Decoded(name, cifar.CLASS_NAMES, x_train, y_train, x_test, y_test)
        decoded = _resized(decoded, image_size)
    else:
        path = SAMPLE_PATH if source == "sample" else Path(source)
        decoded, from_cache = load_cached(path, image_size, cache_dir, _decode_path)
        if source == "sample":
            name = f"CIFAR-10 sample bundled with the app ({path})"
            decoded = dataclasses.replace(decoded, name=name)
    return _split(decoded, source, validation_fraction, test_fraction, seed, from_cache)


def _check_options(source, image_size, validation_fraction, test_fraction, seed) -> None:
    if source is None or not isinstance(source, str | os.PathLike) or not str(source).strip():
        raise ValueError(f'source must be "auto", "sample", "keras" or a path, got {source!r}')
    if not _is_integer(image_size) or not 8 <= image_size <= 512:
        raise ValueError(f"image_size must be an integer from 8 to 512, got {image_size!r}")
    for name, fraction in [
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ]:
        real = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool)
        if not real or not 0 <= fraction < 1:  # also refuses NaN
            raise ValueError(f"{name} must be a number in [0, 1), got {fraction!r}")
    if not _is_integer(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer from 0 to 2**32 - 1, got {seed!r}")


def _is_integer(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def held_out_digest(x_val, y_val, x_test, y_test) -> str:
    """A short digest of the validation and test images and labels. A run records it, so a
    later look at its data can tell whether the held-out images are still the ones it never
    trained on: a folder's splits are drawn from its files, and change when they do."""
    digest = hashlib.sha256()
    for array in (x_val, y_val, x_test, y_test):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:16]


def source_stamp(source: str | os.PathLike = "auto") -> str:
    """A short text that changes when the source's files do, for caches of loaded datasets:
    the size, times and inode of its file, or of every file in its folder. Empty for a
    source that is not there."""
    if source is None or not str(source).strip():
        return ""
    source = default_source() if source == "auto" else str(source)
    if source == "keras":
        path = cifar.keras_cache_folder()
    else:
        path = SAMPLE_PATH if source == "sample" else source_path(source)
    try:
        stamps = source_files.file_stamps(path)
    except OSError:
        return ""
    return hashlib.sha256(json.dumps(stamps).encode()).hexdigest()[:16]


def source_path(source: str | os.PathLike) -> Path:
    """The absolute path a user named, '~' expanded. Quotes around it, as a shell or a file
    manager's "copy path" gives ("/data/my flowers"), are dropped unless they are part of
    the name."""
    path, text = source_files.expanded(source), str(source).strip()
    if len(text) > 2 and text[0] == text[-1] and text[0] in "'\"" and not path.exists():
        path = source_files.expanded(text[1:-1])
    return path.absolute()


def recorded_source(source: str | os.PathLike) -> str:
    """The dataset a run on `source` records: "sample" and "keras" as they are, "auto" as what
    it finds now, a path made absolute (source_path), so it is found again from any working
    folder."""
    source = default_source() if source == "auto" else str(source)
    return source if source in ("sample", "keras") else str(source_path(source))


def default_source() -> str:
    """What "auto" means: $ALEXNET_CIFAR10, else Keras' cached CIFAR-10, else the sample."""
    if os.environ.get(SOURCE_VARIABLE):
        return os.environ[SOURCE_VARIABLE]
    return "keras" if cifar.keras_has_cifar10() else "sample"


def available_sources() -> list[dict]:
    """The sources this machine offers, for the home page: name (what to pass to
    load_dataset), description, available (usable now, without internet) and detail."""
    sources = []
    local_copy = os.environ.get(SOURCE_VARIABLE)
    if local_copy:
        path = source_files.expanded(local_copy)
        found = path.exists()
        detail = str(path) if found else f"{path} does not exist"
        description = f"Local CIFAR-10 copy named by ${SOURCE_VARIABLE}"
        sources.append(_entry(local_copy, description, found, detail))
    keras_folder, cached = cifar.keras_cache_folder(), cifar.keras_has_cifar10()
    detail = f"cached in {keras_folder}"
    if not cached:
        detail = f"not in {keras_folder}; the 170 MB download needs internet. "
        detail += cifar.LOCAL_COPY_HINT
    description = "CIFAR-10 through keras.datasets.cifar10.load_data(), as in the tutorial"
    sources.append(_entry("keras", description, cached, detail))
    description = "CIFAR-10 sample bundled with the app: 400 train and 100 test images per class"
    sources.append(_entry("sample", description, SAMPLE_PATH.is_file(), str(SAMPLE_PATH)))
    return sources


def _entry(name: str, description: str, available: bool, detail: str) -> dict:
    return {"name": name, "description": description, "available": available, "detail": detail}


def _split(decoded, source, validation_fraction, test_fraction, seed, from_cache) -> Dataset:
    rng = np.random.default_rng(seed)
    x, y = decoded.x_train, decoded.y_train
    if decoded.x_test is None:
        keep, test = _stratified_split(y, test_fraction, rng)
        x_test, y_test = x[test], y[test]
        x, y = x[keep], y[keep]
    else:
        order = rng.permutation(len(decoded.y_test))
        x_test, y_test = decoded.x_test[order], decoded.y_test[order]
    train, val = _stratified_split(y, validation_fraction, rng)
    return Dataset(
        name=decoded.name,
        source=source,
        class_names=tuple(decoded.class_names),
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        x_test=x_test,
        y_test=y_test,
        skipped=tuple(decoded.skipped),
        from_cache=from_cache,
    )


def _stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator):
    """Indices (kept, taken), each shuffled: `fraction` of every class is taken, but at least
    one image per class is kept so no class vanishes from training."""
    taken = [np.empty(0, dtype=np.int64)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        taken.append(members[: min(round(len(members) * fraction), len(members) - 1)])
    taken = np.concatenate(taken)
    kept = np.setdiff1d(np.arange(len(labels)), taken)
    return rng.permutation(kept), rng.permutation(taken)


def _resized(decoded: Decoded, image_size: int) -> Decoded:
    if decoded.x_train.shape[1] != image_size:
        count = len(decoded.x_train) + (0 if decoded.x_test is None else len(decoded.x_test))
        check_memory(decoded.name, count, image_size)

    def resize_all(images):
        if images is None or images.shape[1] == image_size:
            return images
        resized = np.empty((len(images), image_size, image_size, 3), np.uint8)
        for i, image in enumerate(images):
            resized[i] = resize_image(image, image_size)
        return resized

    return dataclasses.replace(
        decoded, x_train=resize_all(decoded.x_train), x_test=resize_all(decoded.x_test)
    )


def _decode_path(path: Path, image_size: int) -> Decoded:
    is_archive = path.is_file() and not zipfile.is_zipfile(path)
    if (path.is_dir() and cifar.is_batches_folder(path)) or (is_archive and _looks_like_tar(path)):
        class_names, x_train, y_train, x_test, y_test = cifar.read_batches(path)
        decoded = Decoded(f"CIFAR-10 batches {path}", class_names, x_train, y_train, x_test, y_test)
        return _resized(decoded, image_size)
    if packed_jpegs.is_packed(path):
        return Decoded(f"packed JPEG copy {path}", *packed_jpegs.read_packed(path, image_size))
    found = image_folders.read_image_folder(path, image_size)
    kind = "image folder" if path.is_dir() else "image zip"
    return Decoded(f"{kind} {path}", *found)


def _looks_like_tar(path: Path) -> bool:
    if path.name.endswith((".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError as error:  # no permission to read it, say
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from error
