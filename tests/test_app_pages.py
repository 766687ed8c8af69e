"""The app's pages through Streamlit's AppTest, over the core's real objects (no mocks).

AppTest does not fire `run_every` timers, so the live view is polled with `at.run()`; the
browser tests cover the timer itself.
"""

import dataclasses
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from alexnet_core import (
    checkpoints,
    config,
    continuation,
    data,
    figure_one,
    presets,
    report,
    run_logs,
    runs,
    schedule,
    snapshot,
    system,
    training,
)
from pages import common, help_texts, run_details, train_form, wording

pytestmark = pytest.mark.slow
APP = Path(__file__).resolve().parents[1] / "app.py"
TINY_RUN = dict(train_subset=256, epochs=1, batch_size=32, validation_fraction=0.1)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One decode cache for the module: the sample is decoded once, not once per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def app(tmp_path, monkeypatch, cache_dir):
    """A fresh app session with an empty runs folder; jobs stopped afterwards."""
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(cache_dir))
    at = AppTest.from_file(str(APP), default_timeout=60)
    yield at
    training.stop_all_jobs(timeout=30, forget=True)


def train_tiny(root: Path, cache_dir: Path, **settings) -> Path:
    """A finished tiny run trained through the core into `root`; its folder."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ALEXNET_RUNS_DIR", str(root))
        env.setenv("ALEXNET_CACHE_DIR", str(cache_dir))
        train = presets.train_preset("tiny")
        job = training.start_training(
            presets.preset("tiny"), dataclasses.replace(train, dataset="sample", **settings)
        )
        assert job.wait(timeout=120)
    return job.run_dir


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, cache_dir):
    """A finished tiny run, trained once through the core; tests take copies of its folder."""
    return train_tiny(tmp_path_factory.mktemp("trained"), cache_dir, **TINY_RUN)


def copy_of(run_dir, name: str | None = None) -> runs.RunInfo:
    """The trained run, copied into this test's runs folder (as `name`, if given)."""
    target = runs.runs_root() / (name or run_dir.name)
    shutil.copytree(run_dir, target)
    return runs.read_run(target)


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def continue_button(at: AppTest, prefix: str):
    """The page's one Continue button; its key names the run it continues."""
    (button,) = [b for b in at.button if b.key.startswith(f"{prefix}_continue_")]
    return button


def poll(at: AppTest, done, timeout: float = 90.0) -> None:
    """Rerun the app (as the live timer would) until done(at) is true."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize(
    "page",
    ["home", "architecture", "train", "runs", "inside", "classify", "evaluate"],
)
def test_every_page_renders_without_runs(app, page):
    app.run()
    if page != "home":
        app.switch_page(f"pages/{page}.py").run()
    no_problems(app)
    assert app.title, "every page has a title"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.04, "40 ms"),
        (0.9996, "1 s"),
        (1.5, "1.5 s"),
        (59.7, "1 min"),
        (151, "2.5 min"),
        (3599, "1 h"),
        (5400, "1.5 h"),
        (360_000, "100 h"),
    ],  # fmt: skip
)
def test_durations_read_in_a_unit_that_suits_them(seconds, text):
    assert wording.duration_text(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (999, "999"),
        (9_996, "10.0 K"),
        (12_345, "12.3 K"),
        (715_123_456, "715 M"),
        (999_600_000, "1.00 G"),
        (999_400_000_000_000, "999 T"),
        (3_430_000 * 10**12, "3.43 × 10¹⁸"),
    ],  # fmt: skip
)
def test_large_counts_keep_three_figures(count, text):
    assert wording.count_text(count) == text


def test_when_runs_fell_to_an_error_reads_with_what_is_known():
    said = wording.reached_text(
        {"a": ((3, None), 5, False), "b": (None, 2, True), "c": (None, 1, False),
         "d": ((6, 60.0), 8, False)}, 0.25,
    )  # fmt: skip
    assert said.endswith("): a: by the end of epoch 3; b: not in its 2 epochs so far; c: not in "
                         "its 1 epoch; d: by the end of epoch 6, after 1 min of training, 2× the "
                         "epochs of a.")  # fmt: skip


def test_the_server_skips_streamlits_full_collection_after_every_rerun():
    """With it, the live view's rerun each second starved a training thread on two cores
    (measured in the README); AppTest does not read the server's config, so it is read here."""
    import tomllib

    settings = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert settings["runner"]["postScriptGC"] is False


def test_reruns_leave_the_training_threads_keras_state_alone(app):
    """Streamlit calls keras.backend.clear_session() after every run (it replaces Keras' state
    for all threads and empties TensorFlow's kernel cache); app.py turns that off."""
    from keras.src.backend.common import global_state

    app.run()
    state = global_state.GLOBAL_STATE_TRACKER
    app.run()
    assert global_state.GLOBAL_STATE_TRACKER is state


def test_the_menu_goes_out_before_keras_loads(app, monkeypatch):
    """On a fresh server the browser keeps the pages folder's file list (common, widgets, ...)
    until app.py's st.navigation arrives; loading Keras first made that last seconds."""
    from streamlit.runtime.pages_manager import PagesManager

    from alexnet_core import system

    seen = []
    preload = system.preload
    monkeypatch.setattr(system, "preload", lambda: seen.append(
        PagesManager.uses_pages_directory) or preload())  # fmt: skip
    app.run()  # AppTest starts each run as a fresh server would: pages-folder mode on
    no_problems(app)
    assert seen == [False], "st.navigation had not run when Keras was loaded"


