"""Classify: your own images or test images through a trained network, with Grad-CAM or
occlusion showing where it looked."""

import dataclasses
import hashlib

import numpy as np
import streamlit as st

from alexnet_core import classify, explain, introspect, vision_charts
from pages import common, pickers, widgets

SHOWN_SIDE = 192  # small images are enlarged by pixel repetition to about this many pixels
VIEW_SIDE = 128  # the same for the test views
PICTURE_WIDTH = 160  # pixels the browser draws the picture and each heat map in
MOST_TEST_IMAGES = 32
MOST_SHOWN = 10  # classes shown per image, at most


@st.cache_data(max_entries=8, show_spinner="Classifying…")
def classify_all(run_dir: str, which: str, version: float, names: tuple, files: tuple,
                 tests: tuple, views: str):  # fmt: skip
    """The files' results, then the test images', every class ranked, once per (checkpoint
    version, images, views); files: ((name, bytes),), tests: ((name, uint8 image),)."""
    model = common.load_model_cached(run_dir, which)
    uploaded = classify.classify_files(model, list(files), names, len(names), views)
    return uploaded + classify.classify_images(model, list(tests), names, len(names), views)


def forget_if_changed(key: str, subject: str, default) -> None:
    """Set widget `key` back to `default` when what it is about (`subject`) has changed since
    the last run: a choice made for one image, or one list of images, means nothing for the
    next. A default that moves for the same subject (another test-time augmentation ranks the
    classes anew) is followed too, unless a choice was made. Set, not removed: the browser
    redraws a widget whose value the script sets, but keeps showing its old choice when the
    value is only forgotten."""
    about, given = f"{key}_about", f"{key}_default"
    untouched = st.session_state.get(key) == st.session_state.get(given)
    if st.session_state.get(about) != subject or untouched:
        st.session_state[key] = default
    st.session_state[about], st.session_state[given] = subject, default


def top_classes(results, names: tuple, k: int) -> list:
    """The results with each prediction cut to its `k` most probable classes: outside the
    cache, so showing more or fewer classes runs no image through the network again."""

    def cut(result):
        if result.prediction is None:  # an unreadable file
            return result
        top = classify.make_prediction(result.prediction.probabilities, names, k)
        return dataclasses.replace(result, prediction=top)

    return [cut(result) for result in results]


def drawn_test_images(run) -> list[tuple[str, np.ndarray, str]]:
    """Images drawn at random from the run's test split: (name, image, true class), named with
    their number and class; the same ones until "Draw others" is pressed; none (after a
    message) when the run's data cannot be read or holds no test images."""
    loaded = common.run_dataset(run, stop=False)  # the uploads are classified all the same
    if loaded is None:
        return []
    dataset, _ = loaded
    if not len(dataset.y_test):
        st.info(f"{common.NO_TEST_IMAGES} Upload images to classify instead.")
        return []
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    count = left.number_input(
        "Test images", 1, MOST_TEST_IMAGES, 4, key="classify_test_count", **common.KEEP
    )
    if right.button("Draw others", key="classify_test_draw", icon=":material/casino:"):
        st.session_state.classify_test_draws = st.session_state.get("classify_test_draws", 0) + 1
    rng = np.random.default_rng(st.session_state.get("classify_test_draws", 0))
    chosen = rng.choice(len(dataset.y_test), min(count, len(dataset.y_test)), replace=False)
    truths = [dataset.class_names[dataset.y_test[i]] for i in chosen]
    return [(f"test #{i} ({truth})", dataset.x_test[i], truth)
            for i, truth in zip(chosen, truths, strict=True)]  # fmt: skip


@st.cache_data(max_entries=64, show_spinner=False)
def explained(run_dir: str, which: str, version: float, image: np.ndarray, class_index: int,
            method: str):  # fmt: skip
    """The input conv1 saw and the overlay of `method` (explain.EXPLANATIONS) for one class."""
    model = common.load_model_cached(run_dir, which)
    heatmap = explain.explain(model, image, class_index, method)
    return introspect.network_input(model, image), explain.overlay_heatmap(
        common.enlarged(image, SHOWN_SIDE), heatmap
    )


st.title("Classify")
st.write(
    "Upload photos (PNG, JPEG, WebP, BMP, GIF or TIFF), take one with the camera or add test "
    "images. The network sees each one the way it saw its training images — resized to their "
    "size, then to its input size inside the model — and says what it thinks it shows. "
    "Grad-CAM colours the places whose features pushed it towards a class; occlusion, the "
    "places whose cover lowers the class's probability most."
)
run, which, version, _ = pickers.pick_checkpoint("classify")
classes = len(run.class_names)
st.caption(f"{classes} classes: {', '.join(run.class_names)}. The network has no answer for "
           "anything else: a photo of a tree still gets the class it resembles most, often "
           "with a high probability, since its softmax shares 100% among these.")  # fmt: skip

files = widgets.kept_uploads(  # still there after a visit to another page
    "Images",
    "classify_upload",
    type=list(classify.UPLOAD_TYPES),
    accept_multiple_files=True,
    help="Transparent parts are put on white, as most icons and product photos are drawn; "
    "an animated GIF or a multi-page TIFF gives its first frame.",
)
if st.toggle("Use the camera", key="classify_use_camera", **common.KEEP):
    photo = widgets.kept_photo("Take a photo", "classify_camera")
    if photo is not None:
        files.append(("camera photo", photo[1]))
tests = []
use_tests = st.toggle("Add test images", key="classify_use_test", **common.KEEP,
                      help="Images of the test split the run's network never trained on, drawn "
                      "at random; each name says its true class.")  # fmt: skip
