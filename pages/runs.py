"""Runs: every saved run, their curves overlaid, how their settings differ, and what to do next."""

import pandas as pd
import streamlit as st

from alexnet_core import (
    checkpoints,
    evaluation,
    figure_one,
    presets,
    run_charts,
    run_deletion,
    run_logs,
    run_text,
    runs,
    training,
)
from pages import common, help_texts, pickers, train_form, wording
from pages.run_details import (
    checkpoint_notes,
    epochs_text,
    fell_to,
    legend_names,
    readable,
    settings,
    show_figure_one,
    table_rows,
    training_now,
    words,
)

# The Compare chart's curves: per-epoch metrics as Keras logged them, and the batches' error.
CURVES = {"val_accuracy": "val accuracy", "val_loss": "val loss", "accuracy": "accuracy",
          "loss": "loss", "batch_error": "training error, batch by batch"}  # fmt: skip

st.title("Runs")
st.write(f"Every training run saved in `{runs.runs_root()}`, newest first.")
found = training.list_runs()
if deleted := st.session_state.pop("runs_deleted", None):
    st.success(f"Deleted {deleted} and its checkpoints.", icon=":material/delete:")
if runs.runs_root().exists() and not runs.runs_root().is_dir():
    st.error(f"{runs.runs_root()} is a file, not a folder: no run can be kept there. Point "
             f"{runs.RUNS_VARIABLE} at a folder.", icon=":material/error:")  # fmt: skip
    st.stop()
if not found:
    st.info("No runs yet. Start one on the Train page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/monitoring:")
    st.stop()


@st.fragment(run_every=2.0 if training_now(found) else None)
def run_table(drawn_training: tuple[str, ...]) -> None:
    """Every run in a table; redrawn every 2 s while one trains, and the whole page once a
    run starts or ends (its checkpoints, curves and buttons change then)."""
    found = training.list_runs()
    if training_now(found) != drawn_training:
        st.rerun()
    st.dataframe(
        pd.DataFrame(table_rows(found)),
        hide_index=True,
        column_config={
            "best val acc %": st.column_config.NumberColumn(format="%.1f"),
            "test acc %": st.column_config.NumberColumn(format="%.1f"),
            "duration (s)": st.column_config.NumberColumn(format="%.0f"),
            "created": st.column_config.TextColumn(width=125),  # "2026-12-01 05:01"
            "changed from the preset": st.column_config.TextColumn(width=170),  # the rest on hover
        },
        placeholder="—",  # a number a run does not have yet, e.g. a test accuracy before the end
        key="runs_table",
    )


run_table(training_now(found))
for run in [r for r in found if r.status == "damaged"]:
    usable = run.model_config is not None and run.checkpoints  # only its progress is unknown
    st.warning(f"{run.run_id} is damaged: {run.error or 'a file is missing or unreadable'}. It "
               "cannot be continued" + (", but its network can still be opened on Feature "
               "maps, Classify and Evaluate." if usable else "."))  # fmt: skip

st.subheader("Compare")
by_id = {r.run_id: r for r in found if r.status != "damaged"}
if pair := figure_one.pair(list(by_id.values())):
    st.button("Show figure 1", key="runs_figure_one", icon=":material/show_chart:",
              on_click=show_figure_one, args=(pair,),
              help=f"Compares the newest finished runs set up with Train's *Set up figure 1* "
              f"on the same data, each at one rate throughout: {pair['relu']} (relu) and "
              f"{pair['tanh']} (tanh), by their training error, batch by batch.")  # fmt: skip
trained = [run_id for run_id, run in by_id.items() if run.epochs_done]  # ones with a curve
chosen = st.multiselect(
    "Runs to compare", list(by_id), default=trained[:2], key="runs_compare", **common.KEEP
)
with_validation = any(by_id[run_id].best_metric == "val_accuracy" for run_id in chosen)
usual = "val_accuracy" if with_validation or not chosen else "accuracy"
metric = st.segmented_control(
    "Curve", list(CURVES), default=usual, key="runs_metric", format_func=CURVES.get, **common.KEEP
) or usual  # fmt: skip
left_out = "damaged, left out of the comparison"
table = pd.DataFrame({run_id: settings(by_id[run_id]) for run_id in chosen})
differ = table.fillna(run_text.setting_text(None))  # a setting an older run lacks
differ = differ[differ.nunique(axis=1) > 1]
names = legend_names(differ)
counts = {len(by_id[run_id].class_names) for run_id in chosen}  # 0 for a run that kept none
classes = counts.pop() if len(counts) == 1 else None  # one chance level that fits them all
if chosen and metric == "batch_error":
    batches = {i: readable(run_logs.load_batch_history, by_id[i], left_out) for i in chosen}
    batches = {run_id: rows for run_id, rows in batches.items() if rows is not None}
    if any(batches.values()):
        st.plotly_chart(
            run_charts.compare_training_error(batches, names=names, classes=classes),
            key="runs_batch_chart",
        )
        error = figure_one.ERROR
        reached = {names.get(i, i): fell_to(by_id[i], error) for i in batches}
        if reached := {name: when for name, when in reached.items() if when}:
            st.caption(wording.reached_text(reached, error))
        st.caption("Each run's training error batch by batch, smoothed, against epochs: the "
                   "paper's figure 1 compared ReLU with tanh this way, each network at its own "
                   "best learning rate, with no dropout, augmentation or weight decay. Train's "
                   "*Set up figure 1* sets up the README's try of it, in which tanh was the "
                   "faster (why is not known; Keras starts from other weights than the "
                   "paper's, whose network had four layers); give each its best rate before "
                   "drawing a conclusion.")  # fmt: skip
    elif batches:  # else each run's warning has said why
        st.info("None of these runs has trained a batch yet.")
