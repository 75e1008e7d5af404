"""Run the study headless: execute the notebooks in order and save them with their outputs.

Usage (from the repository)::

    python -m sr_utils.run_notebooks                 # every notebook, in file order, full profile
    python -m sr_utils.run_notebooks --quick         # every notebook, quick smoke profile
    python -m sr_utils.run_notebooks notebooks/01_cifar10_x2.ipynb
    python -m sr_utils.run_notebooks --sync-links    # after changing REPO_URL below (a fork)
    python -m sr_utils.run_notebooks --stats         # code lines and cells against the thin-notebook targets
    python -m sr_utils.run_notebooks --extract DIR   # each notebook's code as DIR/<notebook>.py

Each notebook runs with its own folder as working directory. Notebooks run in the full profile
are saved in place with their outputs, but only once the whole notebook has succeeded (written
to a temporary file, then renamed). Outputs are cleaned for committing: execution counts reset
and per-cell timing metadata dropped. Quick runs check that the notebooks work and leave the
notebook files unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from .config import PROFILE_ENV, repo_root
from .files import atomic_write


# TensorFlow's C++ start-up log lines, printed before its logging can be configured (no
# environment variable silences them in TF 2.21): machine noise, not results.
_TF_STARTUP_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*"
    r"|To enable the following instructions: .*)$"
)


def clean(nb) -> None:
    """Strip what changes on every run and says nothing: execution counts, timing metadata, and
    TensorFlow's C++ start-up log lines in stderr outputs."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        kept = []
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = None
            if output.output_type == "stream" and output.name == "stderr":
                lines = [line for line in output.text.splitlines(keepends=True) if not _TF_STARTUP_LOG.match(line.rstrip("\n"))]
                output.text = "".join(lines)
                if not output.text.strip():
                    continue
            kept.append(output)
        cell.outputs = kept


def run(path: Path, profile: str, timeout: int | None = None) -> float:
    """Execute one notebook in ``profile``; returns seconds taken. Saves it only for ``full``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get(PROFILE_ENV)
    os.environ[PROFILE_ENV] = profile  # the kernel inherits this environment
    start = time.time()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop(PROFILE_ENV, None)
        else:
            os.environ[PROFILE_ENV] = old
    if profile == "full":
        clean(nb)
        with atomic_write(path) as tmp:
            nbformat.write(nb, tmp)
    return time.time() - start


# The one place the repository's address is set: every notebook's "Open in Colab" badge and the
# clone URL of its Colab setup cell are written from it (``set_repo``) and tested against it.
REPO_URL = "https://github.com/sr-study/keras-super-resolution"
_BADGE = re.compile(r'https://colab\.research\.google\.com/github/[^"\s)]+?/blob/main/notebooks/[\w.-]+\.ipynb')
_CLONE = re.compile(r"(?<=git clone -q --depth 1 )https://github\.com/[^\s\"']+")


def colab_url(notebook: str, repo_url: str = REPO_URL) -> str:
    """The "Open in Colab" address of ``notebook`` (a file name) in ``repo_url`` (a GitHub URL)."""
    prefix = "https://github.com/"
    if not repo_url.startswith(prefix) or repo_url.rstrip("/").count("/") != 4:
        raise ValueError(f"repo_url must look like https://github.com/OWNER/NAME, got {repo_url!r}.")
    return f"https://colab.research.google.com/github/{repo_url[len(prefix):].rstrip('/')}/blob/main/notebooks/{notebook}"


def repo_links(nb, notebook: str) -> tuple[list[str], list[str]]:
    """The Colab badge addresses and the clone URLs of the setup cell found in a notebook."""
    badges, clones = [], []
    for cell in nb.cells:
        badges += _BADGE.findall(cell.source) if cell.cell_type == "markdown" else []
        clones += _CLONE.findall(cell.source) if cell.cell_type == "code" else []
    return badges, clones


_README_CLONE = re.compile(r"git clone https://github\.com/\S+ && cd \S+")


def set_repo(repo_url: str, folder: Path, readme: Path | None = None) -> list[Path]:
    """Point every notebook of ``folder`` at ``repo_url`` (badge and clone URL), and the
    ``git clone URL && cd NAME`` line of ``readme`` when given; returns the files changed.
    Notebook outputs are kept: only these strings change."""
    import nbformat

    colab_url("x.ipynb", repo_url)  # checks the address
    changed = []
    if readme is not None and Path(readme).is_file():
        text = Path(readme).read_text()
        url = repo_url.rstrip("/")
        new = _README_CLONE.sub(f"git clone {url} && cd {url.rsplit('/', 1)[1]}", text)
        if new != text:
            with atomic_write(readme) as tmp:
                tmp.write_text(new)
            changed.append(Path(readme))
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = [cell.source for cell in nb.cells]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _BADGE.sub(colab_url(path.name, repo_url), cell.source)
            elif cell.cell_type == "code":
                cell.source = _CLONE.sub(repo_url.rstrip("/"), cell.source)
        if [cell.source for cell in nb.cells] != before:
            with atomic_write(path) as tmp:
                nbformat.write(nb, tmp)
            changed.append(path)
    return changed


# What a thin notebook looks like (issue #13): the targets ``code_stats`` checks.
MAX_MEAN_LINES = 72       # code lines per notebook, on average: #13's 500 lines for its 7 notebooks
MAX_CELL_LINES = 15       # lines of one code cell
MAX_SETUP_LINES = 5       # the first code cell: the Colab install and the import


def code_cells(path: Path) -> list[str]:
    """The source of every code cell of a notebook, in order."""
    nb = json.loads(Path(path).read_text())
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"] if c["cell_type"] == "code"]


def code_stats(folder: Path) -> dict[str, dict]:
    """Per numbered notebook of ``folder``: code cells, code lines (blank lines included), its
    longest cell, its setup cell's lines, and whether it ends with a "What we found" cell
    (``reporting.Findings``)."""
    stats = {}
    for path in study_order(folder):
        cells = code_cells(path)
        lines = [len(c.strip("\n").splitlines()) for c in cells]
        stats[path.name] = {"cells": len(cells), "lines": sum(lines), "longest": max(lines, default=0),
                            "setup": lines[0] if lines else 0, "findings": bool(cells) and "reporting.Findings(" in cells[-1]}
    return stats


def target_failures(stats: dict[str, dict]) -> list[str]:
    """What in ``code_stats`` misses the thin-notebook targets (an empty list when nothing does)."""
    failures = [f"{name}: a code cell of {s['longest']} lines (at most {MAX_CELL_LINES})" for name, s in stats.items() if s["longest"] > MAX_CELL_LINES]
    failures += [f"{name}: a setup cell of {s['setup']} lines (at most {MAX_SETUP_LINES})" for name, s in stats.items() if s["setup"] > MAX_SETUP_LINES]
    failures += [f"{name}: no closing \"What we found\" cell (reporting.Findings)" for name, s in stats.items() if not s["findings"]]
    total, most = sum(s["lines"] for s in stats.values()), MAX_MEAN_LINES * len(stats)
    return failures + ([f"{total} lines of notebook code in {len(stats)} notebooks (at most {most}: {MAX_MEAN_LINES} per notebook)"]
                       if total > most else [])


def extract(folder: Path, out: Path) -> list[Path]:
    """Write each numbered notebook's code cells to ``out/<notebook>.py`` (one file per notebook,
    cells separated by a comment), for tools that read Python files, such as a duplicate finder."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for path in study_order(folder):
        target = out / f"{path.stem}.py"
        target.write_text("".join(f"# cell {i}\n{code.rstrip()}\n\n" for i, code in enumerate(code_cells(path), 1)))
        paths.append(target)
    return paths


