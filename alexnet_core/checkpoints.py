"""Checkpoints: a run's models on disk (best.keras, last.keras, epoch_NNN.keras), saved all
or none and loaded back with their optimizer state.

Every checkpoint is written to a temporary file beside its target and renamed over it only
when whole, so a crash or a full disk leaves the previous good one in place.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import shutil
import threading
import zipfile
import zlib
from pathlib import Path

from alexnet_core import atomic

CHECKPOINT_NAME = re.compile(r"^(best|last|epoch_\d{3,})$")


_gc_lock = threading.Lock()
_gc_pauses = 0  # saves and loads in progress, in any thread
_gc_was_enabled = True


@contextlib.contextmanager
def _gc_paused():
    """Automatic garbage collection off while h5py works (a .keras file holds its weights in
    HDF5). h5py holds a global lock while it calls back into Python; if another thread's
    collection frees an h5py object meanwhile, both threads wait for each other for ever
    (h5py issue #2019; seen here as a frozen trainer). gc.disable() is process-wide."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def save_checkpoints(model, paths: list[str | os.PathLike], before_renaming=None) -> None:
    """Save `model` as every one of `paths` (.keras files), or as none of them: each is written
    beside its target first (one save, then copies) and all are renamed into place only when
    every one is whole. On any error (disk full...) the old files stay, the partial ones go.

    `before_renaming()`, if given, runs once every file is whole and before any is renamed: a
    run's logs and status, written there, can fail (a full disk) and leave the old files too.
    """
    staged = []
    try:
        for path in map(Path, paths):
            tmp = atomic.temp_beside(path, ".keras")
            staged.append((tmp, path))
            if len(staged) == 1:
                with _gc_paused():
                    model.save(tmp)
            else:
                shutil.copyfile(staged[0][0], tmp)
        if before_renaming is not None:
            before_renaming()
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise


def checkpoint_path(path: str | os.PathLike, which: str = "best") -> Path:
    """The file of checkpoint `which` ('best', 'last', 'epoch_003') in run folder `path`."""
    if not CHECKPOINT_NAME.match(str(which)):
        raise ValueError(f"which: got {which!r}, expected 'best', 'last' or 'epoch_NNN'")
    return Path(path) / f"{which}.keras"


def is_whole(path: str | os.PathLike, which: str) -> bool:
    """Whether checkpoint `which` of run folder `path` is a whole .keras file (a zip): one cut
    short or overwritten outside the app is not."""
    return zipfile.is_zipfile(checkpoint_path(path, which))


def verify(path: str | os.PathLike, which: str) -> None:
    """ValueError, saying what is wrong, unless checkpoint `which` of run folder `path` reads
    back as it was written: is_whole, and every part's checksum too (a file changed on disk
    after it was saved is refused here, not half-way through loading). Reads the whole file."""
    file = checkpoint_path(path, which)
    if not file.is_file():
        raise ValueError(f"{file}: no such checkpoint in this run folder")
    try:
        with zipfile.ZipFile(file) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError) as error:  # zlib: a compressed part
        raise ValueError(f"{file}: damaged, not a whole .keras file ({error})") from error
    if bad is not None:
        raise ValueError(f"{file}: damaged, its {bad} does not read back as it was saved")


def load_checkpoint(path: str | os.PathLike, which: str = "best"):
    """The Keras model saved as checkpoint `which` of a run (with its optimizer state);
    ValueError for a missing or damaged file (see verify)."""
    import keras

    import alexnet_core.model  # noqa: F401  registers LocalResponseNormalization for loading

    verify(path, which)
    file = checkpoint_path(path, which)
    # Keras wraps the optimizer of a mixed-precision model in a LossScaleOptimizer only when
    # the policy in force while loading says so; otherwise it drops the saved optimizer state.
    # The policy is per thread, and this thread's is put back afterwards.
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(_saved_policy(file))
    try:
        with _gc_paused():
            return keras.saving.load_model(file, safe_mode=True)
    except MemoryError:
        raise
    except Exception as error:  # a whole zip that is no Keras model (KeyError, TypeError...)
        raise ValueError(f"{file}: not a model this app can load ({error})") from error
    finally:
        keras.config.set_dtype_policy(before)


def check_matches(model, path: str | os.PathLike, which: str, class_names) -> None:
    """ValueError unless `model`, loaded from checkpoint `which` of run folder `path`, can be
    the run's network: this app's named layers (conv1 .. predictions) and an output for each of
    the run's classes. A file copied in from another run, or another model altogether, loads
    as a model all the same."""
    file = checkpoint_path(path, which)
    names = {layer.name for layer in model.layers}
    if not {"conv1", "predictions"} <= names:
        raise ValueError(f"{file}: not a network of this app (it has no conv1 and predictions "
                         "layers)")  # fmt: skip
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"{file}: a network for {outputs} classes, but the run has "
                         f"{len(class_names)} ({', '.join(class_names) or 'none named'}): "
                         "another run's checkpoint?")  # fmt: skip


class ForeignCheckpoint(ValueError):
    """A checkpoint that loads, but is not its run's: another network, or another optimizer."""


def check_same_run(saved, saved_optimizer, model, optimizer, path, which: str) -> None:
    """ForeignCheckpoint unless `saved` (checkpoint `which` of run folder `path`) and its
    optimizer state are of the network `model` the run's config describes and of the run's
    built `optimizer`: weight for weight, the same shapes."""
    file = checkpoint_path(path, which)
    mine = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in saved.weights] != mine:
        ours, theirs = model.count_params(), saved.count_params()
        differ = (f"it has {theirs:,} parameters where this run's network has {ours:,}"
                  if ours != theirs else "its layers' shapes differ")  # fmt: skip
        raise ForeignCheckpoint(
            f"{file} is not this run's network ({differ}): was it copied in from another run? "
            f"Put the run's own {which}.keras back, or train a new run."
        )
    variables = [] if saved_optimizer is None else saved_optimizer.variables
    if [tuple(v.shape) for v in variables] != [tuple(v.shape) for v in optimizer.variables]:
        name = type(saved_optimizer).__name__ if saved_optimizer is not None else "no"
        raise ForeignCheckpoint(
            f"{file} holds {name} optimizer state, not the state of this run's "
            f"{type(optimizer).__name__}: was it copied in from another run? Put the run's own "
            f"{which}.keras back, or train a new run."
        )


def _saved_policy(file: Path) -> str:
    """mixed_float16 if the saved model computes in float16, else float32."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return "float32"  # keras.saving.load_model then says what is wrong with the file
    return "mixed_float16" if b'"mixed_float16"' in config else "float32"
