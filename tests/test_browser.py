"""The real app in a real browser: `streamlit run app.py` driven by Debian's chromium.

One walk, as a new user would take it, on the bundled CIFAR-10 sample. The steps share one
server and one page and run in order; each saves a screenshot under test-artifacts/browser/
and a failure says which step failed and why.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, AppServer
from tests.conftest import dev_dependency

playwright = dev_dependency("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="chromium is not installed (apt-get install chromium); CI installs it",
    ),
]

TIMEOUT_MS = 60_000  # first TensorFlow import and model builds on a busy 2-core machine
WALK: dict[str, str] = {}  # what one step leaves for the next (the run id)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("browser-runs")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    app = AppServer(
        {"ALEXNET_RUNS_DIR": str(runs), "ALEXNET_CIFAR10": ""}, ARTIFACTS / "server.log"
    )
    WALK["runs_dir"] = str(runs)
    app.wait_healthy()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{server.url}/architecture")  # a deep link on a fresh server: see step 1
        yield page
        browser.close()


class Step:
    """Names the step in a failure, with the server's log, and saves a screenshot."""

    def __init__(self, page, server, name: str):
        self.page, self.server, self.name = page, server, name

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        shot = ARTIFACTS / f"{self.name}.png"
        try:
            self.page.screenshot(path=str(shot), full_page=True)
        except Exception:  # the screenshot must not hide the real failure
            pass
        if error is not None:
            raise AssertionError(
                f"step {self.name!r} failed: {error}\nscreenshot: {shot}\n"
                f"server log (end):\n{self.server.log()[-2000:]}"
            ) from error


def settle(page) -> None:
    """Wait until the script has finished its run (fragments may still tick afterwards). Right
    after a click this may return before the click's run has started: poll for its result."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    page.wait_for_timeout(300)  # let the last delta render


def open_page(page, title: str) -> None:
    page.locator(f"[data-testid='stSidebarNavLink']:has(span[label='{title}'])").click()
    settle(page)


def no_errors(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.first.inner_text()


def choose(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} [role='combobox']").click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def type_number(page, key: str, value) -> None:
    """Type a value and leave the field (Enter would submit a form half filled in)."""
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Tab")


def control(page, action: str, label: str):
    """Train's Pause, Resume or Stop button, by its label: with a help line, Streamlit draws
    a button twice in its key's box."""
    return page.locator(f".st-key-train_{action}").get_by_role("button", name=label)


def progress_text(page) -> str:
    """The Train page's progress bar text (the sidebar has a progress bar of its own)."""
    return page.locator("[data-testid='stMain'] [data-testid='stProgress']").inner_text()


def batch_counter(page) -> int:
    return int(re.search(r"batch (\d+)/", progress_text(page)).group(1))


def boxes_in_line(page, keys) -> bool:
    """Whether these Train settings' input boxes start at the same height, to a pixel."""
    boxes = [page.locator(f".st-key-train_{key} input, .st-key-train_{key} [role='combobox']")
             for key in keys]  # fmt: skip
    tops = [box.first.bounding_box()["y"] for box in boxes]
    return max(tops) - min(tops) < 2


CUT_TEXT = """root => [...root.querySelectorAll('*')]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis')
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent)"""
SETTING_BOXES = """form => [...form.querySelectorAll("[class*='st-key-train_']")]
    .filter(e => e.querySelector("input[type='number'], [role='combobox']"))
    .filter(e => e.closest('details') === form.closest('details'))  // not the convolution grid
    .map(e => e.getBoundingClientRect()).filter(r => r.width > 0)
    .map(r => ({top: r.top, bottom: r.bottom, width: r.width}))"""


def form_laid_out(page) -> bool:
    """True if the Train form reads whole at the window's width; else AssertionError saying
    what is wrong: text cut short with an ellipsis, a number or select box squeezed narrower
    than 110 px, or boxes on one line that do not stand on one baseline (a label on two lines
    pushing its box down)."""
    form = page.locator("[data-testid='stForm']").first
    faults = [f"cut: {text!r}" for text in form.evaluate(CUT_TEXT)]
    faults += [f"cut: {text!r}" for text in page.locator(".st-key-train_source").evaluate(CUT_TEXT)]
    boxes = sorted(form.evaluate(SETTING_BOXES), key=lambda box: box["top"])
    faults += [f"a box {box['width']:.0f} px wide" for box in boxes if box["width"] < 110]
    lines = []  # boxes whose heights overlap stand on one line
    for box in boxes:
        if lines and box["top"] < max(other["bottom"] for other in lines[-1]):
            lines[-1].append(box)
        else:
            lines.append([box])
    for line in lines:
        bottoms = [box["bottom"] for box in line]
        if max(bottoms) - min(bottoms) >= 2:
            faults.append(f"a line of boxes with bottoms {bottoms}")
    assert len(lines) >= 5, f"only {len(lines)} lines of boxes found"
    assert not faults, faults
    return True


