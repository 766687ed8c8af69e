"""Classification, uploads, Grad-CAM and evaluation, checked against direct computations."""

import csv
import io
import struct
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

from alexnet_core import classify, evaluation, explain, vision_charts
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS

CORNERS = ("top left", "top right", "bottom left", "bottom right")


def corner_images(n, seed):
    """Dim noise with a bright 10x10 square in the corner named by the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        row, col = divmod(int(label), 2)
        image[row * 22 : row * 22 + 10, col * 22 : col * 22 + 10] = 255
    return images, labels


@pytest.fixture(scope="module")
def corner_model():
    """A tiny network that learned to tell the corners apart (a planted signal)."""
    keras.utils.set_random_seed(0)
    model = build_alexnet(PRESETS["tiny"].replace(num_classes=4))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    images, labels = corner_images(384, seed=0)
    model.fit(images, labels, epochs=3, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def test_set():
    return corner_images(24, seed=1)


def png(array, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **save)
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares an enormous image: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_probabilities_sum_to_one_and_top_k_is_sorted(corner_model, test_set):
    prediction = classify.classify(corner_model, test_set[0][0], CORNERS, top_k=3)
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert len(prediction.top) == 3
    probabilities = [p for _, _, p in prediction.top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert prediction.top[0][1] == CORNERS[prediction.top[0][0]] == prediction.label
    expected = corner_model.predict(test_set[0][:1], verbose=0)[0]
    np.testing.assert_allclose(prediction.probabilities, expected, rtol=1e-5, atol=1e-6)


def test_upload_path_equals_model_predict(corner_model, test_set):
    images = test_set[0][:3]
    files = [(f"image{i}.png", png(image)) for i, image in enumerate(images)]
    results = classify.classify_files(corner_model, files, CORNERS, top_k=4)
    expected = corner_model.predict(images, verbose=0)
    for result, image, row in zip(results, images, expected, strict=True):
        assert result.error is None
        np.testing.assert_array_equal(result.image, image)
        np.testing.assert_allclose(result.prediction.probabilities, row, rtol=1e-5, atol=1e-6)


def test_decoded_images_are_resized_then_classified_as_their_files_are(corner_model, test_set):
    images = test_set[0][:2]
    large = [np.asarray(Image.fromarray(image).resize((64, 64), Image.NEAREST)) for image in images]
    named = [("test #0", images[0]), ("test #1 at 64x64", large[1])]
    results = classify.classify_images(corner_model, named, CORNERS, top_k=2, views="flip")
    files = [("a.png", png(images[0])), ("b.png", png(large[1]))]
    expected = classify.classify_files(corner_model, files, CORNERS, top_k=2, views="flip")
    assert [r.name for r in results] == ["test #0", "test #1 at 64x64"]
    for result, wanted in zip(results, expected, strict=True):
        assert result.image.shape == (32, 32, 3)
        np.testing.assert_array_equal(result.image, wanted.image)
        np.testing.assert_allclose(result.view_probabilities, wanted.view_probabilities, atol=1e-6)
    np.testing.assert_array_equal(results[0].image, images[0])  # already the model's size


def test_uploads_over_the_ten_views_average_what_each_view_says(corner_model, test_set):
    images = test_set[0][:2]
    files = [("a.png", png(images[0])), ("broken.png", b"not an image"), ("b.png", png(images[1]))]
    results = classify.classify_files(corner_model, files, CORNERS, top_k=4, views="ten")
    assert [r.error is None for r in results] == [True, False, True]
    assert results[1].view_probabilities is None
    for result, image in zip([results[0], results[2]], images, strict=True):
        views = classify.view_batches(image[None], "ten")
        expected = np.stack([corner_model.predict(view, verbose=0)[0] for view in views])
        assert result.view_probabilities.shape == (10, 4)
        np.testing.assert_allclose(result.view_probabilities, expected, atol=1e-6)
        np.testing.assert_allclose(result.prediction.probabilities, expected.mean(0), atol=1e-6)
    single = classify.classify_files(corner_model, files[:1], CORNERS)[0]
    assert single.view_probabilities.shape == (1, 4)
    calls = []  # one image's ten views are one batch: one pass through the network
    classify.view_probabilities(
        corner_model, images[:1], "ten", progress=lambda *c: calls.append(c)
    )
    assert calls == [(10, 10)]


def bad_uploads(image: np.ndarray) -> dict:
    """name -> (file bytes, expected: 'error' or a function checking the decoded image)."""
    rgb = Image.fromarray(image)
    transparent = np.dstack([image, np.full((32, 32), 255, np.uint8)])
    transparent[:4, :4, 3] = 0
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    first, second = Image.new("RGB", (32, 32), (200, 30, 30)), Image.new("RGB", (32, 32), "blue")
    gray16 = (image[..., 0].astype(np.uint16) * 257).astype(np.uint16)

    def same(expected):
        return lambda decoded: np.testing.assert_array_equal(decoded, expected)

    def close(expected, atol):
        return lambda decoded: np.testing.assert_allclose(decoded, expected, atol=atol)

    gray = np.repeat(image[..., :1], 3, axis=2)
    luminance = rgb.convert("L")
    white_corner = image.copy()
    white_corner[:4, :4] = 255
    return {
        "notes.txt": (b"this is not an image", "error"),
        "empty.png": (b"", "error"),
        "truncated.png": (png(image)[:200], "error"),
        "bomb.png": (png_claiming_size(60_000, 60_000), "error"),
        "sixteen_bit.png": (encoded(Image.fromarray(gray16), "PNG"), same(gray)),
        "cmyk.tif": (encoded(rgb.convert("CMYK"), "TIFF"), same(image)),
        "palette.png": (encoded(rgb.quantize(256), "PNG"), close(image, 80)),
        "rgba.png": (png(transparent), same(white_corner)),
        "grayscale.png": (encoded(luminance, "PNG"), same(np.dstack([luminance] * 3))),
        "animated.gif": (
            encoded(first, "GIF", save_all=True, append_images=[second], duration=100),
            same(np.broadcast_to(np.array([200, 30, 30], np.uint8), (32, 32, 3))),
        ),
        "rotated.png": (png(image, exif=exif), same(np.rot90(image, k=-1))),
        "photo.jpg": (encoded(rgb, "JPEG", quality=95), close(image, 60)),
        "photo.webp": (encoded(rgb, "WEBP", lossless=True), same(image)),
        "photo.bmp": (encoded(rgb, "BMP"), same(image)),
    }


def test_every_bad_upload_gets_its_outcome_and_does_not_stop_the_others(corner_model, test_set):
    image = test_set[0][5]
    cases = bad_uploads(image)
    good = ("first_good.png", png(test_set[0][0]))
    files = [good] + [(name, data) for name, (data, _) in cases.items()] + [good]
    results = classify.classify_files(corner_model, files, CORNERS)
    assert [r.name for r in results] == [name for name, _ in files]
    assert results[0].prediction is not None and results[-1].prediction is not None
    for result in results[1:-1]:
        expected = cases[result.name][1]
        if expected == "error":
            assert result.prediction is None and result.name in result.error, result.name
        else:
            assert result.error is None, (result.name, result.error)
            expected(result.image)
            assert result.prediction.probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert "too large" in next(r for r in results if r.name == "bomb.png").error


def test_results_csv(corner_model, test_set):
    files = [("a,b.png", png(test_set[0][0])), ("bad.png", b"nope")]
    results = classify.classify_files(corner_model, files, CORNERS)
    rows = list(csv.DictReader(io.StringIO(classify.results_csv(results))))
    assert rows[0]["file"] == "a,b.png" and rows[0]["top_class"] == results[0].prediction.label
    assert float(rows[0]["confidence"]) == pytest.approx(results[0].prediction.confidence, 1e-3)
    assert rows[1]["top_class"] == "" and "not a readable image (JPEG" in rows[1]["error"]
    assert "true_class" not in rows[0]  # no test images among them
    # With test images among the uploads, their true classes follow their names
    truth = {"a,b.png": "cat"}
    with_truth = list(csv.DictReader(io.StringIO(classify.results_csv(results, truth))))
    assert list(with_truth[0]) == ["file", "true_class", "top_class", "confidence", "error"]
    assert [row["true_class"] for row in with_truth] == ["cat", ""]
    assert [row["top_class"] for row in with_truth] == [row["top_class"] for row in rows]


def quadrant_means(heatmap):
    h, w = heatmap.shape[0] // 2, heatmap.shape[1] // 2
    return [heatmap[r * h : r * h + h, c * w : c * w + w].mean() for r in (0, 1) for c in (0, 1)]


@pytest.mark.parametrize("heat_map", [explain.grad_cam, explain.occlusion])
def test_heat_maps_follow_the_planted_square(corner_model, test_set, heat_map):
    images, labels = test_set
    hits = 0
    for image, label in zip(images[:12], labels[:12], strict=True):
        heatmap = heat_map(corner_model, image)
        assert heatmap.shape == (32, 32) and 0 <= heatmap.min() and heatmap.max() == 1
        assert heatmap.std() > 0.05  # not constant
        hits += int(np.argmax(quadrant_means(heatmap)) == label)
    assert hits >= 11


def test_occlusion_is_the_fall_in_probability_under_each_square(corner_model, test_set):
    image, label = test_set[0][0], int(test_set[1][0])
    heatmap = explain.occlusion(corner_model, image, label, patch=16, stride=16)
    # Four squares that do not overlap: each one's heat is its own fall, scaled to the largest.
    fill = image.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    covered = []
    for r in (0, 16):
        for c in (0, 16):
            copy = image.copy()
            copy[r : r + 16, c : c + 16] = fill
            covered.append(copy)
    p = corner_model.predict(np.stack([image, *covered]), verbose=0)[:, label]
    falls = np.maximum(p[0] - p[1:], 0)
    np.testing.assert_allclose(quadrant_means(heatmap), falls / falls.max(), atol=1e-5)
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)  # any size: the map follows it
    assert explain.occlusion(corner_model, big, label).shape == (64, 64)
    with pytest.raises(ValueError, match="outside 0..3"):
        explain.occlusion(corner_model, image, 4)
    np.testing.assert_array_equal(
        explain.explain(corner_model, image, label, "occlusion"),
        explain.occlusion(corner_model, image, label),
    )
    with pytest.raises(ValueError, match="'saliency'"):
        explain.explain(corner_model, image, label, "saliency")


def test_grad_cam_weighs_conv5_by_the_mean_gradient_of_the_class_logit(corner_model, test_set):
    """An oracle: the class's logit (the softmax swapped out of the Keras head itself), its
    gradient averaged over each channel, the weighted sum of conv5's maps, negatives cut."""
    import tensorflow as tf

    image = test_set[0][0]
    second = int(np.argsort(corner_model.predict(image[None], verbose=0)[0])[-2])
    conv5 = corner_model.get_layer("conv5")
    maps = keras.Model(corner_model.input, conv5.output)(image[None], training=False)
    head = keras.Model(conv5.output, corner_model.get_layer("predictions").output)
    predictions = corner_model.get_layer("predictions")
    softmax, predictions.activation = predictions.activation, keras.activations.linear
    try:
        with tf.GradientTape() as tape:
            tape.watch(maps)
            logit = head(maps, training=False)[0, second]
    finally:
        predictions.activation = softmax
    weights = tape.gradient(logit, maps)[0].numpy().mean(axis=(0, 1))
    raw = (maps[0].numpy() * weights).sum(axis=-1)
    assert (weights > 0).any() and (weights < 0).any() and raw.min() < 0 < raw.max()
    expected = explain.resize_heatmap(np.maximum(raw, 0), (32, 32))
    ours = explain.grad_cam(corner_model, image, second)
    np.testing.assert_allclose(ours, expected / expected.max(), atol=1e-5)
    assert np.abs(explain.grad_cam(corner_model, image) - ours).max() > 0.1, "its own class"


