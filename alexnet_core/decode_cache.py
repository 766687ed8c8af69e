"""The disk cache of decoded datasets: decoding CIFAR-10's 60,000 JPEGs takes 13 to 20 s here,
reading the arrays back about a second. An entry is keyed by the source's path, every file's
size, times and inode, the image size and LOADER_VERSION, so any change to the files or the
decoder misses the cache.

Imported by alexnet_core.data; the public entry point is data.load_dataset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np

from alexnet_core import atomic, source_files

CACHE_VARIABLE = "ALEXNET_CACHE_DIR"  # Environment variable naming the decode cache folder.
# Part of the cache key: bump it when decoding changes. 2: folders left out are listed in
# skipped, symlinked folders are followed, class names that are not UTF-8 are escaped.
# 3: image files outside every class folder are listed in skipped too. 4: an RGB image's
# transparent colour is on white, 32-bit integer and float images are read by their values.
# 5: UTF-8 names in zips without the UTF-8 flag; a train/ of images alone is a class; 16-bit
# grey transparency on white; NaN in float images.
LOADER_VERSION = 5
PARTIAL = ".npz.part"  # the suffix of a decode being written (atomic.TEMP_PREFIX before it)
LEFT_BEHIND_S = 3600  # a half-written decode older than this was a killed process's, not a write
# in progress (CIFAR-10's takes seconds)


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A source decoded, before splitting into train, validation and test: what the cache
    stores."""

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None  # None when the source has no test split of its own.
    y_test: np.ndarray | None
    skipped: tuple[str, ...] = ()


def load_cached(path: Path, image_size: int, cache_dir, decode) -> tuple[Decoded, bool]:
    """`decode(path, image_size)`, or the arrays saved by an earlier decode of the same files
    (True with them). The cache folder: `cache_dir`, else $ALEXNET_CACHE_DIR, else the user's
    cache folder."""
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    folder = Path(cache_dir or os.environ.get(CACHE_VARIABLE) or "~/.cache/alexnet-explorer")
    cache_path = source_files.expanded(folder) / _cache_name(path, image_size)
    if cache_path.is_file():
        try:
            with np.load(cache_path, allow_pickle=False) as saved:
                return _from_arrays(saved), True
        except Exception:
            pass  # A damaged cache file: decode again and replace it.
    decoded = decode(path, image_size)
    try:
        _remove_left_behind(cache_path.parent)  # first: on a full disk, they may be why
        _save_atomically(cache_path, decoded)
        _remove_stale(cache_path)
    except OSError as error:
        warnings.warn(f"could not write the dataset cache {cache_path}: {error}", stacklevel=3)
    return decoded, False


def _remove_stale(cache_path: Path) -> None:
    """Delete earlier decodes of the same source at the same size: their files changed (or
    the loader did), so nothing will read them again. Other sources and sizes stay."""
    same_source = cache_path.name.rsplit("-", 1)[0]  # the name less its content digest
    for old in cache_path.parent.glob(f"{same_source}-*.npz"):
        if old != cache_path:
            old.unlink(missing_ok=True)


def _remove_left_behind(folder: Path) -> None:
    """Delete the half-written decodes that processes killed while writing left in `folder`
    (CIFAR-10's is 180 MB); not those written now, by another process say."""
    for left in folder.glob(f"{atomic.TEMP_PREFIX}*{PARTIAL}"):
        with contextlib.suppress(OSError):  # gone already: another process tidied up too
            if left.stat().st_mtime < time.time() - LEFT_BEHIND_S:
                left.unlink()


def _cache_name(path: Path, image_size: int) -> str:
    """The source's name, the size and its path's hash, then a digest that changes whenever
    the source's files or the loader change."""
    path = path.resolve()
    stamps = source_files.file_stamps(path)
    key = json.dumps([str(path), stamps, image_size, LOADER_VERSION])
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    where = hashlib.sha256(os.fsencode(path)).hexdigest()[:8]  # same name, other folder
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", path.name)[:40]
    return f"{readable}-{image_size}px-{where}-{digest}.npz"


def _save_atomically(cache_path: Path, decoded: Decoded) -> None:
    # Write beside the target and rename, so a crash or a second process never sees half a file.
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    has_test = decoded.x_test is not None
    empty = np.empty((0, *decoded.x_train.shape[1:]), np.uint8)
    arrays = {
        "name": np.array(decoded.name),
        "class_names": np.array(decoded.class_names),
        "skipped": np.array(decoded.skipped, dtype=str),
        "x_train": decoded.x_train,
        "y_train": decoded.y_train,
        "has_test": np.array(has_test),
        "x_test": decoded.x_test if has_test else empty,
        "y_test": decoded.y_test if has_test else np.empty(0, np.int64),
    }
    with atomic.replacing(cache_path, PARTIAL) as tmp, open(tmp, "wb") as file:
        np.savez(file, **arrays)  # Not compressed: loading is then a plain read.


def _from_arrays(saved) -> Decoded:
    has_test = bool(saved["has_test"])
    return Decoded(
        name=str(saved["name"]),
        class_names=tuple(str(name) for name in saved["class_names"]),
        x_train=saved["x_train"],
        y_train=saved["y_train"],
        x_test=saved["x_test"] if has_test else None,
        y_test=saved["y_test"] if has_test else None,
        skipped=tuple(str(line) for line in saved["skipped"]),
    )
