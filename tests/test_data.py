"""load_dataset: every source kind, the splits, the disk cache, and each kind of bad input."""

import io
import os
import pickle
import re
import socket
import subprocess
import sys
import tarfile
import time
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_core import atomic, cifar, data, decode_cache, image_folders, images, packed_jpegs
from alexnet_core.data import load_dataset
from tests.test_images import noise_jpeg, png_declaring

CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SHARED_ZIP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.zip"
SHARED_PACKED = SHARED_ZIP.with_name("cifar10-jpeg-packed.npz")


# --- Helpers that build small sources -------------------------------------------------------


def colour(label: int) -> tuple[int, int, int]:
    """Each class (up to 10) gets its own flat colour, so a test can check labels by pixels."""
    label = int(label)
    return (10 + 24 * label, 240 - 24 * label, 128)


def png(label: int, size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour(label)).save(buffer, "PNG")
    return buffer.getvalue()


def make_folder(root: Path, counts: dict[str, int], split: str = "") -> Path:
    """root/[split/]<class>/<n>.png, class i filled with colour(i) in sorted class order."""
    for label, class_name in enumerate(sorted(counts)):
        folder = root / split / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(counts[class_name]):
            (folder / f"{n:03d}.png").write_bytes(png(label))
    return root


def zip_folder(folder: Path, zip_path: Path, wrapper: str = "") -> Path:
    """Zip the files under folder (no folder entries, as many tools write them)."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, str(Path(wrapper, file.relative_to(folder))))
    return zip_path


def batch_bytes(images: np.ndarray, labels: list[int]) -> bytes:
    """A batch in CIFAR-10's own format: rows of 3072 bytes (R plane, G plane, B plane)."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {b"batch_label": b"test", b"labels": labels, b"data": rows, b"filenames": []}
    return pickle.dumps(batch, protocol=2)


def make_cifar_files(per_batch: int = 6, batches: int = 2) -> dict[str, bytes]:
    """Tiny pickled batches: image i of a batch is flat colour(label); labels cycle 0..9."""
    files = {"batches.meta": pickle.dumps({b"label_names": [n.encode() for n in CIFAR10]})}
    for name in [f"data_batch_{n}" for n in range(1, batches + 1)] + ["test_batch"]:
        labels = [n % 10 for n in range(per_batch)]
        images = np.array([np.full((32, 32, 3), colour(label), np.uint8) for label in labels])
        files[name] = batch_bytes(images, labels)
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def make_tar(tar_path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(tar_path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return tar_path


def assert_labels_match_pixels(x: np.ndarray, y: np.ndarray):
    if len(y) == 0:
        return
    centre = x[:, x.shape[1] // 2, x.shape[2] // 2].astype(int)  # (N, 3)
    expected = np.array([colour(label) for label in y], dtype=int).reshape(-1, 3)
    assert np.abs(centre - expected).max() <= 2


def assert_well_formed(dataset, image_size: int = 32):
    for x, y in [
        (dataset.x_train, dataset.y_train),
        (dataset.x_val, dataset.y_val),
        (dataset.x_test, dataset.y_test),
    ]:
        assert x.dtype == np.uint8 and x.shape[1:] == (image_size, image_size, 3)
        assert y.dtype == np.int64 and y.shape == (len(x),)
        assert_labels_match_pixels(x, y)
    assert dataset.image_size == image_size
    assert dataset.num_classes == len(dataset.class_names)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory) -> Path:
    """One cache for the tests that load the bundled sample, so it is decoded once."""
    return tmp_path_factory.mktemp("sample-cache")


# --- Image folders and zips -----------------------------------------------------------------


def test_folder_with_train_and_test(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"dog": 10, "cat": 10, "bird": 10}, "train")
    make_folder(root, {"dog": 3, "cat": 3, "bird": 3}, "test")
    dataset = load_dataset(root, validation_fraction=0.2, cache_dir=cache)
    assert dataset.class_names == ("bird", "cat", "dog")
    assert len(dataset.y_test) == 9  # The folder's own test split, untouched.
    assert np.bincount(dataset.y_val).tolist() == [2, 2, 2]
    assert np.bincount(dataset.y_train).tolist() == [8, 8, 8]
    assert str(root) in dataset.name and dataset.source == str(root)
    assert_well_formed(dataset)


def test_folder_without_a_test_split_is_split_per_class(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 10, "dog": 20})
    dataset = load_dataset(root, test_fraction=0.2, validation_fraction=0.25, cache_dir=cache)
    assert np.bincount(dataset.y_test).tolist() == [2, 4]
    assert np.bincount(dataset.y_val).tolist() == [2, 4]
    assert np.bincount(dataset.y_train).tolist() == [6, 12]
    assert_well_formed(dataset)


def test_images_of_any_size_are_resized(tmp_path, cache):
    root = tmp_path / "shapes"
    for label, name in enumerate(["a", "b"]):
        (root / name).mkdir(parents=True)
        (root / name / "wide.png").write_bytes(png(label, size=(40, 10)))
        (root / name / "tall.png").write_bytes(png(label, size=(7, 50)))
    dataset = load_dataset(root, image_size=16, test_fraction=0, cache_dir=cache)
    assert_well_formed(dataset, image_size=16)


def test_class_names_are_sorted_into_cifar_order(tmp_path, cache):
    shuffled = dict.fromkeys(["truck", "cat", "airplane", "ship", "bird"], 1)
    shuffled |= dict.fromkeys(["frog", "horse", "deer", "automobile", "dog"], 1)
    dataset = load_dataset(
        make_folder(tmp_path / "c", shuffled),
        test_fraction=0,
        validation_fraction=0,
        cache_dir=cache,
    )
    assert dataset.class_names == CIFAR10


@pytest.mark.parametrize("wrapper", ["", "my-dataset", "outer/inner"])
def test_zip_with_or_without_a_wrapping_folder(tmp_path, cache, wrapper):
    folder = make_folder(tmp_path / "f", {"cat": 5, "dog": 5}, "train")
    make_folder(folder, {"cat": 2, "dog": 2}, "test")
    zip_path = zip_folder(folder, tmp_path / "pets.zip", wrapper)
    dataset = load_dataset(zip_path, validation_fraction=0.2, cache_dir=cache)
    assert dataset.class_names == ("cat", "dog")
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (8, 2, 4)
    assert str(zip_path) in dataset.name
    assert_well_formed(dataset)


