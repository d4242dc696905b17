"""Embedding: a table of learned vectors looked up by integer id."""
import numpy as np

from ..kernels import ops
from . import init
from ._checks import check_int, check_sizes
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """weight [num_embeddings, embedding_dim]; ids [...] -> vectors [..., embedding_dim].

    The row `padding_idx` starts at zero and gets no gradient. `sparse=True` is accepted, but the
    gradient is the same dense array (rows that were not looked up stay zero)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight=None, _freeze: bool = False, dtype=None):
        super().__init__()
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if max_norm is not None:
            raise NotImplementedError("Embedding(max_norm=...) (renormalising rows in forward) "
                                      "is not implemented")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding padding_idx={padding_idx} must be within "
                                 f"num_embeddings={num_embeddings} (in [{-num_embeddings}, "
                                 f"{num_embeddings - 1}])")
            padding_idx %= num_embeddings                      # negative counts from the end
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(init.empty((num_embeddings, embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(np.shape(_weight)) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding _weight has shape {tuple(np.shape(_weight))}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding using `embeddings` [V, D] as its weight (shared, not copied; the padding
        row is kept as given). `freeze=True`: backward adds nothing into weight.grad."""
        if np.ndim(embeddings) != 2:
            raise ValueError(f"Embedding.from_pretrained expects 2-D embeddings [num_embeddings, "
                             f"embedding_dim], got shape {tuple(np.shape(embeddings))}")
        rows, cols = np.shape(embeddings)
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def reset_parameters(self) -> None:
        """N(0, 1), as PyTorch, with the padding row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, ids):
        check_int(self, ids)
        if ids.size:
            low, high = ids.min(), ids.max()
            if low < 0 or high >= self.num_embeddings:
                bad = low if low < 0 else high
                raise IndexError(f"{self._describe()} got id {bad} in input of shape "
                                 f"{tuple(ids.shape)}; ids must be in [0, {self.num_embeddings - 1}]")
        y, cache = ops.embedding_forward(ids, self.weight.data, self.padding_idx,
                                       self.scale_grad_by_freq)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        """Adds the gradient rows into weight.grad in place (only the rows looked up); returns
        None, as the integer ids have no gradient."""
        cache = self._pop(grad_output)
        if self.weight.requires_grad:
            ids, rows = ops.embedding_row_gradients(grad_output, cache)
            self._accumulate(self.weight, rows, index=ids)
        return None

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s
