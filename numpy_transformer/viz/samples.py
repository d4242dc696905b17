"""Sample grids: a batch of images tiled into one PNG (a GAN's samples, a batch of data)."""
import math

import numpy as np


def tile_images(images, nrow: int = None, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """[N, H, W], [N, 1, H, W] or [N, 3, H, W] in [0, 1] -> one [rows*(H+p)+p, nrow*(W+p)+p(, 3)]
    image, row by row, `padding` pixels of `pad_value` between and around the tiles."""
    images = np.asarray(images)
    if images.ndim == 4:
        if images.shape[1] not in (1, 3):
            raise ValueError(f"tile_images expects 1 or 3 channels on axis 1, got shape {images.shape}")
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"tile_images expects a non-empty batch [N, H, W] or [N, C, H, W], "
                         f"got shape {images.shape}")
    n, h, w = images.shape[:3]
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    channels = images.shape[3:]
    tiles = np.full((rows * nrow, h + padding, w + padding) + channels, pad_value, dtype=np.float32)
    tiles[:n, :h, :w] = images                      # each tile followed by its right/bottom gap
    grid = tiles.reshape((rows, nrow, h + padding, w + padding) + channels).swapaxes(1, 2)
    grid = grid.reshape((rows * (h + padding), nrow * (w + padding)) + channels)
    border = ((padding, 0), (padding, 0)) + ((0, 0),) * len(channels)
    return np.pad(grid, border, constant_values=pad_value)   # the top and left gaps


def save_image_grid(images, path, nrow: int = None, padding: int = 2, scale: int = 2) -> None:
    """Tile images in [0, 1] (values outside are clipped) and write them as a PNG, each pixel
    drawn as a `scale` x `scale` block."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image
    grid = np.clip(tile_images(images, nrow, padding), 0.0, 1.0)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    matplotlib.image.imsave(str(path), grid, cmap="gray", vmin=0.0, vmax=1.0)
