"""Files written whole or not at all: each is written to a temporary file beside its target
and renamed over it, so a crash, a full disk or a reader in another thread never meets half
a file. The temporary files get the permissions a plain write would (mkstemp's are owner-only).
"""

from __future__ import annotations

import contextlib
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
