"""A run in words, as the pages and the command line say it: its data in one line, what it
changed from its preset, and a setting's value.
"""

from __future__ import annotations

import dataclasses

from alexnet_core import figure_one
from alexnet_core.presets import PRESETS, train_preset

# Training settings of the data and the machine, not of how a network learns
NOT_PRESET_CHANGES = ("dataset", "image_size", "devices")


def data_text(data: dict) -> str:
    """A run's data in one line, as config.json records it; "" for a run without the record."""
    if "num_train" not in data:
        return ""
    text = (f"{data.get('name') or data.get('source', '')}: {data['num_train']:,} train / "
            f"{data['num_val']:,} validation / {data['num_test']:,} test images, "
            f"{len(data.get('class_names', ()))} classes")  # fmt: skip
    left_out = data.get("left_out", 0)
    return text + (f", {left_out:,} left out" if left_out else "")


def preset_changes(run) -> str:
    """How the run's settings differ from its preset's, as 'width 0.5, learning rate 0.02': the
    network's, then the training's; a run of the paper's figure 1 reads 'figure 1 (tanh)' and
    what differs from that. What follows the data (image size, classes, source) and the
    machine (devices) is left out. "" when nothing differs, or the preset is not one of this
    version's."""
    ours, train = run.model_config, run.train_config
    if ours is None or run.preset not in PRESETS:
        return ""
    changes, model_base, train_base = [], PRESETS[run.preset], train_preset(run.preset)
    if train is not None and figure_one.matches(ours, train):
        changes.append(f"figure 1 ({ours.activation})")
        model_base, train_base = figure_one.configs(ours.activation)
    pairs = [(ours, model_base.for_dataset(ours.image_size, ours.num_classes))]
    if train is not None:
        pairs.append((train, train_base))
    for config, preset in pairs:
        for name in (f.name for f in dataclasses.fields(config)):
            value = getattr(config, name)
            if value == getattr(preset, name) or name in NOT_PRESET_CHANGES:
                continue
            name = name.replace("_", " ")  # "learning rate 0.02": words, as Train labels them
            changes.append(f"{name} {setting_text(value)}")
    return ", ".join(changes)


def setting_text(value) -> str:
    """A config value as the pages show it: 'on' or 'off', '8/16/16/16/16' for one per
    convolution, a float to 12 significant digits: settings that differ read differently, and
    float arithmetic's noise (0.1 + 0.05 = 0.15000000000000002) reads 0.15; '—' for one an older
    run lacks."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):  # a JSON round trip gives lists
        return "/".join(setting_text(each) for each in value)
    return f"{value:.12g}" if isinstance(value, float) else str(value)