@pytest.mark.parametrize("page", sorted(p.stem for p in (APP.parent / "pages").glob("*.py")))
def test_a_page_reaches_commons_hand_over_without_loading_keras(page):
    """A fresh server's first visit to /<page> runs that file alone, and pages.common hands it
    over to app.py; the page's imports before that must not spend seconds on Keras."""
    import ast
    import subprocess
    import sys

    tree = ast.parse((APP.parent / "pages" / f"{page}.py").read_text())
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    probe = "\n".join([*imports, "import sys", "print('keras' in sys.modules)"])
    result = subprocess.run([sys.executable, "-c", probe], cwd=APP.parent, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "False", f"pages/{page}.py loads Keras before common"


def test_home_shows_the_machine_and_counts_runs(app, monkeypatch):
    monkeypatch.setattr(system, "gpu_names", lambda: [])  # whatever this machine has
    app.run()
    no_problems(app)
    assert metric(app, "Training runs saved") == "0"
    text = " ".join(m.value for m in app.markdown)
    assert "TensorFlow" in text and "sample" in text
    (machine,) = [i.value for i in app.info if i.value.startswith("No GPU")]
    assert "45,000 training images (the other 5,000 validate) took about 2 minutes" in machine


def test_architecture_counts_the_papers_parameters_and_explains_impossible_sizes(app):
    app.run().switch_page("pages/architecture.py").run()
    app.selectbox(key="arch_preset").select("paper").run()
    no_problems(app)
    assert metric(app, "Total parameters") == "60,965,224"
    # At least float32 weights, gradients and SGD's momentum, and batch 128's outputs twice
    activations = report.plan_layers(presets.preset("paper")).total_memory_bytes
    floor = (12 * 60_965_224 + 2 * 128 * activations) / 2**30
    assert metric(app, "Memory to train") == f"{floor:.2f} GiB"
    assert metric(app, "Activations per image") == f"{activations / 2**20:.2f} MiB"
    assert len(app.get("plotly_chart")) == 2
    columns = json.loads(app.dataframe[0].proto.columns)
    assert columns["layer"]["pinned"], "a table scrolled sideways at 1024 px still names rows"
    text = " ".join(m.value for m in app.markdown)
    assert "a unit of pool5 sees **195x195** pixels of conv1's 227x227 input." in text
    # 665,784,864 of the 724,406,816 MACs are the convolutions'; nothing to compare with
    assert ("fc6 and fc7 hold **89%** of the parameters; the convolutions do **92%** of the "
            "multiply-accumulates.") in text  # fmt: skip
    assert app.dataframe[0].value.set_index("layer")["receptive field"]["conv2"] == "51x51"
    assert app.toggle(key="arch_two_gpus").value
    app.toggle(key="arch_two_gpus").set_value(False).run()
    assert metric(app, "Total parameters") == "62,378,344"  # on one GPU
    app.number_input(key="arch_width").set_value(0.3).run()
    assert "conv2 is split into 2 groups" not in " ".join(e.value for e in app.error)
    app.toggle(key="arch_two_gpus").set_value(True).run()
    assert "conv2 is split into 2 groups" in app.error[0].value
    app.number_input(key="arch_width").set_value(1.0).run()
    assert metric(app, "Total parameters") == "60,965,224"

    # 64 filters in conv1 instead of 96: conv1 loses 11*11*3*32 + 32 weights and grouped conv2,
    # which sees 32 instead of 48 channels on each GPU, 5*5*16*256.
    app.number_input(key="arch_conv_strides_3").set_value(0).run()
    assert app.error[0].value.startswith("conv_strides: got (4, 1, 0, 1, 1), expected at least 1")
    app.number_input(key="arch_conv_strides_3").set_value(1).run()
    app.number_input(key="arch_conv_filters_1").set_value(64).run()
    assert metric(app, "Total parameters") == f"{60_965_224 - 11_648 - 102_400:,}"
    assert app.dataframe[0].value.set_index("layer")["output shape"]["conv1"] == "55x55x64"
    app.number_input(key="arch_conv_filters_1").set_value(63).run()
    assert "conv2 is split into 2 groups, so its 63 input" in app.error[0].value
    app.number_input(key="arch_conv_filters_1").set_value(96).run()
    app.number_input(key="arch_conv_strides_1").set_value(2).run()
    assert app.dataframe[0].value.set_index("layer")["output shape"]["conv1"] == "109x109x96"
    app.number_input(key="arch_conv_strides_1").set_value(4).run()
    for i in range(1, 6):  # a thousand billion filters each: counts past 64-bit integers
        app.number_input(key=f"arch_conv_filters_{i}").set_value(10**12)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value.set_index("layer")
    assert table["parameters"]["conv2"] > 2**63  # shown, as a float
    for i, filters in enumerate((96, 256, 384, 384, 256), start=1):
        app.number_input(key=f"arch_conv_filters_{i}").set_value(filters)
    app.run()

    assert metric(app, "MACs per image") == "724 M"
    app.number_input(key="arch_fc_units").set_value(16384).run()  # the shares are worked out
    text = " ".join(m.value for m in app.markdown)
    assert "fc6 and fc7 hold **96%** of the parameters (in the paper's network, 89%)" in text
    assert "the convolutions do **60%** of the multiply-accumulates." in text
    app.number_input(key="arch_fc_units").set_value(4096).run()
    # No bounds on the boxes: a value past them was kept in the box and ignored without a word
    app.number_input(key="arch_input_size").set_value(600).run()
    no_problems(app)  # 600 pixels make 17x17 maps at pool5, not 6x6: fc6 sees 17*17*256
    assert metric(app, "Total parameters") == f"{60_965_224 + (17**2 - 6**2) * 256 * 4096:,}"
    assert "of conv1's 600x600 input" in " ".join(m.value for m in app.markdown)
    app.number_input(key="arch_input_size").set_value(227)
    app.number_input(key="arch_dropout").set_value(1.5).run()
    assert app.error[0].value.startswith("dropout: got 1.5, expected a rate in [0, 1)")
    app.number_input(key="arch_dropout").set_value(0.5).run()
    no_problems(app)

    app.number_input(key="arch_input_size").set_value(32).run()
    assert not app.exception
    assert "pool2" in app.error[0].value and "Way out" not in app.error[0].value, "the hint's"
    assert not app.get("plotly_chart"), "no report is drawn for an impossible network"
    assert "conv1's 11x11 kernel with stride 4 shrinks the maps" in app.info[0].value
    assert "pick cifar_small or cifar_gpu (made for 32x32 images)" in app.info[0].value
    app.number_input(key="arch_input_size").set_value(227)
    app.number_input(key="arch_conv_strides_1").set_value(16).run()  # at the paper's own size
    advice = "too fast for this input size. Make its kernel or stride smaller."
    assert app.info[0].value.endswith(advice), "no advice meant for 32x32 images"
    app.number_input(key="arch_conv_strides_1").set_value(4)
    app.number_input(key="arch_conv_strides_2").set_value(9).run()  # conv2 shrinks them now
    assert "shrink to nothing" in app.error[0].value and not app.info, "conv1 is not to blame"
    assert "Way out: raise the input size the images are resized to (Input size, now 227" in (
        app.error[0].value
    )  # named as its box is, not input_size
    app.number_input(key="arch_conv_strides_2").set_value(1).run()

    app.selectbox(key="arch_preset").select("tiny").run()  # a preset resets the knobs
    no_problems(app)
    assert metric(app, "Total parameters") == "14,666"
    assert metric(app, "MACs per image") == "825 K"  # 825,024, not "1 M"
    assert app.number_input(key="arch_conv_strides_1").value == 1
    text = " ".join(m.value for m in app.markdown)
    assert "sees **45x45** pixels of conv1's 32x32 input, more than the whole image" in text
    assert "hold **39%** of the parameters (in the paper's network, 89%);" in text
    assert not app.warning
    app.number_input(key="arch_conv_kernels_5").set_value(17).run()  # on a 7x7 map
    assert [w.value for w in app.warning] == [report.plan_layers(
        presets.PRESETS["tiny"].replace(conv_kernels=(3, 3, 3, 3, 17))).notes[0]]  # fmt: skip
    assert app.warning[0].value.startswith("conv5: its 17x17 kernel sees a 7x7 map")
    app.number_input(key="arch_conv_kernels_5").set_value(3).run()
    app.number_input(key="arch_input_size").set_value(8).run()  # tiny's 3x3 conv1 is not why
    assert "pool5: the feature map would shrink to nothing" in app.error[0].value
    assert not app.info, "no hint that blames conv1"

    app.selectbox(key="arch_preset").select("cifar_small").run()
    app.number_input(key="arch_conv_kernels_1").set_value(11)
    app.number_input(key="arch_conv_strides_1").set_value(4).run()
    assert "conv1's 11x11 kernel with stride 4 shrinks the maps" in app.info[0].value
    assert "pick cifar_small" not in app.info[0].value, "it is the preset already picked"


def test_train_refuses_a_model_that_does_not_fit_and_starts_nothing(app):
    app.run().switch_page("pages/train.py").run()
    app.selectbox(key="train_source").select("sample")
    app.selectbox(key="train_preset").select("tiny").run()
    app.number_input(key="train_input_size").set_value(8)  # pool5 would get a 1x1 map
    for button in ("train_preview", "train_estimate", "train_start"):  # each says it alike
        app.button(key=button).click().run()
        assert not app.exception and not app.image, button
        assert not any(i.value.startswith("About") for i in app.info), button
        assert len(app.error) == 1 and "pool5" in app.error[0].value, button
        assert "(Input size, now 8)" in app.error[0].value, button  # as the box is labelled
    assert training.current_job() is None or not training.current_job().snapshot().active
    assert runs.list_runs() == []


def test_train_checks_a_shift_against_the_image_size_it_loads(app):
    app.run().switch_page("pages/train.py").run()
    app.selectbox(key="train_source").select("sample")
    app.selectbox(key="train_preset").select("tiny").run()
    app.number_input(key="train_augment_shift").set_value(40)
    app.button(key="train_check_data").click().run()
    assert app.error[0].value.startswith("augment_shift: got 40"), "tiny loads 32x32 images"
    app.number_input(key="train_image_size").set_value(64)
    app.button(key="train_check_data").click().run()
    assert not app.exception and not app.error, "40 of 64 pixels is a shift one can ask for"
    assert "64x64" in app.success[0].value


@pytest.mark.parametrize(
    ("box", "value", "said"),
    [
        ("train_epochs", 0, "epochs: got 0, expected at least 1"),
        ("train_learning_rate", 50.0, None),  # no upper bound: a rate of 50 diverges, and says so
        ("train_dropout", 1.0, "dropout: got 1.0, expected a rate in [0, 1)"),
        ("train_conv_strides_3", 0, "conv_strides: got (1, 1, 0, 1, 1), expected at least 1 for "
         "each stride (conv3's is not)"),
    ],
)  # fmt: skip
def test_train_says_what_is_wrong_with_a_number_where_a_bounded_box_would_drop_the_click(
    app, box, value, said
):
    """The form's boxes have no bounds: in a browser, a form with a number past its box's bounds
    ignores the click that submits it, without a word (the browser test shows the message)."""
    app.run().switch_page("pages/train.py").run()
    app.selectbox(key="train_source").select("sample")
    app.selectbox(key="train_preset").select("tiny").run()
    app.number_input(key=box).set_value(value)
    app.button(key="train_check_data").click().run()
    assert not app.exception
    if said is None:
        assert not app.error and app.success, "Check the data takes the value"
    else:
        assert [e.value for e in app.error] == [said]
    assert runs.list_runs() == []


def fill_in_a_tiny_run(app) -> None:
    """The Train page's form set for one epoch of the tiny preset on 256 sample images."""
    app.run().switch_page("pages/train.py").run()
    app.selectbox(key="train_source").select("sample")
    app.selectbox(key="train_preset").select("tiny").run()
    app.number_input(key="train_subset").set_value(256)
    app.number_input(key="train_epochs").set_value(1)


def test_train_checks_and_trains_on_a_folder_of_the_users_own(app, tmp_path, shapes_folder):
    folder = shapes_folder
    (folder / "train" / "circle" / "broken.png").write_bytes(b"not a png")
    (folder / "val" / "circle").mkdir(parents=True)  # neither train/ nor test/: left out

    fill_in_a_tiny_run(app)
    app.selectbox(key="train_source").select("own").run()
    assert any("Enter the path" in i.value for i in app.info)
    app.text_input(key="train_source_path").input(str(tmp_path / "no-such-folder")).run()
    app.button(key="train_check_data").click().run()
    assert not app.exception and "no such file or folder" in app.error[0].value
    app.text_input(key="train_source_path").input(f" {folder} ").run()  # pasted with spaces
    app.button(key="train_check_data").click().run()
    no_problems(app)
    # in a blue box, not a green one: a warning follows (the batch of 32 is over 18 images)
    checked = [s.value for s in app.info if str(folder) in s.value]  # not a last run's
    assert "18 train / 2 validation / 6 test images, 2 classes" in checked[0]
    assert any(c.value == "Classes: circle, square." for c in app.caption)
    left_out = app.get("expander")[-1]
    assert left_out.label == "2 left out"
    assert "broken.png" in left_out.code[0].value and "val/" in left_out.code[0].value
    app.number_input(key="train_subset").set_value(0)
    app.number_input(key="train_validation_fraction").set_value(0.0)
    app.button(key="train_start").click().run()
    no_problems(app)
    assert training.current_job().wait(120)
    run = runs.list_runs()[0]
    assert run.status == "finished" and run.dataset == str(folder)
    assert run.class_names == ("circle", "square")


def test_a_run_on_data_too_small_to_test_says_so(app, tmp_path):
    folder = tmp_path / "two"  # no test/ folder, and one image a class: none to set aside
    for name in ("circle", "square"):
        (folder / name).mkdir(parents=True)
        Image.fromarray(np.full((32, 32, 3), len(name), np.uint8)).save(folder / name / "0.png")
    fill_in_a_tiny_run(app)
    app.selectbox(key="train_source").select("own").run()
    app.text_input(key="train_source_path").input(str(folder))
    app.number_input(key="train_subset").set_value(0)
    app.number_input(key="train_validation_fraction").set_value(0.0)
    app.button(key="train_check_data").click().run()  # said before anything trains
    assert [w.value for w in app.warning] == [
        "The batch of 32 is larger than the 2 training images: every epoch is a single "
        "optimizer step.",
        "No images are held out for validation (the validation share is 0): the run has no "
        "validation accuracy, and best.keras keeps the epoch with the best training accuracy.",
        common.NO_TEST_IMAGES,
    ]
    app.button(key="train_start").click().run()
    assert training.current_job().wait(120)
    app.run()
    no_problems(app)
    assert runs.list_runs()[0].data["num_test"] == 0
    assert [i.value for i in app.info] == [f"Run finished. {common.NO_TEST_IMAGES}"]


def test_train_and_architecture_keep_their_settings_while_you_visit_another_page(app):
    fill_in_a_tiny_run(app)
    app.number_input(key="train_conv_filters_2").set_value(12)
    app.button(key="train_preview").click().run()  # any of the form's buttons commits it
    app.switch_page("pages/architecture.py").run()
    app.selectbox(key="arch_preset").select("cifar_small").run()
    app.number_input(key="arch_width").set_value(0.5).run()
    app.switch_page("pages/runs.py").run()  # Streamlit forgets the widgets of pages not shown
    app.switch_page("pages/train.py").run()
    kept = {k: app.session_state[f"train_{k}"] for k in ("source", "preset", "subset", "epochs")}
    assert kept == {"source": "sample", "preset": "tiny", "subset": 256, "epochs": 1}
    assert app.number_input(key="train_conv_filters_2").value == 12
    app.switch_page("pages/architecture.py").run()
    no_problems(app)
    assert app.selectbox(key="arch_preset").value == "cifar_small"
    assert app.number_input(key="arch_width").value == 0.5


def widgets_by_key(at: AppTest) -> dict:
    """Every number box, select box, checkbox and toggle on the page, by key."""
    found = [*at.number_input, *at.selectbox, *at.checkbox, *at.toggle]
    return {w.key: w for w in found if w.key}


def test_every_setting_of_train_and_architecture_says_what_it_means(app):
    app.run().switch_page("pages/train.py").run()
    on_train = widgets_by_key(app)
    fields = [*train_form.MODEL_FIELDS, *train_form.TRAIN_FIELDS, "two_gpus", "pooling"]
    helps = [on_train[train_form.key(field)].help for field in fields]
    assert all(h and len(h) > 40 for h in helps), dict(zip(fields, helps, strict=True))
    assert len(set(helps)) == len(helps)  # no text pasted onto two settings
    app.switch_page("pages/architecture.py").run()
    on_arch = widgets_by_key(app)
    knobs = ["image_size", "input_size", "classes", "width", "fc_units", "dropout",
             "normalization", "activation", "pooling", "shift", "flip", "two_gpus"]  # fmt: skip
    for knob in knobs:
        assert len(on_arch[f"arch_{knob}"].help or "") > 40, knob
    assert on_arch["arch_width"].help == on_train["train_width"].help  # one text, two pages
    assert on_train["train_learning_rate"].label == "Learning rate"
    # Runs names each setting that differs as Train does; these few Train leaves to the preset.
    configs = (config.ModelConfig, config.TrainConfig)
    fields = {field.name for kind in configs for field in dataclasses.fields(kind)}
    unnamed = {field for field in fields if not help_texts.on_train(field)}
    assert unnamed == {"mean", "std", "conv_padding", "norm_after"}


def test_train_warns_that_a_preset_made_for_a_gpu_takes_hours_on_this_cpu(app, monkeypatch):
    monkeypatch.setattr(system, "gpu_names", lambda: [])  # whatever this machine has
    app.run().switch_page("pages/train.py").run()
    heavy = [w.value for w in app.warning if w.value.startswith("No GPU here")]
    assert app.selectbox(key="train_preset").value == "cifar_small" and not heavy
    for preset, times, epochs in [("paper", 36, 90), ("tutorial", 62, 50), ("cifar_gpu", 15, 40)]:
        app.selectbox(key="train_preset").select(preset).run()
        no_problems(app)
        (heavy,) = [w.value for w in app.warning if w.value.startswith("No GPU here")]
        assert f"`{preset}` as shipped does {times}× the multiply-adds" in heavy
        assert f"its {epochs} epochs over CIFAR-10's 45,000 training images" in heavy
    app.selectbox(key="train_preset").select("tiny").run()
    assert not [w for w in app.warning if w.value.startswith("No GPU here")]
    monkeypatch.setattr(system, "gpu_names", lambda: ["GPU:0 (NVIDIA H200)"])
    app.selectbox(key="train_preset").select("paper").run()
    assert not [w for w in app.warning if w.value.startswith("No GPU here")]


def as_figure_one(run: runs.RunInfo, activation: str, dataset: str = "sample") -> None:
    """Rewrite a copied run's config.json as a figure-1 run of `activation` on `dataset`."""
    model_config, train_config = figure_one.configs(activation)
    train_config = dataclasses.replace(train_config, dataset=dataset)
    (run.path / "config.json").write_text(json.dumps({
        "model": config.config_to_dict(model_config),
        "training": config.config_to_dict(train_config),
    }))  # fmt: skip


def test_train_sets_up_the_papers_figure_one_and_starts_it_as_set(app, finished_run):
    elsewhere = "20000109-000000-cifar_small"  # the newest relu run, but on other data
    as_figure_one(copy_of(finished_run, elsewhere), "relu", "elsewhere")
    app.run().switch_page("pages/train.py").run()
    app.selectbox(key="train_source").select("sample").run()
    app.selectbox(key="train_preset").select("tiny").run()
    assert not [i for i in app.info if "figure 1" in i.value]
    app.button(key="train_figure_one").click().run()
    no_problems(app)
    (said,) = [i.value for i in app.info if "figure 1" in i.value]
    assert "Start a run with Activation relu and one with tanh" in said
    assert app.selectbox(key="train_preset").value == "cifar_small"
    assert app.selectbox(key="train_activation").value == "relu"
    assert app.selectbox(key="train_normalization").value == "none"
    assert app.number_input(key="train_dropout").value == 0
    assert app.number_input(key="train_learning_rate").value == 0.01
    assert app.number_input(key="train_subset").value == 10_000
    app.number_input(key="train_epochs").set_value(20)  # longer: still the figure's comparison
    app.number_input(key="train_weight_decay").set_value(0.0005)
    app.button(key="train_estimate").click().run()  # a form's boxes count from its next click
    assert not [i for i in app.info if "figure 1" in i.value], "no longer the figure's settings"
    app.number_input(key="train_epochs").set_value(20)
    app.number_input(key="train_weight_decay").set_value(0.0)
    app.selectbox(key="train_activation").select("tanh")
    app.button(key="train_start").click().run()
    no_problems(app)
    job = training.current_job()
    assert [i for i in app.info if "figure 1" in i.value]
    job.stop()  # what matters is what it was started with, not 15 epochs of training
    assert job.wait(timeout=120)
    app.run()
    (val,) = [m for m in app.metric if m.label == "Val accuracy"]
    assert val.help.startswith("None held out (Validation share 0)")
    run = runs.read_run(job.run_dir)
    model_config, train_config = figure_one.configs("tanh")
    assert run.model_config == model_config
    assert run.train_config == dataclasses.replace(train_config, dataset="sample", epochs=20)
    shutil.rmtree(job.run_dir)  # whether its stop came before its first batch or after
    relu = copy_of(finished_run, "20000102-000000-cifar_small")
    as_figure_one(relu, "relu")  # a relu run on this data: the note asks for tanh alone
    app.run()
    no_problems(app)
    (said,) = [i.value for i in app.info if "figure 1" in i.value]
    assert (
        f"Its finished relu run on this data: {relu.run_id}. Start a run with Activation tanh;"
        in said
    )
    tanh = copy_of(finished_run, "20000103-000000-cifar_small")
    as_figure_one(tanh, "tanh")
    app.run()
    (said,) = [i.value for i in app.info if "figure 1" in i.value]
    assert said.endswith(f"on this data: relu {relu.run_id} and tanh {tanh.run_id}; Runs' "
                         "*Show figure 1* draws them.")  # fmt: skip
    as_figure_one(copy_of(finished_run, "20000110-000000-cifar_small"), "tanh", "elsewhere")
    app.run()  # Show figure 1 now draws the newer pair, on the other data
    (said,) = [i.value for i in app.info if "figure 1" in i.value]
    assert said.endswith(f"and tanh {tanh.run_id}; choose both on Runs to compare them.")


def test_architecture_sends_its_network_to_train_and_train_estimates_it(app):
    app.run().switch_page("pages/architecture.py").run()
    app.selectbox(key="arch_preset").select("tiny").run()
    app.number_input(key="arch_width").set_value(2.0)
    app.number_input(key="arch_conv_kernels_1").set_value(5)
    app.toggle(key="arch_flip").set_value(True)
    app.selectbox(key="arch_pooling").select("non_overlapping").run()
    app.button(key="arch_train").click().run()
    no_problems(app)
    assert app.get("title")[0].proto.body == "Train"  # it went on to Train
    app.switch_page("pages/train.py").run()  # AppTest's own next run would go back to it
    assert app.selectbox(key="train_preset").value == "tiny"
    assert app.number_input(key="train_width").value == 2.0
    assert app.number_input(key="train_conv_kernels_1").value == 5
    assert app.checkbox(key="train_augment_flip").value
    assert app.selectbox(key="train_pooling").value == "non_overlapping"
    assert app.number_input(key="train_epochs").value == presets.train_preset("tiny").epochs
    app.selectbox(key="train_source").select("sample").run()
    app.number_input(key="train_subset").set_value(64)
    app.button(key="train_estimate").click().run()  # the network as set on Architecture
    no_problems(app)
    assert any(i.value.startswith("About **") for i in app.info)


def test_train_previews_what_flips_and_shifts_do_to_training_images(app):
    fill_in_a_tiny_run(app)
    app.button(key="train_preview").click().run()
    # The tiny preset has none (an earlier test's finished run may show its own info box first)
    assert any("No augmentation" in i.value for i in app.info) and not app.image
    app.checkbox(key="train_augment_flip").check()
    app.number_input(key="train_augment_shift").set_value(3)
    app.button(key="train_preview").click().run()
    no_problems(app)
    sample = data.load_dataset("sample")
    views = [f"view {i}" for i in range(1, 6)]
    expected = [c for y in sample.y_train[:4] for c in (sample.class_names[y], *views)]
    assert [caption for image in app.image for caption in image.captions] == expected
    assert "mirrored at random and shifted by up to 3 px" in app.markdown[-1].value
    assert runs.list_runs() == []  # nothing was started
    app.number_input(key="train_augment_shift").set_value(32)  # as wide as the images
    app.button(key="train_preview").click().run()
    assert not app.exception and "augment_shift" in app.error[0].value


FIGURE = r"([\d.]+ m?s)"  # a duration as duration_text writes one below a minute
ESTIMATE = (rf"About \*\*{FIGURE} per epoch\*\* here for 256 images: {FIGURE} of training "
            rf"steps, {FIGURE} validating 400 images, {FIGURE} saving checkpoints\. 3 epochs "
            rf"take about {FIGURE} in all, with {FIGURE} to build the model's steps before the "
            rf"first batch and {FIGURE} to test 1,000 images at the end\.")  # fmt: skip


def seconds(figure: str) -> float:
    number, unit = figure.split()
    return float(number) / (1000 if unit == "ms" else 1)


def test_train_estimates_a_run_part_by_part_in_units_that_show_them(app):
    fill_in_a_tiny_run(app)  # 256 of the sample's images; it holds out 400 and tests 1,000
    app.number_input(key="train_epochs").set_value(3)
    app.button(key="train_estimate").click().run()
    no_problems(app)
    # Not "About 0 s per epoch"; an earlier test's run may show an info box first.
    text = next(i.value for i in app.info if i.value.startswith("About"))
    found = re.fullmatch(ESTIMATE, text)
    assert found, text
    epoch, train, validate, save, total, build, test = map(seconds, found.groups())
    assert min(epoch, train, validate, save, build, test) > 0, text
    # Each figure is rounded to two significant figures, so the sums hold to about 5%.
    assert epoch == pytest.approx(train + validate + save, rel=0.06), text
    assert total == pytest.approx(build + 3 * epoch + test, rel=0.06), text


def test_train_warns_of_settings_that_train_but_say_little(app):
    fill_in_a_tiny_run(app)
    app.number_input(key="train_subset").set_value(1)
    app.button(key="train_estimate").click().run()
    no_problems(app)
    text = next(i.value for i in app.info if i.value.startswith("About"))
    assert re.fullmatch(r"About .* per epoch\*\* here for 1 image: .*\. 1 epoch takes about "
                        r".* at the end\.", text), text  # fmt: skip
    warned = [w.value for w in app.warning]  # each in a box of its own, as Check the data does
    assert len(warned) == 2, warned
    assert re.fullmatch(r"9 of the 10 classes \(\w+, \w+, \w+, …\) have no image among the 1 "
                        r"training image: the network never learns them\.", warned[0])  # fmt: skip
    assert warned[1] == ("The batch of 32 is larger than the 1 training image: every epoch is a "
                         "single optimizer step.")  # fmt: skip
    app.number_input(key="train_subset").set_value(0)
    app.number_input(key="train_validation_fraction").set_value(0.9)
    app.button(key="train_check_data").click().run()
    no_problems(app)
    assert not [s for s in app.success if "train /" in s.value], "no green tick above a warning"
    summary = next(s.value for s in app.info if "train /" in s.value)
    found = re.search(r"([\d,]+) train / ([\d,]+) validation", summary)
    train, val = (int(n.replace(",", "")) for n in found.groups())
    assert [w.value for w in app.warning] == [
        f"More images are held out for validation ({val:,}) than train ({train:,}): lower the "
        "validation share."
    ]
    app.number_input(key="train_subset").set_value(100)
    app.number_input(key="train_validation_fraction").set_value(0.1)
    app.button(key="train_check_data").click().run()
    assert not app.warning and any("train /" in s.value for s in app.success)
    assert any(c.value.startswith("A run trains on the first 100 of the ") for c in app.caption)
    app.number_input(key="train_conv_kernels_5").set_value(15)  # on tiny's 7x7 conv5 map
    app.button(key="train_estimate").click().run()
    note = ("conv5: its 15x15 kernel sees a 7x7 map, so only 13x13 of its weights ever meet "
            "the map; the others multiply padding zeros, costing time and learning nothing. "
            "Make it 13x13 or smaller.")  # fmt: skip
    assert [w.value for w in app.warning] == [note], "beside the estimate, in a box of its own"
    app.button(key="train_start").click().run()  # legal, so it trains; the run says it again
    assert training.current_job().wait(120)
    app.run()
    no_problems(app)
    assert [c.value for c in app.caption if "weights" in c.value] == [f":material/info: {note}"]


def test_train_splits_a_network_over_two_gpus_as_the_paper_did(app):
    fill_in_a_tiny_run(app)
    assert not app.checkbox(key="train_two_gpus").value
    app.selectbox(key="train_preset").select("paper").run()
    assert app.checkbox(key="train_two_gpus").value, "the paper preset is split"
    app.selectbox(key="train_preset").select("tiny").run()
    app.number_input(key="train_subset").set_value(256)
    app.number_input(key="train_epochs").set_value(1)
    app.checkbox(key="train_two_gpus").check()
    app.number_input(key="train_width").set_value(0.6)  # conv1: 5 filters, which 2 do not divide
    app.button(key="train_start").click().run()
    assert "conv2 is split into 2 groups, so its 5 input" in app.error[0].value
    assert runs.list_runs() == []
    app.number_input(key="train_width").set_value(1.0)
    app.button(key="train_start").click().run()
    no_problems(app)
    assert training.current_job().wait(timeout=120)
    (run,) = runs.list_runs()
    assert run.status == "finished" and run.model_config.two_gpus
    assert checkpoints.load_checkpoint(run.path, "best").get_layer("conv4").kernel.shape == (
        3,
        3,
        8,
        16,
    )


def test_train_makes_the_papers_comparisons_and_sets_each_convolution(app):
    fill_in_a_tiny_run(app)
    app.selectbox(key="train_preset").select("paper").run()  # a preset fills these in
    assert [app.selectbox(key=f"train_{k}").value for k in ("normalization", "pooling")] == [
        "lrn",
        "overlapping",
    ]
    assert app.checkbox(key="train_norm_before_pool").value  # the paper: LRN, then pool
    assert app.checkbox(key="train_augment_flip").value  # and its crops and mirror images
    assert app.number_input(key="train_augment_shift").value == 2
    app.selectbox(key="train_preset").select("tiny").run()
    assert app.selectbox(key="train_pooling").value == "overlapping"  # tiny pools 3x3/2
    app.number_input(key="train_subset").set_value(256)
    app.number_input(key="train_epochs").set_value(1)
    app.selectbox(key="train_activation").select("tanh")
    app.selectbox(key="train_normalization").select("lrn")
    app.selectbox(key="train_pooling").select("non_overlapping")
    app.checkbox(key="train_norm_before_pool").uncheck()  # pool, then normalise
    app.number_input(key="train_conv_kernels_1").set_value(5)
    app.number_input(key="train_conv_filters_2").set_value(12)
    app.button(key="train_start").click().run()
    no_problems(app)
    assert training.current_job().wait(timeout=120)
    (run,) = runs.list_runs()
    assert run.status == "finished"
    built = checkpoints.load_checkpoint(run.path, "best")
    assert built.get_layer("conv1").activation.__name__ == "tanh"
    assert type(built.get_layer("norm1")).__name__ == "LocalResponseNormalization"
    assert built.get_layer("pool1").pool_size == (2, 2) and run.model_config.pool_stride == 2
    order = [layer.name for layer in built.layers]
    assert order.index("pool1") < order.index("norm1") and not run.model_config.norm_before_pool
    assert built.get_layer("conv1").kernel.shape == (5, 5, 3, 8)
    assert built.get_layer("conv2").kernel.shape == (3, 3, 8, 12)


def test_train_a_tiny_run_live_then_find_it_in_runs(app, cache_dir):
    other = AppTest.from_file(str(APP), default_timeout=60)  # a second tab, open before the run
    fill_in_a_tiny_run(other)
    fill_in_a_tiny_run(app)
    app.number_input(key="train_label_smoothing").set_value(0.1)
    app.button(key="train_start").click().run()
    no_problems(app)
    job = training.current_job()
    assert job is not None and job.snapshot().active

    assert "skipping the rest of this one" in app.button(key="train_stop").help
    assert app.button(key="train_pause").help.startswith("Holds the run after this batch")
    app.button(key="train_pause").click().run()  # hold it so a second Start meets a busy job
    poll(app, lambda at: any(b.key == "train_resume" for b in at.button))
    assert app.button(key="train_resume").help == "Goes on from the batch it paused at."
    box = app.text_input(key=f"train_lr_{job.run_id}")
    assert box.value == "", "empty: a rate drawn here would go stale as the schedule moves"
    box.input("2e-2")
    app.button(key="train_lr_apply").click().run()
    assert app.button(key="train_start").disabled, "one run trains at a time"
    assert any(c.value.startswith("Start comes back when run") for c in app.caption)
    other.button(key="train_start").click().run()  # its Start was drawn before the run began
    assert other.button(key="train_start").disabled, "the click redraws it as it is now"
    assert any(c.value.startswith("Start comes back when run") for c in other.caption)
    assert len(runs.list_runs()) == 1, "a second click starts no second run"
    app.button(key="train_resume").click().run()

    poll(app, lambda at: metric(at, "Loss") != "—")
    assert app.get("plotly_chart"), "the live charts are drawn"
    poll(app, lambda at: any("Test accuracy" in s.value for s in at.success))
    no_problems(app)
    snap = job.snapshot()
    assert snap.status == "finished" and snap.test_accuracy is not None
    assert len(snap.epoch_history) == 1
    assert [e["new"] for e in snap.lr_events] == [0.02]
    progress = app.get("progress")[0].proto.text
    assert f" · {wording.duration_text(snap.duration_s)} of training" in progress
    assert "left" not in progress, "no time left once it ended"
    links = {link.proto.label: link.proto.query_string for link in app.get("page_link")}
    assert list(links) == ["Compare it in Runs", "See its feature maps", "Classify images with it",
                           "Evaluate it on the test set"]  # fmt: skip
    assert set(links.values()) == {f"run={snap.run_id}"}, "each opens its page on this run"
    assert "0.02" in app.get("plotly_chart")[0].proto.spec, "the lr change is marked"
    assert "loss, with label smoothing 0.1" in app.get("plotly_chart")[0].proto.spec
    curves = json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]
    assert {a["text"]: a["y"] for a in curves if "chance" in a["text"]} == {
        "chance (ln 10 = 2.30)": pytest.approx(2.302585), "chance (10%)": 0.1}  # fmt: skip
    (loss,) = [m for m in app.metric if m.label == "Loss"]
    assert "includes label smoothing (0.1)" in loss.proto.help

    reloaded = AppTest.from_file(str(APP), default_timeout=60)  # a reload: a new session
    reloaded.run()
    reloaded.switch_page("pages/train.py").run()
    no_problems(reloaded)
    assert metric(reloaded, "Images/s") != "—"
    # The form for a new run starts from this run's settings, not from a preset's.
    assert reloaded.selectbox(key="train_preset").value == "tiny"
    assert reloaded.selectbox(key="train_source").value == "sample"
    assert reloaded.number_input(key="train_subset").value == 256
    assert reloaded.number_input(key="train_epochs").value == 1
    assert reloaded.number_input(key="train_label_smoothing").value == 0.1
    charts = [chart.proto.spec for chart in reloaded.get("plotly_chart")]
    assert any("images per second" in spec for spec in charts), "the speed chart is redrawn"

    app.switch_page("pages/runs.py").run()
    no_problems(app)
    table = app.dataframe[0].value
    assert list(table["run"]) == [snap.run_id]
    first = ["run", "status", "epochs", "test acc %", "best val acc %"]  # what each run reached
    assert list(table.columns[:5]) == first  # before how it was set up: at 1280 px the rest scrolls
    assert table["status"][0] == "finished"
    assert table["test acc %"][0] == pytest.approx(100 * snap.test_accuracy)
    (event,) = snap.lr_events
    changed = f"from step {event['step']} (set in epoch 1): {event['old']:.3g} to 0.02;"
    assert any(changed in caption.value for caption in app.caption), "One run lists it"

    app.switch_page("pages/train.py").run()  # the run that ended goes on from the Train page
    more = app.number_input(key=f"train_continue_epochs_{snap.run_id}")
    assert more.value == 5, "a run that trained all it planned: 5 more"
    more.set_value(1).run()
    continue_button(app, "train").click().run()
    no_problems(app)
    assert training.current_job() is not job and training.current_job().wait(timeout=120)
    assert runs.read_run(job.run_dir).epochs_done == 2
    app.run()  # ended: the Continue box is drawn again, with the number chosen before
    assert app.number_input(key=f"train_continue_epochs_{snap.run_id}").value == 1
    assert continue_button(app, "train").label == "Continue 1 more epoch (to 3)"
    # Another tab trains a run to its end: this page's button, drawn for the first run, must
    # not continue that one (it is the current job by the time of the click).
    stale = continue_button(app, "train")
    other = train_tiny(runs.runs_root(), cache_dir, **TINY_RUN)
    stale.click().run()
    no_problems(app)
    assert training.current_job().run_dir == other and not training.current_job().active
    assert runs.read_run(other).epochs_done == 1 and runs.read_run(job.run_dir).epochs_done == 2


