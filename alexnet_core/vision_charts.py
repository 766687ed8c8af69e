"""Plotly figures for the looking-inside, classify and evaluate pages.

They take numpy arrays and the core's plain objects; no Streamlit, no TensorFlow. A layer's
channels are drawn as one mosaic heat map rather than one subplot per channel: a single trace
keeps a 96-channel grid light for the browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from alexnet_core.evaluation import accuracy_margin
from alexnet_core.introspect import strongest_channels

MAX_GRID_CHANNELS = 96  # the paper's conv1; wider layers show their first (or strongest) 96
GRID_COLUMNS = 12  # tiles a row of a feature-map grid, at most
COLOUR_SCALE = "Viridis"
BAR_COLOUR = "#1f77b4"
LAYOUT = dict(margin=dict(l=10, r=10, t=64, b=10))  # titles clear of Plotly's toolbar


def grid_channels(maps: np.ndarray, sort_by_mean: bool, limit: int = MAX_GRID_CHANNELS):
    """The channels a grid shows, in order: strongest mean first if sorted, else by index."""
    channels = maps.shape[-1]
    order = strongest_channels(maps, channels) if sort_by_mean else list(range(channels))
    return order[:limit]


def feature_grid(
    maps: np.ndarray,
    *,
    shared_scale: bool = False,
    sort_by_mean: bool = False,
    max_channels: int = MAX_GRID_CHANNELS,
    columns: int | None = None,
    title: str = "",
) -> go.Figure:
    """A layer's (h, w, c) maps as a mosaic of small heat maps, each labelled with its channel.

    shared_scale: one colour scale for the whole layer, channels not shown included (compare
    channels); otherwise each map is stretched to its own range (see weak channels' pattern).
    """
    order = grid_channels(maps, sort_by_mean, max_channels)
    shown = maps[..., order].astype(np.float64)
    if shared_scale:  # over every channel of the layer, shown or not
        low, span = float(maps.min()), float(maps.max()) - float(maps.min())
    else:  # per channel, broadcast over (h, w)
        low, span = shown.min(axis=(0, 1)), shown.max(axis=(0, 1)) - shown.min(axis=(0, 1))
    levels = np.divide(shown - low, span, out=np.zeros_like(shown), where=span > 0)
    # Said in the ticks, not a title: a sideways title is longer than one row of tiles is high.
    colorbar = dict(thickness=12, tickvals=[0, 255], ticktext=["each map's lowest",
                                                               "each map's highest"])  # fmt: skip
    if shared_scale:
        ticks = [0, 64, 128, 191, 255]
        text = [f"{float(low) + float(span) * t / 255:.3g}" for t in ticks]
        colorbar = dict(
            thickness=12, tickvals=ticks, ticktext=text, title=dict(text="activation", side="right")
        )
    tiles = [levels[..., i] for i in range(len(order))]
    rows = math.ceil(len(order) / GRID_COLUMNS)  # as few empty tiles as that many rows allow
    columns = columns or math.ceil(len(order) / rows)  # 16 channels: two rows of 8, not 12 + 4
    fig = _mosaic(tiles, [str(c) for c in order], columns, colorbar)
    note = f" ({len(order)} of {maps.shape[-1]} channels)" if len(order) < maps.shape[-1] else ""
    fig.update_layout(title=title + note)
    return fig


def _mosaic(tiles: list[np.ndarray], labels: list[str], columns: int, colorbar=None):
    """Equal-sized (h, w) tiles with values in [0, 1] as one heat map, labelled, in rows."""
    h, w = tiles[0].shape
    rows = math.ceil(len(tiles) / columns)
    # 256 levels as uint8: the browser gets a quarter of float32's bytes and the eye cannot
    # tell the difference. The tiles touch; white lines drawn over the seams separate them.
    mosaic = np.zeros((rows * h, columns * w), dtype=np.uint8)
    annotations = []
    for position, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        top, left = divmod(position, columns)
        mosaic[top * h : (top + 1) * h, left * w : (left + 1) * w] = np.rint(tile * 255)
        annotations.append(
            dict(
                x=left * w - 0.5,
                y=top * h - 0.5,
                text=label,
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font=dict(size=9, color="white"),
                bgcolor="rgba(0, 0, 0, 0.5)",  # readable on bright tiles too
            )
        )
    fig = go.Figure(
        go.Heatmap(
            z=mosaic,
            zmin=0,
            zmax=255,
            colorscale=COLOUR_SCALE,
            hoverinfo="skip",
            colorbar=colorbar,
            showscale=colorbar is not None,
        )
    )
    line = dict(color="white", width=2)
    seams = [
        dict(type="line", x0=c * w - 0.5, x1=c * w - 0.5, y0=-0.5, y1=rows * h - 0.5, line=line)
        for c in range(1, columns)
    ]
    seams += [
        dict(type="line", y0=r * h - 0.5, y1=r * h - 0.5, x0=-0.5, x1=columns * w - 0.5, line=line)
        for r in range(1, rows)
    ]
    # The last row's empty places, covered: dark tiles there would read as dead channels.
    seams += [
        dict(type="rect", x0=(p % columns) * w - 0.5, x1=(p % columns + 1) * w - 0.5,
             y0=(rows - 1) * h - 0.5, y1=rows * h - 0.5, fillcolor="white", line=dict(width=0))
        for p in range(len(tiles), rows * columns)
    ]  # fmt: skip
    _image_axes(fig)
    tile_px = min(140, 900 // columns)  # about what a wide page gives each tile
    fig.update_layout(annotations=annotations, shapes=seams, height=80 + rows * tile_px, **LAYOUT)
    return fig


def feature_map(map2d: np.ndarray, title: str = "") -> go.Figure:
    """One channel, large, with its own colour bar."""
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(map2d, dtype=np.float32),  # float16 maps would go out as text
            colorscale=COLOUR_SCALE,
            hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>",
        )
    )
    _image_axes(fig)
    fig.update_layout(title=title, height=360, **LAYOUT)
    return fig


def overview(all_maps: Mapping[str, np.ndarray], k: int = 4) -> go.Figure:
    """The k strongest channels (by mean activation) of every layer: one row per layer.

    Each map is stretched to its own range and blown up (nearest neighbour) to the largest
    layer's side, so a 3x3 pool5 map shows as nine honest blocks next to a 32x32 conv1 map.
    """
    side = max(maps.shape[0] for maps in all_maps.values())
    tiles, labels = [], []
    for name, maps in all_maps.items():
        picks = strongest_channels(maps, k)
        for channel in picks:
            tile = maps[..., channel].astype(np.float64)
            rows = np.arange(side) * tile.shape[0] // side
            cols = np.arange(side) * tile.shape[1] // side
            tile = tile[np.ix_(rows, cols)]
            span = tile.max() - tile.min()
            tiles.append((tile - tile.min()) / span if span > 0 else np.zeros_like(tile))
            labels.append(f"{name} · {channel}")
        tiles += [np.zeros((side, side))] * (k - len(picks))  # a layer narrower than k
        labels += [""] * (k - len(picks))
    fig = _mosaic(tiles, labels, k)
    fig.update_layout(height=60 + 130 * len(all_maps))
    return fig


def top_k(top: Sequence[tuple[int, str, float]], title: str = "") -> go.Figure:
    """Horizontal bars of (class index, name, probability), the most probable on top."""
    names = [name for _, name, _ in top][::-1]
    values = [p for _, _, p in top][::-1]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=BAR_COLOUR,
            text=[f"{v:.1%}" for v in values],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="probability")
    # A bar's row each, plus room for the title and the axis title even with one bar.
    fig.update_layout(title=title, height=max(180, 100 + 32 * len(names)), **LAYOUT)
    return fig


def confusion_matrix(confusion: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Counts as a heat map coloured by the share of each true class (rows sum to 100%)."""
    counts = np.asarray(confusion)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    names = list(class_names)
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=names,
            y=names,
            customdata=counts,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            text=counts,
            texttemplate="%{text}",
            colorbar=dict(title="share of<br>the true<br>class", tickformat=".0%"),
            hovertemplate="true %{y}, predicted %{x}: %{customdata} (%{z:.1%})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="predicted class")
    fig.update_yaxes(title_text="true class", autorange="reversed")
    side = 200 + 36 * len(names)
    fig.update_layout(title="Confusion matrix", height=side, **LAYOUT)
    return fig


def per_class_accuracy(accuracy: np.ndarray, class_names: Sequence[str],
                       counts: Sequence[int] | None = None) -> go.Figure:  # fmt: skip
    """Accuracy of each true class as bars; the classes without test images have none, and the
    title names them. Given each class's number of test images, a bar carries its 95% margin
    (accuracy_margin): on 100 images a class's figure is good to about ±10 points."""
    counts = [0] * len(class_names) if counts is None else counts
    shown = [(n, float(a), int(c)) for n, a, c in zip(class_names, accuracy, counts, strict=True)
             if not np.isnan(a)]  # fmt: skip
    missing = [n for n, a in zip(class_names, accuracy, strict=True) if np.isnan(a)]
    margins = [accuracy_margin(a, c) if c else 0.0 for _, a, c in shown]
    hover = "%{x}: %{y:.1%}"
    if any(margins):
        hover += " ±%{customdata[0]:.1f} points (95%) of %{customdata[1]} test images"
    fig = go.Figure(
        go.Bar(
            x=[n for n, _, _ in shown],
            y=[a for _, a, _ in shown],
            marker_color=BAR_COLOUR,
            text=[f"{a:.0%}" for _, a, _ in shown],
            # Above each bar, so a class at 0% still reads "0%"; drawn past the axis for 100%.
            textposition="outside",
            cliponaxis=False,
            customdata=[[100 * m, c] for m, (_, _, c) in zip(margins, shown, strict=True)],
            hovertemplate=hover + "<extra></extra>",
        )
    )
    top = 1.0
    if any(margins):  # whiskers kept within 0% and 100%; each figure above its whisker
        shares = [a for _, a, _ in shown]
        up = [min(m, 1 - a) for a, m in zip(shares, margins, strict=True)]
        down = [min(m, a) for a, m in zip(shares, margins, strict=True)]
        fig.update_traces(
            text=None,
            showlegend=False,
            error_y=dict(
                type="data", array=up, arrayminus=down, visible=True, color="#444", thickness=1
            ),
        )
        tops = [a + u for a, u in zip(shares, up, strict=True)]
        fig.add_trace(
            go.Scatter(
                x=[n for n, _, _ in shown],
                y=tops,
                mode="text",
                text=[f"{a:.0%}" for a in shares],
                textposition="top center",
                hoverinfo="skip",
                showlegend=False,
            )
        )
        top = 1.1  # room for a label over 100%
    fig.update_yaxes(range=[0, top], tickformat=".0%", title_text="accuracy")
    title = "Accuracy per class"
    if missing:  # else a class would vanish without a word
        title += f"<br><sup>no test images of {', '.join(missing)}</sup>"
    fig.update_layout(title=title, height=360, **LAYOUT)
    return fig


def _image_axes(fig: go.Figure) -> None:
    """Square pixels, row 0 at the top, no ticks: heat maps read like images."""
    # No tick marks either: a theme's outside ticks would sit under the image as stray dashes.
    fig.update_xaxes(
        showticklabels=False, ticks="", showgrid=False, zeroline=False, constrain="domain"
    )
    fig.update_yaxes(
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        autorange="reversed",
        constrain="domain",
        scaleanchor="x",
    )
