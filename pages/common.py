"""Shared Streamlit glue for the pages: the sidebar job status, continuing a run, cached model
and dataset loading, error display and an image grid (pages/pickers.py holds the run and
checkpoint pickers, pages/widgets.py the shared widgets, pages/wording.py how figures read).
Logic stays in alexnet_core; this module only turns its objects into widgets and text.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from alexnet_core import (
    checkpoints,
    classify,
    continuation,
    data,
    introspect,
    runs,
    training,
    training_data,
)
from pages import wording

KEEP = dict(persist_state="session")  # a choice keeps its value while you visit other pages
# A number or select box's width in a row(), in pixels: six to a line in Train's form at 1280 px
# wide (786 px inside it) and four at 1024 (530 px), with room for a 17 px scroll bar.
BOX = 112
SIDEBAR_REFRESH_S = 2.0  # the sidebar only needs to say "still running"; the Train page is live
SIDEBAR_IDLE_S = 5.0  # and with no job, only to notice one that starts in another tab
NO_TEST_IMAGES = (
    "This run's data has no test images: without a test/ folder, a share of each class is set "
    "aside for testing, and each class here holds too few images for that."
)


def hold_choice(key: str) -> None:
    """Call before drawing the selectbox `key` whose labels carry figures that change (a run's
    accuracy, a checkpoint's epoch, a layer's shape): the browser sends back the label it
    showed, which this run's labels may no longer hold, and Streamlit would reset the choice.
    Read here, before the box is drawn, the choice is decoded with the labels it was made
    under, and set again it stands."""
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]


def _hand_over_to_app_py() -> None:
    """Make a deep link on a fresh server run app.py's navigation, not the pages folder's.

    Until some script calls st.navigation, Streamlit treats a `pages/` folder beside the entry
    script the multipage-v1 way: a first visit to /train after a server start ran
    pages/train.py alone, with a sidebar listing every file (app, common, ...) and without
    app.py's set-up. Every page imports this module, so the first such run lands here: it
    switches that mode off, as st.navigation would, and reruns through app.py. A private
    Streamlit attribute, checked by a browser test that opens a deep link first."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_hand_over_to_app_py()


def sidebar_status() -> None:
    """Whether a training job is running, and how far it is: every SIDEBAR_REFRESH_S while one
    is, and every SIDEBAR_IDLE_S otherwise, to see a run started elsewhere (another tab, say)."""
    job = training.current_job()
    active = job is not None and job.snapshot().active

    @st.fragment(run_every=SIDEBAR_REFRESH_S if active else SIDEBAR_IDLE_S)
    def status() -> None:
        st.subheader("Training job")
        now = training.current_job()
        if now is not job or (now is not None and now.snapshot().active != active):
            st.rerun()  # a job started or ended: redraw the page, with the timer that suits
        if job is None:
            st.caption("No training job since the app started. Start one on the Train page.")
            return
        snap = job.snapshot()
        st.markdown(f"**{snap.run_id}** · {snap.status}")
        if snap.active:  # the epoch, not the batch: a batch count seconds behind the Train
            # page's, side by side with it, read as two different runs
            position = f"epoch {snap.shown_epoch}/{snap.epochs}"
            st.progress(min(max(snap.progress, 0.0), 1.0), text=position)
        elif snap.test_accuracy is not None:
            st.caption(f"test accuracy {snap.test_accuracy:.1%}")
        st.page_link("pages/train.py", label="Open the Train page", icon=":material/monitoring:")

    with st.sidebar:
        status()


# Images shown pixel for pixel (enlarged inputs, filters, heat maps over them) go out as PNG:
# Streamlit sends an RGB array as JPEG, which rings and tints the edges of enlarged pixels.
PIXELS = dict(output_format="PNG")


