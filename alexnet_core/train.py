"""Command-line trainer: the same training jobs and run folders as the app, without a browser.

    python -m alexnet_core.train --preset cifar_small --dataset ../shared/datasets/cifar10-jpeg.zip
    python -m alexnet_core.train --preset tiny --dataset sample --epochs 1 --train-subset 256
    python -m alexnet_core.train --figure-one --activation tanh --dataset sample
    python -m alexnet_core.train --continue checkpoints/20261129-233501-cifar_small --epochs 5

Every TrainConfig field is an option (--batch-size, --learning-rate, ...); the preset supplies
the rest. Ctrl-C, SIGTERM (what `timeout`, `kill` and batch schedulers send) or SIGHUP (a
dropped ssh connection) stops after the current batch and keeps what was learned. Progress
goes to stderr, the closing summary to stdout; a closed pipe or a lost terminal silences
them, not the training. Exit status: 0 finished, 1 failed, 2 bad options or data, 128 + the
signal stopped (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import signal
import sys
import time
from pathlib import Path

from alexnet_core import config as cfg
from alexnet_core import figure_one, presets, progress_lines, runs
from alexnet_core.report import plan_layers

# The ModelConfig fields worth changing from the command line (help: their comments).
MODEL_OPTIONS = ("width", "fc_units", "dropout", "normalization", "norm_before_pool", "activation",
                 "augment_flip", "augment_shift", "input_size")  # fmt: skip
PER_CONV_OPTIONS = ("conv_filters", "conv_kernels", "conv_strides", "conv_groups")  # 5 numbers
# What --continue takes besides the run folder: the run keeps every other setting it had
# (--dataset only says where its data is now, if it moved).
CONTINUE_OPTIONS = ("continue_run", "epochs", "devices", "quiet", "dataset", "runs_dir")
CLEAR_LINE = "\r\033[K"  # back to the start of the terminal line and erase it
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A signal this soon after the first is the same stop sent twice: `timeout` and schedulers
# signal the process and then its group. Only a later Ctrl-C quits at once.
REPEAT_S = 1.0
CHOICES = {
    "optimizer": cfg.OPTIMIZERS,
    "schedule": cfg.SCHEDULES,
    "normalization": cfg.NORMALISATIONS,
    "activation": cfg.ACTIVATIONS,
}


def _comments(cls) -> dict[str, str]:
    """Each field's trailing comment in config.py: the option help stays in one place."""
    pattern = re.compile(r"^\s+(\w+): [^=]+=.*?#\s*(.+)$")
    return {m[1]: m[2] for m in map(pattern.match, inspect.getsource(cls).splitlines()) if m}


