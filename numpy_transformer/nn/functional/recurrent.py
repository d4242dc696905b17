"""Recurrent math: one time step of the RNN, LSTM and GRU cells, and a whole sequence of one layer.

Names: L time steps, N batch, I input features, H hidden features. Weights as in PyTorch:
weight_ih [G*H, I], weight_hh [G*H, H] with the gates stacked in PyTorch's order
(LSTM: i, f, g, o; GRU: r, z, n; RNN: one block).

    RNN   h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)                      act = tanh or relu
    LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x W_ih^T + b_ih + h W_hh^T + b_hh)
          c' = f * c + i * g,   h' = o * tanh(c')
    GRU   r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z})
          n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h

A sequence runs the cell once per time step (t = 0..L-1, or L-1..0 with reverse=True, the
backward direction of a bidirectional layer); its backward runs the cells' backward in the
opposite order and sums each weight's gradient over the steps.
"""
import numpy as np

from .activation import sigmoid_forward

__all__ = [
    "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward", "rnn_forward", "rnn_backward",
    "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
]


def sigmoid(z):
    """1 / (1 + exp(-z)), computed without overflow (activation.py)."""
    return sigmoid_forward(z)[0]


def affine(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """x W_ih^T + b_ih + h W_hh^T + b_hh: [N, G*H] (both biases or neither, as PyTorch's)."""
    a = x @ weight_ih.T + h @ weight_hh.T
    return a if bias_ih is None else a + bias_ih + bias_hh


def affine_backward(da_x, da_h, x, h, weight_ih, weight_hh, has_bias):
    """(dx, dh, dW_ih, dW_hh, db_ih, db_hh) from the gradients of x W_ih^T + b_ih (da_x) and of
    h W_hh^T + b_hh (da_h), each [N, G*H]."""
    db_ih = da_x.sum(axis=0) if has_bias else None
    db_hh = da_h.sum(axis=0) if has_bias else None
    return da_x @ weight_ih, da_h @ weight_hh, da_x.T @ x, da_h.T @ h, db_ih, db_hh


# ---- one time step ----
def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """x [N, I], h [N, H] -> h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) [N, H]."""
    a = affine(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    h_new = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    return h_new, (x, h, weight_ih, weight_hh, bias_ih is not None, nonlinearity, h_new)


def rnn_cell_backward(dh_new, cache):
    """-> dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh (biases None without bias)."""
    x, h, weight_ih, weight_hh, has_bias, nonlinearity, h_new = cache
    if nonlinearity == "tanh":
        da = dh_new * (1 - h_new * h_new)                  # tanh' = 1 - tanh^2
    else:
        da = np.where(h_new > 0, dh_new, 0)                # relu' = 1 where positive
    return affine_backward(da, da, x, h, weight_ih, weight_hh, has_bias)


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """x [N, I], h [N, H], c [N, H] -> (h', c'), each [N, H]."""
    a = affine(x, h, weight_ih, weight_hh, bias_ih, bias_hh)         # [N, 4H]
    i, f, g, o = np.split(a, 4, axis=1)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    h_new = o * tanh_c
    cache = (x, h, c, weight_ih, weight_hh, bias_ih is not None, (i, f, g, o), tanh_c)
    return (h_new, c_new), cache


def lstm_cell_backward(dout, cache):
    """dout = (dh', dc') (either may be None) -> dx, dh, dc, dweight_ih, dweight_hh, dbias_ih,
    dbias_hh."""
    x, h, c, weight_ih, weight_hh, has_bias, (i, f, g, o), tanh_c = cache
    dh_new, dc_new = (np.zeros_like(c) if d is None else d for d in dout)
    dc = dc_new + dh_new * o * (1 - tanh_c * tanh_c)   # c' reaches the loss directly and via h'
    di, df, dg = dc * g, dc * c, dc * i                # c' = f * c + i * g
    do = dh_new * tanh_c                               # h' = o * tanh(c')
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f),          # sigmoid' = s (1 - s)
                         dg * (1 - g * g), do * o * (1 - o)], axis=1)  # tanh' = 1 - tanh^2
    dx, dh, *d_weights = affine_backward(da, da, x, h, weight_ih, weight_hh, has_bias)
    return dx, dh, dc * f, *d_weights


def gru_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """x [N, I], h [N, H] -> h' [N, H]."""
    ax = x @ weight_ih.T if bias_ih is None else x @ weight_ih.T + bias_ih   # [N, 3H]
    ah = h @ weight_hh.T if bias_hh is None else h @ weight_hh.T + bias_hh   # [N, 3H]
    (ax_r, ax_z, ax_n), (ah_r, ah_z, ah_n) = np.split(ax, 3, axis=1), np.split(ah, 3, axis=1)
    r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)
    n = np.tanh(ax_n + r * ah_n)
    h_new = (1 - z) * n + z * h
    return h_new, (x, h, weight_ih, weight_hh, bias_ih is not None, (r, z, n), ah_n)