def label_height(page, key: str) -> float:
    """The height of a Train setting's label, in pixels: about 20 a line."""
    label = page.locator(f".st-key-train_{key} [data-testid='stWidgetLabel']").first
    return label.bounding_box()["height"]


def settled_boxes(within, selector: str) -> list[dict]:
    """The bounding boxes of what `selector` finds, once they stayed put for half a second:
    Plotly may draw a resized chart twice, the second time with its margins fitted."""
    boxes = None
    for _ in range(20):
        now = [element.bounding_box() for element in within.locator(selector).all()]
        if now and now == boxes:
            return now
        boxes = now
        time.sleep(0.5)
    raise AssertionError(f"{selector} kept moving for 10 s: {boxes}")


def poll(condition, timeout: float, what: str, interval: float = 0.25):
    """Call condition() until it returns something truthy; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None  # what condition() last gave, or the error it raised
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # the element may not be there yet
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def rewrite_history(val_accuracy: str) -> Path:
    """Set every epoch's validation accuracy in the walk's run's history.csv, as if the run had
    gone on: what the page drew no longer matches the file. Returns the file."""
    history = Path(WALK["runs_dir"]) / WALK["run_id"] / "history.csv"
    with history.open(newline="") as file:
        rows = list(csv.DictReader(file))
    with history.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "val_accuracy": val_accuracy} for row in rows)
    return history


def plot_title(page, key: str) -> str:
    """The title of the Plotly chart with this key, as drawn (strict: one chart in the box),
    without the <b> that Streamlit's theme puts round it."""
    title = page.locator(f".st-key-{key} .js-plotly-plot").evaluate("p => p.layout.title.text")
    return re.sub(r"</?b>", "", title)


def downloaded(page, button) -> str:
    """Click a download button: the path of the file the browser saved. On a timeout, what
    the page showed under its download buttons (a deferred download's error shows there)."""
    try:
        with page.expect_download(timeout=30_000) as got:
            button.click()
        return got.value.path()
    except playwright.TimeoutError as error:
        shown = page.locator("[data-testid='stDownloadButtonError']").all_inner_texts()
        raise AssertionError(f"no download within 30 s; under the buttons: {shown}") from error


def chart_points(page, key: str) -> int:
    """How many data points the Plotly chart with this key draws, over all its traces."""
    return page.locator(f".st-key-{key} .js-plotly-plot").evaluate(
        "plot => plot.data.reduce((n, trace) => n + (trace.x ? trace.x.length : 0), 0)"
    )


def test_1_a_deep_link_gets_the_app_then_home_shows_the_machine(page, server):
    with Step(page, server, "1-deep-link-home"):
        settle(page)  # the server's first visitor opened /architecture, not /
        page.locator("h1", has_text="Architecture").wait_for()
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Feature maps & filters" in nav and "common" not in nav, nav  # app.py's pages
        page.get_by_text("Training job", exact=True).wait_for()  # app.py's sidebar ran too
        open_page(page, "Home")  # a click: wait for the page's last element, not the intro
        page.get_by_text("Training runs saved").wait_for()
        body = page.locator("[data-testid='stMain']").inner_text()
        assert "Keras" in body and "sample" in body
        no_errors(page)


def test_2_architecture_counts_and_refuses(page, server):
    with Step(page, server, "2-architecture"):
        open_page(page, "Architecture")
        choose(page, "arch_preset", "paper")
        page.get_by_text("60,965,224").first.wait_for()
        no_errors(page)
        type_number(page, "arch_input_size", 32)
        type_number(page, "arch_image_size", 32)
        error = page.locator("[data-testid='stAlertContentError']").first
        error.wait_for()
        assert "shrink to nothing" in error.inner_text()
        # The run that refused the network ends by removing the last one's report.
        page.locator("[data-testid='stPlotlyChart']").first.wait_for(state="detached")


