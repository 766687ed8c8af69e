"""How fast does each run's training error fall? The paper's figure 1, for any runs.

    python -m bench.time_to_error checkpoints/RUN [RUN ...] [--error 0.25]

The paper's figure 1: a four-layer network with ReLUs reached 25% training error on CIFAR-10
six times faster than the same network with tanh units. Train the runs to compare with the
command-line trainer (same data and settings but the one compared, e.g. --activation tanh),
then give their folders here. For each run: the first epoch whose training error (1 - the
epoch's training accuracy, as Keras reports it while training) is at or below --error, the
training seconds up to the end of that epoch, and how many times as many epochs and seconds
that took as the first run given.
"""

from __future__ import annotations

from alexnet_core import run_logs, runs
from bench.common import describe, runs_parser, save, table


def time_to_error(run_dir: str, error: float) -> dict:
    """The run's settings that a comparison varies, and when its training error reached
    `error` (epoch and seconds None if it never did)."""
    info = runs.read_run(run_dir)
    if info.model_config is None:
        raise ValueError(f"{run_dir} is not a readable run folder: {info.error}")
    history = run_logs.load_history(run_dir)
    if len(history) < info.epochs_done:  # cut short outside the app: the times would be wrong
        raise ValueError(f"{run_dir}: history.csv lists {len(history)} epochs, but the run "
                         f"trained {info.epochs_done}")  # fmt: skip
    model = info.model_config
    row = {
        "run": info.run_id, "activation": model.activation,
        "normalization": model.normalization, "pooling": model.pooling,
        "learning rate": info.train_config.learning_rate,
        "epochs": len(history), "epoch reached": None, "seconds": None,
        "final error": 1 - history[-1]["accuracy"] if history else None,
    }  # fmt: skip
    if reached := run_logs.reached_error(history, error):
        row["epoch reached"], row["seconds"] = reached
    return row


def compare(rows: list[dict]) -> list[dict]:
    """Each row with its epochs and seconds as a multiple of the first run's."""
    first = rows[0]
    for row in rows:
        for key, ratio in (("epoch reached", "x epochs"), ("seconds", "x seconds")):
            reached = row[key] is not None and first[key] is not None
            row[ratio] = row[key] / first[key] if reached else None
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = runs_parser("bench.time_to_error", __doc__)
    parser.add_argument("--error", type=float, default=0.25, help="training error to reach")
    args = parser.parse_args(argv)
    if not 0 < args.error < 1:
        parser.error(f"--error must be between 0 and 1, got {args.error}")
    print(describe(), flush=True)
    try:
        rows = compare([time_to_error(run, args.error) for run in args.runs])
    except ValueError as error:  # a folder that is not a run
        parser.error(str(error))
    print(f"training error {args.error:.0%}:")
    print(table(rows))
    if not args.no_save:
        print(f"\nwritten to {save('time_to_error', {'error': args.error, 'rows': rows})}")


if __name__ == "__main__":
    main()