@pytest.mark.parametrize(("train", "test"), [("Train", "Test"), ("training", "Testing")])
def test_split_folders_in_any_case_or_spelled_out(tmp_path, cache, train, test):
    root = make_folder(tmp_path / "scans", {"glioma": 4, "normal": 4}, train)
    make_folder(root, {"glioma": 2, "normal": 2}, test)
    dataset = load_dataset(root, validation_fraction=0, cache_dir=cache)
    assert dataset.class_names == ("glioma", "normal")  # not ("Test", "Train")
    assert (len(dataset.y_train), len(dataset.y_test)) == (8, 4)


def test_a_class_named_train_among_flat_class_folders_is_a_class(tmp_path, cache):
    root = make_folder(tmp_path / "vehicles", {"bus": 3, "train": 3, "tram": 3})  # CIFAR-100
    dataset = load_dataset(root, validation_fraction=0, test_fraction=0.34, cache_dir=cache)
    assert dataset.class_names == ("bus", "train", "tram")
    assert_labels_match_pixels(dataset.x_train, dataset.y_train)


def test_a_train_folder_of_images_alone_beside_split_folders_is_named(tmp_path, cache):
    root = make_folder(tmp_path / "d", {"cat": 2, "dog": 2}, "test")
    (root / "train").mkdir()
    (root / "train" / "0.png").write_bytes(png(0))
    with pytest.raises(ValueError, match=r"train/ beside test/ has no class folders; put its"):
        load_dataset(root, cache_dir=cache)
    root = make_folder(tmp_path / "e", {"cat": 2, "dog": 2}, "train")
    (root / "training").mkdir()
    (root / "training" / "0.png").write_bytes(png(0))
    with pytest.raises(ValueError, match=r"2 train folders \(train/, training/\); merge them"):
        load_dataset(root, cache_dir=cache)


def patched_zip(zip_path: Path, names: dict[str, bytes]) -> Path:
    """A zip of png files named by `names`' keys, then each name's bytes replaced by its value
    (the same length): names as other tools write them, which Python's zipfile would not."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for label, name in enumerate(names):
            archive.writestr(name, png(label))
    content = zip_path.read_bytes()
    for name, raw in names.items():
        content = content.replace(name.encode(), raw)
    zip_path.write_bytes(content)
    return zip_path


def test_utf8_zip_names_without_the_utf8_flag_read_as_their_folder_had_them(tmp_path, cache):
    # macOS' Archive Utility and Info-ZIP's zip write UTF-8 names but leave the flag unset
    names = {"cafXY/0.png": "café/0.png".encode(), "cafXY/1.png": "café/1.png".encode(),
             "dog/0.png": b"dog/0.png", "dog/1.png": b"dog/1.png"}  # fmt: skip
    zip_path = patched_zip(tmp_path / "d.zip", names)
    with zipfile.ZipFile(zip_path) as archive:
        assert not archive.infolist()[0].flag_bits & 0x800  # no flag: read as code page 437
    dataset = load_dataset(zip_path, validation_fraction=0, test_fraction=0.5, cache_dir=cache)
    assert dataset.class_names == ("café", "dog")


def test_a_zip_name_flagged_utf8_that_is_not_is_refused_by_path(tmp_path, cache):
    zip_path = patched_zip(tmp_path / "odd.zip", {"caté/0.png": b"cat\xff\xff/0.png"})
    with pytest.raises(ValueError, match="cannot read this zip file") as error:
        load_dataset(zip_path, cache_dir=cache)
    assert str(zip_path) in str(error.value)


def test_a_home_folder_of_no_such_user_is_a_path_not_found(tmp_path, cache, monkeypatch):
    typo = "~no-such-user-here/flowers"
    with pytest.raises(ValueError, match="no such file or folder"):
        load_dataset(typo, cache_dir=cache)
    assert data.recorded_source(typo).endswith(typo)  # as typed, made absolute
    monkeypatch.setenv(data.SOURCE_VARIABLE, typo)
    (entry,) = [s for s in data.available_sources() if s["name"] == typo]
    assert not entry["available"] and "does not exist" in entry["detail"]
    monkeypatch.chdir(tmp_path)  # as a shell leaves it: a folder of that name, here
    monkeypatch.setenv(decode_cache.CACHE_VARIABLE, "~no-such-user-here/cache")
    assert load_dataset(make_folder(tmp_path / "f", {"cat": 3, "dog": 3})).class_names
    assert list((tmp_path / "~no-such-user-here" / "cache").glob("f-*.npz"))


def test_zip_of_dot_slash_names_and_a_wrapper_beside_a_readme(tmp_path, cache):
    folder = make_folder(tmp_path / "f", {"cat": 3, "dog": 3})
    dotted = tmp_path / "dotted.zip"  # as bsdtar writes `tar -a -cf dotted.zip .`
    with zipfile.ZipFile(dotted, "w") as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, f"./{file.relative_to(folder).as_posix()}")
    wrapped = zip_folder(folder, tmp_path / "wrapped.zip", "pets")
    with zipfile.ZipFile(wrapped, "a") as archive:
        archive.writestr("README.txt", b"about the pets")
    for path in (dotted, wrapped):
        dataset = load_dataset(path, test_fraction=0, validation_fraction=0, cache_dir=cache)
        assert dataset.class_names == ("cat", "dog") and len(dataset.y_train) == 6, path


def test_a_relative_path_is_recorded_as_an_absolute_one(tmp_path, cache, monkeypatch):
    make_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    monkeypatch.chdir(tmp_path)
    dataset = load_dataset("pets", test_fraction=0, cache_dir=cache)
    assert dataset.source == str(tmp_path / "pets")  # what a run's config.json keeps
    monkeypatch.chdir("/")
    assert load_dataset(dataset.source, test_fraction=0, cache_dir=cache).from_cache


def test_zip_junk_is_ignored(tmp_path, cache):
    zip_path = zip_folder(make_folder(tmp_path / "f", {"cat": 3, "dog": 3}), tmp_path / "p.zip")
    with zipfile.ZipFile(zip_path, "a") as archive:
        archive.writestr("__MACOSX/cat/._000.png", b"resource fork")
        archive.writestr("cat/.DS_Store", b"finder")
        archive.writestr("README.txt", b"loose files beside the class folders are not images")
        archive.writestr("extra.PNG", (tmp_path / "f" / "cat" / "000.png").read_bytes())
    dataset = load_dataset(zip_path, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert len(dataset.y_train) == 6
    # macOS' and Finder's files and a README go unmentioned; an image without a class is listed.
    assert dataset.skipped == ("extra.PNG: an image outside every class folder, left out",)


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_a_large_file_not_named_as_an_image_is_left_out_unread(tmp_path, cache, monkeypatch, kind):
    folder = make_folder(tmp_path / "f", {"cat": 3, "dog": 3})
    (folder / "cat" / "scan").write_bytes(png(0))  # no suffix, small: read, and an image
    if kind == "folder":
        source = folder
        with open(folder / "dog" / "holiday.mp4", "wb") as video:
            video.truncate(image_folders.UNREAD_ABOVE + 1)  # sparse: 64 MB that take no disk
    else:  # a zip would store the 64 MB: a smaller limit, the same rule
        source = zip_folder(folder, tmp_path / "f.zip")
        monkeypatch.setattr(image_folders, "UNREAD_ABOVE", 1000)
        with zipfile.ZipFile(source, "a") as archive:
            archive.writestr("dog/holiday.mp4", bytes(2000))
    read = []
    decode = image_folders.decode_image

    def reading(data, *args, **options):  # counts what is read
        read.append(len(data))
        return decode(data, *args, **options)

    monkeypatch.setattr(image_folders, "decode_image", reading)
    found = image_folders.read_image_folder(source, 32)
    assert len(read) == 7  # three cats, the scan and three dogs: never the video
    assert any(
        line.startswith("dog/holiday.mp4: not an image by its name, and over")
        for line in found.skipped
    ), found.skipped


def test_images_beside_the_class_folders_of_a_split_layout_are_listed(tmp_path, cache):
    root = make_folder(make_folder(tmp_path / "pets", {"cat": 3, "dog": 3}, "train"),
                       {"cat": 1, "dog": 1}, "test")  # fmt: skip
    (root / "train" / "unsorted.png").write_bytes(png(0))
    (root / "test" / "notes.txt").write_text("not an image, not worth a word")
    dataset = load_dataset(root, validation_fraction=0, cache_dir=cache)
    assert (len(dataset.y_train), len(dataset.y_test)) == (6, 2)
    assert dataset.skipped == ("train/unsorted.png: an image outside every class folder, left out",)


def zip_of(zip_path: Path, names: list[str]) -> Path:
    """A zip holding an image of class 0 at each name."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in names:
            archive.writestr(name, png(0))
    return zip_path


