"""Plotly figures that set runs side by side: a per-epoch metric of each, and their training
error batch by batch as the paper's figure 1 compared ReLU with tanh.

No Streamlit and no TensorFlow here, as in charts.py, whose axes, smoothing and levels these
figures share.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from alexnet_core import figure_one
from alexnet_core.charts import (
    LAYOUT,
    MOST_POINTS,
    SHARE_AXIS,
    SMOOTHING_BATCHES,
    batch_value,
    lines_mode,
    loss_axis,
    mark_chance,
    mark_level,
    smoothed,
    thinned,
    whole_steps,
)

# Runs side by side get clearly different colours (d3's ten): Streamlit's own palette begins
# with a dark and a light blue, which two compared runs would get.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
# ...and each its own dash and marker, drawn in this order: two runs with the same curve (a
# run and its repeat) show both colours along one line, and colours alone fail some eyes.
RUN_DASHES = ("solid", "dash", "dot", "dashdot")
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def compare_runs(histories: Mapping[str, Sequence[Mapping]], metric: str, *,
                 names: Mapping[str, str] | None = None,
                 classes: int | None = None) -> go.Figure:  # fmt: skip
    """One line per run of a per-epoch metric (e.g. 'val_accuracy'), runs overlaid; a run
    without that metric gets no line (and no legend entry). `names` gives a run's legend entry
    (else its id); given the number of classes, a dotted line marks what guessing scores."""
    fig = go.Figure()
    for run_id, history in histories.items():
        rows = [r for r in history if r.get(metric) is not None]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["epoch"] for r in rows],
                y=[r[metric] for r in rows],
                mode="lines+markers",
                name=(names or {}).get(run_id, run_id),
                **_run_style(len(fig.data)),
            )
        )
    epochs = [row["epoch"] for rows in histories.values() for row in rows]
    # Epochs count from 1: a lone one is not drawn between -1 and 3. A tick per epoch only
    # while they are few: 40 ticks smear into a band.
    fig.update_xaxes(title_text="epoch", autorangeoptions=dict(minallowed=0.5),
                     **whole_steps(epochs))  # fmt: skip
    fig.update_yaxes(title_text=metric.replace("_", " "))
    values = [row.get(metric) for rows in histories.values() for row in rows]
    fig.update_yaxes(SHARE_AXIS if "accuracy" in metric else loss_axis(values))
    fig.update_layout(title=metric.replace("_", " "), colorway=RUN_COLOURS, **LAYOUT)
    mark_chance(fig, classes, "accuracy" if "accuracy" in metric else "loss")
    return fig


def _run_style(index: int) -> dict:
    """The dash and marker of the index-th run's line (its colour comes from RUN_COLOURS)."""
    return dict(line_dash=RUN_DASHES[index % len(RUN_DASHES)],
                marker_symbol=RUN_SYMBOLS[index % len(RUN_SYMBOLS)])  # fmt: skip


def _broken_at_gaps(xs: Sequence[float], ys: Sequence[float], widest: float) -> tuple[list, list]:
    """The points with a break (None) wherever x jumps further than `widest`: an epoch stopped
    part way and then continued leaves batches that never ran, which a line would bridge."""
    out_x: list = []
    out_y: list = []
    for x, y in zip(xs, ys, strict=True):
        if out_x and x - out_x[-1] > widest * (1 + 1e-9):
            out_x.append(None)
            out_y.append(None)
        out_x.append(x)
        out_y.append(y)
    return out_x, out_y


def _alone(ys: Sequence) -> list[bool]:
    """Which points of a line broken by None have no neighbour on either side."""
    last = len(ys) - 1
    return [y is not None and (i == 0 or ys[i - 1] is None) and (i == last or ys[i + 1] is None)
            for i, y in enumerate(ys)]  # fmt: skip


def compare_training_error(batch_histories: Mapping[str, Sequence[Mapping]], *,
                           names: Mapping[str, str] | None = None,
                           classes: int | None = None) -> go.Figure:  # fmt: skip
    """One line per run: the training error of its batches (moving average) against epochs,
    as the paper's figure 1 compared ReLU with tanh, with its 25% level marked. A batch sits at
    its share of the epoch. `names` and `classes` as for compare_runs."""
    fig = go.Figure()
    for run_id, rows in batch_histories.items():
        if not rows:
            continue
        counts = Counter(int(row["epoch"]) for row in rows)
        per_epoch = max(counts.values())  # an unfinished last epoch has fewer rows
        seen: Counter[int] = Counter()
        positions = []
        for row in rows:
            epoch = int(row["epoch"])
            seen[epoch] += 1
            positions.append(epoch - 1 + seen[epoch] / per_epoch)
        errors = [1 - value for value in smoothed([batch_value(r, "accuracy") for r in rows])]
        stride = math.ceil(len(rows) / MOST_POINTS)
        x, y = _broken_at_gaps(thinned(positions), thinned(errors), widest=stride / per_epoch)
        name = (names or {}).get(run_id, run_id)
        line = go.Scatter(x=x, y=y, mode=lines_mode(len(rows)), name=name,
                          **_run_style(len(fig.data)))  # fmt: skip
        alone = _alone(y)
        if len(y) > 1 and any(alone):  # a piece of one point between breaks: a line hides it
            line.update(mode="lines+markers", marker_size=[6 if a else 0 for a in alone])
        fig.add_trace(line)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="training error", **SHARE_AXIS)
    title = f"training error (exponential average over ~{SMOOTHING_BATCHES} batches)"
    fig.update_layout(title=title, colorway=RUN_COLOURS, **LAYOUT)
    mark_level(fig, figure_one.ERROR, f"{figure_one.ERROR:.0%}: the paper's figure 1")
    mark_chance(fig, classes, "error")
    return fig