def test_a_stop_clicked_after_the_run_ended_says_so(app):
    fill_in_a_tiny_run(app)
    app.button(key="train_start").click().run()
    app.button(key="train_pause").click().run()
    poll(app, lambda at: any(b.key == "train_resume" for b in at.button))
    job = training.current_job()
    job.stop()  # the run ends between the page's last redraw and the click
    assert job.wait(timeout=120)
    app.button(key="train_stop").click().run()
    no_problems(app)
    assert [t.value for t in app.toast] == ["The run had already stopped before the click."]


def test_train_takes_a_tiny_rate_as_typed_and_refuses_what_is_no_rate(app):
    """One cycle starts at a 25th of its peak: 4e-7 here. The box is text: a number box's
    +/- step and bounds had no room for rates like these."""
    fill_in_a_tiny_run(app)
    app.selectbox(key="train_schedule").select("one_cycle")
    app.number_input(key="train_learning_rate").set_value(1e-5)
    app.button(key="train_start").click().run()
    job = training.current_job()
    job.pause()  # honoured after the first batch, which sets the scheduled rate
    poll(app, lambda at: job.snapshot().status == "paused" and job.snapshot().batch_history)
    rate = job.snapshot().learning_rate
    assert rate == pytest.approx(1e-5 / 25, rel=0.1)

    reloaded = AppTest.from_file(str(APP), default_timeout=60)  # a new tab draws it first
    reloaded.run().switch_page("pages/train.py").run()
    no_problems(reloaded)
    assert f"learning rate {rate:.3g}" in reloaded.get("progress")[0].proto.text
    reloaded.button(key="train_lr_apply").click().run()
    empty = "Type a learning rate above 0 first, such as 0.005 or 5e-3."
    assert not reloaded.exception and reloaded.error[0].value == empty
    for typed in ("0", "-1e-3", "fast", "nan"):
        reloaded.text_input(key=f"train_lr_{job.run_id}").input(typed)
        reloaded.button(key="train_lr_apply").click().run()
        assert not reloaded.exception and reloaded.error[0].value == empty, typed
    assert job.snapshot().requested_rate is None, "nothing was set"
    reloaded.text_input(key=f"train_lr_{job.run_id}").input(f" {rate / 2!r} ")
    reloaded.button(key="train_lr_apply").click().run()
    no_problems(reloaded)
    assert reloaded.toast[0].value == f"Learning rate set to {rate / 2:g} from the next batch"
    reloaded.run()  # paused: the rate now, and the one the next batch takes up
    progress = reloaded.get("progress")[0].proto.text
    assert f"learning rate {rate:.3g} ({rate / 2:.3g} from the next batch)" in progress
    assert not progress.endswith(" left"), "a paused run has no time left to count down"
    job.stop()


