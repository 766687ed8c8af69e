"""Files written whole or not at all: each is written to a temporary file beside its target
and renamed over it, so a crash, a full disk or a reader in another thread never meets half
a file. The temporary files get the permissions a plain write would (mkstemp's are owner-only).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = "tmp-"  # what a process killed mid-write leaves behind, named so


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would race other threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022  # the usual one, where /proc cannot tell


UMASK = _umask()


def temp_beside(path: Path, suffix: str) -> Path:
    """A new empty file in `path`'s folder, with the permissions a plain write would give."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
    finally:
        os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".tmp"):
    """Yield a temporary path beside `path`; rename it over `path` if the block succeeds,
    remove it if not."""
    path = Path(path)
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=True))


def write_csv(path: str | os.PathLike, rows: list[dict]) -> None:
    """Every column any row has (a run continued from an older version gains columns);
    a row without one leaves its cell empty, and None is written as an empty cell too."""
    out = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(column for row in rows for column in row))
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_text(path, out.getvalue())
