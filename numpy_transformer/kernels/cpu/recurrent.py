"""The reference's RNN, LSTM and GRU (nn/functional/recurrent.py) with fewer passes and calls.

A sequence [L, N, I] projects the inputs of all time steps with ONE GEMM before the time loop;
the loop does only the hidden-to-hidden GEMM and the gate math, in place in buffers allocated
once per sequence. Backward keeps each step's pre-activation gradients and turns them into
dW_ih and dW_hh chunk by chunk behind the loop, and into dx with one GEMM after it. The
projection and the weight gradients run on a second thread while the loop goes on
(time_chunks.py). `reverse=True` runs from t = L-1 down to 0 (the backward direction of a
bidirectional layer); outputs stay in time order.
"""
import numpy as np

from .time_chunks import (InputProjection, WeightGrads, bias_grads, one_blas_thread_each,
                          time_chunks)

__all__ = [
    "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward", "rnn_forward", "rnn_backward",
    "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
]


# ---------------------------------------------------------------------------------------------
# Gate math shared by the cells and the sequences (in place, on [N, ...] views)
# ---------------------------------------------------------------------------------------------

# NumPy's float32 exp costs about 60% of its tanh (32x1024: 49 vs 96 us on the development
# machine, both far slower than a multiply), so the gates are written with exp:
# sigmoid(a) = 1 / (1 + exp(-a)) and tanh(a) = 2 sigmoid(2a) - 1. exp(-a) overflows to inf for a
# below about -88 (float32), which gives 0, as it should: the overflow is not an error.
def _sigmoid_(a):
    """a <- sigmoid(a) in place, as 1 / (1 + exp(-a))."""
    np.negative(a, out=a)
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1.0
    return np.divide(1.0, a, out=a)


def _rnn_activation_(a, nonlinearity):
    """a <- tanh(a) or relu(a) in place."""
    if nonlinearity == "tanh":
        return np.tanh(a, out=a)
    return np.maximum(a, 0, out=a)


def _rnn_activation_backward(dh, h, nonlinearity, out):
    """out <- dh * act'(a), written with the output h: tanh' = 1 - h^2, relu' = [h > 0]."""
    if nonlinearity == "tanh":
        np.multiply(h, h, out=out)
        np.subtract(1.0, out, out=out)
        out *= dh
    else:
        np.multiply(dh, h > 0, out=out)
    return out


def _lstm_gate_constants(like):
    """k [4H]: -1 on i, f, o and -2 on g, so that 1 / (1 + exp(k a)) is sigmoid(a) on i, f, o
    and sigmoid(2a) = (tanh(a) + 1) / 2 on g."""
    H = like.shape[-1] // 4
    k = np.full_like(like, -1.0, shape=(4 * H,))
    k[2 * H:3 * H] = -2.0
    return k


def _lstm_gates_forward(gates, c_prev, c, tanh_c, h, k, scratch):
    """gates [N, 4H] pre-activations -> [i, f, g, o] in place; writes c', tanh(c') and h'.

    All four activations in one pass of exp (see `_sigmoid_`), with per-column constants k; then
    g = 2 sigmoid(2a) - 1 = tanh(a)."""
    H = c.shape[-1]
    gates *= k
    with np.errstate(over="ignore"):
        np.exp(gates, out=gates)
    gates += 1.0
    np.divide(1.0, gates, out=gates)
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    g *= 2.0
    g -= 1.0
    np.multiply(f, c_prev, out=c)          # c' = f * c
    np.multiply(i, g, out=scratch)
    c += scratch                           #    + i * g
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)          # h' = o * tanh(c')


