"""Accuracy on real CIFAR-10: train a preset with the training engine, report test accuracy.

    python -m bench.accuracy --preset cifar_small
    python -m bench.accuracy --preset cifar_small --seeds 0 1 2
    python -m bench.accuracy --preset cifar_small --epochs 4 --width 0.375 --train-subset 10000
    python -m bench.accuracy --preset tutorial --dataset ~/.keras/datasets/cifar-10-batches-py
    python -m bench.accuracy --score checkpoints/<run folder>     # test a finished run again

Takes every option of the command-line trainer (python -m alexnet_core.train --help).

Trains on the train part (less a validation split used for the per-epoch numbers), then
reports the test split once: loss and accuracy, with flip test-time augmentation (the mean of
the predictions for the image and its mirror) when the preset trains with flips, and with the
paper's ten patches (the centre and four corners, each mirrored) when it also trains with
shifts. Data: the shared JPEG copy beside the repository when it is there, else the Keras
cache, or --dataset.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from alexnet_core import checkpoints, evaluation, run_logs, runs, training
from alexnet_core.config import config_to_dict
from alexnet_core.data import load_dataset
from alexnet_core.estimate import estimate_run
from alexnet_core.train import build_parser, configs_from_args
from bench.common import describe, real_cifar10, save, table

# For what timed steps miss (jitter, slower first-epoch steps): measured epochs with validation
# took 1.11x an estimate from training steps alone on the CPU.
EPOCH_MARGIN = 1.15
# 2: test_loss without label smoothing, epoch_seconds recorded; files without it are version 1
RESULTS_VERSION = 2


# Where each test-time view's results go in the JSON (see alexnet_core.classify.view_batches).
RESULT_NAMES = {"single": ("test_ce", "test_acc"), "flip": ("tta_test_ce", "tta_test_accuracy"),
                "ten": ("ten_test_ce", "ten_test_accuracy")}  # fmt: skip


def test_metrics(model, dataset, model_config) -> dict:
    """Test cross-entropy (without label smoothing, as the tutorial reported it) and accuracy
    of the image alone, and with the test-time augmentation the training augmentation earns:
    the mirror-image average after flips, the paper's ten patches after flips and shifts."""
    views = ["single"]
    if model_config.augment_flip:
        views.append("flip")
        if model_config.augment_shift:
            views.append("ten")
    metrics = {}
    for view in views:
        result = evaluation.evaluate(
            model, dataset.x_test, dataset.y_test, dataset.class_names, views=view
        )
        loss_name, accuracy_name = RESULT_NAMES[view]
        metrics.update({loss_name: result.loss, accuracy_name: result.top1})
    return metrics


def epochs_within(minutes: float, model_config, train_config, dataset) -> int:
    """The most epochs that fit in `minutes` here: training and validation steps and the
    checkpoints timed as the run will train (its devices and precision, as Train's estimate
    does), once the build and the test pass are taken off the time."""
    images = train_images(dataset, train_config)
    timed = estimate_run(model_config, train_config, images, len(dataset.y_val),
                         len(dataset.y_test), steps=5, checkpoints_per_epoch=2)  # fmt: skip
    once = timed.build_s + timed.test_s
    epochs = epochs_for(max(minutes - once / 60, 0), timed.epoch_s)
    print(f"about {timed.epoch_s:.2g} s per epoch here and {once:.2g} s to build and test: "
          f"{epochs} epochs fit in {minutes:g} min", flush=True)  # fmt: skip
    return epochs


def epochs_for(minutes: float, epoch_seconds: float) -> int:
    """At least one; the margin covers what the timed steps leave out (validation,
    checkpoints, the test pass)."""
    return max(1, int(minutes * 60 / (EPOCH_MARGIN * epoch_seconds)))


def train_images(dataset, train_config) -> int:
    """How many images one epoch trains on: the train part, or the subset asked for."""
    return min(len(dataset.y_train), train_config.train_subset or len(dataset.y_train))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _epoch_accuracy(row: dict) -> str:
    """An epoch's validation accuracy, or its training one when no data was held out."""
    if row["val_accuracy"] is None:
        return f"accuracy {row['accuracy']:.4f} on the augmented training batches"
    return f"val_accuracy {row['val_accuracy']:.4f}"


