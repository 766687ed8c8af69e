"""Run folders: atomic writes, listing (interrupted and damaged runs), checkpoints."""

import errno
import json
import math
import os
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet_core import (
    atomic,
    checkpoints,
    figure_one,
    run_deletion,
    run_lock,
    run_logs,
    run_text,
    runs,
)
from alexnet_core.config import TrainConfig, dumps
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS, train_preset

TINY = PRESETS["tiny"]


def make_run(root, name, status="finished", created="2026-11-29T10:00:00", **fields):
    """A run folder written by hand, as a training process would have left it."""
    path = root / name
    path.mkdir()
    config = json.loads(dumps(TINY, replace(train_preset("tiny"), dataset="sample")))
    config.update(created=created, dataset={"source": "sample", "class_names": ["a", "b"]})
    (path / "config.json").write_text(json.dumps(config))
    state = {"status": status, "pid": os.getpid(), "epochs_done": 1, "duration_s": 3.0}
    (path / "status.json").write_text(json.dumps({**state, **fields}))
    return path


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_runs_root_follows_the_environment(runs_dir):
    assert runs.runs_root() == runs_dir


def test_run_folders_get_unique_names(runs_dir):
    first, second = runs.create_run_dir("tiny"), runs.create_run_dir("tiny")
    assert first != second and first.parent == second.parent == runs_dir
    assert first.name.endswith("-tiny") and second.name == first.name + "-2"


def test_list_runs_reads_finished_interrupted_and_damaged_folders(runs_dir):
    make_run(runs_dir, "a-finished", created="2026-11-29T10:00:00", test_accuracy=0.5)
    make_run(runs_dir, "b-dead-process", "running", created="2026-11-29T11:00:00",
             pid=dead_pid())  # fmt: skip
    # This process wrote it, but holds no job for it: left behind by an earlier session.
    make_run(runs_dir, "c-no-job", "paused", created="2026-11-29T12:00:00")
    (runs_dir / "d-garbage").mkdir()
    (runs_dir / "d-garbage" / "config.json").write_text("{not json")
    (runs_dir / "e-empty").mkdir()
    (runs_dir / "stray-file.txt").write_text("not a run")

    listed = {run.run_id: run for run in runs.list_runs()}
    assert set(listed) == {"a-finished", "b-dead-process", "c-no-job", "d-garbage", "e-empty"}
    assert listed["a-finished"].status == "finished"
    assert listed["a-finished"].test_accuracy == 0.5
    assert listed["a-finished"].model_config == TINY
    assert listed["a-finished"].class_names == ("a", "b")
    assert listed["b-dead-process"].status == "interrupted"
    assert listed["c-no-job"].status == "interrupted"
    assert listed["d-garbage"].status == listed["e-empty"].status == "damaged"
    assert listed["d-garbage"].error == "config.json is not JSON (Expecting property name " \
        "enclosed in double quotes, line 1)"  # fmt: skip
    assert listed["e-empty"].error == "config.json is missing"
    assert listed["d-garbage"].model_config is None
    ordered = [run.run_id for run in runs.list_runs() if run.status != "damaged"]
    assert ordered == ["c-no-job", "b-dead-process", "a-finished"]  # newest first