@pytest.mark.parametrize("beside", [["cat", "dog"], []])
def test_a_test_folder_without_a_train_folder_is_refused(tmp_path, cache, beside):
    root = make_folder(tmp_path / "pets", dict.fromkeys(beside, 2))
    make_folder(root, {"cat": 1, "dog": 1}, "Testing")
    with pytest.raises(ValueError, match="found Testing/ but no train/ folder") as error:
        load_dataset(root, cache_dir=cache)  # not a class "Testing" trained on
    assert str(root) in str(error.value) and "train/<class>/" in str(error.value)


@pytest.mark.parametrize("contents", [{}, {"README.txt": "test images go here"}])
def test_a_test_folder_without_class_folders_is_refused(tmp_path, cache, contents):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, "train")
    write_files(root / "test", {name: text.encode() for name, text in contents.items()})
    with pytest.raises(ValueError, match="test/ has no class folders") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value)


def test_folders_beside_train_and_test_are_listed_as_left_out(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 3, "dog": 3}, "train")
    make_folder(root, {"cat": 1, "dog": 1}, "test")
    make_folder(root, {"cat": 1, "dog": 1}, "val")
    dataset = load_dataset(root, validation_fraction=0, cache_dir=cache)
    assert (len(dataset.y_train), len(dataset.y_test)) == (6, 2)
    assert dataset.skipped == ("val/: not a train/ or test/ folder, left out",)
    assert dataset.summary().endswith(", 1 file or folder left out")


@pytest.mark.parametrize(
    "names, problem",
    [
        (["Train/cat/1.png", "train/dog/1.png"], r"2 train folders \(Train/, train/\)"),
        (["training/cat/1.png", "train/dog/1.png"], r"2 train folders \(train/, training/\)"),
        (["train/cat/1.png", "train/dog/1.png", "test/cat/1.png", "TEST/dog/1.png"], "2 test"),
        (["Cat/1.png", "cat/1.png", "dog/1.png"], "class folders Cat and cat differ only in case"),
        (["train/Cat/1.png", "train/cat/1.png", "train/dog/1.png"], "train/Cat and train/cat"),
    ],
)
def test_folders_whose_names_differ_only_in_case_are_refused(tmp_path, cache, names, problem):
    # A zip, since a case-insensitive file system (macOS, Windows) cannot hold both folders.
    path = zip_of(tmp_path / "pets.zip", names)
    with pytest.raises(ValueError, match=problem) as error:
        load_dataset(path, cache_dir=cache)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_path_pasted_in_quotes_is_found_and_recorded_without_them(tmp_path, cache, quote):
    root = make_folder(tmp_path / "my pets", {"cat": 3, "dog": 3})
    dataset = load_dataset(f" {quote}{root}{quote} ", test_fraction=0, cache_dir=cache)
    assert dataset.source == str(root) and len(dataset.y_train) == 6
    assert data.source_stamp(f"{quote}{root}{quote}") == data.source_stamp(root) != ""


def test_quotes_that_are_part_of_a_name_are_kept(tmp_path, cache, monkeypatch):
    root = make_folder(tmp_path / '"pets"', {"cat": 3, "dog": 3})
    monkeypatch.chdir(tmp_path)
    assert load_dataset('"pets"', test_fraction=0, cache_dir=cache).source == str(root)


