"""The benchmark scripts run, on tiny settings, and print the numbers they promise."""

import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from alexnet_core import (
    checkpoints,
    config,
    data,
    filters,
    fitting,
    presets,
    report,
    run_logs,
    runs,
    training,
)
from bench import (
    accuracy,
    common,
    epoch_start,
    estimate,
    latency,
    memory,
    throughput,
    time_to_error,
    towers,
)

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], env: dict | None = None, timeout: int = 240) -> str:
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
                          capture_output=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match[1].replace(",", ""))


# Imported first by Python (sitecustomize on PYTHONPATH): the GPU machine has none of these.
NOT_ON_THE_GPU_MACHINE = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "plotly", "streamlit"):
            raise ImportError(f"{name} is not installed on the GPU machine")
sys.meta_path.insert(0, Absent())
"""


@pytest.mark.slow
def test_gpu_script_check_trains_under_the_jax_backend(tmp_path):
    """What bench/gpu.sh runs on the GPU machine, here on the CPU: Keras on JAX, and neither
    TensorFlow nor the app's libraries to import."""
    (tmp_path / "sitecustomize.py").write_text(NOT_ON_THE_GPU_MACHINE)
    probe = [sys.executable, "-c", "import tensorflow"]
    blocked = subprocess.run(probe, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                             capture_output=True, text=True)  # fmt: skip
    assert "tensorflow is not installed on the GPU machine" in blocked.stderr
    env = {"PYTHON": sys.executable, "PYTHONPATH": str(tmp_path)}
    out = run(["bash", "bench/gpu.sh", "check"], env=env)
    brought = [line for line in out.splitlines() if "/runs/" in line]  # what $OUT would hold
    assert {Path(line).name for line in brought} >= {"history.csv", "status.json", "config.json"}
    assert out.count("on jax") == 2  # each script's machine line names the backend
    assert number(r"tiny\s+32\s+([\d,.]+)", out) > 0  # training images per second
    accuracy = number(r"tiny\s+0\s+1\s+([\d.]+)", out)  # preset, seed, epochs, test accuracy
    assert 0.0 <= accuracy <= 1.0


def test_a_time_budget_becomes_whole_epochs_with_a_margin():
    assert accuracy.epochs_for(20, 125) == 8  # 1200 s / (1.15 x 125 s) = 8.3
    assert accuracy.epochs_for(20, 100) == 10  # 1200 / 115 = 10.4
    assert accuracy.epochs_for(0.01, 125) == 1  # always at least one


def test_minutes_are_timed_with_the_runs_own_settings_less_its_build_and_test(monkeypatch):
    """--minutes times steps as the run trains (a GPU run's mixed precision and devices), and
    the build and the test pass happen once, not each epoch."""
    from alexnet_core.estimate import RunEstimate
    from alexnet_core.presets import PRESETS

    asked = []

    def timed(model_config, train_config, *counts, **options):
        asked.append((train_config, counts, options["checkpoints_per_epoch"]))
        return RunEstimate(build_s=40, train_s=20, validation_s=5, checkpoint_s=1, test_s=20)

    monkeypatch.setattr(accuracy, "estimate_run", timed)
    dataset = types.SimpleNamespace(y_train=range(1000), y_val=range(100), y_test=range(200))
    settings = config.TrainConfig(mixed_precision=True, devices="gpu", train_subset=500)
    # 5 minutes less 60 s once: 240 s for epochs of 26 s with the margin, 240 / 29.9 = 8.03
    assert accuracy.epochs_within(5, PRESETS["tiny"], settings, dataset) == 8
    assert asked == [(settings, (500, 100, 200), 2)]


