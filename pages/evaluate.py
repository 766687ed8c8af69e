"""Evaluate: a trained network's report card on the test split."""

import numpy as np
import streamlit as st

from alexnet_core import evaluation, explain, runs, vision_charts
from pages import common, pickers, widgets, wording

KEPT_EVALUATIONS = 8  # finished evaluations kept for the whole server, newest last
SHOWN_SIDE = 96  # mistakes are enlarged by pixel repetition to about this many pixels


@st.cache_resource
def finished_evaluations() -> dict:
    """(run folder, checkpoint, file version, dataset, views) -> Evaluation, for all sessions,
    so an evaluation survives a page switch or a reload."""
    return {}


@st.cache_data(max_entries=128, show_spinner=False)
def explained(run_dir: str, which: str, version: float, image: np.ndarray, index: int,
              method: str):  # fmt: skip
    """The enlarged image and the overlay of `method` (explain.EXPLANATIONS) for class index."""
    model = common.load_model_cached(run_dir, which)
    big = common.enlarged(image, SHOWN_SIDE)
    return big, explain.overlay_heatmap(big, explain.explain(model, image, index, method))


st.title("Evaluate")
st.write(
    "How good is a trained network on images it never saw while training? Run the test split "
    "through it: the loss, top-1 and top-5 accuracy, which classes it confuses, and the "
    "mistakes it made with the most confidence — with Grad-CAM or occlusion showing what misled it."
)
run, which, version, model = pickers.pick_checkpoint("evaluate")
dataset, settings = common.run_dataset(run)
if not len(dataset.y_test):
    st.info(f"{common.NO_TEST_IMAGES} Classify still shows what it makes of your own images.")
    st.stop()
st.caption(f"Test split: {len(dataset.y_test):,} images of {dataset.name}.")

views = widgets.views_radio("evaluate_views", "Every view is one more pass over the test split.")
store = finished_evaluations()
key = (str(run.path), which, version, settings, views)
if st.button("Evaluate on the test split", key="evaluate_start", type="primary"):
    bar = st.progress(0.0, text="Evaluating…")

    def progress(done: int, total: int) -> None:  # counts views: an image and its mirror are 2
        per_image = total // max(len(dataset.y_test), 1)
        what = "images" if per_image == 1 else f"views ({per_image} of each image)"
        bar.progress(done / total, text=f"{done:,} of {total:,} {what}")

    try:
        store[key] = evaluation.evaluate(
            model, dataset.x_test, dataset.y_test, run.class_names, progress=progress, views=views
        )
    except ValueError as exc:  # e.g. the data's classes do not match the network's
        common.show_error(exc)
        st.stop()
    for old in list(store)[:-KEPT_EVALUATIONS]:
        del store[old]
result = store.get(key)
if result is None:
    st.info("Press the button to evaluate this checkpoint (results are kept per checkpoint).")
    st.stop()

loss, top1, top5 = st.columns(3)
loss.metric("Test loss", f"{result.loss:.3f}", help="mean categorical cross-entropy")
count = len(result.probabilities)
top1.metric("Top-1 accuracy", f"{result.top1:.1%}",
            help=f"of {which}.keras, {wording.points_text(result.top1_margin)} (95%) from the "
            f"number of test images alone ({count:,}): the accuracy on all images of this kind "
            "lies that close to it 19 times in 20.")  # fmt: skip
classes = len(result.class_names)
few = classes <= 5  # then the five most probable are every class
guess = (f"; over {classes} classes a random guess already scores {5 / classes:.0%}, so top-1 "
         "says more here")  # fmt: skip
top5.metric(
    "Top-5 accuracy",
    "—" if few else f"{result.top5:.1%}",
    help="the right class among the five most probable (the paper's ImageNet measure, over "
    "1000 classes)" + ("; with five classes or fewer, that is always so" if few else guess),
)
epoch = runs.checkpoint_epochs(run).get(which, (None,))[0]
# Other weights or other views than the final figure's: best.keras of the last epoch, seen
# once, are last.keras's weights and figures.
if (epoch != run.epochs_done or views != "single") and run.test_accuracy is not None:
    here = f"epoch {epoch}'s" if epoch else f"{which}.keras's"
    final = "last.keras, " if "last" in run.checkpoints else ""  # it may be gone since
    st.caption(
        f"These are {here} figures{'' if views == 'single' else ', over several views'}. "
        f"Train, Runs and the sidebar give the final weights' ({final}epoch "
        f"{run.epochs_done}, one view of each image): {run.test_accuracy:.1%}."
    )
# One above the other, each the page's width: beside each other, a matrix of ten classes or more
# is too narrow for its counts below 1280 pixels.
st.plotly_chart(
    vision_charts.confusion_matrix(result.confusion, result.class_names), key="evaluate_confusion"
)
st.plotly_chart(
    vision_charts.per_class_accuracy(
        result.per_class_accuracy, result.class_names, result.confusion.sum(axis=1)
    ),
    key="evaluate_per_class",
)

st.subheader("The most confident mistakes")
if not result.mistakes:
    st.success("No mistakes on the test split.")
    st.stop()
shown = len(result.mistakes)
if shown > 1:  # a slider needs two ends
    most = min(48, shown)
    usual = widgets.within("evaluate_mistakes", 1, most, usual=min(8, shown))
    shown = st.slider("Mistakes shown", 1, most, usual, key="evaluate_mistakes", **common.KEEP)
method = widgets.explanation_radio("evaluate_explain", "What misled it?", views)
widgets.heat_key(method, st.columns(2)[0])
pictures, captions = [], []
names = result.class_names
for mistake in result.mistakes[:shown]:
    image = dataset.x_test[mistake.index]
    big, overlay = explained(str(run.path), which, version, image, mistake.predicted_class, method)
    pictures += [big, overlay]
    captions += [
        f"#{mistake.index}: {names[mistake.true_class]}, taken for "
        f"{names[mistake.predicted_class]} ({mistake.confidence:.0%})",
        f"{widgets.EXPLANATION_LABELS[method]}: {names[mistake.predicted_class]}",
    ]
common.image_grid(pictures, captions, width=84, together=2)  # four pairs a line at 1280 px