def test_source_stamp_sees_a_file_overwritten_in_place(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    stamp = data.source_stamp(root)
    image, folder = root / "cat" / "000.png", root / "cat"
    folder_times = (folder.stat().st_atime_ns, folder.stat().st_mtime_ns)
    image.write_bytes(png(1))  # same size, new content; the folder's own time is kept
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    os.utime(folder, ns=folder_times)
    assert data.source_stamp(root) != stamp
    assert data.source_stamp(root) == data.source_stamp(root)
    # Replaced by a file of the same size whose modification time is put back, as cp -p,
    # tar and unzip do: only the change time tells.
    stamp, before = data.source_stamp(root), image.stat()
    image.write_bytes(png(2))
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.utime(folder, ns=folder_times)
    assert (image.stat().st_size, image.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert data.source_stamp(root) != stamp


def test_symlinked_split_and_class_folders_are_followed(tmp_path, cache):
    elsewhere = make_folder(tmp_path / "elsewhere", {"cat": 3, "dog": 3})
    root = make_folder(tmp_path / "pets", {"cat": 1}, "test")
    (root / "train").symlink_to(elsewhere, target_is_directory=True)
    (root / "test" / "dog").symlink_to(elsewhere / "dog", target_is_directory=True)
    (elsewhere / "cat" / "loop").symlink_to(root, target_is_directory=True)  # a cycle
    stamp = data.source_stamp(root)
    dataset = load_dataset(root, validation_fraction=0, cache_dir=cache)
    assert np.bincount(dataset.y_train).tolist() == [3, 3]
    assert np.bincount(dataset.y_test).tolist() == [1, 3]
    (elsewhere / "cat" / "extra.png").write_bytes(png(0))  # a change behind a link
    assert data.source_stamp(root) != stamp
    again = load_dataset(root, validation_fraction=0, cache_dir=cache)
    assert not again.from_cache and np.bincount(again.y_train).tolist() == [4, 3]


def test_a_broken_link_is_a_file_that_cannot_be_read(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    (root / "cat" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    dataset = load_dataset(root, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert len(dataset.y_train) == 6
    assert dataset.skipped == ("cat/gone.png: cannot read (No such file or directory)",)


def test_a_pipe_or_a_device_in_a_class_folder_is_left_out_unread(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    os.mkfifo(root / "cat" / "pipe.jpg")  # reading it would wait for a writer for ever
    (root / "dog" / "zeros.png").symlink_to("/dev/zero")  # size 0, and it never ends
    dataset = load_dataset(root, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert len(dataset.y_train) == 6
    why = "cannot read (not a regular file: a pipe, a device or a socket)"
    assert dataset.skipped == (f"cat/pipe.jpg: {why}", f"dog/zeros.png: {why}")


def test_names_that_are_not_utf8_load_as_valid_text(tmp_path, cache):
    root = Path(os.fsdecode(bytes(tmp_path) + b"/d\xe9ta"))  # the source's own path, too
    try:
        make_folder(root, {os.fsdecode(b"caf\xe9"): 2, "dog": 2})
    except OSError:  # macOS and Windows accept only valid names
        pytest.skip("this file system refuses names that are not UTF-8")
    (root / "dog" / os.fsdecode(b"\xff.png")).write_bytes(png(1))
    dataset = load_dataset(root, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert dataset.class_names == ("caf\\xe9", "dog")
    assert np.bincount(dataset.y_train).tolist() == [2, 3]
    "\n".join(dataset.class_names).encode("utf-8")  # what Streamlit and JSON need
    assert load_dataset(root, test_fraction=0, cache_dir=cache).from_cache


# --- CIFAR-10's pickled batches -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "parent folder", "tar.gz"])
def test_pickled_batches(tmp_path, cache, kind):
    files = make_cifar_files(per_batch=10, batches=2)
    if kind == "folder":
        source = write_files(tmp_path / "cifar-10-batches-py", files)
    elif kind == "parent folder":
        source = write_files(tmp_path / "copy" / "cifar-10-batches-py", files).parent
    else:
        source = make_tar(tmp_path / "cifar-10-python.tar.gz", files)
    dataset = load_dataset(source, validation_fraction=0.5, cache_dir=cache)
    assert dataset.class_names == CIFAR10  # From batches.meta.
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (10, 10, 10)
    assert_well_formed(dataset)


def test_a_damaged_xz_archive_is_refused_by_path(tmp_path, cache):
    archive = tmp_path / "cifar-10-python.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for name, content in make_cifar_files(per_batch=10, batches=2).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    content = bytearray(archive.read_bytes())
    at = len(content) * 3 // 4  # damaged in storage, past the first member's header
    content[at : at + 64] = bytes(64)
    archive.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="not a readable CIFAR-10 archive") as error:
        load_dataset(archive, cache_dir=cache)
    assert str(archive) in str(error.value)


def test_an_archive_without_test_batch_asks_whether_it_is_whole(tmp_path, cache):
    files = make_cifar_files(per_batch=10, batches=2)
    del files["test_batch"]  # as a damaged .tar.gz reads: its reader stops at the damage
    archive = make_tar(tmp_path / "cifar-10-python.tar.gz", files)
    with pytest.raises(ValueError, match="no test_batch found; is this cifar-10-python, and is it"):
        load_dataset(archive, cache_dir=cache)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="Linux's /proc")
def test_a_file_that_cannot_be_read_is_refused_by_path(cache):
    with pytest.raises(ValueError, match="/proc/self/mem: cannot be read"):
        load_dataset("/proc/self/mem", cache_dir=cache)


def test_pickled_pixel_layout(tmp_path, cache):
    # An independent oracle for the reshape: byte k of a row is channel k // 1024, pixel
    # row (k % 1024) // 32, column k % 32.
    row = (np.arange(3072) % 251).astype(np.uint8)
    files = make_cifar_files()
    batch = {b"labels": [3], b"data": row[None, :]}
    files["data_batch_1"] = files["test_batch"] = pickle.dumps(batch, protocol=2)
    dataset = load_dataset(
        write_files(tmp_path / "b", files), validation_fraction=0, cache_dir=cache
    )
    channel, pixel_row, column = 2, 5, 7
    expected = (channel * 1024 + pixel_row * 32 + column) % 251
    assert dataset.x_test[0, pixel_row, column, channel] == expected
    assert dataset.y_test.tolist() == [3]


def test_pickled_batches_resize_when_asked(tmp_path, cache):
    source = write_files(tmp_path / "b", make_cifar_files())
    assert_well_formed(load_dataset(source, image_size=48, cache_dir=cache), image_size=48)


def test_a_pickle_that_would_run_code_is_refused(tmp_path, cache):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    files = make_cifar_files()
    files["test_batch"] = pickle.dumps({b"data": Exploit()})
    source = write_files(tmp_path / "evil", files)
    with pytest.raises(ValueError, match=r"test_batch.*refusing to load .*system") as error:
        load_dataset(source, cache_dir=cache)
    assert str(source) in str(error.value)


# --- The bundled sample and the real CIFAR-10 zip --------------------------------------------


def test_bundled_sample_is_balanced_and_small():
    assert data.SAMPLE_PATH.stat().st_size <= 5_000_000
    with zipfile.ZipFile(data.SAMPLE_PATH) as archive:
        names = [name.split("/") for name in archive.namelist()]
    for split, per_class in [("train", 400), ("test", 100)]:
        for class_name in CIFAR10:
            assert sum(parts[:2] == [split, class_name] for parts in names) == per_class


def test_bundled_sample_loads(sample_cache):
    dataset = load_dataset("sample", cache_dir=sample_cache)
    assert dataset.class_names == CIFAR10 and dataset.source == "sample"
    assert np.bincount(dataset.y_train).tolist() == [360] * 10
    assert np.bincount(dataset.y_val).tolist() == [40] * 10
    assert np.bincount(dataset.y_test).tolist() == [100] * 10
    assert dataset.x_train.shape == (3600, 32, 32, 3) and dataset.x_train.dtype == np.uint8
    assert dataset.skipped == ()
    assert "3,600 train / 400 validation / 1,000 test" in dataset.summary()


def test_cached_sample_loads_fast(sample_cache):
    load_dataset("sample", cache_dir=sample_cache)
    start = time.perf_counter()
    dataset = load_dataset("sample", cache_dir=sample_cache)
    assert dataset.from_cache and time.perf_counter() - start < 1.0


def test_a_changed_source_replaces_its_old_decode_and_nothing_else(tmp_path, cache):
    first = make_folder(tmp_path / "a" / "pets", {"cat": 3, "dog": 3})
    other = make_folder(tmp_path / "b" / "pets", {"cat": 2, "dog": 2})  # same name, elsewhere
    for source, size in ((first, 32), (first, 16), (other, 32)):
        load_dataset(source, image_size=size, test_fraction=0, cache_dir=cache)
    before = set(cache.iterdir())
    assert len(before) == 3
    cat = first / "cat" / "000.png"  # one more cat: the 32-pixel decode of `first` is stale
    cat.with_name("new.png").write_bytes(cat.read_bytes())
    changed = load_dataset(first, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert not changed.from_cache and len(changed.y_train) == 7
    after = set(cache.iterdir())
    (gone,), (new,) = before - after, after - before
    assert "-32px-" in gone.name and gone.name.rsplit("-", 1)[0] == new.name.rsplit("-", 1)[0]
    assert sum("-16px-" in file.name for file in after) == 1  # another size: not this decode's
    assert load_dataset(first, test_fraction=0, cache_dir=cache).from_cache
    assert load_dataset(other, test_fraction=0, cache_dir=cache).from_cache


def test_splits_keep_at_least_one_image_of_every_class_for_training(tmp_path, cache):
    # 90% to test, then 90% of the rest to validation: a class of two keeps one for training.
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 10})
    dataset = load_dataset(root, test_fraction=0.9, validation_fraction=0.9, cache_dir=cache)
    assert np.bincount(dataset.y_train, minlength=2).tolist() == [1, 1]
    assert np.bincount(dataset.y_test, minlength=2).tolist() == [1, 9]
    assert len(dataset.y_val) == 0  # one image left per class: none can go to validation
    assert_well_formed(dataset)
    bigger = load_dataset(make_folder(tmp_path / "more", {"cat": 20, "dog": 40}),
                          test_fraction=0.5, validation_fraction=0.5, cache_dir=cache)  # fmt: skip
    assert np.bincount(bigger.y_test).tolist() == [10, 20]  # elsewhere the fractions hold
    assert np.bincount(bigger.y_val).tolist() == [5, 10]
    assert np.bincount(bigger.y_train).tolist() == [5, 10]


def test_same_seed_same_split_other_seed_other_split(sample_cache):
    first, again = (load_dataset("sample", seed=1, cache_dir=sample_cache) for _ in range(2))
    other = load_dataset("sample", seed=2, cache_dir=sample_cache)
    for name in ["x_train", "y_train", "x_val", "y_val", "x_test", "y_test"]:
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.x_val, other.x_val)
    assert np.bincount(other.y_val).tolist() == [40] * 10  # Still stratified.


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_ZIP.exists(), reason="needs ../shared/datasets/cifar10-jpeg.zip")
def test_real_cifar10_zip(cache):
    dataset = load_dataset(SHARED_ZIP, cache_dir=cache)
    assert dataset.class_names == CIFAR10 and dataset.skipped == ()  # its README.md is no image
    assert np.bincount(dataset.y_train + 0).tolist() == [4500] * 10
    assert np.bincount(dataset.y_val).tolist() == [500] * 10
    assert np.bincount(dataset.y_test).tolist() == [1000] * 10
    assert dataset.x_train.shape == (45000, 32, 32, 3) and dataset.x_train.dtype == np.uint8
    start = time.perf_counter()
    again = load_dataset(SHARED_ZIP, cache_dir=cache)
    assert again.from_cache and time.perf_counter() - start < 5.0
    np.testing.assert_array_equal(again.x_test, dataset.x_test)


def pack_jpegs(path: Path, files: list[tuple[bytes, int, int]], class_names) -> Path:
    """The packed layout from (JPEG bytes, label, split) triples; header left empty, so each
    scan is the whole file (the shared copy moves its common 623-byte header out instead)."""
    scans = [np.frombuffer(jpeg, np.uint8) for jpeg, _, _ in files]
    np.savez(
        path, header=np.zeros(0, np.uint8), scans=np.concatenate(scans),
        offsets=np.cumsum([0] + [len(s) for s in scans]).astype(np.int64),
        labels=np.array([label for _, label, _ in files], np.uint8),
        split=np.array([split for _, _, split in files], np.uint8),
        class_names=np.array(class_names),
    )  # fmt: skip
    return path


def test_packed_jpegs_decode_to_the_same_pixels_as_the_files(tmp_path, cache):
    with zipfile.ZipFile(data.SAMPLE_PATH) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        pets = [n for n in names if "/cat/" in n or "/dog/" in n]
        train = [n for n in pets if n.startswith("train/")]
        test = [n for n in pets if n.startswith("test/")]
        picked = train[:3] + train[-3:] + test[:2] + test[-2:]  # both classes in each split
        files = [(archive.read(n), int("/dog/" in n), int(n.startswith("test/"))) for n in picked]
    path = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"])
    dataset = load_dataset(path, validation_fraction=0, cache_dir=cache)
    assert dataset.class_names == ("cat", "dog") and "packed JPEG copy" in dataset.name
    assert len(dataset.y_train) == 6 and len(dataset.y_test) == 4
    expected = {image_folders.decode_image(jpeg, 32).tobytes() for jpeg, _, split in files
                if split == 1}  # fmt: skip
    assert {image.tobytes() for image in dataset.x_test} == expected


def test_a_packed_copy_damaged_in_storage_is_refused_by_name(tmp_path, cache):
    with zipfile.ZipFile(data.SAMPLE_PATH) as archive:
        jpegs = [n for n in sorted(archive.namelist()) if n.endswith(".jpg")][:4]
        files = [(archive.read(n), i % 2, 0) for i, n in enumerate(jpegs)]
    path = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"])
    damaged = bytearray(path.read_bytes())
    middle = damaged.index(files[1][0][100:120])  # inside the scans, so only a CRC tells
    damaged[middle] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: damaged, its arrays cannot "
                       r"be read \(Bad CRC-32 for file 'scans.npy'\)$"):  # fmt: skip
        load_dataset(path, cache_dir=cache)


def test_a_decode_a_killed_process_left_half_written_is_removed(tmp_path, cache):
    cache.mkdir(exist_ok=True)
    named = cache / "flowers-32px.npz"  # as a decode in progress names its file
    killed, writing = (atomic.temp_beside(named, decode_cache.PARTIAL) for _ in range(2))
    other = cache / "tmp-not-ours.txt"  # the folder may be a shared one: $ALEXNET_CACHE_DIR=/tmp
    for file in (killed, writing, other):
        file.write_bytes(b"half an npz")
    two_hours_ago = time.time() - 7200
    for file in (killed, other):
        os.utime(file, (two_hours_ago, two_hours_ago))
    load_dataset(make_folder(tmp_path / "f", {"cat": 3, "dog": 3}), cache_dir=cache)
    assert not killed.exists()
    assert writing.exists() and other.exists()  # another process may be writing that one


def test_a_npz_without_the_packed_arrays_is_refused(tmp_path, cache):
    path = tmp_path / "weights.npz"
    np.savez(path, kernel=np.zeros(3), labels=np.zeros(3))
    with pytest.raises(ValueError) as error:
        load_dataset(path, cache_dir=cache)
    assert str(error.value) == (
        f"{path}: an .npz without the packed CIFAR-10 copy's arrays (it lacks class_names, "
        "header, offsets, scans, split; it has kernel, labels)"
    )


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("class_names", np.array(["cat", 2], dtype=object), "Object arrays cannot be loaded"),
        ("labels", np.zeros((4, 1), np.uint8), "each is a list of values: one dimension"),
        ("class_names", np.array(["cat"]), ": 1 class (cat); need two or more"),
    ],
)
def test_a_packed_copy_with_arrays_of_another_kind_is_refused_by_name(
    tmp_path, cache, field, value, problem
):
    files = [(noise_jpeg(8, 8), label, split) for label in (0, 0) for split in (0, 1)]
    path = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"])
    with np.load(path) as packed:
        arrays = dict(packed)
    np.savez(path, **(arrays | {field: value}))
    with pytest.raises(ValueError, match=re.escape(problem)) as error:
        load_dataset(path, cache_dir=cache)
    assert str(error.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "field, value, problem",
    [("labels", 2, "labels outside 0..1"), ("split", 2, "split values other than 0")],
)
def test_packed_labels_and_splits_out_of_range(tmp_path, cache, field, value, problem):
    files = [(noise_jpeg(8, 8), label, split) for label in (0, 1) for split in (0, 1)]
    files[0] = (files[0][0], value, 0) if field == "labels" else (files[0][0], 0, value)
    path = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"])
    with pytest.raises(ValueError, match=problem) as error:
        load_dataset(path, cache_dir=cache)
    assert str(path) in str(error.value)


