"""How much memory does training take here, against the floor the app checks before a run?

    python -m bench.memory                  # the paper's layers, fc 4096 and 12288, batch 16 and 64
    python -m bench.memory --fc-units 4096 --batch-sizes 16 64

For each size: the paper's network (10 classes) with that many units in fc6 and fc7 trains two
batches on random 227x227 images, in a fresh process so that its peak is its own. The table
gives fitting.training_memory's floor (the weights with their gradients and the optimizer's
copies, and a batch's layer outputs with their gradients), the peak resident memory the
training added to what the process held after its imports and images, and their ratio: what
fitting.TRAINING_OVERHEAD stands for.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

from alexnet_core.presets import PRESETS
from bench.common import describe, save, table, whole_number

GIB = 2**30
ROOT = Path(__file__).resolve().parents[1]  # where `python -m bench.memory` finds its modules


def peak_bytes() -> int:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as file:
            return int(file.read().split()[1]) * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return peak_bytes()


def probe(preset: str, fc_units: int, batch_size: int) -> dict:
    """Train two batches of the network in this process; its floor and the peak it added."""
    import keras
    import numpy as np

    from alexnet_core.config import TrainConfig
    from alexnet_core.fitting import compile_model, training_memory
    from alexnet_core.model import build_alexnet

    config = PRESETS[preset].replace(fc_units=fc_units, num_classes=10)
    side = config.image_size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2 * batch_size, side, side, 3), dtype=np.uint8)
    y = keras.utils.to_categorical(rng.integers(0, 10, 2 * batch_size), 10)
    before = resident_bytes()  # Python, TensorFlow and the images: not the training's
    model = build_alexnet(config)
    compile_model(model, TrainConfig(batch_size=batch_size, optimizer="sgd"))
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    weights, outputs = training_memory(config, batch_size, "sgd")
    added = peak_bytes() - before
    return {
        "fc units": fc_units,
        "batch": batch_size,
        "parameters": model.count_params(),
        "floor GiB": (weights + outputs) / GIB,
        "peak added GiB": added / GIB,
        "ratio": added / (weights + outputs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--preset", default="paper", choices=list(PRESETS))
    count = whole_number(at_least=1)
    parser.add_argument("--fc-units", type=count, nargs="+", default=[4096, 12288])
    parser.add_argument("--batch-sizes", type=count, nargs="+", default=[16, 64])
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # one, inside
    args = parser.parse_args(argv)
    if args.probe:  # a child: one size, one JSON line
        print(json.dumps(probe(args.preset, args.fc_units[0], args.batch_sizes[0])))
        return
    print(describe(), flush=True)
    rows = []
    for fc_units in args.fc_units:
        for batch in args.batch_sizes:
            command = [sys.executable, "-m", "bench.memory", "--probe", "--preset", args.preset,
                       "--fc-units", str(fc_units), "--batch-sizes", str(batch)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
            if done.returncode:  # e.g. killed for want of memory: say so, go on
                print(f"fc units {fc_units}, batch {batch}: the probe exited with "
                      f"{done.returncode}\n{done.stderr[-2000:]}", flush=True)  # fmt: skip
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(table(rows[-1:]), flush=True)
    print("\n" + table(rows))
    if not args.no_save:
        path = save("memory", {"settings": vars(args), "sizes": rows})
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
