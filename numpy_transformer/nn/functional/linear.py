"""Linear layer math: y = x W^T + b."""
__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] -> y [..., out]."""
    x2 = x.reshape(-1, x.shape[-1])                     # [N, in]: every leading position a row
    y = x2 @ weight.T                                   # [N, out]
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], weight.shape[0]), (x2, x.shape, weight, bias is not None)


def linear_backward(dy, cache, input_grad=True):
    """dy [..., out] -> dx [..., in], dweight [out, in], dbias [out] (None without bias).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    x2, x_shape, weight, has_bias = cache
    dy2 = dy.reshape(-1, dy.shape[-1])                  # [N, out]
    dx = (dy2 @ weight).reshape(x_shape) if input_grad else None   # dx = dy W
    dweight = dy2.T @ x2                                # dW = dy^T x, summed over the N rows
    dbias = dy2.sum(axis=0) if has_bias else None       # db = sum of dy's rows
    return dx, dweight, dbias
