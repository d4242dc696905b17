"""Transforms of whole batches: one call per batch, no loop over images; random ones draw from a Generator.

A transform is called as `t(x, rng)`. The DataLoader passes each batch its own generator (derived from
its seed, the epoch and the batch number), so augmentation repeats exactly when a run is resumed.
Called without `rng`, a random transform uses its own `generator`, else `nt.random.default_generator()`.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..dtype import get_default_dtype
from ..random import default_generator
from .affine import affine_images

__all__ = ["Transform", "Compose", "ToFloat", "Normalize", "RandomShift", "RandomCrop", "RandomAffine", "Flatten",
           "apply_transform", "shift_images", "crop_images"]


class Transform:
    """A function of a batch; subclasses override `__call__(x, rng=None)`."""

    def __call__(self, x, rng: np.random.Generator | None = None):
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({fields})"


def apply_transform(transform, x, rng=None):
    """Call a Transform with `rng`, or a plain function with `x` alone."""
    return transform(x, rng) if isinstance(transform, Transform) else transform(x)


class Compose(Transform):
    """Apply transforms in order; random ones share the batch's generator."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        for transform in self.transforms:
            x = apply_transform(transform, x, rng)
        return x


class ToFloat(Transform):
    """`x * scale` as floats (default dtype, float32 unless changed): uint8 pixels 0..255 -> 0..1."""

    def __init__(self, scale: float = 1 / 255, dtype=None):
        self.scale, self.dtype = scale, dtype

    def __call__(self, x, rng=None):
        y = x.astype(np.dtype(self.dtype or get_default_dtype()))
        y *= self.scale
        return y


class Normalize(Transform):
    """`(x - mean) / std`; per-channel sequences apply along axis 1 ([N, C, H, W] or [N, C]). Keeps x's dtype."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, x, rng=None):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"Normalize needs floating input, got {x.dtype} with shape {tuple(x.shape)}; "
                            f"put ToFloat() before it")
        mean, std = (self._per_channel(np.asarray(v, dtype=x.dtype), x) for v in (self.mean, self.std))
        y = x - mean
        y /= std
        return y

    def _per_channel(self, value, x):
        """A scalar as is; a [C] vector shaped to broadcast along axis 1."""
        if value.size == 1:
            return value.reshape(())
        if x.ndim < 2 or x.shape[1] != value.size:
            raise ValueError(f"Normalize has {value.size} channel values but the batch has shape "
                             f"{tuple(x.shape)} (channels on axis 1)")
        return value.reshape((-1,) + (1,) * (x.ndim - 2))


class RandomShift(Transform):
    """Shift each image by its own random (dy, dx) in [-max_shift, max_shift], filling with `fill`.

    Images [N, H, W] or [N, C, H, W]; the output has the input's shape and dtype.
    """

    def __init__(self, max_shift: int, fill=0, generator: np.random.Generator | None = None):
        if max_shift < 0:
            raise ValueError(f"RandomShift max_shift must be >= 0, got {max_shift}")
        self.max_shift, self.fill, self.generator = int(max_shift), fill, generator

    def __call__(self, x, rng=None):
        _check_images(self, x)
        rng = rng or self.generator or default_generator()
        dy, dx = rng.integers(-self.max_shift, self.max_shift + 1, size=(2, x.shape[0]))
        return shift_images(x, dy, dx, self.fill)


class RandomCrop(Transform):
    """Pad every side by `padding`, then cut a `size` window at each image's own random position."""

    def __init__(self, size, padding: int = 0, fill=0, generator: np.random.Generator | None = None):
        self.size = (size, size) if np.isscalar(size) else tuple(size)
        self.padding, self.fill, self.generator = int(padding), fill, generator

    def __call__(self, x, rng=None):
        _check_images(self, x)
        (h, w), p = self.size, self.padding
        room_y, room_x = x.shape[-2] + 2 * p - h, x.shape[-1] + 2 * p - w
        if room_y < 0 or room_x < 0:
            raise ValueError(f"RandomCrop of size {self.size} does not fit images of shape "
                             f"{tuple(x.shape)} padded by {p}")
        rng = rng or self.generator or default_generator()
        top = rng.integers(0, room_y + 1, size=x.shape[0])
        left = rng.integers(0, room_x + 1, size=x.shape[0])
        return crop_images(_pad_images(x, p, self.fill), top, left, self.size)


