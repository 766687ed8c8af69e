"""Plotly figures of training built from the core's plain objects: histories, learning-rate
events, runs side by side (architecture_charts.py draws the layer report).

No Streamlit and no TensorFlow here: the pages pass in what the core returned and show the
figure, and the tests read the numbers back out of the traces.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#d62728"
MARKER_COLOUR = "#7f7f7f"
# Runs side by side get clearly different colours (d3's ten): Streamlit's own palette begins
# with a dark and a light blue, which two compared runs would get.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
# ...and each its own dash and marker, drawn in this order: two runs with the same curve (a
# run and its repeat) show both colours along one line, and colours alone fail some eyes.
RUN_DASHES = ("solid", "dash", "dot", "dashdot")
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up")
SMOOTHING_BATCHES = 10  # the training curves' moving average spans about this many batches
# Batch lines keep at most about this many points: a chart a few hundred pixels wide shows no
# more, and the live view sends its charts every second (a 40-epoch run has 7,000 batches).
MOST_POINTS = 800
# The top margin keeps titles clear of Plotly's toolbar, which shows over the top right corner.
LAYOUT = dict(margin=dict(l=10, r=10, t=64, b=10), legend=dict(orientation="h", y=-0.2))
# Accuracy and error are shares: in percent, and never zoomed out far past 0% or 100% (Plotly
# pads a lone point's range by +-1, drawing an accuracy of -50%), yet free to zoom in between.
# The 2% beyond leaves room for a marker at 100%, which the edge would cut in half.
SHARE_AXIS = dict(tickformat=".0%", autorangeoptions=dict(minallowed=-0.02, maxallowed=1.02))
# A loss axis around a lone value would otherwise read 2.704049587249755859.
LOSS_AXIS = dict(tickformat=".3~g")  # three figures, trailing zeros trimmed (d3-format)
# A loss past this has diverged (ten classes start near 2.3): its axis turns logarithmic, or
# the spike flattens the rest of the curve and its ticks read 1000000000000000000000.
DIVERGED_LOSS = 100.0
# The training-error comparison's level of the paper's figure 1: its CIFAR-10 network reached
# 25% training error six times sooner with ReLU than with tanh.
FIGURE_1_ERROR = 0.25


def loss_axis(values) -> dict:
    """The y axis for these losses: linear with short ticks, or logarithmic with powers of
    ten once one of them has diverged."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite and max(finite) > DIVERGED_LOSS:
        return dict(type="log", exponentformat="power", tickformat="")
    return LOSS_AXIS


def _epoch_end_steps(batch_history: Sequence[Mapping]) -> dict[int, float]:
    """The last global step of each epoch, where its validation point belongs."""
    ends: dict[int, float] = {}
    for row in batch_history:
        epoch = int(row["epoch"])
        ends[epoch] = max(ends.get(epoch, row["step"]), row["step"])
    return ends


def _batch_value(row: Mapping, metric: str) -> float:
    own = row.get(f"batch_{metric}")
    return row[metric] if own is None else own


def thinned(values: Sequence, most: int = MOST_POINTS) -> list:
    """Every k-th value, k the smallest stride that keeps at most `most` of them, and the last
    value always (the newest batch of a live run)."""
    stride = max(1, math.ceil(len(values) / most))
    kept = list(values[::stride])
    if values and (len(values) - 1) % stride:
        kept.append(values[-1])
    return kept


def _lines(points: int) -> str:
    """Plotly's mode for a line of `points` points: markers for one, which a line cannot show
    (a run stopped after its first batch)."""
    return "lines" if points > 1 else "markers"


def smoothed(values: Sequence[float], batches: int = SMOOTHING_BATCHES) -> list[float]:
    """An exponential moving average over about `batches` values, without the start's pull
    towards zero (each point divides by the weight its average has gathered so far)."""
    keep = 1 - 1 / batches
    averages, average, weight = [], 0.0, 0.0
    for value in values:
        average = keep * average + (1 - keep) * value
        weight = keep * weight + (1 - keep)
        averages.append(average / weight)
    return averages


