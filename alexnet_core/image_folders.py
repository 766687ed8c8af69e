"""Image folders and zips with one sub-folder per class, optionally under train/ and test/.

Imported by alexnet_core.data; the public entry point is data.load_dataset. The files and
folders each source holds are listed by alexnet_core.source_files.
"""

from __future__ import annotations

import stat
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from alexnet_core.images import check_memory, decode_image, is_image_name
from alexnet_core.source_files import Parts, folder_listing, zip_listing

# A file whose name is not an image's (a video, an archive) is read, in case it is one, only up
# to this size: a dataset folder chosen by mistake (a home folder) is not read whole.
UNREAD_ABOVE = 64 * 2**20
# Folder names that hold a split rather than a class, in any case (Train/, Testing/...).
SPLIT_FOLDERS = {"train": ("train", "training"), "test": ("test", "testing")}


class FolderImages(NamedTuple):
    class_names: tuple[str, ...]  # The class folder names, sorted: label i is class_names[i].
    x_train: np.ndarray  # uint8 (N, size, size, 3).
    y_train: np.ndarray  # int64 (N,).
    x_test: np.ndarray | None  # None when there is no test/ folder.
    y_test: np.ndarray | None
    skipped: tuple[str, ...]  # "file: problem" for each file not decoded, "folder/: why"
    # for each top-level folder left out.


def read_image_folder(path: Path, image_size: int) -> FolderImages:
    """Decode every image under `path` (a folder or a zip) to image_size x image_size RGB."""
    if path.is_dir():
        return _Tree(path, *folder_listing(path), read=_read_regular_file,
                     size=lambda file: file.stat().st_size).decode(image_size)  # fmt: skip
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() == ".zip" or _starts_with(path, b"PK"):
            raise ValueError(
                f"{path}: cannot open this zip file; it looks damaged or truncated (an unfinished "
                "download or copy?)"
            )
        raise ValueError(
            f"{path}: not a dataset this app reads (an image folder or a .zip of one, the "
            "packed .npz copy, CIFAR-10's .tar.gz or its batches folder)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return _Tree(path, *zip_listing(archive), read=archive.read,
                         size=lambda info: info.file_size).decode(image_size)  # fmt: skip
    # UnicodeDecodeError: a name flagged UTF-8 that is not
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read this zip file ({error})") from error


def _read_regular_file(file: Path) -> bytes:
    """A file's bytes; a named pipe would wait for a writer for ever, and a device (a link to
    /dev/zero) never ends, so anything but a regular file is an OSError, unread."""
    if not stat.S_ISREG(file.stat().st_mode):
        raise OSError("not a regular file: a pipe, a device or a socket")
    return file.read_bytes()


def _starts_with(path: Path, signature: bytes) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(signature)) == signature
    except OSError:
        return False


def _files(count: int) -> str:
    return f"{count} file{'s' * (count != 1)}"