if use_tests:
    tests = drawn_test_images(run)
if not files and not tests:
    if not use_tests:  # else drawn_test_images said why there are none
        st.info("Upload one or more images to classify them, or add test images.")
    st.stop()
# One range for every run: a slider whose range changes is a new widget, which forgets the
# choice. A run with fewer classes shows all of them.
top_k = st.slider("Classes shown per image", 1, MOST_SHOWN, 5, key="classify_top_k", **common.KEEP,
                  help="A run with fewer classes shows them all.")  # fmt: skip
top_k = min(top_k, classes)

views = widgets.views_radio("classify_views", "Each view is one more pass through the network.")
named = tuple((name, image) for name, image, _ in tests)
every_class = classify_all(
    str(run.path), which, version, run.class_names, tuple(files), named, views
)
results = top_classes(every_class, run.class_names, top_k)
truth = {name: true_class for name, _, true_class in tests}
for result in results:
    if result.prediction is None:
        st.error(result.error, icon=":material/block:")
readable = [r for r in results if r.prediction is not None]
if not readable:
    st.stop()

if len(results) > 1:
    st.subheader("All images")
    table = {
        "file": [r.name for r in results],
        **({"true class": [truth.get(r.name, "") for r in results]} if truth else {}),
        "top class": [r.prediction.label if r.prediction else "" for r in results],
        "confidence %": [100 * r.prediction.confidence if r.prediction else None for r in results],
        "problem": [(r.error or "").removeprefix(f"{r.name}: ") for r in results],
    }
    st.dataframe(
        table,
        hide_index=True,
        key="classify_table",
        column_config={  # one decimal for all: "100%" beside "99.74%" reads as a mix
            "confidence %": st.column_config.ProgressColumn(
                "confidence", format="%.1f%%", min_value=0.0, max_value=100.0
            ),
            # A phone's long file name would push the confidence bars out of view at 1024 px.
            "file": st.column_config.TextColumn(width="medium"),
            "problem": st.column_config.TextColumn(width="large"),
        },
    )
    st.download_button(
        "Download as CSV",
        classify.results_csv(results, truth),
        "classifications.csv",
        "text/csv",
        key="classify_csv",
        on_click="ignore",  # a download changes nothing on the page: no rerun
    )
    names = [r.name for r in readable]
    forget_if_changed("classify_pick", "\n".join(names), 0)  # another list: its first
    chosen = st.selectbox(
        "Look closer at",
        range(len(readable)),
        key="classify_pick",
        format_func=lambda i: names[i],
        **common.KEEP,
    )
    result = readable[chosen]
else:
    result = readable[0]

st.subheader(result.name)
prediction = result.prediction
top_index = prediction.top[0][0]
method = widgets.explanation_radio("classify_explain", "Where did it look?", views)
name = widgets.EXPLANATION_LABELS[method]
# The second guess of this image: every camera shot has the same name, so its pixels count.
image_id = f"{result.name} {hashlib.sha1(result.image.tobytes()).hexdigest()}"
second_guess = int(np.argsort(prediction.probabilities)[-2])  # also when one class is shown
forget_if_changed("classify_cam_class", f"{run.path} {image_id}", second_guess)
other = st.selectbox(
    f"{name} for another class",
    range(classes),
    key="classify_cam_class",
    # Names only: a label with the probability changes with the views averaged, and a choice
    # whose label changed is lost (the box kept showing the old figure, then reset itself).
    format_func=lambda i: run.class_names[i],
    **common.KEEP,
)
seen, top_overlay = explained(str(run.path), which, version, result.image, top_index, method)
_, other_overlay = explained(str(run.path), which, version, result.image, int(other), method)
# The chart, the picture, then the two heat maps with their key under them: one line at
# 1280 px wide, two at 1024 (fixed columns squeezed the chart to a strip there).
looks = st.container(horizontal=True)
title = "Top classes" + (
    "" if views == "single" else f", mean of {len(result.view_probabilities)} views"
)
looks.container(width=260).plotly_chart(vision_charts.top_k(prediction.top, title),
                                        key="classify_chart")  # fmt: skip
picture = looks.container(width=PICTURE_WIDTH)
seen_caption = f"What the network saw ({seen.shape[0]}x{seen.shape[1]})"
picture.image(common.enlarged(seen, SHOWN_SIDE), caption=seen_caption, width="stretch",
              **common.PIXELS)  # fmt: skip
widgets.squeeze_note(result.aspect, picture)
maps = looks.container(width=2 * PICTURE_WIDTH + 16)  # the two, a gap (1 rem) between them
pair = maps.container(horizontal=True)
for overlay, index in ((top_overlay, top_index), (other_overlay, other)):
    index = int(index)
    probability = prediction.probabilities[index]
    pair.container(width=PICTURE_WIDTH).image(
        overlay, caption=f"{name}: {run.class_names[index]} ({probability:.1%})",
        width="stretch", **common.PIXELS,
    )  # fmt: skip
widgets.heat_key(method, maps)
if views != "single":
    st.markdown(f"**The {len(result.view_probabilities)} views** and what the network said of each")
    shown = classify.view_batches(result.image[None], views)
    said = list(zip(classify.VIEW_NAMES[views], shown, result.view_probabilities, strict=True))
    # the patches, then their mirror images
    in_order = said[0::2] + said[1::2]
    common.image_grid([common.enlarged(view[0], VIEW_SIDE) for _, view, _ in in_order],
                      [f"{place}: {run.class_names[p.argmax()]} {p.max():.0%}"
                       for place, _, p in in_order],
                      width=VIEW_SIDE, together=len(in_order) // 2)  # fmt: skip