def test_heat_maps_refuse_gaps_and_scores_that_are_not_numbers(corner_model, test_set):
    image = test_set[0][0]
    with pytest.raises(ValueError, match="stride 8 is more than the patch side 4"):
        explain.occlusion(corner_model, image, 0, patch=4, stride=8)
    broken = keras.models.clone_model(corner_model)
    broken.set_weights(corner_model.get_weights())
    kernel = broken.get_layer("predictions").kernel  # diverged: every score is NaN
    kernel.assign(np.full(kernel.shape, np.nan))
    for method in explain.EXPLANATIONS:
        with pytest.raises(ValueError, match="not finite numbers"):
            explain.explain(broken, image, 0, method)


def test_grad_cam_for_a_chosen_class_and_image_size(corner_model, test_set):
    big = np.repeat(np.repeat(test_set[0][0], 3, axis=0), 3, axis=1)  # 96x96
    label = int(test_set[1][0])
    other = (label + 3) % 4
    heatmap = explain.grad_cam(corner_model, big, class_index=other, layer_name="conv4")
    assert heatmap.shape == (96, 96)
    with pytest.raises(ValueError, match="class_index 7"):
        explain.grad_cam(corner_model, big, class_index=7)
    overlay = explain.overlay_heatmap(big, explain.grad_cam(corner_model, big))
    assert overlay.shape == big.shape and overlay.dtype == np.uint8
    np.testing.assert_array_equal(explain.overlay_heatmap(big, heatmap, alpha=0.0), big)


