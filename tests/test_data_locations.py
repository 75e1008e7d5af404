"""Where data is looked for (``sr_utils.data.locations``): the local folder, then the Keras cache."""

from __future__ import annotations

import pytest

from sr_utils.data import locations


@pytest.fixture
def places(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(locations.DATA_DIR_ENV, str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    return tmp_path / "data" / "sets" / "A", tmp_path / "keras" / "datasets" / "sets" / "A"


def complete(folder):
    return None if (folder / "ok").is_file() else f"{folder} lacks ok"


def test_find_local_folder_prefers_the_local_copy_then_the_cache(places):
    local, cache = places
    for folder in places:
        folder.mkdir(parents=True)
        (folder / "ok").write_text("")
    assert locations.find_local_folder("sets/A", complete) == (local, [], cache)
    (local / "ok").unlink()  # incomplete: the cache's copy is used, and the local one named
    assert locations.find_local_folder("sets/A", complete) == (cache, [f"{local} lacks ok"], cache)


def test_find_local_folder_says_what_it_tried(places, monkeypatch):
    local, cache = places
    assert locations.find_local_folder("sets/A", complete) == (None, [f"{local} lacks ok", f"{cache} lacks ok"], cache)
    monkeypatch.delenv(locations.DATA_DIR_ENV)
    found, tried, _ = locations.find_local_folder("sets/A", complete)
    assert found is None and tried == [f"local copy: {locations.DATA_DIR_ENV} is not set", f"{cache} lacks ok"]
    with pytest.raises(FileNotFoundError, match="which is not a directory"):
        locations.find_local_folder("sets/A", complete, data_dir=local / "missing")