def train_once(model_config, train_config, dataset, runs_dir=None, quiet=False) -> dict:
    print(f"training {model_config}\n  with {train_config}", flush=True)
    start = time.perf_counter()
    job = training.start_training(model_config, train_config, dataset=dataset, runs_dir=runs_dir)
    last_epoch = 0
    try:
        while not job.wait(timeout=5):
            snapshot = job.snapshot()
            if quiet:
                continue
            if snapshot.epoch_history and snapshot.epoch_history[-1]["epoch"] != last_epoch:
                row = snapshot.epoch_history[-1]
                last_epoch = row["epoch"]
                print(f"  epoch {last_epoch}: {_epoch_accuracy(row)} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    except KeyboardInterrupt:  # as the trainer does: the epoch ends, checkpoints are kept
        print("\nstopping after this batch", file=sys.stderr, flush=True)
        job.stop()
        job.wait()
        print(f"stopped; no result. The run folder keeps what it learned: {job.run_dir}",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(130) from None
    wall = time.perf_counter() - start
    snapshot = job.snapshot()
    images = train_images(dataset, train_config)
    if snapshot.status != "finished":
        raise SystemExit(f"the run ended {snapshot.status}: {snapshot.error}")
    result = {
        "preset": model_config.preset,
        "seed": train_config.seed,
        "run": snapshot.run_id,
        "epochs": train_config.epochs,
        "model_config": config_to_dict(model_config),
        "train_config": config_to_dict(train_config),
        # None for every epoch when trained with --validation-fraction 0
        "val_accuracy": [_rounded(r["val_accuracy"]) for r in snapshot.epoch_history],
        "train_accuracy": [_rounded(r["accuracy"]) for r in snapshot.epoch_history],
        # Cross-entropy without label smoothing from results version 2 on; with the run's
        # label smoothing in older files (their test_ce is always without).
        "test_loss": snapshot.test_loss,
        "test_accuracy": snapshot.test_accuracy,
        "wall_s": wall,
        "train_images": images,
        # Over the whole wall time: building, tracing, validation, checkpoints and the test
        # pass included. Each epoch's own seconds (its validation included) are beside it.
        "train_images_per_s": images * train_config.epochs / wall,
        "epoch_seconds": [round(r["seconds"], 2) for r in snapshot.epoch_history],
    }
    return result | scored_views(snapshot.run_dir, dataset, model_config)


def score_run(run_dir: str, source: str | None = None) -> tuple[dict, str]:
    """A finished run scored again on its test split, without training (e.g. with views added
    since it ran): its recorded numbers and the test views' ones, and the data's name.
    ValueError for a folder that is not a finished run, or data that is not the run's own."""
    if not Path(run_dir).is_dir():
        raise ValueError(f"{run_dir}: no such run folder")
    if not (Path(run_dir) / "config.json").is_file():
        raise ValueError(f"{run_dir}: not a run folder (it has no config.json)")
    run = runs.read_run(run_dir)
    if run.status != "finished" or run.model_config is None:
        raise ValueError(f"{run_dir}: only a finished run can be scored (it is {run.status})")
    train_config = run.train_config
    dataset = load_dataset(
        source or run.dataset,
        image_size=train_config.image_size,
        validation_fraction=train_config.validation_fraction,
        seed=train_config.seed,
    )
    check_same_data(run, dataset)
    images = train_images(dataset, train_config)
    result = {
        "preset": run.preset,
        "seed": train_config.seed,
        "run": run.run_id,
        "epochs": run.epochs_done,
        "model_config": config_to_dict(run.model_config),
        "train_config": config_to_dict(train_config),
        # As the run recorded them (its own test pass); the table shows test_ce and test_acc,
        # computed again below in one evaluation.
        "test_loss": run.test_loss,
        "test_accuracy": run.test_accuracy,
        "wall_s": run.duration_s,  # as the run recorded it: training and its test pass
        "train_images": images,
        "train_images_per_s": images * run.epochs_done / run.duration_s,
        "epoch_seconds": [round(r["seconds"], 2) for r in run_logs.load_history(run.path)],
    }
    return result | scored_views(run.path, dataset, run.model_config), dataset.name


def check_same_data(run, dataset) -> None:
    """ValueError unless `dataset` is the data the run trained with: the same classes, and the
    same validation and test images (as continuation.continue_training refuses other data). Runs
    older than these records are scored as they are."""
    if run.class_names and dataset.class_names != run.class_names:
        raise ValueError(
            f"{dataset.source}: its classes {list(dataset.class_names)} differ from the ones "
            f"run {run.run_id} learned {list(run.class_names)}"
        )
    if run.held_out_digest and dataset.held_out_digest() != run.held_out_digest:
        raise ValueError(
            f"{dataset.source}: its validation and test images are not the ones run "
            f"{run.run_id} held out (the data changed, or is other data), so its test figures "
            f"could count images it trained on. Score it on the data it trained with "
            f"({run.dataset})."
        )


def scored_views(run_dir, dataset, model_config) -> dict:
    """test_metrics of the run's last checkpoint, and the seconds they took (not in wall_s)."""
    model = checkpoints.load_checkpoint(run_dir, "last")
    start = time.perf_counter()
    metrics = test_metrics(model, dataset, model_config)
    return metrics | {"test_views_s": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    # Every option of the command-line trainer (--preset, --epochs, --width, ...), so a sweep
    # point is one command line.
    parser = build_parser()
    parser.prog, parser.description = "python -m bench.accuracy", __doc__.split("\n\n")[0]
    parser.usage = "%(prog)s [--preset NAME | --score RUN_DIR ...] [options]"
    parser.epilog = ("--dataset defaults to the JPEG copy of CIFAR-10 beside the checkout "
                     "(../shared/datasets/cifar10-jpeg.zip), else Keras' copy. Ctrl-C stops the "
                     "run after the current batch (exit 130, no result); the run folder keeps "
                     "what it learned.")  # fmt: skip
    for action in parser._actions:
        if action.dest == "continue_run":  # a benchmark trains from scratch
            action.help = argparse.SUPPRESS
        elif action.dest == "dataset":  # not the trainer's 'auto'
            action.help = "CIFAR-10 as a path, or 'keras' (default: see below)"
    seeds = "train once per seed (each splits off its own validation images); default --seed"
    parser.add_argument("--seeds", nargs="+", type=int, help=seeds)
    minutes = "train as many epochs as fit here in this many minutes (overrides --epochs)"
    parser.add_argument("--minutes", type=float, help=minutes)
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    score = "score these finished runs on the test split again, without training"
    parser.add_argument("--score", nargs="+", metavar="RUN_DIR", help=score)
    args = parser.parse_args(argv)
    if args.continue_run:
        parser.error("--continue belongs to the trainer: a benchmark trains from scratch")
    if args.minutes is not None and not args.minutes > 0:
        parser.error(f"argument --minutes: got {args.minutes:g}, expected more than 0")
    print(describe(), flush=True)
    try:
        if args.score:
            scored = [score_run(run_dir, args.dataset) for run_dir in args.score]
            results, data, name = [result for result, _ in scored], scored[0][1], "scored"
        else:
            results, data, name = train_seeds(args)
    except ValueError as error:  # bad settings or data, a run its data no longer matches
        parser.error(str(error))
    report(results, data, name, args.no_save)


def train_seeds(args) -> tuple[list[dict], str, str]:
    """Train the configs the command line gives once per seed: the results, the data's name
    and the preset's."""
    model_config, train_config = configs_from_args(args)
    seeds = args.seeds or [train_config.seed]
    source = real_cifar10(args.dataset)

    def data_for(seed: int):
        fraction = train_config.validation_fraction
        return load_dataset(source, image_size=train_config.image_size,
                            validation_fraction=fraction, seed=seed)  # fmt: skip

    dataset = data_for(seeds[0])
    print(dataset.summary(), flush=True)
    if train_config.train_subset and train_config.train_subset < len(dataset.y_train):
        print(f"training on the first {train_config.train_subset:,} of those training images "
              "(--train-subset)", flush=True)  # fmt: skip
    model_config = model_config.for_dataset(dataset.image_size, dataset.num_classes)
    train_config = dataclasses.replace(train_config, dataset=dataset.source)
    if args.minutes:
        epochs = epochs_within(args.minutes, model_config, train_config, dataset)
        train_config = dataclasses.replace(train_config, epochs=epochs)
    results = [
        train_once(
            model_config,
            dataclasses.replace(train_config, seed=seed),
            dataset if seed == seeds[0] else data_for(seed),
            args.runs_dir,
            args.quiet,
        )
        for seed in seeds
    ]
    return results, dataset.name, model_config.preset


def report(results: list[dict], data: str, name: str, no_save: bool) -> None:
    """The results as a table, and as JSON in bench/results/ unless no_save."""
    rows = [
        {
            "preset": r["preset"],
            "seed": r["seed"],
            "epochs": r["epochs"],
            # Both from the one test pass of scored_views; the run's own pass is in the JSON.
            "test acc": r["test_acc"],
            "test CE": r["test_ce"],
            "flip-TTA acc": r.get("tta_test_accuracy"),  # None: trained without flips
            "ten-patch acc": r.get("ten_test_accuracy"),  # None: without flips and shifts
            "wall min": r["wall_s"] / 60,
            "img/s": r["train_images_per_s"],
        }
        for r in results
    ]
    print("\n" + table(rows))
    if any(row["ten-patch acc"] is None for row in rows):
        print("— : not scored; a network trained without flips (and shifts, for the ten "
              "patches) is not tested on those views")  # fmt: skip
    if not no_save:
        path = save(f"accuracy-{name}", {"version": RESULTS_VERSION, "data": data,
                                         "results": results})  # fmt: skip
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
