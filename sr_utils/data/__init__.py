"""Datasets: finding a local copy, the Keras cache or a download, and seeded splits.

One module per concern: ``locations`` (where data is looked for: ``$SR_DATA_DIR``, the Keras cache,
the not-found error), ``arrays`` (checks of loaded ``.npz`` files and image arrays), ``cifar10``,
``stl10`` (the official release and the 256-picture subset), ``benchmarks`` (the Set5 and Set14
test sets, HR PNGs), ``div2k`` (the DIV2K training set's official zips: HR and bicubic LR PNGs),
``natural96`` (load, or rebuild from the photos), ``crop_index`` (natural96's
committed crop index, hence the held-out photos),
``photos`` (the ``sr_train/`` photos: sources, manifest, download, ``load_sr_images``, ``sr_image_files``), ``splits``
(``train_val_split``, ``take``, ``load_available``, ``load_study96``), ``prepare`` (a study's images
loaded, split, trimmed to the run profile and degraded, in one call) and ``indexes`` (maintainers:
regenerate the committed index files). ``python -m sr_utils.data`` downloads or rebuilds the photo sets.

Images are uint8 arrays in ``(N, H, W, 3)`` layout with values in [0, 255]; DIV2K's 2K photos are
given as PNG paths instead (``div2k_images``), for a pipeline that reads them lazily. The loaders and
constants below are re-exported here, so ``from sr_utils import data; data.load_cifar10()`` works.
"""

from .benchmarks import BENCHMARK_MD5, BENCHMARK_URL, download_benchmark, find_benchmark, load_benchmark
from .cifar10 import (
    CIFAR10_COMMITTED_RANGES,
    CIFAR10_LABELS,
    CIFAR10_SIZES,
    CIFAR10_SUBSETS,
    CIFAR10_URL,
    cifar10_cache_candidates,
    cifar10_committed_index,
    cifar10_note,
    load_cifar10,
)
from .div2k import DIV2K_FILES, DIV2K_INDEXES, DIV2K_PARTS, DIV2K_URL, div2k_images, download_div2k, find_div2k
from .locations import DATA_DIR_ENV, find_local_file, keras_cache_dir, local_data_dir, not_found
from .natural96 import load_natural96
from .photos import SR_TRAIN_FOLDERS, load_sr_images, sr_image_files, sr_train_dir
from .prepare import (Photos, Prepared, TestSets, class_counts, prepare_cifar10, prepare_photos, prepare_study96,
                      prepare_test_sets)
from .splits import STUDY96_SOURCES, load_available, load_study96, take, train_val_split
from .stl10 import (
    STL10_ARCHIVE_SIZE,
    STL10_COUNTS,
    STL10_FOLDER,
    STL10_LABELS,
    STL10_MD5,
    STL10_URL,
    download_stl10,
    load_stl10,
    load_stl10_subset,
)

__all__ = [
    "BENCHMARK_MD5", "BENCHMARK_URL", "download_benchmark", "find_benchmark", "load_benchmark",
    "CIFAR10_COMMITTED_RANGES", "CIFAR10_LABELS", "CIFAR10_SIZES", "CIFAR10_SUBSETS", "CIFAR10_URL",
    "cifar10_cache_candidates", "cifar10_committed_index", "cifar10_note", "load_cifar10",
    "DIV2K_FILES", "DIV2K_INDEXES", "DIV2K_PARTS", "DIV2K_URL", "div2k_images", "download_div2k", "find_div2k",
    "DATA_DIR_ENV", "find_local_file", "keras_cache_dir", "local_data_dir", "not_found",
    "load_natural96",
    "SR_TRAIN_FOLDERS", "load_sr_images", "sr_image_files", "sr_train_dir",
    "Photos", "Prepared", "TestSets", "class_counts", "prepare_cifar10", "prepare_photos", "prepare_study96", "prepare_test_sets",
    "STUDY96_SOURCES", "load_available", "load_study96", "take", "train_val_split",
    "STL10_ARCHIVE_SIZE", "STL10_COUNTS", "STL10_FOLDER", "STL10_LABELS", "STL10_MD5", "STL10_URL",
    "download_stl10", "load_stl10", "load_stl10_subset",
]