@pytest.mark.parametrize(
    "status_text, error",
    [
        ("garbage", "status.json is not JSON (Expecting value, line 1)"),
        ('["finished"]', "status.json does not hold what this app writes there"),
        ('{"status": "finished", "epochs_done": "x"}', "status.json does not hold what this app "
         "writes there (ValueError(\"invalid literal for int() with base 10: 'x'\"))"),
        (json.dumps({"status": "running", "pid": 10**30}), "status.json does not hold what "
         "this app writes there (OverflowError("),  # no process has such an id
        ('{"epochs_done": 2}', "status.json does not hold what this app writes there "
         "(KeyError('status'))"),
        # values of the wrong kind, which the pages would format, add or unpack
        ('{"status": "finished", "best_accuracy": "0.5"}', "status.json does not hold what "
         "this app writes there (TypeError(\"'0.5' is not an accuracy from 0 to 1\"))"),
        ('{"status": "finished", "test_accuracy": 5}', "status.json does not hold what"),
        ('{"status": "stopped", "cut_short": [1]}', "status.json does not hold what this app "
         "writes there (TypeError('cut_short [1] is not three whole numbers'))"),
        ('{"status": "finished", "best_metric": ["x"]}', "status.json does not hold what"),
    ],
)  # fmt: skip
def test_a_damaged_status_file_keeps_what_config_json_says(runs_dir, status_text, error):
    """Its progress is unknown, but the network it trained is described by config.json, so
    the pages that load a checkpoint can still offer it."""
    make_run(runs_dir, "good-config", created="2026-11-29T10:00:00")
    (runs_dir / "good-config" / "status.json").write_text(status_text)
    (run,) = runs.list_runs()
    assert run.status == "damaged" and run.error.startswith(error), run.error
    assert run.model_config == TINY and run.class_names == ("a", "b")
    assert run.created == "2026-11-29T10:00:00" and run.epochs_done == 0


def test_a_config_file_with_wrong_parts_is_named_in_plain_words(runs_dir):
    make_run(runs_dir, "no-model")
    config = json.loads((runs_dir / "no-model" / "config.json").read_text())
    (runs_dir / "no-model" / "config.json").write_text(json.dumps({"training": config["training"]}))
    make_run(runs_dir, "odd-dataset")
    (runs_dir / "odd-dataset" / "config.json").write_text(json.dumps({**config, "dataset": 3}))
    make_run(runs_dir, "odd-count")
    counted = {**config, "dataset": {"source": "sample", "num_test": "x"}}
    (runs_dir / "odd-count" / "config.json").write_text(json.dumps(counted))
    listed = {run.run_id: run for run in runs.list_runs()}
    assert listed["odd-count"].error == "config.json: its dataset's num_test is not a whole number"
    assert listed["no-model"].error == "config.json has no 'model' part"
    assert listed["odd-dataset"].error.startswith("config.json: ")
    assert listed["odd-dataset"].model_config is None


def test_an_older_status_file_is_read_and_a_run_without_validation_has_no_val_accuracy(
    runs_dir,
):
    # Before best_accuracy/best_metric, status.json called every best score best_val_accuracy,
    # even the training accuracy of a run trained without a validation split.
    make_run(runs_dir, "validated", best_val_accuracy=0.6)
    unsplit = make_run(runs_dir, "unsplit", best_val_accuracy=0.9)
    config = json.loads((unsplit / "config.json").read_text())
    config["training"]["validation_fraction"] = 0
    (unsplit / "config.json").write_text(json.dumps(config))
    validated, unsplit = runs.read_run(runs_dir / "validated"), runs.read_run(unsplit)
    assert (validated.best_metric, validated.best_val_accuracy) == ("val_accuracy", 0.6)
    assert (unsplit.best_metric, unsplit.best_accuracy, unsplit.best_val_accuracy) == (
        "accuracy", 0.9, None,
    )  # fmt: skip


