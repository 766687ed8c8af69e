"""The Train form's settings in the session state: the config field each box holds, and
filling them in from configs (a preset's, a run's, or the network set up on Architecture)."""

import dataclasses

import streamlit as st

from alexnet_core import config, data, figure_one, presets, system, training
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


def load_preset() -> None:
    """Set the form to the chosen preset's model and training settings."""
    name = st.session_state.train_preset
    fill(name, presets.preset(name), presets.train_preset(name))


def fill_first(snap) -> None:
    """A session's first form: the last run's settings (after a reload, in a second tab), else
    the preset that suits this machine. `snap` is the last run's snapshot, or None."""
    if snap and snap.model_config.preset in presets.PRESETS:
        fill_from_run(snap.model_config, snap.train_config)
    else:
        gpus = system.machine_info()["gpus"]
        st.session_state.setdefault("train_preset", "cifar_gpu" if gpus else "cifar_small")
        load_preset()


def fill_figure_one() -> None:
    """Set the form to the paper's figure-1 comparison, with ReLU; the data choice stays."""
    fill("cifar_small", *figure_one.configs("relu"))


def configs(source: str, convs: dict) -> tuple[config.ModelConfig, config.TrainConfig]:
    """The network and training the form holds, on `source`, with these convolutions. Raises
    ValueError naming a value the configs refuse."""
    settings = values(TRAIN_FIELDS)
    model_config = presets.customised(
        st.session_state.train_preset,
        st.session_state.train_two_gpus,
        st.session_state.train_pooling,
        image_size=settings["image_size"],  # what the model receives: checks the shift
        **values(MODEL_FIELDS),
        **convs,
    )
    return model_config, config.TrainConfig(dataset=source, **settings)


def holds_figure_one(source: str, convs: dict) -> bool:
    """Whether the form holds the paper's figure-1 comparison, with either activation."""
    try:
        return figure_one.matches(*configs(source, convs))
    except ValueError:  # a value the configs refuse: not figure 1; a click will say what
        return False


def figure_one_note(source: str) -> str:
    """What the figure-1 comparison has and still needs on `source`: a run of each activation."""
    listed = training.list_runs()
    done = figure_one.runs_by_data(listed).get(data.recorded_source(source), {})
    said = ("Set up for the paper's figure 1, as of the form's last button (its rate, epochs and "
            "seed may change; a rate changed while it trains takes the run out of the "
            "figure).")  # fmt: skip
    if len(done) == len(config.ACTIVATIONS):
        shown = ("Runs' *Show figure 1* draws them" if figure_one.pair(listed) == done
                 else "choose both on Runs to compare them")  # fmt: skip
        return (f"{said} Its finished runs on this data: relu {done['relu']} and tanh "
                f"{done['tanh']}; {shown}.")  # fmt: skip
    for activation, run_id in done.items():  # one of the two
        said += f" Its finished {activation} run on this data: {run_id}."
    left = [activation for activation in config.ACTIVATIONS if activation not in done]
    return (f"{said} Start a run with Activation {' and one with '.join(left)}; Runs' *Show "
            "figure 1* then draws their training error batch by batch, as the figure "
            "did.")  # fmt: skip


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
