"""What each setting of a network or a run means, shown on its box's question mark (Train and
Architecture), and what Train calls it, keyed by the config field it sets; and what Train's
*Set up figure 1* sets."""

from pages import train_form
from pages.common import KEEP

MODEL = {
    "image_size": "The side, in pixels, the images are resized to when they are loaded "
    "(CIFAR-10's own: 32). The model resizes them to its input size per batch.",
    "num_classes": "Units of the softmax layer, one per class: CIFAR-10's 10 here, ImageNet's "
    "1,000 in the paper. Train takes the number from its data.",
    "input_size": "The side, in pixels, the model resizes its images to before conv1: 227 in "
    "the paper's and the tutorial's networks (the tutorial upscales CIFAR's 32), 32 in the "
    "CIFAR-native ones. The convolutions' cost grows with its square.",
    "width": "Multiplies every convolution's filter count (1 is the paper's): at 0.25 each "
    "convolution after conv1 keeps a sixteenth of its weights and multiply-adds, conv1, which "
    "sees the 3 colour channels, a quarter.",
    "fc_units": "Units of fc6 and fc7 (the paper: 4096). In the paper's network fc6 alone holds "
    "62% of the weights.",
    "dropout": "The share of fc6's and fc7's outputs set to zero at random in each training "
    "step (the paper: 0.5), so that no unit can rely on another; none when testing.",
    "augment_shift": "Any distance up to this many pixels of the images as loaded (Image size), "
    "fractions included: the image is resampled, where the paper's crops moved whole pixels. "
    "Its 224 crops of 256 moved them up to 16 of 256: 2 of CIFAR's 32, 14 of 227.",
    "two_gpus": "The paper's split over two GPUs (see Architecture) as grouped convolutions, "
    "trained on one device all the same. On a CPU, TensorFlow runs grouped convolutions "
    "through a much slower path.",
    "pooling": "overlapping: 3x3 windows, stride 2 (the paper); non_overlapping: 2x2, stride "
    "2; custom: the preset's own.",
    "norm_before_pool": "The paper: convolution, ReLU, response normalisation, then pooling. "
    "The tutorial pools first, then batch-normalises.",
    "augment_flip": "Mirror each training image left to right at random, as the paper did; "
    "test images are left as they are.",
    "activation": "relu: max(0, x), the paper's. tanh: what it replaced; the paper's CIFAR-10 "
    "network took six times as long with it to reach 25% training error, each at its own best "
    "learning rate and without regularisation. To repeat that, turn off dropout, augmentation, "
    "weight decay and label smoothing and try a few rates for each. (Tried so here on 10,000 "
    "images, with Normalisation none, tanh was the faster: see the README.)",
    "normalization": "lrn: the paper's local response normalisation, across 5 neighbouring "
    "channels (k 2, alpha 1e-4, beta 0.75). batch: batch normalisation, as the tutorial and the "
    "CIFAR presets use. After the convolutions the preset normalises (the paper: conv1, conv2).",
}

