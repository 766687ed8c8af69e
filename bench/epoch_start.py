"""How long does each epoch wait before its first batch? Keras' pipeline against ours.

    python -m bench.epoch_start                      # cifar_small, 10,000 CIFAR-10 images, 4 epochs
    python -m bench.epoch_start --images 20000 --epochs 6

Trains the same model on the same images twice with a plain `model.fit`: once on the arrays
(Keras builds an autotuned tf.data pipeline) and once on `fitting.batches` (the training
engine's pipeline, autotuning off). For every epoch: the seconds from the epoch's start to its
first batch, and the epoch's wall time. At each epoch's start Keras drops the last epoch's
iterator, and dropping an autotuned one waits until the tuner wakes from its sleep, which
grows to a minute as a run goes on; with both cores idle meanwhile.
"""

from __future__ import annotations

import argparse
import time

import keras

from alexnet_core.config import TrainConfig
from alexnet_core.data import load_dataset
from alexnet_core.fitting import batches, compile_model
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS
from bench.common import describe, real_cifar10, save, table, whole_number


class EpochClock(keras.callbacks.Callback):
    """Seconds from each epoch's start to its first batch, and to its end."""

    def __init__(self):
        super().__init__()
        self.epochs: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self.epochs.append({"epoch": epoch + 1})

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.epochs[-1]["wait s"] = time.perf_counter() - self._start

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[-1]["epoch s"] = time.perf_counter() - self._start


def clock(feed_name: str, preset: str, dataset, images: int, epochs: int, batch_size: int):
    """One plain model.fit of `epochs`, fed as `feed_name` says; a row per epoch."""
    config = PRESETS[preset].for_dataset(dataset.image_size, dataset.num_classes)
    keras.utils.set_random_seed(0)
    model = build_alexnet(config)
    compile_model(model, TrainConfig(batch_size=batch_size, optimizer="sgd", learning_rate=0.01))
    x, y = dataset.x_train[:images], dataset.y_train[:images]
    y = keras.utils.to_categorical(y, dataset.num_classes)
    feed = {"x": x, "y": y, "batch_size": batch_size, "shuffle": True}
    if feed_name == "fitting.batches":
        feed = batches(x, y, batch_size, shuffle_seed=0)
    timer = EpochClock()
    model.fit(**feed, epochs=epochs, verbose=0, callbacks=[timer])
    return [{"feed": feed_name, **row} for row in timer.epochs]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.epoch_start",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--preset", default="cifar_small", choices=list(PRESETS))
    parser.add_argument("--dataset", help="as the trainer's; default: the shared CIFAR-10 copy")
    count = whole_number(at_least=1)
    parser.add_argument("--images", type=count, default=10_000, help="training images an epoch")
    parser.add_argument("--epochs", type=count, default=4)
    parser.add_argument("--batch-size", type=count, default=128)
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    try:
        dataset = load_dataset(real_cifar10(args.dataset))
    except ValueError as error:  # a wrong path, a file that is no dataset
        parser.error(str(error))
    print(dataset.summary(), flush=True)
    if args.images > len(dataset.y_train):
        print(f"--images {args.images:,}: the data has {len(dataset.y_train):,} training "
              "images, so an epoch trains on those", flush=True)  # fmt: skip
    rows = []
    for feed_name in ("Keras arrays", "fitting.batches"):
        rows += clock(feed_name, args.preset, dataset, args.images, args.epochs, args.batch_size)
        print(table(rows[-args.epochs :]), flush=True)
    # The first epoch traces and compiles; the waits that matter are the later epochs'.
    totals = [
        {"feed": name, "waits after the first epoch s": sum(
            r["wait s"] for r in rows if r["feed"] == name and r["epoch"] > 1)}
        for name in ("Keras arrays", "fitting.batches")
    ]  # fmt: skip
    print("\n" + table(totals))
    if args.epochs == 1:
        print("(one epoch: nothing after the first to wait for; ask for --epochs 2 or more)")
    if not args.no_save:
        settings = vars(args) | {"images": min(args.images, len(dataset.y_train))}
        path = save("epoch_start", {"settings": settings, "epochs": rows, "totals": totals})
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