def _mark_lr_changes(fig: go.Figure, lr_events: Sequence[Mapping], last_step: float,
                     **where) -> None:  # fmt: skip
    """A dashed line at each manual rate change, labelled on a white ground (over a busy curve)
    on the side with room: left of a change in the last part of the run, else right of it."""
    for event in lr_events:
        side = "left" if event["step"] > 0.6 * last_step else "right"
        fig.add_vline(
            x=event["step"],
            line=dict(color=MARKER_COLOUR, dash="dash", width=1),
            annotation_text=f"lr {event['old']:.3g} → {event['new']:.3g}",
            annotation_position=f"top {side}",
            annotation_font=dict(size=11, color="#444"),
            annotation_bgcolor="rgba(255, 255, 255, 0.85)",
            **where,
        )


def chance(classes: int) -> dict[str, float]:
    """What guessing scores on `classes` classes: the accuracy and error of a uniform draw, and
    the cross-entropy of a uniform prediction, ln(classes) (label smoothing leaves it so)."""
    return {"accuracy": 1 / classes, "error": 1 - 1 / classes, "loss": math.log(classes)}


def _mark_level(fig: go.Figure, y: float, text: str, **where) -> None:
    """A dotted level across the plot, labelled at its right end."""
    fig.add_hline(
        y=y,
        line=dict(color=MARKER_COLOUR, dash="dot", width=1),
        annotation_text=text,
        annotation_position="bottom right",
        annotation_font=dict(size=11, color="#444"),
        **where,
    )


def _mark_chance(fig: go.Figure, classes: int | None, metric: str, **where) -> None:
    """The level of guessing for this metric ("accuracy", "error" or "loss"), when the number
    of classes is known: a network below it has learned nothing yet."""
    if not classes:
        return
    level = chance(classes)[metric]
    shown = f"ln {classes} = {level:.2f}" if metric == "loss" else f"{level:.0%}"
    _mark_level(fig, level, f"chance ({shown})", **where)


def training_curves(
    batch_history: Sequence[Mapping],
    epoch_history: Sequence[Mapping] = (),
    lr_events: Sequence[Mapping] = (),
    *,
    batches_per_epoch: int | None = None,
    label_smoothing: float = 0.0,
    classes: int | None = None,
) -> go.Figure:
    """Loss and accuracy: each training batch's own value (faint), their moving average
    (smoothed), and a point per epoch's validation. The loss is the one trained on: with label
    smoothing it includes it (and cannot reach 0), which its title then says.

    The x axis is the global step; a validation point sits at the last step of its epoch
    (from the batch history, else epoch * batches_per_epoch). Dashed lines mark lr changes.
    Rows from runs made before batch values were recorded give their running means instead.
    Given the number of classes, a dotted line marks what guessing scores.
    """
    loss = f"loss, with label smoothing {label_smoothing:g}" if label_smoothing else "loss"
    fig = make_subplots(rows=1, cols=2, subplot_titles=(loss, "accuracy"))
    steps = thinned([row["step"] for row in batch_history])
    stride = math.ceil(len(batch_history) / MOST_POINTS)
    each = "each training batch" if stride <= 1 else f"training batches (one in {stride})"
    ends = _epoch_end_steps(batch_history)

    def epoch_step(epoch: int) -> float | None:
        if epoch in ends:
            return ends[epoch]
        return epoch * batches_per_epoch if batches_per_epoch else None

    val_rows = [r for r in epoch_history if r.get("val_loss") is not None]
    val_rows = [r for r in val_rows if epoch_step(int(r["epoch"])) is not None]
    val_steps = [epoch_step(int(r["epoch"])) for r in val_rows]
    for col, metric in ((1, "loss"), (2, "accuracy")):
        values = [_batch_value(row, metric) for row in batch_history]
        traces = (  # x, y, legend name and group, style
            (steps, thinned(values), each, "batch",
             dict(mode=_lines(len(steps)), line=dict(color=TRAIN_COLOUR, width=1),
                  opacity=0.3)),
            (steps, thinned(smoothed(values)),
             f"training (exponential average, ~{SMOOTHING_BATCHES} batches)",
             "train", dict(mode=_lines(len(steps)), line=dict(color=TRAIN_COLOUR))),
            (val_steps, [r[f"val_{metric}"] for r in val_rows], "validation (each epoch's end)",
             "val",
             dict(mode="lines+markers", marker=dict(size=9, color=VAL_COLOUR),
                  line=dict(color=VAL_COLOUR, dash="dot"))),
        )  # fmt: skip
        for x, y, name, group, style in traces:
            trace = go.Scatter(x=x, y=y, name=name, legendgroup=group, showlegend=col == 1, **style)
            fig.add_trace(trace, row=1, col=col)
    fig.update_layout(showlegend=True, **LAYOUT)
    fig.update_xaxes(title_text="step (batches)", **_whole_steps(steps))
    losses = [_batch_value(row, "loss") for row in batch_history]
    fig.update_yaxes(loss_axis(losses + [r.get("val_loss") for r in val_rows]), row=1, col=1)
    fig.update_yaxes(SHARE_AXIS, row=1, col=2)
    _mark_lr_changes(fig, lr_events, max(steps, default=0), row="all", col="all")
    _mark_chance(fig, classes, "loss", row=1, col=1)
    _mark_chance(fig, classes, "accuracy", row=1, col=2)
    return fig


