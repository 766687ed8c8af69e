"""Shared Streamlit glue for the pages: the sidebar job status, run and checkpoint pickers,
the per-convolution settings, continuing a run, cached model and dataset loading, error display
and an image grid. Logic stays in alexnet_core; this module only turns its objects into widgets.
"""

from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from alexnet_core import classify, data, introspect, runs, training

SIDEBAR_REFRESH_S = 2.0  # the sidebar only needs to say "still running"; the Train page is live
# The per-convolution fields a user sets in a grid, with each row's name and largest value.
CONV_SETTINGS = (
    ("conv_filters", "filters (before width)", 8192),
    ("conv_kernels", "kernel (pixels)", 64),
    ("conv_strides", "stride", 32),
)


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
    """Whether a training job is running, and how far it is; live only while one is."""
    job = training.current_job()
    active = job is not None and job.snapshot().active

    @st.fragment(run_every=SIDEBAR_REFRESH_S if active else None)
    def status() -> None:
        st.subheader("Training job")
        if job is None:
            st.caption("No training job since the app started. Start one on the Train page.")
            return
        snap = job.snapshot()
        if active and not snap.active:
            st.rerun()  # the job just ended: redraw once without the timer
        st.markdown(f"**{snap.run_id}** · {snap.status}")
        if snap.active:
            text = f"epoch {snap.epoch}/{snap.epochs} · batch {snap.batch}/{snap.batches_per_epoch}"
            st.progress(min(max(snap.progress, 0.0), 1.0), text=text)
        elif snap.test_accuracy is not None:
            st.caption(f"test accuracy {snap.test_accuracy:.1%}")
        st.page_link("pages/train.py", label="Open the Train page", icon=":material/monitoring:")

    with st.sidebar:
        status()


# how a run's best score is named, by what chose best.keras (runs.RunInfo.best_metric)
BEST_NAMES = {"val_accuracy": "val acc", "accuracy": "train acc"}


def run_picker(key: str, *, with_checkpoint: bool = True) -> runs.RunInfo | None:
    """A selectbox of runs, newest first; None (after an info box) when there are none.
    Damaged folders (listed on the Runs page) are left out: nothing says what they hold."""
    found = [r for r in runs.list_runs() if r.status != "damaged"]
    if with_checkpoint:
        found = [r for r in found if r.checkpoints]
    if not found:
        st.info("No trained runs yet. Train one on the Train page (the tiny preset takes seconds).")
        return None
    by_id = {r.run_id: r for r in found}

    def describe(run_id: str) -> str:
        run = by_id[run_id]
        accuracy, name = run.best_accuracy, BEST_NAMES[run.best_metric]
        score = f" · {name} {accuracy:.1%}" if accuracy is not None else ""
        return f"{run_id} · {run.preset} · {run.status}{score}"

    run_id = st.selectbox("Run", list(by_id), format_func=describe, key=key)
    return by_id[run_id]


def checkpoint_picker(run: runs.RunInfo, key: str) -> str:
    """A selectbox of the run's checkpoints ('best', 'last', 'epoch_NNN'), 'best' first."""
    if not run.checkpoints:
        st.info(f"Run {run.run_id} has no saved checkpoint yet.")
        st.stop()
    options = sorted(run.checkpoints, key=lambda c: {"best": 0, "last": 1}.get(c, 2))
    return st.selectbox("Checkpoint", options, key=key)


def pick_checkpoint(prefix: str):
    """The run and checkpoint pickers, then the model: (run, which, version, model), where
    version is the checkpoint file's mtime, for caches. Stops the page with a message when
    there is no run or the checkpoint cannot be loaded."""
    run = run_picker(f"{prefix}_run")
    if run is None:
        st.stop()
    which = checkpoint_picker(run, f"{prefix}_checkpoint")
    try:
        version = os.path.getmtime(runs.checkpoint_path(run.path, which))
        model = load_model_cached(str(run.path), which)
    except Exception as exc:  # a missing, damaged or foreign checkpoint file
        show_error(exc)
        st.stop()
    return run, which, version, model


VIEW_LABELS = {
    "single": "none",
    "flip": "with its mirror image",
    "ten": "the paper's ten patches",
}


def views_radio(key: str, cost: str) -> str:
    """The test-time augmentation choice, a classify.TEST_VIEWS name; `cost` says what each
    view costs on this page."""
    return st.radio(
        "Test-time augmentation",
        classify.TEST_VIEWS,
        format_func=VIEW_LABELS.get,
        horizontal=True,
        key=key,
        help="Average the network's probabilities over several views of each image: the image "
        "and its mirror image, or the paper's ten patches (the centre and the four corners, "
        f"each also mirrored). {cost}",
    )


EXPLANATION_LABELS = {"grad_cam": "Grad-CAM", "occlusion": "Occlusion"}


