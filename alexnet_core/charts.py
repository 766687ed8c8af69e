"""Plotly figures of one run's training built from the core's plain objects: histories,
learning-rate events, speed (run_charts.py sets runs side by side, architecture_charts.py draws
the layer report).

No Streamlit and no TensorFlow here: the pages pass in what the core returned and show the
figure, and the tests read the numbers back out of the traces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alexnet_core.figure_one import ERROR as FIGURE_ONE_ERROR  # `figure_one`: an argument

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#d62728"
MARKER_COLOUR = "#7f7f7f"
SMOOTHING_BATCHES = 10  # the training curves' moving average spans about this many batches
# Batch lines keep at most about this many points: a chart a few hundred pixels wide shows no
# more, and the live view sends its charts every second (a 40-epoch run has 7,000 batches).
MOST_POINTS = 800
# The top margin keeps titles clear of Plotly's toolbar, which shows over the top right corner.
# The legend sits at the figure's foot, not at a share of the plot's height below it: that share
# moved it onto the axis titles once a narrower window had wrapped it and a wider one unwrapped it.
LAYOUT = dict(margin=dict(l=10, r=10, t=64, b=10),
              legend=dict(orientation="h", yref="container", y=0, yanchor="bottom"))  # fmt: skip
# Accuracy and error are shares: in percent, and never zoomed out far past 0% or 100% (Plotly
# pads a lone point's range by +-1, drawing an accuracy of -50%), yet free to zoom in between.
# The 2% beyond leaves room for a marker at 100%, which the edge would cut in half.
SHARE_AXIS = dict(tickformat=".0%", autorangeoptions=dict(minallowed=-0.02, maxallowed=1.02))
# A loss axis around a lone value would otherwise read 2.704049587249755859: three figures,
# trailing zeros trimmed (d3-format), or more where the losses differ only in a later figure.
LOSS_FIGURES, MOST_LOSS_FIGURES = 3, 8
# A loss past this has diverged (ten classes start near 2.3): its axis turns logarithmic, or
# the spike flattens the rest of the curve and its ticks read 1000000000000000000000.
DIVERGED_LOSS = 100.0


def loss_axis(values) -> dict:
    """The y axis for these losses: linear with short ticks, or logarithmic with powers of
    ten once one of them has diverged."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite and max(finite) > DIVERGED_LOSS:
        return dict(type="log", exponentformat="power", tickformat="")
    return dict(tickformat=f".{loss_figures(finite)}~g")


def loss_figures(finite: Sequence[float]) -> int:
    """Significant figures enough to tell apart the ticks of an axis that spans these losses:
    a run stuck near ln 10 (2.3021 to 2.3049) would read 2.3, 2.3, 2.3 with three. Plotly puts
    a handful of ticks on the span, each a round step: about a tenth of it at the finest."""
    span = max(finite, default=0) - min(finite, default=0)
    top = max((abs(v) for v in finite), default=0)
    if span <= 0 or top <= 0:  # no span: Plotly pads the lone value with a wide, round range
        return LOSS_FIGURES
    needed = math.floor(math.log10(top)) - math.floor(math.log10(span / 10)) + 1
    return min(MOST_LOSS_FIGURES, max(LOSS_FIGURES, needed))


def _epoch_end_steps(batch_history: Sequence[Mapping]) -> dict[int, float]:
    """The last global step of each epoch, where its validation point belongs."""
    ends: dict[int, float] = {}
    for row in batch_history:
        epoch = int(row["epoch"])
        ends[epoch] = max(ends.get(epoch, row["step"]), row["step"])
    return ends


def batch_value(row: Mapping, metric: str) -> float:
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


def lines_mode(points: int) -> str:
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


def mark_level(fig: go.Figure, y: float, text: str, **where) -> None:
    """A dotted level across the plot, labelled at its right end."""
    fig.add_hline(
        y=y,
        line=dict(color=MARKER_COLOUR, dash="dot", width=1),
        annotation_text=text,
        annotation_position="bottom right",
        annotation_font=dict(size=11, color="#444"),
        **where,
    )


