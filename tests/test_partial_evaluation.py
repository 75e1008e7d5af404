"""The evaluation notebook (06) in the full profile without any data (a fresh clone, a Colab runtime): it must
finish, say what it skipped, and leave every committed result as it was.

It times every model in full (about 2 minutes on 2 cores), so it runs only when
``SR_PARTIAL_EVALUATION_TEST=1`` (set by CI's Colab stage, .ci/run)."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "07_evaluation.ipynb"

pytestmark = pytest.mark.skipif(os.environ.get("SR_PARTIAL_EVALUATION_TEST") != "1",
                                reason="slow (full-profile evaluation notebook): set SR_PARTIAL_EVALUATION_TEST=1")


def committed_results() -> dict[str, str]:
    """sha256 of every file a complete evaluation writes, plus the notebook itself."""
    paths = [ROOT / "README.md", NOTEBOOK, *sorted((ROOT / "model").glob("*.md")), ROOT / "model" / "metrics.json",
             *sorted((ROOT / "plots").glob("06_*.png"))]
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def git_status() -> str | None:
    try:
        return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout: the hashes above still apply


def test_full_profile_without_data_leaves_committed_results_alone(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("SR_PROFILE", "full")
    monkeypatch.setenv("SR_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # an empty cache
    monkeypatch.setenv("SR_DATA_DIR", str(tmp_path / "no_data"))  # a folder without data
    (tmp_path / "no_data").mkdir()
    before, status = committed_results(), git_status()
    scratch = ROOT / ".sr_scratch" / "partial" / "model" / "metrics.json"
    scratch.unlink(missing_ok=True)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()  # raises on any error

    assert committed_results() == before
    assert git_status() == status
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("name") == "stdout")
    assert text.startswith("device: ")  # the first thing the notebook prints
    skipped = ["CIFAR-10", "STL-10 subset", "Set14", "Set5", "held-out photos", "natural96 test"]
    for name in skipped:
        assert f"{name}: skipped (" in text
    assert "partial evaluation (6 data set(s) skipped): results go to .sr_scratch/partial" in text
    result = json.loads(scratch.read_text())
    assert result["profile"] == "full" and sorted(result["skipped"]) == skipped
    assert result["records"] == [] and len(result["models"]) == len(list((ROOT / "model").glob("*.keras")))
    assert all(m["cost"]["params"] > 0 and m["test_sets"] == [] for m in result["models"].values())