def test_a_failed_run_shows_its_message_not_a_traceback(app):
    fill_in_a_tiny_run(app)
    app.number_input(key="train_learning_rate").set_value(10.0)  # SGD at 10 diverges in steps
    app.button(key="train_start").click().run()
    poll(app, lambda at: bool(at.error))
    assert not app.exception
    assert app.error[0].value.startswith("Training failed: The loss diverged")
    assert "Traceback" not in app.error[0].value
    assert "no checkpoint was saved (no epoch had finished)" in app.error[0].value
    links = [(link.proto.label, link.proto.page) for link in app.get("page_link")]
    assert [label for label, _ in links] == ["Compare it in Runs"], "nothing saved to look in"
    snap = training.current_job().snapshot()
    assert snap.status == "failed"
    assert metric(app, "Loss") == f"{snap.batch_history[-1]['loss']:.4g}"  # not 20 digits
    app.switch_page("pages/runs.py").run()
    assert continue_button(app, "runs").disabled, "no epoch was saved to go on from"
    assert app.error[0].value.startswith("The loss diverged"), "One run says why it failed"


def test_a_runs_folder_that_cannot_be_written_is_a_message_on_start(app, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("a file where the runs folder's parent should be")
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "a-file" / "runs"))
    fill_in_a_tiny_run(app)
    app.button(key="train_start").click().run()
    assert not app.exception
    said = [e.value for e in app.error]  # (an earlier test's job may still show its own)
    assert any(s.startswith("Nothing was started: a run folder cannot be written in") for s in said)
    assert training.current_job() is None or not training.current_job().active
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "a-file"))
    app.switch_page("pages/runs.py").run()
    assert [e.value for e in app.error] == [
        f"{tmp_path / 'a-file'} is a file, not a folder: no run can be kept there. Point "
        "ALEXNET_RUNS_DIR at a folder."
    ], "not 'No runs yet'"


