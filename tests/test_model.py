"""The model builder and the architecture report, checked against numbers computed by hand."""

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet_core.config import (
    ModelConfig,
    TrainConfig,
    dumps,
    model_config_from_dict,
    train_config_from_dict,
)
from alexnet_core.model import (
    LocalResponseNormalization,
    augment_examples,
    build_alexnet,
    feature_layer_names,
)
from alexnet_core.presets import PRESETS, TRAIN_PRESETS, customised, preset
from alexnet_core.report import plan_layers
from alexnet_core.schedule import learning_rate_at
from tests.conftest import dev_dependency

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def built(name: str) -> keras.Model:
    """Each preset built once for the whole file: the paper's network alone has 61 M weights."""
    return build_alexnet(PRESETS[name])


def conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def test_paper_parameter_count_by_formula_and_by_keras():
    # The paper's two GPUs: conv2, conv4 and conv5 see only their own GPU's half of the maps.
    expected = (
        conv_params(11, 3, 96)
        + conv_params(5, 96 // 2, 256)
        + conv_params(3, 256, 384)
        + conv_params(3, 384 // 2, 384)
        + conv_params(3, 384 // 2, 256)
        + dense_params(6 * 6 * 256, 4096)
        + dense_params(4096, 4096)
        + dense_params(4096, 1000)
    )
    assert expected == 60_965_224
    assert PRESETS["paper"].two_gpus
    assert plan_layers(PRESETS["paper"]).total_params == 60_965_224
    assert built("paper").count_params() == 60_965_224
    assert built("paper").get_layer("conv4").kernel.shape == (3, 3, 192, 384)
    assert plan_layers(PRESETS["paper"]).row("conv2").geometry == "5x5/1 same, 2 groups"
    # On one GPU, as many re-implementations build it, every conv sees every map.
    one_gpu = PRESETS["paper"].with_gpus(1)
    assert one_gpu.conv_groups == (1,) * 5 and not one_gpu.two_gpus
    assert plan_layers(one_gpu).total_params == 62_378_344
    assert one_gpu.with_gpus(2) == PRESETS["paper"]


def test_the_readmes_table_of_the_paper_is_the_reports_markdown():
    table = plan_layers(PRESETS["paper"]).markdown()
    assert table.splitlines()[-1] == "| **total** | | | | **60,965,224** | **724,406,816** |"
    assert "| conv1 | conv | 11x11/4 valid | 55x55x96 | 34,944 | 105,415,200 |" in table
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table in readme
    # The README's own command prints it (after the modules it names moved, say).
    command = re.search(r'`python -c "(from alexnet_core\.report [^"]+)"`', readme)[1]
    printed = subprocess.run([sys.executable, "-c", command], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert printed.stdout.strip() == table, printed.stderr


def test_a_stride_past_its_kernel_is_noted_with_the_share_of_the_input_it_never_sees():
    """The note's share is the share of input pixels whose change leaves conv1's output as it
    was, in Keras: its gradient there is zero."""
    keras.utils.set_random_seed(0)
    config = PRESETS["tiny"].replace(input_size=64, image_size=64, conv_kernels=(2, 3, 3, 3, 3),
                                     conv_strides=(4, 1, 1, 1, 1))  # fmt: skip
    assert plan_layers(config).notes == (
        "conv1: its stride 4 is larger than its 2x2 kernel, so of each 4x4 block of its input "
        "it sees 2x2: 75% of the input never reaches a filter. Make the stride 2 or less.",
    )
    assert plan_layers(config.replace(conv_strides=(2, 1, 1, 1, 1))).notes == ()
    model = build_alexnet(config)
    layer = model.get_layer("conv1")  # from what it receives: the model's input is uint8
    conv1 = keras.Model(layer.input, layer.output)
    seen = tf.Variable(np.random.default_rng(0).normal(size=(1, 64, 64, 3)), dtype="float32")
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(conv1(seen))
    reached = np.abs(tape.gradient(total, seen).numpy()).sum(axis=-1) > 0
    assert 1 - reached.mean() == pytest.approx(0.75)


@pytest.mark.parametrize("stride, kernel, reach", [(1, 33, 29), (2, 31, 29), (4, 31, 27)])
def test_a_kernel_far_larger_than_its_map_is_noted_and_its_other_weights_do_nothing(
    stride, kernel, reach
):
    """conv5 sees a 15x15 map: the note's count of kernel rows that meet it is the count of
    rows whose change changes conv5's output, in Keras."""
    keras.utils.set_random_seed(0)
    config = PRESETS["tiny"].replace(input_size=64, conv_kernels=(3, 3, 3, 3, kernel),
                                     conv_strides=(1, 1, 1, 1, stride))  # fmt: skip
    assert plan_layers(config).notes == (
        f"conv5: its {kernel}x{kernel} kernel sees a 15x15 map, so only {reach}x{reach} of its "
        "weights ever meet the map; the others multiply padding zeros, costing time and "
        f"learning nothing. Make it {reach}x{reach} or smaller.",
    )
    smaller = config.replace(conv_kernels=(3, 3, 3, 3, reach))
    assert plan_layers(smaller).notes == ()
    model = build_alexnet(config)
    layer = model.get_layer("conv5")
    conv5 = keras.Model(model.inputs, layer.output)
    image = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    before = keras.ops.convert_to_numpy(conv5([image]))
    weights, bias = layer.get_weights()
    meeting = 0
    for row in range(kernel):
        changed = weights.copy()
        changed[row] += 1.0
        layer.set_weights([changed, bias])
        after = keras.ops.convert_to_numpy(conv5([image]))
        meeting += not np.allclose(after, before, atol=1e-6)
    assert meeting == reach


def test_grouped_convolutions_need_channels_that_divide():
    with pytest.raises(ValueError) as both:
        PRESETS["paper"].replace(width=0.3)  # 96 and 256 filters at 0.3: 29 and 77
    assert str(both.value) == (
        "conv_groups: conv2 is split into 2 groups, so its 29 input and 77 output channels must "
        "both divide by 2. Make the filters of conv1 and conv2 (after the width multiplier 0.3) "
        "a multiple of 2, or change the width multiplier or the groups (the split over two GPUs)."
    )
    with pytest.raises(ValueError, match="2. Make the filters of conv1 a multiple of 2, or"):
        PRESETS["paper"].replace(conv_filters=(95, 256, 384, 384, 256))  # conv2's inputs
    with pytest.raises(ValueError, match="2. Make the filters of conv4 a multiple of 2, or"):
        PRESETS["paper"].replace(conv_filters=(96, 256, 384, 383, 256))  # conv4's outputs
    with pytest.raises(ValueError, match="conv_groups: got"):
        PRESETS["tiny"].replace(conv_groups=(1, 0, 1, 1, 1))
    # No width helps conv1: it is told so, not to change the width.
    with pytest.raises(ValueError, match="conv1 is split into 2 groups, but it sees the image's "
                       "3 colour channels, which split only into 1 or 3 groups.$"):  # fmt: skip
        PRESETS["paper"].replace(conv_groups=(2, 2, 1, 2, 2))
    assert PRESETS["paper"].replace(conv_groups=(3, 1, 1, 1, 1)).conv_groups[0] == 3
    with pytest.raises(ValueError, match="gpus must be 1 or 2"):
        PRESETS["tiny"].with_gpus(4)


@pytest.mark.parametrize("field", ["conv_filters", "conv_kernels", "conv_strides", "conv_padding",
                                   "pool_sizes", "conv_groups"])  # fmt: skip
def test_a_per_convolution_field_without_five_entries_is_named(field):
    """An empty tuple (a hand-edited config.json, say) is told as the field's mistake, not as
    Python's 'min() arg is an empty sequence'."""
    for value in ((), ("same",) * 2 if field == "conv_padding" else (3, 3)):
        with pytest.raises(ValueError, match=f"^{field}: got {re.escape(repr(value))}, "
                           "expected five entries, one per convolution$"):  # fmt: skip
            PRESETS["tiny"].replace(**{field: value})


def test_the_paper_presets_weight_decay_is_the_papers_through_its_momentum():
    assert TRAIN_PRESETS["paper"].weight_decay == 0.005  # 0.0005 through momentum 0.9
    assert TRAIN_PRESETS["paper"].momentum == 0.9


def test_the_paper_presets_rate_falls_tenfold_three_times_with_plain_momentum():
    """Section 5: momentum 0.9, rate 0.01 divided by 10 three times in about 90 epochs."""
    train = TRAIN_PRESETS["paper"]
    assert not train.nesterov and train.schedule == "step" and train.step_factor == 10
    rates = {learning_rate_at(train, epoch, train.epochs) for epoch in range(train.epochs)}
    assert sorted(rates, reverse=True) == pytest.approx([0.01, 0.001, 0.0001, 0.00001])


def test_the_paper_preset_augments_as_the_paper_did_at_cifars_scale():
    """Mirror images, and shifts as far as a 224 crop of 256 moves a picture: 16/256 of it."""
    paper = PRESETS["paper"].for_dataset(32, 10)  # it trains on CIFAR-10 as loaded, 32x32
    assert paper.augment_flip
    assert paper.augment_shift / paper.image_size == 16 / 256


def test_paper_feature_map_shapes():
    model = built("paper")
    shapes = {
        name: tuple(model.get_layer(name).output.shape[1:])
        for name in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")
    }
    assert shapes == {
        "conv1": (55, 55, 96),
        "pool1": (27, 27, 96),
        "conv2": (27, 27, 256),
        "pool2": (13, 13, 256),
        "conv3": (13, 13, 384),
        "conv4": (13, 13, 384),
        "conv5": (13, 13, 256),
        "pool5": (6, 6, 256),
    }
    assert tuple(model.get_layer("norm1").output.shape[1:]) == (55, 55, 96)


def test_tutorial_parameter_counts():
    model = built("tutorial")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert model.count_params() == 58_324_746
    assert trainable == 58_323_530
    report = plan_layers(PRESETS["tutorial"])
    assert (report.total_params, report.trainable_params) == (58_324_746, 58_323_530)
    assert report.row("resize").output_shape == (227, 227, 3)
    assert report.row("conv1").output_shape == (57, 57, 96)  # 'same', stride 4: ceil(227/4)
    assert report.row("pool5").output_shape == (6, 6, 256)


SMALL = {name: PRESETS[name] for name in sorted(set(PRESETS) - {"paper", "tutorial"})}
SMALL["tiny on two GPUs"] = PRESETS["tiny"].with_gpus(2)


@pytest.mark.parametrize("name", SMALL)
def test_report_matches_keras_for_cifar_presets(name):
    config = SMALL[name]
    model = build_alexnet(config)
    report = plan_layers(config)
    assert report.total_params == model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert report.trainable_params == trainable
    layer_names = {layer.name for layer in model.layers}
    assert {row.name for row in report.rows} <= layer_names  # every row is a layer of the model
    for row in report.rows:
        assert tuple(model.get_layer(row.name).output.shape[1:]) == row.output_shape, row.name


def independent_macs(model: keras.Model) -> int:
    """Multiply-accumulates from the built layers' kernels and output shapes."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += h * w * cout * kh * kw * cin
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


@pytest.mark.parametrize("name", ["paper", "tutorial", "cifar_small", "tiny"])
def test_macs_match_an_independent_count(name):
    assert plan_layers(PRESETS[name]).total_macs == independent_macs(built(name))


def test_paper_costs_724_mega_macs_on_two_gpus_and_1_13_giga_on_one():
    # 724 M multiply-accumulates and 61 M weights: the figures commonly quoted for AlexNet.
    assert plan_layers(PRESETS["paper"]).total_macs == pytest.approx(724e6, rel=0.001)
    assert plan_layers(PRESETS["paper"].with_gpus(1)).total_macs == pytest.approx(1.13e9, rel=0.01)


def test_memory_is_float32_output_size():
    plan = plan_layers(PRESETS["paper"])
    assert plan.row("conv1").memory_bytes == 55 * 55 * 96 * 4  # float32
    assert plan.row("image").memory_bytes == 227 * 227 * 3  # the raw image is uint8


def test_layer_names_are_stable():
    names = [layer.name for layer in built("paper").layers]
    assert names == [
        "image", "rescale", "augment_flip", "augment_shift", "normalize",
        "conv1", "norm1", "pool1", "conv2", "norm2", "pool2", "conv3", "conv4", "conv5", "pool5",
        "flatten", "fc6", "drop6", "fc7", "drop7", "predictions",
    ]  # fmt: skip
    small = built("cifar_small")
    assert {"augment_flip", "augment_shift", "norm5"} <= {layer.name for layer in small.layers}
    tutorial = [layer.name for layer in built("tutorial").layers]
    assert tutorial.index("pool1") < tutorial.index("norm1")  # tutorial: pool, then batch norm
    assert "resize" in tutorial
    assert feature_layer_names(built("paper"))[:3] == ["conv1", "norm1", "pool1"]


def ramps(count: int) -> np.ndarray:
    """uint8 (count, 32, 32, 3) images whose red grows 4 a column and green 4 a row: bilinear
    resampling keeps a linear ramp exact, so a shift shows as a constant difference."""
    y, x = np.mgrid[0:32, 0:32]
    image = np.stack([60 + 4 * x, 60 + 4 * y, np.full_like(x, 128)], axis=-1)
    return np.repeat(image[None].astype(np.uint8), count, axis=0)


def test_augment_examples_are_the_models_flips_and_shifts():
    images = ramps(2)
    flips = augment_examples(PRESETS["tiny"].replace(augment_flip=True), images, 16, seed=1)
    assert flips.shape == (2, 16, 32, 32, 3) and flips.dtype == np.uint8
    mirrored = [np.array_equal(view, images[0][:, ::-1]) for view in flips.reshape(-1, 32, 32, 3)]
    unchanged = [np.array_equal(view, images[0]) for view in flips.reshape(-1, 32, 32, 3)]
    assert all(m != u for m, u in zip(mirrored, unchanged, strict=True)) and 0 < sum(mirrored) < 32

    shifted = augment_examples(PRESETS["tiny"].replace(augment_shift=2), images, 8, seed=1)
    moves = []
    for view in shifted.reshape(-1, 32, 32, 3):
        inside = (view.astype(int) - images[0])[3:-3, 3:-3]  # away from the mirrored edges
        right, down = -inside[..., 0] / 4, -inside[..., 1] / 4  # red and green ramps
        assert np.ptp(right) <= 0.5 and np.ptp(down) <= 0.5, "a shift moves every pixel alike"
        moves.append((right.mean(), down.mean()))
        np.testing.assert_array_equal(inside[..., 2], 0)
    assert np.abs(moves).max() <= 2 + 0.25  # up to 2 pixels (and rounding) either way
    assert np.abs(moves).max() > 0.5 and len({m for m in moves}) > 4  # random, not one shift
    again = augment_examples(PRESETS["tiny"].replace(augment_shift=2), images, 8, seed=1)
    np.testing.assert_array_equal(again, shifted)  # a seed makes them reproducible
    plain = augment_examples(PRESETS["tiny"], images, 3)
    np.testing.assert_array_equal(plain, np.repeat(images[:, None], 3, axis=1))


def test_model_takes_raw_uint8_and_outputs_probabilities():
    model = build_alexnet(PRESETS["tiny"])
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.input.dtype == "uint8"


def test_normalisation_layer_subtracts_the_configured_mean():
    config = PRESETS["tiny"].replace(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    model = build_alexnet(config)
    probe = keras.Model(model.input, model.get_layer("normalize").output)
    grey = np.full((1, 32, 32, 3), 255, dtype=np.uint8)
    np.testing.assert_allclose(probe.predict(grey, verbose=0), 2.0, rtol=1e-5)  # (1-0.5)/0.25


def test_local_response_normalisation_matches_the_paper_formula():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(1, 2, 2, 7)).astype("float32") * 10
    out = np.asarray(LocalResponseNormalization()(a))
    expected = np.empty_like(a)
    for i in range(7):
        lo, hi = max(0, i - 2), min(6, i + 2)
        expected[..., i] = a[..., i] / (2 + 1e-4 * (a[..., lo : hi + 1] ** 2).sum(-1)) ** 0.75
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_saved_model_reloads_in_safe_mode_with_identical_predictions(tmp_path):
    config = PRESETS["tiny"].replace(normalization="lrn", input_size=40).with_gpus(2)
    model = build_alexnet(config)
    images = np.random.default_rng(2).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(images, np.array([0, 1, 2]), epochs=1, verbose=0)  # grouped convolutions train
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert reloaded.get_layer("conv2").kernel.shape == (3, 3, 4, 16)  # 8 input maps, 2 groups
    np.testing.assert_array_equal(
        model.predict(images, verbose=0), reloaded.predict(images, verbose=0)
    )


def test_impossible_configuration_is_refused_with_a_way_out():
    # The paper's 11x11 stride-4 conv1 on raw 32x32 CIFAR images, without resizing.
    config = PRESETS["paper"].replace(image_size=32, input_size=32, num_classes=10)
    with pytest.raises(ValueError) as error:
        plan_layers(config)
    message = str(error.value)
    assert message.startswith("pool2")  # conv1 gives 6x6, pool1 2x2, pool2's 3x3 window fails
    assert "2x2" in message and "input_size" in message
    with pytest.raises(ValueError, match="pool2"):
        build_alexnet(config)
    with pytest.raises(ValueError, match="conv1.*receives 8x8"):
        plan_layers(config.replace(image_size=8, input_size=8))
    assert message.endswith("(input_size, now 32; the paper's 11x11 stride-4 conv1 needs about "
                            "227), or use smaller kernels or strides earlier (strides now: "
                            "conv1 4).")  # fmt: skip


def test_the_way_out_fits_the_layer_and_the_input_size():
    small = PRESETS["paper"].replace(image_size=32, input_size=32, num_classes=10)
    big_kernel = small.replace(conv_kernels=(64, 5, 3, 3, 3))
    with pytest.raises(ValueError) as error:
        plan_layers(big_kernel)  # conv1 has no earlier layers to change
    assert str(error.value).startswith("conv1: the feature map would shrink to nothing")
    assert str(error.value).endswith("needs about 227), or use a smaller kernel.")
    strided = PRESETS["paper"].replace(conv_strides=(16, 1, 1, 1, 1))  # at the paper's 227
    with pytest.raises(ValueError) as error:
        plan_layers(strided)
    assert str(error.value).endswith("(input_size, now 227), or use smaller kernels or strides "
                                     "earlier (strides now: conv1 16).")  # fmt: skip
    tiny = PRESETS["tiny"]  # a 3x3 conv1: no word of the paper's 11x11 one
    with pytest.raises(ValueError) as error:
        plan_layers(tiny.replace(input_size=8))
    assert str(error.value).startswith("pool5") and "paper" not in str(error.value)
    assert str(error.value).endswith("(input_size, now 8), or use smaller kernels or strides "
                                     "earlier.")  # fmt: skip
    with pytest.raises(ValueError) as error:
        plan_layers(tiny.replace(conv_strides=(1, 1, 9, 1, 1)))
    assert str(error.value).startswith("pool5") and "paper" not in str(error.value)
    assert str(error.value).endswith("earlier (strides now: conv3 9).")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dropout": 1.0}, "dropout"),
        ({"width": 0}, "width"),
        ({"normalization": "group"}, "normalization"),
        ({"activation": "gelu"}, "activation"),
        ({"conv_filters": (96, 256)}, "conv_filters"),
        ({"num_classes": 1}, "num_classes"),
        ({"width": float("inf")}, "width"),  # once an OverflowError from round()
        ({"dropout": float("nan")}, "dropout"),
        ({"image_size": 32.5}, "image_size"),
        ({"conv_kernels": [5, 5, 3, 3, 3]}, "conv_kernels"),  # a list is not a setting
        ({"augment_flip": "yes"}, "augment_flip"),
    ],
)
def test_bad_model_fields_name_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        ModelConfig(**changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"epochs": 0}, "epochs"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"schedule": "linear"}, "schedule"),
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"epochs": "3"}, "epochs"),  # once a TypeError
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),  # once accepted, then a failure in the training thread
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_training_fields_name_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        TrainConfig(**changes)


def test_numpy_numbers_become_python_ones_that_json_can_hold():
    settings = TrainConfig(learning_rate=np.float32(0.1), epochs=np.int64(3), seed=np.uint32(7))
    network = ModelConfig(conv_filters=tuple(np.array([8, 8, 8, 8, 8])), width=np.float64(0.5))
    assert type(settings.learning_rate) is float and type(settings.epochs) is int
    assert type(network.conv_filters[0]) is int and type(network.width) is float
    data = json.loads(dumps(network, settings))  # once a TypeError, after the run folder existed
    assert data["training"]["epochs"] == 3 and data["model"]["conv_filters"] == [8] * 5


def test_configs_round_trip_through_json():
    data = json.loads(dumps(PRESETS["tutorial"], TrainConfig(epochs=3)))
    assert model_config_from_dict(data["model"]) == PRESETS["tutorial"]
    paper = json.loads(dumps(PRESETS["paper"]))["model"]
    assert model_config_from_dict(paper) == PRESETS["paper"]
    del paper["conv_groups"]  # a run folder written before the field existed: one GPU
    assert model_config_from_dict(paper) == PRESETS["paper"].with_gpus(1)
    assert train_config_from_dict(data["training"]) == TrainConfig(epochs=3)
    with pytest.raises(ValueError, match="unknown"):
        model_config_from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown preset"):
        preset("vgg")


def test_pooling_knob_switches_between_overlapping_and_not():
    paper = PRESETS["paper"]
    assert paper.pooling == "overlapping"
    flat = paper.with_pooling("non_overlapping")
    assert flat.pool_sizes == (2, 2, 0, 0, 2) and flat.pooling == "non_overlapping"
    assert PRESETS["tutorial"].pooling == "custom"
    assert plan_layers(flat).row("pool1").output_shape == (27, 27, 96)  # (55 - 2) // 2 + 1
    # What the Architecture and Train pages build from their knobs.
    tutorial = PRESETS["tutorial"]
    assert customised("tutorial", False, "custom") == tutorial
    mixed = customised("tutorial", True, "overlapping", activation="tanh")
    assert mixed == tutorial.with_gpus(2).with_pooling("overlapping").replace(activation="tanh")
    with pytest.raises(ValueError, match="pooling must be one of"):
        customised("paper", True, "average")


JAX_SCRIPT = """
import json
from alexnet_core.presets import PRESETS
from alexnet_core.model import build_alexnet
import keras
out = {}
for name in ("paper", "cifar_small"):
    model = build_alexnet(PRESETS[name])
    out[name] = {layer.name: list(layer.output.shape[1:]) for layer in model.layers}
out["backend"] = keras.backend.backend()
print(json.dumps(out))
"""


def test_model_builds_with_the_same_shapes_under_jax():
    dev_dependency("jax")
    # Optimisation level 0: XLA's CPU compiler then builds each weight initialiser about seven
    # times faster (as bench/gpu.sh check does); the shapes are the same at any level.
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_backend_optimization_level=0"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shapes = json.loads(done.stdout.strip().splitlines()[-1])
    assert shapes.pop("backend") == "jax"
    for name, layers in shapes.items():
        model = built(name)
        assert layers == {layer.name: list(layer.output.shape[1:]) for layer in model.layers}
