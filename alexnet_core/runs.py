"""Run folders: what a training run leaves on disk, and reading it back.

A run lives in `<runs root>/<run-id>/`:
    config.json      the model and training configs, the dataset and its class names
    status.json      status, error, pid, timestamps, epochs done, test metrics, device
    history.csv      one row per epoch; batches.csv one row per batch
    lr_events.json   manual learning-rate changes (step, epoch, old, new)
    best.keras       best validation accuracy; last.keras after every epoch; epoch_NNN.keras

Every file is written to a temporary file in the same folder and renamed over the old one, so a
crash or a full disk leaves the previous good version in place, never a half-written one.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import fcntl
import io
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from alexnet_core import atomic
from alexnet_core.checkpoints import CHECKPOINT_NAME
from alexnet_core.config import (
    PRESETS,
    ModelConfig,
    TrainConfig,
    model_config_from_dict,
    train_config_from_dict,
    train_preset,
)

RUNS_VARIABLE = "ALEXNET_RUNS_DIR"  # environment variable naming the runs root
ACTIVE_STATUSES = ("queued", "running", "paused", "stopping")
# Training settings of the data and the machine, not of how a network learns
NOT_PRESET_CHANGES = ("dataset", "image_size", "devices")


@dataclass(frozen=True)
class RunInfo:
    run_id: str  # the folder name, e.g. 20261129-233501-cifar_small
    path: Path
    status: str  # running, paused, finished, stopped, failed, interrupted or damaged
    preset: str
    model_config: ModelConfig | None  # None when the folder is damaged
    train_config: TrainConfig | None
    dataset: str  # the source the data came from ('sample', 'keras' or a path)
    class_names: tuple[str, ...]
    epochs_done: int
    best_accuracy: float | None  # the score that chose best.keras: see best_metric
    test_accuracy: float | None
    test_loss: float | None
    duration_s: float
    created: str  # ISO timestamp, local time
    error: str
    checkpoints: tuple[str, ...]  # ('best', 'last', 'epoch_001', ...) present on disk
    device: str = ""  # what trained it, e.g. 'CPU' or 'GPU:0 (NVIDIA H200)'
    # What config.json records about the data (training.TrainingData.describe); {} if damaged
    data: dict = field(default_factory=dict)
    # data.held_out_digest of the validation and test splits it trained beside ("" if older)
    held_out_digest: str = ""
    # (epoch, batches, batches per epoch) when a stop ended the last epoch before its last
    # batch (snapshot.Snapshot.cut_short); None otherwise, and for runs made before it was recorded
    cut_short: tuple[int, int, int] | None = None
    # What chose best.keras: 'val_accuracy', or 'accuracy' (training accuracy) for a run
    # trained without a validation split.
    best_metric: str = "val_accuracy"

    @property
    def best_val_accuracy(self) -> float | None:
        """The best validation accuracy; None for a run without a validation split."""
        return self.best_accuracy if self.best_metric == "val_accuracy" else None


def runs_root() -> Path:
    """Where run folders go: $ALEXNET_RUNS_DIR, else the repository's checkpoints/ folder."""
    env = os.environ.get(RUNS_VARIABLE)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "checkpoints"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def create_run_dir(preset: str, root: str | os.PathLike | None = None) -> Path:
    """A new empty folder named <date>-<time>-<preset>, with -2, -3... if that name is taken."""
    root = Path(root) if root else runs_root()
    if root.exists() and not root.is_dir():  # mkdir would only say "File exists"
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder", str(root))
    root.mkdir(parents=True, exist_ok=True)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{re.sub(r'[^A-Za-z0-9_.-]', '_', preset)}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()  # atomic: two processes cannot both create the same name
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not find a free run folder name for {base} in {root}")


# ---- atomic writes ---------------------------------------------------------------------------


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    with atomic.replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=True))


def write_csv_atomic(path: str | os.PathLike, rows: list[dict]) -> None:
    """Every column any row has (a run continued from an older version gains columns);
    a row without one leaves its cell empty, and None is written as an empty cell too."""
    out = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(column for row in rows for column in row))
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomic(path, out.getvalue())


