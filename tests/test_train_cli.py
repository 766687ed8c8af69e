"""The command-line trainer: options map onto the configs, bad ones exit 2, a real run works."""

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from alexnet_core import config, figure_one, progress_lines, run_logs, train
from alexnet_core.presets import PRESETS, TRAIN_PRESETS

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "alexnet_core.train", *args], cwd=ROOT, env=env or os.environ,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_options_override_the_preset():
    args = train.build_parser().parse_args(
        ["--preset", "tiny", "--epochs", "3", "--learning-rate", "0.2", "--no-nesterov",
         "--schedule", "cosine", "--width", "0.5", "--pooling", "non_overlapping",
         "--augment-flip", "--conv-filters", "8", "16", "32", "32", "24", "--conv-kernels", "5",
         "3", "3", "3", "3", "--conv-groups", "1", "2", "1", "2", "2", "--conv-strides", "2", "1",
         "1", "1", "1"]
    )  # fmt: skip
    model_config, train_config = train.configs_from_args(args)
    assert (train_config.epochs, train_config.learning_rate, train_config.nesterov) == (
        3,
        0.2,
        False,
    )
    assert train_config.schedule == "cosine"
    assert train_config.batch_size == TRAIN_PRESETS["tiny"].batch_size  # untouched: the preset's
    assert model_config.width == 0.5 and model_config.augment_flip
    assert model_config.pooling == "non_overlapping"
    assert model_config.fc_units == PRESETS["tiny"].fc_units
    assert model_config.conv_widths() == (4, 8, 16, 16, 12)  # filters at width 0.5
    assert model_config.conv_kernels == (5, 3, 3, 3, 3)
    assert model_config.conv_strides == (2, 1, 1, 1, 1)
    assert model_config.two_gpus


