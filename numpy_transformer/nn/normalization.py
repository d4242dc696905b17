"""Normalisation layers: LayerNorm, BatchNorm1d and BatchNorm2d."""
import numpy as np

from ..kernels import ops
from . import init
from ._checks import check_float, check_ndim, check_sizes
from .module import Module
from .parameter import Parameter

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d"]


class LayerNorm(Module):
    """Normalises over the trailing `normalized_shape` dims, then scales and shifts."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        for size in normalized_shape:
            check_sizes("LayerNorm", normalized_shape=size)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.register_parameter("weight", Parameter(init.empty(self.normalized_shape, dtype))
                                if elementwise_affine else None)
        self.register_parameter("bias", Parameter(init.empty(self.normalized_shape, dtype))
                                if elementwise_affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0: the layer starts as a plain normalisation."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        check_float(self, x, dtype=None if self.weight is None else self.weight.dtype)
        n = len(self.normalized_shape)
        if x.ndim < n or tuple(x.shape[x.ndim - n:]) != self.normalized_shape:
            raise ValueError(f"{self._describe()} expects input of shape [*, "
                             f"{', '.join(map(str, self.normalized_shape))}], got shape {tuple(x.shape)}")
        y, cache = ops.layer_norm_forward(
            x, None if self.weight is None else self.weight.data,
            None if self.bias is None else self.bias.data, n, self.eps)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        dx, dweight, dbias = ops.layer_norm_backward(grad_output, self._pop(grad_output))
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(Module):
    """BatchNorm over channel axis 1; subclasses only say which input ranks they take."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None, *, bias: bool = True):
        super().__init__()
        check_sizes(type(self).__name__, num_features=num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter(init.empty(num_features, dtype)) if affine else None)
        self.register_parameter("bias", Parameter(init.empty(num_features, dtype))
                                if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", init.empty(num_features, dtype))
            self.register_buffer("running_var", init.empty(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """Fresh running statistics; weight = 1, bias = 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, x) -> None:
        raise NotImplementedError

    def forward(self, x):
        dtype = self.weight.dtype if self.affine else (
            self.running_mean.dtype if self.track_running_stats else None)
        check_float(self, x, dtype=dtype)
        self._check_input_dim(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self._describe()} expects input with {self.num_features} channels "
                             f"(dimension 1), got shape {tuple(x.shape)}")
        weight = self.weight.data if self.affine else None
        bias = self.bias.data if self.bias is not None else None
        if self.training or not self.track_running_stats:       # batch statistics
            if x.size // x.shape[1] <= 1:
                raise ValueError(f"{self._describe()} expected more than 1 value per channel when "
                                 f"training, got input of shape {tuple(x.shape)}")
            update = self.training and self.track_running_stats
            momentum = self.momentum
            if update:
                self.num_batches_tracked += 1
                if momentum is None:                            # cumulative average of all batches
                    momentum = 1.0 / float(self.num_batches_tracked)
            running = (self.running_mean, self.running_var) if update else (None, None)
            y, cache = self._batch_statistics_forward(x, weight, bias, running, momentum)
        else:                                                   # running statistics
            y, cache = ops.batch_norm_forward(x, weight, bias, self.running_mean, self.running_var,
                                            training=False, eps=self.eps)
        self._push(cache, y)
        return y

    def _batch_statistics_forward(self, x, weight, bias, running, momentum):
        """(y, cache) normalised with the batch's statistics (a SyncBatchNorm's: every rank's)."""
        return ops.batch_norm_forward(x, weight, bias, *running, training=True,
                                      momentum=momentum, eps=self.eps)

    def _normalization_backward(self, grad_output, cache):
        return ops.batch_norm_backward(grad_output, cache)

    def backward(self, grad_output):
        dx, dweight, dbias = self._normalization_backward(grad_output, self._pop(grad_output))
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """BatchNorm over [N, C] or [N, C, L]: statistics per channel over N (and L)."""

    def _check_input_dim(self, x) -> None:
        check_ndim(self, x, (2, 3), what="[N, C] or [N, C, L]")


class BatchNorm2d(_BatchNorm):
    """BatchNorm over [N, C, H, W]: statistics per channel over N, H and W."""

    def _check_input_dim(self, x) -> None:
        check_ndim(self, x, 4, what="[N, C, H, W]")
