"""The training photos (T91 + BSDS), natural96 and the STL-10 subset: downloaded, checked, rebuilt.

``python -m sr_utils.data --download`` fetches ``sr_train/`` into the Keras cache,
``--rebuild-natural96`` writes ``natural96.npz`` there (cut from the photos), ``--stl10-subset``
downloads ``stl10_subset.npz``, and maintainers regenerate the index files from a complete local
copy with ``--write-index DATA_DIR``.
"""

from __future__ import annotations

import argparse

from .indexes import write_indexes
from .locations import ASSETS
from .natural96 import rebuild_natural96
from .photos import find_sr_train
from .stl10 import download_stl10_subset


def main(argv: list[str] | None = None) -> int:
    """The command line (``argv``, default ``sys.argv[1:]``): one of the four actions; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sr_utils.data", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--download", action="store_true", help="download sr_train/ into the Keras cache")
    action.add_argument("--rebuild-natural96", action="store_true",
                        help="write natural96.npz into the Keras cache, cut from sr_train/ (downloaded if needed)")
    action.add_argument("--stl10-subset", action="store_true",
                        help="download the 256 STL-10 pictures into the Keras cache as stl10_subset.npz")
    action.add_argument("--write-index", metavar="DATA_DIR",
                        help="maintainers: regenerate the index files from DATA_DIR/sr_train, DATA_DIR/natural96.npz "
                             "and DATA_DIR/stl10_subset.npz")
    args = parser.parse_args(argv)
    if args.write_index:
        for path in write_indexes(args.write_index):
            print(f"wrote {path.relative_to(ASSETS.parent.parent) if ASSETS.parent.parent in path.parents else path}")
    elif args.download:
        print(f"sr_train: {find_sr_train()}")
    elif args.stl10_subset:
        print(f"STL-10 subset: {download_stl10_subset()}")
    else:
        print(f"natural96: {rebuild_natural96()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
