"""Configurations: what a network looks like and how it is trained.

Both are frozen dataclasses. The same objects are written to a run folder as JSON and read back
to rebuild the model, so every field is a plain JSON value (numbers, strings, booleans, tuples).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import NamedTuple

from alexnet_core.config_checks import check, check_types, each_conv_positive

NORMALISATIONS = ("lrn", "batch", "none")
ACTIVATIONS = ("relu", "tanh")
POOLINGS = ("overlapping", "non_overlapping", "custom")
PADDINGS = ("valid", "same")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "one_cycle")

# Per-channel mean and standard deviation of CIFAR-10's training images (RGB, 0..1 scale).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


# The paper's two GPUs (section 3.2) as filter groups: conv2, conv4 and conv5 see only the
# feature maps on their own GPU; conv1 (whose input both GPUs share), conv3 and the fully
# connected layers see all of them.
TWO_GPU_GROUPS = (1, 2, 1, 2, 2)


class ConvStage(NamedTuple):
    index: int  # 1..5: the layers are named conv{index}, norm{index}, pool{index}
    filters: int  # after the width multiplier
    kernel: int
    stride: int
    padding: str
    pool: int  # max-pool window after the conv, 0 = none
    norm: bool  # a normalisation layer follows the conv
    groups: int  # filter groups: each filter sees only 1/groups of the input channels


# The per-convolution counts that must be 1 or more, and what one entry of each is.
POSITIVE_PER_CONV = (("conv_filters", "filter count"), ("conv_kernels", "kernel size"),
                     ("conv_strides", "stride"))  # fmt: skip
PER_CONV_FIELDS = ("conv_filters", "conv_kernels", "conv_strides", "conv_padding", "pool_sizes",
                   "norm_after", "conv_groups")  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    """An AlexNet-shaped network: five convolutions, three fully connected layers."""

    preset: str = "custom"  # the preset this configuration started from (shown, not used)
    image_size: int = 32  # side of the raw square uint8 RGB images fed to the model (pixels)
    input_size: int = 32  # side the images are resized to inside the model before conv1
    num_classes: int = 10  # units of the softmax layer
    conv_filters: tuple[int, ...] = (96, 256, 384, 384, 256)  # filters of conv1..conv5 at width 1
    conv_kernels: tuple[int, ...] = (5, 5, 3, 3, 3)  # square kernel side of conv1..conv5
    conv_strides: tuple[int, ...] = (1, 1, 1, 1, 1)  # stride of conv1..conv5
    conv_padding: tuple[str, ...] = ("same",) * 5  # 'valid' or 'same' for conv1..conv5
    width: float = 1.0  # multiplies every conv's filter count (0.25 = a quarter as wide)
    pool_sizes: tuple[int, ...] = (3, 3, 0, 0, 3)  # max-pool window after conv1..5, 0 = none
    pool_stride: int = 2  # stride of every max pool; window 3 with stride 2 overlaps (paper)
    normalization: str = "lrn"  # 'lrn' (paper), 'batch' (batch norm) or 'none'
    norm_after: tuple[bool, ...] = (True, True, False, False, False)  # which convs get a norm
    norm_before_pool: bool = True  # paper: conv, ReLU, LRN, pool; tutorial: pool, then BN
    activation: str = "relu"  # 'relu' (paper) or 'tanh' (what the paper compared it with)
    fc_units: int = 4096  # units of fc6 and fc7
    dropout: float = 0.5  # dropout rate after fc6 and fc7 (paper: 0.5)
    augment_flip: bool = False  # random horizontal flips while training
    augment_shift: int = 0  # random translation by up to this many pixels while training
    mean: tuple[float, ...] = CIFAR10_MEAN  # per-channel mean subtracted (0..1 scale)
    std: tuple[float, ...] = CIFAR10_STD  # per-channel standard deviation divided by
    conv_groups: tuple[int, ...] = (1, 1, 1, 1, 1)  # filter groups of conv1..5; paper: 1 2 1 2 2

    def __post_init__(self):
        check_types(self)
        one_per_conv = "five entries, one per convolution"
        check(
            self,
            ("image_size", self.image_size >= 1, "a positive number of pixels"),
            ("input_size", self.input_size >= 1, "a positive number of pixels"),
            ("num_classes", self.num_classes >= 2, "at least 2"),
            *((name, len(getattr(self, name)) == 5, one_per_conv) for name in PER_CONV_FIELDS),
            *(each_conv_positive(self, name, what) for name, what in POSITIVE_PER_CONV),
            ("conv_padding", set(self.conv_padding) <= set(PADDINGS), f"each one of {PADDINGS}"),
            ("pool_sizes", all(n >= 0 for n in self.pool_sizes), "0 (no pooling) or window sizes"),
            ("pool_stride", self.pool_stride >= 1, "at least 1"),
            ("width", self.width > 0, "a positive multiplier"),
            ("normalization", self.normalization in NORMALISATIONS, f"one of {NORMALISATIONS}"),
            ("activation", self.activation in ACTIVATIONS, f"one of {ACTIVATIONS}"),
            ("fc_units", self.fc_units >= 1, "at least 1"),
            ("dropout", 0 <= self.dropout < 1, "a rate in [0, 1)"),
            ("augment_shift", 0 <= self.augment_shift < self.image_size, "0 or more pixels, "
             "less than the image size"),
            ("mean", len(self.mean) == 3, "three values, one per channel"),
            ("std", len(self.std) == 3 and min(self.std) > 0, "three positive values"),
            ("conv_groups", all(n >= 1 for n in self.conv_groups), "1 or more groups per conv"),
        )  # fmt: skip
        widths = self.conv_widths()
        for i, (inputs, filters, groups) in enumerate(
            zip((3, *widths[:-1]), widths, self.conv_groups, strict=True), start=1
        ):
            if i == 1 and 3 % groups:  # no width makes the image's 3 channels split
                raise ValueError(
                    f"conv_groups: conv1 is split into {groups} groups, but it sees the image's "
                    "3 colour channels, which split only into 1 or 3 groups."
                )
            if inputs % groups or filters % groups:
                # conv{i}'s inputs are conv{i-1}'s filters: name the conv whose count is off.
                off = [(i - 1, inputs), (i, filters)]
                names = " and ".join(f"conv{n}" for n, count in off if count % groups)
                scaled = f" (after the width multiplier {self.width:g})" if self.width != 1 else ""
                raise ValueError(
                    f"conv_groups: conv{i} is split into {groups} groups, so its {inputs} input "
                    f"and {filters} output channels must both divide by {groups}. Make the "
                    f"filters of {names}{scaled} a multiple of {groups}, or change "
                    "the width multiplier or the groups (the split over two GPUs)."
                )

    def conv_stages(self) -> list[ConvStage]:
        """conv1..conv5 with what follows each, in the order the model builds them."""
        return [
            ConvStage(i, *values)
            for i, values in enumerate(
                zip(
                    self.conv_widths(),
                    self.conv_kernels,
                    self.conv_strides,
                    self.conv_padding,
                    self.pool_sizes,
                    [n and self.normalization != "none" for n in self.norm_after],
                    self.conv_groups,
                    strict=True,
                ),
                start=1,
            )
        ]

    def conv_widths(self) -> tuple[int, ...]:
        """Filters of conv1..conv5 after the width multiplier (at least one each)."""
        return tuple(max(1, round(f * self.width)) for f in self.conv_filters)

    def with_pooling(self, pooling: str) -> ModelConfig:
        """The same network with every pool made overlapping (3x3/2) or not (2x2/2)."""
        if pooling not in ("overlapping", "non_overlapping"):
            raise ValueError(f"pooling must be 'overlapping' or 'non_overlapping', got {pooling!r}")
        window = 3 if pooling == "overlapping" else 2
        sizes = tuple(window if s else 0 for s in self.pool_sizes)
        return dataclasses.replace(self, pool_sizes=sizes, pool_stride=2)

    def with_gpus(self, gpus: int) -> ModelConfig:
        """The same network on one GPU, or split over two as in the paper (TWO_GPU_GROUPS)."""
        if gpus not in (1, 2):
            raise ValueError(f"gpus must be 1 or 2, got {gpus!r}")
        return dataclasses.replace(self, conv_groups=TWO_GPU_GROUPS if gpus == 2 else (1,) * 5)

    @property
    def two_gpus(self) -> bool:
        """Whether the convolutions are grouped as the paper's two GPUs split them."""
        return self.conv_groups == TWO_GPU_GROUPS

    @property
    def pooling(self) -> str:
        """'overlapping', 'non_overlapping' or 'custom' (a mix, as in the tutorial)."""
        windows = {s for s in self.pool_sizes if s}
        if windows == {3} and self.pool_stride == 2:
            return "overlapping"
        if windows == {2} and self.pool_stride == 2:
            return "non_overlapping"
        return "custom"

    def for_dataset(self, image_size: int, num_classes: int) -> ModelConfig:
        """This network fitted to a dataset: its image size and number of classes."""
        return dataclasses.replace(self, image_size=image_size, num_classes=num_classes)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainConfig:
    """How a network is trained. Augmentation lives in ModelConfig: it is part of the model."""

    dataset: str = "auto"  # dataset source: 'auto', 'sample' (5,000 bundled), 'keras' or a path
    image_size: int = 32  # side the dataset's images are resized to when loaded (CIFAR: 32)
    epochs: int = 10  # passes over the training split
    batch_size: int = 128  # images per optimizer step
    optimizer: str = "sgd"  # 'sgd' (momentum, Nesterov), 'adam' or 'adamw'
    learning_rate: float = 0.01  # peak learning rate
    momentum: float = 0.9  # SGD momentum (paper: 0.9)
    nesterov: bool = True  # Nesterov momentum for SGD
    schedule: str = "constant"  # 'constant', 'step', 'cosine' or 'one_cycle'
    warmup_fraction: float = 0.2  # one_cycle: share of the steps spent rising to the peak
    step_epochs: int = 30  # step: divide the rate by step_factor every this many epochs
    step_factor: float = 10.0  # step: divide by this (the paper: by 10, when val error stalled)
    weight_decay: float = 5e-4  # decoupled: w -= lr * this * w each step (SGD, AdamW; not Adam)
    label_smoothing: float = 0.0  # share of the target spread evenly over the classes
    validation_fraction: float = 0.1  # share of the training split held out for validation
    train_subset: int = 0  # train on only this many images (0 = all), for quick looks
    seed: int = 0  # seeds weights, data order, dropout and the validation split
    mixed_precision: bool = False  # float16 compute on a GPU that supports it
    devices: str = "auto"  # 'auto' (all GPUs, else the CPU), 'cpu', 'gpu', 'all' or a device
    save_every_epoch: bool = False  # keep epoch_NNN.keras checkpoints besides best and last

    def __post_init__(self):
        check_types(self)
        check(
            self,
            ("image_size", 8 <= self.image_size <= 512, "8 to 512 pixels"),
            ("epochs", self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {OPTIMIZERS}"),
            ("learning_rate", self.learning_rate > 0, "a positive rate"),
            ("momentum", 0 <= self.momentum < 1, "a value in [0, 1)"),
            ("schedule", self.schedule in SCHEDULES, f"one of {SCHEDULES}"),
            ("warmup_fraction", 0 < self.warmup_fraction < 1, "a share in (0, 1)"),
            ("step_epochs", self.step_epochs >= 1, "at least 1"),
            ("step_factor", self.step_factor >= 1, "at least 1"),
            ("weight_decay", self.weight_decay >= 0, "0 or more"),
            ("label_smoothing", 0 <= self.label_smoothing < 1, "a share in [0, 1)"),
            ("validation_fraction", 0 <= self.validation_fraction < 1, "a share in [0, 1)"),
            ("train_subset", self.train_subset >= 0, "0 (all) or more"),
            ("seed", 0 <= self.seed < 2**32, "a whole number from 0 to 2**32 - 1"),
            ("devices", bool(self.devices), "'auto', 'cpu', 'gpu', 'all' or a device name"),
            ("dataset", bool(self.dataset.strip()), "'auto', 'sample', 'keras' or a path"),
        )


def config_to_dict(config: ModelConfig | TrainConfig) -> dict:
    return dataclasses.asdict(config)


def model_config_from_dict(data: dict) -> ModelConfig:
    return _from_dict(ModelConfig, data)


def train_config_from_dict(data: dict) -> TrainConfig:
    return _from_dict(TrainConfig, data)


def _from_dict(cls, data: dict):
    """Rebuild a config from JSON: lists become tuples, unknown keys are refused."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)


def dumps(model_config: ModelConfig, train_config: TrainConfig | None = None) -> str:
    """The JSON a run folder stores: enough to rebuild the model and repeat the training."""
    data = {"model": config_to_dict(model_config)}
    if train_config is not None:
        data["training"] = config_to_dict(train_config)
    return json.dumps(data, indent=2)
