"""The Feature maps, Classify and Evaluate pages through AppTest, over a real tiny trained run."""

import csv
import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from alexnet_core import (
    checkpoints,
    classify,
    config,
    data,
    evaluation,
    explain,
    filters,
    model,
    presets,
    runs,
    training,
)
from pages import common

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One epoch of the tiny preset on 256 sample images, with an epoch checkpoint."""
    root = tmp_path_factory.mktemp("vision-runs")
    train_config = config.TrainConfig(
        dataset="sample", epochs=1, train_subset=256, batch_size=32, save_every_epoch=True
    )
    job = training.start_training(presets.PRESETS["tiny"], train_config, runs_dir=root)
    assert job.wait(timeout=180)
    run = runs.read_run(job.run_dir)
    assert run.status == "finished" and "epoch_001" in run.checkpoints, run.error
    return run


@pytest.fixture(scope="module")
def test_images():
    dataset = data.load_dataset("sample")
    return dataset.x_test, dataset.y_test


@pytest.fixture
def app(trained_run, monkeypatch):
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(trained_run.path.parent))
    return AppTest.from_file("../app.py", default_timeout=90)


@pytest.fixture
def media(monkeypatch) -> dict:
    """What the pages hand Streamlit's media store, by URL, as a browser would fetch it:
    {url: (bytes, mimetype)}."""
    sent, add = {}, MediaFileManager.add

    def kept(self, data, mimetype, *args, **kwargs):
        url = add(self, data, mimetype, *args, **kwargs)
        sent[url] = (data, mimetype)
        return url

    monkeypatch.setattr(MediaFileManager, "add", kept)
    return sent


def pixels(at: AppTest, media: dict, index: int) -> np.ndarray:
    """The pixels of the page's image `index`; it must have gone out losslessly."""
    data, mimetype = media[at.image[index].value[0]]
    assert mimetype == "image/png"
    return np.asarray(Image.open(io.BytesIO(data)))


def open_page(at: AppTest, page: str) -> AppTest:
    at.run().switch_page(f"pages/{page}.py").run()
    no_problems(at)
    return at


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def encoded(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def chart_specs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def channels_in_order(options: list[str]) -> list[int]:
    """The channel numbers of the Enlarge box's options ("channel 9"), in their order."""
    return [int(option.split()[1]) for option in options]


def test_inside_shows_layers_filters_and_units(app, trained_run):
    at = open_page(app, "inside")
    assert at.selectbox(key="inside_run").value == trained_run.run_id
    assert len(at.get("plotly_chart")) == 3  # the grid, one channel enlarged, the overview

    at.selectbox(key="inside_class").select("cat").run()
    at.button(key="inside_random").click().run()
    at.selectbox(key="inside_layer").select("pool2").run()
    at.toggle(key="inside_sort").set_value(True)
    at.radio(key="inside_scale").set_value("one for the whole layer").run()
    no_problems(at)
    assert "pool2" in chart_specs(at)[0] and "activation" in chart_specs(at)[0]
    channels = at.selectbox(key="inside_channel").options
    assert channels == [f"channel {c}" for c in channels_in_order(channels)], "no figures"
    assert sorted(channels_in_order(channels)) == list(range(16))  # tiny's pool2

    def enlarged_mean(channel: int) -> float:
        at.selectbox(key="inside_channel").set_value(channel).run()
        no_problems(at)
        title = json.loads(chart_specs(at)[1])["layout"]["title"]["text"]
        return float(re.fullmatch(rf"pool2, channel {channel} · mean ([-+.\de]+)", title).group(1))

    order = channels_in_order(channels)
    strongest, middle, weakest = (enlarged_mean(order[i]) for i in (0, 8, -1))
    assert strongest >= middle >= weakest and strongest > weakest, "as the grid is sorted"

    at.selectbox(key="inside_filter_layer").select("conv2").run()
    at.number_input(key="inside_filter").set_value(3).run()
    at.toggle(key="inside_filter_epochs").set_value(True).run()
    no_problems(at)
    assert "epoch 001" in captions(at)
    said = at.toggle(key="inside_filter_epochs").help  # tiny's conv1: 3x3, no room for edges
    assert said.startswith("Watch conv1 change from noise: at 3x3 pixels a kernel has room")

    images_before = len(at.image)
    at.selectbox(key="inside_unit_layer").select("conv3")
    at.number_input(key="inside_unit_channel").set_value(2)
    at.button(key="inside_unit_find").click().run()
    no_problems(at)
    assert len(at.image) == images_before + 18  # nine images with boxes, nine patches
    at.number_input(key="inside_unit_channel").set_value(3).run()  # the same pass, cached
    assert len(at.image) == images_before + 18
    at.selectbox(key="inside_unit_layer").select("conv2").run()  # another pass: on request only
    no_problems(at)
    assert len(at.image) == images_before
    at.button(key="inside_unit_find").click().run()
    assert len(at.image) == images_before + 18


def test_inside_leaves_out_an_epoch_checkpoint_it_cannot_read(trained_run, monkeypatch, tmp_path):
    copy = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.path, copy)
    whole = (copy / "epoch_001.keras").read_bytes()
    (copy / "epoch_002.keras").write_bytes(whole[: len(whole) // 2])  # a copy cut short
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "inside")
    at.toggle(key="inside_filter_epochs").set_value(True).run()
    no_problems(at)
    assert "epoch 001" in captions(at) and "epoch 002" not in captions(at)
    said = "epoch_002.keras could not be read (damaged or gone), so it is left out."
    assert [w.value for w in at.warning] == [said]


@pytest.mark.parametrize("page", ["classify", "inside", "evaluate"])
def test_another_runs_checkpoint_is_refused_in_words(trained_run, monkeypatch, tmp_path, page):
    copy = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.path, copy)
    other = model.build_alexnet(trained_run.model_config.replace(num_classes=3))
    for name in copy.glob("*.keras"):  # copied in from a run with three classes
        other.save(name)
    (copy / "checksums.json").unlink(missing_ok=True)
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    at = open_page_allowing_errors(page)
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "best.keras: a network for 3 classes, but the run has 10" in error, error


