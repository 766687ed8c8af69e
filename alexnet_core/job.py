"""One training job: its state behind a lock, its controls, and its worker thread.

Two sides share a job. The owner (a page, the command line) calls snapshot(), pause(),
resume(), stop(), set_learning_rate() and wait(). The worker thread (fitting.fit and the
callbacks in callbacks.py) calls begin(), the record_* methods and hold_if_paused(). Every
shared field is read and written under `_lock`; the worker blocks (pause) outside it.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

from alexnet_core import atomic, distribute, run_files, run_lock, runs, schedule
from alexnet_core.config import ModelConfig, TrainConfig
from alexnet_core.pace import Speedometer, time_left
from alexnet_core.snapshot import Snapshot

ACTIVE = runs.ACTIVE_STATUSES


class JobBusy(RuntimeError):
    """A job is already training in this process."""


class TrainingJob:
    """A run being trained by a background thread. Create it through training.start_training
    or continuation.continue_training."""

    def __init__(self, run_dir: Path, model_config: ModelConfig, train_config: TrainConfig,
                 data, previous: dict | None = None,
                 placement: distribute.Placement | None = None,
                 claim: int | None = None):  # fmt: skip
        self.run_id, self.run_dir = run_dir.name, Path(run_dir)
        self._claim = claim  # run_lock.claim_run's lock on the folder, released when the job ends
        self.model_config, self.train_config = model_config, train_config
        self._data, self.continuing = data, previous is not None
        self.data_warnings = data.warnings  # the arrays go when the job ends; these stay
        self.placement = placement or distribute.SINGLE_DEVICE
        previous = previous or {}
        self._lock = threading.Lock()
        self._unpaused = threading.Event()  # cleared while the owner wants a pause
        self._unpaused.set()
        self._stop = threading.Event()
        # Set when the thread has written its last word. Waiting on an Event, not on
        # Thread.join: a Ctrl-C inside join() can leave the thread looking dead (CPython 3.11).
        self._done = threading.Event()
        self._requested_rate: float | None = None
        self._status, self._error = "queued", ""
        self._epoch_history = list(previous.get("history", []))
        self._batch_history = list(previous.get("batches", []))
        self._lr_events = list(previous.get("lr_events", []))
        self._best = previous.get("best")
        self._duration_before = previous.get("duration_s", 0.0)
        # last.keras's test metrics stand until a new checkpoint replaces it
        self._test = (previous.get("test_loss"), previous.get("test_accuracy"))
        self._created = previous.get("created") or runs.now_iso()
        self.epochs_done = len(self._epoch_history)
        self._first_epoch = self.epochs_done  # this job's epochs come after these rows
        self.epoch, self.batch = self.epochs_done, 0
        self._epochs_before = self.epochs_done  # epochs before the current one (batches_done)
        self.step = self._batch_history[-1]["step"] if self._batch_history else 0
        self.batches_per_epoch = math.ceil(len(data.y_train) / train_config.batch_size)
        # Until a batch reports one, the rate the first batch will take: the one set by hand,
        # else the schedule's where this job starts (one-cycle's first is a 25th of its peak).
        self._rate = self.manual_rate or schedule.learning_rate_at(
            train_config, self.epochs_done, train_config.epochs
        )
        self._speed = Speedometer()
        self._num_train = len(data.y_train)
        # what chooses best.keras (callbacks.Checkpoints): training accuracy without validation
        self.best_metric = "val_accuracy" if len(data.y_val) else "accuracy"
        self._epoch_started = time.monotonic()
        self._started = time.monotonic()
        self._ended: float | None = None
        self._paused_since: float | None = None  # pauses count in no time or speed
        self._device = ""
        self.ending_unwritten = False  # set when the final status could not be written
        self._thread = threading.Thread(target=self._run, name=f"train-{self.run_id}",
                                        daemon=True)  # fmt: skip
        self._write_status()  # 'queued' is on disk before the thread starts

    # ---- the owner's side -------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def active(self) -> bool:
        with self._lock:
            return self._status in ACTIVE

    @property
    def alive(self) -> bool:
        return not self._done.is_set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._ended or self._paused_since or time.monotonic()
            speed = self._speed.images_per_second()
            done = self._epochs_before * self.batches_per_epoch + self.batch
            left = max(self.train_config.epochs * self.batches_per_epoch - done, 0)
            eta, timed = self._time_left(left, speed) if self._status in ACTIVE else (None, False)
            return Snapshot(
                run_id=self.run_id, run_dir=self.run_dir, status=self._status,
                epoch=self.epoch, epochs=self.train_config.epochs, batch=self.batch,
                batches_per_epoch=self.batches_per_epoch, step=self.step,
                batch_history=tuple(self._batch_history),
                epoch_history=tuple(self._epoch_history), lr_events=tuple(self._lr_events),
                learning_rate=self._rate, images_per_second=speed,
                elapsed_s=now - self._started,
                duration_s=self._duration_before + now - self._started,
                eta_s=eta, eta_timed=timed,
                device=self._device, error=self._error,
                test_loss=self._test[0], test_accuracy=self._test[1],
                model_config=self.model_config, train_config=self.train_config,
                epochs_done=self.epochs_done, best_accuracy=self._best,
                replicas=self.placement.replicas, batches_done=done,
                requested_rate=self._requested_rate, created=self._created,
                best_metric=self.best_metric, workers=self.placement.workers,
            )  # fmt: skip

    def pause(self) -> None:
        """Pause after the current batch (status turns 'paused' once it has stopped); nothing
        once a stop is asked for."""
        if not self._stop.is_set():
            self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    def stop(self) -> None:
        """Stop after the current batch; the epoch's checkpoint and test metrics are saved
        (status 'stopping' meanwhile)."""
        self._stop.set()
        self._unpaused.set()  # a paused job must wake up to stop

    def set_learning_rate(self, learning_rate: float) -> None:
        """Use this rate from the next batch on, in place of the schedule (recorded as an
        event). ValueError for a rate that is not a positive number or a job that has ended."""
        rate = float(learning_rate)
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"learning_rate: got {learning_rate!r}, expected a positive rate")
        with self._lock:
            status = self._status
            if status in ACTIVE and self._stop.is_set():
                status = "stopping"  # asked to stop: no batch is coming that the rate could use
            if status not in ("queued", "running", "paused"):
                raise ValueError(f"{self.run_id} is {status}: its rate cannot change now")
            if self.epoch >= self.train_config.epochs and self.batch >= self.batches_per_epoch:
                raise ValueError(f"{self.run_id} has trained its last batch (it is being "
                                 "tested now): no batch is left to use a new rate")  # fmt: skip
            self._requested_rate = rate

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end (status final, files written); True if it has."""
        return self._done.wait(timeout)

    # ---- the worker's side (called by callbacks in the training thread) ----------------------

    def take_requested_learning_rate(self) -> float | None:
        with self._lock:
            rate, self._requested_rate = self._requested_rate, None
            return rate

    def record_lr_event(self, old: float, new: float) -> None:
        event = {"step": self.step + 1, "epoch": self.epoch, "old": old, "new": new}
        with self._lock:
            self._lr_events.append(event)
            self._rate = new
            events = list(self._lr_events)
        atomic.write_json(self.run_dir / "lr_events.json", events)

    def start_epoch(self, epoch: int) -> None:
        with self._lock:
            self.epoch, self.batch, self._epoch_started = epoch, 0, time.monotonic()
            self._epochs_before = epoch - 1
            self._speed.restart()  # validation time between epochs is not training speed

    def images_in_batch(self, batch: int) -> int:
        """How many images batch `batch` (from 1) of an epoch trains on: the last may hold fewer."""
        size = self.train_config.batch_size
        return min(size, self._num_train - (batch - 1) * size)

    def record_batch(self, batch: int, metrics: dict[str, float], rate: float) -> None:
        """metrics: loss and accuracy as Keras logs them (means over the epoch so far), and
        batch_loss and batch_accuracy, the batch's own values."""
        images = self.images_in_batch(batch)
        with self._lock:
            self.step += 1
            self.batch, self._rate = batch, rate
            speed = self._speed.add(images)
            row = {"step": self.step, "epoch": self.epoch, **metrics, "learning_rate": rate}
            self._batch_history.append(row | {"images_per_second": speed})

    def record_epoch(self, epoch: int, metrics: dict) -> None:
        """metrics as Keras logs them at the epoch's end; the row also says how many batches
        and images it trained on (fewer when a stop cut it short), in how many seconds (its
        validation included)."""
        with self._lock:
            seconds = time.monotonic() - self._epoch_started
            images = min(self.batch * self.train_config.batch_size, self._num_train)
            row = {"epoch": epoch, **metrics, "seconds": seconds, "batches": self.batch,
                   "images": images}  # fmt: skip
            self._epoch_history.append(row)

    def record_checkpoint(self, epoch: int, best: float | None) -> None:
        """The epoch's checkpoints are written, not yet renamed into place: count it as done
        and write the histories and status.json. If they cannot be written (a full disk), the
        epoch is not counted, here or on disk, and the checkpoints stay the previous ones."""
        with self._lock:
            before = self.epochs_done, self._best, self._test
            self.epochs_done, self._best = epoch, best
            self._test = (None, None)  # they were last.keras's before this epoch
        try:
            self._write_all()
        except OSError:
            with self._lock:
                self.epochs_done, self._best, self._test = before
            raise

    def hold_if_paused(self) -> None:
        if self._unpaused.is_set() or self._stop.is_set():  # a stop outranks a later pause
            return
        with self._lock:
            self._paused_since = time.monotonic()
        self._set_status("paused")
        self._unpaused.wait()  # stop() sets it too
        with self._lock:
            paused = time.monotonic() - self._paused_since
            self._paused_since = None
            # the pause is not training time: not in the epoch's seconds, the run's duration
            # or its speed
            self._epoch_started += paused
            self._started += paused
            self._speed.restart()
        if not self._stop.is_set():
            self._set_status("running")

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def begin_stopping(self) -> None:
        """The worker honours a stop: what is left is the epoch's validation, checkpoint and
        the test pass."""
        self._set_status("stopping")

    def completed(self) -> bool:
        """Every epoch trained to its last batch (a stop may have cut the last one short)."""
        snap = self.snapshot()
        return snap.epochs_done >= snap.epochs and snap.cut_short is None

    def begin(self, device: str) -> None:
        with self._lock:
            self._device = device
        self._set_status("running")

    @property
    def manual_rate(self) -> float | None:
        """The last rate the user set (it replaces the schedule), None if never."""
        with self._lock:
            return self._lr_events[-1]["new"] if self._lr_events else None

    @property
    def best(self) -> float | None:
        with self._lock:
            return self._best

    def record_test(self, loss: float, accuracy: float) -> None:
        with self._lock:
            self._test = (loss, accuracy)

    # ---- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        from alexnet_core.callbacks import CheckpointError, Diverged
        from alexnet_core.checkpoints import ForeignCheckpoint
        from alexnet_core.fitting import fit, out_of_memory

        config = self.train_config
        try:
            status, error = fit(self, self._data), ""
        except (Diverged, CheckpointError, ForeignCheckpoint) as exc:
            status, error = "failed", str(exc)
        except OSError as exc:  # a log or status file could not be written: a full disk, mostly
            status, error = "failed", self._unwritable_text(exc)
        except BaseException as exc:  # whatever happens (even SystemExit), not 'running'
            status = "failed"
            error = (out_of_memory(exc, self.model_config, config.batch_size, config.optimizer)
                     or f"{type(exc).__name__}: {exc}")  # fmt: skip
        finally:
            self._data = None  # free the arrays; the job object outlives the thread
        with self._lock:
            # An epoch whose checkpoint was not written does not count (a continue redoes it).
            del self._epoch_history[self.epochs_done :]
            self._ended = time.monotonic()
            pending, self._requested_rate = self._requested_rate, None
        try:  # the files first: whoever sees the final status in a snapshot finds it on disk
            if pending is not None and status == "stopped" and self.epochs_done:
                # Set (say while paused) and then stopped: no batch took it up, and a continue
                # goes on at it, as at any rate set by hand.
                self.record_lr_event(self._rate, pending)
            self._write_all(final=(status, error))
        except OSError:  # the disk may be what failed; the snapshot still tells the story
            self.ending_unwritten = True
        finally:
            with self._lock:
                self._status, self._error = status, error
            if self._claim is not None:
                run_lock.release_run(self._claim)
            self._done.set()

    # ---- state helpers -----------------------------------------------------------------------

    def _unwritable_text(self, exc: OSError) -> str:
        return run_files.unwritable_text(exc, self.run_dir, self.epochs_done)

    def _time_left(self, batches_left: int, speed: float | None) -> tuple[float | None, bool]:
        """pace.time_left at this session's last epoch; called under the lock."""
        ours = self._epoch_history[self._first_epoch :]
        return time_left(batches_left, ours[-1] if ours else None, self.batches_per_epoch,
                         self.train_config.batch_size, speed)  # fmt: skip

    def _set_status(self, status: str) -> None:
        with self._lock:
            self._status = status
        self._write_status()

    def _write_status(self, final: tuple[str, str] | None = None) -> None:
        """status.json; `final` (status, error) is the run's end, not yet in the snapshot."""
        run_files.write_status(self.snapshot(), final)

    def _write_all(self, final: tuple[str, str] | None = None) -> None:
        snap = self.snapshot()  # one: the logs and the status agree
        run_files.write_logs(snap)
        run_files.write_status(snap, final)