def explanation_radio(key: str, label: str, views: str = "single") -> str:
    """The choice of heat map, a classify.EXPLANATIONS name; under test-time augmentation
    (`views`), a caption that the maps are of the image itself."""
    if views != "single":
        averaged = {"flip": "the image and its mirror image", "ten": "the ten patches"}[views]
        st.caption(f"The probabilities are the mean over {averaged}; the heat maps explain the "
                   "image itself.")  # fmt: skip
    return st.radio(
        label,
        classify.EXPLANATIONS,
        format_func=EXPLANATION_LABELS.get,
        horizontal=True,
        key=key,
        help="Grad-CAM: the last convolution's feature maps, weighted by how much each one "
        "raises the class's score. Occlusion (Zeiler and Fergus, 2014): cover one place at a "
        "time with a square of the image's mean colour and see how far the class's probability "
        "falls.",
    )


def enlarged(image, side: int):
    """A small image repeated pixel by pixel to about `side` pixels, for display."""
    return introspect.enlarge(image, max(1, side // image.shape[0]))


def load_model_cached(run_dir: str, which: str):
    """The checkpoint's Keras model, loaded once per file version (path and mtime)."""
    path = runs.checkpoint_path(run_dir, which)
    return _load_model(str(run_dir), which, os.path.getmtime(path))


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=4)
def _load_model(run_dir: str, which: str, mtime: float):
    return runs.load_checkpoint(run_dir, which)


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


def run_dataset(run: runs.RunInfo):
    """(dataset, settings): the dataset a run trained on, split and sized as in its training,
    and the data_settings that loaded it, a cache key for results computed from it (taken
    once: the files' stamp walks the folder). If the data cannot be loaded (moved since, say),
    the page says why and stops."""
    settings = data_settings(run.train_config, run.dataset)
    try:
        dataset = load_dataset_cached(*settings)
    except Exception as exc:  # any reason the data cannot be read is the user's to fix
        show_error(exc)
        st.stop()
    if run.class_names and dataset.class_names != run.class_names:
        st.error(
            f"{run.dataset} now holds the classes {', '.join(dataset.class_names)}, but run "
            f"{run.run_id} learned {', '.join(run.class_names)}: its labels would not match. "
            "Put the data back as it was, or train a new run on it.",
            icon=":material/error:",
        )
        st.stop()
    return dataset, settings


def continue_run(run_dir, prefix: str, cells, disabled: bool = False) -> bool:
    """'More epochs' and a Continue button in two cells (columns); True once the run goes on
    (training.continue_training started its job), else a message says why it could not."""
    extra = cells[0].number_input("More epochs", 1, 1000, value=5, key=f"{prefix}_continue_epochs")
    label = f"Continue {extra} more epoch{'s' if extra > 1 else ''}"
    if not cells[1].button(
        label, key=f"{prefix}_continue", disabled=disabled, icon=":material/fast_forward:"
    ):
        return False
    try:
        training.continue_training(run_dir, int(extra))
        return True
    except training.JobBusy as exc:
        st.warning(f"A job is already running; wait for it or stop it first. {exc}")
    except (ValueError, OSError) as exc:  # OSError: the folder deleted meanwhile, say
        show_error(exc)
    return False


def fill_conv_settings(prefix: str, model_config) -> None:
    """Set conv_settings' widgets to `model_config`'s values (when a preset is chosen)."""
    for field, _, _ in CONV_SETTINGS:
        for i, value in enumerate(getattr(model_config, field), start=1):
            st.session_state[f"{prefix}_{field}_{i}"] = value


def conv_settings(prefix: str, **widget_options) -> dict[str, tuple[int, ...]]:
    """A grid of number inputs, conv1..conv5 across and CONV_SETTINGS down (filled in by
    fill_conv_settings), and the ModelConfig fields it sets."""
    widths = [1.4, 1, 1, 1, 1, 1]
    for i, cell in enumerate(st.columns(widths)[1:], start=1):
        cell.markdown(f"**conv{i}**")
    values = {}
    for field, name, largest in CONV_SETTINGS:
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown(name)
        values[field] = tuple(
            int(row[i].number_input(f"conv{i} {name}", 1, largest, key=f"{prefix}_{field}_{i}",
                                    label_visibility="collapsed", **widget_options))
            for i in range(1, 6)
        )  # fmt: skip
    return values


def show_error(exc: Exception) -> None:
    """The exception's message as an error box; never a traceback."""
    st.error(str(exc) or type(exc).__name__, icon=":material/error:")


def image_grid(images, captions, columns: int = 8) -> None:
    """Images in rows of `columns`, each with its caption."""
    images, captions = list(images), list(captions)
    for start in range(0, len(images), columns):
        cells = st.columns(columns)
        row = zip(images[start : start + columns], captions[start : start + columns], strict=True)
        for cell, (image, caption) in zip(cells, row, strict=False):  # the last row may be short
            cell.image(image, caption=caption, width="stretch")
