"""What every benchmark shares: the machine it ran on, and writing its results."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from alexnet_core import system

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_ZIP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.zip"


def real_cifar10(given: str | None) -> str:
    """The dataset a benchmark trains on: the one given, else the shared JPEG copy of CIFAR-10
    beside the checkout, else Keras' cached CIFAR-10."""
    return given or (str(SHARED_ZIP) if SHARED_ZIP.exists() else "keras")


def whole_number(at_least: int):
    """An argparse `type=` for a count (steps, repeats, images, a batch size): a whole number
    of at least `at_least`, so a zero that would divide by zero later stops at the command line."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < at_least:
            raise argparse.ArgumentTypeError(
                f"got {text!r}, expected a whole number of at least {at_least}"
            )
        return value

    return parse


def runs_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """The command line of a benchmark that reads run folders: `python -m <module> RUN_DIR ...
    [--no-save]`, with the module's docstring as its help."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    return parser


# The CPU's vector and matrix extensions worth recording: they set what a core computes.
CPU_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_flags() -> list[str]:
    """Which of CPU_FLAGS /proc/cpuinfo lists ([] where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            line = next((line for line in file if line.startswith("flags")), "")
    except OSError:
        return []
    present = set(line.partition(":")[2].split())
    return [flag for flag in CPU_FLAGS if flag in present]


def matmul_size() -> int:
    """The side of matmul_flops' products: 2048, or 8192 on a GPU, which 2048 leaves mostly idle."""
    return 8192 if system.gpu_names() else 2048


def matmul_flops(size: int | None = None, seconds: float = 0.5, per_round: int = 3) -> float:
    """This machine's float32 matrix-multiply rate through the Keras backend, in FLOP/s: the
    fastest of rounds of `per_round` size x size products (at least 3 rounds, for `seconds`),
    after one round to warm up; other load only slows a round down. Each round waits once, for
    a scalar: copying every product back would time the copy, and a GPU runs ahead of Python
    unless waited for. Size 2048, or 8192 on a GPU, which 2048 would leave mostly idle. (On an
    NVIDIA GPU under JAX, float32 products use TF32 tensor cores by default.)"""
    size = size or matmul_size()
    a = keras.ops.convert_to_tensor(np.random.default_rng(0).random((size, size), "float32"))

    def one_round() -> float:
        start = time.perf_counter()
        for _ in range(per_round):
            product = keras.ops.matmul(a, a)
        float(keras.ops.convert_to_numpy(keras.ops.sum(product)))  # waits for the last one
        return time.perf_counter() - start

    one_round()  # warm up
    start, times = time.perf_counter(), []
    while len(times) < 3 or time.perf_counter() - start < seconds:
        times.append(one_round())
    return 2 * size**3 * per_round / min(times)


def machine(matmul_gflops: float | None = None) -> dict:
    """CPU (with its vector extensions), cores, accelerators and library versions, and a
    matrix-multiply rate, measured unless given: machines with the same name can differ by
    twice that."""
    info = system.machine_info()
    rate = matmul_gflops if matmul_gflops is not None else matmul_flops() / 1e9
    return info | {"cpu_flags": cpu_flags(), "matmul_gflops": round(rate, 1)}


def describe() -> str:
    """The machine in one line, printed before each benchmark's figures."""
    info = system.machine_info()
    gpus = ", ".join(info["gpus"]) or "no GPU"
    return (f"{info['cpu']}, {info['cores']} cores, {gpus}; Keras {info['keras']} on "
            f"{info['keras_backend']}")  # fmt: skip


def save(name: str, results: dict) -> Path:
    """Write results with the machine and the time to bench/results/<name>-<time>.json; a
    matrix-multiply rate the results measured already is the machine's, not measured again."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    machine_now = machine(results.get("matmul_gflops"))
    payload = {"benchmark": name, "when": stamp, "machine": machine_now, **results}
    path.write_text(json.dumps(payload, indent=2))
    return path


def table(rows: list[dict]) -> str:
    """A plain-text table of dicts with the same keys."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[_cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:  # a figure the run has not got (a threshold never reached, say)
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
