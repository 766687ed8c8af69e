"""Train: set up a run, start it, and watch it learn live; pause, stop, change its rate or
continue it."""

import math

import streamlit as st

from alexnet_core import (
    charts,
    config,
    data,
    distribute,
    figure_one,
    presets,
    report,
    runs,
    training,
)
from pages import common, help_texts, pickers, train_checks, train_form, widgets, wording

ICONS = {"resume": ":material/play_arrow:", "pause": ":material/pause:", "stop": ":material/stop:"}
CONTROLS = {  # what Resume, Pause and Stop do, on their question marks
    "resume": "Goes on from the batch it paused at.",
    "pause": "Holds the run after this batch, nothing lost: Resume goes on from there.",
    "stop": "Ends the run after this batch: it validates, saves and tests what it learned. A "
    "continue starts at the next epoch, skipping the rest of this one; Pause holds it instead.",
}
NEXT_PAGES = [  # where to go when a run has ended: (page, link text, icon)
    ("runs", "Compare it in Runs", ":material/folder_open:"),
    ("inside", "See its feature maps", ":material/grid_view:"),
    ("classify", "Classify images with it", ":material/label:"),
    ("evaluate", "Evaluate it on the test set", ":material/analytics:"),
]
FIGURE_ICON = ":material/show_chart:"
setting = help_texts.setting  # a setting's widget options: label, key, help, kept
KEEP = common.KEEP  # the settings keep their values while you visit other pages
BOX, row = common.BOX, common.row  # rows that wrap where the page is narrow
OWN_DATA = train_form.OWN_DATA
SOURCE_LABELS = {"keras": "keras (CIFAR-10)", "sample": "sample (CIFAR-10, 5,000 images)",
                 OWN_DATA: "a folder or file of my own…"}  # fmt: skip


def control(job, action: str) -> None:
    """Pause, resume or stop the job. The page lags the job by up to a second, so a click can
    come after the run ended: then it says so rather than do nothing in silence."""
    snap = job.snapshot()
    if snap.active:
        getattr(job, action)()
    else:
        st.toast(f"The run had already {snap.status} before the click.")


st.title("Train")
st.write(
    "Train a network on this machine and watch it learn: loss and accuracy per batch, "
    "validation after every epoch. Pause, stop or change the learning rate at any time, and "
    "continue a run that ended for more epochs."
)
job = training.current_job()
snap = job.snapshot() if job else None  # the page is drawn from this one snapshot
active = snap is not None and snap.active
if "train_epochs" not in st.session_state:  # this session's first visit
    train_form.fill_first(snap)


