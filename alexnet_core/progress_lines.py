"""The command-line trainer's text: its progress bar, a line per epoch, what data the run
trains on and how it ended. Plain strings from the job's snapshot; train.py prints them."""

import json
import os
import sys

from alexnet_core import run_text


def fit(line: str) -> str:
    """The line cut to the terminal's width: one that wraps leaves a row that the trainer's
    CLEAR_LINE (back to the line's start, erase) misses."""
    try:  # stderr's terminal: stdout may go to a file
        columns = os.get_terminal_size(sys.stderr.fileno()).columns - 1
    except OSError:
        columns = 79
    return line if len(line) <= columns else line[: columns - 1] + "…"


def bar(snap, width: int = 30) -> str:
    done = int(width * snap.batch / max(snap.batches_per_epoch, 1))
    last = snap.batch_history[-1] if snap.batch_history and snap.batch else None
    metrics = f"loss {last['loss']:.3f} acc {last['accuracy']:.3f}" if last else "loss -- acc --"
    speed = f"{snap.images_per_second:,.0f} img/s" if snap.images_per_second else "-- img/s"
    eta = clock(snap.eta_s) if snap.eta_s else "--:--:--"
    return (
        f"epoch {snap.shown_epoch}/{snap.epochs} [{'#' * done}{'.' * (width - done)}] "
        f"{snap.batch}/{snap.batches_per_epoch} {metrics} lr {snap.learning_rate:.3g} "
        f"{speed} eta {eta}{' (paused)' if snap.status == 'paused' else ''}"
    )


def clock(seconds: float) -> str:
    """Hours, minutes and seconds: 100:02:05 for 100 hours, which a clock would show as 04."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def epoch_line(snap, row: dict) -> str:
    def fmt(key):
        value = row.get(key)
        return "--" if value is None else f"{value:.4f}"

    images, seconds = row.get("images"), row["seconds"]
    speed = f"{images / seconds:,.0f} img/s" if images and seconds > 0 else ""  # with validation
    return (
        f"epoch {row['epoch']}/{snap.epochs}: loss {fmt('loss')} acc {fmt('accuracy')} "
        f"val_loss {fmt('val_loss')} val_acc {fmt('val_accuracy')} "
        f"lr {row['learning_rate']:.3g} {row['seconds']:.0f} s {speed}".rstrip()
    )


def data_line(run_dir) -> str:
    """What the run trains on, as its config.json records it, and what was left out of it."""
    data = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))["dataset"]
    text = f"data: {run_text.data_text(data)}"
    if data.get("left_out"):
        listed = data.get("left_out_first", [])
        more = data["left_out"] - len(listed)
        text += ":\n  " + "\n  ".join(listed) + (f"\n  ... and {more:,} more" * (more > 0))
    return text


def summary(snap, trained: int) -> str:
    """How the run ended; `trained`: the epochs this session finished (a continue's)."""
    epochs = f"{snap.epochs_done} epoch{'s' * (snap.epochs_done != 1)}"
    if trained < snap.epochs_done:
        epochs += f" ({trained} this time)"
    text = f"{snap.status} after {epochs} in {snap.duration_s:.0f} s on {snap.device or 'CPU'}"
    if snap.cut_short:
        epoch, batches = snap.cut_short
        text += f" (epoch {epoch} after {batches} of {snap.batches_per_epoch} batches)"
    if snap.test_accuracy is not None:
        smoothed = snap.train_config.label_smoothing  # the epoch lines' losses include it
        text += (f"; test accuracy {snap.test_accuracy:.4f} (loss {snap.test_loss:.4f}"
                 f"{', without label smoothing' if smoothed else ''})")  # fmt: skip
    if snap.train_config.mixed_precision and "GPU" not in (snap.device or ""):
        text += "; mixed precision was off: it needs a GPU"
    if snap.status == "stopped" and not snap.epochs_done:
        text += "; nothing was saved (no epoch had finished)"
    return text + f"\nrun folder: {snap.run_dir}"