def test_runs_and_train_say_where_a_stop_cut_an_epoch_before_a_continue(app, tmp_path, cache_dir):
    path = train_tiny(tmp_path / "runs", cache_dir, **{**TINY_RUN, "epochs": 2})
    history = path / "history.csv"
    lines = history.read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    full = first[header.index("batches")]
    first[header.index("batches")] = "3"  # as if a stop came there and a continue went on
    history.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    said = (f"A stop came 3 of {full} batches into epoch 1; the run went on from epoch 2, "
            "skipping epoch 1's other batches.")  # fmt: skip
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    assert any(said == caption.value for caption in app.caption)
    assert snapshot.stopped_earlier(run_logs.load_history(path)) == [(1, 3, int(full))]
    last_cut = run_logs.load_history(path)[:1]  # a stop in the last epoch is cut_short's to tell
    assert snapshot.stopped_earlier([{**last_cut[0], "batches": 3}]) == []


def test_a_run_stopped_before_its_first_epoch_ended_is_trained_again_from_runs(app):
    settings = dict(dataset="sample", train_subset=256, epochs=2, seed=7, learning_rate=0.02)
    train = dataclasses.replace(presets.train_preset("tiny"), **settings)
    job = training.start_training(presets.preset("tiny").replace(width=2.0), train)
    job.stop()  # while it builds the model: before its first batch
    assert job.wait(timeout=60)
    assert runs.read_run(job.run_dir).epochs_done == 0 and job.snapshot().status == "stopped"
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    assert "Its first epoch never finished" in " ".join(c.value for c in app.caption)
    assert continue_button(app, "runs").disabled
    app.button(key="runs_again").click().run()
    no_problems(app)
    assert app.get("title")[0].proto.body == "Train"
    app.switch_page("pages/train.py").run()  # AppTest's own next run would go back to Runs
    expected = {"source": "sample", "preset": "tiny", "train_subset": 256, "epochs": 2,
                "seed": 7, "learning_rate": 0.02, "width": 2.0}  # fmt: skip
    assert {field: app.session_state[train_form.key(field)] for field in expected} == expected
    assert app.number_input(key="train_seed").value == 7 and not app.exception

    app.selectbox(key="train_source").select(train_form.OWN_DATA).run()  # then, another run:
    written = json.loads((job.run_dir / "config.json").read_text())
    written["training"]["dataset"] = "auto"  # what auto found then need not be here now
    (job.run_dir / "config.json").write_text(json.dumps(written))
    app.switch_page("pages/runs.py").run()
    app.button(key="runs_again").click().run()
    app.switch_page("pages/train.py").run()
    assert app.selectbox(key="train_source").value == data.default_source()  # not "own"


def test_runs_compares_and_deletes_with_confirmation(app, finished_run):
    run = copy_of(finished_run)
    other = copy_of(finished_run, "20000101-000000-tiny")  # older: listed second
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    assert app.multiselect(key="runs_compare").value == [run.run_id, other.run_id]
    chart = app.get("plotly_chart")[0].proto.spec
    assert run.run_id in chart
    accuracy, count = run.test_accuracy, run.data["num_test"]
    adjusted = (accuracy * count + 2) / (count + 4)  # Agresti-Coull: two right, two wrong added
    listed = f"{accuracy:.1%} ±{196 * (adjusted * (1 - adjusted) / (count + 4)) ** 0.5:.1f}"
    (said,) = [c.value for c in app.caption if c.value.startswith("Test accuracy, each with")]
    assert f"alone: {run.run_id} {listed}; {other.run_id} {listed}. A difference within" in said

    assert app.button(key="runs_delete").disabled, "deleting needs the confirmation first"
    status = run.path / "status.json"
    finished = status.read_text()
    running = {**json.loads(finished), "status": "running", "pid": os.getppid()}  # alive
    running.pop("process_start", None)  # the trainer's, not our parent's
    status.write_text(json.dumps(running))
    app.run()  # as if another process, our parent, were training it
    assert app.checkbox(key=f"runs_delete_confirm_{run.run_id}").disabled
    assert app.button(key="runs_delete").disabled
    assert f"{run.run_id} is running: stop it on the Train page" in app.caption[-1].value
    assert any(c.value.startswith("Training now: these figures are as of its last finished")
               for c in app.caption)  # fmt: skip
    assert app.dataframe[0].value.set_index("run").loc[run.run_id, "status"] == "running"
    labels = {b.key: b.proto.label for b in app.get("download_button")}
    assert labels["runs_download_model"] == "best.keras", "no epoch: the next may replace it"
    # Neither the epochs left nor where a continue would end: the next epoch would change them
    # while the page stays drawn.
    assert continue_button(app, "runs").label == "Continue once it has ended"
    assert continue_button(app, "runs").disabled
    assert not [box for box in app.number_input if box.key.startswith("runs_continue_epochs")]
    status.write_text(finished)
    app.run()
    labels = {b.key: b.proto.label for b in app.get("download_button")}
    assert labels["runs_download_model"] == "best.keras (epoch 1)"
    assert not app.checkbox(key=f"runs_delete_confirm_{run.run_id}").disabled
    app.checkbox(key=f"runs_delete_confirm_{run.run_id}").check().run()
    app.selectbox(key="runs_selected").select(other.run_id).run()  # a tick is for one run only
    assert not app.checkbox(key=f"runs_delete_confirm_{other.run_id}").value
    assert app.button(key="runs_delete").disabled
    app.checkbox(key=f"runs_delete_confirm_{other.run_id}").check().run()
    app.button(key="runs_delete").click().run()
    no_problems(app)
    assert [r.run_id for r in runs.list_runs()] == [run.run_id]
    assert [s.value for s in app.success] == [f"Deleted {other.run_id} and its checkpoints."]
    assert not app.warning, "a run deleted on purpose is not reported as gone missing"
    assert app.selectbox(key="runs_selected").value == run.run_id
    assert not app.checkbox(key=f"runs_delete_confirm_{run.run_id}").value
    app.checkbox(key=f"runs_delete_confirm_{run.run_id}").check().run()
    app.button(key="runs_delete").click().run()
    no_problems(app)
    assert runs.list_runs() == []
    assert any("No runs yet" in i.value for i in app.info)
    assert [s.value for s in app.success] == [f"Deleted {run.run_id} and its checkpoints."]
    app.run()
    assert not app.success, "said once"