def test_accuracy_bench_scores_a_finished_run_again_with_the_same_numbers(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    accuracy.main(["--preset", "tiny", "--dataset", "sample", "--epochs", "1", "--seed", "3",
                   "--train-subset", "128", "--augment-flip", "--augment-shift", "2",
                   "--label-smoothing", "0.2", "--runs-dir", str(tmp_path / "runs")])  # fmt: skip
    trained = capsys.readouterr().out.splitlines()
    (run_dir,) = (tmp_path / "runs").iterdir()
    accuracy.main(["--score", str(run_dir)])
    scored = capsys.readouterr().out.splitlines()
    written = [json.loads(p.read_text()) for p in sorted((tmp_path / "results").iterdir())]
    assert len(written) == 2 and all(w["version"] == 2 for w in written)
    (epoch,) = run_logs.load_history(run_dir)
    for result in (w["results"][0] for w in written):
        assert result["epoch_seconds"] == [round(epoch["seconds"], 2)]
        assert result["test_loss"] == pytest.approx(result["test_ce"], abs=1e-4)  # no smoothing
    machine = written[0]["machine"]
    assert machine["matmul_gflops"] > 0 and set(machine["cpu_flags"]) <= set(common.CPU_FLAGS)
    trained, scored = trained[:-2], scored[:-2]  # the lines naming the JSON files
    header = "preset  seed  epochs  test acc  test CE  flip-TTA acc  ten-patch acc"
    assert trained[-2].startswith(header) and scored[-2].startswith(header)
    # preset, seed, epochs and the four test numbers; the wall times are measured differently
    row = trained[-1].split()[:7]
    assert scored[-1].split()[:7] == row and row[:3] == ["tiny", "3", "1"]  # --seed counts
    assert all(0 <= float(value) <= 1 for value in row[3:4] + row[5:7])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A finished tiny run on the bundled sample, for the tests that score one again."""
    settings = config.TrainConfig(dataset="sample", epochs=1, train_subset=64, batch_size=32)
    runs_dir = tmp_path_factory.mktemp("runs")
    job = training.start_training(presets.PRESETS["tiny"], settings, runs_dir=runs_dir)
    assert job.wait(timeout=120) and job.snapshot().status == "finished"
    return job.run_dir


def changed_sample(path: Path, change) -> str:
    """The bundled sample zip written again at `path`, each member under the name
    change(name), or left out where that is None."""
    with zipfile.ZipFile(data.SAMPLE_PATH) as sample, zipfile.ZipFile(path, "w") as copy:
        for name in sample.namelist():
            if change(name) is not None:
                copy.writestr(change(name), sample.read(name))
    return str(path)


def test_accuracy_bench_scores_a_run_only_on_the_data_it_trained_with(tiny_run, tmp_path, capsys):
    score = ["--score", str(tiny_run), "--no-save", "--dataset"]
    accuracy.main([*score, changed_sample(tmp_path / "same.zip", lambda name: name)])
    assert re.search(r"^tiny\s+0\s+1\s", capsys.readouterr().out, re.MULTILINE)  # same images
    with zipfile.ZipFile(data.SAMPLE_PATH) as sample:
        first_test = next(name for name in sample.namelist() if name.startswith("test/"))
    other_data = {
        "less.zip": (lambda name: None if name == first_test else name, "not the ones run"),
        "renamed.zip": (lambda name: name.replace("/airplane/", "/aeroplane/"),
                        "['aeroplane', 'automobile',"),
    }  # fmt: skip
    for file, (change, said) in other_data.items():
        with pytest.raises(SystemExit) as refused:
            accuracy.main([*score, changed_sample(tmp_path / file, change)])
        last = capsys.readouterr().err.splitlines()[-1]
        assert refused.value.code == 2 and last.startswith("python -m bench.accuracy: error: ")
        assert said in last and tiny_run.name in last


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--score", "{run}", "--dataset", "{tmp}/nowhere"], "nowhere: no such file or folder"),
        (["--score", "{tmp}"], "not a run folder (it has no config.json)"),
        (["--preset", "tiny", "--dataset", "{tmp}/nowhere"], "nowhere: no such file or folder"),
        (["--preset", "tiny", "--epochs", "0"], "epochs: got 0, expected at least 1"),
    ],
)
def test_accuracy_bench_says_what_is_wrong_in_one_line(argv, said, tiny_run, tmp_path, capsys):
    argv = [a.format(run=tiny_run, tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as refused:
        accuracy.main([*argv, "--no-save"])
    assert refused.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(said)
    assert not (tmp_path / "runs").exists()  # nothing trained


def test_accuracy_bench_reports_the_accuracy_of_the_test_pass_that_gives_its_loss(
    tiny_run, tmp_path, capsys
):
    run_dir = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps(status | {"test_accuracy": 0.0123}))
    accuracy.main(["--score", str(run_dir), "--no-save"])
    out = capsys.readouterr().out
    row = re.search(r"^tiny\s+0\s+1\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s", out, re.MULTILINE)
    train_config = runs.read_run(run_dir).train_config
    dataset = data.load_dataset("sample", validation_fraction=train_config.validation_fraction,
                                seed=train_config.seed)  # fmt: skip
    probabilities = checkpoints.load_checkpoint(run_dir, "last").predict(dataset.x_test, verbose=0)
    labels = dataset.y_test
    top1 = np.mean(probabilities.argmax(axis=1) == labels)
    cross_entropy = -np.mean(np.log(probabilities[np.arange(len(labels)), labels]))
    assert float(row[1]) == pytest.approx(top1, abs=1e-4) and float(row[1]) != 0.0123
    assert float(row[2]) == pytest.approx(cross_entropy, rel=1e-3)
    assert row[3] == row[4] == "—", "tiny trains without flips: no views to score"


def test_accuracy_bench_stops_on_ctrl_c_as_the_trainer_does(tmp_path, monkeypatch, capsys):
    waits = []

    def ctrl_c_once(job, timeout=None):  # Ctrl-C in the first wait, then the real waits
        waits.append(timeout)
        if len(waits) == 1:
            raise KeyboardInterrupt
        return real_wait(job, timeout)

    real_wait = training.TrainingJob.wait
    monkeypatch.setattr(training.TrainingJob, "wait", ctrl_c_once)
    with pytest.raises(SystemExit) as stopped:
        accuracy.main(["--preset", "tiny", "--dataset", "sample", "--train-subset", "64",
                       "--epochs", "5", "--runs-dir", str(tmp_path), "--no-save"])  # fmt: skip
    assert stopped.value.code == 130
    (run_dir,) = tmp_path.iterdir()
    assert runs.read_run(run_dir).status == "stopped"
    assert f"The run folder keeps what it learned: {run_dir}" in capsys.readouterr().err


def test_throughput_bench_prints_each_batch_sizes_rows_and_refuses_unknown_presets(capsys):
    throughput.main(["--presets", "tiny", "--batch-sizes", "8", "16", "--steps", "1",
                     "--no-tutorial-code", "--overhead-images", "0", "--no-save"])  # fmt: skip
    out = capsys.readouterr().out
    per_batch = re.findall(r"^tiny\s+(\d+)\s", out, re.MULTILINE)
    assert per_batch == ["8", "16", "8", "16"], "one row each, then the whole table"
    with pytest.raises(SystemExit) as refused:
        throughput.main(["--presets", "cifar-small"])
    assert refused.value.code == 2 and "invalid choice: 'cifar-small'" in capsys.readouterr().err


def test_the_live_jobs_overhead_takes_turns_and_keeps_every_runs_time(runs_dir, monkeypatch):
    from alexnet_core import training

    order = []
    start_training = training.start_training
    monkeypatch.setattr(training, "start_training",
                        lambda *a, **k: order.append("job") or start_training(*a, **k))  # fmt: skip
    build = throughput.build_alexnet
    monkeypatch.setattr(throughput, "build_alexnet", lambda c: order.append("plain") or build(c))
    got = throughput.job_overhead("tiny", 32, 32, epochs=1, repeats=2)
    assert order == ["plain", "job", "job", "plain"], "neither side always runs first"
    assert len(got["plain runs s"]) == len(got["job runs s"]) == 2
    assert got["plain fit s"] == pytest.approx(min(got["plain runs s"]), abs=0.01)
    assert got["live job s"] == pytest.approx(min(got["job runs s"]), abs=0.01)
    ratio = got["live job s"] / got["plain fit s"]
    assert got["overhead %"] == pytest.approx(100 * (ratio - 1))


@pytest.mark.parametrize(
    "bench, argv",
    [
        (throughput, ["--steps", "0"]),
        (throughput, ["--batch-sizes", "8", "0"]),
        (throughput, ["--batch-sizes", "-8"]),
        (throughput, ["--steps", "two"]),
        (throughput, ["--overhead-images", "-1"]),  # 0 skips it
        (latency, ["--repeats", "0"]),
        (epoch_start, ["--images", "0"]),
        (epoch_start, ["--epochs", "-1"]),
        (epoch_start, ["--batch-size", "1.5"]),
        (memory, ["--fc-units", "4096", "0"]),
        (memory, ["--batch-sizes", "-16"]),
    ],
)
def test_speed_benches_refuse_counts_below_one_before_measuring(bench, argv, capsys):
    with pytest.raises(SystemExit) as refused:
        bench.main([*argv, "--no-save"])
    out, err = capsys.readouterr()
    least = 0 if argv[0] == "--overhead-images" else 1
    assert refused.value.code == 2 and out == ""  # not even the machine line: nothing ran
    assert err.splitlines()[-1].endswith(
        f"argument {argv[0]}: got {argv[-1]!r}, expected a whole number of at least {least}"
    )


def test_accuracy_refuses_minutes_that_leave_no_time_and_latency_a_folder_that_is_no_run(
    tmp_path, capsys
):
    with pytest.raises(SystemExit) as refused:
        accuracy.main(["--minutes", "-2", "--no-save"])
    assert refused.value.code == 2 and capsys.readouterr().err.splitlines()[-1].endswith(
        "argument --minutes: got -2, expected more than 0"
    )
    with pytest.raises(SystemExit) as refused:
        latency.main(["--run", str(tmp_path), "--no-save"])
    err = capsys.readouterr().err.splitlines()[-1]
    assert refused.value.code == 2 and err.startswith("python -m bench.latency: error: argument "
                                                      f"--run: {tmp_path}")  # fmt: skip
    with pytest.raises(SystemExit) as refused:
        latency.main(["--run", str(tmp_path / "gone"), "--no-save"])
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.endswith(f"argument --run: {tmp_path / 'gone'}: no such run folder")


def test_estimate_bench_sets_the_estimate_beside_the_run(capsys):
    estimate.main(["--train-subset", "64", "--epochs", "2", "--no-save"])
    out = capsys.readouterr().out
    figures = ["first epoch (with the build)", "each later epoch", "the run (2 epochs, test pass)",
               "the run, from the call to the end"]  # fmt: skip
    rows = [re.search(rf"^{re.escape(f)}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out, re.M)
            for f in figures]  # fmt: skip
    assert all(rows), out
    for row in rows:  # measured / estimated is the two figures' ratio, as printed
        estimated, measured, ratio = map(float, row.groups())
        assert estimated > 0 and ratio == pytest.approx(measured / estimated, rel=0.01, abs=1e-3)
    assert float(rows[3][2]) >= float(rows[2][2]), "the wall time holds the run's own time"


def test_memory_bench_sets_the_peak_training_took_beside_the_floor(capsys):
    # Dense layers of 4096 on tiny's convs: 17.9 M parameters, a floor of about 200 MiB.
    memory.main(["--preset", "tiny", "--fc-units", "4096", "--batch-sizes", "8", "--no-save"])
    out = capsys.readouterr().out
    number = r"([\d.e+-]+)"
    row = re.search(rf"^4096\s+8\s+(\d+)\s+{number}\s+{number}\s+{number}\s*$", out, re.M)
    assert row, out
    parameters, floor, added, ratio = int(row[1]), *map(float, row.groups()[1:])
    config = presets.PRESETS["tiny"].replace(fc_units=4096, num_classes=10)
    assert parameters == report.plan_layers(config).total_params
    weights, outputs = fitting.training_memory(config, 8, "sgd")
    assert floor == pytest.approx((weights + outputs) / 2**30, rel=1e-3)
    assert added > floor, "the floor is a floor: training took more"
    assert ratio == pytest.approx(added / floor, rel=0.01)


def test_epoch_start_bench_says_when_the_data_cannot_be_used(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        epoch_start.main(["--dataset", str(tmp_path / "nowhere"), "--no-save"])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and err.splitlines()[-1].endswith("no such file or folder")
    assert "Traceback" not in err


def test_epoch_start_bench_times_each_feed_and_epoch(capsys):
    epoch_start.main(["--preset", "tiny", "--dataset", "sample", "--images", "64",
                      "--epochs", "2", "--batch-size", "32", "--no-save"])  # fmt: skip
    out = capsys.readouterr().out
    rows = re.findall(r"^(Keras arrays|fitting\.batches)\s+(\d)\s+([\d.e-]+)\s+([\d.e-]+)\s*$",
                      out, re.MULTILINE)  # fmt: skip
    assert [(feed, epoch) for feed, epoch, _, _ in rows] == [
        ("Keras arrays", "1"), ("Keras arrays", "2"),
        ("fitting.batches", "1"), ("fitting.batches", "2"),
    ]  # fmt: skip
    assert all(0 <= float(wait) <= float(epoch) for _, _, wait, epoch in rows)
    assert "waits after the first epoch s" in out


def test_latency_bench_times_every_feature_layer(capsys):
    latency.main(["--preset", "tiny", "--repeats", "2", "--no-save"])
    out = capsys.readouterr().out
    assert re.search(r"^what\s+first ms\s+ms\s*$", out, re.MULTILINE)  # the first call, the rest
    assert number(r"classify one upload \(CIFAR JPEG 32x32\)\s+([\d.]+)", out) > 0
    assert number(r"classify one upload \(photo JPEG 1600x1200\)\s+[\d.]+\s+([\d.]+)", out) > 0
    grids = re.findall(r"whole-layer grid (\w+)", out)
    assert grids[:3] == ["conv1", "norm1", "pool1"] and "pool5" in grids


def test_towers_bench_reports_each_gpus_colour_filters_per_checkpoint(tmp_path, capsys):
    settings = config.TrainConfig(dataset="sample", epochs=2, train_subset=64, batch_size=32,
                                  save_every_epoch=True)  # fmt: skip
    split = presets.PRESETS["tiny"].with_gpus(2)
    job = training.start_training(split, settings, runs_dir=tmp_path / "split")
    assert job.wait(timeout=120)
    one = training.start_training(presets.PRESETS["tiny"], settings, runs_dir=tmp_path / "one")
    assert one.wait(timeout=120)
    towers.main([str(job.run_dir), str(one.run_dir), "--no-save"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["run", "two", "GPUs", "checkpoint"]
    rows = [line.split() for line in lines[2:]]
    assert [(row[1], row[2]) for row in rows] == [
        ("yes", "epoch_001"), ("yes", "epoch_002"), ("yes", "last"),
        ("no", "epoch_001"), ("no", "epoch_002"), ("no", "last"),
    ]  # fmt: skip
    kernels = checkpoints.load_checkpoint(job.run_dir, "last").get_layer("conv1").kernel.numpy()
    shares = filters.colour_share(kernels)  # tiny's conv1: 8 filters, 4 per GPU
    first, second = shares[:4], shares[4:]
    assert [float(v) for v in rows[2][3:5]] == pytest.approx(
        [first.mean(), second.mean()], abs=1e-3
    )
    counts = [int((first > 0.5).sum()), int((second > 0.5).sum())]
    assert [int(v) for v in rows[2][5:7]] == counts
    assert float(rows[2][7]) == pytest.approx(
        towers.chance_of_a_split(sum(counts), 8, counts[0]), abs=1e-3
    )


def test_towers_bench_says_when_a_folder_is_not_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        towers.main([str(tmp_path), "--no-save"])
    last = capsys.readouterr().err.splitlines()[-1]
    assert refused.value.code == 2 and last.startswith("python -m bench.towers: error: ")
    assert f"{tmp_path} is not a readable run folder" in last


def test_the_chance_of_a_split_counts_the_ways_to_halve():
    # Four filters, two of them colour, halved: 6 ways; 2 put both colour filters together.
    assert towers.chance_of_a_split(2, 4, 1) == 1.0  # an even share: any split is as uneven
    assert towers.chance_of_a_split(2, 4, 2) == towers.chance_of_a_split(2, 4, 0) == 2 / 6
    assert towers.chance_of_a_split(0, 24, 0) == 1.0
    assert towers.chance_of_a_split(7, 8, 4) == 1.0  # 7 colour filters of 8: 3 or 4 per GPU
    # 24 filters, 8 colour: all 8 on one GPU happens in 2 * C(16, 4) of C(24, 12) splits.
    assert towers.chance_of_a_split(8, 24, 8) == pytest.approx(2 * 1820 / 2704156)


def test_time_to_error_bench_finds_when_each_run_reached_the_error(tmp_path, capsys):
    """Two real tiny runs (ReLU, tanh); the tanh run's history is then set to known numbers."""
    settings = config.TrainConfig(dataset="sample", epochs=1, train_subset=64, batch_size=32)
    relu = training.start_training(presets.PRESETS["tiny"], settings, runs_dir=tmp_path / "a")
    assert relu.wait(timeout=120)
    tanh_config = presets.PRESETS["tiny"].replace(activation="tanh")
    tanh = training.start_training(tanh_config, settings, runs_dir=tmp_path / "b")
    assert tanh.wait(timeout=120)
    history = run_logs.load_history(relu.run_dir)
    (tanh.run_dir / "history.csv").write_text(
        "epoch,loss,accuracy,seconds\n1,2.0,0.50,10\n2,1.5,0.70,12\n3,1.0,0.80,11\n"
    )
    time_to_error.main([str(relu.run_dir), str(tanh.run_dir), "--error", "0.25", "--no-save"])
    out = capsys.readouterr().out
    tanh_row = next(line.split() for line in out.splitlines() if line.startswith(tanh.run_id))
    # tanh, batch, overlapping, rate 0.01, 3 epochs, reached in epoch 3 after 10 + 12 + 11 s
    assert tanh_row[1:9] == ["tanh", "batch", "overlapping", "0.01", "3", "3", "33", "0.2"]
    rows = time_to_error.compare(
        [time_to_error.time_to_error(str(d), 1.0) for d in (relu.run_dir, tanh.run_dir)]
    )
    assert rows[0]["activation"] == "relu" and rows[0]["epoch reached"] == 1
    assert rows[0]["seconds"] == pytest.approx(history[0]["seconds"])
    assert rows[1]["x seconds"] == pytest.approx(10 / history[0]["seconds"])
    never = time_to_error.time_to_error(str(tanh.run_dir), 0.1)
    assert never["epoch reached"] is None and never["seconds"] is None
    with pytest.raises(SystemExit):  # a folder that is not a run: a message, no traceback
        time_to_error.main([str(tmp_path), "--no-save"])
    assert "not a readable run folder" in capsys.readouterr().err
    (relu.run_dir / "history.csv").write_text("epoch,loss,accuracy,seconds\n")  # emptied
    with pytest.raises(ValueError, match="history.csv lists 0 epochs, but the run trained 1"):
        time_to_error.time_to_error(str(relu.run_dir), 0.25)