# ---- reading ---------------------------------------------------------------------------------


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _read_csv(path: Path, integer_column: str) -> list[dict]:
    """The rows of a run's CSV file, [] if there is none; ValueError if it is damaged (every
    row must have a whole number in `integer_column`)."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{path}: damaged, not a CSV file this app wrote ({error})") from error
    if any(None in row for row in rows):  # csv puts the cells beyond the header under None
        raise ValueError(f"{path}: damaged, a row has more cells than the header has names")
    rows = [{k: _number(v) for k, v in row.items()} for row in rows]
    if any(not isinstance(row.get(integer_column), int) for row in rows):
        raise ValueError(f"{path}: damaged, a row has no whole number for {integer_column}")
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
    """Per-epoch rows: epoch, loss, accuracy, val_loss, val_accuracy, learning_rate, seconds."""
    return _read_csv(Path(path) / "history.csv", "epoch")


def load_batch_history(path: str | os.PathLike) -> list[dict]:
    """Per-batch rows: step, epoch, loss, accuracy (running means per epoch, as Keras logs
    them), batch_loss, batch_accuracy (the batch's own; empty in runs made before they were
    recorded), learning_rate, images_per_second (over the last batches; empty for the first of
    each epoch)."""
    return _read_csv(Path(path) / "batches.csv", "step")


def load_lr_events(path: str | os.PathLike) -> list[dict]:
    """The learning-rate changes made by hand: step, epoch, old and new rate. ValueError if
    the file is damaged."""
    file = Path(path) / "lr_events.json"
    if not file.exists():
        return []
    try:
        events = _read_json(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: damaged, not JSON ({error})") from error
    keys = {"step", "epoch", "old", "new"}
    if not isinstance(events, list) or not all(
        isinstance(e, dict) and keys <= e.keys() for e in events
    ):
        raise ValueError(f"{file}: damaged, expected a list of step, epoch, old and new rates")
    return events


def checkpoint_epochs(run: RunInfo) -> dict[str, tuple[int, float | None]]:
    """For each checkpoint of `run`: the epoch whose weights it holds, and that epoch's score
    by run.best_metric (None where history.csv does not say). best.keras holds the first
    epoch of the highest score, as it is saved on a strict improvement only."""
    try:
        history = load_history(run.path)[: run.epochs_done]
    except (ValueError, OSError):
        history = []  # a damaged history: the epochs of last and epoch_NNN are still known
    scores = {row["epoch"]: row.get(run.best_metric) for row in history}
    scores = {e: float(s) for e, s in scores.items() if isinstance(s, int | float) and s == s}
    found = {}
    for which in run.checkpoints:
        if which == "best":
            epoch = max(scores, key=lambda e: (scores[e], -e), default=None)
        elif which == "last":
            epoch = run.epochs_done or None
        else:
            epoch = int(which.removeprefix("epoch_"))
        if epoch:
            found[which] = (epoch, scores.get(epoch))
    return found


def kept_lr_events(run: RunInfo) -> list[dict]:
    """The rate changes made in the epochs last.keras holds: those a continue carries on from
    (a failed or cut epoch's are dropped). ValueError if lr_events.json is damaged."""
    return [e for e in load_lr_events(run.path) if e["epoch"] <= run.epochs_done]


def manual_rate(run: RunInfo) -> float | None:
    """The learning rate set by hand that a continue of `run` keeps in force (the last kept
    change); None where the schedule rules. ValueError if lr_events.json is damaged."""
    events = kept_lr_events(run)
    return float(events[-1]["new"]) if events else None


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), None where unknown. A pid can
    be reused by a new process after a reboot or a long time; the start time tells them apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_identity() -> dict:
    """What status.json records about the training process, to tell later if it is alive."""
    return {"pid": os.getpid(), "process_start": _process_start(os.getpid())}


LOCK_NAME = ".training.lock"  # held by the process training the folder, for the job's life