def test_packed_copy_with_an_upper_case_suffix(tmp_path, cache):
    files = [(noise_jpeg(8, 8), label, split) for label in (0, 1) for split in (0, 0, 1)]
    path = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"]).rename(tmp_path / "PETS.NPZ")
    dataset = load_dataset(path, validation_fraction=0, cache_dir=cache)
    assert "packed JPEG copy" in dataset.name and len(dataset.y_test) == 2


@pytest.mark.skipif(not SHARED_PACKED.exists(), reason="needs ../shared/datasets/*-packed.npz")
def test_shared_packed_copy_has_the_layout_we_read():
    """The real 18.5 MB file: recognised, and its first test cat is the zip's first test cat.
    (Decoding all 60,000 is what the synthetic pack above checks on a few.)"""
    assert packed_jpegs.is_packed(SHARED_PACKED)
    with np.load(SHARED_PACKED) as packed:
        assert tuple(packed["class_names"]) == CIFAR10
        cat = np.flatnonzero((packed["split"] == 1) & (packed["labels"] == CIFAR10.index("cat")))[0]
        start, end = packed["offsets"][cat : cat + 2]
        jpeg = packed["header"].tobytes() + packed["scans"][start:end].tobytes()
    with zipfile.ZipFile(SHARED_ZIP) as archive:
        cats = sorted(
            n for n in archive.namelist() if n.startswith("test/cat/") and n.endswith(".jpg")
        )
        expected = image_folders.decode_image(archive.read(cats[0]), 32)
    np.testing.assert_array_equal(image_folders.decode_image(jpeg, 32), expected)