def gru_cell_backward(dh_new, cache):
    """-> dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    x, h, weight_ih, weight_hh, has_bias, (r, z, n), ah_n = cache
    dn = dh_new * (1 - z) * (1 - n * n)                # through tanh: the n pre-activation
    dz = dh_new * (h - n) * z * (1 - z)                # h' = n + z (h - n)
    dr = dn * ah_n * r * (1 - r)                       # n_pre = ax_n + r * ah_n
    da_x = np.concatenate([dr, dz, dn], axis=1)        # x's side: [r, z, n] pre-activations
    da_h = np.concatenate([dr, dz, dn * r], axis=1)    # h's side: ah_n enters times r
    dx, dh, *d_weights = affine_backward(da_x, da_h, x, h, weight_ih, weight_hh, has_bias)
    return dx, dh + dh_new * z, *d_weights             # plus h's direct path z * h


# ---- a whole sequence of one layer in one direction ----
def time_steps(L, reverse):
    """The time steps in the order they run."""
    return range(L - 1, -1, -1) if reverse else range(L)


def sum_grads(totals, grads):
    """Element-wise sums of two lists of gradients (None stays None)."""
    if totals is None:
        return list(grads)
    return [None if a is None else a + b for a, b in zip(totals, grads)]


def split_dout(dout):
    """(d_output, d_final) from a backward's first argument (an array or a tuple)."""
    return dout if isinstance(dout, tuple) else (dout, None)


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh",
                reverse=False):
    """x [L, N, I], h0 [N, H] -> (output [L, N, H], h_n [N, H]) for one layer and direction."""
    h, outputs, caches = h0, [None] * len(x), []
    for t in time_steps(len(x), reverse):
        h, cache = rnn_cell_forward(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)
        outputs[t] = h
        caches.append(cache)
    return (np.stack(outputs), h), (caches, reverse)


def rnn_backward(dout, cache):
    """dout = d_output [L, N, H] or (d_output, d_h_n), either may be None
    -> dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    caches, reverse = cache
    d_output, dh = split_dout(dout)
    dh = np.zeros_like(caches[0][1]) if dh is None else dh           # [N, H]
    dx, totals = [None] * len(caches), None
    for t, step in zip(reversed(time_steps(len(caches), reverse)), reversed(caches)):
        dh = dh if d_output is None else dh + d_output[t]              # output t is h_t
        dx[t], dh, *d_weights = rnn_cell_backward(dh, step)
        totals = sum_grads(totals, d_weights)
    return np.stack(dx), dh, *totals


def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """x [L, N, I], h0, c0 [N, H] -> (output [L, N, H], (h_n, c_n)) for one layer and direction."""
    h, c, outputs, caches = h0, c0, [None] * len(x), []
    for t in time_steps(len(x), reverse):
        (h, c), cache = lstm_cell_forward(x[t], h, c, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs[t] = h
        caches.append(cache)
    return (np.stack(outputs), (h, c)), (caches, reverse)


def lstm_backward(dout, cache):
    """dout = (d_output, (d_h_n, d_c_n)), any may be None (or just d_output)
    -> dx, dh0, dc0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    caches, reverse = cache
    d_output, d_final = split_dout(dout)
    dh, dc = (None, None) if d_final is None else d_final
    zeros = np.zeros_like(caches[0][1])                                # [N, H]
    dh, dc = (zeros if dh is None else dh), (zeros if dc is None else dc)
    dx, totals = [None] * len(caches), None
    for t, step in zip(reversed(time_steps(len(caches), reverse)), reversed(caches)):
        dh = dh if d_output is None else dh + d_output[t]
        dx[t], dh, dc, *d_weights = lstm_cell_backward((dh, dc), step)
        totals = sum_grads(totals, d_weights)
    return np.stack(dx), dh, dc, *totals


def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """x [L, N, I], h0 [N, H] -> (output [L, N, H], h_n [N, H]) for one layer and direction."""
    h, outputs, caches = h0, [None] * len(x), []
    for t in time_steps(len(x), reverse):
        h, cache = gru_cell_forward(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs[t] = h
        caches.append(cache)
    return (np.stack(outputs), h), (caches, reverse)


def gru_backward(dout, cache):
    """dout = d_output [L, N, H] or (d_output, d_h_n), either may be None
    -> dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    caches, reverse = cache
    d_output, dh = split_dout(dout)
    dh = np.zeros_like(caches[0][1]) if dh is None else dh             # [N, H]
    dx, totals = [None] * len(caches), None
    for t, step in zip(reversed(time_steps(len(caches), reverse)), reversed(caches)):
        dh = dh if d_output is None else dh + d_output[t]
        dx[t], dh, *d_weights = gru_cell_backward(dh, step)
        totals = sum_grads(totals, d_weights)
    return np.stack(dx), dh, *totals