def enlarged(image, side: int):
    """A small image repeated pixel by pixel to about `side` pixels, for display."""
    return introspect.enlarge(image, max(1, side // image.shape[0]))


def load_model_cached(run_dir: str, which: str):
    """The checkpoint's Keras model, loaded once per file version (path and mtime)."""
    path = checkpoints.checkpoint_path(run_dir, which)
    return _load_model(str(run_dir), which, os.path.getmtime(path))


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=4)
def _load_model(run_dir: str, which: str, mtime: float):
    model = checkpoints.load_checkpoint(run_dir, which)
    classify.warm_up(model)  # the first classification is then as quick as the rest
    return model


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=2)
def load_dataset_cached(source: str, image_size: int = 32, validation_fraction: float = 0.1,
                        seed: int = 0, stamp: str = ""):  # fmt: skip
    """data.load_dataset with these settings, once per setting and per version of the files
    (`stamp`, data.source_stamp) for the whole server."""
    return data.load_dataset(
        source, image_size=image_size, validation_fraction=validation_fraction, seed=seed
    )


def data_settings(train_config, source: str | None = None) -> tuple:
    """load_dataset_cached's arguments for the data `train_config` trains on: its source (or
    `source`, what it resolved to), image size, validation share, seed and the files' stamp.
    The seed draws the splits of a folder without a test split, so the same seed finds the
    same test images; the stamp changes when the files do."""
    source = source or train_config.dataset
    return (
        source,
        train_config.image_size,
        train_config.validation_fraction,
        train_config.seed,
        data.source_stamp(source),
    )


def run_dataset(run: runs.RunInfo, stop: bool = True):
    """(dataset, settings): the dataset a run trained on, split and sized as in its training,
    and the data_settings that loaded it, a cache key for results computed from it (taken
    once: the files' stamp walks the folder). If the data cannot be loaded (moved since, say),
    the page says why and stops, or with stop=False goes on with None."""
    settings = data_settings(run.train_config, run.dataset)
    try:
        dataset = load_dataset_cached(*settings)
    except Exception as exc:  # any reason the data cannot be read is the user's to fix
        st.error(
            f"Run {run.run_id}'s test images come from the data it trained on, which cannot be "
            f"loaded now: {exc}. Put the data back where it was to see them"
            + ("" if stop else "; uploaded images are classified all the same")
            + ".",
            icon=":material/error:",
        )
        return _stop_or_none(stop)
    if run.class_names and dataset.class_names != run.class_names:
        st.error(
            f"{run.dataset} now holds the classes {', '.join(dataset.class_names)}, but run "
            f"{run.run_id} learned {', '.join(run.class_names)}: its labels would not match. "
            "Put the data back as it was, or train a new run on it."
            + training_data.read_differently(run.data),
            icon=":material/error:",
        )
        return _stop_or_none(stop)
    if run.held_out_digest and held_out_digest(*settings) != run.held_out_digest:
        st.warning(
            f"{run.dataset} changed since {run.run_id} trained on it: its validation and test "
            "splits, drawn from the files, are no longer the images the run held out, so some "
            "test images here may be ones it trained on."
            + training_data.read_differently(run.data),
            icon=":material/warning:",
        )
    return dataset, settings


@st.cache_data(max_entries=8, show_spinner=False)
def held_out_digest(*settings) -> str:
    """data.Dataset.held_out_digest of the dataset load_dataset_cached(*settings) loads."""
    return load_dataset_cached(*settings).held_out_digest()


def _stop_or_none(stop: bool) -> None:
    if stop:
        st.stop()


def row(**options):
    """A row of widgets that wraps onto another line where the page is too narrow for it (where
    st.columns would squeeze each cell until labels break mid-word and buttons are cut); on each
    line the widgets stand on one baseline, so a label on two lines keeps its box in line."""
    return st.container(horizontal=True, vertical_alignment="bottom", **options)