def test_inside_numbers_a_test_image_the_way_its_caption_does(app, trained_run, test_images):
    x_test, y_test = test_images
    names = trained_run.class_names
    at = open_page(app, "inside")
    assert at.number_input(key="inside_index").label == f"Image number (0 to {len(y_test) - 1})"
    at.number_input(key="inside_index").set_value(6).run()
    size = f"({x_test.shape[1]}x{x_test.shape[2]})"
    assert captions(at)[0] == f"test image #6: {names[y_test[6]]} {size}"

    cats = np.flatnonzero(y_test == names.index("cat"))
    at.selectbox(key="inside_class").select("cat").run()
    box = at.number_input(key="inside_index")
    assert box.label == f"Image number among the cat images (0 to {len(cats) - 1})"
    box.set_value(2).run()
    no_problems(at)
    assert captions(at)[0] == f"cat #2 of {len(cats)} · test image #{cats[2]} {size}"
    at.button(key="inside_random").click().run()
    n = at.number_input(key="inside_index").value
    assert captions(at)[0] == f"cat #{n} of {len(cats)} · test image #{cats[n]} {size}"


def test_inside_keeps_its_choices_and_upload_while_you_visit_another_page(app, test_images):
    at = open_page(app, "inside")
    at.radio(key="inside_source").set_value("Upload").run()
    photo = ("photo.png", encoded(test_images[0][3]), "image/png")
    at.file_uploader(key="inside_upload").set_value(photo).run()
    at.selectbox(key="inside_layer").select("pool2").run()
    at.selectbox(key="inside_filter_layer").select("conv2").run()
    at.selectbox(key="inside_unit_layer").select("conv3").run()
    at.session_state["inside_tab"] = "Filters"  # as a click on the tab sets it
    at.run()
    no_problems(at)
    at.switch_page("pages/classify.py").run()
    at.switch_page("pages/inside.py").run()
    no_problems(at)
    assert at.session_state["inside_tab"] == "Filters", "the page opens on the tab left open"
    assert at.radio(key="inside_source").value == "Upload"
    assert captions(at)[0].startswith("photo.png"), "the upload is still shown"
    assert any("Uploaded before: photo.png" in c.value for c in at.caption)
    assert at.selectbox(key="inside_layer").value == "pool2"
    assert at.selectbox(key="inside_filter_layer").value == "conv2"
    assert at.selectbox(key="inside_unit_layer").value == "conv3"

    at.radio(key="inside_source").set_value("Camera").run()
    at.camera_input(key="inside_camera").set_value(("shot.jpg", encoded(test_images[0][4], "JPEG"),
                                                   "image/jpeg")).run()  # fmt: skip
    assert captions(at)[0].startswith("shot.jpg")
    at.switch_page("pages/classify.py").run()
    at.switch_page("pages/inside.py").run()
    no_problems(at)
    assert captions(at)[0].startswith("shot.jpg"), "the photo is still shown"
    assert any("The photo taken before is still used" in c.value for c in at.caption)