def study_order(folder: Path) -> list[Path]:
    """The numbered notebooks of ``folder`` in file order: each uses only what the notebooks
    before it wrote (the evaluation, 07, after the notebooks that train the models it scores)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sr_utils.run_notebooks", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all, in order)")
    parser.add_argument("--quick", action="store_true", help="quick smoke profile; notebook files are not rewritten")
    parser.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: no limit)")
    parser.add_argument("--sync-links", action="store_true",
                        help=f"write REPO_URL (sr_utils/run_notebooks.py, now {REPO_URL}) into every notebook's Colab "
                             "badge and clone URL and the README's clone line, and exit (after changing it in a fork)")
    parser.add_argument("--stats", action="store_true",
                        help="print each notebook's code cells and lines against the thin-notebook targets, and exit (1 if one is missed)")
    parser.add_argument("--extract", type=Path, metavar="DIR", help="write each notebook's code to DIR/<notebook>.py, and exit")
    args = parser.parse_args(argv)
    folder = repo_root() / "notebooks"
    if args.extract:
        print(f"wrote {len(extract(folder, args.extract))} files to {args.extract}")
        return 0
    if args.stats:
        stats = code_stats(folder)
        for name, s in stats.items():
            print(f"{name:30s} {s['cells']:3d} code cells {s['lines']:4d} lines, longest {s['longest']:2d}, setup {s['setup']}"
                  + ("" if s["findings"] else ", no 'What we found'"))
        failures = target_failures(stats)
        print(f"total {sum(s['lines'] for s in stats.values())} lines (at most {MAX_MEAN_LINES * len(stats)}: {MAX_MEAN_LINES} per notebook)"
              + "".join(f"\nMISSED: {f}" for f in failures))
        return 1 if failures else 0
    if args.sync_links:
        changed = set_repo(REPO_URL, repo_root() / "notebooks", repo_root() / "README.md")
        print(f"{len(changed)} file(s) changed; the notebooks and the README point at {REPO_URL}")
        return 0
    paths = args.notebooks or study_order(folder)
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    profile = "quick" if args.quick else "full"
    for path in paths:
        print(f"running {path} ({profile} profile) ...", flush=True)
        seconds = run(Path(path).resolve(), profile, args.timeout)
        print(f"  done in {seconds / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
