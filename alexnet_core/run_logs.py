"""The logs a run writes as it trains, read back: history.csv (one row per epoch), batches.csv
(one row per batch) and lr_events.json (the learning-rate changes made by hand). Each reader
gives [] for a file not written yet and raises ValueError, naming the file, for a damaged one.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path


def _read_csv(path: Path, integer_column: str, counts: tuple[str, ...] = ()) -> list[dict]:
    """The rows of a run's CSV file, [] if there is none; ValueError if it is damaged (every
    row must have a whole number in `integer_column`, and in each of `counts` one or none)."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{path}: damaged, not a CSV file this app wrote ({error})") from error
    except OSError as error:  # a folder in its place, no permission to read it
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from error
    if any(None in row for row in rows):  # csv puts the cells beyond the header under None
        raise ValueError(f"{path}: damaged, a row has more cells than the header has names")
    rows = [{k: _number(v) for k, v in row.items()} for row in rows]
    if any(not isinstance(row.get(integer_column), int) for row in rows):
        raise ValueError(f"{path}: damaged, a row has no whole number for {integer_column}")
    for column in counts:  # empty in runs made before it was recorded
        if any(not isinstance(row.get(column), int | None) for row in rows):
            raise ValueError(f"{path}: damaged, a row's {column} is not a whole number")
    return rows


def _number(text: str):
    """CSV cells back to numbers where they are numbers; empty cells become None."""
    if text == "" or text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def load_history(path: str | os.PathLike) -> list[dict]:
    """Per-epoch rows: epoch, loss, accuracy, val_loss, val_accuracy, learning_rate (the rate
    at the epoch's end: batches.csv has each batch's), seconds."""
    return _read_csv(Path(path) / "history.csv", "epoch", counts=("batches", "images"))


def load_batch_history(path: str | os.PathLike) -> list[dict]:
    """Per-batch rows: step, epoch, loss, accuracy (running means per epoch, as Keras logs
    them), batch_loss, batch_accuracy (the batch's own; empty in runs made before they were
    recorded), learning_rate, images_per_second (over the last batches; empty for the first of
    each epoch)."""
    return _read_csv(Path(path) / "batches.csv", "step", counts=("epoch",))


def reached_error(history: list[dict], error: float) -> tuple[int, float | None] | None:
    """When a run's training error first fell to `error` or below, from its per-epoch rows:
    the epoch (its error is 1 - the epoch's training accuracy, as Keras reports it while
    training) and the training seconds to that epoch's end (None if a row lacks its seconds);
    None if it never did. An epoch that diverged (NaN accuracy) did not reach it. ValueError
    for a row without its training accuracy."""
    elapsed = 0.0
    for row in history:
        seconds, accuracy = row.get("seconds"), row.get("accuracy")
        if not isinstance(accuracy, int | float):
            raise ValueError(f"history.csv: epoch {row['epoch']} has no training accuracy")
        elapsed = elapsed + seconds if _is_number(seconds) and elapsed is not None else None
        if _is_number(accuracy) and 1 - accuracy <= error:
            return int(row["epoch"]), elapsed
    return None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def kept_lr_events(path: str | os.PathLike, epochs_done: int) -> list[dict]:
    """The rate changes made in the first `epochs_done` epochs, those last.keras holds and a
    continue carries on from (a failed or cut epoch's are dropped). ValueError if the file is
    damaged."""
    return [e for e in load_lr_events(path) if e["epoch"] <= epochs_done]


def load_lr_events(path: str | os.PathLike) -> list[dict]:
    """The learning-rate changes made by hand: step, epoch, old and new rate. ValueError if
    the file is damaged."""
    file = Path(path) / "lr_events.json"
    if not file.exists():
        return []
    try:
        events = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: damaged, not JSON ({error})") from error
    except OSError as error:  # a folder in its place, no permission to read it
        raise ValueError(f"{file}: cannot be read ({error.strerror or error})") from error
    if not isinstance(events, list) or not all(map(_is_event, events)):
        raise ValueError(f"{file}: damaged, expected a list of step, epoch, old and new rates")
    return events


def _is_event(event) -> bool:
    """A rate change as job.record_lr_event writes it: whole step and epoch, a new rate above 0
    (the old one may be 0: a schedule can end there)."""
    if not (isinstance(event, dict) and {"step", "epoch", "old", "new"} <= event.keys()):
        return False
    whole = all(isinstance(event[key], int) and not isinstance(event[key], bool)
                for key in ("step", "epoch"))  # fmt: skip
    old, new = event["old"], event["new"]
    return whole and _is_number(old) and old >= 0 and _is_number(new) and new > 0
