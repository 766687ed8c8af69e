"""What is checked before a network is built: that training it can fit in this machine."""

import dataclasses
import math

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
    floor = floor_bytes("tutorial", train)
    needed = math.ceil(fitting.TRAINING_OVERHEAD * floor)  # what training was measured to take
    monkeypatch.setattr(images, "free_memory", lambda: None)  # not Linux: the total counts
    monkeypatch.setattr(images, "machine_memory", lambda: needed)
    fitting.check_memory(PRESETS["tutorial"], train)  # just fits
    monkeypatch.setattr(images, "machine_memory", lambda: needed - 1)
    with pytest.raises(ValueError) as refused:
        fitting.check_memory(PRESETS["tutorial"], train)
    message = str(refused.value)
    weights = 4 * 58_324_746 * {"sgd": 3, "adam": 4}[optimizer]
    assert message.startswith(
        f"Training this network needs about {needed / GIB:,.1f} GiB here: 1.6 times the "
        f"{floor / GIB:,.1f} GiB that the weights with their gradients and {optimizer}'s "
        f"copies ({weights / GIB:,.1f} GiB) and a batch of {train.batch_size} "
        f"({(floor - weights) / GIB:,.1f} GiB) take at the least. That is more than this "
        f"machine's {(needed - 1) / GIB:.1f} GiB. Lower the width"
    )


def test_memory_that_other_work_holds_counts_against_a_network(monkeypatch):
    """The server killed for want of memory: a network started beside a run, or an app's
    cached models, must fit in what is free now, not in the machine's total."""
    train = TRAIN_PRESETS["tutorial"]
    needed = math.ceil(fitting.TRAINING_OVERHEAD * floor_bytes("tutorial", train))
    monkeypatch.setattr(images, "machine_memory", lambda: 4 * needed)
    monkeypatch.setattr(images, "free_memory", lambda: needed)
    fitting.check_memory(PRESETS["tutorial"], train)
    monkeypatch.setattr(images, "free_memory", lambda: needed - GIB)
    with pytest.raises(ValueError, match=r"more than the [\d.]+ GiB free on this machine now "
                       rf"\(of {4 * needed / GIB:.1f} GiB\)"):  # fmt: skip
        fitting.check_memory(PRESETS["tutorial"], train)


def test_the_floor_is_weights_gradients_optimizer_copies_and_a_batchs_outputs():
    plan = report.plan_layers(PRESETS["paper"])
    weights, outputs = fitting.training_memory(PRESETS["paper"], 128, "sgd")
    assert weights == 4 * 3 * plan.total_params == 4 * 3 * 60_965_224
    assert outputs == 2 * 128 * plan.total_memory_bytes


def test_a_smaller_batch_needs_less(monkeypatch):
    train = TRAIN_PRESETS["paper"]
    needed = fitting.TRAINING_OVERHEAD * floor_bytes("paper", train)
    monkeypatch.setattr(images, "machine_memory", lambda: int(needed) - 1)
    monkeypatch.setattr(images, "free_memory", lambda: None)
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
        estimate.estimate_run(PRESETS["tiny"], tiny, 64)
