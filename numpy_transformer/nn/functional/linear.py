"""Linear layer math: y = x W^T + b."""
__all__ = ["linear_forward", "linear_backward", "linear_input_grad", "linear_weight_grad",
           "linear_bias_grad"]


def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] -> y [..., out].

    The leading dims are flattened first ([..., in] -> [N, in], a view of a contiguous x), so
    that every product is one 2-D GEMM rather than one per leading index."""
    x2 = x.reshape(-1, x.shape[-1])                     # [N, in]
    y = x2 @ weight.T                                   # [N, out]
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[0]), (x2, x.shape, weight, bias is not None)


def linear_input_grad(dy, cache):
    """dy [..., out] -> dx = dy W, [..., in]."""
    x2, x_shape, weight, _ = cache
    return (dy.reshape(-1, dy.shape[-1]) @ weight).reshape(x_shape)


def linear_weight_grad(dy, cache):
    """dy [..., out] -> dweight = dy^T x, [out, in]."""
    x2 = cache[0]
    return dy.reshape(-1, dy.shape[-1]).T @ x2


def linear_bias_grad(dy, cache):
    """dy [..., out] -> dbias = the sum of dy's rows, [out] (None without bias)."""
    return dy.reshape(-1, dy.shape[-1]).sum(axis=0) if cache[3] else None


def linear_backward(dy, cache, input_grad=True):
    """dy [..., out] -> dx [..., in], dweight [out, in], dbias [out] (None without bias).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    return (linear_input_grad(dy, cache) if input_grad else None,
            linear_weight_grad(dy, cache), linear_bias_grad(dy, cache))
