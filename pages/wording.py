"""How figures and events read on the pages: durations, counts and sizes to a few significant
figures, and what a stop in the middle of an epoch meant. Plain text, no widgets."""

import math

from alexnet_core import schedule, snapshot
from alexnet_core.units import power_of_ten, three_figures


def two_figures(value: float) -> str:
    """A value to two significant figures, without an exponent: 151 -> "150", not "1.5e+02"."""
    return f"{float(f'{value:.2g}'):g}"


def duration_text(seconds: float) -> str:
    """A duration to two significant figures in a unit that suits it: 40 ms, 1.5 s, 3.2 min,
    12 h."""
    for unit, size, limit in (("ms", 1e-3, 1000), ("s", 1, 60), ("min", 60, 60)):
        text = two_figures(seconds / size)
        if float(text) < limit:
            return f"{text} {unit}"
        seconds = float(text) * size  # rounded on: 59.7 s is 60 s, so 1 min
    return f"{two_figures(seconds / 3600)} h"


def reached_text(reached: dict, error: float) -> str:
    """When each run's training error fell to `error`, by run name: (run_logs.reached_error's
    answer, the run's epochs so far, whether it still trains). From the second run that
    reached it on, its epochs as a multiple of the first's (the paper's figure 1: "six times
    faster")."""
    first = None  # (name, epoch) of the first run that reached it
    parts = []
    for name, (when, epochs, training) in reached.items():
        if when is None:
            so_far = " so far" if training else ""
            parts.append(f"{name}: not in its {epochs} epoch{'s' if epochs != 1 else ''}{so_far}")
            continue
        epoch, seconds = when
        text = f"{name}: by the end of epoch {epoch}"
        if seconds is not None:
            text += f", after {duration_text(seconds)} of training"
        if first:
            text += f", {two_figures(epoch / first[1])}× the epochs of {first[0]}"
        first = first or (name, epoch)
        parts.append(text)
    return (f"Down to {error:.0%} training error (1 − an epoch's training accuracy, as Keras "
            "reported it while training; the curves, averaged over the last batches, can reach "
            "it later or not at all): " + "; ".join(parts) + ".")  # fmt: skip


def points_text(margin: float) -> str:
    """A margin of a share in percentage points, which a '%' would let read as relative: a
    margin of 0.0284 reads '±2.8 percentage points'."""
    return f"±{margin * 100:.1f} percentage points"


def count_text(count: float) -> str:
    """A large count with a unit prefix, to three figures: 715 M, 1.14 G, 12.3 K; past 999 T,
    a power of ten."""
    rounded = float(f"{count:.3g}")  # 999.6 M reads 1.00 G, not 1000 M
    if rounded >= 1e15:
        return power_of_ten(rounded)
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if rounded >= size:
            return f"{three_figures(rounded / size)} {unit}"
    return f"{count:,.0f}"


def stopped_earlier_text(epoch_history) -> str:
    """The epochs that a stop cut short before the run went on, or ''."""
    stops = snapshot.stopped_earlier(epoch_history)
    return " ".join(
        f"A stop came {batches} of {per_epoch} batches into epoch {epoch}; the "
        f"run went on from epoch {epoch + 1}, skipping epoch {epoch}'s other batches."
        for epoch, batches, per_epoch in stops
    )


def cut_short_text(epoch: int, batches: int, batches_per_epoch: int) -> str:
    """What it means that a stop ended `epoch` after `batches` of its batches."""
    return (
        f"The stop came {batches} of {batches_per_epoch} batches into epoch {epoch}: its row "
        f"and checkpoint cover those batches, and a continue starts afresh at epoch "
        f"{epoch + 1} (epoch {epoch}'s other batches are skipped)."
    )


def replanned_text(train_config, done: int, extra: int) -> str:
    """What a continue for `extra` epochs does to a schedule planned over the run's length
    (cosine, one_cycle): the rate it goes on at against the one it ended at; else ''."""
    if train_config.schedule not in ("cosine", "one_cycle"):
        return ""  # constant and step rates do not depend on how long the run is
    ended = schedule.learning_rate_at(train_config, done, train_config.epochs)
    goes_on = schedule.learning_rate_at(train_config, done, done + extra)
    if math.isclose(goes_on, ended, rel_tol=0.01):  # the rest of the epochs a stop cut off
        return ""
    was = "nearly 0" if ended < goes_on / 100 else f"{ended:.3g}"
    rises = ", so its loss may rise for a while before it falls again" * (goes_on > 2 * ended)
    return (f"Its {train_config.schedule} schedule is planned again over {done + extra} "
            f"epochs: it goes on at a learning rate of {goes_on:.3g}, where it ended at "
            f"{was}{rises}.")  # fmt: skip
