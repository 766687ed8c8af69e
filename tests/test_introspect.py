"""Feature maps, filters and top-activating images, checked against direct computations."""

import keras
import numpy as np
import pytest

from alexnet_core import filters, introspect, vision_charts
from alexnet_core.images import resize_image
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS
from alexnet_core.report import plan_layers

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    return build_alexnet(PRESETS["tiny"])


@pytest.fixture(scope="module")
def lrn_model():
    """LRN norms and overlapping pools, paper-style, to cover the other layer kinds."""
    keras.utils.set_random_seed(2)
    return build_alexnet(PRESETS["tiny"].replace(normalization="lrn", norm_after=(True,) * 5))


def direct_maps(model, layer_name, images):
    sub_model = keras.Model(model.input, model.get_layer(layer_name).output)
    return sub_model.predict(images, verbose=0)


def test_predictions_layer_equals_model_predict(model):
    image = IMAGES[0]
    expected = model.predict(image[None], verbose=0)[0]
    np.testing.assert_allclose(
        introspect.feature_maps(model, image, "predictions"), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("fixture", ["model", "lrn_model"])
def test_every_feature_layer_has_its_output_shape(fixture, request):
    net = request.getfixturevalue(fixture)
    names = introspect.feature_layer_names(net)
    assert names[0] == "conv1" and any(n.startswith("norm") for n in names)
    every = introspect.all_feature_maps(net, IMAGES[1])
    assert list(every) == names
    direct = keras.Model(net.input, [net.get_layer(n).output for n in names])(IMAGES[1:2])
    for name, expected in zip(names, direct, strict=True):
        single = introspect.feature_maps(net, IMAGES[1], name)
        assert single.shape == tuple(net.get_layer(name).output.shape[1:]), name
        np.testing.assert_allclose(every[name], single, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(single, np.asarray(expected)[0], rtol=1e-4, atol=1e-4)


def test_conv_kernels_are_the_layer_weights(model):
    kernels = filters.conv_kernels(model, "conv1")
    np.testing.assert_array_equal(kernels, model.get_layer("conv1").get_weights()[0])
    images = filters.kernel_images(kernels)
    assert images.shape == (8, 3, 3, 3) and images.dtype == np.uint8
    assert (images.reshape(8, -1).min(axis=1) == 0).all()
    assert (images.reshape(8, -1).max(axis=1) == 255).all()
    deeper = filters.conv_kernels(model, "conv2")  # (3, 3, 8, 16)
    slices = filters.kernel_slices(deeper, 5)
    assert slices.shape == (8, 3, 3, 3) and slices.min() == 0 and slices.max() == 255
    np.testing.assert_array_equal(slices[..., 0], slices[..., 2])  # gray
    slices = slices[..., 0]
    # One scale for the whole filter: the order of the weights survives.
    weights = np.moveaxis(deeper[..., 5], 2, 0)
    assert np.argmax(slices) == np.argmax(weights) and np.argmin(slices) == np.argmin(weights)
    with pytest.raises(ValueError, match="kernel_slices"):
        filters.kernel_images(deeper)
    with pytest.raises(ValueError, match="Conv2D"):
        filters.conv_kernels(model, "pool1")


def test_colour_share_is_the_energy_outside_the_grey_part():
    edge = np.zeros((3, 3, 3, 1))
    edge[:, 0], edge[:, 2] = 1.0, -1.0  # the same vertical edge in every channel: grey
    opponent = np.zeros((3, 3, 3, 1))
    opponent[..., 0, 0], opponent[..., 1, 0] = 1.0, -1.0  # red against green: colour alone
    red = np.zeros((3, 3, 3, 1))
    red[..., 0, 0] = 1.0  # red alone: grey part 1/3 per pixel, colour part (2/3, -1/3, -1/3)
    kernels = np.concatenate([edge, opponent, red, np.zeros((3, 3, 3, 1))], axis=3)
    np.testing.assert_allclose(filters.colour_share(kernels), [0, 1, 2 / 3, 0], atol=1e-6)
    with pytest.raises(ValueError, match="expected"):
        filters.colour_share(np.zeros((3, 3, 8, 4)))


def test_which_groups_a_conv_layers_filters_feed():
    split = build_alexnet(PRESETS["tiny"].with_gpus(2))  # conv2, conv4 and conv5 grouped
    feeds = [filters.feeds_groups(split, f"conv{i}") for i in range(1, 6)]
    assert feeds == [2, 1, 2, 2, 1]
    one = build_alexnet(PRESETS["tiny"])
    assert [filters.feeds_groups(one, f"conv{i}") for i in range(1, 6)] == [1] * 5


@pytest.mark.parametrize(
    "layer_name, channel", [("conv2", 3), ("pool2", 0), ("norm5", 7), ("fc7", 2)]
)
def test_top_activating_images_have_the_highest_activations(model, layer_name, channel):
    found = introspect.top_activating(model, IMAGES, layer_name, channel, k=9, batch_size=16)
    maps = direct_maps(model, layer_name, IMAGES)[..., channel].reshape(len(IMAGES), -1)
    best = maps.max(axis=1)
    assert [i for i, _, _ in found] == list(np.argsort(-best, kind="stable")[:9])
    np.testing.assert_allclose([v for _, v, _ in found], np.sort(best)[::-1][:9], rtol=1e-4)
    for _, _, (top, left, bottom, right) in found:
        assert 0 <= top < bottom <= 32 and 0 <= left < right <= 32


@pytest.mark.parametrize("layer_name", ["conv1", "pool1", "conv2", "pool2", "conv5"])
def test_receptive_box_covers_every_pixel_the_unit_depends_on(lrn_model, layer_name):
    """Changing every pixel outside the box leaves the unit's activation unchanged."""
    image = IMAGES[2]
    maps = introspect.feature_maps(lrn_model, image, layer_name)
    row, col = maps.shape[0] // 2, maps.shape[1] // 3
    top, left, bottom, right = introspect.receptive_box(lrn_model, layer_name, row, col)
    assert bottom - top < 32 or layer_name == "conv5"  # a real window, not the whole image
    changed = 255 - image
    changed[top:bottom, left:right] = image[top:bottom, left:right]
    after = introspect.feature_maps(lrn_model, changed, layer_name)
    np.testing.assert_allclose(after[row, col], maps[row, col], rtol=1e-4, atol=1e-5)
    assert not np.allclose(after, maps)  # the change did reach other units


def test_receptive_box_of_the_paper_conv1():
    paper = build_alexnet(PRESETS["paper"].replace(num_classes=10, fc_units=8))
    # 11x11 kernels at stride 4 with 'valid' padding: unit (2, 3) sees rows 8..18, cols 12..22.
    assert introspect.receptive_box(paper, "conv1", 2, 3) == (8, 12, 19, 23)
    # After the 3x3 stride-2 pool: 3 conv1 units = 11 + 2 * 4 = 19 pixels, from 2 * 2 * 4.
    assert introspect.receptive_box(paper, "pool1", 2, 0) == (16, 0, 35, 19)
    # The architecture report's receptive fields, from the config alone, are the sides of the
    # central unit's box (which the image's edges do not cut), and the widths usually quoted
    # for AlexNet.
    plan = plan_layers(PRESETS["paper"])
    quoted = {"conv1": 11, "pool1": 19, "conv2": 51, "pool2": 67, "conv3": 99, "conv4": 131,
              "conv5": 163, "pool5": 195}  # fmt: skip
    for name in introspect.feature_layer_names(paper):
        centre = plan.row(name).output_shape[0] // 2
        top, left, bottom, right = introspect.receptive_box(paper, name, centre, centre)
        assert bottom - top == right - left == plan.row(name).receptive_field
        assert plan.row(name).receptive_field == quoted.get(name, quoted.get(f"conv{name[-1]}"))
    assert plan.row("fc6").receptive_field is None


def test_network_input_without_and_with_resizing(model):
    image = IMAGES[3]
    np.testing.assert_array_equal(introspect.network_input(model, image), image)
    stats = introspect.network_input_stats(model, image)
    config = PRESETS["tiny"]
    expected = ((image / 255.0 - config.mean) / config.std).reshape(-1, 3)
    np.testing.assert_allclose(stats["mean"], expected.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(stats["max"], expected.max(axis=0), rtol=1e-4)

    upsampled = build_alexnet(PRESETS["tiny"].replace(input_size=48))
    seen = introspect.network_input(upsampled, image)
    assert seen.shape == (48, 48, 3) and seen.dtype == np.uint8
    # Bilinear upsampling keeps the average colour.
    np.testing.assert_allclose(seen.mean(axis=(0, 1)), image.mean(axis=(0, 1)), atol=3)


def test_bad_arguments_are_refused(model):
    with pytest.raises(ValueError, match="no layer named 'conv9'"):
        introspect.feature_maps(model, IMAGES[0], "conv9")
    with pytest.raises(ValueError, match="uint8 RGB"):
        introspect.feature_maps(model, IMAGES[0].astype(np.float32), "conv1")
    with pytest.raises(ValueError, match="channel 99"):
        introspect.top_activating(model, IMAGES, "conv1", 99)
    with pytest.raises(ValueError, match="unit_maxima: got no images to search"):
        introspect.unit_maxima(model, IMAGES[:0], "conv1")  # an empty test split
    with pytest.raises(ValueError, match="tile_images: got no images"):
        introspect.tile_images(IMAGES[:0], columns=4)


def test_other_image_sizes_are_resized(model):
    big = np.repeat(np.repeat(IMAGES[4], 2, axis=0), 2, axis=1)  # 64x64
    maps = introspect.feature_maps(model, big, "conv1")
    assert maps.shape == (32, 32, 8)
    # The maps of the image resized as the data loader and the Classify page resize images.
    expected = direct_maps(model, "conv1", resize_image(big, 32)[None])[0]
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)
    # Not a crop of the big image: its top-left quarter gives other maps.
    cropped = direct_maps(model, "conv1", big[None, :32, :32])[0]
    assert not np.allclose(maps, cropped, atol=1e-3)


def test_kernel_images_keep_each_filters_colours_on_its_own_scale():
    """A filter of red weights comes out red; one filter's scale is not another's."""
    kernels = np.zeros((2, 2, 3, 2), np.float32)
    kernels[..., 0, 0] = 0.5  # filter 0: red only, on a ground of zeros in green and blue
    kernels[0, 0, 2, 1], kernels[1, 1, 2, 1] = -4.0, 4.0  # filter 1: blue, a wider range
    red, blue = filters.kernel_images(kernels)
    assert (red[..., 0] == 255).all() and (red[..., 1:] == 0).all()
    assert blue[0, 0].tolist() == [128, 128, 0] and blue[1, 1].tolist() == [128, 128, 255]


def test_the_overview_shows_each_layers_strongest_channels():
    maps = np.zeros((4, 4, 6), np.float32)
    maps[..., 2], maps[..., 5], maps[..., 0] = 3.0, 2.0, 1.0  # means 3, 2, 1: the strongest
    maps[0, 0, :] += np.arange(6)  # and no channel is flat
    fig = vision_charts.overview({"conv1": maps}, k=3)
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["conv1 · 2", "conv1 · 5", "conv1 · 0"]


def test_strongest_channels():
    maps = np.zeros((4, 4, 5))
    maps[..., 3], maps[..., 1], maps[0, 0, 4] = 2.0, 1.0, 5.0
    assert introspect.strongest_channels(maps, 3) == [3, 1, 4]


def test_feature_grid_tiles_hold_each_channels_map():
    maps = RNG.random((5, 6, 7))
    fig = vision_charts.feature_grid(maps, sort_by_mean=True, columns=3)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (3 * 5, 3 * 6)
    order = vision_charts.grid_channels(maps, sort_by_mean=True)
    tile = maps[..., order[4]]  # position 4: row 1, column 1
    expected = np.rint((tile - tile.min()) / (tile.max() - tile.min()) * 255)
    np.testing.assert_array_equal(z[5:10, 6:12], expected)
    assert [a.text for a in fig.layout.annotations] == [str(c) for c in order]
    assert list(fig.data[0].colorbar.ticktext) == ["each map's lowest", "each map's highest"]
    assert fig.data[0].colorbar.title.text is None, "a sideways title outgrows one row of tiles"
    assert fig.layout.xaxis.ticks == "" and fig.layout.yaxis.ticks == "", "no stray tick marks"
    covers = [shape for shape in fig.layout.shapes if shape.type == "rect"]
    # 7 tiles in rows of 3: the last row's second and third places are empty, covered white
    assert [(c.x0, c.y0, c.fillcolor) for c in covers] == [
        (5.5, 9.5, "white"),
        (11.5, 9.5, "white"),
    ]

    sixteen = vision_charts.feature_grid(RNG.random((4, 4, 16)))  # two rows of 8, not 12 + 4
    assert np.asarray(sixteen.data[0].z).shape == (2 * 4, 8 * 4)
    assert not [shape for shape in sixteen.layout.shapes if shape.type == "rect"]

    strong = maps.copy()
    strong[..., 6] *= 10  # a channel the grid leaves out
    shared = vision_charts.feature_grid(strong, shared_scale=True, max_channels=4)
    assert "4 of 7 channels" in shared.layout.title.text
    ticks = [float(t) for t in shared.data[0].colorbar.ticktext]
    assert ticks[0] == pytest.approx(strong.min(), rel=1e-2, abs=1e-3)
    assert ticks[-1] == pytest.approx(strong.max(), rel=1e-2), "the whole layer's scale"
    z = np.asarray(shared.data[0].z)
    tile = strong[..., 0]  # unsorted: channel 0 is the first tile
    expected = np.rint((tile - strong.min()) / (strong.max() - strong.min()) * 255)
    np.testing.assert_array_equal(z[:5, :6], expected)


def test_boxes_follow_smaller_images_and_display_helpers(model):
    """A 64x64 model searched over 32x32 images gives boxes in the 32x32 pixels."""
    wide = build_alexnet(PRESETS["tiny"].replace(image_size=64, input_size=64))
    maxima = introspect.unit_maxima(wide, IMAGES[:10], "conv1")
    assert maxima.values.shape == (10, 8) and maxima.image_size == 32
    for _, _, (top, left, bottom, right) in introspect.strongest_images(wide, maxima, 0, k=10):
        assert 0 <= top < bottom <= 32 and 0 <= left < right <= 32 and bottom - top <= 3

    framed = introspect.outlined(IMAGES[0], (2, 3, 6, 9), factor=4)
    assert framed.shape == (128, 128, 3)
    assert (framed[8, 12:36] == [255, 220, 0]).all() and (framed[8:24, 35] == [255, 220, 0]).all()
    mosaic = introspect.tile_images(IMAGES[:5], columns=2, gap=1)
    assert mosaic.shape == (3 * 33 - 1, 2 * 33 - 1, 3)
    np.testing.assert_array_equal(mosaic[33:65, 33:65], IMAGES[3])
    kernels = introspect.enlarge(IMAGES[:8, :3, :3], 21)  # tiny's eight 3x3 conv1 filters
    spaced = introspect.tile_images(kernels, columns=16)  # one row of eight, not of sixteen
    assert spaced.shape == (63, 8 * 63 + 7 * 7, 3), "7-pixel gaps: an eighth of a 63-pixel tile"
    assert (spaced[:, 63:70] == 255).all()
    assert introspect.enlarge(IMAGES[:2], 3).shape == (2, 96, 96, 3)
