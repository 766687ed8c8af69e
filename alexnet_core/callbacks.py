"""The Keras callbacks a training job runs inside model.fit (the schedules are in schedule.py).

They run in the training thread and talk to their TrainingJob only through its worker-side
methods (record_batch, record_epoch, ...), which take the job's lock. The job's owner (a page,
the command line) uses the job's control methods; the callbacks honour them between batches.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from alexnet_core import checkpoints
from alexnet_core.config import TrainConfig
from alexnet_core.schedule import learning_rate_at


class Diverged(RuntimeError):
    """The loss or the weights stopped being finite numbers."""


def _what_was_kept(job) -> str:
    if job.epochs_done:
        return "the last good checkpoint was kept"
    return "no checkpoint was saved (no epoch had finished)"


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (the previous one is kept)."""


def current_learning_rate(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class LearningRateControl(keras.callbacks.Callback):
    """Sets the learning rate before every batch: the schedule's value, or the user's.

    Rule for a manual change: it replaces the schedule from that step on. The rate stays at the
    value set until the user changes it again (also across "continue training"), so what the
    chart shows after an event is exactly what was asked for.
    """

    def __init__(self, job, config: TrainConfig, manual_rate: float | None = None):
        super().__init__()
        self.job, self.config, self.manual_rate = job, config, manual_rate
        self.trained = False  # no batch of this session yet

    def on_train_batch_begin(self, batch, logs=None):
        # Position in epochs, not steps: stays right after a stop mid-epoch and a continue.
        position = self.job.epoch - 1 + batch / self.job.batches_per_epoch
        planned = self.manual_rate
        if planned is None:
            planned = learning_rate_at(self.config, position, self.config.epochs)
        requested = self.job.take_requested_learning_rate()
        if requested is not None:
            # 'old' is the last batch's rate; before this session's first, the one it would
            # have taken (the optimizer holds the peak, or the rate a continue loaded).
            old = current_learning_rate(self.model) if self.trained else planned
            self.manual_rate = planned = requested
            self.job.record_lr_event(old, requested)
        self.model.optimizer.learning_rate = planned
        self.trained = True


class BatchValues:
    """Each batch's own loss and accuracy, from the means Keras logs.

    Keras logs a metric as its mean over the epoch so far, weighted by images, so a chart of
    the logs lags behind the network and jumps when the mean restarts at each epoch. Two
    successive means give the batch's own value: the growth of the running total, divided by
    the batch's images. One per epoch.
    """

    def __init__(self):
        self.images = 0
        self.totals: dict[str, float] = {}

    def add(self, images: int, means: dict[str, float]) -> dict[str, float]:
        self.images += images
        values = {}
        for name, mean in means.items():
            total = mean * self.images
            values[f"batch_{name}"] = (total - self.totals.get(name, 0.0)) / images
            self.totals[name] = total
        return values


class Progress(keras.callbacks.Callback):
    """Feeds the job's metrics; stops the run as failed when the loss stops being finite."""

    def __init__(self, job):
        super().__init__()
        self.job = job
        self.batch_values = BatchValues()

    def on_epoch_begin(self, epoch, logs=None):
        self.job.start_epoch(epoch + 1)
        self.batch_values = BatchValues()

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            # Raising (not stop_training) ends fit at once: no validation or checkpoint runs
            # on the broken weights, so last.keras and best.keras stay the last good ones.
            raise Diverged(
                f"The loss diverged to {loss} at step {self.job.step + 1} (epoch "
                f"{self.job.epoch}, batch {batch + 1}); training stopped and "
                f"{_what_was_kept(self.job)}. Try a lower learning rate."
            )
        means = {"loss": loss, "accuracy": float(logs["accuracy"])}
        own = self.batch_values.add(self.job.images_in_batch(batch + 1), means)
        self.job.record_batch(batch + 1, means | own, current_learning_rate(self.model))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.job.record_epoch(
            epoch + 1,
            {
                "loss": logs.get("loss"),
                "accuracy": logs.get("accuracy"),
                "val_loss": logs.get("val_loss"),
                "val_accuracy": logs.get("val_accuracy"),
                "learning_rate": current_learning_rate(self.model),
            },
        )


class Checkpoints(keras.callbacks.Callback):
    """After every epoch: last.keras, best.keras when validation accuracy improved (training
    accuracy when there is no validation split), and epoch_NNN.keras if asked."""

    def __init__(self, job, save_every_epoch: bool, best: float | None = None):
        super().__init__()
        self.job, self.save_every_epoch, self.best = job, save_every_epoch, best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not all(np.isfinite(w).all() for w in self.model.get_weights()):
            raise Diverged(
                f"The weights diverged to NaN or infinity in epoch {epoch + 1}; training stopped "
                f"and {_what_was_kept(self.job)}. Try a lower learning rate."
            )
        names = ["last"] + [f"epoch_{epoch + 1:03d}"] * self.save_every_epoch
        score = logs.get(self.job.best_metric)
        improved = score is not None and (self.best is None or score > self.best)
        names += ["best"] * improved
        paths = [checkpoints.checkpoint_path(self.job.run_dir, name) for name in names]
        best = float(score) if improved else self.best
        counting = []

        def count_the_epoch():  # in the logs and status.json, before the checkpoints hold it
            counting.append(epoch + 1)
            self.job.record_checkpoint(epoch + 1, best)

        try:  # all or nothing: last.keras, best.keras and the counts never disagree
            checkpoints.save_checkpoints(self.model, paths, before_renaming=count_the_epoch)
        except OSError as error:
            if counting:  # the logs or status.json, not a checkpoint: the job says what was kept
                raise
            files = ", ".join(path.name for path in paths)
            kept = "The previous checkpoints were kept." if self.job.epochs_done else (
                "No checkpoint was saved: it was the first epoch.")  # fmt: skip
            raise CheckpointError(
                f"Could not save epoch {epoch + 1}'s checkpoints ({files}): {error}. {kept}"
            ) from error
        self.best = best


class Control(keras.callbacks.Callback):
    """Pause and stop, honoured between batches, and a stop also at an epoch's end.

    fit() resets model.stop_training when it starts, so a stop is checked here, every batch.
    Listed after Checkpoints: a stop clicked while an epoch validates or saves ends the run
    there, rather than after one batch of the next epoch (an epoch a continue would skip).
    """

    def __init__(self, job):
        super().__init__()
        self.job = job

    def on_train_batch_end(self, batch, logs=None):
        self.job.hold_if_paused()
        self._stop_if_asked()

    def on_epoch_end(self, epoch, logs=None):
        self._stop_if_asked()

    def _stop_if_asked(self):
        if self.job.stop_requested():
            self.job.begin_stopping()
            self.model.stop_training = True