def test_inside_shows_conv1_of_a_split_network_in_the_two_gpus_halves(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    settings = config.TrainConfig(dataset="sample", epochs=1, train_subset=64, batch_size=32)
    job = training.start_training(presets.PRESETS["tiny"].with_gpus(2), settings)
    assert job.wait(timeout=120)
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "inside")
    at.selectbox(key="inside_filter_layer").select("conv1").run()
    no_problems(at)
    halves = [c for image in at.image for c in image.captions if c.startswith("GPU ")]
    kernels = checkpoints.load_checkpoint(job.run_dir, "best").get_layer("conv1").kernel.numpy()
    first, second = np.split(filters.colour_share(kernels), 2)
    assert halves == [
        f"GPU 1 · mean colour share {first.mean():.2f}",
        f"GPU 2 · mean colour share {second.mean():.2f}",
    ]
    assert any("fed one GPU each" in c.value for c in at.caption)
    at.selectbox(key="inside_filter_layer").select("conv3").run()
    no_problems(at)
    assert not any(c.startswith("GPU ") for c in captions(at))


def test_inside_takes_an_upload_and_refuses_a_broken_one(app):
    at = open_page(app, "inside")
    at.radio(key="inside_source").set_value("Upload").run()
    assert at.info and "Choose an image" in at.info[0].value
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[:, 32:] = (250, 120, 10)
    at.file_uploader(key="inside_upload").set_value(("photo.png", encoded(photo), "image/png"))
    at.run()
    no_problems(at)
    assert len(at.get("plotly_chart")) == 3
    assert captions(at)[0] == "photo.png (resized to the run's image size, 32x32)", "not 48x64"
    squeezed = [c.value for c in at.caption if c.value.startswith("Squeezed")]
    assert squeezed == ["Squeezed into a square: the picture is 1.3 times as wide as it is tall. "
                        "Crop it around the subject for a fairer look."]  # fmt: skip
    at.radio(key="inside_source").set_value("Test image").run()  # square: nothing to say
    assert not [c for c in at.caption if c.value.startswith("Squeezed")]
    assert re.fullmatch(r"test image #\d+: \w+ \(32x32\)", captions(at)[0]), captions(at)
    at.radio(key="inside_source").set_value("Upload").run()
    at.file_uploader(key="inside_upload").set_value(("broken.png", b"\x89PNG\r\n", "image/png"))
    at.run()
    assert not at.exception and "broken.png" in at.error[0].value


def test_classify_uploads_real_files_good_and_bad(app, trained_run, test_images):
    at = open_page(app, "classify")
    assert at.info and "Upload" in at.info[0].value
    said = " ".join(c.value for c in at.caption)
    assert f"10 classes: {', '.join(trained_run.class_names)}. The network has no answer" in said
    x_test, _ = test_images
    files = [
        ("first.png", encoded(x_test[0]), "image/png"),
        ("notes.png", b"not an image at all", "image/png"),
        ("second.bmp", encoded(x_test[1], "BMP"), "image/bmp"),
        ("cut.png", encoded(x_test[2])[:100], "image/png"),
    ]
    at.file_uploader(key="classify_upload").set_value(files).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "notes.png" in errors and "cut.png" in errors

    model = checkpoints.load_checkpoint(trained_run.path, "best")
    expected = classify.classify_files(model, [f[:2] for f in files], trained_run.class_names)
    table = at.dataframe[0].value
    assert list(table["file"]) == [f[0] for f in files]
    labels = [r.prediction.label if r.prediction else "" for r in expected]
    assert list(table["top class"]) == labels
    assert table["confidence %"][0] == pytest.approx(100 * expected[0].prediction.confidence,
                                                     rel=1e-4)  # fmt: skip
    assert table["problem"][1].startswith("not a readable image"), "without the name again"
    assert at.get("download_button")[0].label == "Download as CSV"

    at.selectbox(key="classify_pick").set_value(1).run()  # the second readable file
    at.selectbox(key="classify_cam_class").set_value(3).run()
    assert not at.exception
    assert at.subheader[-1].value == "second.bmp"
    assert len(at.get("plotly_chart")) == 1 and len(at.image) == 3
    second_bmp = expected[2].prediction.probabilities  # what the heat maps' captions quote
    assert captions(at)[-1] == f"Grad-CAM: {trained_run.class_names[3]} ({second_bmp[3]:.1%})"
    assert "nothing for the class (or against it)" in at.get("html")[-1].proto.body
    assert not any("heat maps explain" in c.value for c in at.caption)  # one view: no caveat
    at.radio(key="classify_explain").set_value("occlusion").run()
    assert not at.exception
    top = at.dataframe[0].value["top class"][2]  # second.bmp's
    assert captions(at)[-2:] == [
        f"Occlusion: {top} ({second_bmp.max():.1%})",
        f"Occlusion: {trained_run.class_names[3]} ({second_bmp[3]:.1%})",
    ]
    assert at.selectbox(key="classify_cam_class").options[3] == trained_run.class_names[3]
    key = at.get("html")[-1].proto.body  # the colour key under the heat maps
    assert "linear-gradient(to right, rgb(0, 0, 143) 0%" in key
    assert "covering it costs nothing (or helps)" in key and "this map's largest fall" in key


