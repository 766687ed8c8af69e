"""How a job's model is fitted: optimizer, loss and metric, model.fit, and the memory it needs.

fit() runs in the training thread.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from alexnet_core import checkpoints, distribute, images, system
from alexnet_core.config import ModelConfig, TrainConfig
from alexnet_core.units import bytes_text

# Copies of the weights an optimizer keeps: SGD's momentum, Adam's two moments.
OPTIMIZER_SLOTS = {"sgd": 1, "adam": 2, "adamw": 2}
# What training really took over training_memory's floor: 1.68 to 2.06 times it on the 2-core
# CPU, for networks of 25 to 267 million parameters and batches of 16 and 64 (bench/memory.py;
# building the weights alone takes about three times their size while initialising them). The
# check counts 1.6 times the floor: a network it refuses would not have fitted.
TRAINING_OVERHEAD = 1.6


def training_memory(model_config: ModelConfig, batch_size: int, optimizer: str) -> tuple[int, int]:
    """A floor of the bytes training needs, in two parts: the float32 weights with their
    gradients and the optimizer's copies; a batch's layer outputs with their gradients.
    Frameworks need more (workspaces, copies), never less."""
    from alexnet_core.report import plan_layers

    plan = plan_layers(model_config)
    weights = 4 * plan.total_params * (2 + OPTIMIZER_SLOTS[optimizer])
    return weights, 2 * batch_size * plan.total_memory_bytes


SMALLER = "Lower the width, the dense layers' units, the input size or the batch size."


def check_memory(model_config: ModelConfig, train_config: TrainConfig, way_out=SMALLER,
                 train_images: int | None = None) -> None:  # fmt: skip
    """ValueError, before anything is built, when training the network would need more memory
    than this machine has free: a network that cannot fit would otherwise fail deep in
    TensorFlow, or get the whole app killed by the system. Counts TRAINING_OVERHEAD times the
    floor, below what training was measured to take, so only a network that cannot fit is
    refused. The message ends with `way_out`. A batch larger than `train_images`, where known,
    trains as one batch of them all."""
    batch = min(train_config.batch_size, train_images or math.inf)
    optimizer = train_config.optimizer
    weights, outputs = training_memory(model_config, batch, optimizer)
    needed = TRAINING_OVERHEAD * (weights + outputs)
    total, free = images.machine_memory(), images.free_memory()
    available = min(free, total) if free is not None and total else free or total
    if available and needed > available:
        has = f"this machine's {bytes_text(total)}" if available == total else (
            f"the {bytes_text(available)} free on this machine now"
            + (f" (of {bytes_text(total)})" if total else ""))  # fmt: skip
        raise ValueError(
            f"Training this network needs about {bytes_text(needed)} here: "
            f"{TRAINING_OVERHEAD:g} times the {bytes_text(weights + outputs)} that the "
            f"weights with their gradients and {optimizer}'s copies "
            f"({bytes_text(weights)}) and a batch of {batch} ({bytes_text(outputs)}) "
            f"take at the least. That is more than {has}. {way_out}"
        )


def out_of_memory(exc: BaseException, model_config: ModelConfig, batch_size: int,
                  optimizer: str = "sgd") -> str | None:  # fmt: skip
    """A plain message when `exc` is a device running out of memory (TensorFlow's
    ResourceExhaustedError, JAX's RESOURCE_EXHAUSTED; a GPU has less memory than check_memory
    counts on), else None. Their own text is pages of allocator detail."""
    if type(exc).__name__ != "ResourceExhaustedError" and "RESOURCE_EXHAUSTED" not in str(exc):
        return None
    weights, outputs = training_memory(model_config, batch_size, optimizer)
    return (f"The device ran out of memory (a batch of {batch_size} needs at least "
            f"{bytes_text(outputs)} for its layer outputs, the weights with their "
            f"gradients {bytes_text(weights)}). Lower the batch size, the width, the "
            "dense layers' units or the input size.")  # fmt: skip


def make_optimizer(config: TrainConfig):
    """The optimizer `config` asks for. Weight decay (decoupled: w -= lr * decay * w each step)
    skips biases and batch-norm gamma/beta: shrinking those only fights the normalisation."""
    import keras

    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(
            config.learning_rate, momentum=config.momentum, nesterov=config.nesterov,
            weight_decay=config.weight_decay or None,
        )  # fmt: skip
    elif config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    else:  # plain Adam: decay belongs to AdamW, so Adam shows what decoupling changes
        optimizer = keras.optimizers.Adam(config.learning_rate)
    if optimizer.weight_decay:
        # Matched against the variable's name: 'bias' under JAX, 'fc6/bias:0' under TensorFlow.
        optimizer.exclude_from_weight_decay(var_names=[r"(^|/)(bias|gamma|beta)(:\d+)?$"])
    return optimizer


def compile_model(model, config: TrainConfig, optimizer=None) -> None:
    """Loss and metric for one-hot labels: label smoothing needs them."""
    import keras

    model.compile(
        optimizer=optimizer or make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def fit(job, data) -> str:
    """The training thread's work: build (or reload) the model, fit it with the job's
    callbacks, test it. Returns the final status, 'finished' or 'stopped'."""
    import keras

    from alexnet_core import callbacks, classify

    config = job.train_config
    placement = job.placement
    # Both settings are per thread in Keras, so they are made here, in the worker. A continued
    # run seeds afresh: the flips, shifts and dropout of a reloaded model would otherwise draw
    # what its first epoch drew (Keras saves their random state with neither the model nor
    # the seed).
    keras.utils.set_random_seed((config.seed + job.epochs_done) % 2**32)  # seeds up to 2**32-1
    keras.config.set_dtype_policy(precision(config, placement))
    job.begin(_device_label(placement))
    # Variables made inside the strategy's scope are mirrored on every replica; Keras then
    # splits each global batch of batch_size images evenly across them.
    with placement.strategy.scope() if placement.strategy else contextlib.nullcontext():
        model = _job_model(job)
    if placement.workers > 1:
        distribute.mend_keras_for_workers(model)
    one_hot = lambda y: keras.utils.to_categorical(y, len(data.class_names))  # noqa: E731
    steps = [
        callbacks.LearningRateControl(job, config, job.manual_rate),
        callbacks.Progress(job),
        callbacks.Checkpoints(job, config.save_every_epoch, job.best),
        callbacks.Control(job),
    ]
    validation = None
    if len(data.y_val):
        validation = validation_data(data.x_val, one_hot(data.y_val), config.batch_size)
    if not job.stop_requested():
        # A new order every epoch; a continued run does not replay the first epochs' orders.
        train = batches(data.x_train, one_hot(data.y_train), config.batch_size,
                        shuffle_seed=config.seed + job.epochs_done)  # fmt: skip
        model.fit(**train, epochs=config.epochs, initial_epoch=job.epochs_done,
                  validation_data=validation, callbacks=steps, verbose=0)  # fmt: skip
    else:  # stopped while it was being built: what is left is the test pass
        job.begin_stopping()
    if len(data.y_test) and job.epochs_done:
        # Test metrics of the final weights, the ones last.keras holds; the loss without label
        # smoothing, as the Evaluate page and the tutorial give it.
        test = batches(data.x_test, one_hot(data.y_test), config.batch_size)
        test.pop("y", None)  # predict takes the images (a tf.data feed ignores its labels)
        probabilities = np.asarray(model.predict(**test, verbose=0), dtype=np.float64)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == data.y_test))
        job.record_test(classify.cross_entropy(probabilities, data.y_test), accuracy)
    return "finished" if job.completed() else "stopped"


def precision(config: TrainConfig, placement) -> str:
    """The Keras dtype policy a run computes in: mixed float16 where asked for and on a GPU."""
    mixed = config.mixed_precision and "GPU" in _device_label(placement)
    return "mixed_float16" if mixed else "float32"


def _device_label(placement) -> str:
    """Where a job trains, for people: 'CPU', 'GPU:0 (NVIDIA H200)', 'GPU:1' or the replicas."""
    if placement.strategy is None:  # Keras' own placement: the first GPU, else the CPU
        return system.training_device()
    if placement.replicas > 1:
        return placement.describe()
    name = distribute.short_name(placement.devices[0]).upper()  # a device asked for by setting
    return "CPU" if name.startswith("CPU") else name


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None):
    """model.fit / model.evaluate arguments that feed (x, y) in batches, in a new order every
    epoch when shuffle_seed is given.

    Under TensorFlow this is a tf.data pipeline with autotuning off. Keras' own pipeline for
    arrays autotunes, and dropping an autotuned iterator waits for the tuner's sleep to end:
    at the start of every epoch, when Keras replaces the last epoch's iterator, both cores sat
    idle for up to half a minute (17 and 30 s in bench.epoch_start). Picking 128 images out of
    an array needs no tuning. Other backends get the arrays, which Keras feeds without tf.data.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return {"x": x, "y": y, "batch_size": batch_size} | (
            {"shuffle": True} if shuffle_seed is not None else {}
        )
    import tensorflow as tf

    order = tf.data.Dataset.range(len(x))
    if shuffle_seed is not None:
        order = order.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    # The arrays travel as one tensor beside the batches of indices, as Keras does it, so a
    # large dataset is never written into a graph as a constant.
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    pairs = tf.data.Dataset.zip((order.batch(batch_size), arrays))
    dataset = pairs.map(lambda index, xy: (tf.gather(xy[0], index), tf.gather(xy[1], index)))
    options = tf.data.Options()
    options.autotune.enabled = False
    # Under several workers each takes its share of every batch, as for Keras' arrays.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    feed = {"x": dataset.prefetch(2).with_options(options)}
    # For fit: the dataset shuffles itself (Keras would warn that its own shuffle is ignored).
    return feed | ({"shuffle": False} if shuffle_seed is not None else {})