def test_the_colour_key_has_the_colours_an_overlay_paints():
    stops = explain.colour_stops()
    assert [at for at, _ in stops] == sorted(at for at, _ in stops)
    assert stops[0][0] == 0.0 and stops[-1][0] == 1.0
    heat = np.array([[at for at, _ in stops]])  # one pixel at each anchor
    painted = explain.overlay_heatmap(np.zeros((1, len(stops), 3), np.uint8), heat, alpha=1.0)
    assert [tuple(pixel) for pixel in painted[0]] == [rgb for _, rgb in stops]
    assert stops[0][1] == (0, 0, 143) and stops[-1][1] == (128, 0, 0)  # dark blue to dark red


def test_evaluate_equals_a_direct_computation():
    keras.utils.set_random_seed(3)
    model = build_alexnet(PRESETS["tiny"])  # untrained, 10 classes: top-5 is not trivial
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 70)
    calls = []
    names = [f"class {i}" for i in range(10)]
    result = evaluation.evaluate(
        model, x, y, names, batch_size=32, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(32, 70), (64, 70), (70, 70)]

    p = model.predict(x, verbose=0)
    loss = keras.losses.SparseCategoricalCrossentropy()(y, p)
    assert result.loss == pytest.approx(float(loss), rel=1e-4)
    predicted = p.argmax(axis=1)
    assert result.top1 == pytest.approx((predicted == y).mean())
    top5 = keras.metrics.SparseTopKCategoricalAccuracy(k=5)
    top5.update_state(y, p)
    assert result.top5 == pytest.approx(float(top5.result()))
    confusion = np.zeros((10, 10), int)
    for true, guess in zip(y, predicted, strict=True):
        confusion[true, guess] += 1
    np.testing.assert_array_equal(result.confusion, confusion)
    for c in range(10):
        mask = y == c
        expected = (predicted[mask] == c).mean() if mask.any() else np.nan
        np.testing.assert_allclose(result.per_class_accuracy[c], expected)
    wrong = [m.index for m in result.mistakes]
    assert sorted(wrong) == list(np.flatnonzero(predicted != y))
    confidences = [m.confidence for m in result.mistakes]
    assert confidences == sorted(confidences, reverse=True)
    assert all(m.predicted_class == predicted[m.index] != m.true_class for m in result.mistakes)
    adjusted = ((predicted == y).sum() + 2) / (70 + 4)  # two right and two wrong added
    assert result.top1_margin == pytest.approx(1.96 * (adjusted * (1 - adjusted) / 74) ** 0.5)


