"""Training jobs, for real: the tiny preset trained on a few hundred images of the sample.

Controls are tested on runs made slow on purpose (batches of 8 images), and waits poll the
job's snapshot with a timeout instead of sleeping for a fixed time.
"""

import dataclasses
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet_core import (
    atomic,
    checkpoints,
    continuation,
    decode_cache,
    estimate,
    fitting,
    images,
    run_deletion,
    run_lock,
    run_logs,
    runs,
    system,
    train,
    training,
    training_data,
)
from alexnet_core.config import TrainConfig
from alexnet_core.data import load_dataset
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS
from alexnet_core.schedule import learning_rate_at

TINY = PRESETS["tiny"]
FAST = TrainConfig(dataset="sample", epochs=1, batch_size=32, learning_rate=0.01,
                   weight_decay=0.0)  # fmt: skip
SLOW = dataclasses.replace(FAST, epochs=5, batch_size=8)  # 32 batches per epoch of 256 images


@pytest.fixture(scope="module")
def sample():
    """256 train, 64 validation and 64 test images of the bundled sample."""
    ds = load_dataset("sample")
    return dataclasses.replace(
        ds, x_train=ds.x_train[:256], y_train=ds.y_train[:256], x_val=ds.x_val[:64],
        y_val=ds.y_val[:64], x_test=ds.x_test[:64], y_test=ds.y_test[:64],
    )  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(sample, tmp_path_factory):
    """One finished 1-epoch run (with label smoothing), shared by the tests that only read it
    (or copy it)."""
    smoothed = dataclasses.replace(FAST, label_smoothing=0.2)
    job = training.start_training(TINY, smoothed, dataset=sample,
                                  runs_dir=tmp_path_factory.mktemp("runs"))  # fmt: skip
    assert job.wait(120)
    return job


def checkpoint_accuracy(run_dir, which, data) -> float:
    """Test accuracy of a run's checkpoint, computed here from the reloaded model."""
    model = checkpoints.load_checkpoint(run_dir, which)
    predicted = model.predict(data.x_test, verbose=0)
    return float(np.mean(predicted.argmax(axis=1) == data.y_test))