@st.fragment(run_every=1.0 if active else None)
def live(drawn_status: str) -> None:
    """The run's state from one snapshot; redrawn every second while the job is active."""
    snap = job.snapshot()
    if snap.status != drawn_status:
        st.rerun()  # paused, resumed or ended: redraw the buttons (and stop the timer at the end)
    going = snap.status == "running" and snap.eta_s  # not while paused, nor once stopping
    # Until an epoch has timed validation and checkpoints, the steps alone: at least that long.
    about = "about" if snap.eta_timed else "at least"
    eta = f" · {about} {wording.duration_text(snap.eta_s)} left" if going else ""
    rate = f" · learning rate {snap.learning_rate:.3g}" if snap.active else ""
    if snap.active and snap.requested_rate is not None:  # e.g. set while paused
        rate += f" ({snap.requested_rate:.3g} from the next batch)"
    trained = wording.duration_text(snap.duration_s)
    text = f"**{snap.status}** · {snap.position}{rate} · {trained} of training{eta}"
    st.progress(min(max(snap.progress, 0.0), 1.0), text=text)
    last = snap.batch_history[-1] if snap.batch_history else {}
    tested = [e for e in snap.epoch_history if e.get("val_accuracy") is not None]
    m = st.columns(5)
    so_far = "Over this epoch's batches so far, as Keras reports it; the chart shows each batch."
    smoothing = snap.train_config.label_smoothing
    with_smoothing = (f" It includes label smoothing ({smoothing:g}), so it cannot reach 0; the "
                      "test loss at the end is without it.") if smoothing else ""  # fmt: skip
    loss = f"{last['loss']:.4g}" if last else "—"  # 2.303, or 3.8e+18 when it diverges
    m[0].metric("Loss", loss, help=so_far + with_smoothing)
    m[1].metric("Accuracy", f"{last['accuracy']:.1%}" if last else "—", help=so_far)
    unsplit = "None held out (Validation share 0): no images are set aside to validate on."
    m[2].metric("Val accuracy", f"{tested[-1]['val_accuracy']:.1%}" if tested else "—",
                help=None if snap.train_config.validation_fraction else unsplit)  # fmt: skip
    # The speed chart's last point: the first batch of an epoch has none of its own.
    rows = reversed(snap.batch_history)
    speed = next((r["images_per_second"] for r in rows if r.get("images_per_second")), None)
    m[3].metric("Images/s", f"{speed:,.0f}" if speed else "—")
    m[4].metric("Device", snap.device or "—", help=f"{snap.replicas} replica(s): each batch of "
                f"{snap.train_config.batch_size} is split across them; the learning rate is "
                "not scaled, since the global batch stays the same.")  # fmt: skip
    if snap.status == "failed":
        st.error(f"Training failed: {snap.error}", icon=":material/error:")
    elif not snap.active and snap.test_accuracy is not None:
        st.success(f"Run {snap.status}. Test accuracy **{snap.test_accuracy:.1%}** (cross-"
                   f"entropy {snap.test_loss:.3g}, without label smoothing) on images it never "
                   "saw in training, with its final weights (last.keras; the other pages pick "
                   "best.keras first).")  # fmt: skip
    elif not snap.active and runs.read_run(snap.run_dir).data.get("num_test") == 0:
        st.info(f"Run {snap.status}. {common.NO_TEST_IMAGES}")
    elif not snap.active:
        st.info(f"Run {snap.status} before it was tested.")
    if snap.cut_short and not snap.active:
        st.caption(wording.cut_short_text(*snap.cut_short, snap.batches_per_epoch))
    if stops := wording.stopped_earlier_text(snap.epoch_history):
        st.caption(stops)
    if not snap.active:
        pages = NEXT_PAGES if snap.epochs_done else NEXT_PAGES[:1]  # nothing saved to look in
        links = st.container(horizontal=True)  # in a row, wrapping where the page is narrow
        for page, label, icon in pages:
            links.page_link(f"pages/{page}.py", label=label, icon=icon,
                            query_params={pickers.RUN_PARAMETER: snap.run_id})  # fmt: skip
    if not snap.batch_history:
        if snap.active:
            st.info("Building the model and compiling the first training step: the first batch "
                    "takes a few seconds longer than the rest.")  # fmt: skip
        return
    of_figure_one = figure_one.matches(snap.model_config, snap.train_config)
    curves = charts.training_curves(snap.batch_history, snap.epoch_history, snap.lr_events,
                                    label_smoothing=smoothing, figure_one=of_figure_one,
                                    classes=snap.model_config.num_classes)  # fmt: skip
    st.plotly_chart(curves, key="train_curves")
    left, right = st.columns(2)
    lr_curve = charts.learning_rate_curve(snap.batch_history, snap.lr_events)
    left.plotly_chart(lr_curve, key="train_lr_chart")
    if any(row.get("images_per_second") for row in snap.batch_history):
        right.plotly_chart(charts.throughput(snap.batch_history), key="train_speed_chart")


