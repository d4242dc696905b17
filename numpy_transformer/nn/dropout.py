"""Dropout layers: inverted, so evaluation needs no rescaling; off in eval mode."""
from ..kernels import ops
from ._checks import check_float, check_ndim
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """Zeroes each element with probability p in training and scales the rest by 1/(1-p).

    `inplace=True` overwrites the input (as PyTorch): only safe when nothing else keeps it."""

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def _check_input(self, x) -> None:
        check_float(self, x)

    def _dropout(self, x):
        return ops.dropout_forward(x, self.p, self.training, self.generator, self.inplace)

    def forward(self, x):
        self._check_input(x)
        y, mask = self._dropout(x)
        self._push(mask, y)
        return y

    def backward(self, grad_output):
        return ops.dropout_backward(grad_output, self._pop(grad_output))

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zeroes whole channels: x [N, C, L] or [C, L], one draw per (sample, channel)."""

    def _check_input(self, x) -> None:
        check_float(self, x)
        check_ndim(self, x, (2, 3), what="[N, C, L] or [C, L]")

    def _dropout(self, x):
        return ops.feature_dropout_forward(x, self.p, self.training, self.generator, self.inplace,
                                         batched=x.ndim == 3)


class Dropout2d(Dropout):
    """Zeroes whole channels: x [N, C, H, W], one draw per (sample, channel).

    A 3-D input is read as [N, C, L], as PyTorch (with a warning there) still does."""

    def _check_input(self, x) -> None:
        check_float(self, x)
        check_ndim(self, x, (3, 4), what="[N, C, H, W]")

    def _dropout(self, x):
        return ops.feature_dropout_forward(x, self.p, self.training, self.generator, self.inplace)
