"""Positional encodings: the fixed sinusoidal table and a learned table, both added to the input."""
from ..kernels import ops
from . import init
from ._checks import check_dim, check_float, check_ndim
from .dropout import Dropout
from .module import Module
from .parameter import Parameter

__all__ = ["PositionalEncoding", "LearnedPositionalEncoding"]


class _AddPositional(Module):
    """y = dropout(x + table[:T]) for x [B, T, D] (batch_first) or [T, B, D]."""

    def _table(self):
        raise NotImplementedError

    def forward(self, x):
        table = self._table()
        max_len, d_model = table.shape
        check_float(self, x, dtype=table.dtype)
        check_ndim(self, x, 3, what="[B, T, D]" if self.batch_first else "[T, B, D]")
        check_dim(self, x, -1, d_model, what="last dimension (d_model)")
        T = x.shape[1] if self.batch_first else x.shape[0]
        if T > max_len:
            raise ValueError(f"{self._describe()} got a sequence of length {T} (input shape "
                             f"{tuple(x.shape)}), longer than max_len={max_len}")
        y, cache = ops.add_positional_forward(x, table[:T], self.batch_first)
        y = self.dropout(y)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        """Through dropout, then the addition: dx = dy; d table[:T] = dy summed over the batch."""
        cache = self._pop(grad_output)
        dx, dtable = ops.add_positional_backward(self.dropout.backward(grad_output), cache)
        self._accumulate_table(dtable)
        return dx

    def _accumulate_table(self, dtable) -> None:
        pass                                                   # a fixed table has no gradient


class PositionalEncoding(_AddPositional):
    """Adds the sinusoidal table of "Attention is all you need", then dropout.

    The table is a non-persistent buffer `pe` [max_len, d_model]: not in the state dict."""

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.1,
                 batch_first: bool = True, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", ops.sinusoidal_positional_encoding(max_len, d_model, dtype),
                             persistent=False)

    def _table(self):
        return self.pe

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEncoding(_AddPositional):
    """Adds a learned table `weight` [max_len, d_model] (init N(0, 0.02)), then dropout."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0, batch_first: bool = True,
                 dtype=None):
        super().__init__()
        self.max_len, self.d_model, self.batch_first = max_len, d_model, batch_first
        self.dropout = Dropout(dropout)
        self.weight = Parameter(init.empty((max_len, d_model), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight, std=0.02)

    def _table(self):
        return self.weight.data

    def _accumulate_table(self, dtable) -> None:
        self._accumulate(self.weight, dtable, index=slice(0, dtable.shape[0]))   # rows 0..T-1

    def extra_repr(self):
        return f"max_len={self.max_len}, d_model={self.d_model}, batch_first={self.batch_first}"
