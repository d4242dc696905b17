"""Positional encodings: the sinusoidal table, and adding a [T, D] table to a batch of sequences."""
import math

import numpy as np

__all__ = ["sinusoidal_positional_encoding", "add_positional_forward", "add_positional_backward"]


def sinusoidal_positional_encoding(max_len: int, d_model: int, dtype=None):
    """[max_len, d_model]: PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same angle).

    Computed in float64, returned in `dtype` (default: the library's default dtype). An odd
    d_model has one more sine column than cosine columns."""
    from ...dtype import get_default_dtype
    position = np.arange(max_len, dtype=np.float64)[:, None]            # [T, 1]
    even = np.arange(0, d_model, 2, dtype=np.float64)                   # 2i
    angle = position * np.exp(even * (-math.log(10000.0) / d_model))    # [T, ceil(d/2)]
    table = np.empty((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, :d_model // 2])
    return table.astype(dtype or get_default_dtype())


def add_positional_forward(x, table, batch_first=True):
    """y = x + table, table [T, D] added at every batch index: x [B, T, D] (or [T, B, D])."""
    return x + (table if batch_first else table[:, None]), batch_first


def add_positional_backward(dy, cache):
    """(dx, dtable): dx = dy; dtable = dy summed over the batch axis."""
    batch_first = cache
    return dy, dy.sum(axis=0 if batch_first else 1)