def wait_until(condition, timeout=60.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


def test_a_run_finishes_with_its_history_and_files(finished_run, sample):
    snap = finished_run.snapshot()
    assert snap.status == "finished", snap.error
    assert (snap.epoch, snap.epochs_done, snap.progress) == (1, 1, 1.0)
    assert [row["epoch"] for row in snap.epoch_history] == [1]
    assert snap.step == len(snap.batch_history) == snap.batches_per_epoch == 256 // 32
    assert snap.device == "CPU" and snap.error == ""
    path = finished_run.run_dir
    for name in ("config.json", "status.json", "history.csv", "batches.csv", "best.keras",
                 "last.keras"):  # fmt: skip
        assert (path / name).is_file(), name
    assert not list(path.glob("tmp-*"))
    assert len(run_logs.load_history(path)) == 1
    batches = run_logs.load_batch_history(path)
    assert len(batches) == 8
    # The speed chart draws from these rows, so it survives a page reload: no speed after the
    # first batch (one reading), a positive one from the second on.
    assert batches[0]["images_per_second"] is None
    assert all(row["images_per_second"] > 0 for row in batches[1:])
    info = runs.read_run(path)
    assert (info.status, info.epochs_done, info.checkpoints) == ("finished", 1, ("best", "last"))
    assert info.class_names == tuple(sample.class_names)
    assert info.test_accuracy == snap.test_accuracy


def test_the_progress_line_names_the_epoch_a_job_is_starting_not_batch_0(finished_run):
    done = finished_run.snapshot()
    assert done.position == "epoch 1/1 · batch 8/8"
    going_on = dataclasses.replace(done, status="running", epochs=3, batch=0)  # just continued
    assert (going_on.shown_epoch, going_on.position) == (2, "epoch 2/3 · starting")
    begun = dataclasses.replace(going_on, epoch=2)  # epoch 2 began, its first batch not done
    assert begun.position == "epoch 2/3 · starting"
    assert dataclasses.replace(begun, batch=1).position == "epoch 2/3 · batch 1/8"
    fresh = dataclasses.replace(going_on, status="queued", epoch=0, epochs_done=0)
    assert (fresh.shown_epoch, fresh.position) == (1, "epoch 1/3 · starting")
    assert dataclasses.replace(fresh, status="stopped").position == "0/3 epochs done"


def test_best_is_chosen_by_validation_accuracy_and_says_so(finished_run):
    info = runs.read_run(finished_run.run_dir)
    validation = run_logs.load_history(finished_run.run_dir)[0]["val_accuracy"]
    assert info.best_metric == "val_accuracy"
    assert info.best_accuracy == info.best_val_accuracy == pytest.approx(validation)


def test_without_a_validation_split_best_is_the_best_training_epoch_and_not_called_val(
    sample, runs_dir
):
    unsplit = dataclasses.replace(sample, x_val=sample.x_val[:0], y_val=sample.y_val[:0])
    settings = dataclasses.replace(FAST, epochs=3, validation_fraction=0, save_every_epoch=True)
    job = training.start_training(TINY, settings, dataset=unsplit)
    assert job.wait(120)
    history = run_logs.load_history(job.run_dir)
    assert [row["val_accuracy"] for row in history] == [None] * 3
    accuracies = [row["accuracy"] for row in history]
    info = runs.read_run(job.run_dir)
    assert (info.best_metric, info.best_val_accuracy) == ("accuracy", None)
    assert info.best_accuracy == pytest.approx(max(accuracies))
    status = json.loads((job.run_dir / "status.json").read_text())
    assert status["best_metric"] == "accuracy" and "best_val_accuracy" not in status
    best_epoch = accuracies.index(max(accuracies)) + 1
    best = checkpoints.load_checkpoint(job.run_dir, "best").get_weights()
    chosen = checkpoints.load_checkpoint(job.run_dir, f"epoch_{best_epoch:03d}").get_weights()
    for a, b in zip(best, chosen, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_run_read_by_an_older_loader_is_told_its_data_may_read_differently_now(sample):
    recorded = training_data.TrainingData.from_dataset(sample).describe()
    assert recorded["loader"] == decode_cache.LOADER_VERSION
    own = recorded | {"source": "/data/flowers.zip"}
    assert training_data.read_differently(own) == ""  # read now as it was read then
    older = {k: v for k, v in own.items() if k != "loader"}  # trained before it was recorded
    assert "reads some files differently" in training_data.read_differently(older)
    assert training_data.read_differently(older | {"source": "sample"}) == ""  # read alike


def test_data_too_small_to_hold_out_validation_images_is_told_before_training(sample):
    """A validation share of 0.1 of one image a class holds out none: said, with its effect."""
    one_each = [list(sample.y_train).index(label) for label in range(10)]
    small = dataclasses.replace(sample, x_train=sample.x_train[one_each],
                                y_train=sample.y_train[one_each], x_val=sample.x_val[:0],
                                y_val=sample.y_val[:0])  # fmt: skip
    assert training_data.data_warnings(small, dataclasses.replace(FAST, batch_size=10)) == [
        "No images are held out for validation (too few images of each class for the "
        "validation share): the run has no validation accuracy, and best.keras keeps the "
        "epoch with the best training accuracy."
    ]
    assert training_data.data_warnings(sample, dataclasses.replace(FAST, batch_size=10)) == []
    # A subset larger than the classes can still miss some: a seeded draw, not one a class.
    subset = dataclasses.replace(FAST, batch_size=10, train_subset=12)
    labels = training_data.TrainingData.from_dataset(sample, 12).y_train
    absent = [sample.class_names[c] for c in range(10) if c not in labels]
    assert absent, "the test needs a subset that misses a class"
    assert training_data.data_warnings(sample, subset) == [
        f"{len(absent)} of the 10 classes ({', '.join(absent[:3])}{', …' * (len(absent) > 3)}) "
        "have no image among the 12 training images: the network never learns them."
    ]


def test_each_batch_records_its_own_loss_and_accuracy_beside_the_running_means(sample, runs_dir):
    # 200 images in batches of 64: the last batch of each epoch holds 8.
    short = dataclasses.replace(sample, x_train=sample.x_train[:200], y_train=sample.y_train[:200])
    job = training.start_training(TINY, dataclasses.replace(FAST, epochs=2, batch_size=64),
                                  dataset=short)  # fmt: skip
    assert job.wait(120)
    batches, epochs = run_logs.load_batch_history(job.run_dir), run_logs.load_history(job.run_dir)
    images = np.array([64, 64, 64, 8])
    for epoch, logged in zip((1, 2), epochs, strict=True):
        rows = [row for row in batches if row["epoch"] == epoch]
        own = {m: np.array([row[f"batch_{m}"] for row in rows]) for m in ("loss", "accuracy")}
        # A batch's accuracy counts its own images: a whole number of them were right.
        correct = own["accuracy"] * images
        np.testing.assert_allclose(correct, np.round(correct), atol=1e-3)
        for metric in ("loss", "accuracy"):
            running = np.cumsum(own[metric] * images) / np.cumsum(images)
            np.testing.assert_allclose(running, [row[metric] for row in rows], rtol=1e-5)
            assert running[-1] == pytest.approx(logged[metric], rel=1e-5)  # Keras' epoch log
        assert not np.allclose(own["loss"], [row["loss"] for row in rows])


def test_reloaded_best_checkpoint_reproduces_the_recorded_test_metrics(finished_run, sample):
    # One epoch: best.keras holds the final weights, whose test metrics the run recorded.
    model = checkpoints.load_checkpoint(finished_run.run_dir, "best")
    predicted = model.predict(sample.x_test, verbose=0)
    accuracy = float(np.mean(predicted.argmax(axis=1) == sample.y_test))
    snap = finished_run.snapshot()
    assert accuracy == pytest.approx(snap.test_accuracy, abs=1e-6)
    # The test loss is the plain cross-entropy, as Evaluate gives it, not the smoothed loss.
    picked = predicted[np.arange(len(sample.y_test)), sample.y_test]
    assert snap.test_loss == pytest.approx(float(-np.log(picked).mean()), rel=1e-4)
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)
    labels = keras.utils.to_categorical(sample.y_test, 10)
    assert float(smoothed(labels, predicted)) != pytest.approx(snap.test_loss, rel=1e-4)
    again = checkpoints.load_checkpoint(finished_run.run_dir, "best").predict(
        sample.x_test, verbose=0
    )
    np.testing.assert_array_equal(predicted, again)


def test_stop_ends_within_a_few_batches_keeps_last_and_refuses_a_second_start(sample, runs_dir):
    one_epoch = dataclasses.replace(SLOW, epochs=1)  # so the stop cuts the last epoch short
    job = training.start_training(TINY, one_epoch, dataset=sample)
    wait_until(lambda: job.snapshot().step >= 3)
    assert training.current_job() is job
    with pytest.raises(training.JobBusy, match="already running"):
        training.start_training(TINY, SLOW, dataset=sample)
    stopped_at = job.snapshot().step
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "stopped", snap.error  # not 'finished': epoch 1 of 1 was cut short
    assert snap.step - stopped_at <= 3
    assert snap.epochs_done == 1 and snap.test_accuracy is not None
    assert snap.cut_short == (1, snap.step) and snap.step < snap.batches_per_epoch == 32
    assert run_logs.load_history(job.run_dir)[0]["batches"] == snap.step
    # The test metrics are those of the weights the stop left in last.keras.
    assert checkpoint_accuracy(job.run_dir, "last", sample) == pytest.approx(
        snap.test_accuracy, abs=1e-6
    )
    assert runs.read_run(job.run_dir).status == "stopped"
    assert runs.read_run(job.run_dir).cut_short == (1, snap.step, 32)

    job = continuation.continue_training(job.run_dir, 1, dataset=sample)
    wait_until(lambda: job.snapshot().batch >= 3)
    job.pause()
    job.stop()  # a pause after a stop must not hold the run
    assert job.wait(60), "a pause after a stop held the run"
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.epoch == 2
    # The cut-short epoch 1 counts in full: this is epoch 2 of 2, not batch k+3 of 64.
    assert snap.batches_done == 32 + snap.batch
    assert snap.progress == pytest.approx(snap.batches_done / 64)


def test_a_stop_while_paused_reads_stopping_until_the_run_has_ended(sample, runs_dir):
    job = training.start_training(TINY, SLOW, dataset=sample)
    wait_until(lambda: job.snapshot().step >= 2)
    job.pause()
    wait_until(lambda: job.snapshot().status == "paused", timeout=30)
    job.stop()
    with pytest.raises(ValueError, match="is stopping: its rate cannot change now"):
        job.set_learning_rate(0.001)  # no batch is coming to use it
    seen = []  # validation, the checkpoint and 1,000 test images take a good part of a second
    while not job.wait(0.005):
        seen.append(job.snapshot().status)
    assert "stopping" in seen and "paused" not in seen[seen.index("stopping") :], seen
    assert job.snapshot().status == "stopped"


def test_a_stop_between_epochs_ends_there_and_a_rate_after_the_last_batch_is_refused(
    sample, runs_dir, monkeypatch
):
    """Clicks that land while an epoch validates and saves its checkpoint (seconds on a CPU):
    a Stop must not train one more batch of the next epoch, an epoch a continue would then
    skip; a new rate after the last batch would be taken up by no batch."""
    from alexnet_core.job import TrainingJob

    record_epoch, refusals = TrainingJob.record_epoch, []

    def click_during_the_epochs_end(job, epoch, metrics):
        record_epoch(job, epoch, metrics)
        if epoch == job.train_config.epochs:
            try:
                job.set_learning_rate(0.5)
            except ValueError as error:
                refusals.append(str(error))
        elif epoch == 1:
            job.stop()

    monkeypatch.setattr(TrainingJob, "record_epoch", click_during_the_epochs_end)
    job = training.start_training(TINY, dataclasses.replace(FAST, epochs=3), dataset=sample)
    assert job.wait(60)
    snap = job.snapshot()
    assert (snap.status, snap.epochs_done, snap.cut_short) == ("stopped", 1, None), snap.error
    assert [row["batches"] for row in run_logs.load_history(job.run_dir)] == [8]
    assert runs.read_run(job.run_dir).cut_short is None

    job = continuation.continue_training(job.run_dir, 1, dataset=sample)  # epoch 2 of 2
    assert job.wait(60)
    snap = job.snapshot()
    assert (snap.status, snap.epochs_done, snap.requested_rate) == ("finished", 2, None)
    assert refusals == [f"{job.run_id} has trained its last batch (it is being tested now): "
                        "no batch is left to use a new rate"]  # fmt: skip
    assert snap.lr_events == ()


def test_the_time_left_follows_the_last_whole_epochs_pace_validation_included(sample, runs_dir):
    job = training.start_training(TINY, SLOW, dataset=sample)  # 5 epochs of 32 batches
    try:
        wait_until(lambda: job.snapshot().step >= 2)
        job.pause()
        wait_until(lambda: job.snapshot().status == "paused", timeout=30)
        first = job.snapshot()  # in epoch 1: at the speed of the last batches
        assert first.epochs_done == 0 and first.eta_s == pytest.approx(
            (160 - first.batches_done) * 8 / first.images_per_second
        )
        assert not first.eta_timed, "training steps alone: validation and saves come on top"
        job.resume()
        wait_until(lambda: job.snapshot().epochs_done >= 1 and job.snapshot().batch >= 2)
        job.pause()
        wait_until(lambda: job.snapshot().status == "paused", timeout=30)
        snap = job.snapshot()
        pace = snap.epoch_history[-1]["seconds"] / 32  # epoch 1's training and validation
        assert snap.eta_s == pytest.approx((160 - snap.batches_done) * pace) and snap.eta_timed
    finally:
        job.stop()
        assert job.wait(60)
    assert job.snapshot().eta_s is None


def test_pause_holds_the_batch_counter_then_a_learning_rate_change_takes_effect(sample, runs_dir):
    cosine = dataclasses.replace(SLOW, schedule="cosine")
    began = time.monotonic()
    job = training.start_training(TINY, cosine, dataset=sample)
    wait_until(lambda: job.snapshot().step >= 2)
    job.pause()
    wait_until(lambda: job.snapshot().status == "paused", timeout=30)
    held, elapsed = job.snapshot().step, job.snapshot().elapsed_s
    assert runs.read_run(job.run_dir).status == "paused"  # alive in this process, not lost
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert job.snapshot().step == held
        assert job.snapshot().elapsed_s == elapsed, "a pause is not training time"
        time.sleep(0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        job.set_learning_rate(-1)
    job.set_learning_rate(0.003)  # while paused: the next batch takes it up
    paused = job.snapshot()
    assert paused.requested_rate == 0.003 and paused.learning_rate != pytest.approx(0.003)
    job.resume()
    wait_until(lambda: job.snapshot().step > held)
    assert job.snapshot().status == "running"
    assert job.snapshot().elapsed_s < time.monotonic() - began - 1.5

    wait_until(lambda: job.snapshot().lr_events and job.snapshot().step >= held + 5)
    snap = job.snapshot()
    assert snap.requested_rate is None, "taken up"
    (event,) = snap.lr_events
    # "old" is the schedule's rate of the batch before (the cosine has begun to fall by then).
    (before,) = [b["learning_rate"] for b in snap.batch_history if b["step"] == event["step"] - 1]
    assert event["new"] == 0.003 and event["old"] == pytest.approx(before) and before < 0.01
    # The optimizer reports the new rate, and the cosine schedule no longer moves it.
    after = [b["learning_rate"] for b in snap.batch_history if b["step"] >= event["step"]]
    assert after and all(rate == pytest.approx(0.003) for rate in after)
    assert snap.learning_rate == pytest.approx(0.003)
    assert run_logs.load_lr_events(job.run_dir) == [event]
    job.stop()
    assert job.wait(60)
    with pytest.raises(ValueError, match="stopped"):
        job.set_learning_rate(0.1)


def test_a_diverging_loss_fails_the_run_and_keeps_the_last_good_checkpoint(sample, runs_dir):
    job = training.start_training(TINY, dataclasses.replace(SLOW, epochs=3), dataset=sample)
    wait_until(lambda: job.snapshot().epochs_done == 1)
    job.set_learning_rate(1e6)  # a real divergence: weights explode within a few steps
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "diverged" in snap.error and "last good checkpoint" in snap.error
    assert snap.epochs_done == 1 and len(snap.epoch_history) == 1
    model = checkpoints.load_checkpoint(job.run_dir, "last")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    info = runs.read_run(job.run_dir)
    assert (info.status, info.epochs_done) == ("failed", 1)
    assert "diverged" in info.error
    assert [e["new"] for e in run_logs.load_lr_events(job.run_dir)] == [1e6], "the record stays"

    job = continuation.continue_training(job.run_dir, 1, dataset=sample)  # redoes epoch 2
    assert job.wait(60) and job.snapshot().status == "finished", job.snapshot().error
    assert job.manual_rate is None, "the rate set in the discarded epoch came back"
    assert run_logs.load_lr_events(job.run_dir) == [], "a later continue would bring it back"


def test_a_run_whose_data_moved_goes_on_from_its_new_place(
    tmp_path, runs_dir, shapes_folder, capsys
):
    settings = dataclasses.replace(FAST, dataset=str(shapes_folder), validation_fraction=0.2)
    job = training.start_training(TINY, settings)
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    moved = shapes_folder.rename(tmp_path / "moved")  # as when a run and its data go elsewhere
    with pytest.raises(continuation.DataMissing, match=rf"cannot go on with its data: "
                       rf"{re.escape(str(shapes_folder))}: no such file or folder$"):  # fmt: skip
        continuation.continue_training(job.run_dir, 1)
    assert train.main(["--continue", str(job.run_dir)]) == 2
    assert capsys.readouterr().err.endswith(
        "no such file or folder. If the data moved, give its new place with --dataset.\n"
    )
    (moved / "test" / "circle" / "0.png").rename(tmp_path / "taken.png")
    with pytest.raises(
        ValueError,
        match=rf"dataset: {re.escape(str(moved))} is not the data "
        rf".* trained on \({re.escape(str(shapes_folder))}\) as it was then: its "
        "validation and test images are no longer the ones the run held out",
    ):
        continuation.continue_training(job.run_dir, 1, data_source=str(moved))
    (tmp_path / "taken.png").rename(moved / "test" / "circle" / "0.png")
    assert train.main(["--continue", str(job.run_dir), "--dataset", str(moved), "--quiet"]) == 0
    info = runs.read_run(job.run_dir)
    assert info.epochs_done == 2 and info.dataset == info.train_config.dataset == str(moved)
    job = continuation.continue_training(job.run_dir, 1)  # the new place is the run's place now
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error


def test_continuing_a_run_carries_on_epochs_history_and_optimizer(finished_run, sample, tmp_path):
    path = tmp_path / finished_run.run_id
    shutil.copytree(finished_run.run_dir, path)
    saved = json.loads((path / "config.json").read_text())
    saved["training"]["devices"] = "gpu"  # as if trained on another machine's GPU
    (path / "config.json").write_text(json.dumps(saved))
    before = (path / "config.json").read_bytes()
    with pytest.raises(ValueError, match="sees no GPU here"):
        continuation.continue_training(path, 1, dataset=sample, devices="gpu")  # asked for
    assert (path / "config.json").read_bytes() == before, "a refused continue changes nothing"
    moved = dataclasses.replace(sample, x_test=sample.x_test[::-1].copy())  # other test images
    with pytest.raises(ValueError, match="changed since .* no longer the ones the run held out"):
        continuation.continue_training(path, 1, dataset=moved)
    assert (path / "config.json").read_bytes() == before
    (path / "tmp-k1ll3d.keras").write_bytes(b"PK half a save")  # a killed process's leftovers
    (path / "tmp-x.tmp").write_text('{"status": "runn')
    job = continuation.continue_training(path, 1, dataset=sample)  # the run's own: 'auto' here
    assert job.wait(120)
    assert not list(path.glob("tmp-*")), "the leftovers are cleared when the run goes on"
    run_lock.release_run(run_lock.claim_run(path))  # the ended job let go of the folder
    snap = job.snapshot()
    assert snap.status == "finished", snap.error
    assert snap.device == "CPU" and snap.train_config.devices == "auto"
    assert (snap.epochs_done, snap.epochs) == (2, 2)
    assert [row["epoch"] for row in run_logs.load_history(path)] == [1, 2]
    steps = [row["step"] for row in run_logs.load_batch_history(path)]
    assert steps == list(range(1, 17))
    # The optimizer's step count carried on: a fresh optimizer would say 8.
    assert int(checkpoints.load_checkpoint(path, "last").optimizer.iterations) == 16
    info = runs.read_run(path)
    assert (info.status, info.epochs_done, info.train_config.epochs) == ("finished", 2, 2)


def refused(path, match, error=ValueError, **kwargs):
    """continue_training(path) raises `error` matching `match` and changes no file."""
    before = {name: (path / name).read_bytes() for name in ("config.json", "status.json")}
    with pytest.raises(error, match=match):
        continuation.continue_training(path, 1, **kwargs)
    after = {name: (path / name).read_bytes() for name in ("config.json", "status.json")}
    assert after == before, "a refused continue changed the run folder"
    assert not list(path.glob("tmp-*"))


def test_continue_refuses_a_run_it_cannot_go_on_with_and_changes_nothing(
    finished_run, sample, tmp_path
):
    def copy(name):
        return Path(shutil.copytree(finished_run.run_dir, tmp_path / name))

    damaged = copy("damaged")
    (damaged / "status.json").write_text("{not json")
    refused(damaged, r"damaged cannot be continued: status.json is not JSON \(Expecting",
            dataset=sample)  # fmt: skip

    parent = os.getppid()  # alive: as if another process were training the run now
    for state in ("running", "paused"):
        alive = copy(state)
        status = json.loads((alive / "status.json").read_text())
        status.update(status=state, pid=parent, process_start=run_lock._process_start(parent))
        (alive / "status.json").write_text(json.dumps(status))
        assert runs.read_run(alive).status == state
        refused(alive, f"{state} is still {state}: it cannot be continued now", dataset=sample)

    no_last = copy("no-last")
    (no_last / "last.keras").unlink()
    refused(no_last, "no-last has no last.keras checkpoint to continue from", dataset=sample)
    run_lock.release_run(run_lock.claim_run(no_last))  # a refusal lets go of the folder's lock

    # Another program continuing the run this instant: its status.json may still say
    # 'finished', but it holds the folder's lock until its job ends, and dies with it.
    locked = copy("locked")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(locked / run_lock.LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        refused(locked, "locked is being trained right now by another job or program",
                dataset=sample)  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    run_lock.release_run(run_lock.claim_run(locked))  # the lock went with its process

    other_classes = dataclasses.replace(sample, class_names=tuple(reversed(sample.class_names)))
    refused(copy("classes"), r"dataset: its classes \['truck', .* differ from the run's "
            r"\['airplane'", dataset=other_classes)  # fmt: skip

    busy = training.start_training(TINY, SLOW, dataset=sample)  # 'queued' or 'running' now
    try:
        match = f"already (queued|running) in this process \\({re.escape(busy.run_id)}\\)"
        refused(copy("busy"), match, error=training.JobBusy, dataset=sample)
    finally:
        busy.stop()
        assert busy.wait(60)


@pytest.mark.parametrize(
    "name, other_model, other_optimizer, says",
    [
        ("wider", dataclasses.replace(TINY, width=TINY.width * 2), "sgd",
         r"last.keras is not this run's network \(it has 44,042 parameters where this run's "
         r"network has 14,666\): was it copied in from another run\?"),
        ("adamw", TINY, "adamw",
         "last.keras holds AdamW optimizer state, not the state of this run's SGD"),
    ],
    ids=["wider", "adamw"],
)  # fmt: skip
def test_a_last_keras_of_another_run_is_not_trained_in_this_runs_name(
    finished_run, sample, tmp_path, name, other_model, other_optimizer, says
):
    path = Path(shutil.copytree(finished_run.run_dir, tmp_path / name))
    other = build_alexnet(other_model)
    fitting.compile_model(other, dataclasses.replace(FAST, optimizer=other_optimizer))
    other.optimizer.build(other.trainable_variables)
    checkpoints.save_checkpoints(other, [path / "last.keras"])  # copied in over the run's own
    foreign = (path / "last.keras").read_bytes()
    job = continuation.continue_training(path, 1, dataset=sample)
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.status == "failed" and re.search(says, snap.error), snap.error
    assert "Put the run's own last.keras back, or train a new run." in snap.error
    assert not snap.error.startswith("ForeignCheckpoint"), "told in words, not as a traceback"
    assert (path / "last.keras").read_bytes() == foreign, "nothing was trained over it"
    assert [row["epoch"] for row in run_logs.load_history(path)] == [1]
    assert runs.read_run(path).error == snap.error


def test_each_batch_trains_at_the_scheduled_rate_before_and_after_a_continue(sample, runs_dir):
    one_cycle = dataclasses.replace(FAST, epochs=2, schedule="one_cycle")
    job = training.start_training(TINY, one_cycle, dataset=sample)
    early = job.snapshot()  # the worker is still building the model
    assert early.step == 0 and early.learning_rate == pytest.approx(0.01 / 25), "not the peak"
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    per_epoch = 256 // 32

    def scheduled(epoch, total):
        # LearningRateControl: position in epochs, from the epoch's 0-based batch index.
        return [learning_rate_at(one_cycle, epoch - 1 + batch / per_epoch, total)
                for batch in range(per_epoch)]  # fmt: skip

    first = run_logs.load_batch_history(job.run_dir)
    assert [row["epoch"] for row in first] == [1] * per_epoch + [2] * per_epoch
    rates = [row["learning_rate"] for row in first]
    assert rates == pytest.approx(scheduled(1, 2) + scheduled(2, 2), rel=1e-6)
    assert rates[0] == pytest.approx(0.01 / 25) and max(rates) > 5 * rates[0]  # the warm-up

    job = continuation.continue_training(job.run_dir, 1, dataset=sample)
    early = job.snapshot()  # the worker is still loading last.keras
    assert early.step == 2 * per_epoch and early.learning_rate == pytest.approx(scheduled(3, 3)[0])
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    rows = run_logs.load_batch_history(job.run_dir)
    assert rows[: 2 * per_epoch] == first
    assert [row["epoch"] for row in rows[2 * per_epoch :]] == [3] * per_epoch
    # The schedule is recomputed over the new total of 3 epochs.
    third = [row["learning_rate"] for row in rows[2 * per_epoch :]]
    assert third == pytest.approx(scheduled(3, 3), rel=1e-6)


def test_a_rate_set_before_the_first_batch_changes_the_rate_that_batch_would_take(sample, runs_dir):
    """Its event's 'old' is one-cycle's first rate, as shown, not the peak the optimizer was
    built with."""
    one_cycle = dataclasses.replace(FAST, schedule="one_cycle")
    job = training.start_training(TINY, one_cycle, dataset=sample)
    job.set_learning_rate(0.001)  # the worker is still building the model
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    (event,) = job.snapshot().lr_events
    assert (event["step"], event["new"]) == (1, 0.001)
    assert event["old"] == pytest.approx(0.01 / 25), "the peak was never trained at"


def test_a_rate_set_while_paused_then_stopped_is_kept_for_a_continue(sample, runs_dir):
    job = training.start_training(TINY, SLOW, dataset=sample)
    wait_until(lambda: job.snapshot().step >= 2, timeout=120, every=0.01)
    job.pause()
    wait_until(lambda: job.snapshot().status == "paused")
    job.set_learning_rate(0.004)  # shown as coming with the next batch, which never comes
    job.stop()
    assert job.wait(60) and job.snapshot().status == "stopped"
    (event,) = job.snapshot().lr_events
    assert event["new"] == 0.004 and event["step"] == job.snapshot().step + 1
    assert runs.manual_rate(runs.read_run(job.run_dir)) == 0.004, "a continue goes on at it"


def test_a_continued_run_draws_new_flips_shifts_and_dropout(sample, runs_dir, monkeypatch):
    """Keras saves no random state with a model, and a reloaded flip, shift or dropout layer
    seeds itself from the global seed: a continue seeds that afresh (the run's seed plus the
    epochs done), or its first epoch would draw what the run's first epoch drew."""
    draws = []  # each job's model as it starts: its layers' (seed, draws so far)
    job_model = fitting._job_model

    def recorded(job):
        model = job_model(job)
        layers = [model.get_layer(name) for name in ("augment_flip", "augment_shift")]
        generators = [layer.generator for layer in layers] + [
            model.get_layer(name).seed_generator for name in ("drop6", "drop7")
        ]
        draws.append([tuple(int(n) for n in g.state.numpy()) for g in generators])
        return model

    monkeypatch.setattr(fitting, "_job_model", recorded)
    augmented = TINY.replace(augment_flip=True, augment_shift=2)
    job = training.start_training(augmented, FAST, dataset=sample)
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    more = continuation.continue_training(job.run_dir, 1, dataset=sample)
    assert more.wait(120) and more.snapshot().status == "finished", more.snapshot().error
    first, continued = draws
    assert all(counter == 0 for _, counter in first + continued), "nothing drawn before fit"
    seeds = [seed for seed, _ in first], [seed for seed, _ in continued]
    assert not set(seeds[0]) & set(seeds[1]), seeds


@pytest.mark.slow
def test_the_command_line_exits_1_naming_the_divergence(tmp_path):
    env = {**os.environ, "ALEXNET_RUNS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = ["--preset", "tiny", "--dataset", "sample", "--epochs", "1", "--train-subset", "64",
            "--batch-size", "16", "--learning-rate", "1e6", "--quiet"]  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "alexnet_core.train", *args],
                            cwd=Path(__file__).resolve().parents[1], env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "loss diverged" in error and "no checkpoint was saved" in error, error
    assert "Traceback" not in result.stderr
    (run_dir,) = tmp_path.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "diverged" in status["error"]
    assert not list(run_dir.glob("*.keras"))


def test_a_final_status_is_on_disk_before_the_snapshot_shows_it(sample, runs_dir, monkeypatch):
    """The Runs page reads status.json: a page that saw 'finished' must find it there too."""
    write_csv = atomic.write_csv

    def slow_write(path, rows):  # a slow disk at the end of the run
        time.sleep(0.3)
        write_csv(path, rows)

    job = training.start_training(TINY, FAST, dataset=sample)
    wait_until(lambda: job.snapshot().epochs_done == 1, timeout=120, every=0.01)
    monkeypatch.setattr(atomic, "write_csv", slow_write)
    wait_until(lambda: not job.snapshot().active, timeout=120, every=0.01)
    assert runs.read_run(job.run_dir).status == job.snapshot().status == "finished"
    assert job.wait(30)
    # The command line may go on with the run later: its status.json is then the newer word,
    # not what this process's ended job remembers.
    status = json.loads((job.run_dir / "status.json").read_text())
    atomic.write_json(job.run_dir / "status.json", status | {"status": "stopped"})
    (listed,) = [run for run in training.list_runs() if run.path == job.run_dir]
    assert listed.status == "stopped"


def test_a_worker_that_exits_fails_its_job_and_frees_the_process(sample, runs_dir, monkeypatch):
    """Even a SystemExit from deep in a library ends the job 'failed', on disk too, with its run
    lock released: a job left 'running' would refuse every later start."""

    def exits(job, data):
        raise SystemExit(3)

    monkeypatch.setattr(fitting, "fit", exits)
    job = training.start_training(TINY, FAST, dataset=sample)
    assert job.wait(30)
    assert (job.snapshot().status, job.snapshot().error) == ("failed", "SystemExit: 3")
    assert runs.read_run(job.run_dir).status == "failed"
    assert not training.is_training(job.run_dir)


def test_a_stop_while_the_model_is_built_says_stopping(sample, runs_dir, monkeypatch):
    import threading

    from alexnet_core.job import TrainingJob

    built, go, seen = threading.Event(), threading.Event(), []
    job_model, set_status = fitting._job_model, TrainingJob._set_status

    def slow_build(job):
        model = job_model(job)
        built.set()
        go.wait(30)
        return model

    def recorded(job, status):
        seen.append(status)
        set_status(job, status)

    monkeypatch.setattr(fitting, "_job_model", slow_build)
    monkeypatch.setattr(TrainingJob, "_set_status", recorded)
    job = training.start_training(TINY, FAST, dataset=sample)
    assert built.wait(60)
    job.stop()  # before fit: no batch's callback will see it
    go.set()
    assert job.wait(60) and job.snapshot().status == "stopped"
    assert seen[-1] == "stopping", seen


def test_mixed_precision_trains_saves_continues_and_explains(sample, runs_dir, monkeypatch):
    """The GPU's mixed-precision path, run on this CPU: the job turns mixed precision off on
    the CPU, so the device name is the one thing changed here; Keras computes in float16."""
    from alexnet_core import classify, explain, fitting, introspect

    monkeypatch.setattr(fitting.system, "training_device", lambda: "GPU (stand-in)")
    mixed = dataclasses.replace(FAST, mixed_precision=True)
    job = training.start_training(TINY, mixed, dataset=sample)
    assert job.wait(120)
    assert job.snapshot().status == "finished", job.snapshot().error
    model = checkpoints.load_checkpoint(job.run_dir, "last")
    assert model.get_layer("conv1").compute_dtype == "float16"
    assert model.get_layer("conv1").kernel.dtype == "float32"  # master weights stay float32
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    # Loss scaling skips the steps whose float16 gradients overflow, so at most 8 counted.
    steps = int(model.optimizer.iterations)
    assert 0 < steps <= 8  # 0: the saved optimizer state was dropped on loading
    # The recorded test accuracy is the saved weights' accuracy, as in float32 runs.
    probabilities = classify.predict_probabilities(model, sample.x_test)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)
    accuracy = np.mean(probabilities.argmax(axis=1) == sample.y_test)
    assert accuracy == pytest.approx(job.snapshot().test_accuracy, abs=2 / 64)
    # Continuing carries on the loss-scaled optimizer's step count.
    again = continuation.continue_training(job.run_dir, 1, dataset=sample)
    assert again.wait(120)
    assert again.snapshot().status == "finished", again.snapshot().error
    resumed = checkpoints.load_checkpoint(job.run_dir, "last")
    assert steps < int(resumed.optimizer.iterations) <= steps + 8
    # ... and its loss scale: not Keras' first 32768 again, and the steps since it last changed
    # counted on (it halves at each overflow, doubles after 2,000 steps without one).
    scale, counter = float(model.optimizer.dynamic_scale), int(model.optimizer.step_counter)
    now = float(resumed.optimizer.dynamic_scale), int(resumed.optimizer.step_counter)
    assert now == (scale, counter + 8) or now[0] < scale, (scale, counter, now)
    assert keras.config.dtype_policy().name == "float32"  # loading left this thread's alone
    # What the Inside and Classify pages draw comes out as finite float32.
    maps = introspect.feature_maps(resumed, sample.x_test[0], "conv1")
    heat = explain.grad_cam(resumed, sample.x_test[0])
    assert maps.dtype == heat.dtype == np.float32 and np.isfinite(heat).all()
    assert 0 <= heat.min() and heat.max() <= 1
    # The same run continued on a CPU computes in float32 and still carries on the optimizer.
    monkeypatch.undo()
    steps = int(resumed.optimizer.inner_optimizer.iterations)
    on_cpu = continuation.continue_training(job.run_dir, 1, dataset=sample)
    assert on_cpu.wait(120)
    assert on_cpu.snapshot().device == "CPU" and on_cpu.snapshot().status == "finished"
    model = checkpoints.load_checkpoint(job.run_dir, "last")
    assert model.get_layer("conv1").compute_dtype == "float32"
    assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert int(model.optimizer.iterations) == steps + 8  # no step skipped in float32
    assert on_cpu.snapshot().test_accuracy is not None


def test_a_run_put_on_the_cpu_of_a_gpu_machine_says_so_and_computes_in_float32(
    sample, runs_dir, monkeypatch
):
    from alexnet_core import fitting

    monkeypatch.setattr(fitting.system, "training_device", lambda: "GPU:0 (stand-in)")
    on_cpu = dataclasses.replace(FAST, devices="cpu", mixed_precision=True)
    job = training.start_training(TINY, on_cpu, dataset=sample)
    assert job.wait(120)
    assert job.snapshot().status == "finished" and job.snapshot().device == "CPU"
    assert (
        checkpoints.load_checkpoint(job.run_dir, "last").get_layer("conv1").compute_dtype
        == "float32"
    )


def test_a_disk_that_fills_in_mid_epoch_fails_the_run_saying_what_was_kept(
    finished_run, sample, runs_dir, monkeypatch
):
    path = runs_dir / finished_run.run_id
    shutil.copytree(finished_run.run_dir, path)
    before = (path / "last.keras").read_bytes()
    job = continuation.continue_training(path, 1, dataset=sample)
    job.pause()
    wait_until(lambda: job.snapshot().status == "paused")

    def disk_full(target, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:  # from here on, nothing can be written
        patched.setattr(atomic, "write_text", disk_full)
        job.resume()  # its "running" cannot be written
        assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert snap.error == (f"Could not write {job.run_dir}: No space left on device. Epoch 1's "
                          "checkpoints were kept: make room, then continue the run.")  # fmt: skip
    assert (path / "last.keras").read_bytes() == before
    assert runs.read_run(path).status == "interrupted", "status.json still says paused"
    (listed,) = [run for run in training.list_runs() if run.path == path]
    assert (listed.status, listed.error) == ("failed", snap.error), "as the job tells it"


def test_logs_that_cannot_be_written_leave_the_epoch_uncounted_and_its_checkpoints_unsaved(
    finished_run, sample, tmp_path, monkeypatch
):
    """The checkpoints and the logs that count them are one step: a disk that fills between
    the two keeps the previous checkpoints and says so, and the run goes on from them."""
    path = tmp_path / finished_run.run_id
    shutil.copytree(finished_run.run_dir, path)
    before = (path / "last.keras").read_bytes()

    def disk_full(target, rows):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(atomic, "write_csv", disk_full)  # history.csv and batches.csv
    job = training.start_training(TINY, FAST, dataset=sample, runs_dir=tmp_path / "new")
    assert job.wait(120) and job.snapshot().error == (
        f"Could not write {job.run_dir / 'history.csv'}: No space left on device. "
        "No checkpoint was saved."
    )
    assert not list(job.run_dir.glob("*.keras")) and not list(job.run_dir.glob("tmp-*"))
    job = continuation.continue_training(path, 1, dataset=sample)
    assert job.wait(120)
    snap = job.snapshot()
    assert (snap.status, snap.epochs_done) == ("failed", 1)
    assert snap.error.endswith("No space left on device. Epoch 1's checkpoints were kept: "
                               "make room, then continue the run.")  # fmt: skip
    assert (path / "last.keras").read_bytes() == before and not list(path.glob("tmp-*"))
    assert runs.read_run(path).epochs_done == 1
    monkeypatch.undo()  # room was made
    job = continuation.continue_training(path, 1, dataset=sample)
    assert job.wait(120) and job.snapshot().status == "finished"
    assert [row["epoch"] for row in run_logs.load_history(path)] == [1, 2]
    assert runs.read_run(path).epochs_done == 2


def test_a_full_disk_fails_the_run_but_keeps_the_previous_checkpoint(
    finished_run, sample, tmp_path, monkeypatch
):
    path = tmp_path / finished_run.run_id
    shutil.copytree(finished_run.run_dir, path)
    before = (path / "last.keras").read_bytes()

    def disk_full(model, filepath, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", disk_full)
    job = training.start_training(TINY, FAST, dataset=sample, runs_dir=tmp_path / "new")
    assert job.wait(120) and job.snapshot().error.endswith(
        "No space left on device. No checkpoint was saved: it was the first epoch."
    )  # a new run has none to keep
    job = continuation.continue_training(path, 1, dataset=sample)
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert snap.error.endswith("No space left on device. The previous checkpoints were kept.")
    assert (path / "last.keras").read_bytes() == before
    assert not list(path.glob("tmp-*"))
    monkeypatch.undo()
    assert runs.read_run(path).epochs_done == 1
    tested = runs.read_run(finished_run.run_dir).test_accuracy
    assert tested is not None and runs.read_run(path).test_accuracy == tested, "still last.keras's"
    assert checkpoint_accuracy(path, "last", sample) == pytest.approx(tested, abs=1e-6)

    (path / "last.keras").write_bytes(before[: len(before) // 2])  # cut short, outside the app
    status = (path / "status.json").read_bytes()
    with pytest.raises(ValueError, match="cannot be continued: .*last.keras: damaged, not a whole"):
        continuation.continue_training(path, 1, dataset=sample)
    assert (path / "status.json").read_bytes() == status, "the refused continue changed nothing"
    changed = bytearray(before)  # the same size, some bytes inside changed: a whole zip still
    middle = len(changed) // 2
    changed[middle : middle + 16] = bytes(b ^ 0xFF for b in changed[middle : middle + 16])
    (path / "last.keras").write_bytes(changed)
    assert checkpoints.is_whole(path, "last"), "the quick check cannot see this"
    with pytest.raises(ValueError, match="last.keras: damaged, its .* does not read back"):
        continuation.continue_training(path, 1, dataset=sample)  # once a job that failed on load
    assert (path / "status.json").read_bytes() == status, "and left the run 'failed'"
    with pytest.raises(ValueError, match="last.keras: damaged"):
        checkpoints.load_checkpoint(path, "last")
    (path / "last.keras").write_bytes(before)

    def read_only(file, data):
        raise OSError(errno.EROFS, "Read-only file system", str(Path(file).parent / "tmp-x"))

    with monkeypatch.context() as fault:
        fault.setattr(atomic, "write_json", read_only)
        with pytest.raises(OSError) as refused:
            continuation.continue_training(path, 1, dataset=sample)
    assert str(refused.value) == (
        f"Nothing was continued: the run folder {path} cannot be written (Read-only file system)."
    )  # not a temporary name
    assert (path / "status.json").read_bytes() == status
    with pytest.raises(ValueError, match="no such run folder"):
        continuation.continue_training(tmp_path / "no-such-run", 1, dataset=sample)
    with pytest.raises(ValueError, match="not a run folder"):
        continuation.continue_training(tmp_path, 1, dataset=sample)  # the folder of runs
    (path / "last.keras").write_bytes(before)
    history = (path / "history.csv").read_text()
    (path / "history.csv").write_text("epoch,loss\n")  # the epoch's row lost
    with pytest.raises(ValueError, match="history.csv lists 0 epochs, but last.keras holds 1"):
        continuation.continue_training(path, 1, dataset=sample)
    (path / "history.csv").unlink()
    with pytest.raises(ValueError, match="history.csv is missing, but last.keras holds 1"):
        continuation.continue_training(path, 1, dataset=sample)
    assert (path / "status.json").read_bytes() == status
    (path / "history.csv").write_text(history)
    saved = json.loads((path / "config.json").read_text())
    saved["dataset"]["source"] = str(tmp_path / "moved.zip")
    (path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="cannot go on with its data: .*moved.zip: no such file"):
        continuation.continue_training(path, 1)  # loads the run's own data, which is gone


def test_bad_settings_are_refused_before_a_thread_starts(sample, runs_dir):
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="train_config"):
        training.start_training(TINY, {"epochs": 1}, dataset=sample)
    # The paper's 11x11/4 conv1 on 32x32 images, not resized to 227: pool2 gets 2x2 pixels.
    with pytest.raises(ValueError, match="pool2"):
        training.start_training(PRESETS["paper"].replace(input_size=32), FAST, dataset=sample)
    with pytest.raises(ValueError, match="extra_epochs"):
        continuation.continue_training(runs_dir, 0)
    assert list(runs_dir.iterdir()) == []
    assert training.current_job() is None or not training.current_job().active


def test_a_runs_folder_that_cannot_be_written_starts_nothing_and_leaves_no_folder(
    sample, runs_dir, monkeypatch
):
    (runs_dir / "a-file").write_text("not a folder")
    with pytest.raises(OSError, match="Nothing was started: a run folder cannot be written in"):
        training.start_training(TINY, FAST, dataset=sample, runs_dir=runs_dir / "a-file" / "runs")
    with pytest.raises(OSError, match=r"a-file \(it is a file, not a folder\)"):
        training.start_training(TINY, FAST, dataset=sample, runs_dir=runs_dir / "a-file")

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "write_json", disk_full)  # config.json of a new folder
    with pytest.raises(OSError, match=rf"in {re.escape(str(runs_dir))} \(No space left"):
        training.start_training(TINY, FAST, dataset=sample)
    assert [p.name for p in runs_dir.iterdir()] == ["a-file"], "no half-made run is listed"
    assert training.current_job() is None or not training.current_job().active


def test_the_current_job_is_the_last_started_also_when_it_continues_an_older_run(sample, runs_dir):
    short = dataclasses.replace(sample, x_train=sample.x_train[:64], y_train=sample.y_train[:64])
    settings = dataclasses.replace(FAST, batch_size=64)
    first = training.start_training(TINY, settings, dataset=short)
    assert first.wait(120)
    second = training.start_training(TINY, settings, dataset=short)
    assert second.wait(120) and training.current_job() is second
    again = continuation.continue_training(first.run_dir, 1, dataset=short)
    assert again.wait(120) and again.snapshot().status == "finished"
    assert training.current_job() is again, "the Train page showed the run started in between"
    run_deletion.delete_run(again.run_dir)  # on the Runs page
    assert training.current_job() is second, "the newest run that still exists"


def test_schedules():
    config = TrainConfig(learning_rate=0.1, step_epochs=2, step_factor=10, warmup_fraction=0.2)
    rate = lambda schedule, position: learning_rate_at(  # noqa: E731
        dataclasses.replace(config, schedule=schedule), position, 10
    )
    assert rate("constant", 7.5) == 0.1
    assert [rate("step", p) for p in (0, 1.9, 2, 4.5)] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert [rate("cosine", p) for p in (0, 5, 10)] == pytest.approx([0.1, 0.05, 0], abs=1e-12)
    assert rate("one_cycle", 0) == pytest.approx(0.1 / 25)
    assert rate("one_cycle", 2) == pytest.approx(0.1)  # the peak, after 20% of the run
    assert rate("one_cycle", 1) < rate("one_cycle", 2) > rate("one_cycle", 6)
    assert rate("one_cycle", 10) == pytest.approx(0, abs=1e-12)


def test_a_step_schedule_cut_past_a_floats_range_reaches_0_not_an_overflow():
    huge = TrainConfig(learning_rate=0.1, schedule="step", step_epochs=1, step_factor=1e200)
    assert learning_rate_at(huge, 1.5, 3) == pytest.approx(1e-201)
    assert learning_rate_at(huge, 2.5, 3) == 0.0  # 0.1 / 1e400: was an OverflowError
    paper = dataclasses.replace(huge, step_factor=10)  # the paper's cut, past 308 of them
    assert learning_rate_at(paper, 400, 400) == 0.0


def test_a_run_at_the_largest_seed_goes_on_and_one_too_big_for_memory_is_not_a_data_problem(
    finished_run, sample, tmp_path, monkeypatch
):
    path = Path(shutil.copytree(finished_run.run_dir, tmp_path / "seeded"))
    saved = json.loads((path / "config.json").read_text())
    saved["training"]["seed"] = 2**32 - 1  # Keras' seeds stop there: the continue adds epochs
    (path / "config.json").write_text(json.dumps(saved))
    monkeypatch.setattr(images, "free_memory", lambda: None)
    monkeypatch.setattr(images, "machine_memory", lambda: 2**20)  # a laptop for a GPU's run
    with pytest.raises(ValueError) as refused_:
        continuation.continue_training(path, 1, dataset=sample)
    assert not isinstance(refused_.value, continuation.DataMissing), "the data is where it was"
    assert re.match(
        r"seeded cannot go on here: Training this network needs about [\d.]+ MiB "
        r"here: .* That is more than this machine's 1.00 MiB. A continue keeps the "
        r"run's settings: go on where more memory is free",
        str(refused_.value),
    )
    monkeypatch.undo()
    job = continuation.continue_training(path, 1, dataset=sample)
    assert job.wait(120)
    assert job.snapshot().status == "finished", job.snapshot().error


def test_weight_decay_skips_biases_and_batch_norm():
    # One SGD step with zero gradients leaves only the decay: kernel *= 1 - lr * decay.
    config = TrainConfig(optimizer="sgd", learning_rate=0.5, momentum=0.0, weight_decay=0.1)
    layer = keras.layers.Dense(2, bias_initializer="ones")
    layer.build((None, 3))
    kernel = layer.kernel.numpy().copy()
    optimizer = training.make_optimizer(config)
    optimizer.apply_gradients([(np.zeros_like(v.numpy()), v) for v in layer.trainable_weights])
    np.testing.assert_allclose(layer.kernel.numpy(), kernel * (1 - 0.5 * 0.1), rtol=1e-6)
    np.testing.assert_array_equal(layer.bias.numpy(), np.ones(2))
    norm = keras.layers.BatchNormalization(beta_initializer="ones")
    norm.build((None, 3))
    optimizer = training.make_optimizer(config)
    optimizer.apply_gradients([(np.zeros(3, "float32"), v) for v in norm.trainable_weights])
    np.testing.assert_array_equal(norm.gamma.numpy(), np.ones(3))
    np.testing.assert_array_equal(norm.beta.numpy(), np.ones(3))
    assert training.make_optimizer(dataclasses.replace(config, optimizer="adam")).weight_decay \
        is None  # fmt: skip


def test_batches_feed_every_image_once_an_epoch_in_a_new_seeded_order_without_autotuning():
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1).repeat(3, axis=-1)
    y = keras.utils.to_categorical(np.arange(10) % 3, 3)

    def epochs(feed, count):
        return [
            [tuple(b[0][:, 0, 0, 0]) for b in feed["x"].as_numpy_iterator()] for _ in range(count)
        ]

    feed = fitting.batches(x, y, 4, shuffle_seed=7)
    first, second = epochs(feed, 2)
    assert [len(batch) for batch in first] == [4, 4, 2]  # the last, partial batch is kept
    assert sorted(sum(first, ())) == sorted(sum(second, ())) == list(range(10))
    assert first != second  # reshuffled every epoch
    assert epochs(fitting.batches(x, y, 4, shuffle_seed=7), 2) == [first, second]
    assert feed["shuffle"] is False  # the dataset shuffles; Keras' own shuffle stays off
    # Dropping an autotuned iterator waits out the tuner's sleep: seconds at each epoch start.
    assert feed["x"].options().autotune.enabled is False
    images, labels = next(feed["x"].as_numpy_iterator())
    assert np.array_equal(labels, y[images[:, 0, 0, 0]])  # each image keeps its label

    in_order = fitting.batches(x, y, 4)
    assert sum(epochs(in_order, 1)[0], ()) == tuple(range(10)) and "shuffle" not in in_order


def test_estimate_run_times_real_steps_and_one_checkpoint_save(monkeypatch):
    # The clock, as the estimate reads it: tracing the training step takes 1 s, then 0.2 s a
    # step over 3 steps; tracing the evaluation step 0.5 s, then 0.05 s a step; the save 0.7 s.
    readings = iter([0.0, 1.0, 1.6, 2.0, 2.5, 2.65, 3.0, 3.7])
    clock = types.SimpleNamespace(perf_counter=lambda: next(readings))
    monkeypatch.setattr(estimate, "time", clock)
    saved = []
    monkeypatch.setattr(checkpoints, "save_checkpoints", lambda model, paths: saved.append(paths))
    got = estimate.estimate_run(TINY, dataclasses.replace(FAST, batch_size=16), 150, num_val=40,
                                num_test=100, checkpoints_per_epoch=2)  # fmt: skip
    assert next(readings, None) is None, "the clock was read once before and after each part"
    assert len(saved) == 1 and len(saved[0]) == 2, "one save of last.keras and best.keras"
    # 150 images in batches of 16: 10 steps (the last of 6); 40 to validate: 3; 100 to test: 7.
    assert dataclasses.astuple(got) == pytest.approx((1.5, 2.0, 0.15, 0.7, 0.35))
    assert got.epoch_s == pytest.approx(2.85)
    assert got.total_s(4) == pytest.approx(1.5 + 4 * 2.85 + 0.35)

    readings = iter([9.0, 10.0, 10.6])  # training steps alone: no evaluation step, no save
    alone = estimate.estimate_run(TINY, dataclasses.replace(FAST, batch_size=16), 150)
    assert dataclasses.astuple(alone) == pytest.approx((1.0, 2.0, 0.0, 0.0, 0.0))
    assert next(readings, None) is None
    with pytest.raises(ValueError, match="num_train: got 0, expected at least 1 image"):
        estimate.estimate_run(TINY, FAST, 0)


def test_estimate_run_saves_a_real_checkpoint_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    got = estimate.estimate_run(TINY, FAST, 64, num_val=32, num_test=32, checkpoints_per_epoch=1)
    assert min(dataclasses.astuple(got)) > 0
    assert list(tmp_path.iterdir()) == [], "the saved checkpoint is removed"
    # It times where and how a run would train: the devices asked for, mixed precision on a GPU.
    with pytest.raises(ValueError, match="'gpu' was asked for, but TensorFlow sees no GPU here"):
        estimate.estimate_run(TINY, dataclasses.replace(FAST, devices="gpu"), 64)
    policies = []
    compile_model = estimate.compile_model
    monkeypatch.setattr(estimate, "compile_model",
                        lambda model, config: policies.append(model.dtype_policy.name)
                        or compile_model(model, config))  # fmt: skip
    monkeypatch.setattr(fitting.system, "training_device", lambda: "GPU (stand-in)")
    estimate.estimate_run(TINY, dataclasses.replace(FAST, mixed_precision=True), 64)
    assert policies == ["mixed_float16"] and keras.config.dtype_policy().name == "float32"

    def disk_full(model, paths):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints, "save_checkpoints", disk_full)
    with pytest.raises(ValueError, match=rf"checkpoint to time it in {re.escape(str(tmp_path))} "
                       r"\(No space left on device\)\. Free some space"):  # fmt: skip
        estimate.estimate_run(TINY, FAST, 64, checkpoints_per_epoch=1)
    assert list(tmp_path.iterdir()) == []


def test_a_device_out_of_memory_is_told_plainly_with_what_the_batch_needs(
    sample, runs_dir, monkeypatch
):
    """TensorFlow's own out-of-memory error (a real one: a tensor of 8 TiB on this CPU) reads
    as pages of allocator detail; the job and the estimate say what ran out and what to lower."""
    import tensorflow as tf

    with pytest.raises(tf.errors.ResourceExhaustedError) as raised:
        tf.zeros((2**41,))  # float32: 8 TiB; TensorFlow's allocator retries for 10 s first

    def allocate_too_much(*args):  # that same real error, without another 10 s of retries
        raise raised.value

    expected = (
        "The device ran out of memory (a batch of 16 needs at least 3.91 MiB for its "
        "layer outputs, the weights with their gradients 172 KiB). Lower the batch size"
    )
    assert fitting.out_of_memory(raised.value, TINY, 16).startswith(expected)
    jax_style = RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate")
    assert fitting.out_of_memory(jax_style, TINY, 16).startswith(expected)
    assert fitting.out_of_memory(RuntimeError("something else"), TINY, 16) is None

    monkeypatch.setattr(fitting, "fit", allocate_too_much)
    job = training.start_training(TINY, dataclasses.replace(FAST, batch_size=16), dataset=sample)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and snap.error.startswith(expected), snap.error
    assert runs.read_run(job.run_dir).error == snap.error

    monkeypatch.setattr(keras.Model, "train_on_batch", allocate_too_much)
    with pytest.raises(ValueError, match=re.escape(expected)):
        estimate.estimate_run(TINY, dataclasses.replace(FAST, batch_size=16), 160)


def test_status_json_is_plain_json(finished_run):
    status = json.loads((finished_run.run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["epochs_done"] == 1
    assert isinstance(status["pid"], int) and status["device"] == "CPU"


def test_machine_info_names_versions_and_processors():
    info = system.machine_info()
    assert info["tensorflow"] and info["keras"] and info["python"].count(".") == 2
    assert isinstance(info["gpus"], list) and info["cores"] >= 1 and info["cpu"]
    assert system.training_device() == (info["gpus"][0] if info["gpus"] else "CPU")