def continue_run(run_dir, prefix: str, where, disabled: bool = False) -> bool:
    """'More epochs' and a Continue button, added to `where` (a row); True once the run goes on
    (continuation.continue_training started its job), else a message says why it could not. A run
    stopped before the epochs it planned offers the rest of them, others 5 more."""
    run = runs.read_run(run_dir)
    if run.status in runs.ACTIVE_STATUSES:  # no count: the page stays drawn as epochs pass
        where.button("Continue once it has ended", key=f"{prefix}_continue_{run.run_id}",
                      disabled=True, icon=":material/fast_forward:")  # fmt: skip
        return False
    planned = run.train_config.epochs if run.train_config else 0
    left = planned - run.epochs_done
    key, offered = f"{prefix}_continue_epochs_{run.run_id}", left if left > 0 else 5
    if st.session_state.get(key) in (None, st.session_state.get(f"{key}_offered")):
        # Not a number the user chose: the default of now, not of when the box was first
        # drawn (the epochs then left, while the run trained or before its last continue).
        st.session_state[key] = offered
    st.session_state[f"{key}_offered"] = offered
    extra = where.number_input(
        "More epochs", 1, 1000, width=BOX, key=key, **KEEP,
        help=f"It planned {planned} epochs and has trained {run.epochs_done}." if planned else None,
    )  # fmt: skip
    label = f"Continue {extra} more epoch{'s' if extra > 1 else ''} (to {run.epochs_done + extra})"
    clicked = where.button(
        # Keyed by the run: a page drawn for one run must not continue another (the Train
        # page's current run can change between its drawing and the click).
        label, key=f"{prefix}_continue_{run.run_id}", disabled=disabled,
        icon=":material/fast_forward:",
    )  # fmt: skip
    with contextlib.suppress(ValueError):  # a damaged lr_events.json: the continue will say so
        if not disabled and (rate := runs.manual_rate(run)) is not None:
            st.caption(f"It goes on at the learning rate set by hand, {rate:.3g}, not the "
                       "schedule's; set another while it trains.")  # fmt: skip
        elif not disabled and (
            replanned := wording.replanned_text(run.train_config, run.epochs_done, extra)
        ):
            st.caption(replanned)
    moved_to = ""
    if run.dataset not in ("", "sample", "keras") and not Path(run.dataset).exists():
        moved_to = st.text_input(
            f"Its data is no longer at {run.dataset}. Where is it now?",
            key=f"{prefix}_continue_data_{run.run_id}", disabled=disabled,
            placeholder="the same images, moved or copied: a folder or file on this machine",
            help="The run goes on only if its validation and test images are the ones it held "
            "out, so that it never trains on them.",
        ).strip()  # fmt: skip
    if not clicked:
        return False
    try:
        continuation.continue_training(run_dir, int(extra), data_source=moved_to or None)
        return True
    except training.JobBusy as exc:
        st.warning(f"The run was not continued. {exc}")
    except (ValueError, OSError) as exc:  # OSError: the folder deleted meanwhile, say
        show_error(exc)
    return False


def show_error(exc: Exception, advice: str = "") -> None:
    """The exception's message as an error box, then `advice`; never a traceback."""
    text = str(exc) or type(exc).__name__
    text = text.replace("(input_size, now", "(Input size, now")  # a layer's way out, as labelled
    if advice:
        text = f"{text if text.endswith(('.', '?', '!')) else text + '.'} {advice}"
    st.error(text, icon=":material/error:")


def image_grid(images, captions, width: int, together: int = 1) -> None:
    """Images `width` pixels wide, each over its caption, in lines that wrap where the page is
    narrow (fixed columns squeezed them until "automobile" broke in two); each `together` images
    in turn (a mistake and its heat map, say) keep to one line."""
    grid = st.container(horizontal=True)
    shown = list(zip(images, captions, strict=True))
    for start in range(0, len(shown), together):
        group = grid.container(horizontal=True, width="content") if together > 1 else grid
        for image, caption in shown[start : start + together]:
            # stretched in a box of that width: the browser scales it, as it draws it; an
            # image of width= would be resampled before it is sent
            group.container(width=width).image(image, caption=caption, width="stretch", **PIXELS)