elif chosen:
    histories = {i: readable(run_logs.load_history, by_id[i], left_out) for i in chosen}
    histories = {run_id: rows for run_id, rows in histories.items() if rows is not None}
    name = CURVES[metric]
    why = "no finished epoch" + (" or no validation split" if metric.startswith("val_") else "")
    missing = [i for i, rows in histories.items() if all(r.get(metric) is None for r in rows)]
    if len(missing) < len(histories):
        chart = run_charts.compare_runs(histories, metric, names=names, classes=classes)
        st.plotly_chart(chart, key="runs_chart")
        if missing:
            st.caption(f"No {name} curve for {', '.join(missing)} ({why}).")
        smoothed = [i for i in histories if by_id[i].train_config.label_smoothing]
        if metric.endswith("loss") and smoothed:
            st.caption(f"The losses of {', '.join(smoothed)} include label smoothing, which keeps "
                       "them above 0: compare them with runs that used the same smoothing. "
                       "Accuracy compares across all.")  # fmt: skip
    elif histories:  # else each run's warning has said why
        st.info(f"None of these runs has a {name} curve ({why}).")
if chosen:
    if len(chosen) < 2:
        st.caption("Pick two or more runs to see how their settings differ.")
    elif differ.empty:
        st.caption("These runs started with the same settings. Learning-rate changes made while "
                   "they trained are not settings: One run lists them.")  # fmt: skip
    else:
        st.markdown("**Settings that differ**")
        shown = differ.set_axis([words(key) for key in differ.index])  # "learning rate"
        # with where Train sets each, for a run to compare with them
        shown.insert(0, "on Train", [help_texts.on_train(k.split(".", 1)[1]) for k in differ.index])
        st.dataframe(shown, height="content", key="runs_diff")  # every row, no inner scroll
    tested = [by_id[i] for i in chosen if by_id[i].test_accuracy is not None]
    tested = [run for run in tested if run.data.get("num_test")]  # older runs may not say
    if len(chosen) > 1 and tested:
        listed = "; ".join(
            f"{run.run_id} {run.test_accuracy:.1%} ±"
            f"{100 * evaluation.accuracy_margin(run.test_accuracy, run.data['num_test']):.1f}"
            for run in tested
        )
        st.caption(f"Test accuracy, each with its 95% margin in percentage points from the "
                   f"number of its test images alone: {listed}. A difference within these "
                   "margins may be chance: train each setting with two or three seeds before "
                   "drawing a conclusion.")  # fmt: skip

st.subheader("One run")
every = {r.run_id: r for r in sorted(found, key=lambda r: r.status == "damaged")}  # readable first
if deleted:  # the box moves to the run shown in its place, in the browser too
    st.session_state.runs_selected = next(iter(every))
run = every[pickers.run_selectbox("runs_selected", every)]


@st.fragment(run_every=2.0 if run.status in runs.ACTIVE_STATUSES else None)
def run_numbers(run: runs.RunInfo) -> None:
    """The run's status and scores; read again every 2 s while it trains, as the table is."""
    if run.status in runs.ACTIVE_STATUSES:
        run = runs.read_run(run.path)
    numbers = common.row(gap="medium")  # each whole: "Test accuracy (last.keras)" was cut
    numbers.metric("Status", run.status, width="content")
    numbers.metric("Epochs", epochs_text(run), width="content")
    validated = run.best_metric == "val_accuracy"
    numbers.metric(
        "Best val accuracy" if validated else "Best training accuracy",
        f"{run.best_accuracy:.1%}" if run.best_accuracy is not None else "—",
        help="The epoch best.keras holds." if validated else "No validation split: best.keras "
        "is the best training epoch.", width="content",
    )  # fmt: skip
    tested = run.test_accuracy is not None  # 0% is a result, not a blank
    count, margin = run.data.get("num_test", 0), ""
    if tested and count:
        points = wording.points_text(evaluation.accuracy_margin(run.test_accuracy, count))
        margin = f", {points} (95%) from the number of its test images alone ({count:,})"
    numbers.metric(
        "Test accuracy (last.keras)",
        f"{run.test_accuracy:.1%}" if tested else "—",
        help=f"of the final weights{margin}; Evaluate tests best.keras too",
        width="content",
    )
    if run.status in runs.ACTIVE_STATUSES:
        st.caption("Training now: these figures are as of its last finished epoch, and the page "
                   "redraws when it ends.")  # fmt: skip


