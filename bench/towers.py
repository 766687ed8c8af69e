"""Does the paper's two-GPU specialisation appear? conv1's colour share on each GPU.

    python -m bench.towers checkpoints/RUN [RUN ...]

For runs split over two GPUs (`--conv-groups 1 2 1 2 2`): for every checkpoint of each run
(epoch_NNN when the run kept them, then last), the mean colour share of the conv1 filters
that fed each GPU (introspect.colour_share: 0 sees brightness alone, 1 colour alone). The
paper found one GPU's conv1 kernels largely colour-agnostic and the other's colour-specific.
"""

from __future__ import annotations

import argparse

from alexnet_core import introspect, runs
from bench.common import describe, save, table


def tower_shares(run_dir: str) -> list[dict]:
    """One row per checkpoint of the run: the mean colour share of each GPU's conv1 filters."""
    info = runs.read_run(run_dir)
    if info.model_config is None or not info.model_config.two_gpus:
        raise ValueError(f"{run_dir} is not a run split over two GPUs (--conv-groups 1 2 1 2 2)")
    names = [c for c in info.checkpoints if c.startswith("epoch_")] + ["last"]
    rows = []
    for which in names:
        kernels = introspect.conv_kernels(runs.load_checkpoint(run_dir, which), "conv1")
        shares = introspect.colour_share(kernels)
        half = len(shares) // 2
        first, second = float(shares[:half].mean()), float(shares[half:].mean())
        rows.append({"run": info.run_id, "checkpoint": which, "GPU 1": first, "GPU 2": second,
                     "gap": abs(first - second)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.towers", description=__doc__)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    rows = [row for run in args.runs for row in tower_shares(run)]
    print(table(rows))
    if not args.no_save:
        print(f"\nwritten to {save('towers', {'rows': rows})}")


if __name__ == "__main__":
    main()
