"""Training over several devices and several workers with tf.distribute, on the CPU.

TensorFlow fixes its devices when it starts, so the two-device and two-worker runs happen in
fresh Python processes.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from alexnet_core import distribute
from tests.browser_support import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_cluster_reads_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster() == (1, True)
    two = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": two, "task": {"type": "worker",
                                                                       "index": 0}}))  # fmt: skip
    assert distribute.cluster() == (2, True)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": two, "task": {"type": "worker",
                                                                       "index": 1}}))  # fmt: skip
    assert distribute.cluster() == (2, False)
    with_chief = {**two, "chief": ["localhost:3"]}
    task = {"type": "worker", "index": 0}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": task}))
    assert distribute.cluster() == (3, False)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.cluster()


def test_device_settings(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    auto = distribute.place("auto")
    assert auto.replicas == 1 and auto.is_chief and auto.strategy is None
    cpu = distribute.place("cpu")
    assert cpu.replicas == 1 and cpu.devices[0].endswith("CPU:0")
    assert distribute.place("/cpu:0").devices == cpu.devices
    with pytest.raises(ValueError, match="^devices: no device 'tpu:7'"):
        distribute.place("tpu:7")
    with pytest.raises(ValueError, match="^devices: 'gpu'.*no GPU"):
        distribute.place("gpu")


TWO_DEVICES = textwrap.dedent(
    """
    import json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from alexnet_core import checkpoints, estimate, runs, training
    from alexnet_core.config import TrainConfig
    from alexnet_core.presets import PRESETS
    from alexnet_core.data import load_dataset

    dataset = load_dataset("sample", validation_fraction=0.2)
    results = {}
    compile_model, timed_on = estimate.compile_model, []
    def recorded(model, config):  # the replicas the estimate's steps run on
        timed_on.append(tf.distribute.get_strategy().num_replicas_in_sync)
        compile_model(model, config)
    estimate.compile_model = recorded
    for devices in ("cpu", "all"):
        config = TrainConfig(dataset="sample", epochs=2, batch_size=32, train_subset=512,
                             learning_rate=0.02, weight_decay=0.0, devices=devices)
        job = training.start_training(PRESETS["tiny"], config, dataset=dataset)
        job.wait()
        snap = job.snapshot()
        model = checkpoints.load_checkpoint(snap.run_dir, "last")
        status = json.loads((snap.run_dir / "status.json").read_text())
        results[devices] = {"status": snap.status, "error": snap.error,
                            "replicas": snap.replicas, "saved_replicas": status["replicas"],
                            "steps": int(model.optimizer.iterations.numpy()),
                            "val_accuracy": snap.epoch_history[-1]["val_accuracy"],
                            "device": snap.device,
                            "batch_correct": [r["batch_accuracy"] * 32 for r in snap.batch_history],
                            "estimate_s": estimate.estimate_run(PRESETS["tiny"], config,
                                                                512).train_s,
                            "estimate_replicas": timed_on[-1]}
    print(json.dumps(results))
    """
)


def run_python(code: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_mirrored_strategy_over_two_cpu_devices(tmp_path):
    done = run_python(TWO_DEVICES, {"ALEXNET_RUNS_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    one, two = results["cpu"], results["all"]
    assert one["status"] == two["status"] == "finished", (one["error"], two["error"])
    assert (one["replicas"], two["replicas"]) == (1, 2)
    # Train's time estimate times its steps where the run trains: on both replicas for 'all'.
    assert (one["estimate_replicas"], two["estimate_replicas"]) == (1, 2)
    assert one["estimate_s"] > 0 and two["estimate_s"] > 0
    assert two["saved_replicas"] == 2 and "2 replicas" in two["device"]
    # The global batch is split across the replicas: the same number of optimizer steps.
    assert one["steps"] == two["steps"] == 2 * (512 // 32)
    assert abs(one["val_accuracy"] - two["val_accuracy"]) < 0.1
    assert two["val_accuracy"] > 0.15  # it learned something (chance is 0.10)
    # Each batch's own accuracy counts the whole global batch, split over replicas or not.
    for correct in (one["batch_correct"], two["batch_correct"]):
        assert len(correct) == 32 and np.allclose(correct, np.round(correct), atol=1e-3)


def run_two_workers(options: list[str], logs: Path) -> list[str]:
    """`python -m alexnet_core.train` with `options` as two workers on loopback; their logs'
    ends, after both exited 0."""
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    command = [sys.executable, "-m", "alexnet_core.train", *options, "--quiet"]
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        log = open(logs / f"worker{index}.log", "w")  # noqa: SIM115 (closed below)
        env = {**os.environ, "TF_CONFIG": tf_config}
        workers.append((subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT), log))  # fmt: skip
    codes = []
    for process, log in workers:
        try:
            codes.append(process.wait(timeout=300))
        finally:
            process.kill()
            log.close()
    texts = [(logs / f"worker{i}.log").read_text()[-2000:] for i in range(2)]
    assert codes == [0, 0], texts
    return texts


def test_two_workers_on_loopback_write_one_run_folder_and_continue_it(tmp_path):
    runs_dir = tmp_path / "runs"
    logs = run_two_workers(["--preset", "tiny", "--dataset", "sample", "--epochs", "1",
                            "--train-subset", "256", "--batch-size", "32",
                            "--runs-dir", str(runs_dir)], tmp_path)  # fmt: skip
    folders = list(runs_dir.iterdir())
    assert len(folders) == 1, folders
    status = json.loads((folders[0] / "status.json").read_text())
    assert status["status"] == "finished" and status["workers"] == 2 and status["replicas"] == 2
    assert status["epochs_done"] == 1 and 0 < status["test_accuracy"] <= 1
    assert (folders[0] / "last.keras").is_file()
    assert "across 2 workers" in logs[0]

    neighbour = runs_dir / "another-run"  # the helper worker once deleted the whole runs folder
    neighbour.mkdir()
    run_two_workers(["--continue", str(folders[0]), "--epochs", "1"], tmp_path)
    assert neighbour.is_dir()
    status = json.loads((folders[0] / "status.json").read_text())
    assert status["status"] == "finished" and status["epochs_done"] == 2
    assert len((folders[0] / "history.csv").read_text().splitlines()) == 3  # header + 2 epochs
