"""The packed CIFAR-10 copy: every JPEG's scan data in one .npz, their shared header once.

The file (cifar10-jpeg-packed.npz, 18.5 MB) holds `header`, `scans`, `offsets`, `labels`,
`split` (0 train, 1 test) and `class_names`; image i is header + scans[offsets[i]:offsets[i+1]].
It decodes to exactly the pixels of the JPEG zip, and is small enough to carry to a GPU
machine. Imported by alexnet_core.data; the public entry point is data.load_dataset.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from alexnet_core.image_folders import FolderImages
from alexnet_core.images import check_memory, decode_image

KEYS = {"header", "scans", "offsets", "labels", "split", "class_names"}


def is_packed(path: Path) -> bool:
    """Whether `path` is an .npz with the packed layout's arrays; ValueError for an .npz of
    other arrays (saved weights, say), which no other reader takes either."""
    if not (path.is_file() and path.suffix.lower() == ".npz" and zipfile.is_zipfile(path)):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from error
    arrays = {name.removesuffix(".npy") for name in names if name.endswith(".npy")}
    if arrays and not KEYS <= arrays:
        raise ValueError(
            f"{path}: an .npz without the packed CIFAR-10 copy's arrays (it lacks "
            f"{', '.join(sorted(KEYS - arrays))}; it has {', '.join(sorted(arrays))})"
        )
    return bool(arrays)


def read_packed(path: Path, image_size: int) -> FolderImages:
    """Decode every image to image_size x image_size RGB, split as the file says."""
    try:
        with np.load(path, allow_pickle=False) as packed:
            header, scans, offsets = bytes(packed["header"]), packed["scans"], packed["offsets"]
            labels, split = packed["labels"].astype(np.int64), packed["split"]
            class_names = tuple(str(name) for name in packed["class_names"])
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:  # damaged in storage
        raise ValueError(f"{path}: damaged, its arrays cannot be read ({error})") from error
    except (ValueError, TypeError) as error:  # object arrays (pickles), names not text...
        raise ValueError(f"{path}: its arrays are not the packed copy's ({error})") from error
    if any(array.ndim != 1 for array in (scans, offsets, labels, split, np.array(class_names))):
        raise ValueError(f"{path}: its arrays are not the packed copy's (each is a list of "
                         "values: one dimension)")  # fmt: skip
    if len(class_names) < 2:
        raise ValueError(f"{path}: {len(class_names)} class ({', '.join(class_names)}); need "
                         "two or more")  # fmt: skip
    if not len(labels) == len(split) == len(offsets) - 1:
        raise ValueError(f"{path}: labels, split and offsets disagree on the number of images")
    if len(labels) and not 0 <= labels.min() <= labels.max() < len(class_names):
        raise ValueError(f"{path}: labels outside 0..{len(class_names) - 1}")
    if not np.isin(split, (0, 1)).all():
        raise ValueError(f"{path}: split values other than 0 (train) and 1 (test)")
    check_memory(str(path), len(labels), image_size)
    images = np.empty((len(labels), image_size, image_size, 3), np.uint8)
    for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        data = header + scans[start:end].tobytes()
        images[i] = decode_image(data, image_size, name=f"{path.name}[{i}]")
    train, test = split == 0, split == 1
    return FolderImages(class_names, images[train], labels[train], images[test], labels[test], ())
