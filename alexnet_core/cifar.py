"""CIFAR-10 in its original forms: the pickled batches (folder or .tar.gz) and the Keras cache.

Imported by alexnet_core.data; the public entry point is data.load_dataset.
"""

from __future__ import annotations

import io
import lzma
import os
import pickle
import socket
import tarfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

# CIFAR-10's labels 0..9 (also their alphabetical order); load_data() returns no names.
CLASS_NAMES = tuple("airplane automobile bird cat deer dog frog horse ship truck".split())
BATCHES_FOLDER = "cifar-10-batches-py"
DOWNLOAD_HOST = "www.cs.toronto.edu"  # Where keras.datasets.cifar10 downloads from.
PROBE_SECONDS = 3.0  # How long the offline check waits for the download site.
LOCAL_COPY_HINT = (
    "Put a local copy of CIFAR-10 (cifar-10-python.tar.gz, its extracted cifar-10-batches-py "
    "folder, or an image zip with train/<class>/ and test/<class>/ such as cifar10-jpeg.zip) "
    "on this machine and set the environment variable ALEXNET_CIFAR10 to its path, or pass the "
    "path as the dataset source."
)

# A CIFAR batch is a pickle, and unpickling can run arbitrary code, so allow only what a batch
# needs: numpy arrays (old and numpy-2 module names) and the bytes codec that Python 3
# protocol-2 pickles use for bytes.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


_FILE_NAMES = ("batches.meta", "test_batch")  # Besides data_batch_1..5.


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def is_batches_folder(path: Path) -> bool:
    """True for an extracted cifar-10-batches-py folder, or a folder that holds one."""
    return (path / "batches.meta").is_file() or (path / BATCHES_FOLDER / "batches.meta").is_file()


def read_batches(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read pickled CIFAR-10 from a folder or a .tar, .tar.gz, .tar.bz2 or .tar.xz:
    (class_names, x_train, y_train, x_test, y_test), images uint8 (N, 32, 32, 3), labels int64
    (N,)."""
    if path.is_dir():
        folder = path if (path / "batches.meta").is_file() else path / BATCHES_FOLDER
        names = [p.name for p in folder.iterdir() if p.is_file()]
        return _read_named(path, names, lambda name: (folder / name).read_bytes())
    contents = {}
    try:
        # One pass in archive order: seeking back in a .tar.gz means decompressing it again.
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                name = Path(member.name).name  # Batches sit in a folder inside the archive.
                if member.isfile() and (name in _FILE_NAMES or name.startswith("data_batch_")):
                    contents[name] = archive.extractfile(member).read()
    except tarfile.ReadError as error:  # each compression was tried, and none opened it
        raise ValueError(f"{path}: not a readable CIFAR-10 archive (not a .tar, .tar.gz, "
                         ".tar.bz2 or .tar.xz file, or one cut short)") from error  # fmt: skip
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError, zlib.error) as error:
        raise ValueError(f"{path}: not a readable CIFAR-10 archive ({error})") from error
    return _read_named(path, list(contents), contents.__getitem__)


def _read_named(
    path: Path, names: list[str], read: Callable[[str], bytes]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # The real set has data_batch_1..5; accept any number so small copies work too.
    train_names = sorted((n for n in names if n.startswith("data_batch_")), key=_batch_number)
    # A damaged archive can end early without an error: its reader stops at the damage.
    ask = "is this cifar-10-python" + ("?" if path.is_dir() else ", and is it whole?")
    for required in _FILE_NAMES:
        if required not in names:
            raise ValueError(f"{path}: no {required} found; {ask}")
    if not train_names:
        raise ValueError(f"{path}: no data_batch_* files found; {ask}")
    meta = _unpickle(path, "batches.meta", read)
    try:
        class_names = [label.decode() for label in meta[b"label_names"]]
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: batches.meta has no label_names ({error!r})") from error
    train = [_read_batch(path, name, read) for name in train_names]
    x_test, y_test = _read_batch(path, "test_batch", read)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    for labels in (y_train, y_test):
        if labels.size and not 0 <= labels.min() <= labels.max() < len(class_names):
            raise ValueError(f"{path}: labels outside 0..{len(class_names) - 1}")
    return class_names, x_train, y_train, x_test, y_test


def _batch_number(name: str) -> int:
    suffix = name.rsplit("_", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def _read_batch(path: Path, name: str, read: Callable[[str], bytes]):
    batch = _unpickle(path, name, read)
    try:
        # Rows are 3072 bytes: the red plane, then green, then blue, each 32x32 row-major.
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: {name} is not a CIFAR-10 batch ({error})") from error
    if len(images) != len(labels):
        raise ValueError(f"{path}: {name} has {len(images)} images but {len(labels)} labels")
    return np.ascontiguousarray(images), labels


def _unpickle(path: Path, name: str, read: Callable[[str], bytes]) -> dict:
    try:
        # encoding="bytes": the batches were pickled by Python 2, with bytes keys.
        return _BatchUnpickler(io.BytesIO(read(name)), encoding="bytes").load()
    except Exception as error:
        raise ValueError(f"{path}: cannot read {name} ({error})") from error


def keras_cache_folder() -> Path:
    """Where keras.datasets keeps its downloads (KERAS_HOME, else ~/.keras)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"


def keras_has_cifar10() -> bool:
    """True when keras.datasets.cifar10.load_data() can run without a download."""
    # Keras 3 keeps the archive (which load_data re-checks by hash) beside what it extracts.
    return (keras_cache_folder() / "cifar-10-batches-py-target_archive").is_file()


def load_keras_cifar10() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """keras.datasets.cifar10.load_data(), as the tutorial calls it, with labels flattened.

    Without a cached copy, first checks that the download site answers, so an offline machine
    gets a ValueError in seconds instead of a long hang inside urllib.
    """
    if not keras_has_cifar10() and not _can_reach(DOWNLOAD_HOST, 443, PROBE_SECONDS):
        raise ValueError(
            f"CIFAR-10 is not in the Keras cache ({keras_cache_folder()}) and {DOWNLOAD_HOST} "
            f"cannot be reached to download it (no internet?). {LOCAL_COPY_HINT}"
        )
    import keras  # Here, not at module level: importing TensorFlow takes seconds.

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:
        message = f"keras.datasets.cifar10.load_data() failed ({error}). {LOCAL_COPY_HINT}"
        raise ValueError(message) from error
    return x_train, y_train.ravel().astype(np.int64), x_test, y_test.ravel().astype(np.int64)


def _can_reach(host: str, port: int, seconds: float) -> bool:
    # A probe rather than a short socket.setdefaulttimeout around load_data: that setting is
    # process-wide, does not bound the DNS lookup, and would also cut a slow but working
    # download. The probe runs in a daemon thread so a hanging DNS lookup can't hold us past
    # `seconds` either.
    reached = threading.Event()

    def connect():
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            reached.set()
        except OSError:
            pass

    probe = threading.Thread(target=connect, daemon=True, name="cifar10-probe")
    probe.start()
    probe.join(seconds)
    return reached.is_set()