def claim_run(path: str | os.PathLike) -> int:
    """Lock run folder `path` for one training job and return the lock's file descriptor, to
    give to release_run when the job ends. ValueError if another process (or another job of
    this one) holds it. The operating system drops the lock when its process dies, so a killed
    trainer never leaves a folder locked."""
    path = Path(path)
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise ValueError(f"{path.name} cannot be trained: its folder cannot be written "
                         f"({error.strerror or error})") from error  # fmt: skip
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        raise ValueError(f"{path.name} is being trained right now by another job or program "
                         "(a second browser tab, or the command line): wait for it to end"
                         ) from error  # fmt: skip
    return fd


def release_run(fd: int) -> None:
    os.close(fd)  # closing the descriptor drops its lock


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return True


def _is_alive(status: dict, path: Path) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        # This process: alive only if its registry still has a job for this folder.
        training = sys.modules.get("alexnet_core.training")
        return bool(training and training.is_training(path))
    if not _pid_exists(pid):
        return False
    recorded, actual = status.get("process_start"), _process_start(pid)
    return recorded is None or actual is None or recorded == actual


def _read_part(path: Path, name: str) -> dict:
    """One of a run's JSON files; ValueError that names it and says plainly what is wrong."""
    try:
        data = _read_json(path / name)
    except FileNotFoundError:
        raise ValueError(f"{name} is missing") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not JSON ({error.msg}, line {error.lineno})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not text") from None
    except OSError as error:
        raise ValueError(f"{name} cannot be read ({error.strerror or error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{name} does not hold what this app writes there")
    return data


def _configs(path: Path) -> dict:
    """The RunInfo fields config.json gives; ValueError, saying what is wrong, if damaged."""
    config = _read_part(path, "config.json")
    try:
        model_config = model_config_from_dict(config["model"])
        train_config = train_config_from_dict(config["training"])
        data = config.get("dataset", {})
        return dict(
            preset=model_config.preset,
            model_config=model_config,
            train_config=train_config,
            dataset=str(data.get("source", train_config.dataset)),
            class_names=tuple(data.get("class_names", ())),
            data=data,
            held_out_digest=str(data.get("held_out_digest", "")),
            **({"created": str(config["created"])} if config.get("created") else {}),
        )
    except KeyError as error:
        raise ValueError(f"config.json has no {error.args[0]!r} part") from None
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"config.json: {error}") from None


def read_run(path: str | os.PathLike) -> RunInfo:
    """What a run folder holds; status 'damaged' (never an exception) if it cannot be read,
    with `error` saying why. A damaged status.json beside a good config.json keeps the
    configs: the run's network can still be loaded, only its progress is unknown."""
    path = Path(path)
    checkpoints = tuple(
        sorted(
            (p.stem for p in path.glob("*.keras") if CHECKPOINT_NAME.match(p.stem)),
            key=lambda name: ({"best": 0, "last": 1}.get(name, 2), name),
        )
    )
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(_mtime(path)))
    damaged = dict(
        run_id=path.name, path=path, status="damaged", preset="", model_config=None,
        train_config=None, dataset="", class_names=(), epochs_done=0, best_accuracy=None,
        test_accuracy=None, test_loss=None, duration_s=0.0, created=created,
        checkpoints=checkpoints,
    )  # fmt: skip
    try:
        described = _configs(path)
    except ValueError as error:
        return RunInfo(**damaged, error=str(error))
    known = {**damaged, **described}
    try:
        status = _read_part(path, "status.json")
    except ValueError as error:
        return RunInfo(**known, error=str(error))
    try:
        state = status["status"]
        if state in ACTIVE_STATUSES and not _is_alive(status, path):
            state = "interrupted"
        validated = known["train_config"].validation_fraction > 0
        progress = dict(
            status=state,
            epochs_done=int(status.get("epochs_done", 0)),
            # 'best_val_accuracy': the key before runs without validation were told apart
            best_accuracy=status.get("best_accuracy", status.get("best_val_accuracy")),
            test_accuracy=status.get("test_accuracy"),
            test_loss=status.get("test_loss"),
            duration_s=float(status.get("duration_s", 0.0)),
            error=str(status.get("error") or ""),
            device=str(status.get("device") or ""),
            cut_short=tuple(status["cut_short"]) if status.get("cut_short") else None,
            best_metric=status.get("best_metric") or ("val_accuracy" if validated else "accuracy"),
        )
        if "created" not in described and status.get("started"):  # an older config.json
            progress["created"] = str(status["started"])
        return RunInfo(**{**known, **progress})
    except (KeyError, TypeError, ValueError, OverflowError) as error:  # a field missing or wrong
        problem = f"status.json does not hold what this app writes there ({error!r})"
        return RunInfo(**known, error=problem)