def test_the_readmes_figure_one_command_is_the_train_pages_figure_one():
    """Train's "Set up the paper's figure 1" must be the comparison the README ran."""
    readme = (ROOT / "README.md").read_text()
    command = readme[readme.index("(`python -m alexnet_core.train --preset cifar_small") :]
    command = command[len("(`python -m alexnet_core.train ") : command.index("`, then `tanh`")]
    for activation in ("relu", "tanh"):
        args = command.replace("\n", " ").split()[:-1] + [activation]  # the README's, then tanh
        args = train.build_parser().parse_args(args)
        model_config, train_config = train.configs_from_args(args)
        train_config = dataclasses.replace(train_config, dataset="auto")
        assert (model_config, train_config) == figure_one.configs(activation)
        assert figure_one.matches(model_config, train_config)
        assert not figure_one.matches(model_config.replace(dropout=0.1), train_config)
        assert not figure_one.matches(
            model_config, dataclasses.replace(train_config, label_smoothing=0.1)
        )
        free = dict(epochs=20, learning_rate=0.03, seed=1, dataset="/data/cifar10.zip")
        longer = dataclasses.replace(train_config, **free)  # a run of it, as its figure_one.FREE
        assert figure_one.matches(model_config.for_dataset(32, 5), longer)  # 5 classes
        short = train.build_parser().parse_args(["--figure-one", "--activation", activation])
        assert train.configs_from_args(short) == figure_one.configs(activation)
    given = train.build_parser().parse_args(["--figure-one", "--learning-rate", "0.03"])
    model_config, train_config = train.configs_from_args(given)  # the README's other rate
    assert figure_one.configs("relu") == (
        model_config,
        dataclasses.replace(train_config, learning_rate=0.01),
    )
    both = train.build_parser().parse_args(["--figure-one", "--preset", "tiny"])
    with pytest.raises(ValueError, match="--figure-one sets up its own network"):
        train.configs_from_args(both)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "error: --epochs: got 0"),
        (["--batch-size", "-4"], "error: --batch-size: got -4"),
        (["--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--learning-rate", "fast"], "invalid float value: 'fast'"),
        (["--width", "-1"], "error: --width: got -1.0"),
        (["--conv-filters", "8", "16", "32"], "expected 5 arguments"),
        (["--conv-kernels", "5", "3", "3", "3", "0"], "error: --conv-kernels: got (5, 3, 3, 3, 0)"),
        (["--dataset", "/no/such/cifar.zip", "--epochs", "1"], "/no/such/cifar.zip"),
        (["--preset", "paper", "--width", "0.3"], "conv2 is split into 2 groups"),
        (["--preset", "tiny", "--input-size", "8"], "resized to (--input-size, now 8)"),
        (["--preset", "paper", "--conv-strides", "4", "4", "4", "4", "4"], "(--input-size, now"),
        (
            ["--preset", "tiny", "--dataset", "sample", "--devices", "banana"],
            "error: --devices: no device 'banana'",
        ),  # fmt: skip
        (["--continue", "README.md"], "error: README.md: a file, not a run folder"),
        (["--continue", ""], "error: --continue: give a run folder or a run id, not an empty one"),
        (["--continue", "README.md", "--figure-one"], "apply, not --figure-one"),
        (["--figure-one", "--preset", "tiny"], "error: --figure-one sets up its own network"),
        (["--dataset", " "], "error: --dataset: got ' ', expected 'auto', 'sample', 'keras' or"),
        (
            ["--continue", "some-run", "--learning-rate", "0.1", "--preset", "tiny"],
            "--runs-dir (where to find its id) and --quiet apply, not --preset, --learning-rate",
        ),  # fmt: skip
    ],
)
def test_bad_options_exit_2_with_a_message(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_one_epoch_run_writes_a_run_folder(tmp_path):
    # The decode cache stays the session's (conftest), so the sample is decoded once.
    env = {**os.environ, "ALEXNET_RUNS_DIR": str(tmp_path / "runs"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = run_cli("--preset", "tiny", "--dataset", "sample", "--epochs", "1",
                     "--train-subset", "256", "--conv-kernels", "3", "3", "3", "3", "15",
                     "--batch-size", "10000000", env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "note: conv5: its 15x15 kernel sees a 7x7 map, so only 13x13 of its weights" in (
        result.stderr)  # fmt: skip
    # a batch larger than the data is all of it: its memory is the 256 images' (10,000,000
    # would need terabytes)
    assert ("warning: The batch of 10,000,000 is larger than the 256 training images: every "
            "epoch is a single optimizer step.") in result.stderr.splitlines()  # fmt: skip
    (run_dir,) = (tmp_path / "runs").iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["epochs_done"]) == ("finished", 1)
    assert (run_dir / "best.keras").is_file() and (run_dir / "last.keras").is_file()
    assert "epoch 1/1: loss" in result.stderr and "test accuracy" not in result.stderr
    assert "; test accuracy " in result.stdout, "the summary is the output"
    assert "data: CIFAR-10 sample bundled with the app" in result.stderr
    assert "256 train / 400 validation / 1,000 test images, 10 classes" in result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["training"]["train_subset"] == 256 and config["model"]["preset"] == "tiny"
    (row,) = [line for line in result.stderr.splitlines() if line.startswith("epoch 1/1:")]
    (epoch,) = run_logs.load_history(run_dir)  # the epoch's own speed, not the last batches'
    assert epoch["images"] == 256
    assert row.endswith(f" {epoch['images'] / epoch['seconds']:,.0f} img/s")

    config["training"]["devices"] = "/gpu:7"  # as if trained on a machine with eight GPUs
    (run_dir / "config.json").write_text(json.dumps(config))
    elsewhere = {**env, "ALEXNET_RUNS_DIR": str(tmp_path / "elsewhere")}  # found by --runs-dir
    result = run_cli("--continue", run_dir.name, "--runs-dir", str(tmp_path / "runs"),
                     "--epochs", "1", env=elsewhere, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    moved = "devices: the run's '/gpu:7' cannot be placed here, so it goes on with 'auto'"
    assert moved in result.stderr.splitlines()
    assert "epoch 1/2" not in result.stderr, "the first epoch was reported again"
    assert "epoch 2/2: loss" in result.stderr
    total = json.loads((run_dir / "status.json").read_text())["duration_s"]
    said = re.search(r"finished after 2 epochs \(1 this time\) in (\d+) s", result.stdout)
    # status.json keeps the seconds to two decimals: 3.495 may print as 3 beside its 3.50
    assert said and abs(int(said[1]) - total) <= 0.51, result.stderr


@pytest.mark.parametrize(
    ("seconds", "clock"),
    [
        (0.4, "00:00:00"),
        (59.6, "00:01:00"),
        (3725, "01:02:05"),
        (100 * 3600 + 125, "100:02:05"),
    ],  # fmt: skip
)
def test_the_progress_bar_counts_hours_past_a_day(seconds, clock):
    assert progress_lines.clock(seconds) == clock


def test_a_shift_is_checked_against_the_image_size_given():
    parse = train.build_parser().parse_args
    model, data = train.configs_from_args(parse(["--preset", "tiny", "--image-size", "64",
                                                 "--augment-shift", "40"]))  # fmt: skip
    assert (model.image_size, model.augment_shift, data.image_size) == (64, 40, 64)
    with pytest.raises(ValueError, match="augment_shift: got 40"):  # tiny loads 32x32 images
        train.configs_from_args(parse(["--preset", "tiny", "--augment-shift", "40"]))


def test_the_progress_bar_fits_the_terminal(monkeypatch):
    """A line that wraps leaves a row behind that the next redraw does not clear."""
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((40, 24)))
    assert progress_lines.fit("x" * 100) == "x" * 38 + "…"
    assert progress_lines.fit("short") == "short"
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: (_ for _ in ()).throw(OSError()))
    assert len(progress_lines.fit("x" * 100)) == 79, "no terminal: 80 columns"


def test_the_data_line_lists_what_was_left_out(tmp_path):
    dataset = {"name": "image folder /data/pets", "num_train": 90, "num_val": 10,
               "num_test": 20, "class_names": ["cat", "dog"], "left_out": 3,
               "left_out_first": ["cat/notes.txt: not an image", "val/: left out"]}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"dataset": dataset}))
    assert progress_lines.data_line(tmp_path).splitlines() == [
        "data: image folder /data/pets: 90 train / 10 validation / 20 test images, 2 classes, "
        "3 left out:",
        "  cat/notes.txt: not an image",
        "  val/: left out",
        "  ... and 1 more",
    ]