def test_classify_adds_test_images_named_with_their_true_class(
    app, trained_run, test_images, media
):
    at = open_page(app, "classify")
    x_test, y_test = test_images
    upload = ("mine.png", encoded(x_test[9]), "image/png")
    at.file_uploader(key="classify_upload").set_value([upload]).run()
    assert captions(at)[0] == "What the network saw (32x32)"  # exactly: pixel for pixel
    assert np.array_equal(pixels(at, media, 0), common.enlarged(x_test[9], 192))
    at.toggle(key="classify_use_test").set_value(True).run()
    no_problems(at)
    names = list(at.dataframe[0].value["file"])
    assert names[0] == "mine.png" and len(names) == 1 + 4
    numbers = [int(re.fullmatch(r"test #(\d+) \((\w+)\)", name)[1]) for name in names[1:]]
    assert len(set(numbers)) == 4
    assert names[1:] == [f"test #{i} ({trained_run.class_names[y_test[i]]})" for i in numbers]
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    tests = [(name, x_test[i]) for name, i in zip(names[1:], numbers, strict=True)]
    expected = classify.classify_images(model, tests, trained_run.class_names)
    assert list(at.dataframe[0].value["top class"])[1:] == [r.prediction.label for r in expected]
    truths = [trained_run.class_names[y_test[i]] for i in numbers]
    assert list(at.dataframe[0].value["true class"]) == ["", *truths]  # none for an upload
    data, _ = media[at.download_button(key="classify_csv").proto.url]  # so does the CSV's
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [row["file"] for row in rows] == names
    assert [row["true_class"] for row in rows] == ["", *truths]

    at.button(key="classify_test_draw").click().run()
    others = list(at.dataframe[0].value["file"])[1:]
    assert len(others) == 4 and others != names[1:]
    at.number_input(key="classify_test_count").set_value(2).run()
    at.file_uploader(key="classify_upload").set_value([]).run()
    no_problems(at)
    assert len(at.dataframe[0].value) == 2 and not at.info


def test_classify_keeps_the_uploads_while_you_visit_another_page(app, trained_run, test_images):
    at = open_page(app, "classify")
    x_test, _ = test_images
    files = [(f"kept{i}.png", encoded(x_test[20 + i]), "image/png") for i in range(2)]
    at.file_uploader(key="classify_upload").set_value(files).run()
    at.selectbox(key="classify_pick").set_value(1).run()
    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/classify.py").run()
    no_problems(at)
    assert list(at.dataframe[0].value["file"]) == ["kept0.png", "kept1.png"]
    assert at.subheader[-1].value == "kept1.png", "the image looked at is kept too"
    assert any("Uploaded before: kept0.png, kept1.png" in c.value for c in at.caption)
    at.button(key="classify_upload_clear").click().run()
    no_problems(at)
    assert not at.dataframe and "Upload one or more images" in at.info[0].value

    at.file_uploader(key="classify_upload").set_value(files[:1]).run()
    at.toggle(key="classify_use_test").set_value(True).run()
    first_test = at.dataframe[0].value["file"][1]  # the first image once the upload is gone
    number = int(re.fullmatch(r"test #(\d+) \(\w+\)", first_test)[1])
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    (result,) = classify.classify_images(model, [("", x_test[number])], trained_run.class_names)
    best, second_guess = result.prediction.top[0][0], result.prediction.top[1][0]
    at.selectbox(key="classify_pick").set_value(2).run()
    at.selectbox(key="classify_cam_class").set_value(best).run()  # never a default
    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/classify.py").run()
    at.button(key="classify_upload_clear").click().run()  # the list is now the 4 test images
    no_problems(at)
    assert at.selectbox(key="classify_pick").value == 0, "a choice from the list before"
    assert at.subheader[-1].value == first_test
    assert at.selectbox(key="classify_cam_class").value == second_guess, "the old image's class"


def test_classify_tells_files_of_the_same_name_apart(app, trained_run, test_images):
    at = open_page(app, "classify")
    x_test, _ = test_images
    files = [
        ("photo.jpg", encoded(x_test[30], "JPEG"), "image/jpeg"),
        ("photo.jpg", encoded(x_test[31], "JPEG"), "image/jpeg"),
        ("bad.png", b"not an image", "image/png"),
        ("bad.png", b"nor this", "image/png"),
    ]
    at.file_uploader(key="classify_upload").set_value(files).run()
    assert not at.exception
    named = ["photo.jpg", "photo.jpg (2)", "bad.png", "bad.png (2)"]
    assert list(at.dataframe[0].value["file"]) == named
    assert [e.value.split(":")[0] for e in at.error] == named[2:]
    assert at.selectbox(key="classify_pick").options == named[:2]
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    expected = classify.classify_files(model, [f[:2] for f in files], trained_run.class_names)
    labels = [r.prediction.label if r.prediction else "" for r in expected]
    assert list(at.dataframe[0].value["top class"]) == labels
    at.selectbox(key="classify_pick").set_value(1).run()
    assert at.subheader[-1].value == "photo.jpg (2)"

    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/classify.py").run()
    assert list(at.dataframe[0].value["file"]) == named
    assert at.subheader[-1].value == "photo.jpg (2)", "the image looked at is kept too"
    caption = "Uploaded before: photo.jpg, photo.jpg (2), bad.png, bad.png (2)."
    assert any(caption in c.value for c in at.caption)