# --- The disk cache -------------------------------------------------------------------------


def snapshot(folder: Path) -> dict:
    return {
        p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_second_load_comes_from_the_cache_without_decoding(tmp_path, cache, monkeypatch):
    root = make_folder(tmp_path / "pets", {"cat": 4, "dog": 4})
    before = snapshot(root)
    first = load_dataset(root, cache_dir=cache)
    assert not first.from_cache and len(list(cache.glob("*.npz"))) == 1
    assert snapshot(root) == before  # Nothing written into the source.

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(image_folders, "decode_image", no_decoding)
    second = load_dataset(root, cache_dir=cache)
    assert second.from_cache
    np.testing.assert_array_equal(second.x_train, first.x_train)
    np.testing.assert_array_equal(second.y_test, first.y_test)


def test_cache_location_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "env-cache"))
    load_dataset(make_folder(tmp_path / "pets", {"cat": 2, "dog": 2}))
    assert len(list((tmp_path / "env-cache").glob("*.npz"))) == 1


def test_a_damaged_cache_file_is_replaced(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    load_dataset(root, cache_dir=cache)
    (cache_file,) = cache.glob("*.npz")
    cache_file.write_bytes(b"not an npz")
    assert not load_dataset(root, cache_dir=cache).from_cache
    assert load_dataset(root, cache_dir=cache).from_cache


# --- Bad input ------------------------------------------------------------------------------


def test_missing_path(tmp_path, cache):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="no such file or folder") as error:
        load_dataset(missing, cache_dir=cache)
    assert str(missing) in str(error.value)