TRAIN = {
    "epochs": "Passes over the training images. A run that ended can be continued for more; "
    "a cosine or one_cycle schedule is then planned again over the new total, so the rate "
    "rises again from where it had annealed.",
    "batch_size": "Images per optimizer step (the paper: 128). A larger batch takes more "
    "memory, and often a larger learning rate with it.",
    "optimizer": "sgd: stochastic gradient descent with momentum, the paper's. adam: a rate of "
    "its own for every weight, without weight decay. adamw: Adam with weight decay.",
    "learning_rate": "The size of each step, at its peak: the schedule starts here (one_cycle "
    "rises to it). The paper: 0.01 with SGD; Adam usually wants about 0.001.",
    "momentum": "SGD keeps this share of its previous step in each new one (the paper: 0.9). "
    "Adam and AdamW ignore it.",
    "nesterov": "Nesterov's momentum for SGD: the gradient is taken where the momentum is about "
    "to carry the weights. The paper used plain momentum.",
    "schedule": "constant: the same rate throughout. step: divided by 'divide by' every 'every' "
    "epochs (the paper divided by 10, by hand, when the validation error stalled). cosine: from "
    "the rate down to 0 along half a cosine. one_cycle: up from a 25th of it during the warm-up, "
    "then down as cosine.",
    "warmup_fraction": "one_cycle only: the share of the run spent rising to the peak rate.",
    "step_epochs": "step only: how many epochs between two cuts of the rate.",
    "step_factor": "step only: what each cut divides the rate by (the paper: 10).",
    "weight_decay": "Decoupled, as Keras does it: each step shrinks the weights (not biases, "
    "nor batch norm's scales and shifts) by learning rate x this. adam trains without decay; "
    "adamw is Adam with it. The paper's 0.0005 went through its momentum of 0.9, which makes it "
    "about ten times stronger: 0.005 here.",
    "label_smoothing": "The share of each target spread evenly over all classes: at 0.1 with ten "
    "classes the true class's target is 0.91, every other's 0.01. It discourages overconfident "
    "answers; the training loss then cannot reach 0.",
    "validation_fraction": "The share of the training images held out to validate each epoch; "
    "best.keras keeps the epoch with the best validation accuracy. 0 holds none out, and "
    "best.keras follows the training accuracy.",
    "train_subset": "Train on only this many of the training images, a random draw by the "
    "seed, for a quick look; 0 trains on all of them.",
    "seed": "Seeds the first weights, the validation split, the order of the images, dropout "
    "and augmentation: two runs that differ only in their seed show how much luck matters.",
    "save_every_epoch": "Keep epoch_001.keras, epoch_002.keras... besides best and last: "
    "Feature maps then shows how conv1's filters changed.",
    "devices": "auto: every GPU, else the CPU. all: every GPU as replicas that share each batch "
    "(tf.distribute), or every CPU device when there is no GPU.",
    "mixed_precision": "Compute in float16, keeping the weights in float32, on a GPU that has "
    "fast float16: faster, in less memory. A CPU trains in float32 whatever this says.",
}


# The question mark of Train's "Set up figure 1".
FIGURE_ONE = ("The paper's figure 1: ReLU units reached 25% training error on CIFAR-10 six "
              "times sooner than tanh units. This sets the form as the README tried it: "
              "cifar_small without normalisation, dropout, augmentation, weight decay or label "
              "smoothing, at a constant learning rate of 0.01, for 15 epochs of up to 10,000 "
              "training images (the bundled sample has 4,000), with ReLU. The dataset stays as "
              "chosen. The README's try found tanh the faster here: see its "
              "Benchmarks.")  # fmt: skip


def about(field: str) -> dict:
    """A setting's widget options: its value kept across pages, and what it means on its
    question mark."""
    return {**KEEP, "help": (MODEL | TRAIN)[field]}


LABELS = {  # Train's label of each setting; Runs names a setting that differs by it too
    "input_size": "Input size", "width": "Width multiplier", "fc_units": "FC units",
    "dropout": "Dropout", "augment_shift": "Random shift (px)", "augment_flip": "Random flips",
    "two_gpus": "Two GPUs", "activation": "Activation", "normalization": "Normalisation",
    "pooling": "Pooling", "norm_before_pool": "Normalise, then pool", "epochs": "Epochs",
    "batch_size": "Batch size", "optimizer": "Optimizer", "learning_rate": "Learning rate",
    "momentum": "Momentum (SGD)", "nesterov": "Nesterov", "schedule": "Schedule",
    "warmup_fraction": "one_cycle warm-up", "step_epochs": "step: every (epochs)",
    "step_factor": "step: divide by", "weight_decay": "Weight decay",
    "label_smoothing": "Label smoothing", "validation_fraction": "Validation share",
    "train_subset": "Train subset (0 = all)", "seed": "Seed",
    "mixed_precision": "Mixed precision (GPU)", "save_every_epoch": "Checkpoint every epoch",
    "image_size": "Image size (data)", "devices": "Devices",
}  # fmt: skip
# Config fields that Train sets in other ways: through the convolution grid, the pooling and
# two-GPU choices, the preset and the data.
SET_ON_TRAIN_BY = {
    "preset": "Preset", "dataset": "Dataset", "num_classes": "Dataset (its classes)",
    "conv_filters": "Each convolution: filters", "conv_kernels": "Each convolution: kernel",
    "conv_strides": "Each convolution: stride", "conv_groups": "Two GPUs",
    "pool_sizes": "Pooling", "pool_stride": "Pooling",
}  # fmt: skip


def setting(field: str) -> dict:
    """A Train setting's widget options: its label, its key, what it means, kept across pages."""
    return {"label": LABELS[field], "key": train_form.key(field), **about(field)}


def on_train(field: str) -> str:
    """Where Train sets a config field ('Learning rate'), or '' for one it does not show."""
    return LABELS.get(field) or SET_ON_TRAIN_BY.get(field, "")