def data_text(data: dict) -> str:
    """A run's data in one line, as config.json records it; "" for a run without the record."""
    if "num_train" not in data:
        return ""
    text = (f"{data.get('name') or data.get('source', '')}: {data['num_train']:,} train / "
            f"{data['num_val']:,} validation / {data['num_test']:,} test images, "
            f"{len(data.get('class_names', ()))} classes")  # fmt: skip
    left_out = data.get("left_out", 0)
    return text + (f", {left_out:,} left out" if left_out else "")


def preset_changes(run: RunInfo) -> str:
    """How the run's settings differ from its preset's, as 'width 0.5, epochs 4': the
    network's, then the training's. What follows the data (image size, classes, source) and
    the machine (devices) is left out. "" when nothing differs, or the preset is not one of
    this version's."""
    if run.model_config is None or run.preset not in PRESETS:
        return ""
    ours = run.model_config
    pairs = [(ours, PRESETS[run.preset].for_dataset(ours.image_size, ours.num_classes))]
    if run.train_config is not None:
        pairs.append((run.train_config, train_preset(run.preset)))
    changes = []
    for config, preset in pairs:
        for name in (f.name for f in dataclasses.fields(config)):
            value = getattr(config, name)
            if value == getattr(preset, name) or name in NOT_PRESET_CHANGES:
                continue
            if isinstance(value, bool):
                value = "on" if value else "off"
            elif isinstance(value, tuple):
                value = "/".join(map(str, value))  # per convolution: 8/16/16/16/16
            changes.append(f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}")
    return ", ".join(changes)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def list_runs(root: str | os.PathLike | None = None) -> list[RunInfo]:
    """Every run folder under `root` (default runs_root()), newest first."""
    root = Path(root) if root else runs_root()
    if not root.is_dir():
        return []
    runs = [read_run(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(runs, key=lambda run: (run.created, run.run_id), reverse=True)


def delete_run(path: str | os.PathLike) -> None:
    """Remove a run folder, whole or not at all as far as list_runs sees: it is first renamed
    to a hidden name (one step), then emptied. ValueError if it is still training, is not a
    run folder or cannot be renamed (left as it was); OSError naming the hidden folder if some
    of its files could not be removed."""
    path = Path(path)
    looks_like_run = (path / "config.json").exists() or (path / "status.json").exists()
    if not path.is_dir() or not (looks_like_run or path.parent == runs_root()):
        raise ValueError(f"{path}: not a run folder")
    if read_run(path).status in ACTIVE_STATUSES:
        raise ValueError(f"{path.name} is still training: stop it before deleting it")
    hidden = path.with_name(f".deleting-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.rename(hidden)
    except OSError as error:
        raise ValueError(f"{path.name} was not deleted: nothing can be changed in "
                         f"{path.parent} ({error.strerror or error})") from error  # fmt: skip
    try:
        shutil.rmtree(hidden)
    except OSError as error:
        raise OSError(f"{path.name} is deleted from the list of runs, but some of its files "
                      f"could not be removed ({error.strerror or error}): they are in "
                      f"{hidden}") from error  # fmt: skip
    _remove_abandoned_deletes(path.parent)


def _remove_abandoned_deletes(root: Path) -> None:
    """Finish the deletes of processes that died between the rename and the last file: their
    `.deleting-<run>-<pid>-<ns>` folders stay hidden from list_runs but hold disk space. A
    folder whose process still lives may be in the middle of its delete: it is left alone."""
    for folder in root.glob(".deleting-*"):
        pid = folder.name.rsplit("-", 2)[-2]
        if pid.isdigit() and int(pid) < 2**31 and not _pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