def test_runs_never_calls_training_accuracy_validation_accuracy(
    app, tmp_path, cache_dir, finished_run
):
    unsplit = train_tiny(tmp_path / "runs", cache_dir, **{**TINY_RUN, "validation_fraction": 0})
    info = runs.read_run(unsplit)
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    assert app.dataframe[0].value["best val acc %"].isna().all()
    label = "Best training accuracy"
    assert metric(app, label) == f"{info.best_accuracy:.1%}"
    assert app.segmented_control(key="runs_metric").value == "accuracy", "none has val accuracy"
    assert info.run_id in app.get("plotly_chart")[0].proto.spec
    app.segmented_control(key="runs_metric").set_value("val_accuracy").run()
    assert not app.get("plotly_chart"), "an empty val_accuracy chart is drawn"
    assert any("no validation split" in i.value for i in app.info)
    split = copy_of(finished_run)  # beside a run with validation, the chart says who is missing
    app.segmented_control(key="runs_metric").set_value("val_accuracy").run()
    app.multiselect(key="runs_compare").set_value([info.run_id, split.run_id]).run()
    no_problems(app)
    spec = app.get("plotly_chart")[0].proto.spec
    assert split.run_id in spec and info.run_id not in spec
    assert any(f"No val accuracy curve for {info.run_id}" in c.value for c in app.caption)
    app.segmented_control(key="runs_metric").set_value("batch_error").run()
    no_problems(app)
    spec = app.get("plotly_chart")[0].proto.spec
    assert split.run_id in spec and info.run_id in spec and "training error" in spec
    app.switch_page("pages/classify.py").run()
    described = app.selectbox(key="classify_run").options[0]
    assert described.endswith(f"train acc {info.best_accuracy:.1%}"), described


def test_runs_continues_a_run_and_lists_a_damaged_folder(app, finished_run):
    run = copy_of(finished_run)
    broken = runs.runs_root() / "broken-run"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    unfinished = runs.runs_root() / "stopped-in-epoch-1"  # no curve to compare
    shutil.copytree(run.path, unfinished)
    status = json.loads((unfinished / "status.json").read_text())
    (unfinished / "status.json").write_text(
        json.dumps({**status, "status": "stopped", "epochs_done": 0})
    )
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    assert app.multiselect(key="runs_compare").value == [run.run_id], "runs with a curve"
    shutil.rmtree(unfinished)
    app.run()
    table = app.dataframe[0].value
    assert dict(zip(table["run"], table["status"], strict=True)) == {
        run.run_id: "finished",
        "broken-run": "damaged",
    }
    assert table.set_index("run")["optimizer"]["broken-run"] == "—", "not None"
    assert app.dataframe[0].proto.placeholder == "—", "nor for its missing numbers"
    assert any("broken-run is damaged" in w.value for w in app.warning)
    assert app.selectbox(key="runs_selected").value == run.run_id, "a readable run comes first"

    app.selectbox(key="runs_selected").select(run.run_id)
    app.number_input(key=f"runs_continue_epochs_{run.run_id}").set_value(1).run()
    continue_button(app, "runs").click().run()  # continues, then opens the Train page
    assert not app.exception
    assert any(h.value == f"Run {run.run_id}" for h in app.subheader)
    assert training.current_job().wait(timeout=120)
    assert runs.read_run(run.path).epochs_done == 2


def test_runs_continues_a_run_whose_data_moved_from_where_it_is_now(app, tmp_path, shapes_folder):
    settings = dataclasses.replace(presets.train_preset("tiny"), dataset=str(shapes_folder),
                                   epochs=1, validation_fraction=0.2)  # fmt: skip
    job = training.start_training(presets.preset("tiny"), settings, runs_dir=runs.runs_root())
    assert job.wait(timeout=120) and job.snapshot().status == "finished"
    key = f"runs_continue_data_{job.run_id}"
    app.run().switch_page("pages/runs.py").run()
    assert not [box for box in app.text_input if box.key == key], "its data is where it was"
    moved = shapes_folder.rename(tmp_path / "moved")
    app.run()
    box = app.text_input(key=key)
    assert box.label == f"Its data is no longer at {shapes_folder}. Where is it now?"
    continue_button(app, "runs").click().run()
    assert app.error[0].value.endswith(f"{shapes_folder}: no such file or folder")
    app.text_input(key=key).input(f" {moved} ")  # pasted with spaces
    app.number_input(key=f"runs_continue_epochs_{job.run_id}").set_value(1)
    continue_button(app, "runs").click().run()  # continues, then opens the Train page
    no_problems(app)
    assert training.current_job().wait(timeout=120)
    assert runs.read_run(job.run_dir).epochs_done == 2
    assert runs.read_run(job.run_dir).dataset == str(moved)


