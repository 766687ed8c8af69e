"""A training job's state at one moment: what the pages and the command line read.

TrainingJob.snapshot() copies it under the job's lock; the copy is frozen, so any thread may
read it while the job trains on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alexnet_core import runs
from alexnet_core.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job's state at one moment, safe to read from any thread."""

    run_id: str
    run_dir: Path
    status: str  # queued, running, paused, stopping, finished, stopped or failed
    epoch: int  # current epoch, 1-based (0 before the first starts)
    epochs: int  # epochs the run will have when it ends
    batch: int  # batches done in the current epoch
    batches_per_epoch: int
    step: int  # batches done in the whole run
    batch_history: tuple[dict, ...]  # rows as run_logs.load_batch_history describes them
    epoch_history: tuple[dict, ...]  # epoch, loss, accuracy, val_loss, val_accuracy, ...
    lr_events: tuple[dict, ...]  # step, epoch, old, new: manual learning-rate changes
    learning_rate: float  # the optimizer's rate at the last batch (before one: the first's)
    images_per_second: float | None  # over the last SPEED_WINDOW batches
    elapsed_s: float  # training time of this session of the run (pauses left out)
    duration_s: float  # training time of the whole run, every session of it
    eta_s: float | None  # time left: the last whole epoch's pace (validation included), or speed
    eta_timed: bool  # eta_s from a whole epoch's pace; else training steps alone, a lower bound
    device: str
    error: str
    test_loss: float | None
    test_accuracy: float | None
    model_config: ModelConfig
    train_config: TrainConfig
    epochs_done: int = 0  # epochs completed (and checkpointed)
    best_accuracy: float | None = None  # validation accuracy (training accuracy without)
    replicas: int = 1  # model copies sharing each batch (tf.distribute), over all workers
    # Batches of the run's schedule done: every epoch before the current one counts in full
    # (one a stop cut short too, as a continue starts the next), then the current one's.
    batches_done: int = 0
    requested_rate: float | None = None  # set by hand, taken up at the next batch
    created: str = ""  # when the run began (runs.now_iso), its first session if continued
    best_metric: str = "val_accuracy"  # what chooses best.keras: "accuracy" without validation
    workers: int = 1  # processes training it together (tf.distribute's multi-worker)

    @property
    def active(self) -> bool:
        return self.status in runs.ACTIVE_STATUSES

    @property
    def cut_short(self) -> tuple[int, int] | None:
        """(epoch, batches) when a stop ended the last recorded epoch before its last batch:
        its metrics and checkpoint cover those batches, and a continue starts the next one."""
        return cut_short_of(self.epoch_history, self.batches_per_epoch)

    @property
    def shown_epoch(self) -> int:
        """The epoch in progress; before its first batch, while the job is active, the one
        about to start (a continue of a 3-epoch run is starting epoch 4, not in epoch 3)."""
        if self.batch or not self.active:
            return self.epoch
        return min(max(self.epoch, self.epochs_done + 1), self.epochs)

    @property
    def position(self) -> str:
        """'epoch 4/10 · batch 120/352', 'epoch 4/10 · starting' before that epoch's first
        batch is done, or '3/10 epochs done' for an ended job that trained no batch since."""
        if self.batch:
            return f"epoch {self.epoch}/{self.epochs} · batch {self.batch}/{self.batches_per_epoch}"
        if self.active:
            return f"epoch {self.shown_epoch}/{self.epochs} · starting"
        return f"{self.epochs_done}/{self.epochs} epochs done"

    @property
    def progress(self) -> float:
        """Share of the run's batches done, 0..1."""
        if self.status == "finished":
            return 1.0
        total = self.epochs * self.batches_per_epoch
        return min(self.batches_done / total, 1.0) if total else 0.0


def cut_short_of(epoch_history, batches_per_epoch: int) -> tuple[int, int] | None:
    """(epoch, batches) if the last row of `epoch_history` trained fewer batches than an
    epoch has: a stop cut it short."""
    last = epoch_history[-1] if epoch_history else {}
    batches = last.get("batches")
    if batches is None or batches >= batches_per_epoch:
        return None
    return int(last["epoch"]), int(batches)


def stopped_earlier(epoch_history) -> list[tuple[int, int, int]]:
    """(epoch, batches, batches an epoch has) for each epoch before the last that a stop cut
    short, a continue having gone on from the next one. An epoch has the most batches any row
    trained; the last row is cut_short_of's."""
    counts = [row.get("batches") for row in epoch_history]
    full = max((c for c in counts if c is not None), default=None)
    return [(int(row["epoch"]), int(row["batches"]), int(full))
            for row in epoch_history[:-1]
            if row.get("batches") is not None and row["batches"] < full]  # fmt: skip
