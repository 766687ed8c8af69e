"""What is checked before a network is built: that training it can fit in this machine."""

import dataclasses

import pytest

from alexnet_core import estimate, fitting, images, report, training
from alexnet_core.config import TrainConfig
from alexnet_core.presets import PRESETS, TRAIN_PRESETS

GIB = 2**30


def floor_bytes(name: str, train: TrainConfig) -> int:
    """The check's floor, by hand: float32 weights x (weights, gradients, optimizer copies)
    plus a batch's layer outputs and their gradients."""
    plan = report.plan_layers(PRESETS[name])
    copies = {"sgd": 3, "adam": 4, "adamw": 4}[train.optimizer]
    return 4 * plan.total_params * copies + 2 * train.batch_size * plan.total_memory_bytes


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_fits_in_this_machine(name):
    fitting.check_memory(PRESETS[name], TRAIN_PRESETS[name])  # no ValueError


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_network_too_large_for_the_memory_is_refused_with_its_sizes(monkeypatch, optimizer):
    train = dataclasses.replace(TRAIN_PRESETS["tutorial"], optimizer=optimizer)
    needed = floor_bytes("tutorial", train)
    monkeypatch.setattr(images, "machine_memory", lambda: needed)
    fitting.check_memory(PRESETS["tutorial"], train)  # just fits
    monkeypatch.setattr(images, "machine_memory", lambda: needed - 1)
    with pytest.raises(ValueError) as refused:
        fitting.check_memory(PRESETS["tutorial"], train)
    message = str(refused.value)
    assert message.startswith(f"Training this network needs at least {needed / GIB:,.1f} GiB")
    weights = 4 * 58_324_746 * {"sgd": 3, "adam": 4}[optimizer] / GIB
    assert (
        f"(the weights with their gradients and {optimizer}'s copies: {weights:,.1f} GiB; "
        in message
    )
    assert f"a batch of {train.batch_size}:" in message and "Lower the width" in message


def test_the_floor_is_weights_gradients_optimizer_copies_and_a_batchs_outputs():
    plan = report.plan_layers(PRESETS["paper"])
    weights, outputs = fitting.training_memory(PRESETS["paper"], 128, "sgd")
    assert weights == 4 * 3 * plan.total_params == 4 * 3 * 60_965_224
    assert outputs == 2 * 128 * plan.total_memory_bytes


def test_a_smaller_batch_needs_less(monkeypatch):
    train = TRAIN_PRESETS["paper"]
    monkeypatch.setattr(images, "machine_memory", lambda: floor_bytes("paper", train) - 1)
    with pytest.raises(ValueError, match="a batch of 128"):
        fitting.check_memory(PRESETS["paper"], train)
    fitting.check_memory(PRESETS["paper"], dataclasses.replace(train, batch_size=64))


def test_training_and_timing_refuse_it_before_building_anything(monkeypatch, runs_dir):
    monkeypatch.setattr(images, "machine_memory", lambda: GIB // 1024)  # 1 MiB
    tiny = TrainConfig(dataset="sample", epochs=1, batch_size=32, train_subset=64)
    with pytest.raises(ValueError, match="more than this machine's 0.0 GiB"):
        training.start_training(PRESETS["tiny"], tiny)
    assert list(runs_dir.iterdir()) == [], "no run folder is made"
    with pytest.raises(ValueError, match="Training this network needs"):
        estimate.estimate_epoch_seconds(PRESETS["tiny"], 32, 64)
