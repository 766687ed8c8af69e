"""Training jobs: model.fit in a background thread, watched through thread-safe snapshots.

A page (or the command line) starts a job and returns at once; the worker thread trains and
writes the run folder (see runs.py). The thread never touches Streamlit: it updates its job
under a lock and callers read `job.snapshot()`. A module-level registry (not Streamlit's cache,
which "Clear cache" wipes while the thread runs on) lets any page or a reloaded browser find
the job again. One job trains at a time per process: two would halve each other's speed.
continuation.py continues a saved run through the same slot (reserve, prepare, launch).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from alexnet_core import atomic, distribute, runs
from alexnet_core.config import ModelConfig, TrainConfig, dumps
from alexnet_core.fitting import (
    check_memory,
    compile_model,
    make_optimizer,
)
from alexnet_core.job import ACTIVE, JobBusy, TrainingJob
from alexnet_core.snapshot import Snapshot
from alexnet_core.training_data import TrainingData, data_warnings

__all__ = [
    "ACTIVE", "JobBusy", "Snapshot", "TrainingJob", "start_training", "current_job",
    "is_training", "stop_all_jobs", "discard_helper_folder", "make_optimizer", "compile_model",
]  # fmt: skip

WORKER_FOLDER_PREFIX = "alexnet-worker-"  # the temporary home of a helper worker's run copy
_LOCK = threading.Lock()
_JOBS: dict[str, TrainingJob] = {}  # run id -> job, oldest first; finished jobs stay listed
_starting = False  # a start is loading its data: a second start must wait its turn


def _active_job() -> TrainingJob | None:
    return next((job for job in reversed(_JOBS.values()) if job.active), None)


@contextlib.contextmanager
def reserve():
    """Hold the process's single training slot while a job is prepared, or raise JobBusy."""
    global _starting
    with _LOCK:
        job = _active_job()
        if job is not None:
            raise JobBusy(
                f"A training job is already {job.snapshot().status} in this process "
                f"({job.run_id}). Stop it or wait for it to end before starting another."
            )
        if _starting:
            raise JobBusy("Another training job is being started in this process; wait for it.")
        _starting = True
    try:
        yield
    finally:
        with _LOCK:
            _starting = False


def launch(job: TrainingJob) -> TrainingJob:
    """List `job` as this process's newest and start its thread."""
    with _LOCK:
        # Last in the order, also when it continues a run trained before: current_job falls
        # back to the most recent job, and a key assigned again keeps its old place.
        _JOBS.pop(job.run_id, None)
        _JOBS[job.run_id] = job
    job.start()
    return job


def current_job() -> TrainingJob | None:
    """The job training now in this process, else the most recent one whose run folder still
    exists (one deleted on the Runs page has nothing left to show or continue), else None."""
    with _LOCK:
        kept = (job for job in reversed(_JOBS.values()) if job.run_dir.is_dir())
        return _active_job() or next(kept, None)


def list_runs() -> list[runs.RunInfo]:
    """Every saved run (runs.list_runs); one whose end a job of this process could not write
    (a full disk) as that job tells it: its status.json still says how the run was before,
    'paused' say, which reads as interrupted. Only then: the run may have been continued since,
    by another process, and its status.json is the newer word."""
    with _LOCK:
        unwritten = [job for job in _JOBS.values() if not job.alive and job.ending_unwritten]
    ended = {job.run_dir.resolve(): job for job in unwritten}
    listed = []
    for run in runs.list_runs():
        job = ended.get(run.path.resolve())
        snap = job.snapshot() if job else None
        if snap is not None and run.status not in (snap.status, "damaged"):
            run = dataclasses.replace(run, status=snap.status, error=snap.error)
        listed.append(run)
    return listed


def is_training(run_dir) -> bool:
    """Whether a job of this process is still working on run folder `run_dir`."""
    target = Path(run_dir).resolve()
    with _LOCK:
        jobs = list(_JOBS.values())
    return any(job.run_dir.resolve() == target and job.alive for job in jobs)