if job is not None:  # the current (or last) run first, then the settings for a new one
    st.subheader(f"Run {snap.run_id}")
    for note in report.plan_layers(snap.model_config).notes:  # Estimate said it before Start
        st.caption(f":material/info: {note}")
    if snap.status == "stopping":
        st.caption("Stopping: the epoch's validation, checkpoint and the test pass come first.")
    elif active:  # controls stay outside the live fragment: a click reruns the whole page
        c = st.columns([1, 1, 3], vertical_alignment="bottom")
        if snap.status == "paused":
            c[0].button("Resume", key="train_resume", on_click=control, args=(job, "resume"),
                        icon=ICONS["resume"], help=CONTROLS["resume"])  # fmt: skip
        else:
            c[0].button("Pause", key="train_pause", on_click=control, args=(job, "pause"),
                        icon=ICONS["pause"], help=CONTROLS["pause"])  # fmt: skip
        c[1].button("Stop", key="train_stop", on_click=control, args=(job, "stop"),
                    icon=ICONS["stop"], help=CONTROLS["stop"])  # fmt: skip
        # Empty, not the rate now: drawn outside the live fragment, a rate shown here would go
        # stale as the schedule moves, and Apply would set it back. One box per run. A form, so
        # that Enter applies it too. Text, not a number box: 0.005 and 5e-3 both read, and no
        # +/- step of 0.01 jumps past a small rate. Emptied once applied: a rate left in the box
        # looked as if it still had to be sent.
        with c[2].form("train_lr_form", border=False, clear_on_submit=True):
            f = st.columns([2, 1], vertical_alignment="bottom")
            typed = f[0].text_input(
                "Learning rate from now on", placeholder="such as 0.005 or 5e-3",
                help="The rate now is in the progress line below. The schedule gives way to the "
                "rate you set.", key=f"train_lr_{snap.run_id}",
            )  # fmt: skip
            applied = f[1].form_submit_button("Apply", key="train_lr_apply")
        if applied:
            try:
                rate = float(typed)  # spaces around it are fine
            except ValueError:  # empty, or not a number
                rate = math.nan
            try:
                if not rate > 0:  # 0 would stop learning altogether
                    raise ValueError("Type a learning rate above 0 first, such as 0.005 or 5e-3.")
                job.set_learning_rate(rate)
                st.toast(f"Learning rate set to {rate:g} from the next batch")
            except ValueError as exc:
                common.show_error(exc)
    elif snap.epochs_done:  # ended with a checkpoint: it can go on where it stopped
        if common.continue_run(job.run_dir, "train", row()):
            st.rerun()
    live(snap.status)

