"""The files of a dataset source: every file and folder of a folder or a zip as path parts,
a folder walked with its symlinks followed, and stamps that change whenever any file does.

Imported by alexnet_core.image_folders (the listings), alexnet_core.data and
alexnet_core.decode_cache (the stamps); the public entry point is data.load_dataset.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

Parts = tuple[str, ...]  # A file or folder's path inside the source, split at "/".


def _is_hidden(name: str) -> bool:
    # .DS_Store, ._name (macOS resource forks), .git, __MACOSX: never images of the dataset.
    return name.startswith(".") or name == "__MACOSX"


def _text(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 (which os.walk hands over as lone
    surrogates, and which Streamlit and JSON cannot show) become "\\xe9" escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def walk(root: str | os.PathLike):
    """os.walk that also enters symlinked folders, but not a link back to a folder it is
    already inside (which would loop forever)."""
    inside = {os.fspath(root): {os.path.realpath(root)}}  # folder -> real paths down to it
    for folder, subfolders, names in os.walk(root, followlinks=True):
        above = inside.pop(folder, set())
        entered = []
        for name in subfolders:
            real = os.path.realpath(os.path.join(folder, name))
            if real not in above:
                entered.append(name)
                inside[os.path.join(folder, name)] = above | {real}
        subfolders[:] = entered
        yield folder, subfolders, names


def file_stamps(path: Path) -> list:
    """(path, size, times, inode) of a file, or of every file under a folder (links
    followed), sorted: a list that changes whenever any file is added, removed or rewritten.
    A folder's own time would miss a file overwritten in place, or edits in sub-folders. The
    change time and inode catch a file replaced by one of its size whose modification time was
    put back (cp -p, tar and unzip do that): os.utime cannot set those two."""
    if not path.is_dir():
        return [(str(path), *_stamp(path.stat()))]
    stamps = []
    for folder, _, files in walk(path):
        for file in files:
            name = os.path.join(folder, file)
            try:
                stamps.append((name, *_stamp(os.stat(name))))
            except OSError:  # A broken link: decoding lists it as a file it cannot read.
                stamps.append((name, None, None, None, None))
    return sorted(stamps)


def _stamp(stat: os.stat_result) -> tuple[int, int, int, int]:
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def folder_listing(root: Path) -> tuple[dict[Parts, Path], set[Parts]]:
    files, folders = {}, set()
    for folder, subfolders, names in walk(root):
        subfolders[:] = [name for name in subfolders if not _is_hidden(name)]
        parts = tuple(_text(part) for part in Path(folder).relative_to(root).parts)
        if parts:
            folders.add(parts)
        for name in names:
            if not _is_hidden(name):
                files[(*parts, _text(name))] = Path(folder, name)
    return files, folders


def expanded(source: str | os.PathLike) -> Path:
    """'~' and '~user' expanded; left as typed where there is no such user (a typo), so that
    the path is then not found, with the usual message."""
    try:
        return Path(source).expanduser()
    except RuntimeError:  # Python's word for an unknown user's home
        return Path(source)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as its folder had it. Without the zip format's UTF-8 flag, Python reads
    a name as code page 437, but macOS' Archive Utility and Info-ZIP's zip write UTF-8 without
    setting the flag: "café" would read "caf├⌐", and a zip's classes differ from its folder's."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:  # really code page 437 (old DOS and Windows tools)
        return info.filename


def zip_listing(archive: zipfile.ZipFile) -> tuple[dict[Parts, zipfile.ZipInfo], set[Parts]]:
    files, folders = {}, set()
    for info in archive.infolist():
        # "./cat/1.png": bsdtar (macOS, Windows' tar -a) writes names from the current folder.
        names = _zip_name(info).replace("\\", "/").split("/")
        parts = tuple(part for part in names if part not in ("", "."))
        if not parts or any(_is_hidden(part) for part in parts):
            continue
        if info.is_dir():
            folders.add(parts)
        else:
            files[parts] = info
            # Zips need not list folders as entries of their own.
            folders.update(parts[:depth] for depth in range(1, len(parts)))
    return files, folders