def test_3_train_live_pause_reload_stop(page, server):
    with Step(page, server, "3-train"):
        open_page(page, "Train")
        # A laptop's widths (the sidebar takes 300 px): the settings wrap onto more lines
        # rather than squeeze until labels break mid-word and choices read "one_…".
        for width in (1024, 1280):
            page.set_viewport_size({"width": width, "height": 1800})
            # poll: the page may still be drawing at the new width
            poll(lambda: form_laid_out(page), 10, f"the form laid out at {width} px")
            poll(lambda: boxes_in_line(page, ("schedule", "warmup_fraction")), 10, "in line")
            one, two = (label_height(page, key) for key in ("schedule", "warmup_fraction"))
            assert two > 1.5 * one, "warm-up's label on two lines, Schedule's on one"  # else the
            # baseline is not tested
        page.set_viewport_size({"width": 1400, "height": 1800})
        choose(page, "train_source", "sample (CIFAR-10, 5,000 images)")
        choose(page, "train_preset", "tiny")
        # A bounded box would hold 0 back and drop the click on its form without a word.
        type_number(page, "train_epochs", 0)
        page.locator(".st-key-train_check_data button").click()
        error = page.locator("[data-testid='stAlertContentError']").first
        error.wait_for()
        assert error.inner_text().endswith("epochs: got 0, expected at least 1")
        type_number(page, "train_epochs", 500)  # about 20 min here: the walk stops it long before
        type_number(page, "train_batch_size", 8)
        other = page.context.browser.new_page()  # a tab opened before the run starts
        other.goto(server.url)
        settle(other)
        other_sidebar = other.locator("[data-testid='stSidebar']")
        assert "No training job since the app started" in other_sidebar.inner_text()
        page.locator(".st-key-train_start button").click()
        # The live fragment redraws on its own timer: nothing is clicked while we wait.
        poll(lambda: chart_points(page, "train_curves") > 0, 90, "points on the live chart")
        poll(lambda: re.search(r"epoch \d+/500", other_sidebar.inner_text()), 30,
             "the other tab's sidebar to show the run")  # fmt: skip
        other.close()
        first = poll(lambda: batch_counter(page), 30, "the batch counter")
        poll(lambda: batch_counter(page) != first, 30, "the batch counter to move")

        control(page, "pause", "Pause").click()
        control(page, "resume", "Resume").wait_for()
        held = poll(lambda: "paused" in progress_text(page),
                    15, "the paused status")  # fmt: skip
        assert held
        sidebar = page.locator("[data-testid='stSidebar'] [data-testid='stProgress']")
        # the epoch alone: a batch count that lags the page's would read as another run's (an
        # epoch of 450 batches can pass before the pause on a fast CPU)
        epoch = re.search(r"epoch (\d+)/500", progress_text(page)).group(1)
        said = f"epoch {epoch}/500"
        poll(lambda: sidebar.inner_text().strip() == said, 10, "the sidebar's epoch")
        before = batch_counter(page)
        time.sleep(3)
        assert batch_counter(page) == before, "the batch counter moved while paused"
        page.screenshot(path=str(ARTIFACTS / "3-train-paused.png"), full_page=True)

        control(page, "resume", "Resume").click()
        poll(lambda: batch_counter(page) != before, 30, "training to continue after resume")

        page.reload()  # a new browser session: the page must re-attach to the same run
        settle(page)
        run_heading = page.get_by_text(re.compile(r"^Run \d{8}-")).first
        run_heading.wait_for()
        WALK["run_id"] = run_heading.inner_text().split()[1]
        rate = page.locator(f".st-key-train_lr_{WALK['run_id']} input")  # Enter applies it
        rate.fill("0.005")
        rate.press("Enter")
        page.get_by_text("Learning rate set to 0.005 from the next batch").wait_for()
        poll(lambda: rate.input_value() == "", 10, "the rate box emptied once applied")
        after_reload = poll(lambda: batch_counter(page), 30, "the batch counter after reload")
        poll(lambda: batch_counter(page) != after_reload, 30, "updates after the reload")
        page.screenshot(path=str(ARTIFACTS / "3-train-live.png"), full_page=True)

        control(page, "stop", "Stop").click()
        poll(lambda: "stopped" in progress_text(page),
             60, "the stopped status")  # fmt: skip
        page.get_by_text("Test accuracy").first.wait_for()
        plot = page.locator(".st-key-train_curves .js-plotly-plot")
        for width in (900, 1400):  # narrower wraps the legend, wider unwraps it
            drawn = plot.bounding_box()["width"]
            page.set_viewport_size({"width": width, "height": 1800})
            poll(lambda drawn=drawn: plot.bounding_box()["width"] != drawn, 10, "a redraw")
            (legend,) = settled_boxes(plot, ".legend")
            titles = settled_boxes(plot, ".g-xtitle, .g-x2title")  # loss's and accuracy's
            assert len(titles) == 2 and all(legend["y"] >= t["y"] + t["height"] for t in titles), (
                f"at {width} px the legend starts at {legend['y']}, over an axis title: {titles}"
            )
        no_errors(page)