@dataclass
class _Tree:
    """A folder or zip's listing, the same shape for both."""

    path: Path  # The source, for messages.
    files: dict[Parts, object]  # Each file, and the handle that `read` takes.
    folders: set[Parts]
    read: Callable[[object], bytes]
    size: Callable[[object], int]  # a file's size in bytes, without reading it

    def decode(self, image_size: int) -> FolderImages:
        root = self.unwrap()
        top = self.children(root)
        train = self.split_folder(root, "train")
        if train:  # two, one of them of images alone, are still two: merge them
            self.split_folder(root, "train", by_name_alone=True)
        test = self.split_folder(root, "test", by_name_alone=bool(train))
        if test and not train and (loose := self.split_folder(root, "train", by_name_alone=True)):
            raise ValueError(
                f"{self.path}: {loose}/ beside {test}/ has no class folders; put its images in "
                f"{loose}/<class>/"
            )
        if test and not train:
            # Without train/, the top folders are the classes, and test/ would become one.
            raise ValueError(
                f"{self.path}: found {test}/ but no train/ folder beside it; put the training "
                f"images in train/<class>/ beside {test}/<class>/, or remove {test}/ to hold out "
                "test_fraction of each class"
            )
        skipped = [
            f"{'/'.join((*root, name))}/: not a train/ or test/ folder, left out"
            for name in top
            if train and name not in (train, test)
        ]
        train_root = (*root, train) if train else root
        class_names = tuple(self.class_folders(train_root))
        if not class_names:
            raise ValueError(
                f"{self.path}: no class sub-folders found; expected <class>/<image> files, or "
                "train/<class>/<image> and test/<class>/<image>"
            )
        if len(class_names) < 2:
            raise ValueError(
                f"{self.path}: only one class folder ({class_names[0]}); need two or more"
            )
        splits = [train_root]
        if test:
            test_root = (*root, test)
            test_classes = self.class_folders(test_root)
            if not test_classes:
                raise ValueError(
                    f"{self.path}: {test}/ has no class folders; put its images in "
                    f"{test}/<class>/, or remove {test}/ to hold out test_fraction of each class"
                )
            unknown = sorted(set(test_classes) - set(class_names))
            if unknown:
                raise ValueError(
                    f"{self.path}: {test}/ has classes that {train}/ lacks: {', '.join(unknown)}"
                )
            splits.append(test_root)
        # An image beside the class folders (not a README) is worth a word: it has no class.
        above = {root[:depth] for depth in range(len(root) + 1)} | set(splits)
        skipped += [f"{'/'.join(parts)}: an image outside every class folder, left out"
                    for parts in sorted(self.files)
                    if parts[:-1] in above and is_image_name(parts[-1])]  # fmt: skip
        members = [self.members(split_root) for split_root in splits]
        count = sum(len(files) for split in members for files in split.values())
        check_memory(str(self.path), count, image_size)
        x_train, y_train = self.decode_split(members[0], class_names, image_size, skipped)
        # A class folder without one readable image (notes, an empty folder) is not a class.
        found = np.bincount(y_train, minlength=len(class_names))
        dropped = []
        for name, images in zip(class_names, found, strict=True):
            if not images:
                where = "/".join((*train_root, name)) + "/"
                files = len(members[0][name])
                why = [line for line in skipped if line.startswith(where)]
                note = f"no readable image among its {_files(files)}" if files else "empty"
                note += f" (last problem: {why[-1]})" if why else ""
                dropped.append(f"{where}: {note}, left out")
                skipped[:] = [line for line in skipped if not line.startswith(where)]  # in the note
        skipped += dropped
        kept = tuple(name for name, images in zip(class_names, found, strict=True) if images)
        if len(kept) < 2:
            raise ValueError(
                f"{self.path}: {len(kept)} class folder{'s' * (len(kept) != 1)} with readable "
                f"images ({', '.join(kept) or 'none'}); need two or more. {'; '.join(dropped)}"
            )
        if len(kept) < len(class_names):
            new_label = np.cumsum(found > 0) - 1  # old label -> new label, for kept classes
            y_train, class_names = new_label[y_train], kept
        x_test = y_test = None
        if test:
            for name in sorted(set(members[1]) - set(class_names)):
                skipped.append(f"{'/'.join((*root, test, name))}/: its class is left out")
            x_test, y_test = self.decode_split(members[1], class_names, image_size, skipped)
            if not len(y_test):  # its classes were all left out of train/
                raise ValueError(
                    f"{self.path}: {test}/ holds no image of the classes in {train}/ "
                    f"({', '.join(class_names)})"
                )
        return FolderImages(class_names, x_train, y_train, x_test, y_test, tuple(skipped))

    def unwrap(self) -> Parts:
        """Step into a single folder that wraps everything (mydata/train/cat/1.jpg; a README
        beside it does not count), unless it is a split folder itself or a class folder (one
        with no sub-folders)."""
        root = ()
        while True:
            top = self.children(root)
            if len(top) != 1:
                return root
            inner = (*root, top[0])
            if top[0].lower() in SPLIT_FOLDERS["train"] + SPLIT_FOLDERS["test"]:
                return root
            if not self.children(inner):
                return root
            root = inner

    def children(self, parent: Parts) -> list[str]:
        """The names of the folders directly inside `parent`, sorted."""
        depth = len(parent)
        return sorted({p[depth] for p in self.folders if len(p) > depth and p[:depth] == parent})

    def split_folder(self, root: Parts, split: str, by_name_alone: bool = False) -> str | None:
        """The folder in `root` that holds `split` ('train' or 'test'), if any: one named so
        that holds folders of its own, or, `by_name_alone`, any named so. A train/ with no
        folders inside, beside other class folders, is a class of that name (CIFAR-100 has
        one)."""
        found = [name for name in self.children(root) if name.lower() in SPLIT_FOLDERS[split]]
        if not by_name_alone:
            found = [name for name in found if self.children((*root, name))]
        if len(found) > 1:
            raise ValueError(
                f"{self.path}: {len(found)} {split} folders ({'/, '.join(found)}/); "
                "merge them into one"
            )
        return found[0] if found else None

    def class_folders(self, parent: Parts) -> list[str]:
        """The class folders inside `parent`; two whose names differ only in case (cat/ and
        Cat/) would be one class on some systems and two on others, so they are refused."""
        names = self.children(parent)
        by_key = defaultdict(list)
        for name in names:
            by_key[name.casefold()].append("/".join((*parent, name)))
        for same in by_key.values():
            if len(same) > 1:
                raise ValueError(
                    f"{self.path}: class folders {' and '.join(same)} differ only in case; "
                    "merge them or rename one"
                )
        return names

    def members(self, root: Parts) -> dict[str, list[Parts]]:
        """The files of each class folder in root/<class>/ (at any depth), sorted."""
        depth = len(root)
        members = defaultdict(list)
        for parts in sorted(self.files):
            if len(parts) > depth + 1 and parts[:depth] == root:
                members[parts[depth]].append(parts)
        return members

    def decode_split(self, members, class_names, image_size: int, skipped: list[str]):
        """Decode root/<class>/ files; unreadable ones are added to skipped."""
        items = [
            (label, parts) for label, name in enumerate(class_names) for parts in members[name]
        ]
        images = np.empty((len(items), image_size, image_size, 3), np.uint8)
        labels = np.empty(len(items), np.int64)
        count, problems = 0, len(skipped)
        for label, parts in items:
            where = "/".join(parts)
            try:
                if not is_image_name(parts[-1]) and self.size(self.files[parts]) > UNREAD_ABOVE:
                    skipped.append(f"{where}: not an image by its name, and over "
                                   f"{UNREAD_ABOVE / 2**20:g} MB: left out unread")  # fmt: skip
                    continue
                images[count] = decode_image(self.read(self.files[parts]), image_size, name=where)
            except ValueError as error:
                skipped.append(str(error))
                continue
            except OSError as error:  # A permission error, a broken link...
                skipped.append(f"{where}: cannot read ({error.strerror or error})")
                continue
            except Exception as error:  # A zip CRC error...
                skipped.append(f"{where}: cannot read ({error})")
                continue
            labels[count] = label
            count += 1
        if count == 0 and items:
            last = f" (the last problem: {skipped[-1]})" if len(skipped) > problems else ""
            raise ValueError(
                f"{self.path}: none of the {_files(len(items))} could be read as an image{last}"
            )
        return images[:count], labels[:count]
