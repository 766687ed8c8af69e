"""Plotly figures of a network's layer report, for the Architecture page: how the feature maps
shrink and widen, and where the parameters sit. No Streamlit and no TensorFlow here."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alexnet_core.charts import LAYOUT, TRAIN_COLOUR, VAL_COLOUR
from alexnet_core.report import Report

# Layers whose output is an image with channels: the ones a "shrink and widen" picture shows.
SPATIAL_KINDS = ("input (uint8 RGB)", "resize (bilinear)", "conv", "lrn", "batchnorm", "maxpool")


def feature_map_shapes(report: Report) -> go.Figure:
    """Side length (top) and channels (bottom) of every layer whose output is an image."""
    rows = [r for r in report.rows if r.kind in SPATIAL_KINDS]
    names = [r.name for r in rows]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[r.output_shape[0] for r in rows],
            name="side (pixels)",
            mode="lines+markers+text",
            text=[str(r.output_shape[0]) for r in rows],
            textposition="top right",
            line=dict(color=VAL_COLOUR, width=3),
            hovertemplate="%{x}: %{y} x %{y} pixels<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r.output_shape[2] for r in rows],
            name="channels",
            text=[str(r.output_shape[2]) for r in rows],
            textposition="outside",
            marker_color=TRAIN_COLOUR,
            hovertemplate="%{x}: %{y} channels<extra></extra>",
        ),
        row=2,
        col=1,
    )
    # 25% headroom so the labels above the highest point stay inside the plot.
    side_top = 1.25 * max((r.output_shape[0] for r in rows), default=1)
    channel_top = 1.25 * max((r.output_shape[2] for r in rows), default=1)
    fig.update_yaxes(title_text="side (pixels)", range=[0, side_top], row=1, col=1)
    fig.update_yaxes(title_text="channels", range=[0, channel_top], row=2, col=1)
    fig.update_xaxes(tickangle=-45, row=2, col=1)  # a name a layer, too many to lie flat
    fig.update_layout(title="Feature maps shrink and widen", showlegend=False, **LAYOUT)
    return fig


def parameter_share(report: Report) -> go.Figure:
    """Parameters per layer that has any, as horizontal bars labelled with their share."""
    rows = [r for r in report.rows if r.params > 0]
    total = report.total_params or 1
    fig = go.Figure(
        go.Bar(
            x=[r.params for r in rows],
            y=[r.name for r in rows],
            orientation="h",
            text=[f"{r.params:,} ({100 * r.params / total:.1f}%)" for r in rows],
            textposition="auto",
            marker_color=["#d62728" if r.kind == "dense" else "#1f77b4" for r in rows],
            hovertemplate="%{y}: %{x:,} parameters<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="parameters")
    fig.update_layout(title="Where the parameters sit", **LAYOUT)
    return fig