def test_classify_says_when_a_picture_far_from_square_was_squeezed(app, trained_run):
    at = open_page(app, "classify")
    rng = np.random.default_rng(5)
    shapes = {"wide.jpg": (30, 60), "tall.png": (64, 40), "square.png": (40, 44)}
    files = [(name, encoded(rng.integers(0, 256, (*shape, 3), dtype=np.uint8),
                            "JPEG" if name.endswith("jpg") else "PNG"), "image/png")
             for name, shape in shapes.items()]  # fmt: skip
    at.file_uploader(key="classify_upload").set_value(files).run()
    said = {}
    for index, name in enumerate(shapes):
        at.selectbox(key="classify_pick").set_value(index).run()
        no_problems(at)
        said[name] = [c.value for c in at.caption if c.value.startswith("Squeezed")]
    assert said == {
        "wide.jpg": [
            "Squeezed into a square: the picture is 2.0 times as wide as it is tall. "
            "Crop it around the subject for a fairer look."
        ],
        "tall.png": [
            "Squeezed into a square: the picture is 1.6 times as tall as it is wide. "
            "Crop it around the subject for a fairer look."
        ],
        "square.png": [],
    }


def test_classify_shows_more_classes_without_running_the_network_again(
    app, trained_run, monkeypatch
):
    passes = []
    original = classify.view_probabilities

    def counted(*args, **kwargs):
        passes.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(classify, "view_probabilities", counted)
    at = open_page(app, "classify")
    noise = np.random.default_rng(11).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    at.file_uploader(key="classify_upload").set_value(("noise.png", encoded(noise), "image/png"))
    at.run()
    assert len(passes) == 1
    at.slider(key="classify_top_k").set_value(2).run()
    no_problems(at)
    assert len(passes) == 1, "a new number of classes is no new pass through the network"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"][0]["y"]) == 2
    at.slider(key="classify_top_k").set_value(1).run()
    other = encoded(np.random.default_rng(12).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    at.file_uploader(key="classify_upload").set_value(("other.png", other, "image/png"))
    at.run()
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    (result,) = classify.classify_files(model, [("other.png", other)], trained_run.class_names)
    second = int(np.argsort(result.prediction.probabilities)[-2])
    assert at.selectbox(key="classify_cam_class").value == second, "the second guess, not the top"


def test_classify_grad_cam_box_follows_the_second_guess_until_a_class_is_chosen(
    app, trained_run, test_images
):
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    x_test, names = test_images[0], trained_run.class_names

    def second_guess(image, views: str) -> int:
        (result,) = classify.classify_images(model, [("", image)], names, views=views)
        return result.prediction.top[1][0]

    # A test image whose second guess changes when the ten patches are averaged.
    image = next(x for x in x_test[:200] if second_guess(x, "single") != second_guess(x, "ten"))
    at = open_page(app, "classify")
    at.file_uploader(key="classify_upload").set_value(("moves.png", encoded(image), "image/png"))
    at.run()
    assert at.selectbox(key="classify_cam_class").value == second_guess(image, "single")
    at.radio(key="classify_views").set_value("ten").run()
    no_problems(at)
    assert at.selectbox(key="classify_cam_class").value == second_guess(image, "ten")
    guesses = {second_guess(image, "single"), second_guess(image, "ten")}
    chosen = next(i for i in range(len(names)) if i not in guesses)
    at.selectbox(key="classify_cam_class").set_value(chosen).run()
    at.radio(key="classify_views").set_value("single").run()
    assert at.selectbox(key="classify_cam_class").value == chosen, "a choice made is kept"


def test_classify_one_photo_from_the_camera(app, trained_run, test_images):
    at = open_page(app, "classify")
    at.toggle(key="classify_use_camera").set_value(True).run()
    photo = ("photo.jpg", encoded(test_images[0][5], "JPEG"), "image/jpeg")
    at.camera_input(key="classify_camera").set_value(photo).run()
    no_problems(at)
    assert at.subheader[-1].value == "camera photo" and not at.dataframe

    model = checkpoints.load_checkpoint(trained_run.path, "best")
    names = trained_run.class_names
    (first,) = classify.classify_files(model, [("camera photo", photo[1])], names)
    at.selectbox(key="classify_cam_class").set_value(first.prediction.top[0][0]).run()
    another = ("photo.jpg", encoded(test_images[0][6], "JPEG"), "image/jpeg")  # the same name
    at.camera_input(key="classify_camera").set_value(another).run()
    (second,) = classify.classify_files(model, [("camera photo", another[1])], names)
    assert at.selectbox(key="classify_cam_class").value == second.prediction.top[1][0]

    at.switch_page("pages/inside.py").run()  # the camera leaves the screen, and its photo
    at.switch_page("pages/classify.py").run()
    no_problems(at)
    assert at.camera_input(key="classify_camera").value is None, "Streamlit emptied it"
    assert at.subheader[-1].value == "camera photo", "the photo is still classified"
    assert at.selectbox(key="classify_cam_class").value == second.prediction.top[1][0]
    assert any("The photo taken before is still used" in c.value for c in at.caption)
    at.selectbox(key="classify_cam_class").set_value(first.prediction.top[0][0]).run()
    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/classify.py").run()
    assert at.selectbox(key="classify_cam_class").value == first.prediction.top[0][0], "kept"
    at.button(key="classify_camera_clear").click().run()
    no_problems(at)
    assert "Upload one or more images" in at.info[0].value


def test_classify_shows_the_ten_views_and_averages_them(app, trained_run, test_images):
    at = open_page(app, "classify")
    photo = ("photo.png", encoded(test_images[0][7]), "image/png")
    at.file_uploader(key="classify_upload").set_value([photo]).run()
    at.radio(key="classify_views").set_value("ten").run()
    no_problems(at)
    model = checkpoints.load_checkpoint(trained_run.path, "best")
    (expected,) = classify.classify_files(model, [photo[:2]], trained_run.class_names, views="ten")
    shown = captions(at)
    assert len(shown) == 3 + 10
    order = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]  # a row of the five patches, then their mirror images
    for i, caption in zip(order, shown[3:], strict=True):
        name, p = classify.VIEW_NAMES["ten"][i], expected.view_probabilities[i]
        assert caption == f"{name}: {trained_run.class_names[p.argmax()]} {p.max():.0%}"
    spec = at.get("plotly_chart")[0].proto.spec
    assert "mean of 10 views" in spec
    assert any("heat maps explain the image itself" in c.value for c in at.caption)
    assert f"{expected.prediction.confidence:.4f}"[:5] in spec