def test_the_top1_margin_shrinks_with_the_square_root_of_the_test_images():
    def margin(top1: float, count: int) -> float:
        fields = dict(class_names=(), loss=0.0, top5=0.0, confusion=None,
                      per_class_accuracy=None, mistakes=())  # fmt: skip
        probabilities = np.zeros((count, 10))
        return evaluation.Evaluation(top1=top1, probabilities=probabilities, **fields).top1_margin

    assert margin(0.8, 10_000) == pytest.approx(0.00784, rel=1e-3)
    assert margin(0.8, 2_500) == pytest.approx(2 * margin(0.8, 10_000), rel=1e-3)
    assert margin(0.5, 1_000) == pytest.approx(0.0309, abs=1e-4)
    assert margin(1.0, 1_000) == pytest.approx(0.0028, abs=1e-4)  # all right: still a margin
    assert margin(0.0, 1_000) == pytest.approx(margin(1.0, 1_000))


def test_the_ten_test_views_are_the_shifts_and_flips_training_made():
    """Oracle: Keras' own RandomTranslation, as the model trains with it, fixed at 2 pixels."""
    images = np.random.default_rng(5).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    views = classify.view_batches(images, "ten")
    assert len(views) == 10 and all(v.shape == images.shape for v in views)
    np.testing.assert_array_equal(views[0], images)  # the centre patch is the image
    for patch, mirrored in zip(views[::2], views[1::2], strict=True):
        np.testing.assert_array_equal(mirrored, patch[:, :, ::-1])
    # The corners, in order: top left, top right, bottom left, bottom right. Seeing the top
    # left corner means the picture moved 2 pixels (1/16 of 32) down and right.
    for view, (down, right) in zip(views[2::2], [(2, 2), (2, -2), (-2, 2), (-2, -2)], strict=True):
        shift = keras.layers.RandomTranslation(
            (down / 32, down / 32), (right / 32, right / 32), fill_mode="reflect"
        )
        expected = np.asarray(shift(images.astype("float32"), training=True))
        np.testing.assert_array_equal(view, expected.astype(np.uint8))
    assert [len(classify.view_batches(images, v)) for v in ("single", "flip")] == [1, 2]
    for name in classify.TEST_VIEWS:  # the names shown for the views, in their order
        assert len(classify.VIEW_NAMES[name]) == len(classify.view_batches(images, name))
    assert classify.VIEW_NAMES["ten"][2::2] == CORNERS
    assert classify.VIEW_NAMES["ten"][3] == "top left, mirrored"
    with pytest.raises(ValueError, match="'five'"):
        classify.view_batches(images, "five")


