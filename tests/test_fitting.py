"""What is checked before a network is built: that training it can fit in this machine."""

import dataclasses
import math
import re

import pytest

from alexnet_core import estimate, fitting, images, report, training, units
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


@pytest.mark.parametrize(
    ("optimizer", "sizes"),
    [("sgd", ("1.93 GiB", "1.21 GiB", "667 MiB")), ("adam", ("2.28 GiB", "1.42 GiB", "890 MiB"))],
)
def test_a_network_too_large_for_the_memory_is_refused_with_its_sizes(
    monkeypatch, optimizer, sizes
):
    train = dataclasses.replace(TRAIN_PRESETS["tutorial"], optimizer=optimizer)
    floor = floor_bytes("tutorial", train)
    needed = math.ceil(fitting.TRAINING_OVERHEAD * floor)  # what training was measured to take
    monkeypatch.setattr(images, "free_memory", lambda: None)  # not Linux: the total counts
    monkeypatch.setattr(images, "machine_memory", lambda: needed)
    fitting.check_memory(PRESETS["tutorial"], train)  # just fits
    monkeypatch.setattr(images, "machine_memory", lambda: needed - 1)
    with pytest.raises(ValueError) as refused:
        fitting.check_memory(PRESETS["tutorial"], train)
    needs, total, weights = sizes  # 58,324,746 float32 weights times 3 (sgd) or 4 (adam)
    assert str(refused.value).startswith(
        f"Training this network needs about {needs} here: 1.6 times the {total} that the "
        f"weights with their gradients and {optimizer}'s copies ({weights}) and a batch of 64 "
        f"(568 MiB) take at the least. That is more than this machine's {needs}. Lower the width"
    )


def test_a_network_no_machine_could_hold_is_told_in_a_power_of_ten(monkeypatch):
    wide = dataclasses.replace(PRESETS["paper"], width=2.0**20, fc_units=2**30)
    monkeypatch.setattr(images, "free_memory", lambda: None)
    monkeypatch.setattr(images, "machine_memory", lambda: 24 * GIB)
    with pytest.raises(ValueError) as refused:
        fitting.check_memory(wide, TRAIN_PRESETS["paper"])
    message = str(refused.value)
    assert re.match(r"Training this network needs about \d\.\d\d × 10[⁰¹²³⁴⁵⁶⁷⁸⁹]+ B here", message)
    assert "more than this machine's 24.0 GiB" in message
    assert not re.search(r"\d{5}", message), "no long runs of digits"


def test_memory_that_other_work_holds_counts_against_a_network(monkeypatch):
    """The server killed for want of memory: a network started beside a run, or an app's
    cached models, must fit in what is free now, not in the machine's total."""
    train = TRAIN_PRESETS["tutorial"]
    needed = math.ceil(fitting.TRAINING_OVERHEAD * floor_bytes("tutorial", train))
    monkeypatch.setattr(images, "machine_memory", lambda: 4 * needed)
    monkeypatch.setattr(images, "free_memory", lambda: needed)
    fitting.check_memory(PRESETS["tutorial"], train)
    monkeypatch.setattr(images, "free_memory", lambda: needed - GIB)
    with pytest.raises(ValueError, match=r"more than the 953 MiB free on this machine now "
                       r"\(of 7\.72 GiB\)"):  # fmt: skip
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
    with pytest.raises(ValueError, match="more than this machine's 1.00 MiB"):
        training.start_training(PRESETS["tiny"], tiny)
    assert list(runs_dir.iterdir()) == [], "no run folder is made"
    with pytest.raises(ValueError, match="Training this network needs"):
        estimate.estimate_run(PRESETS["tiny"], tiny, 64)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (100, "100 B"),
        (3072, "3.00 KiB"),
        (1023.9 * 2**20, "1.00 GiB"),
        (99.96 * 2**20, "100 MiB"),
        (1445.69 * 2**30, "1.41 TiB"),
        (3 * 2**50, "3.00 PiB"),
        (3.43e21, "3.43 × 10²¹ B"),
    ],  # fmt: skip
)
def test_sizes_read_in_binary_units_to_three_figures(size, text):
    assert units.bytes_text(size) == text