def test_the_summary_says_what_its_figures_leave_out():
    snap = types.SimpleNamespace(
        status="finished", epochs_done=2, duration_s=61.4, device="CPU", cut_short=None,
        test_accuracy=0.5, test_loss=1.25, error="", run_dir="runs/r",
        train_config=config.TrainConfig(label_smoothing=0.1, mixed_precision=True),
    )  # fmt: skip
    assert progress_lines.summary(snap, 2) == (
        "finished after 2 epochs in 61 s on CPU; test accuracy 0.5000 (loss 1.2500, without "
        "label smoothing); mixed precision was off: it needs a GPU\nrun folder: runs/r"
    )
    snap.train_config, snap.device = config.TrainConfig(mixed_precision=True), "GPU:0 (H200)"
    assert "(loss 1.2500); " not in progress_lines.summary(snap, 1)  # nothing left out to say
    assert progress_lines.summary(snap, 1).startswith(
        "finished after 2 epochs (1 this time) in 61 s on GPU:0 (H200); test accuracy 0.5000 "
        "(loss 1.2500)\n"
    )


def test_a_continue_says_it_left_the_runs_devices_only_when_it_had_to():
    assert train._fallback_note("gpu", None, "auto") == (
        "devices: the run's 'gpu' cannot be placed here, so it goes on with 'auto'")  # fmt: skip
    assert train._fallback_note("auto", "cpu", "cpu") is None, "--devices cpu was asked for"
    assert train._fallback_note("auto", None, "auto") is None
    assert train._fallback_note(None, None, "auto") is None  # a folder that is no run


def test_continue_finds_a_run_by_its_id_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    (tmp_path / "20260101-000000-tiny").mkdir()
    assert train._run_folder("20260101-000000-tiny") == str(tmp_path / "20260101-000000-tiny")
    assert train._run_folder("elsewhere/20260101-000000-tiny") == "elsewhere/20260101-000000-tiny"
    assert train._run_folder("no-such-run") == "no-such-run", "left for the error to name"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "times", "status"),
    [
        (signal.SIGINT, 1, 130),  # Ctrl-C
        (signal.SIGTERM, 2, 143),  # timeout or a scheduler: the process, then its group
        (signal.SIGHUP, 1, 129),  # the ssh connection dropped
    ],
)
def test_a_stop_signal_stops_the_run_and_keeps_its_checkpoints(tmp_path, stop, times, status):
    env = {**os.environ, "ALEXNET_RUNS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = ["--preset", "tiny", "--dataset", "sample", "--epochs", "50", "--batch-size", "8",
            "--train-subset", "256"]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "alexnet_core.train", *args], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("*/last.keras")) and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(times):  # a second one soon after is the same stop, not a quit
            process.send_signal(stop)
            time.sleep(0.2)  # else the two arrive as one
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    assert "stopping after this batch" in stderr and "Traceback" not in stderr
    assert stdout.startswith("stopped after ") and "run folder: " in stdout, stdout
    assert "nothing was saved" not in stdout, "last.keras was there before the stop"
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "stopped"
    assert not list(run_dir.glob("tmp-*"))


