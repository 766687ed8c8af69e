"""The paper's figure 1, as this app repeats it: a CIFAR-10 network reached 25% training error
six times sooner with ReLU units than with tanh units. `configs` holds the README's try of it,
`matches` tells a run of it, and `runs_by_data` and `pair` find the runs to compare.
"""

from __future__ import annotations

import dataclasses

from alexnet_core import presets, run_logs
from alexnet_core.config import ACTIVATIONS, ModelConfig, TrainConfig

ERROR = 0.25  # the training error the figure's runs raced to


def configs(activation: str = "relu") -> tuple[ModelConfig, TrainConfig]:
    """The paper's figure-1 comparison as the README tried it: cifar_small without
    normalisation or any regularisation (the paper's four-layer net had none), at a constant
    0.01 for 15 epochs of 10,000 images, with `activation` 'relu' or 'tanh'."""
    model_config = presets.preset("cifar_small").replace(
        activation=activation, normalization="none", dropout=0.0,
        augment_flip=False, augment_shift=0,
    )  # fmt: skip
    train_config = dataclasses.replace(
        presets.train_preset("cifar_small"), epochs=15, schedule="constant", learning_rate=0.01,
        weight_decay=0.0, label_smoothing=0.0, validation_fraction=0.0, train_subset=10_000,
    )  # fmt: skip
    return model_config, train_config


# What a figure-1 run may change and still be one: its length, seed, rate (the paper gave each
# network its own best one), the data and where it trains.
FREE = ("dataset", "epochs", "learning_rate", "seed", "devices", "mixed_precision",
        "save_every_epoch")  # fmt: skip


def matches(model_config: ModelConfig, train_config: TrainConfig) -> bool:
    """Whether these configs set up the comparison of `configs`, with either activation, on any
    data (which sets the model's classes), however long, at any rate (FREE)."""
    model_one, train_one = configs(model_config.activation)
    model_one = model_one.for_dataset(model_config.image_size, model_config.num_classes)
    free = {field: getattr(train_config, field) for field in FREE}
    return model_config == model_one and dataclasses.replace(train_one, **free) == train_config


def _rate_changed_by_hand(run) -> bool:
    """Whether someone changed the run's rate while it trained (a kept lr_events.json entry),
    so it was no longer constant; a damaged record counts as changed: it cannot say."""
    try:
        return bool(run_logs.kept_lr_events(run.path, run.epochs_done))
    except ValueError:
        return True


def runs_by_data(listed) -> dict[str, dict[str, str]]:
    """The finished runs set up as the paper's figure 1 (`matches`): the newest run
    id of each activation, by the data they trained on, the newest run's data first. Not one
    still training, nor one stopped short: a comparison wants each run's whole length; nor one
    whose rate was changed by hand: the figure's runs each kept one rate. `listed` is newest
    first, as runs.list_runs gives it."""
    by_data: dict[str, dict[str, str]] = {}
    for run in listed:
        model, train = run.model_config, run.train_config
        if run.status != "finished" or not (model and train and matches(model, train)):
            continue
        if not _rate_changed_by_hand(run):
            by_data.setdefault(train.dataset, {}).setdefault(model.activation, run.run_id)
    return by_data


def pair(listed) -> dict[str, str] | None:
    """The pair Runs' "Show figure 1" draws: of runs_by_data, the newest data's with both
    activations, as run ids by activation in ACTIVATIONS' order; None if no data has both."""
    for done in runs_by_data(listed).values():
        if len(done) == len(ACTIVATIONS):
            return {activation: done[activation] for activation in ACTIVATIONS}
    return None