def _add(parser, name: str, kind: type, choices, help_text: str) -> None:
    flag = "--" + name.replace("_", "-")
    if kind is bool:
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
    else:
        parser.add_argument(flag, type=kind, choices=choices, help=help_text, metavar=None
                            if choices else name.upper())  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m alexnet_core.train",
        usage="%(prog)s [--preset NAME | --continue RUN_DIR] [options]  (--help lists them)",
        description="Train an AlexNet-shaped network; writes a run folder the app can show.",
        epilog="--dataset auto is $ALEXNET_CIFAR10 if set, else Keras' copy of CIFAR-10 if "
        "it has one, else the bundled sample. The run folder's config.json holds every "
        "setting the run used. Ctrl-C, SIGTERM or SIGHUP stops after the current batch and "
        "keeps what was learned; a second Ctrl-C quits at once. Exit status: 0 finished, 1 "
        "failed, 2 bad options or data, 128 + the signal stopped (130 Ctrl-C, 143 SIGTERM, 129 "
        "SIGHUP).",
    )
    parser.add_argument(
        "--preset",
        choices=list(presets.PRESETS),
        help="model and training settings to start from (default cifar_small)",
    )
    parser.add_argument(
        "--figure-one",
        action="store_true",
        default=None,  # None, not False, when not given: --continue takes no other options
        help="start from the paper's figure-1 comparison as the README ran it: cifar_small "
        "without normalisation or regularisation, a constant rate of 0.01, 15 epochs of "
        "10,000 images; with --activation relu (default) or tanh",
    )
    parser.add_argument(
        "--continue",
        dest="continue_run",
        metavar="RUN_DIR",
        help="train this run folder (or run id in the runs folder) --epochs more epochs "
        "(default 1) with its own settings; --devices may change where, --dataset say where "
        "its data moved",
    )
    parser.add_argument("--runs-dir", help="where run folders go (default $ALEXNET_RUNS_DIR "
                        "or checkpoints/)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    training = parser.add_argument_group("training (defaults from the preset)")
    comments = _comments(cfg.TrainConfig)
    for field in dataclasses.fields(cfg.TrainConfig):
        kind = type(field.default)
        _add(training, field.name, kind, CHOICES.get(field.name), comments.get(field.name, ""))
    model = parser.add_argument_group("model (defaults from the preset)")
    comments = _comments(cfg.ModelConfig)
    defaults = cfg.ModelConfig()
    for name in MODEL_OPTIONS:
        kind = type(getattr(defaults, name))
        _add(model, name, kind, CHOICES.get(name), comments[name])
    for name in PER_CONV_OPTIONS:
        model.add_argument("--" + name.replace("_", "-"), type=int, nargs=5, metavar="N",
                           help=comments[name])  # fmt: skip
    model.add_argument("--pooling", choices=("overlapping", "non_overlapping"),
                       help="every pool 3x3 stride 2 (paper) or 2x2 stride 2")  # fmt: skip
    return parser


def configs_from_args(args) -> tuple[cfg.ModelConfig, cfg.TrainConfig]:
    """The preset's configs (or --figure-one's) with the options given on the command line
    applied (ValueError from the configs for a bad value)."""
    preset = args.preset or "cifar_small"
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.figure_one and args.preset:
        raise ValueError("--figure-one sets up its own network and training: leave out --preset")
    if args.figure_one:
        model_config, train_config = figure_one.configs(given.get("activation", "relu"))
    else:
        model_config, train_config = presets.preset(preset), presets.train_preset(preset)
    model_changes = {k: given[k] for k in MODEL_OPTIONS if k in given}
    model_changes.update({k: tuple(given[k]) for k in PER_CONV_OPTIONS if k in given})
    if "image_size" in given:  # the size the model receives: a shift is checked against it
        model_changes["image_size"] = given["image_size"]
    if model_changes:
        model_config = model_config.replace(**model_changes)
    if "pooling" in given:
        model_config = model_config.with_pooling(given["pooling"])
    fields = {f.name for f in dataclasses.fields(cfg.TrainConfig)}
    train_changes = {k: v for k, v in given.items() if k in fields}
    return model_config, dataclasses.replace(train_config, **train_changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 with a usage message on bad options
    try:
        model_config, train_config = configs_from_args(args)
    except ValueError as error:
        print(f"error: {_as_flag(str(error), vars(args))}", file=sys.stderr)
        return 2
    try:
        # imports Keras here, in the main thread
        from alexnet_core import continuation, data, training

        if args.continue_run is not None:  # "" too: `--continue "$RUN"` with RUN unset
            if not args.continue_run.strip():
                raise ValueError("--continue: give a run folder or a run id, not an empty one")
            others = [
                k for k, v in vars(args).items() if v is not None and k not in CONTINUE_OPTIONS
            ]
            if others:
                flags = ", ".join("--" + k.replace("_", "-") for k in others)
                raise ValueError(f"--continue goes on with the run's own settings; only "
                                 f"--epochs, --devices, --dataset, --runs-dir (where to find "
                                 f"its id) and --quiet apply, not {flags}")  # fmt: skip
            run_dir = _run_folder(args.continue_run, args.runs_dir)
            before = runs.read_run(run_dir).train_config  # None if not a run
            job = continuation.continue_training(run_dir, args.epochs or 1, devices=args.devices,
                                                 data_source=args.dataset)  # fmt: skip
            note = _fallback_note(before and before.devices, args.devices,
                                  job.snapshot().train_config.devices)  # fmt: skip
            if note:
                print(note, file=sys.stderr)
        else:
            if train_config.dataset == "auto" and data.default_source() == "sample":
                print("note: --dataset auto found no CIFAR-10 ($ALEXNET_CIFAR10 is not set and "
                      "Keras has no copy), so it trains on the bundled 5,000-image sample; "
                      "give --dataset the full set's path", file=sys.stderr)  # fmt: skip
            job = training.start_training(model_config, train_config, runs_dir=args.runs_dir)
    except KeyboardInterrupt:  # Ctrl-C (or a stop signal) while TensorFlow loads: nothing
        print("interrupted before training started", file=sys.stderr)  # to save yet
        return 128 + _interrupted_by[-1]
    except continuation.DataMissing as error:  # not where the run recorded it
        print(f"error: {error}. If the data moved, give its new place with --dataset.",
              file=sys.stderr)  # fmt: skip
        return 2
    except (ValueError, OSError) as error:  # bad settings, unreadable data, unwritable folder
        print(f"error: {_as_flag(str(error), vars(args))}", file=sys.stderr)
        return 2
    status = _follow(job, quiet=args.quiet)
    training.discard_helper_folder(job)  # a helper worker's checkpoints were only for itself
    return status


def _fallback_note(setting: str | None, asked: str | None, now: str) -> str | None:
    """What to say when a continue goes on with other devices than the run's `setting` without
    being `asked` to (a GPU run brought to a machine without one), else None."""
    if setting and not asked and now != setting:
        return f"devices: the run's {setting!r} cannot be placed here, so it goes on with {now!r}"
    return None


def _run_folder(given: str, runs_dir: str | None = None) -> str:
    """The folder --continue names: a path, or the id of a run in the runs folder (`runs_dir`,
    else the default one)."""
    by_id = (Path(runs_dir) if runs_dir else runs.runs_root()) / given
    if Path(given).exists() or os.sep in given or not by_id.is_dir():
        return given
    return str(by_id)


def _as_flag(message: str, options: dict) -> str:
    """A config error that names a field the command line set names its option instead:
    'learning_rate: got -1.0, ...' reads '--learning-rate: got -1.0, ...'; and a way out that
    names a setting, '(input_size, now 8)', names its option whether given or not."""
    name, colon, rest = message.partition(":")
    if colon and options.get(name) is not None:
        message = f"--{name.replace('_', '-')}:{rest}"
    return re.sub(r"\((\w+), now", lambda m: f"(--{m[1].replace('_', '-')}, now"
                  if m[1] in options else m[0], message)  # fmt: skip


def _follow(job, *, quiet: bool) -> int:
    """Show progress until the job ends. A stop signal (STOP_SIGNALS) stops it cleanly,
    whatever this thread is doing when it lands; a second Ctrl-C, a second later or more,
    quits at once (exit status 130)."""
    asked = []  # (signal, when) of the first

    def stop(signum, frame):
        if asked:
            if signum == signal.SIGINT and time.monotonic() - asked[0][1] > REPEAT_S:
                # At once: the checkpoints on disk are whole (every write is atomic), and the
                # run reads as interrupted. Not SystemExit: Python's exit would tear down the
                # training thread inside TensorFlow, which can abort the process instead.
                _say("quit; the run reads as interrupted (go on with --continue)")
                os._exit(130)
            return
        asked.append((signum, time.monotonic()))
        again = " (Ctrl-C again to quit at once)" if signum == signal.SIGINT else ""
        _say(f"\nstopping after this batch{again}")
        job.stop()

    # Set now the job exists (TensorFlow's multi-worker strategy takes SIGTERM for itself), and
    # put back afterwards.
    before = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        return _report(job, quiet=quiet, asked=asked)
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _say(text: str, *, result: bool = False, end: str = "\n") -> None:
    """Progress to stderr, the `result` to stdout. A pipe closed early (`| head`) or a terminal
    gone with its ssh connection stops the writing, not the training: the stream then writes
    to /dev/null, so no later print, nor Python's flush at exit, fails on it."""
    stream = sys.stdout if result else sys.stderr
    try:
        print(text, end=end, file=stream, flush=True)
    except OSError:  # BrokenPipeError, or EIO from a hung-up terminal
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def _report(job, *, quiet: bool, asked: list) -> int:
    """Progress lines until the job ends, then its summary; 128 + the signal for a run stopped
    as `asked`."""
    _say(f"run folder: {job.run_dir}")
    _say(progress_lines.data_line(job.run_dir))
    for note in plan_layers(job.model_config).notes:  # legal, but wasteful
        _say(f"note: {note}")
    for warning in job.data_warnings:  # as Train's checks say them: it trains, but says little
        _say(f"warning: {warning}")
    interactive = sys.stderr.isatty() and not quiet
    before = len(job.snapshot().epoch_history)  # a continued run's epochs are in its folder
    reported = before
    while True:
        ended = job.wait(0.25)
        snap = job.snapshot()
        for row in snap.epoch_history[reported:]:
            _say(CLEAR_LINE * interactive + progress_lines.epoch_line(snap, row))
        reported = len(snap.epoch_history)
        if ended:
            break
        if interactive and snap.status in ("running", "paused"):
            _say(CLEAR_LINE + progress_lines.fit(progress_lines.bar(snap)), end="")
    _say(CLEAR_LINE * interactive, end="")
    summary = progress_lines.summary(snap, snap.epochs_done - before)
    _say(summary, result=True)  # the result: stdout, for logs
    if snap.error:
        _say(f"error: {snap.error}")
    if snap.status == "failed":
        return 1
    return 128 + asked[0][0] if asked and snap.status == "stopped" else 0


_interrupted_by = [signal.SIGINT]  # the last stop signal that came before the job existed


def _interrupt(signum, frame):
    _interrupted_by.append(signum)
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Until a job exists: SIGTERM and SIGHUP interrupt the trainer as Ctrl-C does (its exit
    status 128 + the signal's number), and so does SIGINT in a job a script started in the
    background (the shell starts those with SIGINT ignored)."""
    for number in STOP_SIGNALS:
        signal.signal(number, _interrupt)


def _streams_to_null() -> None:
    """A standard stream closed by the caller (`2>&-`) writes to /dev/null: Python leaves it
    None, where print() would fall back to stdout, and a file opened later would take its
    number (and TensorFlow's log lines)."""
    for number, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            null = os.open(os.devnull, os.O_WRONLY)  # the lowest free number: this one
            if null != number:
                os.dup2(null, number)
                os.close(null)
            setattr(sys, name, open(number, "w", closefd=False))  # noqa: SIM115  for the process


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's start-up notes are noise
    _streams_to_null()
    _stop_on_signals()
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while reading the options: nothing started
        print("interrupted before training started", file=sys.stderr)
        sys.exit(128 + _interrupted_by[-1])