def validation_data(x: np.ndarray, y: np.ndarray, batch_size: int):
    """model.fit's validation_data for (x, y), fed as batches() feeds it."""
    feed = batches(x, y, batch_size)
    return feed["x"] if "y" not in feed else (feed["x"], feed["y"])


def _job_model(job):
    import keras

    from alexnet_core.model import build_alexnet

    model = build_alexnet(job.model_config)
    if not job.continuing:
        compile_model(model, job.train_config)
        return model
    # The network config.json describes, computing as this device does (a GPU's mixed float16
    # run continued on a CPU, say), with last.keras's weights: a file copied in from another run
    # is refused (checkpoints.ForeignCheckpoint), never trained in this run's name.
    saved = checkpoints.load_checkpoint(job.run_dir, "last")
    # A fresh optimizer (the weight-decay exclusions are not saved with the model) that
    # carries on the saved one's step count and momentum.
    optimizer = make_optimizer(job.train_config)
    optimizer.build(model.trainable_variables)
    before = saved.optimizer
    state = getattr(before, "inner_optimizer", before)  # mixed precision
    checkpoints.check_same_run(saved, state, model, optimizer, job.run_dir, "last")
    model.set_weights(saved.get_weights())
    for new, old in zip(optimizer.variables, state.variables, strict=True):
        new.assign(old)
    compile_model(model, job.train_config, optimizer)
    scaled = keras.optimizers.LossScaleOptimizer
    if isinstance(before, scaled) and isinstance(model.optimizer, scaled):
        # Mixed precision before and now: the loss scale learned so far carries on too.
        model.optimizer.build(model.trainable_variables)  # the inner one is built already
        model.optimizer.step_counter.assign(before.step_counter)
        model.optimizer.dynamic_scale.assign(before.dynamic_scale)
    return model