def test_evaluate_shows_the_report_card_of_a_checkpoint(app, trained_run, test_images, media):
    at = open_page(app, "evaluate")
    assert at.info and "Press the button" in at.info[0].value
    assert not at.warning, "the run's own held-out images: nothing changed"
    at.button(key="evaluate_start").click().run()
    no_problems(at)
    assert at.get("progress"), "a progress bar while it runs"

    model = checkpoints.load_checkpoint(trained_run.path, "best")
    x_test, y_test = test_images
    expected = evaluation.evaluate(model, x_test, y_test, trained_run.class_names)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Test loss": f"{expected.loss:.3f}",
        "Top-1 accuracy": f"{expected.top1:.1%}",
        "Top-5 accuracy": f"{expected.top5:.1%}",
    }
    top1 = next(m for m in at.metric if m.label == "Top-1 accuracy")
    points = f"±{100 * expected.top1_margin:.1f} percentage points"  # not ±2.8%: relative?
    assert top1.help.startswith(f"of best.keras, {points} (95%) from the ")
    assert f"alone ({len(y_test):,}): the accuracy on all images of this kind" in top1.help
    # best.keras is epoch 1, the last: the figures Train gives, so no caption compares them
    assert not any(c.value.startswith("These are ") for c in at.caption)
    assert len(at.get("plotly_chart")) == 2
    per_class = json.loads(chart_specs(at)[1])["data"][0]  # 100 test images a class: ±10 points
    assert per_class["error_y"]["visible"] and len(per_class["error_y"]["array"]) == 10
    assert [c[1] for c in per_class["customdata"]] == list(np.bincount(y_test, minlength=10))
    at.slider(key="evaluate_mistakes").set_value(3).run()
    no_problems(at)
    assert len(at.image) == 6  # each mistake with its Grad-CAM
    at.radio(key="evaluate_explain").set_value("occlusion").run()
    no_problems(at)
    worst, names = expected.mistakes[0], trained_run.class_names
    said = f"{names[worst.true_class]}, taken for {names[worst.predicted_class]}"
    assert captions(at)[0] == f"#{worst.index}: {said} ({worst.confidence:.0%})"
    assert captions(at)[1] == f"Occlusion: {names[worst.predicted_class]}"
    image = x_test[worst.index]  # the mistaken image, and what misled it: the wrong class
    assert np.array_equal(pixels(at, media, 0), common.enlarged(image, 96))
    misled = explain.explain(model, image, worst.predicted_class, "occlusion")
    assert np.abs(pixels(at, media, 1) - explain.overlay_heatmap(pixels(at, media, 0), misled)
                  .astype(int)).max() <= 1  # fmt: skip
    truth = explain.explain(model, image, worst.true_class, "occlusion")
    assert not np.allclose(misled, truth, atol=0.05)  # the two would look different
    assert "covering it costs nothing" in at.get("html")[-1].proto.body

    fresh = open_page(AppTest.from_file("../app.py", default_timeout=90), "evaluate")
    assert fresh.metric, "results are kept per checkpoint across sessions"

    at.radio(key="evaluate_views").set_value("ten").run()
    assert at.info and not at.metric, "another test needs its own evaluation"
    at.button(key="evaluate_start").click().run()
    no_problems(at)
    ten = evaluation.evaluate(model, x_test, y_test, trained_run.class_names, views="ten")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Test loss"] == f"{ten.loss:.3f}" and shown["Top-1 accuracy"] == f"{ten.top1:.1%}"
    said = [c.value for c in at.caption if c.value.startswith("These are ")]
    assert said == [f"These are epoch 1's figures, over several views. Train, Runs and the "
                    f"sidebar give the final weights' (last.keras, epoch 1, one view of each "
                    f"image): {trained_run.test_accuracy:.1%}."]  # fmt: skip
    views = 10 * len(y_test)  # the bar counts passes, and says so
    assert at.get("progress")[0].proto.text == f"{views:,} of {views:,} views (10 of each image)"


