"""A user's own images for the image recipes (`--data PATH`): a folder of IDX files named as
MNIST's, a Keras-style `.npz`, or an ImageFolder tree `train/<class>/*`, `test/<class>/*`."""
import collections
import gzip
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import ArrayDataset
from .idx import read_idx

__all__ = ["ImageData", "load_image_data"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IDX_NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass
class ImageData:
    """Train and test images `uint8 [N, C, H, W]` with labels 0..K-1, and the class names."""
    train: ArrayDataset
    test: ArrayDataset
    classes: list
    source: str

    @property
    def shape(self) -> tuple:
        """(channels, height, width) of every image."""
        return tuple(self.train.arrays[0].shape[1:])

    @property
    def mean_std(self) -> tuple:
        """Mean and standard deviation of the training pixels on 0..1, for Normalize."""
        pixels = self.train.arrays[0]
        std = float(pixels.std() / 255)
        return float(pixels.mean() / 255), std if std > 0 else 1.0    # constant images: no scaling


def load_image_data(path) -> ImageData:
    """Read `path`, whichever of the three layouts it is; a wrong layout names what was expected."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ValueError(f"--data {path}: no such file or folder (a run keeps the path it was "
                         "trained on: has the data moved?)")
    try:
        if path.is_file() and path.suffix == ".npz":
            splits = _from_npz(path)
        elif path.is_dir() and (path / "train").is_dir():
            splits = _from_image_folder(path)
        elif path.is_dir() and _idx_file(path, IDX_NAMES["train"][0]):
            splits = _from_idx(path)
        else:
            splits = None
    except (zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(f"--data {path} is damaged: {error}") from None
    if splits is None:
        raise ValueError(f"--data {path}: expected a .npz file (x_train, y_train, x_test, y_test), "
                         "a folder of MNIST-named IDX files (train-images-idx3-ubyte[.gz], ...), "
                         "or a folder with train/<class>/ and test/<class>/ images")
    (x_train, y_train), (x_test, y_test), classes = splits
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"--data {path}: train images are {x_train.shape[1:]} but test images "
                         f"{x_test.shape[1:]}; both splits need one size")
    return ImageData(ArrayDataset(x_train, y_train), ArrayDataset(x_test, y_test), classes,
                     str(path))


def _numbered(labels_train, labels_test, path):
    """Labels of any kind (1-D: numbers or names) -> ints 0..K-1 and the class names (sorted)."""
    for split, labels in (("train", labels_train), ("test", labels_test)):
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError(f"--data {path}: the {split} labels must be a non-empty 1-D array of "
                             f"classes, got shape {labels.shape}")
    labels_train, labels_test = (_whole_floats_as_ints(a) for a in (labels_train, labels_test))
    names = np.unique(np.concatenate([labels_train, labels_test]))
    if len(names) < 2:
        raise ValueError(f"--data {path}: a classifier needs at least 2 classes, the labels hold "
                         f"{len(names)}")
    unseen = np.setdiff1d(np.unique(labels_test), np.unique(labels_train))
    if len(unseen):
        raise ValueError(f"--data {path}: the test split has classes the training split lacks: "
                         f"{unseen.tolist()[:5]}")
    to_id = {name: k for k, name in enumerate(names.tolist())}
    ids = [np.array([to_id[v] for v in labels.tolist()], np.int64)
           for labels in (labels_train, labels_test)]
    return ids, [str(name) for name in names.tolist()]


def _whole_floats_as_ints(labels: np.ndarray) -> np.ndarray:
    """Float labels that are whole numbers (1.0) as ints, so the class names read "1"."""
    if np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0):
        return labels.astype(np.int64)
    return labels


def _as_uint8_nchw(images: np.ndarray, where: str) -> np.ndarray:
    """[N, H, W] or [N, H, W, C] (C = 1 or 3) of uint8, or floats on 0..1 -> uint8 [N, C, H, W]."""
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"{where}: images must be [N, H, W] or [N, H, W, C] with C = 1 or 3, got "
                         f"shape {images.shape}")
    if images.dtype == bool:
        images = images.astype(np.uint8) * 255
    if np.issubdtype(images.dtype, np.floating):
        if not np.isfinite(images).all():
            raise ValueError(f"{where}: the images hold NaN or infinite values")
        if images.min() < 0 or images.max() > 1:
            raise ValueError(f"{where}: float images must lie in [0, 1], got "
                             f"{images.min():.3g}..{images.max():.3g}")
        images = np.rint(images * 255)
    elif images.min() < 0 or images.max() > 255:
        raise ValueError(f"{where}: integer images must lie in 0..255")
    return np.ascontiguousarray(images.astype(np.uint8))


def _from_npz(path: Path):
    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in archive]
        if missing:
            raise ValueError(f"--data {path}: the .npz lacks {missing}; it has {sorted(archive)}")
        arrays = {k: archive[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    if len(arrays["y_train"]) and arrays["y_train"].ndim == 2:            # one-hot rows
        arrays["y_train"], arrays["y_test"] = (arrays[k].argmax(1) for k in ("y_train", "y_test"))
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise ValueError(f"--data {path}: x_{split} has {len(arrays[f'x_{split}'])} images but "
                             f"y_{split} {len(arrays[f'y_{split}'])} labels")
    (y_train, y_test), classes = _numbered(arrays["y_train"], arrays["y_test"], path)
    return ((_as_uint8_nchw(arrays["x_train"], f"{path} x_train"), y_train),
            (_as_uint8_nchw(arrays["x_test"], f"{path} x_test"), y_test), classes)


def _idx_file(folder: Path, name: str):
    """folder/name or folder/name.gz, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _from_idx(folder: Path):
    arrays = {}
    for split, names in IDX_NAMES.items():
        files = [_idx_file(folder, name) for name in names]
        if None in files:
            raise ValueError(f"--data {folder}: no {names[files.index(None)]}[.gz] beside "
                             f"{IDX_NAMES['train'][0]}")
        images, labels = read_idx(files[0]), read_idx(files[1], ndim=1)
        if len(images) != len(labels):
            raise ValueError(f"--data {folder}: {files[0].name} has {len(images)} images but "
                             f"{files[1].name} {len(labels)} labels")
        arrays[split] = (_as_uint8_nchw(images, str(files[0])), labels)
    (y_train, y_test), classes = _numbered(arrays["train"][1], arrays["test"][1], folder)
    return (arrays["train"][0], y_train), (arrays["test"][0], y_test), classes


def _from_image_folder(root: Path):
    """train/<class>/*.png|jpg, test/<class>/*: one size (the most common training size; others
    resized to it), grayscale unless some image has colour."""
    from PIL import Image
    files = {}
    for split in ("train", "test"):
        folder = root / split
        if not folder.is_dir():
            raise ValueError(f"--data {root}: no {split}/ folder beside train/ (test/<class>/ "
                             "holds the test images)")
        files[split] = sorted((cls.name, f) for cls in folder.iterdir() if cls.is_dir()
                              for f in cls.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files[split]:
            raise ValueError(f"--data {root}: {split}/ has no <class>/ folders of PNG or JPEG "
                             "images")
    opened = {split: [_open(Image, f) for _, f in pairs] for split, pairs in files.items()}
    size = collections.Counter(image.size for image in opened["train"]).most_common(1)[0][0]
    colour = any(image.mode not in ("L", "1", "LA", "I;16", "I;16B", "I;16L")
                 for images in opened.values() for image in images)
    mode = "RGB" if colour else "L"
    arrays = {split: np.stack([np.asarray(_eight_bit(image).convert(mode).resize(size))
                               for image in images]) for split, images in opened.items()}
    labels = {split: np.array([name for name, _ in pairs]) for split, pairs in files.items()}
    (y_train, y_test), classes = _numbered(labels["train"], labels["test"], root)
    return ((_as_uint8_nchw(arrays["train"], str(root / "train")), y_train),
            (_as_uint8_nchw(arrays["test"], str(root / "test")), y_test), classes)


def _eight_bit(image):
    """16-bit grayscale scaled to 0..255 (PIL's convert would clip it); other modes as they are."""
    if image.mode.startswith("I;16"):
        from PIL import Image
        return Image.fromarray((np.asarray(image, dtype=np.float64) / 257).round().astype(np.uint8))
    if image.mode in ("I", "F"):
        raise ValueError(f"--data: {image.filename}: 32-bit images (mode {image.mode}) are not "
                         "supported; save 8- or 16-bit PNGs")
    return image


def _open(Image, path):
    try:
        image = Image.open(path)
        image.load()
        return image
    except OSError as error:
        raise ValueError(f"--data: cannot read the image {path} ({error})") from None
