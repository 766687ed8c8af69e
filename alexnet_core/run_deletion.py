"""Deleting a run folder: whole or not at all, as list_runs sees it.

The folder is first renamed to a hidden `.deleting-<run>-<pid>-<ns>` name in one step, then
emptied; a process that dies in between leaves that hidden folder, and the next delete in the
same runs root removes it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from alexnet_core import run_lock
from alexnet_core.runs import ACTIVE_STATUSES, read_run, runs_root


def delete_run(path: str | os.PathLike) -> None:
    """Remove a run folder, whole or not at all as far as list_runs sees: it is first renamed
    to a hidden name (one step), then emptied. ValueError if it is still training, is not a
    run folder or cannot be renamed (left as it was); OSError naming the hidden folder if some
    of its files could not be removed."""
    path = Path(path)
    looks_like_run = (path / "config.json").exists() or (path / "status.json").exists()
    if not path.is_dir() or not (looks_like_run or path.parent == runs_root()):
        raise ValueError(f"{path}: not a run folder")
    if read_run(path).status in ACTIVE_STATUSES:
        raise ValueError(f"{path.name} is still training: stop it before deleting it")
    # A continue holds the folder's lock from before its checks (it may still be loading its
    # data while status.json says 'finished'): held across the rename, so none can start. A
    # folder that no job ever locked has no lock file, and gets none.
    claim = None
    if (path / run_lock.LOCK_NAME).exists():
        try:
            claim = run_lock.claim_run(path)
        except run_lock.RunBusy as error:
            raise ValueError(f"{path.name} is being continued right now (in another tab, or "
                             "by the command line): it was not deleted") from error  # fmt: skip
        except ValueError:
            pass  # a folder that cannot be written: the rename below says so
    hidden = path.with_name(f".deleting-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.rename(hidden)
    except OSError as error:
        raise ValueError(f"{path.name} was not deleted: nothing can be changed in "
                         f"{path.parent} ({error.strerror or error})") from error  # fmt: skip
    finally:
        if claim is not None:
            run_lock.release_run(claim)
    try:
        shutil.rmtree(hidden)
    except OSError as error:
        raise OSError(f"{path.name} is deleted from the list of runs, but some of its files "
                      f"could not be removed ({error.strerror or error}): they are in "
                      f"{hidden}") from error  # fmt: skip
    _remove_abandoned_deletes(path.parent)


def _remove_abandoned_deletes(root: Path) -> None:
    """Finish the deletes of processes that died between the rename and the last file: their
    `.deleting-<run>-<pid>-<ns>` folders stay hidden from list_runs but hold disk space. A
    folder whose process still lives may be in the middle of its delete: it is left alone."""
    for folder in root.glob(".deleting-*"):
        pid = folder.name.rsplit("-", 2)[-2]
        if pid.isdigit() and int(pid) < 2**31 and not run_lock.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