def run_whose_data_moved(trained_run, tmp_path, monkeypatch) -> str:
    """A copy of the run whose dataset is no longer there, as the only run; the error."""
    moved = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.path, moved)
    config_file = moved / "config.json"
    saved = json.loads(config_file.read_text())
    saved["dataset"]["source"] = str(tmp_path / "gone" / "cifar10.zip")
    config_file.write_text(json.dumps(saved))
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    return f"{tmp_path / 'gone' / 'cifar10.zip'}: no such file or folder"


def test_a_run_whose_data_moved_says_so_on_every_page_that_needs_its_test_split(
    trained_run, tmp_path, monkeypatch
):
    gone = run_whose_data_moved(trained_run, tmp_path, monkeypatch)
    for page, reach_the_test_split in (
        ("evaluate", lambda at: at),
        ("inside", lambda at: at),  # its test image picker is the first choice
        ("classify", lambda at: at.toggle(key="classify_use_test").set_value(True).run()),
    ):
        at = reach_the_test_split(open_page_allowing_errors(page))
        assert not at.exception, page
        (error,) = [e.value for e in at.error]
        assert gone in error and "Put the data back where it was" in error, page
        assert error.startswith(f"Run {trained_run.run_id}'s test images come from"), page
        assert not at.get("plotly_chart") and not at.image, page


def open_page_allowing_errors(page: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=90)
    return at.run().switch_page(f"pages/{page}.py").run()


def test_classify_still_classifies_the_uploads_when_the_test_images_are_gone(
    trained_run, test_images, tmp_path, monkeypatch
):
    gone = run_whose_data_moved(trained_run, tmp_path, monkeypatch)
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "classify")
    mine = ("mine.png", encoded(test_images[0][4]), "image/png")
    at.file_uploader(key="classify_upload").set_value([mine]).run()
    at.toggle(key="classify_use_test").set_value(True).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert gone in error and "uploaded images are classified all the same" in error
    assert at.subheader[-1].value == "mine.png" and at.get("plotly_chart"), "and the upload's"


def test_pages_draw_test_images_as_the_run_split_them_and_skip_damaged_folders(
    trained_run, tmp_path, monkeypatch
):
    seeded = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.path, seeded)
    saved = json.loads((seeded / "config.json").read_text())
    saved["training"]["seed"] = 7  # the seed orders the test split (and draws a folder's)
    (seeded / "config.json").write_text(json.dumps(saved))
    damaged = tmp_path / "20300101-000000-tiny"  # the newest folder, but without config.json
    damaged.mkdir()
    shutil.copy(seeded / "best.keras", damaged / "best.keras")
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path))
    assert runs.read_run(damaged).status == "damaged"

    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "classify")
    (listed,) = at.selectbox(key="classify_run").options  # damaged folders are left out
    assert listed.startswith(trained_run.run_id)
    at.toggle(key="classify_use_test").set_value(True).run()
    no_problems(at)
    split = data.load_dataset("sample", seed=7)
    names = list(at.dataframe[0].value["file"])
    numbers = [int(re.fullmatch(r"test #(\d+) \((\w+)\)", name)[1]) for name in names]
    assert names == [f"test #{i} ({split.class_names[split.y_test[i]]})" for i in numbers]
    other = data.load_dataset("sample", seed=0)
    assert [other.y_test[i] for i in numbers] != [split.y_test[i] for i in numbers]


