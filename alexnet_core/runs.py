"""Run folders: what a training run leaves on disk, and reading it back.

A run lives in `<runs root>/<run-id>/`:
    config.json      the model and training configs, the dataset and its class names
    status.json      status, error, pid, timestamps, epochs done, test metrics, device
    history.csv      one row per epoch; batches.csv one row per batch
    lr_events.json   manual learning-rate changes (step, epoch, old, new)
    best.keras       best validation accuracy; last.keras after every epoch; epoch_NNN.keras

Every file is written to a temporary file in the same folder and renamed over the old one, so a
crash or a full disk leaves the previous good version in place, never a half-written one
(atomic.py). run_logs.py reads the three logs back; run_lock.py says who is training a folder;
run_deletion.py deletes one.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from alexnet_core import run_lock, run_logs
from alexnet_core.checkpoints import CHECKPOINT_NAME
from alexnet_core.config import (
    ModelConfig,
    TrainConfig,
    model_config_from_dict,
    train_config_from_dict,
)

RUNS_VARIABLE = "ALEXNET_RUNS_DIR"  # environment variable naming the runs root
ACTIVE_STATUSES = ("queued", "running", "paused", "stopping")


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
    # What config.json records about the data (training_data.TrainingData.describe); {} if damaged
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
    if root.is_symlink() and not root.exists():  # a link to a drive not mounted, say
        raise FileNotFoundError(errno.ENOENT, f"it links to {os.readlink(root)}, which is not "
                                "there", str(root))  # fmt: skip
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


def checkpoint_epochs(run: RunInfo) -> dict[str, tuple[int, float | None]]:
    """For each checkpoint of `run`: the epoch whose weights it holds, and that epoch's score
    by run.best_metric (None where history.csv does not say). best.keras holds the first
    epoch of the highest score, as it is saved on a strict improvement only."""
    try:
        epochs = run_logs.load_history(run.path)[: run.epochs_done]
    except (ValueError, OSError):
        epochs = []  # a damaged history: the epochs of last and epoch_NNN are still known
    scores = {row["epoch"]: row.get(run.best_metric) for row in epochs}
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
    return run_logs.kept_lr_events(run.path, run.epochs_done)


def manual_rate(run: RunInfo) -> float | None:
    """The learning rate set by hand that a continue of `run` keeps in force (the last kept
    change); None where the schedule rules. ValueError if lr_events.json is damaged."""
    events = kept_lr_events(run)
    return float(events[-1]["new"]) if events else None


def _read_part(path: Path, name: str) -> dict:
    """One of a run's JSON files; ValueError that names it and says plainly what is wrong."""
    try:
        data = json.loads((path / name).read_text(encoding="utf-8"))
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
        for count in ("num_train", "num_val", "num_test", "left_out"):  # absent in older runs
            if type(data.get(count, 0)) is not int:
                raise ValueError(f"its dataset's {count} is not a whole number")
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
        if state in ACTIVE_STATUSES and not run_lock.is_alive(status, path):
            state = "interrupted"
        validated = known["train_config"].validation_fraction > 0
        progress = dict(
            status=state,
            epochs_done=int(status.get("epochs_done", 0)),
            # 'best_val_accuracy': the key before runs without validation were told apart
            best_accuracy=_share(status.get("best_accuracy", status.get("best_val_accuracy"))),
            test_accuracy=_share(status.get("test_accuracy")),
            test_loss=status.get("test_loss"),
            duration_s=float(status.get("duration_s", 0.0)),
            error=str(status.get("error") or ""),
            device=str(status.get("device") or ""),
            cut_short=_cut(status["cut_short"]) if status.get("cut_short") else None,
            best_metric=status.get("best_metric") or ("val_accuracy" if validated else "accuracy"),
        )
        if not isinstance(progress["best_metric"], str):  # a name the pages look up
            raise TypeError(f"best_metric {progress['best_metric']!r} is not a name")
        if "created" not in described and status.get("started"):  # an older config.json
            progress["created"] = str(status["started"])
        return RunInfo(**{**known, **progress})
    except (KeyError, TypeError, ValueError, OverflowError) as error:  # a field missing or wrong
        problem = f"status.json does not hold what this app writes there ({error!r})"
        return RunInfo(**known, error=problem)


def _share(value) -> float | None:
    """An accuracy as status.json holds it (None, or from 0 to 1); TypeError for anything else."""
    if value is None or (type(value) in (int, float) and (0 <= value <= 1 or math.isnan(value))):
        return value
    raise TypeError(f"{value!r} is not an accuracy from 0 to 1")


def _cut(value) -> tuple[int, int, int]:
    """status.json's cut_short: epoch, batches trained, batches an epoch has."""
    if not (isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value)):
        raise TypeError(f"cut_short {value!r} is not three whole numbers")
    return tuple(value)


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
