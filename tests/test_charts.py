"""The figure builders put the numbers they are given into their traces, unchanged."""

import math

import plotly.graph_objects as go
import pytest

from alexnet_core import architecture_charts, charts, presets, report, run_charts

BATCHES = [  # loss and accuracy: the epoch's running means; batch_*: each batch's own
    {"step": 1, "epoch": 1, "loss": 2.3, "accuracy": 0.10, "batch_loss": 2.3,
     "batch_accuracy": 0.10, "learning_rate": 0.01},
    {"step": 2, "epoch": 1, "loss": 2.1, "accuracy": 0.20, "batch_loss": 1.9,
     "batch_accuracy": 0.30, "learning_rate": 0.01},
    {"step": 3, "epoch": 2, "loss": 1.9, "accuracy": 0.30, "batch_loss": 1.9,
     "batch_accuracy": 0.30, "learning_rate": 0.005},
    {"step": 4, "epoch": 2, "loss": 1.7, "accuracy": 0.40, "batch_loss": 1.5,
     "batch_accuracy": 0.50, "learning_rate": 0.005},
]  # fmt: skip
EPOCHS = [
    {"epoch": 1, "loss": 2.1, "accuracy": 0.2, "val_loss": 2.0, "val_accuracy": 0.25},
    {"epoch": 2, "loss": 1.7, "accuracy": 0.4, "val_loss": 1.8, "val_accuracy": 0.35},
]
LR_EVENTS = [{"step": 3, "epoch": 2, "old": 0.01, "new": 0.005}]
VALIDATION = "validation (each epoch's end)"  # one legend entry for both subplots' points


def trace(fig: go.Figure, name: str, xaxis: str | None = None):
    """The first trace of that name (in that subplot: 'x' is the first, 'x2' the second)."""
    return next(t for t in fig.data if t.name == name and xaxis in (None, t.xaxis))


def test_feature_map_shapes_follow_the_report():
    plan = report.plan_layers(presets.preset("paper"))
    fig = architecture_charts.feature_map_shapes(plan)
    sides, channels = trace(fig, "side (pixels)"), trace(fig, "channels")
    assert list(sides.x) == list(channels.x)
    conv1 = list(sides.x).index("conv1")
    assert sides.y[conv1] == 55 and channels.y[conv1] == 96  # (227 - 11) / 4 + 1 = 55
    assert sides.y[list(sides.x).index("pool5")] == 6
    assert "fc6" not in sides.x  # dense layers have no feature map


def test_parameter_share_puts_fc6_first_by_size():
    plan = report.plan_layers(presets.preset("paper"))
    bars = architecture_charts.parameter_share(plan).data[0]
    params = dict(zip(bars.y, bars.x, strict=True))
    assert params["fc6"] == 6 * 6 * 256 * 4096 + 4096 == plan.row("fc6").params
    assert max(params, key=params.get) == "fc6"
    assert sum(params.values()) == plan.total_params == 60_965_224
    assert "pool1" not in params  # no parameters, no bar


def test_training_curves_place_validation_at_the_end_of_each_epoch():
    fig = charts.training_curves(BATCHES, EPOCHS, LR_EVENTS)
    val_acc = trace(fig, VALIDATION, "x2")
    assert list(val_acc.x) == [2, 4] and list(val_acc.y) == [0.25, 0.35]
    markers = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(markers) == 2 and all(s.x0 == 3 for s in markers)  # one per subplot


def levels(fig: go.Figure) -> dict[str, float]:
    """The dotted levels across a figure: their label's start, and their height."""
    heights = [s.y0 for s in fig.layout.shapes if s.line.dash == "dot"]
    texts = [a.text for a in fig.layout.annotations if "chance" in a.text or "figure 1" in a.text]
    return dict(zip(texts, heights, strict=True))