def test_pages_see_a_dataset_folder_change_and_refuse_classes_the_run_did_not_learn(
    trained_run, test_images, tmp_path, monkeypatch
):
    folder = tmp_path / "data"
    x_test, y_test = test_images
    for name in trained_run.class_names:  # three test images of each class the run learned
        (folder / name).mkdir(parents=True)
        label = trained_run.class_names.index(name)
        for n, i in enumerate(np.flatnonzero(y_test == label)[:3]):
            (folder / name / f"{n}.png").write_bytes(encoded(x_test[i]))
    moved = tmp_path / "runs" / trained_run.run_id
    shutil.copytree(trained_run.path, moved)
    saved = json.loads((moved / "config.json").read_text())
    saved["dataset"]["source"] = str(folder)
    (moved / "config.json").write_text(json.dumps(saved))
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))

    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "evaluate")
    assert at.caption[0].value.startswith("Test split: 10 images")  # one per class
    # Not the images the run held out: its score here may count images it trained on.
    assert "changed since" in at.warning[0].value and "held out" in at.warning[0].value
    assert "reads some files differently" not in at.warning[0].value  # read as it was read
    del saved["dataset"]["loader"]  # as a run trained before this app read them otherwise
    (moved / "config.json").write_text(json.dumps(saved))
    at.run()
    assert "reads some files differently" in at.warning[0].value
    (folder / "zebra").mkdir()  # a class the run never learned
    for n in range(3):
        (folder / "zebra" / f"{n}.png").write_bytes(encoded(x_test[n]))
    at.run()
    assert not at.exception and len(at.error) == 1
    assert "now holds the classes airplane" in at.error[0].value and "zebra" in at.error[0].value
    assert "reads some files differently" in at.error[0].value
    assert not at.button, "nothing to evaluate against labels that do not match"


def test_a_three_class_run_shows_no_top_5_and_says_when_its_test_split_is_empty(
    test_images, trained_run, tmp_path, monkeypatch
):
    x_test, y_test = test_images
    folder = tmp_path / "three"
    for label, name in enumerate(("airplane", "automobile", "bird")):  # CIFAR-10's first three
        (folder / name).mkdir(parents=True)
        for n, i in enumerate(np.flatnonzero(y_test == label)[:5]):
            (folder / name / f"{n}.png").write_bytes(encoded(x_test[i]))
    settings = config.TrainConfig(dataset=str(folder), epochs=1, batch_size=8,
                                  validation_fraction=0)  # fmt: skip
    job = training.start_training(presets.PRESETS["tiny"], settings, runs_dir=tmp_path / "runs")
    assert job.wait(timeout=120) and job.snapshot().status == "finished"
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))

    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "evaluate")
    at.button(key="evaluate_start").click().run()
    no_problems(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Top-5 accuracy"] == "—" and shown["Top-1 accuracy"].endswith("%")
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "classify")
    at.session_state["classify_top_k"] = 8  # kept from a ten-class run: more than there are
    at.file_uploader(key="classify_upload").set_value(("a.png", encoded(x_test[0]), "image/png"))
    at.run()
    no_problems(at)

    def bars() -> int:
        return len(json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"])

    assert at.slider(key="classify_top_k").value == 8 and bars() == 3, "all three classes"
    ten = shutil.copytree(trained_run.path, tmp_path / "runs" / "20000101-000000-tiny")
    at.run().selectbox(key="classify_run").select(ten.name).run()
    no_problems(at)
    assert at.slider(key="classify_top_k").value == 8 and bars() == 8, "the choice outlives it"

    for name in ("airplane", "automobile", "bird"):  # two images a class: none left to test
        for n in (2, 3, 4):
            (folder / name / f"{n}.png").unlink()
    none = "This run's data has no test images"
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "evaluate")
    assert at.info[0].value.startswith(none), "stopped before an Evaluate button that fails"
    assert not at.button and not at.metric
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "classify")
    at.toggle(key="classify_use_test").set_value(True).run()
    no_problems(at)
    assert len(at.info) == 1 and none in at.info[0].value, 'and no "or add test images"'
    at = open_page(AppTest.from_file("../app.py", default_timeout=90), "inside")
    assert at.info[0].value.startswith(none) and "Upload an image instead" in at.info[0].value
    at.radio(key="inside_source").set_value("Upload").run()
    at.file_uploader(key="inside_upload").set_value(("a.png", encoded(x_test[0]), "image/png"))
    at.run()
    at.button(key="inside_unit_find").click().run()
    assert not at.exception and at.info[-1].value.startswith(none)