def test_4_runs_lists_the_run(page, server):
    with Step(page, server, "4-runs"):
        open_page(page, "Runs")
        page.locator("[data-testid='stDataFrame']").first.wait_for()  # a canvas: no text
        picked = page.locator(".st-key-runs_selected input").input_value()
        assert picked == WALK["run_id"]
        metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
        assert any("stopped" in m for m in metrics), metrics
        test = next(m for m in metrics if m.startswith("Test accuracy"))
        assert re.search(r"\d+\.\d%", test), test
        # by its label: with a help line, Streamlit draws the button twice in the key's box
        best = page.locator(".st-key-runs_download_model").get_by_role("button", name="best.keras")
        assert best.first.is_enabled()
        no_errors(page)
        # history.csv as it is when clicked, not as it was when the page was drawn
        history = rewrite_history("0.8")
        download = page.locator(".st-key-runs_download_history").get_by_role("button")
        with open(downloaded(page, download.first), newline="") as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == len(history.read_text().splitlines()) - 1
        assert {row["val_accuracy"] for row in rows} == {"0.8"}
        # and as the page shows it once the file has gone (the run deleted in another tab)
        aside = history.rename(history.with_suffix(".aside"))
        with open(downloaded(page, download.first), newline="") as file:
            assert len(list(csv.DictReader(file))) == len(rows)
        aside.rename(history)
        # A deleted run's box moves to the run shown in its place, and says nothing of it
        copy = Path(WALK["runs_dir"]) / "20991231-235959-tiny"
        shutil.copytree(Path(WALK["runs_dir"]) / WALK["run_id"], copy)
        open_page(page, "Runs")
        open_select(page, "runs_selected")
        page.get_by_role("option", name=copy.name, exact=True).click()
        box = page.locator(".st-key-runs_selected input")
        poll(lambda: box.input_value().startswith(copy.name), 15, "the copy in the run box")
        settle(page)
        page.get_by_text("Delete this run").click()
        page.get_by_text(f"Yes, delete {copy.name} and its checkpoints for good").click()
        settle(page)
        page.locator(".st-key-runs_delete").get_by_role("button").click()
        settle(page)
        page.get_by_text(f"Deleted {copy.name} and its checkpoints.").wait_for()
        assert not copy.exists()
        # the message is drawn before the box: a busy browser may show one without the other
        poll(lambda: box.input_value().startswith(WALK["run_id"]), 15, "the box to leave it")
        settle(page)
        assert page.get_by_text("is not here any more").count() == 0  # it was deleted here
        page.locator(".st-key-runs_metric").get_by_text("loss", exact=True).click()
        poll(lambda: plot_title(page, "runs_chart") == "loss", 15, "the loss chart")
        settle(page)  # the rerun has drawn the chart; the box comes later in the page
        assert box.input_value().startswith(WALK["run_id"]), box.input_value()
        assert page.get_by_text("is not here any more").count() == 0
        no_errors(page)


def test_5_feature_maps_and_filters(page, server):
    with Step(page, server, "5-inside"):
        open_page(page, "Feature maps & filters")
        assert page.locator(".st-key-inside_run input").input_value().startswith(WALK["run_id"])
        grid = page.locator(".st-key-inside_grid .js-plotly-plot")
        grid.wait_for()
        assert grid.evaluate("plot => plot.data.length") >= 1
        no_errors(page)
        # A channel enlarged stays enlarged for the next images (the browser keeps a choice by
        # its label: one with the image's figures in it was dropped on the second new image).
        choose(page, "inside_channel", "channel 3")
        for number in (11, 12):
            show_test_image(page, number)
            assert page.locator(".st-key-inside_channel input").input_value() == "channel 3"
        title = poll(lambda: plot_title(page, "inside_channel_chart"), 15, "the channel's chart")
        assert re.fullmatch(r"conv1, channel 3 · mean [-\d.]+", title), title
        # So does a checkpoint whose label's figures change, as a run's that trains on do:
        # here every epoch's validation accuracy is rewritten to 90%.
        box = page.locator(f".st-key-inside_checkpoint_{WALK['run_id']} [role='combobox']")
        box.click()
        page.get_by_role("option", name=re.compile(r"^last · ")).click()
        settle(page)
        rewrite_history("0.9")
        page.locator(".st-key-inside_random").get_by_role("button").click()
        poll(lambda: re.match(r"last · epoch \d+, val acc 90\.0%$", box.input_value()), 15,
             "the last checkpoint's new figures in its box")  # fmt: skip
        no_errors(page)
        page.get_by_role("tab", name="Filters").click()
        filters = page.locator("[data-testid='stTabPanel']:visible [data-testid='stImage']")
        filters.first.wait_for()
        # The tab's run says which is open (nothing shows it): one that follows it has seen it
        show_test_image(page, 13)
        no_errors(page)


