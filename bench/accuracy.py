"""Accuracy on real CIFAR-10: train a preset with the training engine, report test accuracy.

    python -m bench.accuracy --preset cifar_small
    python -m bench.accuracy --preset cifar_small --seeds 0 1 2
    python -m bench.accuracy --preset cifar_small --epochs 4 --width 0.375 --train-subset 10000
    python -m bench.accuracy --preset tutorial --dataset ~/.keras/datasets/cifar-10-batches-py

Takes every option of the command-line trainer (python -m alexnet_core.train --help).

Trains on the train part (less a validation split used for the per-epoch numbers), then
reports the test split once: loss and accuracy, and with flip test-time augmentation (the mean
of the predictions for the image and its mirror) when the preset trains with flips. Data: the
shared JPEG copy beside the repository when it is there, else the Keras cache, or --dataset.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from alexnet_core import runs, training
from alexnet_core.config import config_to_dict
from alexnet_core.data import load_dataset
from alexnet_core.fitting import estimate_epoch_seconds
from alexnet_core.train import build_parser, configs_from_args
from bench.common import describe, save, table

EPOCH_MARGIN = 1.15  # measured epochs (with validation) took 1.11x the estimate on the CPU
SHARED_ZIP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.zip"


def cross_entropy_and_accuracy(probabilities: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Plain cross-entropy (no label smoothing, as the tutorial reported it) and accuracy."""
    loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1))))
    return loss, float(np.mean(probabilities.argmax(axis=1) == y))


def test_metrics(model, x: np.ndarray, y: np.ndarray, flip: bool) -> dict:
    """Test loss and accuracy, and with flip test-time augmentation (the mean of the
    predictions for each image and its mirror image) when the model trained with flips."""
    plain = model.predict(x, batch_size=500, verbose=0)
    metrics = dict(zip(("test_ce", "test_acc"), cross_entropy_and_accuracy(plain, y), strict=True))
    if flip:
        mirrored = model.predict(x[:, :, ::-1], batch_size=500, verbose=0)
        both = cross_entropy_and_accuracy((plain + mirrored) / 2, y)
        metrics.update(zip(("tta_test_ce", "tta_test_accuracy"), both, strict=True))
    return metrics


def epochs_within(minutes: float, model_config, train_config, dataset) -> int:
    """The most epochs that fit in `minutes` here, from a few timed training steps."""
    images = min(len(dataset.y_train), train_config.train_subset or len(dataset.y_train))
    epoch = estimate_epoch_seconds(model_config, train_config.batch_size, images, steps=5)
    epochs = epochs_for(minutes, epoch)
    print(f"about {epoch:.0f} s per epoch here: {epochs} epochs fit in {minutes:g} min",
          flush=True)  # fmt: skip
    return epochs


def epochs_for(minutes: float, epoch_seconds: float) -> int:
    """At least one; the margin covers what the timed steps leave out (validation,
    checkpoints, the test pass)."""
    return max(1, int(minutes * 60 / (EPOCH_MARGIN * epoch_seconds)))


def train_once(model_config, train_config, dataset, runs_dir=None) -> dict:
    print(f"training {model_config}\n  with {train_config}", flush=True)
    start = time.perf_counter()
    job = training.start_training(model_config, train_config, dataset=dataset, runs_dir=runs_dir)
    last_epoch = 0
    while not job.wait(timeout=5):
        snapshot = job.snapshot()
        if snapshot.epoch_history and snapshot.epoch_history[-1]["epoch"] != last_epoch:
            row = snapshot.epoch_history[-1]
            last_epoch = row["epoch"]
            print(f"  epoch {last_epoch}: val_accuracy {row['val_accuracy']:.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    wall = time.perf_counter() - start
    snapshot = job.snapshot()
    images = min(len(dataset.y_train), train_config.train_subset or len(dataset.y_train))
    if snapshot.status != "finished":
        raise SystemExit(f"the run ended {snapshot.status}: {snapshot.error}")
    result = {
        "preset": model_config.preset,
        "seed": train_config.seed,
        "run": snapshot.run_id,
        "epochs": train_config.epochs,
        "model_config": config_to_dict(model_config),
        "train_config": config_to_dict(train_config),
        "val_accuracy": [round(r["val_accuracy"], 4) for r in snapshot.epoch_history],
        "test_loss": snapshot.test_loss,  # the training loss: with label smoothing, if any
        "test_accuracy": snapshot.test_accuracy,
        "wall_s": wall,
        "train_images": images,
        "train_images_per_s": images * train_config.epochs / wall,
    }
    model = runs.load_checkpoint(snapshot.run_dir, "last")
    result.update(test_metrics(model, dataset.x_test, dataset.y_test, model_config.augment_flip))
    return result


def main() -> None:
    # Every option of the command-line trainer (--preset, --epochs, --width, ...), so a sweep
    # point is one command line.
    parser = build_parser()
    parser.prog, parser.description = "python -m bench.accuracy", __doc__.split("\n\n")[0]
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    minutes = "train as many epochs as fit here in this many minutes (overrides --epochs)"
    parser.add_argument("--minutes", type=float, help=minutes)
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args()
    if args.continue_run:
        parser.error("--continue belongs to the trainer: a benchmark trains from scratch")
    print(describe(), flush=True)
    model_config, train_config = configs_from_args(args)

    source = args.dataset or (str(SHARED_ZIP) if SHARED_ZIP.exists() else "keras")
    dataset = load_dataset(source, validation_fraction=train_config.validation_fraction)
    print(dataset.summary(), flush=True)
    model_config = model_config.for_dataset(dataset.image_size, dataset.num_classes)
    train_config = dataclasses.replace(train_config, dataset=dataset.source)
    if args.minutes:
        epochs = epochs_within(args.minutes, model_config, train_config, dataset)
        train_config = dataclasses.replace(train_config, epochs=epochs)
    results = [
        train_once(
            model_config, dataclasses.replace(train_config, seed=seed), dataset, args.runs_dir
        )
        for seed in args.seeds
    ]
    rows = [
        {
            "preset": r["preset"],
            "seed": r["seed"],
            "epochs": r["epochs"],
            "test acc": r["test_accuracy"],
            "test CE": r["test_ce"],
            "flip-TTA acc": r.get("tta_test_accuracy", float("nan")),
            "wall min": r["wall_s"] / 60,
            "img/s": r["train_images_per_s"],
        }
        for r in results
    ]
    print("\n" + table(rows))
    if not args.no_save:
        path = save(f"accuracy-{model_config.preset}", {"data": dataset.name, "results": results})
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
