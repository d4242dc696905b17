"""Small image data sets on disk in the layouts `--data` reads, for tests and for trying it out."""
import gzip
from pathlib import Path

import numpy as np

__all__ = ["idx_bytes", "write_idx_folder", "write_image_folder"]


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file's bytes: magic 00 00 08 <rank>, the sizes, the elements."""
    sizes = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + sizes + array.astype(np.uint8).tobytes()


def write_idx_folder(folder, gz: bool = True, counts=(30, 10), size=(12, 12)) -> Path:
    """MNIST-named IDX files of random images in 3 classes: train `counts[0]`, test `counts[1]`."""
    folder, rng = Path(folder), np.random.default_rng(0)
    folder.mkdir(parents=True)
    for prefix, count in zip(("train", "t10k"), counts):
        arrays = {"images-idx3": rng.integers(0, 256, (count,) + tuple(size)),
                  "labels-idx1": np.arange(count) % 3}
        for kind, array in arrays.items():
            data = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return folder


def write_image_folder(root, colour_one: bool = True) -> Path:
    """train/<apple|pear>/ (6 each) and test/ (2 each): PNG and JPEG, 16x16 but one 20x18, all
    grayscale but one RGB image when `colour_one`."""
    from PIL import Image
    root, rng = Path(root), np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 2)):
        for name in ("apple", "pear"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for k in range(count):
                width, height = (16, 16) if k else (20, 18)
                image = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), "L")
                if colour_one and split == "train" and k == 1 and name == "pear":
                    image = image.convert("RGB")
                image.save(folder / f"{k}.{'png' if k % 2 else 'jpg'}")
    return root