def mark_chance(fig: go.Figure, classes: int | None, metric: str, **where) -> None:
    """The level of guessing for this metric ("accuracy", "error" or "loss"), when the number
    of classes is known: a network below it has learned nothing yet."""
    if not classes:
        return
    level = chance(classes)[metric]
    shown = f"ln {classes} = {level:.2f}" if metric == "loss" else f"{level:.0%}"
    mark_level(fig, level, f"chance ({shown})", **where)


def training_curves(
    batch_history: Sequence[Mapping],
    epoch_history: Sequence[Mapping] = (),
    lr_events: Sequence[Mapping] = (),
    *,
    batches_per_epoch: int | None = None,
    label_smoothing: float = 0.0,
    classes: int | None = None,
    figure_one: bool = False,
) -> go.Figure:
    """Loss and accuracy: each training batch's own value (faint), their moving average
    (smoothed), and a point per epoch's validation. The loss is the one trained on: with label
    smoothing it includes it (and cannot reach 0), which its title then says.

    The x axis is the global step; a validation point sits at the last step of its epoch
    (from the batch history, else epoch * batches_per_epoch). Dashed lines mark lr changes.
    Rows from runs made before batch values were recorded give their running means instead.
    Given the number of classes, a dotted line marks what guessing scores; for a run of the
    paper's figure 1 (figure_one.matches), another marks the accuracy of its 25% error.
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
        values = [batch_value(row, metric) for row in batch_history]
        traces = (  # x, y, legend name and group, style
            (steps, thinned(values), each, "batch",
             dict(mode=lines_mode(len(steps)), line=dict(color=TRAIN_COLOUR, width=1),
                  opacity=0.3)),
            (steps, thinned(smoothed(values)),
             f"training (exponential average, ~{SMOOTHING_BATCHES} batches)",
             "train", dict(mode=lines_mode(len(steps)), line=dict(color=TRAIN_COLOUR))),
            (val_steps, [r[f"val_{metric}"] for r in val_rows], "validation (each epoch's end)",
             "val",
             dict(mode="lines+markers", marker=dict(size=9, color=VAL_COLOUR),
                  line=dict(color=VAL_COLOUR, dash="dot"))),
        )  # fmt: skip
        for x, y, name, group, style in traces:
            trace = go.Scatter(x=x, y=y, name=name, legendgroup=group, showlegend=col == 1, **style)
            fig.add_trace(trace, row=1, col=col)
    fig.update_layout(showlegend=True, **LAYOUT)
    fig.update_xaxes(title_text="step (batches)", **whole_steps(steps))
    losses = [batch_value(row, "loss") for row in batch_history]
    fig.update_yaxes(loss_axis(losses + [r.get("val_loss") for r in val_rows]), row=1, col=1)
    fig.update_yaxes(SHARE_AXIS, row=1, col=2)
    _mark_lr_changes(fig, lr_events, max(steps, default=0), row="all", col="all")
    mark_chance(fig, classes, "loss", row=1, col=1)
    mark_chance(fig, classes, "accuracy", row=1, col=2)
    if figure_one:
        error = FIGURE_ONE_ERROR
        mark_level(fig, 1 - error, f"{1 - error:.0%}: the paper's figure 1 ({error:.0%} error)",
                   row=1, col=2)  # fmt: skip
    return fig


def whole_steps(steps: Sequence[float]) -> dict:
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
            mode=lines_mode(len(rates)),
            name="learning rate",
            line=dict(color="#2ca02c"),
        )
    )
    fig.update_xaxes(title_text="step (batches)", **whole_steps([r["step"] for r in batch_history]))
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
            mode=lines_mode(len(rows)),
            name="images/s",
            line=dict(color="#9467bd"),
        )
    )
    fig.update_xaxes(title_text="step (batches)", **whole_steps([r["step"] for r in rows]))
    fig.update_yaxes(title_text="images per second", rangemode="tozero")
    fig.update_layout(title="Speed", **LAYOUT)
    return fig
