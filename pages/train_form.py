"""The Train form's settings in the session state: the config field each box holds, and
filling them in from configs (a preset's, a run's, or the network set up on Architecture)."""

import dataclasses

import streamlit as st

from alexnet_core import config, data
from pages import widgets

MODEL_FIELDS = ("input_size", "width", "fc_units", "dropout", "augment_flip", "augment_shift",
                "activation", "normalization", "norm_before_pool")  # fmt: skip
TRAIN_FIELDS = [f.name for f in dataclasses.fields(config.TrainConfig) if f.name != "dataset"]
OWN_DATA = "own"  # the Dataset choice that asks for a path


def key(field: str) -> str:
    """The form widget of a config field: train_epochs, train_subset, ..."""
    return field if field.startswith("train_") else f"train_{field}"


def values(fields) -> dict:
    """The form's values of these config fields, by field."""
    return {field: st.session_state[key(field)] for field in fields}


def fill(preset: str, model_config, train_config) -> None:
    """Set the form to this preset, network and training; the data choice stays as it is."""
    st.session_state.train_preset = preset
    for field in MODEL_FIELDS:
        st.session_state[key(field)] = getattr(model_config, field)
    st.session_state.train_two_gpus = model_config.two_gpus
    st.session_state.train_pooling = model_config.pooling
    widgets.fill_conv_settings("train", model_config)
    for field in TRAIN_FIELDS:
        st.session_state[key(field)] = getattr(train_config, field)


def fill_from_run(model_config, train_config) -> None:
    """Set the form to a run's own network, training and data, for a new run like it."""
    fill(model_config.preset, model_config, train_config)
    source = train_config.dataset
    if source in [s["name"] for s in data.available_sources() if s["available"]]:
        st.session_state.train_source = source  # sample, or keras while its copy is here
    elif source not in ("auto", "keras", "sample"):  # a folder or file of the user's own
        st.session_state.train_source, st.session_state.train_source_path = OWN_DATA, source
    else:  # auto, or keras without its copy here: what auto finds now
        st.session_state.train_source = data.default_source()
