"""Image data sets: MNIST (downloaded and cached) and the 8x8 digits (carried by the package)."""
import gzip

import numpy as np

from .datasets import ArrayDataset
from .download import ChecksumError, fetch, sha256_file
from .idx import read_idx
from .locations import PACKAGE_FILES
from .registry import REGISTRY

__all__ = ["MNIST", "Digits"]


class MNIST(ArrayDataset):
    """MNIST: `data` uint8 [N, 28, 28] (60,000 train or 10,000 test), `targets` int64 [N]; `ds[idx]` -> (images, labels)."""

    pixel_max = 255
    mean, std = 0.1307, 0.3081  # of the training pixels on 0..1, for Normalize
    num_classes = 10
    folder = "mnist"

    def __init__(self, root=None, train: bool = True):
        prefix = "train" if train else "t10k"
        images = read_idx(fetch(f"{self.folder}/{prefix}-images-idx3-ubyte.gz", root), ndim=3)
        labels = read_idx(fetch(f"{self.folder}/{prefix}-labels-idx1-ubyte.gz", root), ndim=1)
        if len(images) != len(labels) or images.shape[1:] != (28, 28):
            raise ValueError(f"{type(self).__name__} files disagree: images {images.shape}, "
                             f"labels {labels.shape}; expected [N, 28, 28] and [N]")
        super().__init__(images, labels.astype(np.int64))
        self.train = train
        self.data, self.targets = self.arrays


class Digits(ArrayDataset):
    """The 1,797 8x8 digits (values 0..16) split by a fixed seed: `data` uint8 [N, 8, 8], `targets` int64 [N].

    The file ships inside the package (BSD-3, scikit-learn / UCI), so this works offline.
    `test_fraction` of the samples (rounded) form the test split; the rest the training split.
    """

    pixel_max = 16
    num_classes = 10
    path = PACKAGE_FILES / "digits.csv.gz"

    def __init__(self, train: bool = True, test_fraction: float = 0.2, seed: int = 0):
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"Digits test_fraction must be in (0, 1), got {test_fraction}")
        images, labels = load_digits_file(self.path)
        n_test = round(test_fraction * len(labels))
        order = np.random.default_rng(seed).permutation(len(labels))
        keep = np.sort(order[n_test:] if train else order[:n_test])
        super().__init__(images[keep], labels[keep])
        self.train = train
        self.data, self.targets = self.arrays


def load_digits_file(path) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits from the CSV (64 pixels then the label per row): uint8 [N, 8, 8], int64 [N]."""
    expected = REGISTRY["digits/digits.csv.gz"].sha256
    if sha256_file(path) != expected:
        raise ChecksumError(f"{path} is corrupted: its sha256 is not {expected}; reinstall numpy_transformer")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)  # [N, 65]
    return table[:, :64].astype(np.uint8).reshape(-1, 8, 8), table[:, 64].copy()
