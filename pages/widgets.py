"""Shared widgets of the pages: the per-convolution settings grid, the test-time
augmentation and heat-map choices, uploads and photos kept across pages and numbers kept within
bounds.
Like pages/common.py, it turns the core's names into widgets and returns plain values.
"""

from __future__ import annotations

import streamlit as st

from alexnet_core import classify, explain
from pages.common import KEEP

# The per-convolution fields a user sets in a grid, with each row's name. No bounds: ModelConfig
# and the layer plan say what is wrong with a value, where a bounded box only turns red.
CONV_SETTINGS = (
    ("conv_filters", "filters (before width)"),
    ("conv_kernels", "kernel (pixels)"),
    ("conv_strides", "stride"),
)


def fill_conv_settings(prefix: str, model_config) -> None:
    """Set conv_settings' widgets to `model_config`'s values (when a preset is chosen)."""
    for field, _ in CONV_SETTINGS:
        for i, value in enumerate(getattr(model_config, field), start=1):
            st.session_state[f"{prefix}_{field}_{i}"] = value


def conv_settings(prefix: str, **widget_options) -> dict[str, tuple[int, ...]]:
    """A grid of number inputs, conv1..conv5 across and CONV_SETTINGS down (filled in by
    fill_conv_settings), and the ModelConfig fields it sets."""
    widths = [1.4, 1, 1, 1, 1, 1]
    for i, cell in enumerate(st.columns(widths)[1:], start=1):
        cell.markdown(f"**conv{i}**")
    values = {}
    for field, name in CONV_SETTINGS:
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown(name)
        values[field] = tuple(
            int(row[i].number_input(f"conv{i} {name}", step=1, key=f"{prefix}_{field}_{i}",
                                    label_visibility="collapsed", **widget_options))
            for i in range(1, 6)
        )  # fmt: skip
    return values


def within(key: str, low: int, high: int, usual: int | None = None) -> int | None:
    """Bring number widget `key`'s kept value within [low, high] before it is drawn: its bounds
    change with the run or layer, and Streamlit refuses a kept value outside them. Returns the
    default to draw it with: `usual` the first time, then the kept value (new bounds make a new
    widget, which would start from its default), or None after a correction (set through the
    session state, which wins; a default beside it only makes Streamlit warn)."""
    value = st.session_state.get(key)
    if value is None:
        return usual
    if not low <= value <= high:
        st.session_state[key] = min(max(value, low), high)
        return None
    return value


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
        **KEEP,
        help="Average the network's probabilities over several views of each image: the image "
        "and its mirror image, or the paper's ten patches (the centre and the four corners, "
        "each also mirrored). Here a corner patch is the whole image moved 1/16 of its side "
        "away from that corner, the uncovered edge mirrored as training's random shifts do: "
        f"it helps a network trained with shifts most. {cost}",
    )


EXPLANATION_LABELS = {"grad_cam": "Grad-CAM", "occlusion": "Occlusion"}


def explanation_radio(key: str, label: str, views: str = "single") -> str:
    """The choice of heat map, an explain.EXPLANATIONS name; under test-time augmentation
    (`views`), a caption that the maps are of the image itself."""
    if views != "single":
        averaged = {"flip": "the image and its mirror image", "ten": "the ten patches"}[views]
        st.caption(f"The probabilities are the mean over {averaged}; the heat maps explain the "
                   "image itself.")  # fmt: skip
    return st.radio(
        label,
        explain.EXPLANATIONS,
        format_func=EXPLANATION_LABELS.get,
        horizontal=True,
        key=key,
        **KEEP,
        help="Grad-CAM: the last convolution's feature maps, weighted by how much each one "
        "raises the class's score. Occlusion (Zeiler and Fergus, 2014): cover one place at a "
        "time with a square of the image's mean colour (theirs was grey) and see how far the "
        "class's probability falls.",
    )


HEAT_KEY_ENDS = {  # what the coldest and the hottest colour of a heat map mean
    "grad_cam": ("nothing for the class (or against it)", "this map's largest part"),
    "occlusion": ("covering it costs nothing (or helps)", "this map's largest fall"),
}


def heat_key(method: str, where=st) -> None:
    """The heat maps' colour scale, blue to red, with what its two ends mean for `method`; the
    scale keeps 5 em in a narrow column, where the words wrap instead."""
    stops = ", ".join(f"rgb{rgb} {100 * at:g}%" for at, rgb in explain.colour_stops())
    low, high = HEAT_KEY_ENDS[method]
    where.html(
        '<div style="display:flex;align-items:center;gap:0.5em;font-size:0.8em;opacity:0.75">'
        f'<span>{low}</span><div style="flex:1 0 5em;height:0.8em;border-radius:3px;'
        f'background:linear-gradient(to right, {stops})"></div><span>{high}</span></div>'
    )


def squeeze_note(aspect: float, where=st) -> None:
    """Under a picture made square: how far from square it was, when that changes its look
    (`aspect`: its width / height as it stands upright)."""
    if 0.8 <= aspect <= 1.25:
        return
    long, short = ("wide", "tall") if aspect > 1 else ("tall", "wide")
    where.caption(f"Squeezed into a square: the picture is {max(aspect, 1 / aspect):.1f} times "
                  f"as {long} as it is {short}. Crop it around the subject for a fairer "
                  "look.")  # fmt: skip


def distinct_names(names: list[str]) -> list[str]:
    """`names` with each repeat told apart by a number: photo.jpg, photo.jpg (2), ... A name
    is a file's label in the table, the picker and the errors, so two files need two names."""
    given, taken = set(names), set()
    distinct = []
    for name in names:
        new, n = name, 1
        while new in taken or (new != name and new in given):  # a file may be called "a (2)"
            n += 1
            new = f"{name} ({n})"
        taken.add(new)
        distinct.append(new)
    return distinct


def _kept(widget, label: str, key: str, before: str, **options) -> list[tuple[str, bytes]]:
    """A file widget (st.file_uploader, st.camera_input) whose files outlive a visit to
    another page: [(name, bytes)]. Streamlit empties such a widget once it leaves the screen,
    so its files are kept in the session (updated whenever the widget changes, emptied by
    its clear button) and, under a caption `before` ({names} filled in), used until replaced.
    Files of the same name are told apart (distinct_names)."""
    kept = f"{key}_kept"

    def remember() -> None:
        chosen = st.session_state.get(key)
        chosen = chosen if isinstance(chosen, list) else [chosen] if chosen else []
        names = distinct_names([f.name for f in chosen])
        st.session_state[kept] = [(n, f.getvalue()) for n, f in zip(names, chosen, strict=True)]

    chosen = widget(label, key=key, on_change=remember, **options)
    if chosen:
        remember()  # as its callback does; cheap, and sure to match what is shown
        return list(st.session_state[kept])
    files = st.session_state.get(kept, [])
    if files:  # back from another page: the widget is empty, its files are not
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.caption(before.format(names=", ".join(name for name, _ in files)))
        if right.button("Clear", key=f"{key}_clear", icon=":material/delete:"):
            del st.session_state[kept]
            st.rerun()
    return list(files)


def kept_uploads(label: str, key: str, **options) -> list[tuple[str, bytes]]:
    """A file uploader whose files are still there after a visit to another page."""
    before = "Uploaded before: {names}. New uploads replace them."
    return _kept(st.file_uploader, label, key, before, **options)


def kept_photo(label: str, key: str) -> tuple[str, bytes] | None:
    """A camera whose photo is still there after a visit to another page: (name, bytes)."""
    before = "The photo taken before is still used. A new photo replaces it."
    files = _kept(st.camera_input, label, key, before)
    return files[0] if files else None
