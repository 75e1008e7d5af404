"""Tests of sr_utils/files.py: atomic writes leave the old file or the complete new one, and nothing else."""

from __future__ import annotations

import os
import stat

import pytest

from sr_utils import files


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.png"
    target.write_text("old")
    with files.atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp.name.startswith(".out.")
        assert tmp.exists() and tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced before the block ends
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failed_or_interrupted_write_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "out.png"
    target.write_text("old")
    with pytest.raises(error):
        with files.atomic_write(target) as tmp:
            tmp.write_text("half")
            raise error()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_no_overwrite_keeps_an_existing_file(tmp_path):
    target = tmp_path / "out.png"
    target.write_text("someone else's")
    with pytest.raises(FileExistsError, match="out.png exists and is not replaced"):
        with files.atomic_write(target, overwrite=False) as tmp:
            tmp.write_text("new")
    assert target.read_text() == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
    with files.atomic_write(tmp_path / "fresh.png", overwrite=False) as tmp:
        tmp.write_text("new")
    assert (tmp_path / "fresh.png").read_text() == "new"


def test_the_temporary_name_never_takes_an_existing_file(tmp_path, monkeypatch):
    """The first random name belongs to a user's file: it is left alone and another name is used."""
    tokens = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(tokens))
    taken = tmp_path / ".out.aaaa.tmp.png"
    taken.write_text("a user's file")
    with files.atomic_write(tmp_path / "out.png") as tmp:
        assert tmp.name == ".out.bbbb.tmp.png"
        tmp.write_text("new")
    assert taken.read_text() == "a user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.aaaa.tmp.png", "out.png"]


def test_written_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with files.atomic_write(tmp_path / "out.png") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == 0o644


def test_check_writable_folder(tmp_path, monkeypatch):
    made = files.check_writable_folder(tmp_path / "a" / "b")
    assert made.is_dir() and list(made.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"the output folder .*file is a file, not a folder"):
        files.check_writable_folder(tmp_path / "file", "the output folder")
    with pytest.raises(ValueError, match=r"cannot write to the folder .*file/sub"):
        files.check_writable_folder(tmp_path / "file" / "sub")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "open", refuse)
    with pytest.raises(ValueError, match=r"cannot write to the folder .*a/b: Permission denied"):
        files.check_writable_folder(tmp_path / "a" / "b")