@pytest.mark.slow
def test_a_closed_pipe_silences_the_trainer_not_the_training(tmp_path):
    """`... 2>&1 | head -3`: the reader goes, the run trains on to its end."""
    env = {**os.environ, "ALEXNET_RUNS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = ["--preset", "tiny", "--dataset", "sample", "--epochs", "3", "--train-subset", "256"]
    process = subprocess.Popen([sys.executable, "-m", "alexnet_core.train", *args], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        lines = iter(process.stderr.readline, "")  # TensorFlow's start-up notes come first
        assert any(line.startswith("run folder: ") for line in lines)
        process.stderr.close()  # the epoch lines to come meet a closed pipe
        process.stdout.close()  # and so does the summary
        assert process.wait(timeout=180) == 0
    finally:
        process.kill()
    (run_dir,) = tmp_path.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["epochs_done"]) == ("finished", 3)


def catches(pid: int, number: int) -> bool:
    """Whether process `pid` has a handler for signal `number` (Linux's SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)[1], 16)
    return bool(caught >> (number - 1) & 1)


def trainer(tmp_path, *args, **popen):
    env = {**os.environ, "ALEXNET_RUNS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "alexnet_core.train", *args], cwd=ROOT,
                            env=env, text=True, **popen)  # fmt: skip


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_stop_signal_before_training_exits_with_its_own_status(tmp_path):
    """SIGTERM while TensorFlow loads: 143, as during training, not Ctrl-C's 130."""
    process = trainer(tmp_path, "--preset", "tiny", "--dataset", "sample", "--epochs", "1",
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_for(lambda: catches(process.pid, signal.SIGTERM), 30, "the trainer's handler")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, stderr
    assert "interrupted before training started" in stderr and "Traceback" not in stderr
    assert not list(tmp_path.iterdir()), "no run folder"


def test_ctrl_c_twice_quits_at_once(monkeypatch, tmp_path, capsys):
    """A second Ctrl-C, a second after the first, while the stop is still under way (a long
    test pass, say): the trainer quits at once, with os._exit (SystemExit would tear down the
    training thread inside TensorFlow, which can abort the process)."""
    from alexnet_core import fitting, training

    release = threading.Event()

    def slow_to_stop(job, data):
        job.begin("CPU")
        release.wait(60)
        return "stopped"

    class Quit(Exception):
        pass

    def exit_now(status):
        raise Quit(status)

    def ctrl_c_twice(before):
        wait_for(lambda: signal.getsignal(signal.SIGINT) is not before, 30, "_follow's handler")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(train.REPEAT_S + 0.2)  # not the first one sent twice
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(fitting, "fit", slow_to_stop)
    monkeypatch.setattr(os, "_exit", exit_now)
    tiny = config.TrainConfig(dataset="sample", epochs=1, train_subset=64, batch_size=32)
    job = training.start_training(PRESETS["tiny"], tiny, runs_dir=tmp_path)
    presser = threading.Thread(target=ctrl_c_twice, args=(signal.getsignal(signal.SIGINT),))
    presser.start()
    try:
        with pytest.raises(Quit) as quit_:
            train._follow(job, quiet=True)
    finally:
        presser.join()
        release.set()
        assert job.wait(60)
    assert quit_.value.args == (130,)
    said = capsys.readouterr().err
    assert "stopping after this batch (Ctrl-C again to quit at once)" in said
    assert "quit; the run reads as interrupted (go on with --continue)" in said


@pytest.mark.slow
def test_a_closed_stderr_leaves_stdout_to_the_result(tmp_path):
    """`... > result.txt 2>&-`: the progress goes nowhere, the run trains, the summary is all
    that stdout holds."""
    process = trainer(tmp_path, "--preset", "tiny", "--dataset", "sample", "--epochs", "1",
                      "--train-subset", "128", stdout=subprocess.PIPE,
                      preexec_fn=lambda: os.close(2))  # fmt: skip
    try:
        stdout, _ = process.communicate(timeout=180)
    finally:
        process.kill()
    assert process.returncode == 0, stdout
    summary, folder = stdout.splitlines()  # and no progress: no "data:" or epoch lines
    assert summary.startswith("finished after 1 epoch in ") and folder.startswith("run folder: ")
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