def _lstm_gates_backward(dh, dc, gates, c_prev, tanh_c, dgates, scratch, deriv):
    """dh, dc: gradients of h' and c'. Fills dgates [N, 4H] (gradient of the pre-activations)
    and turns dc into the gradient of c_prev, in place."""
    H = dc.shape[-1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    di, df, dg, do = dgates[:, :H], dgates[:, H:2 * H], dgates[:, 2 * H:3 * H], dgates[:, 3 * H:]
    # dc' += dh' * o * (1 - tanh(c')^2)          (h' = o * tanh(c'))
    np.multiply(tanh_c, tanh_c, out=scratch)
    np.subtract(1.0, scratch, out=scratch)
    scratch *= o
    scratch *= dh
    dc += scratch
    # gradients of the activated gates
    np.multiply(dc, g, out=di)             # d i = dc' * g
    np.multiply(dc, c_prev, out=df)        # d f = dc' * c
    np.multiply(dc, i, out=dg)             # d g = dc' * i
    np.multiply(dh, tanh_c, out=do)        # d o = dh' * tanh(c')
    # through the activations: sigmoid' = s (1 - s), tanh' = 1 - g^2
    np.subtract(1.0, gates, out=deriv)
    deriv *= gates
    dg_deriv = deriv[:, 2 * H:3 * H]
    np.multiply(g, g, out=dg_deriv)
    np.subtract(1.0, dg_deriv, out=dg_deriv)
    dgates *= deriv
    dc *= f                                # dc = dc' * f: the gradient of c_prev


def _gru_gates_forward(gates, hg, h_prev, h, scratch):
    """gates [N, 3H] input pre-activations x W_ih^T + b_ih, hg [N, 3H] = h W_hh^T + b_hh.

    gates becomes [r, z, n] in place (hg is kept: its n part is needed by backward); writes h'."""
    H = h.shape[-1]
    rz = gates[:, :2 * H]
    rz += hg[:, :2 * H]
    _sigmoid_(rz)
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    np.multiply(r, hg[:, 2 * H:], out=scratch)
    n += scratch                           # n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
    np.tanh(n, out=n)
    np.subtract(h_prev, n, out=h)
    h *= z
    h += n                                 # h' = n + z * (h - n) = (1 - z) n + z h


def _gru_gates_backward(dh, gates, hg, h_prev, dgates_x, dgates_h, scratch):
    """dh: gradient of h'. Fills dgates_x (input-side pre-activations [r, z, n]) and dgates_h
    (hidden side: [r, z, h W_hn^T + b_hn]), and returns dh * z, the direct part of d h_prev."""
    H = dh.shape[-1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dr, dz, dn = dgates_x[:, :H], dgates_x[:, H:2 * H], dgates_x[:, 2 * H:]
    # d n_pre = dh * (1 - z) * (1 - n^2)
    np.multiply(n, n, out=dn)
    np.subtract(1.0, dn, out=dn)
    np.subtract(1.0, z, out=scratch)
    scratch *= dh
    dn *= scratch
    # d (h W_hn^T + b_hn) = d n_pre * r
    np.multiply(dn, r, out=dgates_h[:, 2 * H:])
    # d r_pre = d n_pre * (h W_hn^T + b_hn) * r (1 - r)
    np.multiply(dn, hg[:, 2 * H:], out=dr)
    np.subtract(1.0, r, out=scratch)
    scratch *= r
    dr *= scratch
    # d z_pre = dh * (h - n) * z (1 - z)
    np.subtract(h_prev, n, out=dz)
    dz *= dh
    np.subtract(1.0, z, out=scratch)
    scratch *= z
    dz *= scratch
    dgates_h[:, :2 * H] = dgates_x[:, :2 * H]   # r and z enter both sides the same way
    return np.multiply(dh, z, out=scratch)


def _bias_sum(b_ih, b_hh):
    """b_ih + b_hh, or None without bias."""
    return None if b_ih is None else b_ih + b_hh


# ---------------------------------------------------------------------------------------------
# One time step (the cells)
# ---------------------------------------------------------------------------------------------

def _cell_preactivation(x, h, weight_ih, weight_hh, bias):
    """x W_ih^T + h W_hh^T (+ bias): [N, G*H]."""
    a = x @ weight_ih.T
    a += h @ weight_hh.T
    if bias is not None:
        a += bias
    return a


def _cell_weight_grads(dgates_x, dgates_h, x, h, weight_ih, weight_hh, has_bias):
    """dx, dh (through W_hh only), dW_ih, dW_hh, db_ih, db_hh from the pre-activation gradients."""
    dx = dgates_x @ weight_ih
    dh = dgates_h @ weight_hh
    db_ih = dgates_x.sum(axis=0) if has_bias else None
    db_hh = dgates_h.sum(axis=0) if has_bias else None
    return dx, dh, dgates_x.T @ x, dgates_h.T @ h, db_ih, db_hh


def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """x [N, I], h [N, H] -> h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) [N, H]."""
    a = _cell_preactivation(x, h, weight_ih, weight_hh, _bias_sum(bias_ih, bias_hh))
    h_new = _rnn_activation_(a, nonlinearity)
    return h_new, (x, h, weight_ih, weight_hh, bias_ih is not None, nonlinearity, h_new)


def rnn_cell_backward(dh_new, cache):
    """-> dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh (biases None without bias)."""
    x, h, weight_ih, weight_hh, has_bias, nonlinearity, h_new = cache
    da = _rnn_activation_backward(dh_new, h_new, nonlinearity, np.empty_like(h_new))
    return _cell_weight_grads(da, da, x, h, weight_ih, weight_hh, has_bias)


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """x [N, I], h [N, H], c [N, H] -> (h', c'), each [N, H]."""
    gates = _cell_preactivation(x, h, weight_ih, weight_hh, _bias_sum(bias_ih, bias_hh))
    h_new, c_new, tanh_c = np.empty_like(c), np.empty_like(c), np.empty_like(c)
    _lstm_gates_forward(gates, c, c_new, tanh_c, h_new, _lstm_gate_constants(gates), np.empty_like(c))
    return (h_new, c_new), (x, h, c, weight_ih, weight_hh, bias_ih is not None, gates, tanh_c)


def lstm_cell_backward(dout, cache):
    """dout = (dh', dc') (either may be None) -> dx, dh, dc, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    x, h, c, weight_ih, weight_hh, has_bias, gates, tanh_c = cache
    dh_new, dc_new = dout
    dh_new = np.zeros_like(c) if dh_new is None else dh_new
    dc = np.zeros_like(c) if dc_new is None else dc_new.copy()
    dgates = np.empty_like(gates)
    _lstm_gates_backward(dh_new, dc, gates, c, tanh_c, dgates, np.empty_like(c), np.empty_like(gates))
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = _cell_weight_grads(dgates, dgates, x, h, weight_ih, weight_hh,
                                                            has_bias)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


def gru_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """x [N, I], h [N, H] -> h' [N, H]."""
    gates = x @ weight_ih.T                # [N, 3H]
    hg = h @ weight_hh.T                   # [N, 3H]
    if bias_ih is not None:
        gates += bias_ih
        hg += bias_hh
    h_new = np.empty_like(h)
    _gru_gates_forward(gates, hg, h, h_new, np.empty_like(h))
    return h_new, (x, h, weight_ih, weight_hh, bias_ih is not None, gates, hg)


def gru_cell_backward(dh_new, cache):
    """-> dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    x, h, weight_ih, weight_hh, has_bias, gates, hg = cache
    dgates_x, dgates_h = np.empty_like(gates), np.empty_like(hg)
    dh_direct = _gru_gates_backward(dh_new, gates, hg, h, dgates_x, dgates_h, np.empty_like(h))
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = _cell_weight_grads(dgates_x, dgates_h, x, h, weight_ih,
                                                            weight_hh, has_bias)
    dh += dh_direct
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------------------------------------
# A whole sequence of one layer in one direction
# ---------------------------------------------------------------------------------------------

def _time_order(L, reverse):
    """(the steps in the order they run, slot offset). States live in a buffer [L+1, N, H]:
    h_t in slot t + offset, the state before step t in slot t + 1 - offset (h0 at 0 or L)."""
    return (range(L - 1, -1, -1), 0) if reverse else (range(L), 1)


def _step_weight(weight_hh):
    """W_hh^T [H, G*H] in C order for the time loop's h_{t-1} W_hh^T: a [32, 256] x [256, 1024]
    step takes 0.25 ms on one OpenBLAS thread this way against 0.31 through the transposed view."""
    return np.ascontiguousarray(weight_hh.T)


def _state_buffer(h0, L):
    """An empty [L+1, N, H] buffer for the states of a sequence: h0 and the L outputs."""
    return np.empty_like(h0, shape=(L + 1, *h0.shape))


def _input_grad(dgates_x, weight_ih, shape):
    """dx [L, N, I] from the input-side pre-activation gradients [L, N, G*H]."""
    return (dgates_x.reshape(-1, dgates_x.shape[-1]) @ weight_ih).reshape(shape)


def _back_through_time(steps, o, step, dgates_x, dgates_h, x2, hs, weight_ih, shape):
    """step(t) for every time step from the last, the weight gradients of each chunk of steps
    started behind the loop: -> dx, dweight_ih, dweight_hh."""
    chunks = time_chunks(reversed(steps))
    weight_grads = WeightGrads(dgates_x, dgates_h, x2, hs, 1 - o, chunks)
    with one_blas_thread_each(weight_grads.overlaps):
        for chunk in chunks:
            for t in chunk:
                step(t)
            weight_grads.done(chunk)
        dx = _input_grad(dgates_x, weight_ih, shape)
        dw_ih, dw_hh = weight_grads.sums()
    return dx, dw_ih, dw_hh


def _split_dout(dout):
    """(d_output, d_final) from a backward's first argument (an array or a tuple)."""
    if isinstance(dout, tuple):
        return dout
    return dout, None


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh",
                reverse=False):
    """x [L, N, I], h0 [N, H] -> (output [L, N, H], h_n [N, H]) for one layer and direction."""
    L = x.shape[0]
    steps, o = _time_order(L, reverse)
    projection = InputProjection(x, weight_ih, steps)
    a = projection.gates                   # [L, N, H] input part of the pre-activations
    bias = _bias_sum(bias_ih, bias_hh)
    hs = _state_buffer(h0, L)
    hs[L * (1 - o)] = h0
    weight_hh_t = _step_weight(weight_hh)
    with one_blas_thread_each(projection.overlaps):
        for chunk in projection:
            for t in chunk:
                h = hs[t + o]
                np.matmul(hs[t + 1 - o], weight_hh_t, out=h)      # h_{t-1} W_hh^T
                h += a[t]
                if bias is not None:
                    h += bias
                _rnn_activation_(h, nonlinearity)
    output = hs[o:o + L]
    cache = (projection.x2, x.shape, weight_ih, weight_hh, bias is not None, nonlinearity, hs,
             reverse)
    return (output, hs[L * o]), cache


def rnn_backward(dout, cache):
    """dout = d_output [L, N, H] or (d_output, d_h_n), either may be None
    -> dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    x2, shape, weight_ih, weight_hh, has_bias, nonlinearity, hs, reverse = cache
    d_output, d_hn = _split_dout(dout)
    L = shape[0]
    steps, o = _time_order(L, reverse)
    da = np.empty_like(hs[:L])             # gradient of the pre-activations [L, N, H]
    dh = np.zeros_like(hs[0]) if d_hn is None else d_hn.copy()

    def step(t):                           # (in place: dh is the loop's one buffer)
        if d_output is not None:
            np.add(dh, d_output[t], out=dh)
        _rnn_activation_backward(dh, hs[t + o], nonlinearity, da[t])
        np.matmul(da[t], weight_hh, out=dh)                       # d h_{t-1}
    dx, dw_ih, dw_hh = _back_through_time(steps, o, step, da, da, x2, hs, weight_ih, shape)
    db_ih, db_hh = bias_grads(da) if has_bias else (None, None)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """x [L, N, I], h0, c0 [N, H] -> (output [L, N, H], (h_n, c_n)) for one layer and direction."""
    return lstm_sequence_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, reverse,
                                 _gate_steps_forward)


def lstm_backward(dout, cache):
    """dout = (d_output, (d_h_n, d_c_n)), any may be None (or just d_output)
    -> dx, dh0, dc0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    return lstm_sequence_backward(dout, cache, _gate_steps_backward)


def _gate_steps_forward(gates):
    """The forward time step's gate math for a sequence of pre-activations `gates` [L, N, 4H]:
    step(gt, hh, bias, c_prev, c, tanh_c, h) adds h W_hh^T and the bias into gt, activates it
    in place and writes c', tanh(c') and h'."""
    k, scratch = _lstm_gate_constants(gates[0]), np.empty_like(gates[0, :, :gates.shape[-1] // 4])

    def step(gt, hh, bias, c_prev, c, tanh_c, h):
        gt += hh
        if bias is not None:
            gt += bias
        _lstm_gates_forward(gt, c_prev, c, tanh_c, h, k, scratch)
    return step


def _gate_steps_backward(gates):
    """The backward time step's gate math: step(dh, d_output_t, dc, gates_t, c_prev, tanh_c,
    dgates_t) fills dgates_t and turns dc into the gradient of c_prev (dh is then free)."""
    scratch, deriv = np.empty_like(gates[0, :, :gates.shape[-1] // 4]), np.empty_like(gates[0])

    def step(dh, d_output_t, dc, gates_t, c_prev, tanh_c, dgates_t):
        if d_output_t is not None:
            dh += d_output_t
        _lstm_gates_backward(dh, dc, gates_t, c_prev, tanh_c, dgates_t, scratch, deriv)
    return step


def lstm_sequence_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, reverse, gate_steps):
    """`lstm_forward` with the gate math of `gate_steps(gates)` (NumPy's here, a compiled one in
    kernels/compiled): the time loop does one product and one gate step."""
    L = x.shape[0]
    steps, o = _time_order(L, reverse)
    projection = InputProjection(x, weight_ih, steps)
    gates = projection.gates                    # [L, N, 4H], activated in place by the loop
    bias = _bias_sum(bias_ih, bias_hh)
    hs, cs = _state_buffer(h0, L), _state_buffer(c0, L)
    tanh_cs = np.empty_like(hs[:L])
    hs[L * (1 - o)], cs[L * (1 - o)] = h0, c0
    hh, step = np.empty_like(gates[0]), gate_steps(gates)
    weight_hh_t = _step_weight(weight_hh)
    with one_blas_thread_each(projection.overlaps):
        for chunk in projection:
            for t in chunk:
                np.matmul(hs[t + 1 - o], weight_hh_t, out=hh)     # h_{t-1} W_hh^T, all four gates
                step(gates[t], hh, bias, cs[t + 1 - o], cs[t + o], tanh_cs[t], hs[t + o])
    output = hs[o:o + L]
    cache = (projection.x2, x.shape, weight_ih, weight_hh, bias is not None, gates, hs, cs,
             tanh_cs, reverse)
    return (output, (hs[L * o], cs[L * o])), cache


def lstm_sequence_backward(dout, cache, gate_steps):
    """`lstm_backward` with the gate math of `gate_steps(gates)`."""
    x2, shape, weight_ih, weight_hh, has_bias, gates, hs, cs, tanh_cs, reverse = cache
    d_output, d_final = _split_dout(dout)
    d_hn, d_cn = (None, None) if d_final is None else d_final
    L = shape[0]
    steps, o = _time_order(L, reverse)
    dgates = np.empty_like(gates)          # gradient of the pre-activations [L, N, 4H]
    dh = np.zeros_like(hs[0]) if d_hn is None else d_hn.copy()
    dc = np.zeros_like(cs[0]) if d_cn is None else d_cn.copy()
    gate_step = gate_steps(gates)

    def step(t):
        gate_step(dh, None if d_output is None else d_output[t], dc, gates[t], cs[t + 1 - o],
                  tanh_cs[t], dgates[t])
        np.matmul(dgates[t], weight_hh, out=dh)                   # d h_{t-1}
    dx, dw_ih, dw_hh = _back_through_time(steps, o, step, dgates, dgates, x2, hs, weight_ih,
                                          shape)
    db_ih, db_hh = bias_grads(dgates) if has_bias else (None, None)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """x [L, N, I], h0 [N, H] -> (output [L, N, H], h_n [N, H]) for one layer and direction."""
    L = x.shape[0]
    steps, o = _time_order(L, reverse)
    projection = InputProjection(x, weight_ih, steps)
    gates = projection.gates                     # [L, N, 3H] -> [r, z, n] in place by the loop
    hgs = np.empty_like(gates)                   # h_{t-1} W_hh^T + b_hh for every step
    hs = _state_buffer(h0, L)
    hs[L * (1 - o)] = h0
    scratch = np.empty_like(h0)
    weight_hh_t = _step_weight(weight_hh)
    with one_blas_thread_each(projection.overlaps):
        for chunk in projection:
            for t in chunk:
                np.matmul(hs[t + 1 - o], weight_hh_t, out=hgs[t])
                if bias_ih is not None:
                    gates[t] += bias_ih
                    hgs[t] += bias_hh
                _gru_gates_forward(gates[t], hgs[t], hs[t + 1 - o], hs[t + o], scratch)
    output = hs[o:o + L]
    cache = (projection.x2, x.shape, weight_ih, weight_hh, bias_ih is not None, gates, hgs, hs,
             reverse)
    return (output, hs[L * o]), cache


def gru_backward(dout, cache):
    """dout = d_output [L, N, H] or (d_output, d_h_n), either may be None
    -> dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    x2, shape, weight_ih, weight_hh, has_bias, gates, hgs, hs, reverse = cache
    d_output, d_hn = _split_dout(dout)
    L = shape[0]
    steps, o = _time_order(L, reverse)
    dgates_x, dgates_h = np.empty_like(gates), np.empty_like(hgs)
    dh = np.zeros_like(hs[0]) if d_hn is None else d_hn.copy()
    scratch = np.empty_like(dh)

    def step(t):                           # (in place: dh is the loop's one buffer)
        if d_output is not None:
            np.add(dh, d_output[t], out=dh)
        dh_direct = _gru_gates_backward(dh, gates[t], hgs[t], hs[t + 1 - o], dgates_x[t],
                                        dgates_h[t], scratch)
        np.matmul(dgates_h[t], weight_hh, out=dh)         # d h_{t-1} = dgates_h W_hh + dh * z
        np.add(dh, dh_direct, out=dh)
    dx, dw_ih, dw_hh = _back_through_time(steps, o, step, dgates_x, dgates_h, x2, hs, weight_ih,
                                          shape)
    db_ih, db_hh = bias_grads(dgates_x, dgates_h) if has_bias else (None, None)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh
