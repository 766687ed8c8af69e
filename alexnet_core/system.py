"""The machine the app runs on: versions, processors, and the device training will use."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys


def preload() -> None:
    """Import TensorFlow, Keras and pandas now, in the calling (main) thread.

    Importing them for the first time in a worker thread while a page draws a chart crashed
    the page ("partially initialized module 'pandas'"), so the entry script calls this before
    any training thread starts.
    """
    import keras  # noqa: F401
    import pandas  # noqa: F401
    import tensorflow  # noqa: F401


def gpu_names() -> list[str]:
    """The GPUs Keras' backend sees, as 'GPU:0 (NVIDIA H200)'; empty on a CPU-only machine."""
    import keras

    if keras.backend.backend() == "jax":  # the lent GPU machines run Keras on JAX
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return [f"GPU:{i} ({d.device_kind})" for i, d in enumerate(gpus)]
    import tensorflow as tf

    names = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(f"GPU:{index} ({details.get('device_name', 'unknown GPU')})")
    return names


def training_device() -> str:
    """What Keras trains on: the first GPU when TensorFlow sees one (Keras places work there
    by itself), else 'CPU'."""
    gpus = gpu_names()
    return gpus[0] if gpus else "CPU"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """Versions and hardware, for the app's About box and for benchmark records."""
    import keras

    tensorflow = None  # not installed where Keras runs on JAX; read without importing it
    for distribution in ("tensorflow", "tensorflow-cpu"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            tensorflow = importlib.metadata.version(distribution)
    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "gpus": gpu_names(),
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": f"{platform.system()} {platform.release()} ({sys.platform})",
    }  # fmt: skip
