"""Shared test set-up: quiet TensorFlow, keep runs and caches out of the user's folders."""

import importlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Set before TensorFlow is imported anywhere in the test process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="alexnet-tests-"))
os.environ["ALEXNET_RUNS_DIR"] = str(_SESSION_DIR / "runs")
os.environ["ALEXNET_CACHE_DIR"] = str(_SESSION_DIR / "cache")
os.environ.pop("ALEXNET_CIFAR10", None)  # the tests choose their data themselves

SHARED_ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"


def dev_dependency(name: str):
    """The module `name` from requirements-dev.txt: a missing one skips its tests on a
    developer's machine but fails them in CI, which installs it."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name)


@pytest.fixture(autouse=True)
def _no_job_left_running():
    """A training thread started by one test must not run on into the next, nor its run show
    on the next test's pages."""
    yield
    if "alexnet_core.training" in sys.modules:
        sys.modules["alexnet_core.training"].stop_all_jobs(timeout=30, forget=True)


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty runs root for one test."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(path))
    return path


@pytest.fixture
def shapes_folder(tmp_path) -> Path:
    """An image folder of two classes, 10 random 32x32 PNGs each in train/ and 3 in test/."""
    import numpy as np
    from PIL import Image

    folder, rng = tmp_path / "shapes", np.random.default_rng(0)
    for split, count in (("train", 10), ("test", 3)):
        for name in ("circle", "square"):
            (folder / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / split / name / f"{i}.png")
    return folder
