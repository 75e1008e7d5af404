"""The notebooks stay thin drivers of sr_utils: the targets of ``run_notebooks.code_stats`` hold for
the committed notebooks, and no block of code is written in two of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sr_utils import run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def write_notebook(path: Path, *cells: str) -> Path:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}]
          + [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_committed_notebooks_meet_the_thin_notebook_targets():
    stats = run_notebooks.code_stats(NOTEBOOKS)
    assert list(stats) == [p.name for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))] and len(stats) == 9
    assert run_notebooks.target_failures(stats) == []


def test_code_stats_counts_lines_and_finds_each_miss(tmp_path):
    write_notebook(tmp_path / "00_a.ipynb", "import sys\nfrom sr_utils import reporting", "x = 1\n\ny = 2\n", "reporting.Findings('a')")
    write_notebook(tmp_path / "01_b.ipynb", "\n".join(["a = 1"] * 6), "\n".join(["b = 2"] * 16))
    stats = run_notebooks.code_stats(tmp_path)
    assert stats["00_a.ipynb"] == {"cells": 3, "lines": 6, "longest": 3, "setup": 2, "findings": True}
    assert stats["01_b.ipynb"] == {"cells": 2, "lines": 22, "longest": 16, "setup": 6, "findings": False}
    assert run_notebooks.target_failures(stats) == [
        "01_b.ipynb: a code cell of 16 lines (at most 15)", "01_b.ipynb: a setup cell of 6 lines (at most 5)",
        "01_b.ipynb: no closing \"What we found\" cell (reporting.Findings)"]
    many = {f"{i:02d}_x.ipynb": dict(stats["00_a.ipynb"], lines=73 if i else 72) for i in range(6)}
    assert run_notebooks.target_failures(many) == ["437 lines of notebook code in 6 notebooks (at most 432: 72 per notebook)"]
    many["00_x.ipynb"]["lines"] = 67
    assert run_notebooks.target_failures(many) == []  # a short notebook makes room for longer ones


def test_extract_writes_one_python_file_per_notebook(tmp_path):
    (tmp_path / "nb").mkdir()
    write_notebook(tmp_path / "nb" / "00_a.ipynb", "x = 1", "y = 2\n")
    paths = run_notebooks.extract(tmp_path / "nb", tmp_path / "out")
    assert paths == [tmp_path / "out" / "00_a.py"]
    assert paths[0].read_text() == "# cell 1\nx = 1\n\n# cell 2\ny = 2\n\n"


def _statements(code: str) -> list[str]:
    """Lines that carry code: no blank lines, comments, imports or lone brackets; white space folded."""
    out = []
    for line in code.splitlines():
        text = " ".join(line.split("#")[0].split())
        if text and not text.startswith(("import ", "from ")) and text.strip("()[]{},") != "":
            out.append(text)
    return out


@pytest.mark.parametrize("window", [6])
def test_no_block_of_code_is_written_in_two_notebooks(window):
    seen: dict[tuple, str] = {}
    repeated = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        lines = [s for cell in run_notebooks.code_cells(path) for s in _statements(cell)]
        for i in range(len(lines) - window + 1):
            block = tuple(lines[i:i + window])
            if block in seen and seen[block] != path.name:
                repeated.append(f"{seen[block]} and {path.name}: {block[0]!r} ...")
            seen.setdefault(block, path.name)
    assert repeated == [], "move the repeated code into sr_utils"