def test_a_runs_changes_to_its_preset_are_named_and_the_datas_sizes_are_not(runs_dir):
    plain = runs.read_run(make_run(runs_dir, "plain"))
    assert run_text.preset_changes(plain) == ""
    path = make_run(runs_dir, "changed")
    config = json.loads((path / "config.json").read_text())
    changed = TINY.for_dataset(64, 3).replace(
        activation="tanh", width=0.5, augment_flip=True, conv_kernels=(5, 3, 3, 3, 3)
    )
    config["model"] = json.loads(dumps(changed))["model"]
    config["training"].update(image_size=64, devices="cpu", dataset="/data/shapes")
    (path / "config.json").write_text(json.dumps(config))
    assert run_text.preset_changes(runs.read_run(path)) == (
        "conv kernels 5/3/3/3/3, width 0.5, activation tanh, augment flip on"
    )  # in the order of ModelConfig's fields; image size 64 and 3 classes are the data's
    config["training"].update(epochs=4, learning_rate=0.0025, schedule="cosine")
    (path / "config.json").write_text(json.dumps(config))
    assert run_text.preset_changes(runs.read_run(path)).endswith(
        "augment flip on, epochs 4, learning rate 0.0025, schedule cosine"
    )  # then the training's, in TrainConfig's order
    model_config, train_config = figure_one.configs("tanh")  # the paper's figure 1 names itself
    (path / "config.json").write_text(dumps(model_config, replace(train_config, epochs=20)))
    assert run_text.preset_changes(runs.read_run(path)) == "figure 1 (tanh), epochs 20"


def test_a_config_without_its_creation_time_takes_the_status_files_start(runs_dir):
    path = make_run(runs_dir, "older", started="2026-11-01T08:00:00")
    config = json.loads((path / "config.json").read_text())
    del config["created"]
    (path / "config.json").write_text(json.dumps(config))
    assert runs.read_run(path).created == "2026-11-01T08:00:00"


def test_a_live_process_keeps_its_run_running(runs_dir):
    path = make_run(runs_dir, "live", "running", pid=os.getppid())  # our parent is alive
    assert runs.read_run(path).status == "running"
    with pytest.raises(ValueError, match="still training"):
        run_deletion.delete_run(path)
    (path / "status.json").write_text(json.dumps({"status": "stopped", "pid": os.getppid()}))
    run_deletion.delete_run(path)
    assert not path.exists()


def test_a_reused_pid_is_not_taken_for_the_training_process(runs_dir):
    # Our parent is alive, but a process_start other than its own means the pid now belongs
    # to another process: the one that trained the run is gone.
    parent = os.getppid()
    actual = run_lock._process_start(parent)
    assert actual is not None, "needs /proc to read a process's start time"
    same = make_run(runs_dir, "same", "running", pid=parent, process_start=actual)
    reused = make_run(runs_dir, "reused", "running", pid=parent,
                      process_start=str(int(actual) + 1))  # fmt: skip
    assert runs.read_run(same).status == "running"
    assert runs.read_run(reused).status == "interrupted"
    run_deletion.delete_run(reused)  # not training, so it may go
    assert not reused.exists()


def test_a_delete_that_cannot_finish_leaves_a_whole_run_or_none(runs_dir, monkeypatch):
    """Root ignores file permissions, so the two failures are injected where the disk would
    raise them: a folder that cannot be renamed (read-only), a file that cannot be removed."""
    path = make_run(runs_dir, "kept")
    (path / "best.keras").write_bytes(b"weights")
    before = sorted(p.name for p in path.iterdir())

    def read_only(self, target):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    with monkeypatch.context() as fault:
        fault.setattr(Path, "rename", read_only)
        with pytest.raises(ValueError, match=r"kept was not deleted: .*\(Read-only file system\)"):
            run_deletion.delete_run(path)
    assert sorted(p.name for p in path.iterdir()) == before, "nothing of it removed"
    assert runs.read_run(path).status == "finished"

    def stuck(folder):  # removes all but one file, as rmtree does before it fails
        for file in sorted(Path(folder).iterdir())[1:]:
            file.unlink()
        raise OSError(errno.EPERM, "Operation not permitted", str(folder))

    monkeypatch.setattr(run_deletion.shutil, "rmtree", stuck)
    with pytest.raises(
        OSError, match=r"kept is deleted from the list of runs, .*/\.deleting-kept-"
    ):
        run_deletion.delete_run(path)
    assert not path.exists() and runs.list_runs() == [], "no half-deleted run is listed"


