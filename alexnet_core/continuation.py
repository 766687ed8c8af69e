"""Continuing a run: more epochs of a saved run, in its own folder, from its last.keras.

The checks that refuse a continue (a damaged or busy run, a missing checkpoint, data that moved
or changed) run before anything in the folder changes; the job itself is started as a new one
is (training.py), in the process's single training slot.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from alexnet_core import atomic, checkpoints, distribute, run_lock, run_logs, runs
from alexnet_core.fitting import check_memory
from alexnet_core.job import TrainingJob
from alexnet_core.training import WORKER_FOLDER_PREFIX, launch, prepare, reserve
from alexnet_core.training_data import read_differently


class DataMissing(ValueError):
    """A continue cannot load the run's data from where the run recorded it (moved, or gone):
    the caller can ask where it is now (continue_training's data_source)."""


def continue_training(
    run_dir,
    extra_epochs: int,
    *,
    dataset=None,
    devices: str | None = None,
    data_source: str | None = None,
) -> TrainingJob:
    """Train a run `extra_epochs` more epochs from its last.keras (weights and optimizer
    state), in the same folder: the epoch count, histories and duration carry on.

    The schedule is recomputed over the new total of epochs; a manual learning rate set
    earlier stays in force. `devices` replaces the run's device setting; without it, a setting
    this machine cannot place (a GPU run brought to a laptop) becomes 'auto'. `data_source`
    says where the run's data is now, when it moved (its held-out images must be the same);
    `dataset` (a data.Dataset) is used as given. Nothing in the folder changes unless the job
    starts.
    """
    if not isinstance(extra_epochs, int) or extra_epochs < 1:
        raise ValueError(f"extra_epochs: got {extra_epochs!r}, expected at least 1")
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise ValueError(f"{run_dir}: a file, not a run folder")
    if not Path(run_dir).is_dir():
        raise ValueError(f"{run_dir}: no such run folder")
    if not (Path(run_dir) / "config.json").is_file():
        raise ValueError(f"{run_dir}: not a run folder (it has no config.json)")
    # The chief holds the folder from before its checks to the job's end: two continues at once
    # (the app and the command line) would both find it stopped and train it twice.
    claim = run_lock.claim_run(run_dir) if distribute.cluster()[1] else None
    try:
        return _continue(Path(run_dir), extra_epochs, dataset, data_source, devices, claim)
    except BaseException:
        if claim is not None:
            run_lock.release_run(claim)
        raise


def _continue(run_dir: Path, extra_epochs: int, dataset, data_source: str | None,
              devices: str | None, claim: int | None) -> TrainingJob:  # fmt: skip
    info = runs.read_run(run_dir)
    if info.status == "damaged":
        raise ValueError(f"{info.run_id} cannot be continued: {info.error}")
    if info.status in runs.ACTIVE_STATUSES:
        raise ValueError(f"{info.run_id} is still {info.status}: it cannot be continued now")
    if "last" not in info.checkpoints or info.epochs_done < 1:
        raise ValueError(f"{info.run_id} has no last.keras checkpoint to continue from")
    try:
        checkpoints.verify(run_dir, "last")  # here, not in the job: a refusal changes nothing
    except ValueError as error:
        raise ValueError(f"{info.run_id} cannot be continued: {error}") from error
    previous = _what_went_before(info)  # ValueError for a damaged history
    train_config = dataclasses.replace(
        info.train_config,
        epochs=info.epochs_done + extra_epochs,
        dataset=data_source or info.dataset,  # where the data moved, or where it was
        devices=devices or info.train_config.devices,
    )
    # Its settings are the run's own, so a continue can only go where they fit (a big machine's
    # run brought to a laptop, or memory that other work holds now): not a data problem.
    try:
        check_memory(info.model_config, train_config, train_images=info.data.get("num_train"),
                     way_out="A continue keeps the run's settings: go on where more memory is "
                     "free, or train a new run with a smaller network or batch.")  # fmt: skip
    except ValueError as error:
        raise ValueError(f"{info.run_id} cannot go on here: {error}") from error
    with reserve():
        try:
            placement = distribute.place(train_config.devices)
        except ValueError:
            if devices:  # asked for by name: say why it cannot be
                raise
            train_config = dataclasses.replace(train_config, devices="auto")
            placement = distribute.place("auto")
        try:
            data, model_config, train_config = prepare(info.model_config, train_config, dataset)
        except ValueError as error:  # the data moved, say
            refusal = ValueError if data_source else DataMissing  # a new place was tried
            raise refusal(f"{info.run_id} cannot go on with its data: {error}") from error
        if data.class_names != info.class_names:
            raise ValueError(
                f"dataset: its classes {list(data.class_names)} differ from the run's "
                f"{list(info.class_names)}.{read_differently(info.data)}"
            )
        if info.held_out_digest and data.describe()["held_out_digest"] != info.held_out_digest:
            if train_config.dataset == info.dataset:
                what = f"{info.dataset} changed since {info.run_id} trained on it, so its"
                way_out = "Put the data back as it was"
            else:  # another place given: other data, or the run's moved and changed since
                what = (f"{train_config.dataset} is not the data {info.run_id} trained on "
                        f"({info.dataset}) as it was then: its")  # fmt: skip
                way_out = "Give the run's own data"
            raise ValueError(
                f"dataset: {what} validation and test images are no longer the ones the run "
                f"held out: going on would train on some of them. {way_out}, or train a new "
                "run." + read_differently(info.data)
            )
        path, half_written = Path(run_dir), f"{atomic.TEMP_PREFIX}*"
        try:
            if not placement.is_chief:  # a helper worker trains a copy: the chief owns the folder
                helper_dir = Path(tempfile.mkdtemp(prefix=WORKER_FOLDER_PREFIX)) / path.name
                ignore = shutil.ignore_patterns(half_written)  # the chief's writes in flight
                path = Path(shutil.copytree(path, helper_dir, ignore=ignore))
            else:  # a killed process's half-writes go: only the chief's, as its job has not begun
                for stale in path.glob(half_written):  # (a helper's would be the chief's own)
                    stale.unlink(missing_ok=True)
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            config["training"] = dataclasses.asdict(train_config)
            config["dataset"] = data.describe()  # where it is now, and what is left out now
            atomic.write_json(path / "config.json", config)
        except OSError as exc:  # a read-only folder, a full disk: the run stays as it was
            raise OSError(f"Nothing was continued: the run folder {path} cannot be written "
                          f"({exc.strerror or exc}).") from exc  # fmt: skip
        job = TrainingJob(path, model_config, train_config, data, previous=previous,
                          placement=placement, claim=claim)  # fmt: skip
        return launch(job)


def _what_went_before(info: runs.RunInfo) -> dict:
    """What a continued job carries on from: the histories of the epochs last.keras holds
    (a failed epoch's rows and rate changes are dropped), the best score, test metrics, time."""
    history = run_logs.load_history(info.path)[: info.epochs_done]
    if len(history) < info.epochs_done:
        found = (f"lists {len(history)} epochs" if (info.path / "history.csv").exists()
                 else "is missing")  # fmt: skip
        raise ValueError(f"{info.run_id}: history.csv {found}, but last.keras holds "
                         f"{info.epochs_done}")  # fmt: skip
    done = {row["epoch"] for row in history}
    return {
        "history": history,
        "batches": [b for b in run_logs.load_batch_history(info.path) if b["epoch"] in done],
        "lr_events": runs.kept_lr_events(info),
        "best": info.best_accuracy,
        "test_loss": info.test_loss,
        "test_accuracy": info.test_accuracy,
        "duration_s": info.duration_s,
        "created": info.created,
    }
