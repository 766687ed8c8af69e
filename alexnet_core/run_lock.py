"""Who trains a run folder: a lock held by the training process for the job's life, and the
process identity status.json records so that a later reader can tell a live run from one
whose process died (a crash, a kill, a reboot).
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), None where unknown. A pid can
    be reused by a new process after a reboot or a long time; the start time tells them apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_identity() -> dict:
    """What status.json records about the training process, to tell later if it is alive."""
    return {"pid": os.getpid(), "process_start": _process_start(os.getpid())}


LOCK_NAME = ".training.lock"  # held by the process training the folder, for the job's life


class RunBusy(ValueError):
    """Another job or program holds the run folder's lock."""


def claim_run(path: str | os.PathLike) -> int:
    """Lock run folder `path` for one training job and return the lock's file descriptor, to
    give to release_run when the job ends. ValueError if another process (or another job of
    this one) holds it. The operating system drops the lock when its process dies, so a killed
    trainer never leaves a folder locked."""
    path = Path(path)
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise ValueError(f"{path.name} cannot be trained: its folder cannot be written "
                         f"({error.strerror or error})") from error  # fmt: skip
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        raise RunBusy(f"{path.name} is being trained right now by another job or program "
                         "(a second browser tab, or the command line): wait for it to end"
                         ) from error  # fmt: skip
    return fd


def release_run(fd: int) -> None:
    os.close(fd)  # closing the descriptor drops its lock


def pid_exists(pid: int) -> bool:
    """Whether a process with this id runs now (perhaps not the one that once had it)."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return True


def is_alive(status: dict, path: Path) -> bool:
    """Whether the process a run's status.json names (process_identity) still trains `path`."""
    pid = status.get("pid")
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        # This process: alive only if its registry still has a job for this folder.
        training = sys.modules.get("alexnet_core.training")
        return bool(training and training.is_training(path))
    if not pid_exists(pid):
        return False
    recorded, actual = status.get("process_start"), _process_start(pid)
    return recorded is None or actual is None or recorded == actual
