"""What the Train form's check buttons show before a run starts: the data the settings load,
how long the run would take here, and what augmentation does to the training images."""

import dataclasses

import streamlit as st

from alexnet_core import estimate, presets, report, system, training_data
from pages import common, wording

PREVIEW_IMAGES, PREVIEW_COPIES = 4, 5  # augmentation preview: training images, views of each
CPU_PRESET = "cifar_small"  # the preset made for a CPU
HEAVY = 10  # a preset with this many times its multiply-adds per image wants a GPU


def preset_warning(name: str) -> str | None:
    """On a machine without a GPU, what a preset made for one costs here; else None."""
    macs = report.plan_layers(presets.preset(name)).total_macs
    times = macs / report.plan_layers(presets.preset(CPU_PRESET)).total_macs
    if times < HEAVY or system.gpu_names():
        return None
    epochs = presets.train_preset(name).epochs
    return (f"No GPU here: `{name}` as shipped does {times:.0f}× the multiply-adds per image of "
            f"`{CPU_PRESET}`, so its {epochs} epochs over CIFAR-10's 45,000 training images take "
            "many hours on a CPU (timed on a 2-core server: `tutorial`'s 50 about 27 hours, "
            "`cifar_gpu`'s 40 about 4.6, where `cifar_small` reached 80% in 20 minutes). "
            "*Estimate time per epoch* below measures it here; a Train subset or fewer epochs "
            "shortens a run.")  # fmt: skip


def show_estimate(model_config, train_config) -> None:
    """How long a run of these settings takes here, then, each in a box of its own, what about
    the network or the data would make it say little (as Check the data shows them)."""
    text, said = estimate_text(model_config, train_config)
    st.info(text)
    for warning in said:
        st.warning(warning, icon=":material/warning:")


def estimate_text(model_config, train_config) -> tuple[str, list[str]]:
    """How long a run of these settings takes here, part by part, from timed real steps; and
    the notes and data warnings for these settings."""
    dataset = common.load_dataset_cached(*common.data_settings(train_config))
    fitted = model_config.for_dataset(dataset.image_size, dataset.num_classes)
    used = training_data.TrainingData.from_dataset(dataset, train_config.train_subset)
    count, validated, tested = len(used.y_train), len(used.y_val), len(used.y_test)
    # A batch larger than the data is, in training, one step of all the images: time that.
    timed = dataclasses.replace(train_config, batch_size=min(train_config.batch_size, count))
    saves = 2 + train_config.save_every_epoch  # last.keras, best.keras (, epoch_NNN.keras)
    took = estimate.estimate_run(fitted, timed, count, validated, tested,
                                 checkpoints_per_epoch=saves)  # fmt: skip
    duration, epochs = wording.duration_text, train_config.epochs
    parts = [f"{duration(took.train_s)} of training steps"]
    if validated:
        parts.append(f"{duration(took.validation_s)} validating {validated:,} images")
    parts.append(f"{duration(took.checkpoint_s)} saving checkpoints")
    ends = f"{duration(took.build_s)} to build the model's steps before the first batch"
    if tested:
        ends += f" and {duration(took.test_s)} to test {tested:,} images at the end"
    said = [*report.plan_layers(fitted).notes, *training_data.data_warnings(dataset, train_config)]
    took_all = f"{epochs} epoch{'s take' if epochs != 1 else ' takes'}"
    return (f"About **{duration(took.epoch_s)} per epoch** here for {count:,} "
            f"image{'s' * (count != 1)}: {', '.join(parts)}. {took_all} about "
            f"{duration(took.total_s(epochs))} in all, with {ends}."), said  # fmt: skip


def show_data(train_config) -> None:
    """What the settings load: the splits' sizes, the classes and what was left out."""
    dataset = common.load_dataset_cached(*common.data_settings(train_config))
    said = training_data.data_warnings(dataset, train_config)
    if not len(dataset.y_test):  # it would train, and never be tested
        said.append(common.NO_TEST_IMAGES)
    if said:  # it loads, but no green tick above the warnings that follow
        st.info(dataset.summary() + ".", icon=":material/dataset:")
    else:
        st.success(dataset.summary() + ".", icon=":material/check_circle:")
    st.caption(f"Classes: {', '.join(dataset.class_names)}.")
    used = training_data.TrainingData.from_dataset(dataset, train_config.train_subset)
    if len(used.y_train) < len(dataset.y_train):
        st.caption(f"A run trains on the first {len(used.y_train):,} of the "
                   f"{len(dataset.y_train):,} training images (Train subset).")  # fmt: skip
    for text in said:
        st.warning(text, icon=":material/warning:")
    if dataset.skipped:
        with st.expander(f"{len(dataset.skipped):,} left out"):
            st.code("\n".join(dataset.skipped), language=None, wrap_lines=True)


def show_augmentation(model_config, train_config) -> None:
    """A few training images, each beside random views of it as the model's flips and shifts
    make them in training (new ones at every click)."""
    dataset = common.load_dataset_cached(*common.data_settings(train_config))
    fitted = model_config.for_dataset(dataset.image_size, dataset.num_classes)
    report.plan_layers(fitted)  # a network that could not train is said now, as Start would
    if not (fitted.augment_flip or fitted.augment_shift):
        st.info("No augmentation: this network trains on its images exactly as they are. "
                "Switch on random flips or a random shift to see what they do.")  # fmt: skip
        return
    changes = ["mirrored at random"] if fitted.augment_flip else []
    if fitted.augment_shift:
        changes.append(f"shifted by up to {fitted.augment_shift} px, fractions of a pixel "
                       "included (resampled, so a little softened; the edge that comes in is "
                       "mirrored)")  # fmt: skip
    st.markdown(
        f"**What training sees**: each image, then {PREVIEW_COPIES} random versions of it, "
        f"{' and '.join(changes)}. Every epoch draws new ones, so the network rarely sees the "
        "same picture twice. The paper did the same with random 224x224 crops of its 256x256 "
        "images and their mirror images, and by altering the colours' intensity."
    )
    originals = list(dataset.x_train[:PREVIEW_IMAGES])  # at the size training loads them
    # Imported here: it loads Keras, and a fresh server's first visit to /train should reach
    # common's hand-over to app.py without waiting seconds for that.
    from alexnet_core import model

    views = model.augment_examples(fitted, originals, PREVIEW_COPIES)
    shown, captions = [], []
    for original, label, copies in zip(originals, dataset.y_train, views, strict=False):
        shown += [common.enlarged(image, 96) for image in (original, *copies)]
        captions += [dataset.class_names[label]] + [f"view {i + 1}" for i in range(PREVIEW_COPIES)]
    common.image_grid(shown, captions, width=72, together=PREVIEW_COPIES + 1)  # a line at 1024 px