def discard_helper_folder(job: TrainingJob) -> None:
    """Delete the temporary folder of a helper worker's run (never a chief's run folder)."""
    folder = job.run_dir.parent
    if not job.placement.is_chief and folder.name.startswith(WORKER_FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def stop_all_jobs(timeout: float = 30.0, forget: bool = False) -> bool:
    """Stop every job of this process and wait for them; True if all ended within `timeout`.
    With `forget`, the ended ones leave the registry, as if the process started afresh."""
    with _LOCK:
        jobs = list(_JOBS.values())
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + timeout
    ended = all(job.wait(max(0.0, deadline - time.monotonic())) for job in jobs)
    if forget:
        with _LOCK:
            for job in jobs:
                if not job.alive:
                    _JOBS.pop(job.run_id, None)
    return ended


def start_training(
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    runs_dir=None,
    dataset=None,
) -> TrainingJob:
    """Start training in a background thread and return its job at once.

    `dataset` (a data.Dataset) is used as given; otherwise train_config.dataset is loaded here,
    before the thread starts, so bad settings, unreadable data and a network that does not fit
    the images raise ValueError now. JobBusy if this process is already training.
    """
    _check_types(model_config, train_config)
    with reserve():
        data, model_config, train_config = prepare(model_config, train_config, dataset)
        placement = distribute.place(train_config.devices)
        if not placement.is_chief:  # only the chief of several workers keeps a run folder
            runs_dir = tempfile.mkdtemp(prefix=WORKER_FOLDER_PREFIX)
        config = json.loads(dumps(model_config, train_config))  # before the folder exists
        root = Path(runs_dir) if runs_dir else runs.runs_root()
        run_dir = None
        try:
            run_dir = runs.create_run_dir(model_config.preset, root)
            config.update(run_id=run_dir.name, created=runs.now_iso(), dataset=data.describe())
            config["placement"] = {"replicas": placement.replicas, "workers": placement.workers,
                                   "devices": list(placement.devices)}  # fmt: skip
            atomic.write_json(run_dir / "config.json", config)
            job = TrainingJob(run_dir, model_config, train_config, data, placement=placement)
        except OSError as exc:  # a full disk, a read-only folder: no half-made run is left
            if run_dir is not None:
                shutil.rmtree(run_dir, ignore_errors=True)
            raise OSError(f"Nothing was started: a run folder cannot be written in {root} "
                          f"({exc.strerror or exc}).") from exc  # fmt: skip
        return launch(job)


def _check_types(model_config, train_config) -> None:
    if not isinstance(model_config, ModelConfig):
        raise ValueError(f"model_config: got {type(model_config).__name__}, expected ModelConfig")
    if not isinstance(train_config, TrainConfig):
        raise ValueError(f"train_config: got {type(train_config).__name__}, expected TrainConfig")


def prepare(model_config: ModelConfig, train_config: TrainConfig, dataset):
    """Load (or take) the data, fit the model to it and check that it can work."""
    from alexnet_core.report import plan_layers

    if dataset is None:
        from alexnet_core.data import load_dataset

        dataset = load_dataset(
            train_config.dataset,
            image_size=train_config.image_size,
            validation_fraction=train_config.validation_fraction,
            seed=train_config.seed,
        )
    model_config = model_config.for_dataset(dataset.image_size, dataset.num_classes)
    plan_layers(model_config)  # ValueError naming the layer that does not fit these images
    source = getattr(dataset, "source", None)
    if source:  # record what "auto" resolved to, so a continue loads the same data
        train_config = dataclasses.replace(train_config, dataset=str(source))
    data = TrainingData.from_dataset(dataset, train_config.train_subset)
    if len(data.y_train) == 0:
        raise ValueError("dataset: no training images (is train_subset or the split empty?)")
    # A network too large for this machine is refused (a batch past the data is all of it).
    check_memory(model_config, train_config, train_images=len(data.y_train))
    data = dataclasses.replace(data, warnings=tuple(data_warnings(dataset, train_config)))
    # Import Keras here, in the caller's thread: a first import inside the worker can race
    # with a page that is importing pandas for a chart.
    import keras  # noqa: F401

    return data, model_config, train_config
