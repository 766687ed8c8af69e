"""Presets: the networks this app starts from (ModelConfig) and the training settings that
suit each (TrainConfig). A preset is a starting point, which a user can change field by field.
"""

from __future__ import annotations

from alexnet_core.config import POOLINGS, TWO_GPU_GROUPS, ModelConfig, TrainConfig

# The CIFAR presets were sized by measurement on the 2-core CPU (see bench/ and the
# README's results table).
PRESETS: dict[str, ModelConfig] = {
    # Krizhevsky et al. (2012), split over two GPUs as in the paper: 60,965,224 parameters
    # for 1000 classes (62,378,344 on one GPU, as many re-implementations build it). Its
    # weights start as every preset's do, Glorot-uniform with biases at 0: the paper drew
    # them from a Gaussian of deviation 0.01 and set the biases of conv2, conv4, conv5 and
    # the hidden dense layers (fc6, fc7) to 1.
    "paper": ModelConfig(
        preset="paper",
        image_size=227,
        input_size=227,
        num_classes=1000,
        conv_kernels=(11, 5, 3, 3, 3),
        conv_strides=(4, 1, 1, 1, 1),
        conv_padding=("valid", "same", "same", "same", "same"),
        # ImageNet's per-channel statistics, the ones re-implementations use: the paper only
        # subtracted the mean image of its training set and did not divide by a deviation.
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        conv_groups=TWO_GPU_GROUPS,
        # Section 4.1: random 224x224 crops of the 256x256 images, and their mirror images.
        # A crop moves the picture up to 16 of its 256 pixels each way: 2 of CIFAR's 32.
        augment_flip=True,
        augment_shift=2,
    ),
    # The Keras model of the tutorial this project grew from: CIFAR-10 upsampled to 227x227,
    # batch norm after pools, 58,324,746 parameters.
    "tutorial": ModelConfig(
        preset="tutorial",
        image_size=32,
        input_size=227,
        num_classes=10,
        conv_kernels=(11, 5, 3, 3, 3),
        conv_strides=(4, 1, 1, 1, 1),
        conv_padding=("same",) * 5,
        pool_sizes=(3, 2, 0, 0, 3),
        normalization="batch",
        norm_after=(True, True, False, False, True),
        norm_before_pool=False,
    ),
    # CIFAR-native, for a GPU: full AlexNet widths on 32x32 without upsampling. A 5x5 stride-1
    # conv1 replaces the 11x11/4 one (CIFAR images are 32x32, a stride of 4 would throw away
    # most of the pixels), batch norm after every conv makes the full width trainable with a
    # high learning rate, and flips plus 4-pixel shifts fight the overfitting the tutorial saw.
    "cifar_gpu": ModelConfig(
        preset="cifar_gpu",
        conv_kernels=(5, 5, 3, 3, 3),
        normalization="batch",
        norm_after=(True,) * 5,
        fc_units=2048,
        augment_flip=True,
        augment_shift=4,
    ),
    # CIFAR-native, for a 2-core CPU: the same shape at a quarter of the conv widths with
    # 256-unit fully connected layers: 15x fewer MACs per image than cifar_gpu. Chosen by
    # bench/accuracy.py runs (README, Benchmarks): batch norm after the pools (a quarter of
    # the pixels to normalise: epochs 12% shorter here) and light dropout, since a 9-epoch
    # run underfits rather than overfits.
    "cifar_small": ModelConfig(
        preset="cifar_small",
        conv_kernels=(5, 5, 3, 3, 3),
        width=0.25,
        normalization="batch",
        norm_after=(True,) * 5,
        norm_before_pool=False,
        fc_units=256,
        dropout=0.1,
        augment_flip=True,
        augment_shift=2,
    ),
    # For tests and first looks: trains on a few hundred images in seconds.
    "tiny": ModelConfig(
        preset="tiny",
        conv_filters=(8, 16, 16, 16, 16),
        conv_kernels=(3, 3, 3, 3, 3),
        normalization="batch",
        norm_after=(True,) * 5,
        fc_units=32,
        dropout=0.1,
    ),
}

# Training settings that suit each preset; the Train page starts from these.
TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The paper's weight decay of 0.0005 went through its momentum of 0.9, so it acted about
    # ten times as strongly as Keras' decoupled decay of the same number. It used plain
    # momentum and divided the rate by 10 three times in about 90 epochs, when validation
    # error stalled; a fixed step every 25 epochs does the same three divisions.
    "paper": TrainConfig(
        epochs=90,
        batch_size=128,
        learning_rate=0.01,
        nesterov=False,
        schedule="step",
        step_epochs=25,
        weight_decay=0.005,
    ),
    # The tutorial's own training: plain momentum SGD at 0.001, batches of 64, 50 epochs, no
    # weight decay (bench/gpu.sh trains its network with this project's recipe instead).
    "tutorial": TrainConfig(
        epochs=50,
        batch_size=64,
        learning_rate=0.001,
        nesterov=False,
        weight_decay=0.0,
    ),
    "cifar_gpu": TrainConfig(
        epochs=40, batch_size=256, learning_rate=0.1, schedule="one_cycle", label_smoothing=0.1
    ),
    "cifar_small": TrainConfig(
        epochs=9, batch_size=128, learning_rate=0.05, schedule="one_cycle", label_smoothing=0.1
    ),
    "tiny": TrainConfig(epochs=2, batch_size=32, learning_rate=0.01, weight_decay=0.0),
}


def preset(name: str) -> ModelConfig:
    """The named preset's model configuration."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def customised(name: str, two_gpus: bool, pooling: str = "custom", **changes) -> ModelConfig:
    """The named preset split over two GPUs or not, with `changes` to its fields and every pool
    made `pooling` (see with_pooling; 'custom' keeps the preset's own). The split comes first,
    so the changed widths are checked against the groups they will have."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    model_config = preset(name)
    if two_gpus != model_config.two_gpus:
        model_config = model_config.with_gpus(2 if two_gpus else 1)
    model_config = model_config.replace(**changes)
    return model_config if pooling == "custom" else model_config.with_pooling(pooling)


def train_preset(name: str) -> TrainConfig:
    """Training settings that suit the named preset (defaults for an unknown name)."""
    return TRAIN_PRESETS.get(name, TrainConfig())