def show_test_image(page, number: int) -> None:
    """Feature maps: type a test image's number and wait for the run that shows it to end."""
    type_number(page, "inside_index", number)
    page.get_by_text(re.compile(rf"^test image #{number}: ")).wait_for()
    settle(page)  # the run has started (its caption is new): now it has ended


def png_bytes() -> bytes:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_6_classify_an_upload_and_a_corrupt_file(page, server, tmp_path):
    with Step(page, server, "6-classify"):
        good, bad = tmp_path / "cat.png", tmp_path / "broken.jpg"
        good.write_bytes(png_bytes())
        bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
        open_page(page, "Classify")
        page.locator(".st-key-classify_upload input[type='file']").set_input_files(
            [str(good), str(bad)]
        )
        settle(page)
        main = page.locator("[data-testid='stMain']")
        poll(lambda: "broken.jpg" in main.inner_text(), 60, "a message for the corrupt file")
        assert page.locator("[data-testid='stException']").count() == 0
        page.locator(".st-key-classify_chart .js-plotly-plot").wait_for()
        page.get_by_text(re.compile(r"^Grad-CAM: ")).first.wait_for()
        assert "cat.png" in main.inner_text()
        page.set_viewport_size({"width": 1024, "height": 1800})  # a small laptop: they wrap
        poll(lambda: classify_laid_out(page), 10, "the chart and pictures whole at 1024 px")
        page.set_viewport_size({"width": 1400, "height": 1800})


def classify_laid_out(page) -> bool:
    """True if Classify's chart and pictures keep their size at the window's width (they wrap
    onto another line); else AssertionError with the sizes."""
    chart = page.locator(".st-key-classify_chart").bounding_box()
    pictures = [page.locator("[data-testid='stImage']", has_text=text).nth(i).bounding_box()
                for text, i in (("What the network saw", 0), ("Grad-CAM: ", 0),
                                ("Grad-CAM: ", 1))]  # fmt: skip
    assert chart["width"] >= 250, f"the chart squeezed to {chart['width']:.0f} px"
    assert all(p["width"] >= 150 for p in pictures), f"pictures squeezed: {pictures}"
    return True


def open_select(page, key: str):
    """Open a selectbox's list from the keyboard (a click on it only focuses it)."""
    box = page.locator(f".st-key-{key} input[role='combobox']")
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.press("ArrowDown")
    return page.get_by_role("option")


def test_7_classify_choices_follow_the_image_looked_at(page, server):
    with Step(page, server, "7-classify-closer"):
        page.locator(".st-key-classify_use_test label").click()  # four test images join
        settle(page)
        options = open_select(page, "classify_pick")
        poll(lambda: options.count() == 5, 15, "the upload and four test images to pick from")
        last = options.nth(4).inner_text()
        options.nth(4).click()
        picked = page.locator(".st-key-classify_pick input[role='combobox']")
        poll(lambda: picked.input_value() == last, 15, f"{last} in the box")
        page.get_by_role("heading", name=last).wait_for()
        settle(page)
        assert page.get_by_role("heading", name=last).count() == 1

        def cam_named_in_its_box() -> bool:
            """The other heat map's class, as its caption says and as the box above it says."""
            caption = page.get_by_text(re.compile(r"^Grad-CAM: ")).nth(1).inner_text()
            other = page.locator(".st-key-classify_cam_class input[role='combobox']").input_value()
            assert caption.removeprefix("Grad-CAM: ").startswith(other + " ("), (other, caption)
            return True

        poll(cam_named_in_its_box, 15, "the second heat map's caption to name its box's class")
        assert page.locator("[data-testid='stException']").count() == 0  # broken.jpg's box stays


def test_8_feature_maps_opens_on_the_tab_left_open(page, server):
    with Step(page, server, "8-inside-tab"):
        open_page(page, "Feature maps & filters")  # Filters was left open in step 5
        filters = page.get_by_role("tab", name="Filters")
        poll(lambda: filters.get_attribute("aria-selected") == "true", 15, "Filters open")
        page.get_by_role("tab", name="Overview").click()
        show_test_image(page, 14)  # a run that has seen the click, as a user's next step would
        open_page(page, "Classify")
        open_page(page, "Feature maps & filters")
        overview = page.get_by_role("tab", name="Overview")
        poll(lambda: overview.get_attribute("aria-selected") == "true", 15, "Overview open")
        page.locator(".st-key-inside_overview .js-plotly-plot").wait_for()
        no_errors(page)
