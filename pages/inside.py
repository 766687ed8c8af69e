"""Feature maps & filters: what each layer of a trained network makes of one image."""

import os

import numpy as np
import streamlit as st

from alexnet_core import checkpoints, filters, introspect, vision_charts
from alexnet_core.classify import UPLOAD_TYPES
from alexnet_core.images import decode_image_and_aspect
from pages import common, pickers, widgets

OWN_SCALE, SHARED_SCALE = "each map on its own", "one for the whole layer"
SHOWN_SIDE = 160  # small images are enlarged by pixel repetition to about this many pixels
EPOCHS_SHOWN = 8  # conv1 at this many epoch checkpoints at most, evenly spaced
MOST_TILES = 384  # kernels drawn at most: 24 rows of 16


@st.cache_data(max_entries=16, show_spinner=False)
def look_inside(run_dir: str, which: str, version: float, image: np.ndarray):
    """Every feature layer's maps, the input conv1 saw and its statistics (version: mtime)."""
    model = common.load_model_cached(run_dir, which)
    return (
        introspect.all_feature_maps(model, image),
        introspect.network_input(model, image),
        introspect.network_input_stats(model, image),
    )


@st.cache_data(max_entries=8, show_spinner="Running the test split through the network…")
def maxima_over_test_split(run_dir: str, which: str, version: float, data: tuple, layer: str):
    """The layer's unit maxima over the test split loaded with `data` (common.data_settings)."""
    model = common.load_model_cached(run_dir, which)
    return introspect.unit_maxima(model, common.load_dataset_cached(*data).x_test, layer)