def test_training_curves_mark_what_guessing_scores_once_the_classes_are_known():
    assert levels(charts.training_curves(BATCHES, EPOCHS)) == {}
    fig = charts.training_curves(BATCHES, EPOCHS, classes=10)
    assert levels(fig) == {"chance (ln 10 = 2.30)": pytest.approx(math.log(10)),
                           "chance (10%)": 0.1}  # fmt: skip
    on = {s.yref: s.y0 for s in fig.layout.shapes if s.line.dash == "dot"}
    assert on == {"y": pytest.approx(math.log(10)), "y2": 0.1}  # the loss's, the accuracy's
    assert charts.chance(4) == {"accuracy": 0.25, "error": 0.75,
                                "loss": pytest.approx(1.3863, abs=1e-4)}  # fmt: skip
    figure = charts.training_curves(BATCHES, EPOCHS, classes=10, figure_one=True)
    assert levels(figure)["75%: the paper's figure 1 (25% error)"] == 0.75
    on = sorted((s.yref, s.y0) for s in figure.layout.shapes if s.line.dash == "dot")
    assert on[1:] == [("y2", 0.1), ("y2", 0.75)], "both on the accuracy"


def test_compared_runs_are_named_as_given_and_marked_with_chance_and_figure_1():
    names = {"run-a": "run-a · activation tanh"}
    fig = run_charts.compare_runs({"run-a": EPOCHS, "run-b": EPOCHS}, "val_loss", names=names,
                              classes=10)  # fmt: skip
    assert [t.name for t in fig.data] == ["run-a · activation tanh", "run-b"]
    # at the figure's foot, whatever the plot's height (the browser walk checks it drawn)
    assert (fig.layout.legend.yref, fig.layout.legend.y) == ("container", 0)
    assert levels(fig) == {"chance (ln 10 = 2.30)": pytest.approx(math.log(10))}
    accuracy = run_charts.compare_runs({"run-a": EPOCHS}, "val_accuracy", classes=5)
    assert levels(accuracy) == {"chance (20%)": 0.2}
    error = run_charts.compare_training_error({"run-a": BATCHES}, names=names, classes=10)
    assert [t.name for t in error.data] == ["run-a · activation tanh"]
    assert levels(error) == {"25%: the paper's figure 1": 0.25, "chance (90%)": 0.9}
    assert levels(run_charts.compare_training_error({"run-a": BATCHES})) == {
        "25%: the paper's figure 1": 0.25}  # fmt: skip


def test_training_curves_say_when_the_loss_includes_label_smoothing():
    titles = [a.text for a in charts.training_curves(BATCHES, EPOCHS).layout.annotations]
    assert titles == ["loss", "accuracy"]
    fig = charts.training_curves(BATCHES, EPOCHS, label_smoothing=0.1)
    assert [a.text for a in fig.layout.annotations] == [
        "loss, with label smoothing 0.1",
        "accuracy",
    ]


def test_training_curves_draw_each_batch_and_their_moving_average():
    fig = charts.training_curves(BATCHES, EPOCHS)
    average = "training (exponential average, ~10 batches)"
    losses, accuracies = trace(fig, "each training batch", "x"), trace(fig, average, "x2")
    assert list(losses.x) == [1, 2, 3, 4] and list(losses.y) == [2.3, 1.9, 1.9, 1.5]
    # By hand, keeping 0.9 of the average at each batch: (0.9 * 0.1 * 0.1 + 0.1 * 0.3) / 0.19
    by_hand = [0.1, 0.039 / 0.19, 0.0651 / 0.271, 0.10859 / 0.3439]
    assert list(accuracies.y) == pytest.approx(by_hand)
    assert list(trace(fig, "each training batch", "x2").y) == [0.1, 0.3, 0.3, 0.5]


def test_training_curves_of_an_older_run_draw_its_running_means():
    older = [{k: v for k, v in row.items() if not k.startswith("batch_")} for row in BATCHES]
    fig = charts.training_curves(older + [{**BATCHES[-1], "step": 5, "batch_loss": None}])
    assert list(trace(fig, "each training batch", "x").y) == [2.3, 2.1, 1.9, 1.7, 1.7]