@pytest.mark.parametrize("contents", ["empty", "loose images"])
def test_folder_without_class_folders(tmp_path, cache, contents):
    root = tmp_path / "flat"
    root.mkdir()
    if contents == "loose images":
        (root / "a.png").write_bytes(png(0))
        (root / "b.png").write_bytes(png(1))
    with pytest.raises(ValueError, match="no class sub-folders") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value)


def test_class_folders_without_a_readable_image_are_left_out_and_listed(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    (root / "emu").mkdir()
    (root / "notes").mkdir()  # not a class: a note beside the classes
    (root / "notes" / "todo.txt").write_text("not an image")
    dataset = load_dataset(root, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert dataset.class_names == ("cat", "dog")
    assert sorted(dataset.y_train.tolist()) == [0, 0, 1, 1]  # labels renumbered without emu
    assert "emu/: empty, left out" in dataset.skipped
    (note,) = [line for line in dataset.skipped if line.startswith("notes/: ")]
    assert note.startswith("notes/: no readable image among its 1 file (last problem: notes/todo")
    assert len(dataset.skipped) == 2, "notes/todo.txt is in its folder's note, not listed again"


def test_only_one_class(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 3})
    with pytest.raises(ValueError, match="only one class folder") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("fake.zip", "damaged or truncated"),
        (
            "fake.tar.gz",
            r"not a readable CIFAR-10 archive \(not a .tar, .tar.gz, .tar.bz2 or "
            r".tar.xz file, or one cut short\)$",
        ),
        (
            "fake.bin",
            r"not a dataset this app reads \(an image folder or a \.zip of one, the packed "
            r"\.npz copy, CIFAR-10's \.tar\.gz or its batches folder\)$",
        ),
    ],
)
def test_file_that_is_not_an_archive(tmp_path, cache, name, problem):
    path = tmp_path / name
    path.write_bytes(b"this is plain text, not an archive")
    with pytest.raises(ValueError, match=problem) as error:
        load_dataset(path, cache_dir=cache)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", ["pets.zip", "pets.bin"])
def test_a_truncated_zip_says_so(tmp_path, cache, name):
    whole = zip_folder(make_folder(tmp_path / "f", {"cat": 3, "dog": 3}), tmp_path / "whole.zip")
    path = tmp_path / name
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ValueError, match="looks damaged or truncated") as error:
        load_dataset(path, cache_dir=cache)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("kind", ["folder", "pickled batches", "packed JPEGs"])
def test_a_dataset_too_big_for_memory_is_refused_before_decoding(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(images, "machine_memory", lambda: 2**20)  # 1 MiB: 2 images at 512
    if kind == "folder":
        source = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    elif kind == "pickled batches":
        source = write_files(tmp_path / "cifar-10-batches-py", make_cifar_files(per_batch=2))
    else:
        files = [(noise_jpeg(8, 8), label, split) for label in (0, 1) for split in (0, 1)]
        source = pack_jpegs(tmp_path / "pets.npz", files, ["cat", "dog"])
    with pytest.raises(ValueError, match=r"image_size 512 needs (3\.00 MiB for 4|4\.50 MiB for "
                       r"6) images, more than this machine's 1\.00 MiB"):  # fmt: skip
        load_dataset(source, image_size=512, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("missing", "problem"),
    [
        (["test_batch"], "no test_batch found"),
        (["data_batch_1", "data_batch_2"], r"no data_batch_\* files found"),
    ],
)
def test_pickled_folder_without_a_test_or_training_batch(tmp_path, cache, missing, problem):
    files = make_cifar_files()
    for name in missing:
        del files[name]
    source = write_files(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(ValueError, match=f"{problem}; is this cifar-10-python") as error:
        load_dataset(source, cache_dir=cache)
    assert str(source) in str(error.value)


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("batches.meta", pickle.dumps({b"wrong": 1}), "no label_names"),
        ("test_batch", batch_bytes(np.zeros((1, 32, 32, 3), np.uint8), [10]), "labels outside"),
        ("data_batch_1", b"not a pickle", "cannot read data_batch_1"),
        (
            "data_batch_2",
            batch_bytes(np.zeros((2, 32, 32, 3), np.uint8), [0, 1, 2]),
            "data_batch_2 has 2 images but 3 labels",
        ),
    ],
)
def test_damaged_pickled_batches(tmp_path, cache, name, content, problem):
    source = write_files(tmp_path / "cifar-10-batches-py", make_cifar_files() | {name: content})
    with pytest.raises(ValueError, match=problem) as error:
        load_dataset(source, cache_dir=cache)
    assert str(source) in str(error.value)


def test_all_files_unreadable(tmp_path, cache):
    root = tmp_path / "junk"
    for class_name in ["cat", "dog"]:
        (root / class_name).mkdir(parents=True)
        (root / class_name / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="none of the 2 files could be read") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value)


def test_class_whose_files_are_all_unreadable(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 3})
    (root / "dog").mkdir()
    (root / "dog" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"1 class folder with readable images \(cat\); need"):
        load_dataset(root, cache_dir=cache)
    with pytest.raises(ValueError, match="dog/: no readable image among its 1 file") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value)


def test_a_few_bad_files_are_skipped_and_reported(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 5, "dog": 5})
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "dog" / "cut.png").write_bytes(png(1, size=(64, 64))[:60])
    (root / "dog" / "bomb.png").write_bytes(png_declaring(100_000, 100_000))
    dataset = load_dataset(root, test_fraction=0, validation_fraction=0, cache_dir=cache)
    assert len(dataset.y_train) == 10
    assert len(dataset.skipped) == 3
    problems = "\n".join(dataset.skipped)
    assert "cat/notes.txt: not a readable image (JPEG" in problems
    assert "dog/cut.png: corrupt, truncated" in problems
    assert "dog/bomb.png: too large to read" in problems
    assert "3 files or folders left out" in dataset.summary()
    assert load_dataset(root, cache_dir=cache).skipped == dataset.skipped  # Kept by the cache.


