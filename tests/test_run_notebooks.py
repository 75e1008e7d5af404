"""Tests of sr_utils/run_notebooks.py on tiny notebooks (one real kernel per run)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from sr_utils import run_notebooks
from sr_utils.config import PROFILE_ENV

RECORD_CELL = (
    "import os\n"
    "open('seen.txt', 'w').write(os.environ.get('SR_PROFILE', '-') + '|' + os.getcwd())\n"
    "print('hello from', os.environ.get('SR_PROFILE'))"
)


def write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_clean_drops_counts_and_timing_but_keeps_outputs():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"state": {}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    code = nbformat.v4.new_code_cell("1 + 1", execution_count=7)
    code.metadata["execution"] = {"iopub.status.busy": "2025-01-01T00:00:00"}
    code.metadata["ExecuteTime"] = {"end_time": "x"}
    code.metadata["tags"] = ["keep"]
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=7),
                    nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    text = nbformat.v4.new_markdown_cell("# title")
    text.metadata["ExecuteTime"] = {"end_time": "x"}
    nb.cells = [code, text]
    run_notebooks.clean(nb)
    assert "widgets" not in nb.metadata and nb.metadata["kernelspec"]["name"] == "python3"
    assert code.execution_count is None and code.outputs[0].execution_count is None
    assert code.outputs[0].data["text/plain"] == "2" and code.outputs[1].text == "hi\n"
    assert dict(code.metadata) == {"tags": ["keep"]} and dict(text.metadata) == {}
    nbformat.validate(nb)


def test_clean_drops_tensorflow_start_up_noise_from_stderr_only():
    tf_noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795489037.683506    4150 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1795489037.684611    4150 cuda_dnn.cc:8310] Unable to register cuDNN factory\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n"
    )
    nb = nbformat.v4.new_notebook()
    only_noise = nbformat.v4.new_code_cell("import tensorflow")
    only_noise.outputs = [nbformat.v4.new_output("stream", name="stderr", text=tf_noise)]
    mixed = nbformat.v4.new_code_cell("train()")
    mixed.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=tf_noise + "UserWarning: a real warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text=tf_noise),  # stdout is never filtered
    ]
    nb.cells = [only_noise, mixed]
    run_notebooks.clean(nb)
    assert only_noise.outputs == []
    assert [o.name for o in mixed.outputs] == ["stderr", "stdout"]
    assert mixed.outputs[0].text == "UserWarning: a real warning\n"
    assert mixed.outputs[1].text == tf_noise
    nbformat.validate(nb)


def test_quick_run_leaves_the_notebook_unchanged(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(PROFILE_ENV, "outer")
    path = write_notebook(tmp_path / "01_demo.ipynb", RECORD_CELL)
    before = path.read_bytes()
    assert run_notebooks.main(["--quick", str(path)]) == 0
    assert path.read_bytes() == before
    # the kernel ran in the notebook's folder with the quick profile; our environment is restored
    assert (tmp_path / "seen.txt").read_text() == f"quick|{tmp_path}"
    assert os.environ[PROFILE_ENV] == "outer"
    assert "quick profile" in capsys.readouterr().out


def test_full_run_saves_outputs_cleaned(tmp_path, monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    path = write_notebook(tmp_path / "nb.ipynb", RECORD_CELL, "6 * 7")
    seconds = run_notebooks.run(path, "full", timeout=120)
    assert seconds > 0 and PROFILE_ENV not in os.environ
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].outputs[0].text == "hello from full\n"
    assert nb.cells[1].outputs[0].data["text/plain"] == "42"
    assert all(c.execution_count is None and "execution" not in c.metadata for c in nb.cells)
    assert nb.cells[1].outputs[0].execution_count is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb", "seen.txt"]  # no .tmp.ipynb


def test_failing_full_run_keeps_the_old_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    path = write_notebook(tmp_path / "bad.ipynb", "x = 1", "raise RuntimeError('boom')")
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="boom"):
        run_notebooks.run(path, "full", timeout=120)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bad.ipynb"]
    assert PROFILE_ENV not in os.environ  # restored even though the run failed


def test_main_rejects_missing_notebooks(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run_notebooks.main([str(tmp_path / "nope.ipynb")])
    assert e.value.code == 2
    assert f"no such notebook: {tmp_path / 'nope.ipynb'}" in capsys.readouterr().err


def test_study_order_is_file_order(tmp_path):
    for name in ("04_b.ipynb", "07_evaluation.ipynb", "00_a.ipynb", "05_c.ipynb", "notes.ipynb", "03_d.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in run_notebooks.study_order(tmp_path)] == ["00_a.ipynb", "04_b.ipynb", "05_c.ipynb", "07_evaluation.ipynb"]


# --------------------------------------------------------------------------------------
# The repository's address: one constant, every badge and clone URL
# --------------------------------------------------------------------------------------
NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_readme_clone_line_points_at_repo_url():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    name = run_notebooks.REPO_URL.rsplit("/", 1)[1]
    assert f"git clone {run_notebooks.REPO_URL} && cd {name}" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_point_at_repo_url(path):
    import nbformat

    badges, clones = run_notebooks.repo_links(nbformat.read(path, as_version=4), path.name)
    assert badges == [run_notebooks.colab_url(path.name)], "run python -m sr_utils.run_notebooks --sync-links"
    assert clones == [run_notebooks.REPO_URL]


def test_set_repo_rewrites_badges_and_clone_urls_only(tmp_path):
    import nbformat

    for path in NOTEBOOKS[:2]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    readme = tmp_path / "README.md"
    readme.write_text("Setup:\n    git clone https://github.com/sr-study/keras-super-resolution && cd keras-super-resolution\n")
    fork = "https://github.com/someone/sr-fork"
    changed = run_notebooks.set_repo(fork, tmp_path, readme)
    assert [p.name for p in changed] == ["README.md"] + [p.name for p in NOTEBOOKS[:2]]
    assert readme.read_text() == "Setup:\n    git clone https://github.com/someone/sr-fork && cd sr-fork\n"
    for path in NOTEBOOKS[:2]:
        old, new = (nbformat.read(p, as_version=4) for p in (path, tmp_path / path.name))
        assert run_notebooks.repo_links(new, path.name) == (
            [f"https://colab.research.google.com/github/someone/sr-fork/blob/main/notebooks/{path.name}"],
            [fork])
        assert [c.get("outputs") for c in new.cells] == [c.get("outputs") for c in old.cells]
        assert len([1 for a, b in zip(old.cells, new.cells) if a.source != b.source]) == 2
    assert run_notebooks.set_repo(fork, tmp_path, readme) == []  # nothing left to change


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "https://github.com/only-owner", "github.com/a/b"])
def test_colab_url_refuses_other_addresses(url):
    with pytest.raises(ValueError, match="must look like https://github.com/OWNER/NAME"):
        run_notebooks.colab_url("00_x.ipynb", url)
