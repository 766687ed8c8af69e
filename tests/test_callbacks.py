"""The Checkpoints callback on its own: a tiny model, a run folder and a stand-in job."""

from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet_core import checkpoints
from alexnet_core.callbacks import Checkpoints, Diverged
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS

IMAGES = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)


class StandInJob:
    """What Checkpoints reads and calls on its TrainingJob, recording the calls."""

    def __init__(self, run_dir: Path, best_metric: str = "val_accuracy"):
        self.run_dir, self.best_metric = run_dir, best_metric
        self.epochs_done = 0
        self.recorded: list[tuple[int, float | None]] = []

    def record_checkpoint(self, epoch: int, best: float | None) -> None:
        self.epochs_done = epoch
        self.recorded.append((epoch, best))


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return build_alexnet(PRESETS["tiny"])


def new_weights(model, seed: int) -> list[np.ndarray]:
    """Give `model` other weights (as an epoch of training would) and return them."""
    rng = np.random.default_rng(seed)
    weights = [w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()]
    model.set_weights(weights)
    return weights


def saved_weights(run_dir: Path, which: str) -> list[np.ndarray]:
    return checkpoints.load_checkpoint(run_dir, which).get_weights()


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_best_keeps_the_best_epoch_while_last_moves_on(tmp_path, model):
    job = StandInJob(tmp_path)
    callback = Checkpoints(job, save_every_epoch=False)
    callback.set_model(model)

    first = new_weights(model, 1)
    callback.on_epoch_end(0, {"val_accuracy": 0.5, "accuracy": 0.9})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "last.keras"]
    assert_same_weights(saved_weights(tmp_path, "best"), first)
    best_bytes = (tmp_path / "best.keras").read_bytes()

    second = new_weights(model, 2)
    callback.on_epoch_end(1, {"val_accuracy": 0.4, "accuracy": 0.95})  # worse on validation
    assert (tmp_path / "best.keras").read_bytes() == best_bytes
    assert_same_weights(saved_weights(tmp_path, "best"), first)
    assert_same_weights(saved_weights(tmp_path, "last"), second)
    # The reloaded best model predicts as the first epoch's weights did, not the second's.
    model.set_weights(first)
    expected = model.predict(IMAGES, verbose=0)
    best = checkpoints.load_checkpoint(tmp_path, "best")
    np.testing.assert_array_equal(best.predict(IMAGES, verbose=0), expected)

    new_weights(model, 3)
    callback.on_epoch_end(2, {"val_accuracy": 0.5})  # a tie is no improvement
    assert (tmp_path / "best.keras").read_bytes() == best_bytes

    fourth = new_weights(model, 4)
    callback.on_epoch_end(3, {"val_accuracy": 0.6})
    assert_same_weights(saved_weights(tmp_path, "best"), fourth)
    assert_same_weights(saved_weights(tmp_path, "last"), fourth)
    assert job.recorded == [(1, 0.5), (2, 0.5), (3, 0.5), (4, 0.6)]
    assert not list(tmp_path.glob("tmp-*")) and not list(tmp_path.glob("epoch_*"))


def test_without_validation_best_follows_training_accuracy_and_every_epoch_can_be_kept(
    tmp_path, model
):
    job = StandInJob(tmp_path, best_metric="accuracy")
    callback = Checkpoints(job, save_every_epoch=True, best=0.7)  # a continued run's best
    callback.set_model(model)
    new_weights(model, 1)
    callback.on_epoch_end(4, {"accuracy": 0.6, "val_accuracy": None})
    assert not (tmp_path / "best.keras").exists(), "0.6 is below the run's earlier best"
    second = new_weights(model, 2)
    callback.on_epoch_end(5, {"accuracy": 0.8})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.keras", "epoch_005.keras", "epoch_006.keras", "last.keras",
    ]  # fmt: skip
    assert_same_weights(saved_weights(tmp_path, "best"), second)
    assert_same_weights(saved_weights(tmp_path, "epoch_006"), second)
    assert job.recorded == [(5, 0.7), (6, 0.8)]


def test_a_nan_weight_raises_diverged_and_writes_no_checkpoint(tmp_path, model):
    job = StandInJob(tmp_path)
    callback = Checkpoints(job, save_every_epoch=True)
    callback.set_model(model)
    finite = model.get_weights()
    weights = model.get_weights()
    weights[0].flat[0] = np.nan
    model.set_weights(weights)
    with pytest.raises(Diverged, match="weights diverged to NaN or infinity in epoch 1; .*"
                       "no checkpoint was saved"):  # fmt: skip
        callback.on_epoch_end(0, {"val_accuracy": 0.9})
    assert list(tmp_path.iterdir()) == [], "a checkpoint of broken weights was written"
    assert job.recorded == []

    # After a good epoch, an infinite weight keeps that epoch's files as they were.
    model.set_weights(finite)
    good = new_weights(model, 1)
    callback.on_epoch_end(0, {"val_accuracy": 0.5})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    weights = model.get_weights()
    weights[-1].flat[0] = np.inf
    model.set_weights(weights)
    with pytest.raises(Diverged, match="in epoch 2; .*the last good checkpoint was kept"):
        callback.on_epoch_end(1, {"val_accuracy": 0.9})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert_same_weights(saved_weights(tmp_path, "last"), good)
    assert job.recorded == [(1, 0.5)] and callback.best == 0.5