@st.cache_data(max_entries=64, show_spinner=False)
def conv1_mosaic(run_dir: str, which: str, version: float) -> np.ndarray:
    """conv1's kernels of one checkpoint as one image. Loaded here, not through the shared
    model cache, so a tour of the epochs does not push out the model being inspected."""
    kernels = filters.conv_kernels(checkpoints.load_checkpoint(run_dir, which), "conv1")
    images = filters.kernel_images(kernels)  # conv1 always sees RGB
    factor = max(1, 24 // images.shape[1])
    return introspect.tile_images(introspect.enlarge(images, factor), columns=12)


st.title("Feature maps & filters")
st.write(
    "Every convolution turns its input into a stack of feature maps, one per filter. Early "
    "layers of a large network trained on ImageNet answer simple questions (an edge here? this "
    "colour there?), later ones respond to textures and object parts. Pick a trained network "
    "and an image to see it for yourself."
)
run, which, version, model = pickers.pick_checkpoint("inside")
size = run.model_config.image_size

KEEP = common.KEEP  # the choices below keep their values while you visit other pages
sources = ["Test image", "Upload", "Camera"]
source = st.radio("Image", sources, horizontal=True, key="inside_source", **KEEP)
image, label, aspect = None, "", 1.0  # aspect: an upload's width / height before resizing
if source == "Test image":
    dataset, _ = common.run_dataset(run)
    if not len(dataset.y_test):
        st.info(f"{common.NO_TEST_IMAGES} Upload an image instead.")
        st.stop()
    left, right = st.columns(2, vertical_alignment="bottom")  # beside the number it draws
    classes = ["any class", *dataset.class_names]
    chosen = left.selectbox("Class", classes, key="inside_class", **KEEP)
    pool = np.arange(len(dataset.y_test))
    if chosen != "any class":
        pool = np.flatnonzero(dataset.y_test == dataset.class_names.index(chosen))
    if len(pool) == 0:
        st.info(f"The test split has no images of {chosen}.")
        st.stop()
    if st.session_state.get("inside_index", 0) >= len(pool):
        st.session_state["inside_index"] = 0  # the class changed under a high number
    if right.button("Random image", key="inside_random"):
        st.session_state["inside_index"] = int(np.random.default_rng().integers(len(pool)))
    # The box counts within the chosen class; the caption names both numbers.
    among = "" if chosen == "any class" else f" among the {chosen} images"
    position = left.number_input(
        f"Image number{among} (0 to {len(pool) - 1})", 0, len(pool) - 1, key="inside_index", **KEEP
    )
    index = int(pool[position])
    image = dataset.x_test[index]
    label = f"test image #{index}: {dataset.class_names[dataset.y_test[index]]}"
    if chosen != "any class":
        label = f"{chosen} #{position} of {len(pool)} · test image #{index}"
else:
    if source == "Upload":
        kept = widgets.kept_uploads("An image", "inside_upload", type=list(UPLOAD_TYPES))
        name, photo = kept[0] if kept else (None, None)
    else:
        name, photo = widgets.kept_photo("Take a photo", "inside_camera") or (None, None)
    if photo is None:
        st.info("Choose an image to look inside the network with it.")
        st.stop()
    try:
        (image, aspect), label = decode_image_and_aspect(photo, size=size, name=name), name
    except ValueError as exc:
        common.show_error(exc)
        st.stop()

maps, seen, stats = look_inside(str(run.path), which, version, image)
resized = "" if source == "Test image" else "resized to the run's image size, "  # not the file's
left, middle, right = st.columns(3)
left.image(
    common.enlarged(image, SHOWN_SIDE),
    caption=f"{label} ({resized}{image.shape[0]}x{image.shape[1]})",
    width=SHOWN_SIDE,
    **common.PIXELS,
)
widgets.squeeze_note(aspect, left)
middle.image(
    common.enlarged(seen, SHOWN_SIDE),
    caption=f"What conv1 saw: {seen.shape[0]}x{seen.shape[1]} (it sees the values normalised; "
    "shown here as colours)",
    width=SHOWN_SIDE,
    **common.PIXELS,
)
right.markdown("**The normalised input, per channel (R, G, B)**")
for name in ("mean", "std", "min", "max"):
    right.caption(f"{name}: " + ", ".join(f"{v:+.2f}" for v in stats[name]))

# The open tab stays open while you visit other pages. Streamlit forgets a widget's value on
# another page, so its label is kept apart, and the tabs open on it when you come back. Their
# default takes part in their identity: it changes only then, or they would start again at the
# first tab. They rerun the page to say which is open (all four are drawn either way).
if "inside_tab" not in st.session_state:  # just come back (or here for the first time)
    st.session_state["inside_tab_opened"] = st.session_state.get("inside_tab_kept")
maps_tab, overview_tab, filters_tab, unit_tab = st.tabs(
    ["Feature maps", "Overview", "Filters", "What excites a unit"],
    key="inside_tab",
    default=st.session_state.get("inside_tab_opened"),
    on_change="rerun",
)
st.session_state["inside_tab_kept"] = st.session_state["inside_tab"]
with maps_tab:
    names = list(maps)
    common.hold_choice("inside_layer")  # its shape, in the label, differs from run to run
    layer = st.selectbox(
        "Layer",
        names,
        key="inside_layer",
        **KEEP,
        format_func=lambda n: f"{n} · {maps[n].shape[0]}x{maps[n].shape[1]}x{maps[n].shape[2]}",
    )
    left, right = st.columns(2)
    scale = left.radio(
        "Colour scale", [OWN_SCALE, SHARED_SCALE], horizontal=True, key="inside_scale", **KEEP
    )
    sort = right.toggle("Sort channels by mean activation", key="inside_sort", **KEEP)
    layer_maps = maps[layer]
    grid = vision_charts.feature_grid(
        layer_maps, shared_scale=scale == SHARED_SCALE, sort_by_mean=sort, title=layer
    )
    st.plotly_chart(grid, key="inside_grid")
    order = vision_charts.grid_channels(layer_maps, sort, limit=layer_maps.shape[-1])
    means = layer_maps.mean(axis=(0, 1))
    channel = st.selectbox(
        "Enlarge a channel",
        order,
        key="inside_channel",
        **KEEP,
        # The label is the channel alone: one with this image's mean in it would change with
        # the image, and the browser, which keeps a choice by its label, would drop it.
        format_func=lambda c: f"channel {c}",
    )
    left, right = st.columns([1, 2])
    left.image(common.enlarged(seen, SHOWN_SIDE), caption="the input", width=SHOWN_SIDE,
               **common.PIXELS)  # fmt: skip
    title = f"{layer}, channel {channel} · mean {means[channel]:.3g}"
    big = vision_charts.feature_map(layer_maps[..., channel], title)
    right.plotly_chart(big, key="inside_channel_chart")

with overview_tab:
    st.caption(
        "The four channels of each layer with the highest mean activation for this image, the "
        "first layer in the top row. Each map is stretched to its own range, so brightness "
        "does not compare across maps. In large networks trained on ImageNet they go from "
        "edges and colours in the top rows to object parts in the bottom rows."
    )
    st.plotly_chart(vision_charts.overview(maps), key="inside_overview")

with filters_tab:
    conv_names = introspect.conv_layer_names(model)
    filter_layer = st.selectbox("Layer", conv_names, key="inside_filter_layer", **KEEP)
    kernels = filters.conv_kernels(model, filter_layer)
    k, inputs, outputs = kernels.shape[0], kernels.shape[2], kernels.shape[3]
    factor = max(1, 64 // k)  # about 64 pixels a kernel on screen
    # conv1 of a network split over two GPUs: the halves of its filters fed one GPU each
    towers = filters.feeds_groups(model, filter_layer) if inputs == 3 else 1
    if inputs == 3:
        st.caption(
            f"{outputs} filters of {k}x{k} pixels, each stretched to its own colour range."
            + (f" The first {MOST_TILES} are shown." if outputs > MOST_TILES else "")
            + (f" In the {towers} halves that fed one GPU each: in every run of the paper "
               "(figure 3), one GPU's kernels came out largely colour-agnostic and the "
               "other's colour-specific. Colour share: the part of a filter's weights that "
               "tells colours apart rather than brightness, 0 to 1." if towers > 1 else "")
        )  # fmt: skip
        tiles = introspect.enlarge(filters.kernel_images(kernels), factor)
    else:
        widgets.within("inside_filter", 0, outputs - 1)
        out = st.number_input(
            f"Filter (0-{outputs - 1})", 0, outputs - 1, key="inside_filter", **KEEP
        )
        st.caption(
            f"Filter {out} has a {k}x{k} kernel for each of its {inputs} input channels "
            "(one gray scale for the filter: bright = large positive weight)."
            + (f" The first {MOST_TILES} are shown." if inputs > MOST_TILES else "")
        )
        tiles = introspect.enlarge(filters.kernel_slices(kernels, int(out)), factor)
    if towers > 1:
        shares = np.split(filters.colour_share(kernels), towers)
        for tower, (part, share) in enumerate(zip(np.split(tiles, towers), shares, strict=True)):
            st.image(introspect.tile_images(part[: MOST_TILES // towers], columns=16),
                     caption=f"GPU {tower + 1} · mean colour share {share.mean():.2f}",
                     **common.PIXELS)  # fmt: skip
    else:
        st.image(introspect.tile_images(tiles[:MOST_TILES], columns=16), **common.PIXELS)

    epochs = sorted(c for c in run.checkpoints if c.startswith("epoch_"))
    side = run.model_config.conv_kernels[0]
    change = ("from noise towards edges and colour blobs, as the paper's 11x11 kernels did (its "
              "figure 3), given epochs enough; smaller kernels draw them coarser" if side > 3
              else f"from noise: at {side}x{side} pixels a kernel has room for little more than "
              "a colour and a slope from light to dark, not the paper's edges and stripes (it "
              "had 11x11)")  # fmt: skip
    if not epochs:
        st.caption(f'This run kept no epoch checkpoints; train with "Checkpoint every epoch" '
                   f"to watch conv1 change {change}.")  # fmt: skip
    elif st.toggle("Show conv1 at each epoch checkpoint", key="inside_filter_epochs", **KEEP,
                   help=f"Watch conv1 change {change}."):  # fmt: skip
        picks = [epochs[round(i)] for i in np.linspace(0, len(epochs) - 1, EPOCHS_SHOWN)]
        picks = list(dict.fromkeys(picks))  # fewer epochs than slots: no repeats
        mosaics, unread = {}, []
        for c in picks:
            try:
                mtime = os.path.getmtime(checkpoints.checkpoint_path(run.path, c))
                mosaics[c.replace("_", " ")] = conv1_mosaic(str(run.path), c, mtime)
            except (ValueError, OSError):  # damaged, or deleted since the run was read
                unread.append(f"{c}.keras")
        if unread:
            st.warning(f"{', '.join(unread)} could not be read (damaged or gone), so "
                       f"{'it is' if len(unread) == 1 else 'they are'} left out.",
                       icon=":material/warning:")  # fmt: skip
        # Two a line at 1280 px: each large enough to compare its kernels with the epoch beside it.
        common.image_grid(list(mosaics.values()), list(mosaics), width=380)

with unit_tab:
    st.caption(
        "A channel is one learned detector. Here are the test images that excite it most, "
        "with the patch of the image the strongest unit can see (its receptive field)."
    )
    left, right = st.columns(2)
    unit_layer = left.selectbox("Layer", list(maps), key="inside_unit_layer", **KEEP)
    channels = maps[unit_layer].shape[-1]
    if st.session_state.get("inside_unit_channel", 0) >= channels:
        st.session_state["inside_unit_channel"] = 0
    channel = right.number_input(
        f"Channel (0-{channels - 1})", 0, channels - 1, key="inside_unit_channel", **KEEP
    )
    # A search is a pass over the whole test split: it runs on the button, then again only
    # for a new channel of the same layer (cached), not for another run, checkpoint or layer.
    searched = (str(run.path), which, version, unit_layer)
    if st.button("Search the test split", key="inside_unit_find"):
        st.session_state["inside_unit_searched"] = searched
    if st.session_state.get("inside_unit_searched") == searched:
        dataset, settings = common.run_dataset(run)
        if not len(dataset.y_test):  # the last thing on the page: stopping skips nothing
            st.info(f"{common.NO_TEST_IMAGES} There are none to search.")
            st.stop()
        maxima = maxima_over_test_split(str(run.path), which, version, settings, unit_layer)
        found = introspect.strongest_images(model, maxima, int(channel), k=9)
        factor = max(1, 96 // dataset.image_size)
        captions = [f"#{i} {dataset.class_names[dataset.y_test[i]]} · {v:.2f}" for i, v, _ in found]
        common.image_grid(
            [introspect.outlined(dataset.x_test[i], box, factor) for i, _, box in found],
            captions,
            width=74,  # nine a line at 1280 px
        )
        patches = [dataset.x_test[i][box[0] : box[2], box[1] : box[3]] for i, _, box in found]
        shown = [common.enlarged(p, SHOWN_SIDE) for p in patches]
        common.image_grid(shown, ["patch"] * len(patches), width=74)