def test_the_moving_average_starts_at_the_first_value_and_follows_a_step_by_a_tenth():
    assert charts.smoothed([3.0, 3.0, 3.0]) == pytest.approx([3.0, 3.0, 3.0])
    step = charts.smoothed([0.0] * 200 + [1.0] * 10)
    assert step[199] == 0.0 and step[200] == pytest.approx(0.1)
    assert step[209] == pytest.approx(1 - 0.9**10)


def test_training_curves_without_batches_use_batches_per_epoch():
    fig = charts.training_curves([], EPOCHS, batches_per_epoch=10)
    assert list(trace(fig, VALIDATION, "x").x) == [10, 20]


def test_training_curves_skip_epochs_without_validation():
    epochs = [{**EPOCHS[0], "val_loss": None, "val_accuracy": None}, EPOCHS[1]]
    fig = charts.training_curves(BATCHES, epochs)
    assert list(trace(fig, VALIDATION, "x2").y) == [0.35]
    assert [t.showlegend for t in fig.data if t.name == VALIDATION] == [True, False]


def test_learning_rate_curve_and_marker():
    fig = charts.learning_rate_curve(BATCHES, LR_EVENTS)
    assert list(fig.data[0].y) == [0.01, 0.01, 0.005, 0.005]
    assert fig.layout.shapes[0].x0 == 3
    assert "0.01 → 0.005" in fig.layout.annotations[0].text
    assert fig.layout.annotations[0].xanchor == "right", "step 3 of 4: labelled on its left"
    early = [{**LR_EVENTS[0], "step": 2}]
    label = charts.learning_rate_curve(BATCHES, early).layout.annotations[0]
    assert label.xanchor == "left", "room on the right"
    assert tuple(fig.layout.yaxis.range) == pytest.approx((0, 0.0115))  # from zero, not +-1


def test_a_constant_learning_rate_is_drawn_above_zero():
    constant = [{"step": s, "learning_rate": 0.01} for s in (1, 2, 3)]
    low, high = charts.learning_rate_curve(constant).layout.yaxis.range
    assert low == 0 and 0.01 < high < 0.02


def test_throughput_and_run_comparison():
    rows = [{"step": 1, "images_per_second": None}, {"step": 10, "images_per_second": 250.0},
            {"step": 20, "images_per_second": 260.0}]  # fmt: skip
    fig = charts.throughput(rows)
    assert list(fig.data[0].x) == [10, 20] and list(fig.data[0].y) == [250.0, 260.0]
    unsplit = [{k: v for k, v in row.items() if not k.startswith("val_")} for row in EPOCHS]
    fig = run_charts.compare_runs(
        {"run-a": EPOCHS, "run-b": EPOCHS[:1], "unsplit": unsplit}, "val_accuracy"
    )
    assert [t.name for t in fig.data] == ["run-a", "run-b"]  # no empty line for "unsplit"
    assert list(trace(fig, "run-a").y) == [0.25, 0.35] and list(trace(fig, "run-b").x) == [1]


def test_training_error_comparison_places_each_batch_at_its_share_of_the_epoch():
    unfinished = BATCHES[:3]  # its second epoch has one batch of two so far
    fig = run_charts.compare_training_error({"run-a": BATCHES, "run-b": unfinished, "none": []})
    assert [t.name for t in fig.data] == ["run-a", "run-b"]
    assert list(trace(fig, "run-a").x) == [0.5, 1.0, 1.5, 2.0]
    assert list(trace(fig, "run-b").x) == [0.5, 1.0, 1.5]
    moving = charts.smoothed([0.1, 0.3, 0.3, 0.5])  # the batches' own accuracies
    assert list(trace(fig, "run-a").y) == pytest.approx([1 - a for a in moving])


def test_compared_runs_count_epochs_from_one_with_a_tick_each_only_while_few():
    lone = run_charts.compare_runs({"a": EPOCHS[:1]}, "val_accuracy").layout.xaxis
    assert lone.autorangeoptions.minallowed == 0.5 and lone.dtick == 1, "not from -1"
    many = [{**EPOCHS[0], "epoch": epoch} for epoch in range(1, 41)]
    assert run_charts.compare_runs({"a": many}, "val_accuracy").layout.xaxis.dtick is None


