"""What a training job writes into its run folder as it trains: status.json, and the logs
history.csv, batches.csv and lr_events.json (run_logs reads them back), each from a snapshot of
the job, so that they agree. Every write is atomic: a reader finds the old file or the new.
"""

from __future__ import annotations

from pathlib import Path

from alexnet_core import atomic, run_lock, runs
from alexnet_core.snapshot import Snapshot


def write_status(snap: Snapshot, final: tuple[str, str] | None = None) -> None:
    """status.json: where the run stands; `final` (status, error) is the run's end, when the
    snapshot does not say it yet."""
    state, error = final or (snap.status, snap.error)
    cut = snap.cut_short
    status = {
        "status": state,
        "error": error,
        **run_lock.process_identity(),
        "started": snap.created,
        "updated": runs.now_iso(),
        "epochs_done": snap.epochs_done,
        "epochs": snap.epochs,
        "best_accuracy": snap.best_accuracy,
        "best_metric": snap.best_metric,
        "test_loss": snap.test_loss,
        "test_accuracy": snap.test_accuracy,
        "cut_short": cut and [*cut, snap.batches_per_epoch],
        "duration_s": round(snap.duration_s, 2),
        "device": snap.device,
        "replicas": snap.replicas,
        "workers": snap.workers,
    }
    atomic.write_json(snap.run_dir / "status.json", status)


def write_logs(snap: Snapshot) -> None:
    """history.csv, batches.csv and lr_events.json, as the snapshot has them."""
    atomic.write_csv(snap.run_dir / "history.csv", list(snap.epoch_history))
    atomic.write_csv(snap.run_dir / "batches.csv", list(snap.batch_history))
    # a continue drops the changes made in epochs it redoes: the file must forget them too
    events = snap.run_dir / "lr_events.json"
    if snap.lr_events or events.exists():
        atomic.write_json(events, list(snap.lr_events))


def unwritable_text(exc: OSError, run_dir: Path, epochs_done: int) -> str:
    """Why a run ended when its folder could not be written, and what is still there."""
    where = exc.filename or run_dir
    kept = (f"Epoch {epochs_done}'s checkpoints were kept: make room, then continue the run."
            if epochs_done else "No checkpoint was saved.")  # fmt: skip
    return f"Could not write {where}: {exc.strerror or exc}. {kept}"
