"""The GPU kernel set: the reference math on CuPy arrays, with fused CuPy kernels where one
launch replaces several passes over memory (GELU, LayerNorm, softmax cross-entropy).

Same signatures as nn/functional; each forward's cache belongs to its own backward. Anything a
fused kernel does not cover (another reduction, label smoothing, class weights, probabilities
as targets) goes to the reference. Proven equal to the reference on a GPU by
tests/device/test_cuda_kernels.py (run by benchmarks/gpu_check.sh)."""
import math

from ..nn.functional import cross_entropy_backward, cross_entropy_forward, gelu_forward

__all__ = ["kernels"]

_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def kernels() -> dict:
    """{name: function} of the GPU kernels (CuPy is imported here, not before)."""
    import cupy
    k = _Compiled(cupy)
    return {"gelu_forward": k.gelu_forward, "gelu_backward": k.gelu_backward,
            "layer_norm_forward": k.layer_norm_forward, "layer_norm_backward": k.layer_norm_backward,
            "cross_entropy_forward": k.cross_entropy_forward,
            "cross_entropy_backward": k.cross_entropy_backward}


class _Compiled:
    """The kernels of one CuPy module (compiled on first launch, cached by CuPy across runs)."""

    def __init__(self, cupy):
        self.cp = cupy
        self._gelu = cupy.ElementwiseKernel(
            "T x", "T y, T cdf",
            f"cdf = 0.5 * (1 + erf(x * {_SQRT_HALF!r})); y = x * cdf", "nt_gelu_forward")
        self._gelu_grad = cupy.ElementwiseKernel(
            "T dy, T x, T cdf", "T dx",
            f"dx = dy * (cdf + x * exp(-0.5 * x * x) * {_INV_SQRT_2PI!r})", "nt_gelu_backward")
        self._gelu_tanh = cupy.ElementwiseKernel(
            "T x", "T y, T h",
            f"h = 0.5 * (1 + tanh({_SQRT_2_OVER_PI!r} * (x + 0.044715 * x * x * x))); y = x * h",
            "nt_gelu_tanh_forward")
        self._gelu_tanh_grad = cupy.ElementwiseKernel(
            "T dy, T x, T h", "T dx",
            f"dx = dy * (h + x * 2 * h * (1 - h) * {_SQRT_2_OVER_PI!r} * (1 + 3 * 0.044715 * x * x))",
            "nt_gelu_tanh_backward")
        self._normalize = cupy.ElementwiseKernel(
            "T x, T mean, T rstd, T w, T b", "T xhat, T y",
            "xhat = (x - mean) * rstd; y = xhat * w + b", "nt_layer_norm_forward")
        self._normalize_grad = cupy.ElementwiseKernel(
            "T g, T xhat, T rstd, T mean_g, T mean_gx", "T dx",
            "dx = rstd * (g - mean_g - xhat * mean_gx)", "nt_layer_norm_backward")
        self._softmax_ce_grad = cupy.ElementwiseKernel(
            "T x, raw T lse, raw I target, int64 classes, I ignore, T scale", "T dx",
            "long long row = i / classes; I t = target[row];"
            "dx = (t == ignore) ? (T)0 : scale * (exp(x - lse[row]) - (T)((i % classes) == t))",
            "nt_softmax_cross_entropy_backward")

    # ---- GELU: one pass forward, one backward ----
    def gelu_forward(self, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            return gelu_forward(x, approximate)             # the reference's error
        y, s = (self._gelu_tanh if approximate == "tanh" else self._gelu)(x)
        return y, (x, s, approximate)

    def gelu_backward(self, dy, cache):
        x, s, approximate = cache
        return (self._gelu_tanh_grad if approximate == "tanh" else self._gelu_grad)(dy, x, s)

    # ---- LayerNorm over the last n_dims: rows [R, D] ----
    def layer_norm_forward(self, x, weight=None, bias=None, n_dims=1, eps=1e-5):
        cp = self.cp
        D = math.prod(x.shape[x.ndim - n_dims:])
        rows = x.reshape(-1, D)                                   # [R, D]
        mean = rows.mean(axis=1, keepdims=True)                   # [R, 1]
        var = cp.square(rows - mean).mean(axis=1, keepdims=True)  # biased, as PyTorch
        rstd = 1 / cp.sqrt(var + eps)
        w = cp.ones(D, x.dtype) if weight is None else weight.reshape(D)
        b = cp.zeros(D, x.dtype) if bias is None else bias.reshape(D)
        xhat, y = self._normalize(rows, mean, rstd, w, b)
        normalized = x.shape[x.ndim - n_dims:]
        return y.reshape(x.shape), (xhat, rstd, weight, bias is not None, x.shape, normalized)

    def layer_norm_backward(self, dy, cache):
        xhat, rstd, weight, has_bias, shape, normalized = cache
        rows = dy.reshape(xhat.shape)                             # [R, D]
        dbias = rows.sum(axis=0).reshape(normalized) if has_bias else None
        dweight = None if weight is None else (rows * xhat).sum(axis=0).reshape(normalized)
        g = rows if weight is None else rows * weight.reshape(-1)
        mean_g = g.mean(axis=1, keepdims=True)                    # through the mean
        mean_gx = (g * xhat).mean(axis=1, keepdims=True)          # through the variance
        dx = self._normalize_grad(g, xhat, rstd, mean_g, mean_gx)
        return dx.reshape(shape), dweight, dbias

    # ---- softmax cross-entropy of class indices, mean over the kept targets ----
    def cross_entropy_forward(self, input, target, weight=None, ignore_index=-100,
                              reduction="mean", label_smoothing=0.0):
        cp = self.cp
        plain = (input.ndim == 2 and weight is None and reduction == "mean"
                 and label_smoothing == 0.0 and target.ndim == 1
                 and not cp.issubdtype(target.dtype, cp.floating))
        if not plain:
            loss, cache = cross_entropy_forward(input, target, weight, ignore_index, reduction,
                                                label_smoothing)
            return loss, ("reference", cache)
        m = input.max(axis=1, keepdims=True)                                    # [N, 1]
        lse = (cp.log(cp.exp(input - m).sum(axis=1, keepdims=True)) + m)[:, 0]  # [N]
        keep = target != ignore_index
        picked = cp.take_along_axis(input, cp.where(keep, target, 0)[:, None], axis=1)[:, 0]
        count = keep.sum()
        loss = cp.where(keep, lse - picked, 0).sum() / cp.maximum(count, 1)
        loss = cp.where(count > 0, loss, cp.nan).astype(input.dtype)   # all ignored: NaN, as torch
        return loss, ("fused", (input, lse, target, ignore_index, count))

    def cross_entropy_backward(self, grad, cache):
        kind, saved = cache
        if kind == "reference":
            return cross_entropy_backward(grad, saved)
        x, lse, target, ignore_index, count = saved
        scale = (self.cp.asarray(grad, dtype=x.dtype) / self.cp.maximum(count, 1)).astype(x.dtype)
        return self._softmax_ce_grad(x, lse.astype(x.dtype), target, x.shape[1],
                                     target.dtype.type(ignore_index), scale)