def test_a_damaged_status_file_or_checkpoint_is_named_and_the_rest_still_used(app, finished_run):
    run = copy_of(finished_run, "lost-status")
    (run.path / "status.json").write_text("garbage")
    best = run.path / "best.keras"
    changed = bytearray(best.read_bytes())  # the same size: only its checksums can tell
    changed[len(changed) // 2] ^= 0xFF
    best.write_bytes(changed)
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    (warning,) = [w.value for w in app.warning if "lost-status is damaged" in w.value]
    assert warning.startswith("lost-status is damaged: status.json is not JSON (Expecting value")
    assert "can still be opened on Feature maps, Classify and Evaluate" in warning
    assert app.dataframe[0].value.set_index("run")["epochs"]["lost-status"] == "?/1", "not 0/1"
    app.switch_page("pages/classify.py").run()
    assert app.selectbox(key="classify_run").value == "lost-status", "its network is offered"
    assert app.selectbox(key="classify_checkpoint_lost-status").value == "best"
    (error,) = [e.value for e in app.error]
    assert error.endswith("best.keras: damaged, its model.weights.h5 does not read back as it "
                          "was saved. Pick another checkpoint above.")  # fmt: skip
    app.selectbox(key="classify_checkpoint_lost-status").select("last").run()
    no_problems(app)  # last.keras is whole: the page works on it


def test_runs_says_which_checkpoints_are_missing_or_damaged(app, finished_run):
    good = copy_of(finished_run)
    gone = copy_of(finished_run, "20000101-000000-tiny")
    for saved in gone.path.glob("*.keras"):
        saved.unlink()
    cut = copy_of(finished_run, "20000102-000000-tiny")
    whole = (cut.path / "best.keras").read_bytes()
    (cut.path / "best.keras").write_bytes(whole[: len(whole) // 2])
    app.run().switch_page("pages/runs.py").run()
    app.selectbox(key="runs_selected").select(gone.run_id).run()
    no_problems(app)
    assert [w.value for w in app.warning] == [
        f"{gone.run_id} has no checkpoint: best.keras and last.keras are gone, so it cannot go "
        "on, and Feature maps, Classify and Evaluate leave it out."
    ]
    assert continue_button(app, "runs").disabled
    assert not [c for c in app.caption if "first epoch never finished" in c.value], "it did"
    app.selectbox(key="runs_selected").select(cut.run_id).run()
    no_problems(app)
    assert [w.value for w in app.warning] == [
        f"{cut.run_id}: best.keras is damaged (not a whole .keras file), so the other pages "
        "open last.keras."
    ]
    assert "runs_download_model" not in [b.key for b in app.get("download_button")]
    assert not continue_button(app, "runs").disabled, "last.keras is whole"
    app.selectbox(key="runs_selected").select(good.run_id).run()
    assert not app.warning
    labels = {b.key: b.proto.label for b in app.get("download_button")}
    assert labels["runs_download_model"] == "best.keras (epoch 1)", "not last.keras"
    assert metric(app, "Test accuracy (last.keras)") == f"{good.test_accuracy:.1%}"
    (tested,) = [m for m in app.metric if m.label == "Test accuracy (last.keras)"]
    count = good.data["num_test"]  # the sample's 1,000 test images
    adjusted = (good.test_accuracy * count + 2) / (count + 4)  # two right and two wrong added
    margin = 1.96 * (adjusted * (1 - adjusted) / (count + 4)) ** 0.5
    said = f"±{100 * margin:.1f} percentage points (95%) from the number of its test images alone"
    said += f" ({count:,})"
    assert said in tested.help


def test_runs_says_which_compared_losses_include_label_smoothing(app, finished_run):
    plain = copy_of(finished_run, "20000101-000000-tiny")
    smoothed = copy_of(finished_run, "20000102-000000-tiny")
    written = json.loads((smoothed.path / "config.json").read_text())
    written["training"]["label_smoothing"] = 0.1
    (smoothed.path / "config.json").write_text(json.dumps(written))
    app.run().switch_page("pages/runs.py").run()
    app.multiselect(key="runs_compare").set_value([plain.run_id, smoothed.run_id]).run()
    app.segmented_control(key="runs_metric").set_value("val_loss").run()
    no_problems(app)
    (said,) = [c.value for c in app.caption if "label smoothing" in c.value]
    assert said.startswith(f"The losses of {smoothed.run_id} include label smoothing")
    assert plain.run_id not in said
    app.segmented_control(key="runs_metric").set_value("val_accuracy").run()
    assert not [c.value for c in app.caption if "label smoothing" in c.value], "not for accuracy"


def test_choices_on_runs_classify_and_evaluate_outlive_a_visit_to_another_page(app, finished_run):
    newer = copy_of(finished_run)
    older = copy_of(finished_run, "20000101-000000-tiny")
    app.run().switch_page("pages/runs.py").run()
    app.multiselect(key="runs_compare").set_value([older.run_id]).run()
    app.segmented_control(key="runs_metric").set_value("loss").run()
    app.selectbox(key="runs_selected").select(older.run_id).run()
    app.switch_page("pages/classify.py").run()
    app.selectbox(key="classify_run").select(older.run_id).run()
    app.toggle(key="classify_use_test").set_value(True).run()
    app.number_input(key="classify_test_count").set_value(2).run()
    app.radio(key="classify_views").set_value("flip").run()
    app.switch_page("pages/evaluate.py").run()
    assert app.selectbox(key="evaluate_run").value == newer.run_id, "each page its own run"
    app.radio(key="evaluate_views").set_value("ten").run()
    app.switch_page("pages/home.py").run()  # Streamlit forgets the widgets of pages not shown

    app.switch_page("pages/runs.py").run()
    no_problems(app)
    assert app.multiselect(key="runs_compare").value == [older.run_id]
    assert app.segmented_control(key="runs_metric").value == "loss"
    assert app.selectbox(key="runs_selected").value == older.run_id
    app.switch_page("pages/classify.py").run()
    assert app.selectbox(key="classify_run").value == older.run_id
    assert app.radio(key="classify_views").value == "flip"
    assert app.number_input(key="classify_test_count").value == 2
    assert len(app.dataframe[0].value) == 2
    app.switch_page("pages/evaluate.py").run()
    no_problems(app)
    assert app.radio(key="evaluate_views").value == "ten"


def test_damaged_run_files_are_named_and_the_rest_of_the_page_works(app, finished_run):
    good = copy_of(finished_run)
    bad_history = copy_of(finished_run, "20000101-000001-tiny")
    (bad_history.path / "history.csv").write_bytes(b"epoch,loss\n1,\xff\xfe\n")
    bad_rates = copy_of(finished_run, "20000101-000002-tiny")
    (bad_rates.path / "lr_events.json").write_text("[{")
    bad_batches = copy_of(finished_run, "20000101-000003-tiny")
    (bad_batches.path / "batches.csv").write_text("step,loss\nfirst,1\n")
    cut = copy_of(finished_run, "20000101-000004-tiny")  # last.keras cut short
    last = cut.path / "last.keras"
    last.write_bytes(last.read_bytes()[:1000])
    odd = copy_of(finished_run, "20000101-000005-tiny")  # a best_metric the app does not know
    status = json.loads((odd.path / "status.json").read_text())
    (odd.path / "status.json").write_text(json.dumps({**status, "best_metric": "val_loss"}))

    app.run().switch_page("pages/runs.py").run()
    everyone = [good, bad_history, bad_rates, bad_batches, cut]
    app.multiselect(key="runs_compare").set_value([r.run_id for r in everyone]).run()
    no_problems(app)
    spec = app.get("plotly_chart")[0].proto.spec
    assert good.run_id in spec and bad_history.run_id not in spec
    (warning,) = [w.value for w in app.warning]
    assert warning.startswith(f"{bad_history.run_id}: damaged, left out of the comparison.")
    assert "history.csv: damaged" in warning
    app.segmented_control(key="runs_metric").set_value("batch_error").run()
    no_problems(app)
    assert [w.value for w in app.warning if "batches.csv: damaged" in w.value]
    assert good.run_id in app.get("plotly_chart")[0].proto.spec

    app.selectbox(key="runs_selected").select(bad_history.run_id).run()
    no_problems(app)
    assert any("its history cannot be shown" in w.value for w in app.warning)
    assert "runs_download_history" not in [b.key for b in app.get("download_button")]
    app.selectbox(key="runs_selected").select(bad_rates.run_id).run()
    no_problems(app)
    assert any("lr_events.json: damaged" in w.value for w in app.warning)
    app.selectbox(key="runs_selected").select(cut.run_id).run()
    no_problems(app)
    assert continue_button(app, "runs").disabled, "last.keras is not a whole file"
    assert any("last.keras is damaged" in w.value for w in app.warning)
    app.selectbox(key="runs_selected").select(good.run_id).run()
    assert not continue_button(app, "runs").disabled

    app.switch_page("pages/classify.py").run()  # the odd best_metric is named neutrally
    no_problems(app)
    described = app.selectbox(key="classify_run").options
    assert any(d.startswith(odd.run_id) and " · best " in d for d in described), described


def test_the_checkpoint_picker_starts_at_a_whole_checkpoint(app, finished_run):
    run = copy_of(finished_run)
    best = run.path / "best.keras"
    best.write_bytes(best.read_bytes()[:1000])  # cut short: last.keras is the one to load
    app.run().switch_page("pages/classify.py").run()
    no_problems(app)
    picker = app.selectbox(key=f"classify_checkpoint_{run.run_id}")
    history = run_logs.load_history(run.path)
    score = f"val acc {history[-1]['val_accuracy']:.1%}"
    assert picker.options == [f"best · epoch 1, {score} (damaged)", f"last · epoch 1, {score}"]
    assert picker.value == "last"
    picker.select("best").run()
    assert not app.exception and "best.keras: damaged" in app.error[0].value


def test_evaluate_says_whose_figures_differ_from_the_runs_page(app, finished_run):
    run = copy_of(finished_run)
    app.run().switch_page("pages/evaluate.py").run()
    app.button(key="evaluate_start").click().run()
    no_problems(app)
    # best.keras is epoch 1's, the last epoch's: last.keras's weights, and Train's figure
    assert metric(app, "Top-1 accuracy") == f"{run.test_accuracy:.1%}", "the same weights"
    assert not [c for c in app.caption if c.value.startswith("These are")], "nothing to explain"
    app.radio(key="evaluate_views").set_value("flip").run()
    app.button(key="evaluate_start").click().run()
    said = [c.value for c in app.caption if c.value.startswith("These are")]
    assert said == [f"These are epoch 1's figures, over several views. Train, Runs and the "
                    f"sidebar give the final weights' (last.keras, epoch 1, one view of each "
                    f"image): {run.test_accuracy:.1%}."]  # fmt: skip
    (run.path / "last.keras").unlink()  # deleted by hand since: the figure stands, the file not
    app.run()
    said = [c.value for c in app.caption if c.value.startswith("These are")]
    assert "final weights' (epoch 1, one view" in said[0]


def test_one_run_lists_its_rate_changes_and_says_a_continue_keeps_the_last(app, finished_run):
    run = copy_of(finished_run)
    events = [
        {"step": 3, "epoch": 1, "old": 0.01, "new": 0.05},
        {"step": 9, "epoch": 2, "old": 0.05, "new": 0.2},
    ]  # epoch 2: not in last.keras
    (run.path / "lr_events.json").write_text(json.dumps(events))
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    said = [c.value for c in app.caption]
    assert (
        "Learning rate changed by hand from step 3 (set in epoch 1): 0.01 to 0.05; from step 9 "
        "(set in epoch 2): 0.05 to 0.2; the schedule gave way to it."
    ) in said
    assert (
        "It goes on at the learning rate set by hand, 0.05, not the schedule's; set another "
        "while it trains."
    ) in said
    (run.path / "lr_events.json").unlink()
    app.run()
    assert not [c for c in app.caption if c.value.startswith("It goes on at")]


def test_one_run_says_when_a_stop_cut_its_last_epoch_short(app, finished_run):
    run = copy_of(finished_run)  # one epoch, as if a stop came after 3 of its 8 batches
    status = json.loads((run.path / "status.json").read_text())
    (run.path / "status.json").write_text(json.dumps({**status, "cut_short": [1, 3, 8]}))
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    expected = "The stop came 3 of 8 batches into epoch 1"
    assert any(c.value.startswith(expected) for c in app.caption)


def test_one_run_says_what_data_it_trained_on_and_what_was_left_out(app, finished_run):
    run = copy_of(finished_run)
    settings = json.loads((run.path / "config.json").read_text())
    data = {**settings["dataset"], "left_out": 3, "left_out_first": ["cat/a.txt: not an image"]}
    (run.path / "config.json").write_text(json.dumps({**settings, "dataset": data}))
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    expected = (f"Trained on {data['name']}: {data['num_train']:,} train / "
                f"{data['num_val']:,} validation / {data['num_test']:,} test images, "
                "10 classes, 3 left out.")  # fmt: skip
    assert expected in [c.value for c in app.caption]
    left_out = app.get("expander")[0]
    assert left_out.label == "3 left out of its data"
    assert left_out.code[0].value == "cat/a.txt: not an image\n... and 2 more"


def test_runs_lists_only_the_settings_that_differ(app, finished_run):
    run = copy_of(finished_run)
    other = copy_of(finished_run, "20000101-000000-tiny")
    app.run().switch_page("pages/runs.py").run()
    assert any("started with the same settings" in c.value for c in app.caption)
    settings = json.loads((other.path / "config.json").read_text())
    settings["training"]["learning_rate"] = 0.5
    (other.path / "config.json").write_text(json.dumps(settings))
    app.run()
    no_problems(app)
    assert len(app.dataframe) == 2  # the runs, and the settings that differ
    differ = app.dataframe[1].value
    assert list(differ.index) == ["learning rate"]
    rate = run.train_config.learning_rate
    assert differ.loc["learning rate"].tolist() == ["Learning rate", str(rate), "0.5"]
    legend = [trace["name"] for trace in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]]
    assert legend == [f"{run.run_id} · learning rate {rate}", f"{other.run_id} · learning rate 0.5"]

    settings["model"]["activation"] = "tanh"  # two runs named -tiny: the table tells them apart
    (other.path / "config.json").write_text(json.dumps(settings))
    table = app.run().dataframe[0].value.set_index("run")["changed from the preset"]
    trained = "epochs 1, train subset 256"  # TINY_RUN; its batch and validation are the preset's
    assert table.to_dict() == {
        run.run_id: trained,
        other.run_id: "activation tanh, epochs 1, learning rate 0.5, train subset 256",
    }
    settings["training"]["seed"] += 1  # a third difference: the legend keeps to two
    (other.path / "config.json").write_text(json.dumps(settings))
    app.segmented_control(key="runs_metric").set_value("batch_error").run()
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in chart["data"]] == [
        f"{run.run_id} · activation relu, learning rate {rate}, …",
        f"{other.run_id} · activation tanh, learning rate 0.5, …",
    ]  # in the table's order, model first
    levels = {a["text"]: a["y"] for a in chart["layout"]["annotations"]}
    assert levels == {"25%: the paper's figure 1": 0.25, "chance (90%)": 0.9}, "ten classes"
    settings["model"].update(augment_flip=True, conv_kernels=[5, 3, 3, 3, 3])  # tiny: off, 3s
    (other.path / "config.json").write_text(json.dumps(settings))
    differ = app.run().dataframe[1].value  # as words, not as Python's True and (3, 3, ...)
    assert differ.loc["augment flip"].tolist() == ["Random flips", "off", "on"]
    assert differ.loc["conv kernels"].tolist() == ["Each convolution: kernel", "3/3/3/3/3",
                                                   "5/3/3/3/3"]  # fmt: skip
    settings["training"]["image_size"] = 40  # a field of both configs: the data's, here
    (other.path / "config.json").write_text(json.dumps(settings))
    differ = app.run().dataframe[1].value
    assert differ.loc["image size (training)"].tolist() == ["Image size (data)", "32", "40"]
    assert "image size (model)" not in differ.index, "the network's input is still 32"


def test_runs_says_when_each_run_fell_to_the_figures_error(app, finished_run):
    """The runs' histories are set to known numbers: an oracle for the epochs and seconds."""
    relu = copy_of(finished_run)
    tanh = copy_of(finished_run, "20000101-000000-tiny")
    settings = json.loads((tanh.path / "config.json").read_text())
    settings["model"]["activation"] = "tanh"
    (tanh.path / "config.json").write_text(json.dumps(settings))
    header = "epoch,loss,accuracy,seconds\n"
    (relu.path / "history.csv").write_text(header + "1,2.0,0.50,10\n2,1.0,0.80,12\n")
    (tanh.path / "history.csv").write_text(header + "1,2.0,0.60,20\n")
    app.run().switch_page("pages/runs.py").run()
    app.multiselect(key="runs_compare").set_value([relu.run_id, tanh.run_id])
    app.segmented_control(key="runs_metric").set_value("batch_error").run()
    no_problems(app)
    (said,) = [c.value for c in app.caption if c.value.startswith("Down to 25% training error")]
    # Epoch means: the smoothed batch curves lag behind them, and the caption says so.
    assert "; the curves, averaged over the last batches, can reach it later or not at all):" in (
        said
    )
    assert said.endswith(
        f"{relu.run_id} · activation relu: by the end of epoch 2, after 22 s "
        f"of training; {tanh.run_id} · activation tanh: not in its 1 epoch."
    )
    (tanh.path / "history.csv").write_text(header + "1,2.0,0.76,30\n")
    app.run()
    (said,) = [c.value for c in app.caption if c.value.startswith("Down to 25% training error")]
    assert said.endswith(f"activation tanh: by the end of epoch 1, after 30 s of training, 0.5× "
                         f"the epochs of {relu.run_id} · activation relu.")  # fmt: skip
    (tanh.path / "history.csv").write_text("epoch,loss,seconds\n1,2.0,30\n")  # no accuracy
    app.run()
    no_problems(app)  # the chart stays; the caption leaves the run out and a warning says why
    (said,) = [c.value for c in app.caption if c.value.startswith("Down to 25% training error")]
    assert "activation tanh" not in said
    (warning,) = [w.value for w in app.warning]
    assert warning == (f"{tanh.run_id}: damaged, so when it fell to 25% is not said. "
                       "history.csv: epoch 1 has no training accuracy")  # fmt: skip
    assert tanh.run_id in app.get("plotly_chart")[0].proto.spec
    app.segmented_control(key="runs_metric").set_value("accuracy").run()
    assert not [c for c in app.caption if c.value.startswith("Down to 25%")], "figure 1's only"


def test_runs_shows_the_newest_figure_one_pair_in_one_click(app, finished_run):
    relu = copy_of(finished_run, "20000101-000000-cifar_small")
    older_tanh = copy_of(finished_run, "20000102-000000-cifar_small")
    tanh = copy_of(finished_run, "20000103-000000-cifar_small")
    as_figure_one(relu, "relu")
    app.run().switch_page("pages/runs.py").run()
    assert not [b for b in app.button if b.key == "runs_figure_one"], "one activation only"
    as_figure_one(older_tanh, "tanh")
    as_figure_one(tanh, "tanh")
    copy_of(finished_run)  # the newest run, but not set up as figure 1
    elsewhere = copy_of(finished_run, "20000104-000000-cifar_small")
    as_figure_one(elsewhere, "tanh", "/data/cifar10.zip")  # newer, but on other data
    unfinished = copy_of(finished_run, "20000105-000000-cifar_small")  # stopped short
    as_figure_one(unfinished, "tanh")
    status = json.loads((unfinished.path / "status.json").read_text())
    (unfinished.path / "status.json").write_text(json.dumps({**status, "status": "stopped"}))
    app.run()
    assert app.multiselect(key="runs_compare").value != [relu.run_id, tanh.run_id]
    show = app.button(key="runs_figure_one")
    assert f"{relu.run_id} (relu) and {tanh.run_id} (tanh)" in show.help
    show.click().run()
    no_problems(app)
    assert app.multiselect(key="runs_compare").value == [relu.run_id, tanh.run_id]
    assert app.segmented_control(key="runs_metric").value == "batch_error"
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in chart["data"]] == [
        f"{relu.run_id} · activation relu",
        f"{tanh.run_id} · activation tanh",
    ]


