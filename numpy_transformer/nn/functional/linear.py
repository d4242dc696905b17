"""Linear layer math: y = x W^T + b."""
__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] -> y [..., out].

    The leading dims are flattened first ([..., in] -> [N, in], a view of a contiguous x), so
    that every product is one 2-D GEMM rather than one per leading index."""
    x2 = x.reshape(-1, x.shape[-1])                     # [N, in]
    y = x2 @ weight.T                                   # [N, out]
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[0]), (x2, x.shape, weight, bias is not None)


def linear_backward(dy, cache, input_grad=True):
    """dy [..., out] -> dx [..., in], dweight [out, in], dbias [out] (None without bias).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    x2, x_shape, weight, has_bias = cache
    dy2 = dy.reshape(-1, dy.shape[-1])                  # [N, out]
    dweight = dy2.T @ x2                                # [out, in]
    dbias = dy2.sum(axis=0) if has_bias else None
    dx = (dy2 @ weight).reshape(x_shape) if input_grad else None
    return dx, dweight, dbias
