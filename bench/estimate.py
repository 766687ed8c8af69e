"""How close is the Train page's time estimate to the run it estimates?

    python -m bench.estimate                          # tiny, the sample, 256 images, 3 epochs
    python -m bench.estimate --preset cifar_small --train-subset 2048 --batch-size 128 --epochs 2

Estimates a run as the Train page's "Estimate time per epoch" does (estimate.estimate_run:
timed training and evaluation steps, one checkpoint save, extrapolated), then trains that same
run through the training engine and sets the figures side by side: the estimate's build time,
time per epoch and total against the real first epoch (which builds the model's steps), the
later epochs' mean and the whole run's training time.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

from alexnet_core import estimate, run_logs, runs, training
from alexnet_core.data import load_dataset
from alexnet_core.presets import PRESETS, train_preset
from alexnet_core.training_data import TrainingData
from bench.common import describe, save, table, whole_number


def compare(preset: str, source: str, subset: int, batch_size: int, epochs: int) -> list[dict]:
    """Rows of (figure, estimated, measured) seconds for one run of these settings."""
    settings = dataclasses.replace(train_preset(preset), dataset=source, epochs=epochs,
                                   batch_size=batch_size, train_subset=subset)  # fmt: skip
    fraction = settings.validation_fraction
    dataset = load_dataset(source, image_size=settings.image_size, validation_fraction=fraction,
                           seed=settings.seed)  # fmt: skip
    model_config = PRESETS[preset].for_dataset(dataset.image_size, dataset.num_classes)
    used = TrainingData.from_dataset(dataset, subset)
    guess = estimate.estimate_run(model_config, settings, len(used.y_train), len(used.y_val),
                                  len(used.y_test), checkpoints_per_epoch=2)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="alexnet-estimate-bench-") as folder:
        started = time.perf_counter()
        job = training.start_training(model_config, settings, dataset=dataset, runs_dir=folder)
        job.wait()
        wall = time.perf_counter() - started
        run = runs.read_run(job.run_dir)
        if run.status != "finished":
            raise SystemExit(f"the run ended {run.status}: {run.error}")
        seconds = [row["seconds"] for row in run_logs.load_history(job.run_dir)]
    rows = [{"figure": "first epoch (with the build)", "estimated s": guess.build_s + guess.epoch_s,
             "measured s": seconds[0]}]  # fmt: skip
    if len(seconds) > 1:
        later = seconds[1:]
        rows.append({"figure": "each later epoch", "estimated s": guess.epoch_s,
                     "measured s": sum(later) / len(later)})  # fmt: skip
    total = guess.total_s(epochs)
    rows.append({"figure": f"the run ({epochs} epochs, test pass)", "estimated s": total,
                 "measured s": run.duration_s})  # fmt: skip
    rows.append({"figure": "the run, from the call to the end", "estimated s": total,
                 "measured s": wall})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.estimate",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--preset", default="tiny", choices=list(PRESETS))
    parser.add_argument("--dataset", default="sample", help="as the trainer's (default: sample)")
    count = whole_number(at_least=1)
    parser.add_argument("--train-subset", type=count, default=256, help="training images")
    parser.add_argument("--batch-size", type=count, default=32)
    parser.add_argument("--epochs", type=count, default=3)
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    try:
        rows = compare(args.preset, args.dataset, args.train_subset, args.batch_size, args.epochs)
    except ValueError as error:  # a wrong dataset path, a network that does not fit
        parser.error(str(error))
    for row in rows:
        row["measured / estimated"] = row["measured s"] / row["estimated s"]
    print(table(rows))
    if not args.no_save:
        print(f"\nwritten to {save('estimate', {'settings': vars(args), 'rows': rows})}")


if __name__ == "__main__":
    main()