def test_a_link_from_train_opens_its_page_on_the_run_it_names(app, finished_run):
    run = copy_of(finished_run)
    older = copy_of(finished_run, "20000101-000000-tiny")
    for page, key in (("classify", "classify_run"), ("inside", "inside_run"),
                      ("evaluate", "evaluate_run"), ("runs", "runs_selected")):  # fmt: skip
        app.run().switch_page(f"pages/{page}.py").run()
        assert app.selectbox(key=key).value == run.run_id  # the newest, at first
        app.query_params["run"] = older.run_id  # as Train's "See its feature maps" link says
        app.run()
        no_problems(app)
        assert app.selectbox(key=key).value == older.run_id
        assert "run" not in app.query_params, "followed once"
        app.selectbox(key=key).select(run.run_id).run()
        assert app.selectbox(key=key).value == run.run_id, "then the user's choice counts"


def test_a_page_says_when_the_run_it_showed_or_a_link_names_is_gone(app, finished_run):
    run = copy_of(finished_run)
    older = copy_of(finished_run, "20000101-000000-tiny")
    for page, key in (("evaluate", "evaluate_run"), ("runs", "runs_selected")):
        app.run().switch_page(f"pages/{page}.py").run()
        app.selectbox(key=key).select(older.run_id).run()
        shutil.rmtree(older.path)  # deleted elsewhere: another tab, the file manager
        app.run()
        no_problems(app)
        assert app.selectbox(key=key).value == run.run_id
        notes = [w.value for w in app.warning]
        assert f"Run {older.run_id} is not here any more" in " ".join(notes)
        assert f"showing {run.run_id}" in " ".join(notes)
        app.run()
        assert not any(older.run_id in w.value for w in app.warning), "said once"
        app.query_params["run"] = "20000101-000000-nothing"  # an old link
        app.run()
        assert app.selectbox(key=key).value == run.run_id
        notes = " ".join(w.value for w in app.warning)
        assert "The link's run 20000101-000000-nothing is not here" in notes
        assert "run" not in app.query_params
        shutil.copytree(finished_run, older.path)  # back, for the next page


def stopped_after_one(finished_run, planned: int) -> tuple[runs.RunInfo, dict]:
    """A copy of the finished 1-epoch run that planned `planned` epochs (so it was stopped after
    the first), and its config.json's settings."""
    run = copy_of(finished_run)
    settings = json.loads((run.path / "config.json").read_text())
    settings["training"]["epochs"] = planned
    (run.path / "config.json").write_text(json.dumps(settings))
    return run, settings


def test_continue_offers_the_epochs_a_stopped_run_had_left(app, finished_run):
    run, settings = stopped_after_one(finished_run, 4)
    app.run().switch_page("pages/runs.py").run()
    no_problems(app)
    more = app.number_input(key=f"runs_continue_epochs_{run.run_id}")
    assert more.value == 3
    assert more.help == "It planned 4 epochs and has trained 1."
    assert continue_button(app, "runs").label == "Continue 3 more epochs (to 4)"
    assert not [c for c in app.caption if "planned again" in c.value], "a constant rate"

    settings["training"].update(schedule="one_cycle", epochs=1, learning_rate=0.05)
    (run.path / "config.json").write_text(json.dumps(settings))  # ended, annealed to 0
    app.run()
    app.number_input(key=f"runs_continue_epochs_{run.run_id}").set_value(4).run()
    said = [c.value for c in app.caption if "planned again" in c.value]
    rate = schedule.learning_rate_at(config.TrainConfig(**settings["training"]), 1, 5)
    assert said == [f"Its one_cycle schedule is planned again over 5 epochs: it goes on at a "
                    f"learning rate of {rate:.3g}, where it ended at nearly 0, so its loss may "
                    "rise for a while before it falls again."]  # fmt: skip


def test_continue_offers_the_epochs_of_now_once_the_run_went_on_elsewhere(app, finished_run):
    run, _ = stopped_after_one(finished_run, 2)
    app.run().switch_page("pages/runs.py").run()
    assert continue_button(app, "runs").label == "Continue 1 more epoch (to 2)"
    job = continuation.continue_training(run.path, 1)  # from another tab, or the command line
    assert job.wait(timeout=120) and job.snapshot().status == "finished"
    app.run()
    no_problems(app)
    assert continue_button(app, "runs").label == "Continue 5 more epochs (to 7)", "not 1 more"


def test_a_margin_of_a_share_reads_in_percentage_points():
    assert wording.points_text(0.0284) == "±2.8 percentage points"  # not ±2.8%: relative?
    assert wording.points_text(0.00784) == "±0.8 percentage points"


def test_a_continue_says_how_a_schedule_planned_over_the_run_is_planned_again():
    one_cycle = presets.train_preset("cifar_small")  # 9 epochs of one-cycle at 0.05
    assert wording.replanned_text(one_cycle, 9, 5) == (
        "Its one_cycle schedule is planned again over 14 epochs: it goes on at a learning rate "
        "of 0.0208, where it ended at nearly 0, so its loss may rise for a while before it "
        "falls again."
    )
    assert wording.replanned_text(one_cycle, 5, 4) == "", "the rest of a run a stop cut short"
    cosine = dataclasses.replace(one_cycle, schedule="cosine", epochs=10)
    assert wording.replanned_text(cosine, 8, 4) == (  # 0.05 · (1 + cos(π·8/12)) / 2
        "Its cosine schedule is planned again over 12 epochs: it goes on at a learning rate of "
        "0.0125, where it ended at 0.00477, so its loss may rise for a while before it falls "
        "again."
    )
    assert wording.replanned_text(presets.train_preset("paper"), 30, 10) == ""  # step: by epoch


def test_a_legend_entry_names_first_what_tells_its_run_from_the_others():
    # Two runs of one preset and a third of another: the preset does not tell the first two
    # apart, their epochs and subsets do.
    differ = pd.DataFrame(
        {"a": {"model.preset": "tiny", "training.epochs": "2", "training.train_subset": "0"},
         "b": {"model.preset": "cifar_small", "training.epochs": "2",
               "training.train_subset": "3000"},
         "c": {"model.preset": "cifar_small", "training.epochs": "5",
               "training.train_subset": "0"}}
    )  # fmt: skip
    assert run_details.legend_names(differ) == {
        "a": "a · preset tiny, epochs 2, …",  # ties keep the table's order
        "b": "b · train subset 3000, preset cifar_small, …",
        "c": "c · epochs 5, preset cifar_small, …",
    }
    assert run_details.legend_names(differ, most=3)["b"] == (
        "b · train subset 3000, preset cifar_small, epochs 2"
    )