def _whole_steps(steps: Sequence[float]) -> dict:
    """A tick per step while there are few of them: Plotly would mark half steps."""
    return dict(dtick=1) if steps and max(steps) < 10 else {}


def learning_rate_curve(
    batch_history: Sequence[Mapping], lr_events: Sequence[Mapping] = ()
) -> go.Figure:
    """The learning rate at every training step, with the manual changes marked."""
    rates = [row["learning_rate"] for row in batch_history]
    fig = go.Figure(
        go.Scatter(
            x=thinned([row["step"] for row in batch_history]),
            y=thinned(rates),
            mode=_lines(len(rates)),
            name="learning rate",
            line=dict(color="#2ca02c"),
        )
    )
    fig.update_xaxes(
        title_text="step (batches)", **_whole_steps([r["step"] for r in batch_history])
    )
    # From zero up: Plotly's own range for a constant rate (the default schedule) is +-1 around
    # it, which draws 0.01 as if it were 0.
    fig.update_yaxes(title_text="learning rate", range=[0, 1.15 * max(rates, default=0) or 1])
    fig.update_layout(title="Learning rate", **LAYOUT)
    _mark_lr_changes(fig, lr_events, max((r["step"] for r in batch_history), default=0))
    return fig


def throughput(batch_history: Sequence[Mapping]) -> go.Figure:
    """Training images per second over the run, from the per-batch rows that have a speed."""
    rows = [r for r in batch_history if r.get("images_per_second") is not None]
    fig = go.Figure(
        go.Scatter(
            x=thinned([r["step"] for r in rows]),
            y=thinned([r["images_per_second"] for r in rows]),
            mode=_lines(len(rows)),
            name="images/s",
            line=dict(color="#9467bd"),
        )
    )
    fig.update_xaxes(title_text="step (batches)", **_whole_steps([r["step"] for r in rows]))
    fig.update_yaxes(title_text="images per second", rangemode="tozero")
    fig.update_layout(title="Speed", **LAYOUT)
    return fig


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
                     **_whole_steps(epochs))  # fmt: skip
    fig.update_yaxes(title_text=metric.replace("_", " "))
    values = [row.get(metric) for rows in histories.values() for row in rows]
    fig.update_yaxes(SHARE_AXIS if "accuracy" in metric else loss_axis(values))
    fig.update_layout(title=metric.replace("_", " "), colorway=RUN_COLOURS, **LAYOUT)
    _mark_chance(fig, classes, "accuracy" if "accuracy" in metric else "loss")
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
        errors = [1 - value for value in smoothed([_batch_value(r, "accuracy") for r in rows])]
        stride = math.ceil(len(rows) / MOST_POINTS)
        x, y = _broken_at_gaps(thinned(positions), thinned(errors), widest=stride / per_epoch)
        name = (names or {}).get(run_id, run_id)
        line = go.Scatter(x=x, y=y, mode=_lines(len(rows)), name=name,
                          **_run_style(len(fig.data)))  # fmt: skip
        alone = _alone(y)
        if len(y) > 1 and any(alone):  # a piece of one point between breaks: a line hides it
            line.update(mode="lines+markers", marker_size=[6 if a else 0 for a in alone])
        fig.add_trace(line)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="training error", **SHARE_AXIS)
    title = f"training error (exponential average over ~{SMOOTHING_BATCHES} batches)"
    fig.update_layout(title=title, colorway=RUN_COLOURS, **LAYOUT)
    _mark_level(fig, FIGURE_1_ERROR, f"{FIGURE_1_ERROR:.0%}: the paper's figure 1")
    _mark_chance(fig, classes, "error")
    return fig