run_numbers(run)
if run.data:
    st.caption(f"Trained on {run_text.data_text(run.data)}.")
if run.data.get("left_out"):
    listed = run.data.get("left_out_first", [])
    more = run.data["left_out"] - len(listed)
    with st.expander(f"{run.data['left_out']:,} left out of its data"):
        st.code("\n".join(listed) + f"\n... and {more:,} more" * (more > 0), language=None,
                wrap_lines=True)  # fmt: skip
if run.status == "failed" and run.error:
    st.error(run.error, icon=":material/error:")
damaged = run.status == "damaged"
history = [] if damaged else readable(run_logs.load_history, run, "its history cannot be shown")
if run.cut_short:
    st.caption(wording.cut_short_text(*run.cut_short))
if stops := wording.stopped_earlier_text(history or []):
    st.caption(stops)
unlisted = "its rate changes cannot be listed"
changes = [] if damaged else readable(run_logs.load_lr_events, run, unlisted)
if changes:
    # 'set in': a rate set while paused, then stopped, starts with the next epoch's first step.
    listed = "; ".join(f"from step {e['step']} (set in epoch {e['epoch']}): {e['old']:.3g} to "
                       f"{e['new']:.3g}" for e in changes)  # fmt: skip
    st.caption(f"Learning rate changed by hand {listed}; the schedule gave way to it.")
buttons = common.row()  # wraps, rather than cut "Continue 1000 more epochs" where it is narrow
if "best" in run.checkpoints and checkpoints.is_whole(run.path, "best"):
    best = checkpoints.checkpoint_path(run.path, "best")
    best_epoch = runs.checkpoint_epochs(run).get("best", (None, None))[0]
    if run.status in runs.ACTIVE_STATUSES:  # its best moves on after the page is drawn, and
        best_epoch = None  # the file is read as of the click
    # A short label with an icon: "Download best.keras (epoch 12)" took a line of its own.
    buttons.download_button(
        f"best.keras (epoch {best_epoch})" if best_epoch else "best.keras",
        data=lambda: best.read_bytes(),
        file_name=f"{run.run_id}-best.keras",
        key="runs_download_model",
        on_click="ignore",  # a download changes nothing on the page: no rerun
        icon=":material/download:",
        help="Download the run's best checkpoint: Keras loads it with keras.models.load_model.",
    )
if history is not None and not damaged:

    def history_csv() -> str:
        """As of the click: a run that trains adds a row an epoch while the page stands. As
        drawn if the file has gone since (the run deleted in another tab) or is damaged."""
        try:
            rows = run_logs.load_history(run.path) or history  # a missing file reads as []
        except (ValueError, OSError):
            rows = history
        return pd.DataFrame(rows).to_csv(index=False)

    buttons.download_button(
        "history.csv",
        data=history_csv,
        file_name=f"{run.run_id}-history.csv",
        key="runs_download_history",
        on_click="ignore",
        icon=":material/download:",
        help="Download the per-epoch losses, accuracies, learning rates and times.",
    )
busy = damaged or run.status in runs.ACTIVE_STATUSES
nothing_saved = "last" not in run.checkpoints or run.epochs_done < 1  # no epoch to go on from
damaged_last = not nothing_saved and not checkpoints.is_whole(run.path, "last")
if common.continue_run(run.path, "runs", buttons, disabled=busy or nothing_saved or damaged_last):
    st.switch_page("pages/train.py")
again = not damaged and run.model_config.preset in presets.PRESETS  # a form Train can fill
if run.epochs_done < 1 and not busy:
    st.caption("Its first epoch never finished, so no checkpoint holds anything to continue "
               "from" + (": train its settings again instead." if again else "."))  # fmt: skip
if again and st.button(
    "Train its settings again", key="runs_again", icon=":material/replay:",
    help="Opens Train set to this run's network, training settings and data, for a new run: "
    "to change one thing and compare the two, or because this one saved nothing to go on from.",
):  # fmt: skip
    train_form.fill_from_run(run.model_config, run.train_config)
    st.switch_page("pages/train.py")
for note in checkpoint_notes(run):
    st.warning(note, icon=":material/warning:")

with st.expander("Delete this run"):
    in_training = run.status in runs.ACTIVE_STATUSES
    if in_training:
        st.caption(f"{run.run_id} is {run.status}: stop it on the Train page before deleting it.")
    confirm = f"runs_delete_confirm_{run.run_id}"  # per run: each one starts unticked
    sure = st.checkbox(f"Yes, delete {run.run_id} and its checkpoints for good", key=confirm,
                       disabled=in_training)  # fmt: skip
    if st.button("Delete", type="primary", disabled=in_training or not sure, key="runs_delete"):
        try:
            run_deletion.delete_run(run.path)
            st.session_state.pop(confirm, None)
            st.session_state.runs_deleted = run.run_id  # said once, after the rerun
            st.rerun()
        except (ValueError, OSError) as exc:  # OSError: a read-only folder, say
            common.show_error(exc)