def test_a_delete_finishes_the_deletes_of_processes_that_died(runs_dir):
    """A process killed mid-delete leaves a hidden .deleting-* folder; the next delete removes
    it if that process is gone, and leaves those of live processes (maybe mid-delete) alone."""
    dead = runs_dir / ".deleting-old-run-999999999-17"  # no such pid (above pid_max)
    live = runs_dir / f".deleting-busy-run-{os.getppid()}-18"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "last.keras").write_bytes(b"weights")
    run_deletion.delete_run(make_run(runs_dir, "now"))
    assert not dead.exists()
    assert (live / "last.keras").exists()
    assert sorted(p.name for p in runs_dir.iterdir()) == [live.name]


def test_each_checkpoint_knows_its_epoch_and_that_epochs_score(runs_dir):
    path = make_run(runs_dir, "scored", epochs_done=4, best_metric="val_accuracy")
    for name in ("best", "last", "epoch_002"):
        (path / f"{name}.keras").write_bytes(b"weights")
    rows = [(1, 0.5), (2, 0.4), (3, 0.5), (4, 0.45), (5, 0.9)]  # 5: a failed epoch's row
    atomic.write_csv(path / "history.csv",
                          [{"epoch": e, "val_accuracy": v} for e, v in rows])  # fmt: skip
    found = runs.checkpoint_epochs(runs.read_run(path))
    # best.keras was saved at epoch 1; epoch 3 only tied it, and epoch 5 is not in last.keras
    assert found == {"best": (1, 0.5), "last": (4, 0.45), "epoch_002": (2, 0.4)}
    (path / "history.csv").write_text("epoch,val_accuracy\nnot a number,0.5\n")  # damaged
    assert runs.checkpoint_epochs(runs.read_run(path)) == {
        "last": (4, None), "epoch_002": (2, None)
    }  # fmt: skip


def test_delete_refuses_a_run_a_continue_holds(runs_dir):
    """A continue locks the folder before its checks, while status.json still says 'finished'
    (it may be loading its data): a delete then must not pull the folder away from it."""
    path = make_run(runs_dir, "going-on")
    claim = run_lock.claim_run(path)
    try:
        with pytest.raises(ValueError, match="going-on is being continued right now"):
            run_deletion.delete_run(path)
        assert path.is_dir()
    finally:
        run_lock.release_run(claim)
    run_deletion.delete_run(path)
    assert not path.exists() and not list(runs_dir.iterdir())


def test_delete_refuses_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "precious").mkdir()
    with pytest.raises(ValueError, match="not a run folder"):
        run_deletion.delete_run(tmp_path / "precious")
    assert (tmp_path / "precious").exists()


def test_histories_round_trip_through_csv(tmp_path):
    rows = [{"epoch": 1, "loss": 2.5, "val_loss": None, "learning_rate": 1e-05},
            {"epoch": 2, "loss": float("nan"), "val_loss": 1.0, "learning_rate": 0.01}]  # fmt: skip
    atomic.write_csv(tmp_path / "history.csv", rows)
    back = run_logs.load_history(tmp_path)
    assert back[0] == {"epoch": 1, "loss": 2.5, "val_loss": None, "learning_rate": 1e-05}
    assert back[1]["epoch"] == 2 and np.isnan(back[1]["loss"])
    assert run_logs.load_batch_history(tmp_path) == [] and run_logs.load_lr_events(tmp_path) == []


def test_rows_from_an_older_run_and_newer_rows_share_one_csv(tmp_path):
    old = {"step": 1, "loss": 2.0}  # continued from a version without the speed column
    new = {"step": 2, "loss": 1.5, "images_per_second": 300.0}
    atomic.write_csv(tmp_path / "batches.csv", [old, new])
    assert run_logs.load_batch_history(tmp_path) == [{**old, "images_per_second": None}, new]


def fail_on_rename(monkeypatch):
    """The whole temporary file is written, then renaming it over the target fails."""

    def no_rename(source, target):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", no_rename)


