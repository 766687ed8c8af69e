"""Where a run trains: one device, every device of the machine, or several machines.

This is TensorFlow's own distribution engine (tf.distribute), not a home-made one:
MirroredStrategy keeps a copy of the model on each local device and averages their gradients;
MultiWorkerMirroredStrategy does the same across machines named in the standard TF_CONFIG
environment variable. `batch_size` is always the global batch, split evenly across replicas,
so a run on two devices takes the same optimizer steps as on one. The learning rate is not
scaled with the replicas: the same global batch wants the same rate.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

DEVICE_SETTINGS = ("auto", "cpu", "gpu", "all")  # or one device by name, e.g. '/gpu:1'


@dataclass(frozen=True)
class Placement:
    """The strategy a run trains under, and what to tell the user about it."""

    strategy: object  # a tf.distribute.Strategy, or None for Keras' default single device
    replicas: int  # copies of the model that each take a share of every batch
    devices: tuple[str, ...]  # the devices of this machine that train
    workers: int  # machines taking part (1 unless TF_CONFIG names several)
    is_chief: bool  # whether this process writes the run folder

    def describe(self) -> str:
        where = ", ".join(self.devices)
        text = f"{self.replicas} replica{'s' if self.replicas > 1 else ''} on {where}"
        return text + (f" across {self.workers} workers" if self.workers > 1 else "")


# Keras' default path: one replica wherever the backend puts the work (the GPU if there is one).
SINGLE_DEVICE = Placement(None, 1, ("default",), 1, True)


def cluster() -> tuple[int, bool]:
    """(number of workers, whether this process is the chief) from TF_CONFIG.

    The chief is the 'chief' task if the cluster has one, else worker 0 (TensorFlow's rule).
    """
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return 1, True
    try:
        spec = json.loads(raw)
        workers = spec["cluster"].get("worker", [])
        chiefs = spec["cluster"].get("chief", [])
        task = spec["task"]
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(f"TF_CONFIG: not a valid cluster description ({exc}): {raw!r}") from exc
    is_chief = task.get("type") == "chief" or (
        not chiefs and task.get("type") == "worker" and task.get("index") == 0
    )
    return len(workers) + len(chiefs), is_chief


def place(setting: str = "auto") -> Placement:
    """The strategy for a device setting: 'auto' (every GPU if several, else the one GPU, else
    the CPU), 'cpu', 'gpu' (the first GPU), 'all' (every GPU, or every logical CPU where there
    is no GPU) or one device's name. Several workers in TF_CONFIG always mean multi-worker."""
    import keras

    workers, is_chief = cluster()
    if keras.backend.backend() != "tensorflow":
        if setting != "auto" or workers > 1:
            raise ValueError(f"devices: {setting!r} and TF_CONFIG need Keras' TensorFlow backend")
        return SINGLE_DEVICE  # JAX places work by itself
    import tensorflow as tf

    if workers > 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        devices = tuple(strategy.extended.worker_devices)
        return Placement(strategy, strategy.num_replicas_in_sync, devices, workers, is_chief)

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if setting == "auto" and len(gpus) <= 1:
        # One device: Keras' default path, which puts the work on the GPU when there is one.
        return Placement(None, 1, tuple(gpus or cpus[:1]), 1, True)
    if setting == "auto":
        devices = gpus
    elif setting == "cpu":
        devices = cpus[:1]
    elif setting == "gpu":
        if not gpus:
            raise ValueError("devices: 'gpu' was asked for, but TensorFlow sees no GPU here")
        devices = gpus[:1]
    elif setting == "all":
        devices = gpus or cpus
    else:
        matches = [name for name in gpus + cpus if short_name(name) == short_name(setting)]
        if not matches:
            raise ValueError(
                f"devices: no device {setting!r} here; choose one of {DEVICE_SETTINGS} or "
                f"{', '.join(gpus + cpus)}"
            )
        devices = matches[:1]
    if len(devices) > 1:
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        strategy = tf.distribute.OneDeviceStrategy(devices[0])
    return Placement(strategy, len(devices), tuple(devices), 1, True)


def short_name(device: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:1', '/gpu:1' and 'GPU:1' all read 'gpu:1'."""
    return device.lower().rsplit("device:", 1)[-1].lstrip("/")


def mend_keras_for_workers(model) -> None:
    """Let `model.fit`, `evaluate` and `predict` run under MultiWorkerMirroredStrategy.

    Keras 3 (checked up to 3.15) breaks there in two places, keras-team/keras#20585:
    - before the first step, fit() averages a batch of images across workers only to learn
      their shapes, and that cross-worker reduction of a per-replica value fails. The model is
      already built (Functional), and Keras builds the rest while tracing the first step, as
      it does without a strategy, so this model skips that build;
    - after every step, the per-replica loss and metrics (scalars) are averaged along axis 0,
      which scalars do not have. Scalars are averaged over the replicas instead, in this
      process only, which is a multi-worker training process.
    Called only when several workers train; tests/test_distribute.py trains two on loopback.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    if getattr(trainer.reduce_per_replica, "mended", False):
        return
    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        multi_worker = trainer._collective_all_reduce_multi_worker(strategy)
        if reduction not in ("auto", "mean") or not multi_worker:
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            if not trainer._is_per_replica_instance(value):
                return value
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(mean, values)

    reduce_per_replica.mended = True
    trainer.reduce_per_replica = reduce_per_replica