def test_evaluate_over_views_averages_their_probabilities(corner_model, test_set):
    x, y = test_set
    calls = []
    result = evaluation.evaluate(
        corner_model, x, y, CORNERS, batch_size=16, views="flip",
        progress=lambda d, t: calls.append((d, t)),
    )  # fmt: skip
    assert calls == [(16, 48), (32, 48), (48, 48)]  # 8 images and their mirror images a batch
    expected = corner_model.predict(x, verbose=0) + corner_model.predict(x[:, :, ::-1], verbose=0)
    np.testing.assert_allclose(result.probabilities, expected / 2, atol=1e-6)
    single = evaluation.evaluate(corner_model, x, y, CORNERS)
    assert result.top1 == pytest.approx((expected.argmax(axis=1) == y).mean())
    # A mirrored corner is another corner: the flip average blurs a left-right decision.
    assert result.top1 < single.top1


def test_evaluate_refuses_mismatched_input(corner_model, test_set):
    with pytest.raises(ValueError, match="4 classes"):
        evaluation.evaluate(corner_model, test_set[0], test_set[1], ["a", "b"])
    with pytest.raises(ValueError, match="as many labels"):
        evaluation.evaluate(corner_model, test_set[0], test_set[1][:3], CORNERS)


def test_charts_show_the_numbers():
    fig = vision_charts.top_k([(2, "c", 0.6), (0, "a", 0.3), (1, "b", 0.1)])
    assert list(fig.data[0].y) == ["b", "a", "c"]  # most probable drawn on top
    assert fig.layout.height == 196  # a row a bar; one bar still leaves room for the titles
    assert vision_charts.top_k([(2, "c", 0.6)]).layout.height == 180
    fig = vision_charts.confusion_matrix(np.array([[3, 1], [0, 0]]), ["a", "b"])
    np.testing.assert_allclose(np.asarray(fig.data[0].z), [[0.75, 0.25], [0, 0]])
    # the numbers printed and hovered sit in their own cells: row a, column b holds 1
    np.testing.assert_array_equal(np.asarray(fig.data[0].text), [[3, 1], [0, 0]])
    np.testing.assert_array_equal(np.asarray(fig.data[0].customdata), [[3, 1], [0, 0]])
    assert fig.layout.yaxis.title.text == "true class"
    assert fig.layout.xaxis.title.text == "predicted class"
    fig = vision_charts.per_class_accuracy(np.array([0.5, np.nan, 0.0]), ["a", "b", "c"])
    assert list(fig.data[0].x) == ["a", "c"] and list(fig.data[0].y) == [0.5, 0.0]
    assert list(fig.data[0].text) == ["50%", "0%"] and fig.data[0].textposition == "outside"
    assert fig.layout.title.text.endswith("no test images of b</sup>"), "b is not just gone"
    whole = vision_charts.per_class_accuracy(np.array([0.5, 0.0]), ["a", "c"])
    assert whole.layout.title.text == "Accuracy per class"
    assert whole.data[0].error_y.array is None, "no counts, no margins"
    counted = vision_charts.per_class_accuracy(np.array([0.5, np.nan, 0.9, 1.0]), list("abcd"),
                                               counts=[100, 0, 1000, 100])  # fmt: skip
    margins = [evaluation.accuracy_margin(0.5, 100), evaluation.accuracy_margin(0.9, 1000)]
    whole = evaluation.accuracy_margin(1.0, 100)
    assert list(counted.data[0].error_y.array) == pytest.approx([*margins, 0.0])  # not past 100%
    assert list(counted.data[0].error_y.arrayminus) == pytest.approx([*margins, whole])
    assert margins[0] == pytest.approx(0.096, abs=1e-3)  # 100 images: about ±10 points
    assert [c[1] for c in counted.data[0].customdata] == [100, 1000, 100]
    assert "points (95%) of %{customdata[1]} test images" in counted.data[0].hovertemplate
    figures = counted.data[1]  # above the whiskers, not through them
    assert list(figures.text) == ["50%", "90%", "100%"]
    assert list(figures.y) == pytest.approx([0.5 + margins[0], 0.9 + margins[1], 1.0])


def test_warming_up_traces_prediction_so_the_first_upload_does_not(test_set):
    model = build_alexnet(PRESETS["tiny"].replace(num_classes=4))
    assert model.predict_function is None
    classify.warm_up(model)
    traced = model.predict_function
    assert traced is not None
    buffer = io.BytesIO()
    Image.fromarray(test_set[0][0]).save(buffer, format="PNG")
    (result,) = classify.classify_files(model, [("one.png", buffer.getvalue())], CORNERS)
    assert model.predict_function is traced, "the upload reused the warmed-up function"
    assert result.error is None and result.prediction is not None