def fail_half_way(monkeypatch):
    """The temporary file gets half its text, then the disk is full."""

    def half_written(self, text, encoding=None, **kwargs):
        with open(self, "w", encoding=encoding) as f:
            f.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_written)


@pytest.mark.parametrize("failure", [fail_on_rename, fail_half_way])
@pytest.mark.parametrize(
    ("name", "write", "old", "new"),
    [
        ("status.json", atomic.write_json, {"status": "running"}, {"status": "finished"}),
        ("history.csv", atomic.write_csv, [{"epoch": 1, "loss": 2.0}],
         [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}]),
    ],
)  # fmt: skip
def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch, failure, name, write, old, new):
    target = tmp_path / name
    write(target, old)
    before = target.read_bytes()
    failure(monkeypatch)
    with pytest.raises(OSError, match="Input/output error|No space left"):
        write(target, new)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name], "a temporary file was left behind"
    write(target, new)  # the same write without the failure does change the file
    assert target.read_bytes() != before


def test_checkpoint_names_are_checked(tmp_path):
    assert checkpoints.checkpoint_path(tmp_path, "epoch_003") == tmp_path / "epoch_003.keras"
    for bad in ("../../etc/passwd", "best.keras", "worst"):
        with pytest.raises(ValueError, match="which"):
            checkpoints.checkpoint_path(tmp_path, bad)
    with pytest.raises(ValueError, match="no such checkpoint"):
        checkpoints.load_checkpoint(tmp_path, "best")


def test_a_full_disk_while_saving_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    model = build_alexnet(TINY)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    best = tmp_path / "best.keras"
    checkpoints.save_checkpoints(model, [best])
    expected = model.predict(images, verbose=0)
    np.testing.assert_array_equal(checkpoints.load_checkpoint(tmp_path).predict(images, verbose=0),
                                  expected)  # fmt: skip

    def disk_full(self, filepath, **kwargs):
        with open(filepath, "wb") as f:  # a partial file, as a real full disk leaves
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        checkpoints.save_checkpoints(build_alexnet(TINY), [best])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]
    reloaded = checkpoints.load_checkpoint(tmp_path, "best")
    np.testing.assert_array_equal(reloaded.predict(images, verbose=0), expected)


def test_an_epochs_checkpoints_are_saved_together_or_not_at_all(tmp_path, monkeypatch):
    model = build_alexnet(TINY)
    last, epoch, best = (tmp_path / f"{name}.keras" for name in ("last", "epoch_001", "best"))
    checkpoints.save_checkpoints(model, [last, epoch])
    assert last.read_bytes() == epoch.read_bytes() and zipfile.is_zipfile(last)
    best.write_bytes(b"old weights")
    before = last.read_bytes()

    def disk_full(source, target):
        Path(target).write_bytes(b"new wei")  # a partial copy, as a real full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(OSError, match="No space left"):
        checkpoints.save_checkpoints(build_alexnet(TINY), [last, best])  # the copy to best fails
    assert best.read_bytes() == b"old weights"
    assert last.read_bytes() == before, "last.keras moved on without best.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "epoch_001.keras",
                                                          "last.keras"]  # fmt: skip


