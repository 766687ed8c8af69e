"""Training and inference speed: our presets beside the tutorial's own code path.

    python -m bench.throughput                       # every preset but tiny, batch 32 and 128
    python -m bench.throughput --presets cifar_small --batch-sizes 64 128 256 --steps 20

For each preset and batch size: training and inference images per second, and the FLOP/s
that implies (training about 3x the forward multiply-adds, less conv1's input gradient, which
nothing computes; 2 FLOPs each) against this machine's
measured float32 matrix-multiply rate. The tutorial's code path is measured in the same
process: its Sequential model, one-hot labels from `to_categorical` and a plain `model.fit`
on arrays. Finally the cost of our live training job (progress, control and checkpoint
callbacks) against a plain `model.fit` of the same model on the same data.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import keras
import numpy as np

from alexnet_core.config import TrainConfig
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS
from alexnet_core.report import plan_layers
from bench.common import describe, matmul_flops, matmul_size, save, table, whole_number

WARMUP_STEPS = 2  # the first steps trace and compile; they are not timed


class StepTimer(keras.callbacks.Callback):
    """Wall time of every training step after the warm-up ones."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def tutorial_model() -> keras.Model:
    """The tutorial's AlexNet as it wrote it: a Sequential stack fed float images."""
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Resizing(227, 227, interpolation="bilinear"),
            keras.layers.Conv2D(96, 11, strides=4, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(3, strides=2),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(256, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2, strides=2),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(384, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(384, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(256, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(3, strides=2),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(4096, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(4096, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def train_rate(model, x, y, batch_size: int, steps: int, loss: str) -> float:
    """Images per second of plain `model.fit` on arrays, warm-up steps excluded."""
    model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9), loss=loss,
                  metrics=["accuracy"])  # fmt: skip
    n = batch_size * (steps + WARMUP_STEPS)
    timer = StepTimer()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=False, verbose=0,
              callbacks=[timer])  # fmt: skip
    timed = timer.times[WARMUP_STEPS:]
    return batch_size * len(timed) / sum(timed)


def inference_rate(model, x, batch_size: int, steps: int) -> float:
    batch = x[:batch_size]
    for _ in range(WARMUP_STEPS):
        model.predict_on_batch(batch)
    start = time.perf_counter()
    for _ in range(steps):
        model.predict_on_batch(batch)
    return batch_size * steps / (time.perf_counter() - start)


def training_macs(config) -> int:
    """Multiply-accumulates of one image's training step: the forward pass, then gradients of
    the weights and of each layer's input, as many again each, but conv1's input gradient,
    which nothing needs. (Result files before 2026-12-02 counted 3x the forward pass: 0.8% to
    5.1% high.)"""
    plan = plan_layers(config)
    conv1 = next(row.macs for row in plan.rows if row.name == "conv1")
    return 3 * plan.total_macs - conv1


def measure(name, model, x, y, batch_size, steps, loss, macs) -> dict:
    """macs: of one image's training step (training_macs)."""
    train = train_rate(model, x, y, batch_size, steps, loss)
    infer = inference_rate(model, x, batch_size, steps)
    return {
        "model": name,
        "batch": batch_size,
        "train img/s": train,
        "infer img/s": infer,
        "train GFLOP/s": train * macs * 2 / 1e9,
    }


def job_overhead(
    preset: str, batch_size: int, images: int, epochs: int = 3, repeats: int = 3
) -> dict:
    """Wall time of a whole run through our live job against the same run as plain Keras:
    the same model, compile, data feed, epochs, validation and final test pass. The job adds its
    callbacks (progress, control, learning rate), run-folder writes and checkpoints. The sides
    take turns in pairs, each pair in the other order (plain, job, job, plain, ...), so neither
    always runs first; each side's fastest run counts, as other load only ever slows a run
    down, and every run's time is kept to show the spread."""
    from alexnet_core import training
    from alexnet_core.data import load_dataset
    from alexnet_core.fitting import batches, compile_model, validation_data

    dataset = load_dataset("sample", validation_fraction=0.1)
    config = PRESETS[preset].for_dataset(dataset.image_size, dataset.num_classes)
    train = TrainConfig(dataset="sample", epochs=epochs, batch_size=batch_size,
                        train_subset=images, optimizer="sgd", learning_rate=0.01)  # fmt: skip
    x, y = dataset.x_train[:images], dataset.y_train[:images]
    one_hot = lambda labels: keras.utils.to_categorical(labels, dataset.num_classes)  # noqa: E731

    def live_job() -> float:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as runs_dir:
            job = training.start_training(config, train, dataset=dataset, runs_dir=runs_dir)
            job.wait()
        if job.snapshot().status != "finished":
            raise RuntimeError(f"the job ended {job.snapshot().status}: {job.snapshot().error}")
        return time.perf_counter() - start

    def plain_fit() -> float:
        start = time.perf_counter()
        keras.utils.set_random_seed(train.seed)
        model = build_alexnet(config)
        compile_model(model, train)
        # Fed as the engine feeds it (bench.epoch_start compares that with Keras' own feed), so
        # the difference is the job's callbacks and writes.
        validation = validation_data(dataset.x_val, one_hot(dataset.y_val), batch_size)
        model.fit(**batches(x, one_hot(y), batch_size, shuffle_seed=train.seed), epochs=epochs,
                  verbose=0, validation_data=validation)  # fmt: skip
        model.evaluate(**batches(dataset.x_test, one_hot(dataset.y_test), batch_size), verbose=0)
        return time.perf_counter() - start

    times = {"plain": [], "job": []}
    for turn in range(repeats):
        for side in ("plain", "job") if turn % 2 == 0 else ("job", "plain"):
            times[side].append(plain_fit() if side == "plain" else live_job())
    plain, job = min(times["plain"]), min(times["job"])
    return {
        "preset": preset,
        "images": len(y),
        "epochs": epochs,
        "plain fit s": plain,
        "live job s": job,
        "overhead %": 100 * (job / plain - 1),
        "plain runs s": [round(t, 2) for t in times["plain"]],
        "job runs s": [round(t, 2) for t in times["job"]],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS),
                        default=["tutorial", "paper", "cifar_gpu", "cifar_small"])  # fmt: skip
    count = whole_number(at_least=1)
    parser.add_argument("--batch-sizes", nargs="+", type=count, default=[32, 128])
    parser.add_argument("--steps", type=count, default=5, help="timed steps per measurement")
    parser.add_argument("--no-tutorial-code", action="store_true")
    parser.add_argument(
        "--overhead-images",
        type=whole_number(at_least=0),
        default=3600,
        help="images per epoch for the live-job overhead, measured on cifar_small at batch "
        "128 whatever --presets says (0 = skip it; the sample has 3600)",
    )
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args(argv)
    print(describe(), flush=True)

    rng = np.random.default_rng(0)
    most = max(args.batch_sizes) * (args.steps + WARMUP_STEPS)
    x = rng.integers(0, 256, (most, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, most)
    peak = matmul_flops()
    rows = []
    for batch_size in args.batch_sizes:
        first = len(rows)  # this batch size's rows
        if not args.no_tutorial_code:
            macs = training_macs(PRESETS["tutorial"].for_dataset(32, 10))
            onehot = keras.utils.to_categorical(labels, 10)
            rows.append(
                measure(
                    "tutorial's own code",
                    tutorial_model(),
                    x.astype("float32") / 255,
                    onehot,
                    batch_size,
                    args.steps,
                    "categorical_crossentropy",
                    macs,
                )
            )
        for name in args.presets:
            config = PRESETS[name].for_dataset(32, 10)
            macs = training_macs(config)
            rows.append(measure(name, build_alexnet(config), x, labels, batch_size, args.steps,
                                "sparse_categorical_crossentropy", macs))  # fmt: skip
        print(table(rows[first:]), flush=True)
    for row in rows:
        row["% of matmul peak"] = 100 * row["train GFLOP/s"] * 1e9 / peak
    overhead = []
    if args.overhead_images:
        overhead.append(job_overhead("cifar_small", 128, args.overhead_images))
    side = matmul_size()
    print(f"\nmatrix multiply ({side}x{side} float32): {peak / 1e9:.1f} GFLOP/s\n")
    print(table(rows))
    if overhead:
        print("\n" + table(overhead))
    if not args.no_save:
        path = save("throughput", {"matmul_gflops": peak / 1e9, "rows": rows,
                                   "overhead": overhead})  # fmt: skip
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
