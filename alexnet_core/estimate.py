"""How long training takes here: real training and evaluation steps timed on random images,
and a checkpoint saved once, extrapolated to a run's images. Runs in the caller's thread.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alexnet_core import checkpoints, distribute
from alexnet_core.config import ModelConfig, TrainConfig
from alexnet_core.fitting import check_memory, compile_model, out_of_memory, precision


@dataclass(frozen=True)
class RunEstimate:
    """How long a run takes here, from real steps timed on random images (seconds)."""

    build_s: float  # before the first batch: tracing the training (and evaluation) step
    train_s: float  # an epoch's training steps
    validation_s: float  # an epoch's pass over the validation images
    checkpoint_s: float  # an epoch's checkpoints: one save, then copies (see save_checkpoints)
    test_s: float  # after the last epoch: the pass over the test images

    @property
    def epoch_s(self) -> float:
        return self.train_s + self.validation_s + self.checkpoint_s

    def total_s(self, epochs: int) -> float:
        return self.build_s + epochs * self.epoch_s + self.test_s


def estimate_run(
    model_config: ModelConfig,
    train_config: TrainConfig,
    num_train: int,
    num_val: int = 0,
    num_test: int = 0,
    *,
    steps: int = 3,
    checkpoints_per_epoch: int = 0,
) -> RunEstimate:
    """Times a warm-up training step (which traces the graph), then `steps` more, and the same
    for evaluation steps when there are images to validate or test; saves the model as
    `checkpoints_per_epoch` files once (last.keras, best.keras...). Extrapolates from those to
    the images of each part. The steps run where and in the precision a run of these settings
    would train (its devices, mixed precision on a GPU), in this one process."""
    import keras

    if num_train < 1:
        raise ValueError(f"num_train: got {num_train}, expected at least 1 image")
    check_memory(model_config, train_config)
    # Several workers (TF_CONFIG) train together; one process can time only its own devices.
    several = distribute.cluster()[0] > 1
    placement = distribute.SINGLE_DEVICE if several else distribute.place(train_config.devices)
    before = keras.config.dtype_policy()  # per thread: the caller's is put back
    keras.config.set_dtype_policy(precision(train_config, placement))
    try:
        with placement.strategy.scope() if placement.strategy else contextlib.nullcontext():
            return _timed_run(model_config, train_config, num_train, num_val, num_test,
                              steps=steps, checkpoints_per_epoch=checkpoints_per_epoch)  # fmt: skip
    finally:
        keras.config.set_dtype_policy(before)


def _timed_run(model_config, train_config, num_train, num_val, num_test, *, steps,
               checkpoints_per_epoch) -> RunEstimate:  # fmt: skip
    import keras

    from alexnet_core.model import build_alexnet

    batch_size = train_config.batch_size
    model = build_alexnet(model_config)
    compile_model(model, train_config)
    rng = np.random.default_rng(0)
    size = model_config.image_size
    x = rng.integers(0, 256, (batch_size, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, model_config.num_classes, batch_size)
    y = keras.utils.to_categorical(labels, model_config.num_classes)

    def timed(step) -> tuple[float, float]:
        """Seconds of the first call (tracing included), and of each later call on average.
        Both steps return numbers, so each one has really finished when it returns."""
        started = time.perf_counter()
        step(x, y)
        traced = time.perf_counter()
        for _ in range(steps):
            step(x, y)
        return traced - started, (time.perf_counter() - traced) / steps

    try:
        build_s, per_train_step = timed(model.train_on_batch)
        per_test_step = 0.0
        if num_val or num_test:
            trace_s, per_test_step = timed(model.test_on_batch)
            build_s += trace_s
    except Exception as exc:
        if text := out_of_memory(exc, model_config, batch_size):
            raise ValueError(text) from exc
        raise
    checkpoint_s = 0.0
    if checkpoints_per_epoch:
        try:
            with tempfile.TemporaryDirectory(prefix="alexnet-estimate-") as folder:
                paths = [Path(folder) / f"{n}.keras" for n in range(checkpoints_per_epoch)]
                started = time.perf_counter()
                checkpoints.save_checkpoints(model, paths)
                checkpoint_s = time.perf_counter() - started
        except OSError as error:  # a full temporary folder, say: where, not a bare errno
            raise ValueError(
                f"The estimate could not save a checkpoint to time it in "
                f"{tempfile.gettempdir()} ({error.strerror or error}). Free some space there, "
                "or point the TMPDIR environment variable at another folder."
            ) from error
    return RunEstimate(
        build_s=build_s,
        train_s=per_train_step * math.ceil(num_train / batch_size),
        validation_s=per_test_step * math.ceil(num_val / batch_size),
        checkpoint_s=checkpoint_s,
        test_s=per_test_step * math.ceil(num_test / batch_size),
    )