def test_damaged_side_files_and_checkpoints_raise_value_errors_naming_the_file(tmp_path):
    (tmp_path / "lr_events.json").write_text("[{")
    with pytest.raises(ValueError, match="lr_events.json: damaged, not JSON"):
        run_logs.load_lr_events(tmp_path)
    (tmp_path / "lr_events.json").write_text('[{"step": 3}]')
    with pytest.raises(ValueError, match="lr_events.json: damaged, expected a list"):
        run_logs.load_lr_events(tmp_path)
    (tmp_path / "history.csv").write_bytes(b"epoch,loss\n1,\xff\xfe\n")
    with pytest.raises(ValueError, match="history.csv: damaged, not a CSV"):
        run_logs.load_history(tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss\n1,2.3,9\n")  # once a TypeError
    with pytest.raises(ValueError, match="more cells than the header has names"):
        run_logs.load_history(tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.5\nmany,0.4\n")
    with pytest.raises(ValueError, match="no whole number for epoch"):
        run_logs.load_history(tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.5\n2,0.4\n")
    assert [row["epoch"] for row in run_logs.load_history(tmp_path)] == [1, 2]
    (tmp_path / "best.keras").write_bytes(b"not a zip")  # the file is there, but no model
    with pytest.raises(ValueError, match="best.keras: damaged, not a whole .keras file"):
        checkpoints.load_checkpoint(tmp_path, "best")


@pytest.mark.parametrize(
    "file, text, problem",
    [
        ("lr_events.json", '[{"step": 3, "epoch": 1, "old": 0.01, "new": "0.02"}]', "expected a"),
        ("lr_events.json", '[{"step": 3, "epoch": "1", "old": 0.01, "new": 0.02}]', "expected a"),
        ("lr_events.json", '[{"step": 3, "epoch": 1, "old": 0.01, "new": null}]', "expected a"),
        ("history.csv", "epoch,loss,batches\n1,0.5,x\n", "batches is not a whole number"),
        ("batches.csv", "step,epoch,loss\n1,one,0.5\n", "epoch is not a whole number"),
        ("history.csv", None, "cannot be read"),  # a folder in its place
        ("lr_events.json", None, "cannot be read"),
    ],
)
def test_a_log_with_values_of_the_wrong_kind_is_damaged_not_a_crash(tmp_path, file, text, problem):
    if text is None:
        (tmp_path / file).mkdir()
    else:
        (tmp_path / file).write_text(text)
    read = {"lr_events.json": run_logs.load_lr_events, "history.csv": run_logs.load_history,
            "batches.csv": run_logs.load_batch_history}[file]  # fmt: skip
    with pytest.raises(ValueError, match=problem):
        read(tmp_path)


def test_a_checkpoint_that_is_a_zip_but_no_model_or_another_runs_model_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "best.keras", "w") as archive:
        archive.writestr("hello.txt", "not a model")
    with pytest.raises(ValueError, match="best.keras: not a model this app can load"):
        checkpoints.load_checkpoint(tmp_path, "best")
    three = build_alexnet(TINY.replace(num_classes=3))
    with pytest.raises(ValueError, match="a network for 3 classes, but the run has 10"):
        checkpoints.check_matches(three, tmp_path, "best", [str(i) for i in range(10)])
    checkpoints.check_matches(three, tmp_path, "best", ["a", "b", "c"])  # its own run's
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not a network of this app"):
        checkpoints.check_matches(plain, tmp_path, "best", ["a", "b", "c"])


def test_reached_error_counts_the_seconds_to_the_epoch_that_fell_to_it():
    rows = [
        {"epoch": 1, "accuracy": 0.5, "seconds": 10},
        {"epoch": 2, "accuracy": 0.8, "seconds": 12},
    ]
    assert run_logs.reached_error(rows, 0.25) == (2, 22.0)
    assert run_logs.reached_error(rows, 0.1) is None
    assert run_logs.reached_error([{**rows[0], "seconds": None}, rows[1]], 0.25) == (2, None)
    with pytest.raises(ValueError, match="epoch 2 has no training accuracy"):
        run_logs.reached_error([rows[0], {**rows[1], "accuracy": None}], 0.25)
    diverged = {"epoch": 2, "accuracy": math.nan, "seconds": 12}  # not damage: a NaN epoch
    assert run_logs.reached_error([rows[0], diverged, {**rows[1], "epoch": 3}], 0.25) == (3, 34.0)
    assert run_logs.reached_error([rows[0], diverged], 0.25) is None


def test_setting_values_read_as_words_and_any_two_that_differ_read_differently():
    assert run_text.setting_text(None) == "—"  # a setting an older run did not have
    assert [run_text.setting_text(v) for v in (True, False, 32, "sgd")] == [
        "on",
        "off",
        "32",
        "sgd",
    ]
    assert run_text.setting_text((8, 16, 16)) == run_text.setting_text([8, 16, 16]) == "8/16/16"
    assert run_text.setting_text((True, False)) == "on/off"  # one per convolution, each as words
    assert [run_text.setting_text(v) for v in (0.0025, 1e-05, 0.5)] == ["0.0025", "1e-05", "0.5"]
    assert run_text.setting_text(0.1000001) != run_text.setting_text(0.1), (
        "not rounded to look alike"
    )
    assert run_text.setting_text(0.1 + 0.05) == "0.15", "float noise is not a setting"


def test_figure_one_runs_are_the_newest_finished_of_each_activation_by_data(runs_dir):
    def figure_run(name: str, activation: str, dataset: str = "sample", **fields) -> None:
        path = make_run(runs_dir, name, **fields)
        config = json.loads((path / "config.json").read_text())
        model_config, train_config = figure_one.configs(activation)
        config.update(json.loads(dumps(model_config, replace(train_config, dataset=dataset))))
        (path / "config.json").write_text(json.dumps(config))

    figure_run("a", "relu", created="2026-11-29T10:00:01")
    figure_run("b", "tanh", created="2026-11-29T10:00:02")
    figure_run("c", "relu", created="2026-11-29T10:00:03", status="stopped")  # stopped short
    figure_run("d", "relu", "/data/cifar10", created="2026-11-29T10:00:04")
    figure_run("e", "tanh", created="2026-11-29T10:00:05", status="running")  # died: interrupted
    make_run(runs_dir, "f", created="2026-11-29T10:00:06")  # tiny: not figure 1
    listed = runs.list_runs()
    by_data = figure_one.runs_by_data(listed)
    assert by_data == {"/data/cifar10": {"relu": "d"}, "sample": {"tanh": "b", "relu": "a"}}
    assert list(by_data) == ["/data/cifar10", "sample"], "the newest run's data first"
    assert figure_one.pair(listed) == {"relu": "a", "tanh": "b"}
    figure_run("g", "tanh", "/data/cifar10", created="2026-11-29T10:00:07")
    assert figure_one.pair(runs.list_runs()) == {"relu": "d", "tanh": "g"}
    figure_run("h", "relu", "/data/cifar10", created="2026-11-29T10:00:08")
    change = {"step": 3, "epoch": 1, "old": 0.01, "new": 0.001}  # made by hand in epoch 1
    (runs_dir / "h" / "lr_events.json").write_text(json.dumps([change]))
    assert figure_one.pair(runs.list_runs()) == {"relu": "d", "tanh": "g"}, "h's rate changed"
    (runs_dir / "h" / "lr_events.json").write_text(json.dumps([{**change, "epoch": 2}]))
    assert figure_one.pair(runs.list_runs()) == {"relu": "h", "tanh": "g"}, "in a dropped epoch"
    (runs_dir / "h" / "lr_events.json").write_text("[{")
    assert figure_one.pair(runs.list_runs()) == {"relu": "d", "tanh": "g"}, "damaged: not known"


def test_a_runs_folder_linked_to_a_drive_not_there_is_named(tmp_path, monkeypatch):
    from alexnet_core import training

    link = tmp_path / "runs"
    link.symlink_to(tmp_path / "unmounted" / "runs")
    with pytest.raises(FileNotFoundError, match=r"links to .*unmounted/runs, which is not there"):
        runs.create_run_dir("tiny", link)
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(link))
    tiny = TrainConfig(dataset="sample", epochs=1, train_subset=64, batch_size=32)
    with pytest.raises(
        OSError,
        match=r"Nothing was started: a run folder cannot be written in "
        r".*runs \(it links to .*unmounted/runs, which is not there\)\.",
    ):
        training.start_training(PRESETS["tiny"], tiny)
    assert not (tmp_path / "unmounted").exists()