def test_a_lone_bomb_is_an_error(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 2})
    (root / "dog").mkdir()
    (root / "dog" / "huge.png").write_bytes(png_declaring(100_000, 100_000))
    with pytest.raises(ValueError, match="1 class folder with readable images") as error:
        load_dataset(root, cache_dir=cache)
    assert str(root) in str(error.value) and "dog/huge.png" in str(error.value)


def test_a_test_folder_of_only_left_out_classes_is_refused(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, "train")
    (root / "train" / "emu").mkdir()  # left out of train/: no image
    make_folder(root, {"emu": 2}, "test")
    with pytest.raises(ValueError, match=r"test/ holds no image of the classes in train/"):
        load_dataset(root, cache_dir=cache)


def test_test_folder_with_an_unknown_class(tmp_path, cache):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, "train")
    make_folder(root, {"cat": 1, "dog": 1, "emu": 1}, "test")
    with pytest.raises(ValueError, match="test/ has classes that train/ lacks: emu"):
        load_dataset(root, cache_dir=cache)


@pytest.mark.parametrize(
    "options",
    [
        {"image_size": 0},
        {"image_size": 32.0},
        {"image_size": True},
        {"validation_fraction": 1.0},
        {"validation_fraction": "0.1"},
        {"validation_fraction": True},
        {"validation_fraction": float("nan")},
        {"test_fraction": -0.1},
        {"test_fraction": None},
        {"seed": -1},
        {"seed": 1.5},
        {"seed": 2**32},
        {"seed": "0"},
        {"seed": False},
    ],
)
def test_bad_options(tmp_path, options):
    ((name, value),) = options.items()
    # A source that is not there: the options are checked first, before anything is read.
    with pytest.raises(ValueError, match=f"^{name} must be") as error:
        load_dataset(tmp_path / "nowhere", cache_dir=tmp_path, **options)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize("source", ["", " ", None])
def test_an_empty_source_is_refused(tmp_path, monkeypatch, source):
    make_folder(tmp_path, {"cat": 2, "dog": 2})  # what "" used to load: the working folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="^source must be") as error:
        load_dataset(source, cache_dir=tmp_path / "cache")
    assert repr(source) in str(error.value)
    assert data.source_stamp(source) == ""


# --- Keras, "auto" and the list of sources ---------------------------------------------------


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home"


def test_keras_source_fails_fast_offline(empty_keras_home, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setitem(sys.modules, "keras", None)  # Any import of Keras would now fail.
    start = time.perf_counter()
    with pytest.raises(ValueError, match="ALEXNET_CIFAR10") as error:
        load_dataset("keras")
    assert time.perf_counter() - start < 10
    assert str(empty_keras_home) in str(error.value)
    assert "cifar-10-python.tar.gz" in str(error.value)


def test_keras_source_uses_load_data_when_cached(empty_keras_home, monkeypatch):
    # A stand-in for Keras, so the glue is tested without TensorFlow or a 170 MB download.
    archive = empty_keras_home / "datasets" / "cifar-10-batches-py-target_archive"
    archive.parent.mkdir(parents=True)
    archive.touch()
    labels = np.arange(20, dtype=np.uint8).reshape(20, 1) % 10  # Keras' (N, 1) uint8 labels.
    images = np.array([np.full((32, 32, 3), colour(label), np.uint8) for label in labels.ravel()])
    fake = types.SimpleNamespace(
        datasets=types.SimpleNamespace(
            cifar10=types.SimpleNamespace(load_data=lambda: ((images, labels), (images, labels)))
        )
    )
    monkeypatch.setitem(sys.modules, "keras", fake)
    monkeypatch.setattr(socket, "create_connection", pytest.fail)  # No probe when cached.
    assert data.default_source() == "keras"
    dataset = load_dataset("auto", validation_fraction=0.5)
    assert dataset.class_names == CIFAR10 and dataset.source == "keras"
    assert len(dataset.y_train) == len(dataset.y_val) == 10 and len(dataset.y_test) == 20
    assert_well_formed(dataset)


def test_auto_prefers_the_environment_variable(tmp_path, empty_keras_home, monkeypatch):
    assert data.default_source() == "sample"
    source = write_files(tmp_path / "cifar-10-batches-py", make_cifar_files())
    monkeypatch.setenv("ALEXNET_CIFAR10", str(source))
    assert data.default_source() == str(source)
    assert load_dataset("auto", cache_dir=tmp_path / "cache").class_names == CIFAR10
    names = [entry["name"] for entry in data.available_sources()]
    assert names == [str(source), "keras", "sample"]
    assert all(
        entry.keys() == {"name", "description", "available", "detail"}
        for entry in data.available_sources()
    )


def test_auto_with_a_missing_local_copy_names_it(tmp_path, monkeypatch):
    missing = tmp_path / "cifar-10-python.tar.gz"
    monkeypatch.setenv("ALEXNET_CIFAR10", str(missing))
    with pytest.raises(ValueError) as error:
        load_dataset()
    assert str(error.value) == f"$ALEXNET_CIFAR10 names {missing}: no such file or folder"
    (entry,) = [e for e in data.available_sources() if e["name"] == str(missing)]
    assert entry["available"] is False


def test_available_sources_without_extras(empty_keras_home):
    sources = {entry["name"]: entry for entry in data.available_sources()}
    assert sources["sample"]["available"] is True
    assert sources["keras"]["available"] is False
    assert "ALEXNET_CIFAR10" in sources["keras"]["detail"]


def test_importing_does_no_work():
    code = (
        "import sys, alexnet_core.data, alexnet_core.images;"
        "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imported TF or Keras'"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)


def test_keras_cache_check_follows_keras_home(empty_keras_home):
    assert cifar.keras_cache_folder() == empty_keras_home / "datasets"
    assert not cifar.keras_has_cifar10()


def test_a_source_reads_as_a_run_records_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(data.SOURCE_VARIABLE, raising=False)
    assert data.recorded_source("sample") == "sample" and data.recorded_source("keras") == "keras"
    assert data.recorded_source("flowers/") == str(tmp_path / "flowers")
    assert data.recorded_source("~/cifar.zip") == str(tmp_path / "home" / "cifar.zip")
    assert data.recorded_source("auto") == data.default_source()
    monkeypatch.setenv(data.SOURCE_VARIABLE, "~/cifar.zip")
    assert data.recorded_source("auto") == str(tmp_path / "home" / "cifar.zip")