def test_compared_runs_get_distinct_colours_dashes_and_markers():
    for fig in (run_charts.compare_runs({"a": EPOCHS, "b": EPOCHS}, "val_accuracy"),
                run_charts.compare_training_error({"a": BATCHES, "b": BATCHES})):  # fmt: skip
        assert list(fig.layout.colorway[:2]) == ["#1f77b4", "#ff7f0e"]
        # the same curve twice: the second is dashed, so the first shows through its gaps
        assert [trace.line.dash for trace in fig.data] == ["solid", "dash"]
        assert [trace.marker.symbol for trace in fig.data] == ["circle", "square"]
    fig = run_charts.compare_runs({"no val": [{"epoch": 1}], "a": EPOCHS}, "val_accuracy")
    assert [trace.line.dash for trace in fig.data] == ["solid"], "in step with the colours"


def test_training_error_breaks_its_line_where_a_stopped_epoch_left_batches_unrun():
    # Epoch 1 stopped after 1 of 4 batches; the continue began with epoch 2.
    rows = [{**BATCHES[0], "step": s, "epoch": 1 if s == 1 else 2} for s in range(1, 6)]
    line = run_charts.compare_training_error({"run": rows}).data[0]
    assert list(line.x) == [0.25, None, 1.25, 1.5, 1.75, 2.0]
    assert line.y[1] is None and None not in line.y[2:]
    assert line.mode == "lines+markers" and list(line.marker.size) == [6, 0, 0, 0, 0, 0], (
        "the lone batch of epoch 1 gets a dot: a line of one point is invisible"
    )
    whole = [{**BATCHES[0], "step": s, "epoch": 1 + (s - 1) // 4} for s in range(1, 9)]
    assert None not in run_charts.compare_training_error({"run": whole}).data[0].x
    assert run_charts.compare_training_error({"run": whole}).data[0].mode == "lines"  # no dots
    # Thinned to one batch in 5, a missing stretch wider than 5 batches still breaks the line.
    long = [{**BATCHES[0], "step": s, "epoch": 1 + (s - 1) // 350} for s in range(1, 3501)]
    gap = [row for row in long if not 1_100 < row["step"] <= 1_400]  # epoch 4 stopped early
    xs = list(run_charts.compare_training_error({"run": gap}).data[0].x)
    assert xs.count(None) == 1 and xs[xs.index(None) + 1] > 3
    assert None not in run_charts.compare_training_error({"run": long}).data[0].x


def test_accuracy_and_error_axes_are_percent_and_stay_between_0_and_100():
    bounds = {"minallowed": -0.02, "maxallowed": 1.02}  # room for a marker at 100%
    shares = [
        charts.training_curves(BATCHES, EPOCHS).layout.yaxis2,  # accuracy, beside the loss
        run_charts.compare_runs({"run-a": EPOCHS[:1]}, "val_accuracy").layout.yaxis,  # one point
        run_charts.compare_training_error({"run-a": BATCHES}).layout.yaxis,
    ]
    for axis in shares:
        assert axis.tickformat == ".0%" and axis.autorangeoptions.to_plotly_json() == bounds
    losses = [charts.training_curves(BATCHES, EPOCHS).layout.yaxis,
              run_charts.compare_runs({"run-a": EPOCHS}, "val_loss").layout.yaxis]  # fmt: skip
    assert all(axis.tickformat == ".3~g" for axis in losses)  # a loss is no share

    first = charts.training_curves(BATCHES[:1])  # one batch: one tick a step, no 2.7040495872
    assert first.layout.xaxis.dtick == 1 and first.layout.yaxis.tickformat == ".3~g"
    many = [{**BATCHES[0], "step": step} for step in range(1, 40)]
    assert charts.training_curves(many).layout.xaxis.dtick is None  # Plotly's own ticks
    fast = [{**row, "images_per_second": 100.0} for row in BATCHES[:2]]
    assert charts.learning_rate_curve(BATCHES[:1]).layout.xaxis.dtick == 1
    assert charts.throughput(fast).layout.xaxis.dtick == 1


def test_long_runs_draw_at_most_about_800_points_per_line_ending_at_the_newest_batch():
    assert charts.thinned(list(range(10))) == list(range(10))
    assert charts.thinned(list(range(10)), most=4) == [0, 3, 6, 9]
    assert charts.thinned(list(range(11)), most=4) == [0, 3, 6, 9, 10]  # the newest stays
    rows = [{"step": s, "epoch": 1 + (s - 1) // 350, "loss": 2.0, "accuracy": 0.5,
             "batch_loss": 2.0 + s % 3, "batch_accuracy": 0.5, "learning_rate": 0.01,
             "images_per_second": 300.0} for s in range(1, 3501)]  # fmt: skip
    curves = charts.training_curves(rows, EPOCHS)
    every = trace(curves, "training batches (one in 5)")
    assert len(every.x) == 701 and every.x[-1] == 3500 and list(every.y[:3]) == [3.0, 2.0, 4.0]
    full = charts.smoothed([2.0 + s % 3 for s in range(1, 3501)])
    average = trace(curves, "training (exponential average, ~10 batches)")
    assert list(average.y) == pytest.approx([*full[::5], full[-1]])  # averaged, then thinned
    for fig in (charts.learning_rate_curve(rows), charts.throughput(rows),
                run_charts.compare_training_error({"run": rows})):  # fmt: skip
        assert len(fig.data[0].x) == 701


def test_a_run_of_one_batch_draws_its_points_as_markers():
    one = BATCHES[:1]
    for fig in (charts.training_curves(one), charts.learning_rate_curve(one),
                run_charts.compare_training_error({"run": one})):  # fmt: skip
        assert fig.data[0].mode == "markers" and len(fig.data[0].x) == 1
    assert charts.training_curves(BATCHES).data[0].mode == "lines"


def test_a_loss_axis_has_figures_enough_to_tell_its_ticks_apart():
    # A run stuck at chance (ln 10 = 2.3026) moves its loss in the fourth decimal only.
    stuck = [{**BATCHES[0], "step": step, "batch_loss": 2.3021 + step * 1e-4}
             for step in range(1, 30)]  # fmt: skip
    tickformat = charts.training_curves(stuck).layout.yaxis.tickformat
    assert tickformat == ".5~g"
    for step in (0.0005, 0.0002):  # round steps Plotly takes on this span, the finest included
        ticks = [2.302 + i * step for i in range(round(0.003 / step) + 1)]
        assert len({f"{tick:.5g}" for tick in ticks}) == len(ticks)
        assert len({f"{tick:.3g}" for tick in ticks}) <= 2, "three figures: 2.3, 2.3, 2.3..."
    assert charts.loss_axis([0.0123, 0.0126])["tickformat"] == ".4~g"  # 0.01235, 0.0124
    assert charts.loss_axis([2.3026] * 4)["tickformat"] == ".3~g"  # Plotly pads a lone value
    assert charts.loss_axis([2.3, 2.3 + 3e-8])["tickformat"] == ".8~g", "at most eight"


def test_a_diverged_loss_gets_a_logarithmic_axis_with_powers_of_ten():
    calm = charts.training_curves(BATCHES, EPOCHS)
    assert calm.layout.yaxis.type in (None, "linear") and calm.layout.yaxis.tickformat == ".3~g"
    spike = [*BATCHES, {**BATCHES[-1], "step": 5, "batch_loss": 3.7e17, "loss": 7e16}]
    diverged = charts.training_curves(spike, EPOCHS)
    assert diverged.layout.yaxis.type == "log" and diverged.layout.yaxis.exponentformat == "power"
    assert diverged.layout.yaxis2.tickformat == ".0%", "the accuracy axis stays as it was"
    wild = [{**EPOCHS[0], "loss": float("nan")}, {**EPOCHS[1], "loss": 250.0}]
    runs = run_charts.compare_runs({"a": EPOCHS, "b": wild}, "loss")
    assert runs.layout.yaxis.type == "log"
    assert run_charts.compare_runs({"a": EPOCHS}, "loss").layout.yaxis.tickformat == ".3~g"
