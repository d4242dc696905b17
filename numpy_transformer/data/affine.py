"""Affine warps of a batch of images, each image its own angle, scale and shift; bilinear sampling."""
import numpy as np

__all__ = ["affine_images"]


def affine_images(x, angle, scale, dy, dx, fill=0):
    """Image n rotated by angle[n] degrees counter-clockwise and scaled by scale[n] about its centre,
    then moved down dy[n] and right dx[n] pixels (each amount one number or one per image);
    [N, (C,) H, W] -> same shape and dtype.

    Each output pixel p reads the input at c + R(-angle) (p - c - t) / scale (c the centre, t the
    shift), mixing its four neighbours bilinearly; outside the image counts as `fill`.
    """
    if x.ndim not in (3, 4):
        raise ValueError(f"affine_images expects images [N, H, W] or [N, C, H, W], got shape {tuple(x.shape)}")
    n, (h, w) = x.shape[0], x.shape[-2:]
    images = x.reshape(n, -1, h, w)                                  # [N, C, H, W]
    work = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
    y_in, x_in = _source_points(n, h, w, angle, scale, dy, dx, work)  # [N, H, W] each
    # Beyond the border only fill is read: clipped to -1 or H (W), a point reads fill at weight 1.
    y_in, x_in = np.clip(y_in, -1, h, out=y_in), np.clip(x_in, -1, w, out=x_in)
    y0, x0 = np.floor(y_in), np.floor(x_in)
    wy, wx = (y_in - y0)[:, None], (x_in - x0)[:, None]              # [N, 1, H, W]
    padded = np.pad(images, [(0, 0), (0, 0), (1, 2), (1, 2)], constant_values=fill).astype(work, copy=False)
    row, plane = w + 3, (h + 3) * (w + 3)
    flat = padded.reshape(-1)                                        # N * C planes of (H+3)(W+3)
    planes = np.arange(n * images.shape[1]).reshape(n, -1, 1, 1) * plane  # [N, C, 1, 1]
    # The index within a plane in floats, then one cast: 6x faster than integer arithmetic on
    # [N, H, W] (128x28x28: 0.12 against 0.76 ms); exact below 2^24 a plane in float32.
    y0, x0 = (y0, x0) if plane < 2 ** 24 else (y0.astype(np.float64), x0.astype(np.float64))
    corner = planes + ((y0 + 1) * row + x0 + 1).astype(np.intp)[:, None]  # [N, C, H, W], top-left neighbours

    def tap(offset):
        """Input pixels `offset` places after each top-left neighbour: [N, C, H, W]."""
        return flat[corner + offset]

    top = tap(0) * (1 - wx) + tap(1) * wx
    bottom = tap(row) * (1 - wx) + tap(row + 1) * wx
    out = top * (1 - wy) + bottom * wy
    if not np.issubdtype(x.dtype, np.floating):
        info = np.iinfo(x.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(x.dtype, copy=False).reshape(x.shape)


def _per_image(name, value, n):
    """A number or [N] amounts as [N, 1, 1] float64."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim > 1 or value.size not in (1, n):
        raise ValueError(f"affine_images {name} must be one number or one per image ({n}), "
                         f"got shape {value.shape}")
    return np.broadcast_to(value.reshape(-1), (n,)).reshape(n, 1, 1)


def _source_points(n, h, w, angle, scale, dy, dx, dtype):
    """Where each output pixel reads the input: (row, column), each [N, H, W] in `dtype`."""
    theta = np.deg2rad(_per_image("angle", angle, n))
    inv_scale = 1 / _per_image("scale", scale, n)
    cos, sin = (np.cos(theta) * inv_scale).astype(dtype), (np.sin(theta) * inv_scale).astype(dtype)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    v = (np.arange(h)[:, None] - cy - _per_image("dy", dy, n)).astype(dtype)  # [N, H, 1]
    u = (np.arange(w)[None, :] - cx - _per_image("dx", dx, n)).astype(dtype)  # [N, 1, W]
    return cy + sin * u + cos * v, cx + cos * u - sin * v
