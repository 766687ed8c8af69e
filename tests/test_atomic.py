"""Whole-or-nothing writes: the rename, the clean-up after a failure, the permissions."""

import os
import stat

import pytest

from alexnet_core import atomic


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_umask_is_read_without_changing_it():
    mask = os.umask(0o022)
    os.umask(mask)
    assert atomic._umask() == mask


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_what_a_plain_write_would(tmp_path, monkeypatch, umask):
    monkeypatch.setattr(atomic, "UMASK", umask)
    previous = os.umask(umask)
    try:
        (tmp_path / "plain.json").write_text("{}")
        atomic.write_json(tmp_path / "status.json", {"status": "finished"})
    finally:
        os.umask(previous)
    assert mode(tmp_path / "status.json") == mode(tmp_path / "plain.json") == 0o666 & ~umask


def test_a_failed_block_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    target = tmp_path / "history.csv"
    target.write_text("epoch\n1\n")
    with pytest.raises(OSError, match="disk full"), atomic.replacing(target) as tmp:
        tmp.write_text("epoch\n1\n2")  # half written when the disk filled
        raise OSError("disk full")
    assert target.read_text() == "epoch\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_a_finished_block_replaces_the_file(tmp_path):
    target = tmp_path / "status.json"
    target.write_text("old")
    with atomic.replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(atomic.TEMP_PREFIX)
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]