class RandomAffine(Transform):
    """Turn, scale and shift each image by its own random amounts: torchvision's RandomAffine
    without shear, bilinear only. Images [N, (C,) H, W]; the output keeps shape and dtype.

    `degrees`: d for angles in [-d, d], or (low, high); positive turns counter-clockwise. `translate`:
    (a, b) for shifts up to a * W across and b * H down, rounded to whole pixels. `scale`: (low, high).
    """

    def __init__(self, degrees, translate=None, scale=None, *, fill=0,
                 generator: np.random.Generator | None = None):
        self.degrees = _range("degrees", degrees, symmetric=True)
        if translate is not None and (np.ndim(translate) != 1 or len(translate) != 2
                                      or not all(0 <= t <= 1 for t in translate)):
            raise ValueError(f"RandomAffine translate must be two fractions in [0, 1], got {translate!r}")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        self.scale = None if scale is None else _range("scale", scale)
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"RandomAffine scale must be positive, got {scale!r}")
        self.fill, self.generator = fill, generator

    def __call__(self, x, rng=None):
        _check_images(self, x)
        rng = rng or self.generator or default_generator()
        n, (h, w) = x.shape[0], x.shape[-2:]
        angle = rng.uniform(*self.degrees, size=n)
        scale = rng.uniform(*self.scale, size=n) if self.scale else np.ones(n)
        dy, dx = np.zeros(n), np.zeros(n)
        if self.translate:
            dx = np.rint(rng.uniform(-1, 1, size=n) * self.translate[0] * w)
            dy = np.rint(rng.uniform(-1, 1, size=n) * self.translate[1] * h)
        return affine_images(x, angle, scale, dy, dx, self.fill)


class Flatten(Transform):
    """Merge the dimensions from `start_dim` on: [N, H, W] -> [N, H * W]."""

    def __init__(self, start_dim: int = 1):
        self.start_dim = start_dim

    def __call__(self, x, rng=None):
        return x.reshape(x.shape[:self.start_dim] + (-1,))


def shift_images(x, dy, dx, fill=0):
    """Image n moved down by dy[n] and right by dx[n] (negative: up/left): out[n, i, j] = x[n, i - dy, j - dx]."""
    dy, dx = np.asarray(dy), np.asarray(dx)
    m = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    return crop_images(_pad_images(x, m, fill), m - dy, m - dx, x.shape[-2:])


def crop_images(x, top, left, size):
    """Window `size` of each image at its own (top[n], left[n]): [N, (C,) H, W] -> [N, (C,) h, w], one gather."""
    windows = sliding_window_view(x, tuple(size), axis=(-2, -1))  # [N, (C,) H-h+1, W-w+1, h, w], a view
    n = np.arange(x.shape[0])
    return windows[n, top, left] if x.ndim == 3 else windows[n, :, top, left]


def _pad_images(x, padding: int, fill):
    """Pad the last two axes by `padding` on every side (once for the whole batch)."""
    if padding == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(padding, padding)] * 2
    return np.pad(x, widths, constant_values=fill)


def _range(name: str, value, symmetric: bool = False) -> tuple:
    """(low, high) from a pair, or from one number d as (-d, d) where `symmetric`."""
    if value is None or np.ndim(value) > 1:
        raise ValueError(f"RandomAffine {name} must be a number or a pair (low, high), got {value!r}")
    if symmetric and np.isscalar(value):
        if value < 0:
            raise ValueError(f"RandomAffine {name} must be >= 0 as a single number, got {value!r}")
        return (-float(value), float(value))
    if np.ndim(value) == 0 or len(value) != 2 or value[0] > value[1]:
        raise ValueError(f"RandomAffine {name} must be a pair (low, high) with low <= high, got {value!r}")
    return (float(value[0]), float(value[1]))


def _check_images(transform, x) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(f"{type(transform).__name__} expects images [N, H, W] or [N, C, H, W], "
                         f"got shape {tuple(x.shape)}")