with st.expander("Settings for a new run", expanded=not active):
    sources = [s["name"] for s in data.available_sources() if s["available"]]
    first = sources.index(data.default_source()) if data.default_source() in sources else 0
    c = row()
    source = c.selectbox("Dataset", [*sources, OWN_DATA], index=first, key="train_source",
                         format_func=lambda name: SOURCE_LABELS.get(name, name), width=280,
                         **KEEP)  # fmt: skip
    c.selectbox(
        "Preset",
        list(presets.PRESETS),
        key="train_preset",
        width=2 * BOX,
        **KEEP,
        on_change=train_form.load_preset,
    )
    c.button("Set up figure 1", key="train_figure_one", help=help_texts.FIGURE_ONE,
                on_click=train_form.fill_figure_one, icon=FIGURE_ICON)  # fmt: skip
    figure_note = st.container()  # filled once the form is drawn: it needs the convolutions
    if heavy := train_checks.preset_warning(st.session_state.train_preset):
        st.warning(heavy, icon=":material/hourglass_top:")
    if source == OWN_DATA:
        source = st.text_input(
            "Folder or file on this machine",
            key="train_source_path",
            placeholder="/data/flowers  (flowers/<class>/*.jpg, or train/ and test/ inside)",
            help="An image folder or .zip with one sub-folder per class (train/<class>/ and "
            "test/<class>/, or just <class>/, when a share of each class is held out for "
            "testing), CIFAR-10's cifar-10-python.tar.gz or its batches folder.",
            **KEEP,
        ).strip()
    # Enter in a number box must not start a run: only the buttons submit. The number boxes
    # have no bounds: Streamlit holds a number past a box's bounds back from its form and drops
    # the click that submits it without a word. The configs check every value at a click, and
    # say what is wrong.
    with st.form("train_form", border=False, enter_to_submit=False):
        st.markdown("**Model** (augmentation is part of the model; it acts on training batches)")
        c = row()
        c.number_input(step=1, width=BOX, **setting("input_size"))
        c.number_input(step=0.05, width=BOX, **setting("width"))
        c.number_input(step=1, width=BOX, **setting("fc_units"))
        c.number_input(step=0.05, width=BOX, **setting("dropout"))
        c.number_input(step=1, width=BOX, **setting("augment_shift"))
        both = c.container(width="content", gap=None)  # one above the other
        both.checkbox(**setting("augment_flip"))
        both.checkbox(**setting("two_gpus"))
        c = row()
        c.selectbox(options=config.ACTIVATIONS, width=BOX, **setting("activation"))
        c.selectbox(options=config.NORMALISATIONS, width=BOX, **setting("normalization"))
        c.selectbox(options=config.POOLINGS, width=BOX + 40, **setting("pooling"))  # non_overl…
        c.checkbox(**setting("norm_before_pool"))
        with st.expander("Each convolution: filters, kernel, stride"):
            convs = widgets.conv_settings("train", **KEEP)
        st.caption(
            "The paper's own comparisons, to try here: with tanh instead of ReLU its CIFAR-10 "
            "network took six times as long to reach 25% training error; response "
            "normalisation (lrn) cut the ImageNet top-1 error by 1.4 points (top-5: 1.2), and "
            "overlapping pooling by 0.4 (top-5: 0.3)."
        )
        st.markdown("**Optimisation**")
        c = row()
        c.number_input(step=1, width=BOX, **setting("epochs"))
        c.number_input(step=1, width=BOX, **setting("batch_size"))
        c.selectbox(options=config.OPTIMIZERS, width=BOX, **setting("optimizer"))
        c.number_input(step=0.001, format="%.5f", width=BOX, **setting("learning_rate"))
        c.number_input(step=0.05, width=BOX, **setting("momentum"))
        c.checkbox(**setting("nesterov"))
        c = row()
        c.selectbox(options=config.SCHEDULES, width=BOX, **setting("schedule"))
        c.number_input(step=0.05, width=BOX, **setting("warmup_fraction"))
        c.number_input(step=1, width=BOX, **setting("step_epochs"))
        c.number_input(step=1.0, width=BOX, **setting("step_factor"))
        c.number_input(step=0.0005, format="%.5f", width=BOX, **setting("weight_decay"))
        c.number_input(step=0.05, width=BOX, **setting("label_smoothing"))
        st.markdown("**Data and run**")
        c = row()
        c.number_input(step=0.05, width=BOX, **setting("validation_fraction"))
        c.number_input(step=256, width=BOX, **setting("train_subset"))
        c.number_input(step=1, width=BOX, **setting("seed"))
        c.checkbox(**setting("mixed_precision"))
        c.checkbox(**setting("save_every_epoch"))
        c = row()
        c.number_input(step=1, width=BOX, **setting("image_size"))
        c.selectbox(options=distribute.DEVICE_SETTINGS, width=BOX, **setting("devices"))
        buttons = st.container(horizontal=True)
        # Disabled while a run trains (a page drawn before it started still meets JobBusy).
        start = buttons.form_submit_button("Start training", type="primary", key="train_start",
                                           disabled=active)  # fmt: skip
        timing = buttons.form_submit_button("Estimate time per epoch", key="train_estimate")
        preview = buttons.form_submit_button("Preview augmentation", key="train_preview")
        check = buttons.form_submit_button("Check the data", key="train_check_data")
    if active:
        st.caption(f"Start comes back when run {snap.run_id} ends: one run trains at a time.")
    if train_form.holds_figure_one(source, convs):  # as of the form's last button
        figure_note.info(train_form.figure_one_note(source), icon=FIGURE_ICON)
    if source == "":
        st.info("Enter the path of your dataset above: an image folder or a .zip.")
    elif start or timing or preview or check:
        try:  # the configs refuse bad values, the core a network that does not fit the data
            model_config, train_config = train_form.configs(source, convs)
            if check:
                train_checks.show_data(train_config)
            elif timing:
                with st.spinner("Timing a few training steps and a checkpoint save…"):
                    train_checks.show_estimate(model_config, train_config)
            elif preview:
                train_checks.show_augmentation(model_config, train_config)
            else:
                training.start_training(model_config, train_config)
                st.rerun()
        except training.JobBusy as exc:
            st.warning(f"Nothing new was started. {exc}")
        except (ValueError, OSError) as exc:  # OSError: the runs folder cannot be written
            common.show_error(exc)
