"""Does the paper's two-GPU specialisation appear? conv1's colour filters on each GPU.

    python -m bench.towers checkpoints/RUN [RUN ...]

The paper found, in every run, one GPU's conv1 kernels largely colour-agnostic and the other's
colour-specific. For every checkpoint of each run (epoch_NNN when the run kept them, then
last): the mean colour share (filters.colour_share: 0 sees brightness alone, 1 colour alone)
of the conv1 filters that fed each GPU, how many of them are colour filters (share over 0.5),
and the chance that an even split of the filters drawn at random puts the colour filters at
least that unevenly. A run on one GPU has no towers: its halves are a control, and the chance
is what chance alone gives there.
"""

from __future__ import annotations

from math import comb

from alexnet_core import checkpoints, filters, runs
from bench.common import describe, runs_parser, save, table

COLOUR = 0.5  # a filter with a larger colour share counts as a colour filter


def chance_of_a_split(colour: int, filters: int, first: int) -> float:
    """P(an even random split of `filters`, `colour` of them colour filters, gives the first
    half at least as far from an even share of them as `first` is): two-sided hypergeometric."""
    half = filters // 2
    far = abs(first - colour / 2)
    possible = range(max(0, colour - (filters - half)), min(colour, half) + 1)
    uneven = [k for k in possible if abs(k - colour / 2) >= far - 1e-9]
    ways = sum(comb(colour, k) * comb(filters - colour, half - k) for k in uneven)
    return ways / comb(filters, half)


def tower_rows(run_dir: str) -> list[dict]:
    """One row per checkpoint of the run."""
    info = runs.read_run(run_dir)
    if info.model_config is None:
        raise ValueError(f"{run_dir} is not a readable run folder: {info.error}")
    names = [c for c in info.checkpoints if c.startswith("epoch_")] + ["last"]
    rows = []
    for which in names:
        kernels = filters.conv_kernels(checkpoints.load_checkpoint(run_dir, which), "conv1")
        shares = filters.colour_share(kernels)
        first, second = shares[: len(shares) // 2], shares[len(shares) // 2 :]
        counts = [int((part > COLOUR).sum()) for part in (first, second)]
        rows.append({
            "run": info.run_id, "two GPUs": "yes" if info.model_config.two_gpus else "no",
            "checkpoint": which, "share GPU 1": float(first.mean()),
            "share GPU 2": float(second.mean()), "colour GPU 1": counts[0],
            "colour GPU 2": counts[1],
            "chance": chance_of_a_split(sum(counts), len(shares), counts[0]),
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = runs_parser("bench.towers", __doc__)
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    try:
        rows = [row for run in args.runs for row in tower_rows(run)]
    except ValueError as error:  # a folder that is not a run: one line, not a traceback
        parser.error(str(error))
    print(table(rows))
    if not args.no_save:
        print(f"\nwritten to {save('towers', {'rows': rows})}")


if __name__ == "__main__":
    main()
