"""Recurrent layers with PyTorch's names: RNN, LSTM, GRU (stacked, bidirectional) and their cells.

Inputs are [L, N, H_in] (or [N, L, H_in] with batch_first) or unbatched [L, H_in]; states are
[num_layers * num_directions, N, H] (unbatched: without N). Internally everything runs
time-major; the math of one layer and direction is in `functional/recurrent.py`.
"""
import math
import numbers
import warnings

import numpy as np

from ..random import default_generator
from ..kernels import ops
from . import init
from ._checks import check_dim, check_float, check_ndim, check_sizes
from .module import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _check_state(module, state, expected, name, dtype):
    """A floating array of the parameters' dtype and of shape `expected`."""
    check_float(module, state, name=name, dtype=dtype)
    if tuple(state.shape) != tuple(expected):
        raise ValueError(f"{module._describe()} expects {name} of shape {tuple(expected)}, "
                         f"got shape {tuple(state.shape)}")


def _check_grad(module, grad, expected, name):
    """The gradient of an extra output (h_n, c_n, c') has that output's shape and dtype."""
    shape, dtype = expected
    if tuple(getattr(grad, "shape", ())) != tuple(shape):
        raise ValueError(f"{module._describe()}.backward got {name} of shape "
                         f"{tuple(getattr(grad, 'shape', ()))}, but the forward output had shape "
                         f"{tuple(shape)}")
    if getattr(grad, "dtype", None) != dtype:
        raise TypeError(f"{module._describe()}.backward got {name} of dtype "
                        f"{getattr(grad, 'dtype', type(grad).__name__)}, but the forward output "
                        f"was {dtype}")


class RNNBase(Module):
    """Stacked recurrent layers; a subclass says how many gate blocks a layer has and runs one
    layer and direction (`_layer_forward` / `_layer_backward`) with its state (h,) or (h, c)."""

    _gates = 1          # rows of weight_ih / weight_hh per hidden unit
    _state_names = ("h0",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning)
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size,
                    num_layers=num_layers)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        rows = self._gates * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {f"weight_ih_l{layer}{suffix}": (rows, layer_input),
                          f"weight_hh_l{layer}{suffix}": (rows, hidden_size)}
                if bias:
                    shapes[f"bias_ih_l{layer}{suffix}"] = (rows,)
                    shapes[f"bias_hh_l{layer}{suffix}"] = (rows,)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(init.empty(shape, dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do here (PyTorch packs weights for cuDNN); kept so ported code runs."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, layer: int, direction: int):
        """(weight_ih, weight_hh, bias_ih, bias_hh) Parameters of one layer and direction."""
        suffix = "_reverse" if direction else ""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else ("weight_ih", "weight_hh")
        params = [getattr(self, f"{name}_l{layer}{suffix}") for name in names]
        return tuple(params) + (None,) * (4 - len(params))

    # ---- input checks and layout ----
    def _check_input(self, x):
        """The input as time-major [L, N, H_in], and whether it was batched."""
        check_float(self, x, dtype=self.weight_ih_l0.dtype)
        check_ndim(self, x, (2, 3), what="([L, N, H_in], [N, L, H_in] with batch_first, or [L, H_in])")
        check_dim(self, x, -1, self.input_size, what="last dimension (input_size)")
        return self._time_major(x, x.ndim == 3), x.ndim == 3

    def _time_major(self, a, batched):
        """[L, N, F], [N, L, F] (batch_first) or unbatched [L, F] -> a view [L, N, F]."""
        if not batched:
            return a[:, None, :]
        return a.transpose(1, 0, 2) if self.batch_first else a

    def _user_layout(self, a, batched):
        """The inverse of `_time_major` (a view)."""
        if not batched:
            return a[:, 0]
        return a.transpose(1, 0, 2) if self.batch_first else a

    def _state_shape(self, batch: int, batched: bool):
        layers = self.num_layers * self.num_directions
        return (layers, batch, self.hidden_size) if batched else (layers, self.hidden_size)

    def _initial_states(self, hx, x, batched):
        """The initial states as a tuple of [layers * directions, N, H] arrays."""
        shape = self._state_shape(x.shape[1], batched)
        if hx is None:
            zeros = np.zeros_like(x, shape=self._state_shape(x.shape[1], True))
            return tuple(zeros if k == 0 else zeros.copy() for k in range(len(self._state_names)))
        states = self._unpack_hx(hx)
        for state, name in zip(states, self._state_names):
            _check_state(self, state, shape, name, self.weight_ih_l0.dtype)
        return tuple(s if batched else s[:, None, :] for s in states)

    def _unpack_hx(self, hx):
        return (hx,)

    # ---- forward ----
    def forward(self, input, hx=None):
        x, batched = self._check_input(input)
        states = self._initial_states(hx, x, batched)
        caches, masks, finals = [], [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                weights = tuple(None if p is None else p.data for p in self._weights(layer, direction))
                output, final, cache = self._layer_forward(
                    layer_input, tuple(s[k] for s in states), weights, reverse=direction == 1)
                outputs.append(output)
                finals.append(final)
                caches.append(cache)
            layer_output = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)
            mask = None
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_output, mask = ops.dropout_forward(layer_output, self.dropout, True,
                                                       default_generator())
            masks.append(mask)
            layer_input = layer_output
        # a fresh C-contiguous array, never a view of the cached states
        output = self._user_layout(layer_input, batched).copy()
        final_states = tuple(np.stack([f[j] for f in finals]) for j in range(len(self._state_names)))
        if not batched:
            final_states = tuple(s[:, 0] for s in final_states)
        self._push((caches, masks, batched, hx is not None,
                    tuple((s.shape, s.dtype) for s in final_states)), output)
        return output, self._pack_states(final_states)

    def _pack_states(self, states):
        return states[0]

    # ---- backward ----
    def _backward(self, grad_output, grad_finals, names):
        """Backpropagate the latest forward; grad_finals holds one gradient (or None) per state."""
        caches, masks, batched, has_hx, final_signatures = self._pop(grad_output)
        for grad, signature, name in zip(grad_finals, final_signatures, names):
            if grad is not None:
                _check_grad(self, grad, signature, name)
        grad_finals = tuple(g if g is None or batched else g[:, None, :] for g in grad_finals)
        d_out = None if grad_output is None else self._time_major(grad_output, batched)
        H, D = self.hidden_size, self.num_directions
        d_states = None
        for layer in reversed(range(self.num_layers)):
            if masks[layer] is not None and d_out is not None:
                d_out = ops.dropout_backward(d_out, masks[layer])
            dx = None
            for direction in range(D):
                k = layer * D + direction
                d_dir = d_out if d_out is None or D == 1 else d_out[..., direction * H:(direction + 1) * H]
                d_final = tuple(None if g is None else g[k] for g in grad_finals)
                d_in, d_state, d_weights = self._layer_backward(d_dir, d_final, caches[k])
                for param, grad in zip(self._weights(layer, direction), d_weights):
                    self._accumulate(param, grad)
                dx = d_in if dx is None else dx + d_in          # both directions read x
                if has_hx:
                    if d_states is None:
                        d_states = tuple(np.empty_like(s, shape=(D * self.num_layers, *s.shape))
                                         for s in d_state)
                    for j, s in enumerate(d_state):
                        d_states[j][k] = s
            d_out = dx
        dx = self._user_layout(d_out, batched)
        if not has_hx:
            return dx
        if not batched:
            d_states = tuple(s[:, 0] for s in d_states)
        return dx, self._pack_states(d_states)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    forward(input, h0=None) -> (output, h_n); backward(grad_output, grad_h_n=None) -> d_input,
    or (d_input, d_h0) when h0 was given."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _layer_forward(self, x, state, weights, reverse):
        (output, h_n), cache = ops.rnn_forward(x, state[0], *weights, nonlinearity=self.nonlinearity,
                                             reverse=reverse)
        return output, (h_n,), cache

    def _layer_backward(self, d_output, d_final, cache):
        dx, dh0, *d_weights = ops.rnn_backward((d_output, d_final[0]), cache)
        return dx, (dh0,), d_weights

    def backward(self, grad_output, grad_h_n=None):
        return self._backward(grad_output, (grad_h_n,), ("grad_h_n",))

    def extra_repr(self):
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory, gates [i, f, g, o] stacked in the weights as in PyTorch.

    forward(input, (h0, c0)=None) -> (output, (h_n, c_n)); backward(grad_output,
    grad_state=None) with grad_state = (grad_h_n, grad_c_n) (either may be None) -> d_input, or
    (d_input, (d_h0, d_c0)) when the initial state was given."""

    _gates = 4
    _state_names = ("h0", "c0")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype=None):
        if proj_size != 0:
            raise NotImplementedError("LSTM(proj_size > 0) is not implemented")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)

    def _unpack_hx(self, hx):
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{self._describe()} expects the initial state as a tuple (h0, c0), "
                            f"got {type(hx).__name__}")
        return tuple(hx)

    def _pack_states(self, states):
        return tuple(states)

    def _layer_forward(self, x, state, weights, reverse):
        (output, (h_n, c_n)), cache = ops.lstm_forward(x, state[0], state[1], *weights, reverse=reverse)
        return output, (h_n, c_n), cache

    def _layer_backward(self, d_output, d_final, cache):
        dx, dh0, dc0, *d_weights = ops.lstm_backward((d_output, d_final), cache)
        return dx, (dh0, dc0), d_weights

    def backward(self, grad_output, grad_state=None):
        grad_state = (None, None) if grad_state is None else tuple(grad_state)
        return self._backward(grad_output, grad_state, ("grad_h_n", "grad_c_n"))


class GRU(RNNBase):
    """Gated recurrent unit, gates [r, z, n] stacked in the weights as in PyTorch;
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)).

    forward(input, h0=None) -> (output, h_n); backward(grad_output, grad_h_n=None) -> d_input,
    or (d_input, d_h0) when h0 was given."""

    _gates = 3

    def _layer_forward(self, x, state, weights, reverse):
        (output, h_n), cache = ops.gru_forward(x, state[0], *weights, reverse=reverse)
        return output, (h_n,), cache

    def _layer_backward(self, d_output, d_final, cache):
        dx, dh0, *d_weights = ops.gru_backward((d_output, d_final[0]), cache)
        return dx, (dh0,), d_weights

    def backward(self, grad_output, grad_h_n=None):
        return self._backward(grad_output, (grad_h_n,), ("grad_h_n",))


# ---------------------------------------------------------------------------------------------
# Cells: one time step
# ---------------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """One time step: weight_ih [G*H, H_in], weight_hh [G*H, H], bias_ih, bias_hh [G*H]."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self._gates * hidden_size
        self.weight_ih = Parameter(init.empty((rows, input_size), dtype))
        self.weight_hh = Parameter(init.empty((rows, hidden_size), dtype))
        self.register_parameter("bias_ih", Parameter(init.empty(rows, dtype)) if bias else None)
        self.register_parameter("bias_hh", Parameter(init.empty(rows, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _params(self):
        return tuple(None if p is None else p.data
                     for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh))

    def _check_input(self, x):
        """The input as [N, H_in], and whether it was batched."""
        check_float(self, x, dtype=self.weight_ih.dtype)
        check_ndim(self, x, (1, 2), what="([N, H_in] or [H_in])")
        check_dim(self, x, -1, self.input_size, what="last dimension (input_size)")
        return (x if x.ndim == 2 else x[None]), x.ndim == 2

    def _state(self, state, x, batched, name):
        """A state given as [N, H] (or [H]), or zeros; returned as [N, H]."""
        if state is None:
            return np.zeros_like(x, shape=(x.shape[0], self.hidden_size))
        shape = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        _check_state(self, state, shape, name, self.weight_ih.dtype)
        return state if batched else state[None]

    def _accumulate_all(self, d_weights):
        for param, grad in zip((self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh), d_weights):
            self._accumulate(param, grad)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class _HiddenCell(RNNCellBase):
    """A cell whose state is h alone (RNNCell, GRUCell): forward(input, hx=None) -> h',
    backward(grad_h) -> d_input, or (d_input, d_hx) when hx was given."""

    def _step_forward(self, x, h):
        raise NotImplementedError

    def _step_backward(self, dh, cache):
        raise NotImplementedError

    def forward(self, input, hx=None):
        x, batched = self._check_input(input)
        h = self._state(hx, x, batched, "hx")
        h_new, cache = self._step_forward(x, h)
        out = h_new if batched else h_new[0]
        self._push((cache, batched, hx is not None), out)
        return out

    def backward(self, grad_h):
        cache, batched, has_hx = self._pop(grad_h, name="grad_h")
        dx, dh, *d_weights = self._step_backward(grad_h if batched else grad_h[None], cache)
        self._accumulate_all(d_weights)
        if not batched:
            dx, dh = dx[0], dh[0]
        return (dx, dh) if has_hx else dx


class RNNCell(_HiddenCell):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def _step_forward(self, x, h):
        return ops.rnn_cell_forward(x, h, *self._params(), nonlinearity=self.nonlinearity)

    def _step_backward(self, dh, cache):
        return ops.rnn_cell_backward(dh, cache)


class GRUCell(_HiddenCell):
    """One GRU step, gates [r, z, n] stacked in the weights as in PyTorch."""

    _gates = 3

    def _step_forward(self, x, h):
        return ops.gru_cell_forward(x, h, *self._params())

    def _step_backward(self, dh, cache):
        return ops.gru_cell_backward(dh, cache)


class LSTMCell(RNNCellBase):
    """One LSTM step: forward(input, (h, c)=None) -> (h', c'); backward(grad_h, grad_c=None)
    -> d_input, or (d_input, (d_h, d_c)) when the state was given."""

    _gates = 4

    def forward(self, input, hx=None):
        x, batched = self._check_input(input)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._describe()} expects the state as a tuple (h, c), "
                            f"got {type(hx).__name__}")
        h = self._state(None if hx is None else hx[0], x, batched, "h")
        c = self._state(None if hx is None else hx[1], x, batched, "c")
        (h_new, c_new), cache = ops.lstm_cell_forward(x, h, c, *self._params())
        if not batched:
            h_new, c_new = h_new[0], c_new[0]
        self._push((cache, batched, hx is not None, (c_new.shape, c_new.dtype)), h_new)
        return h_new, c_new

    def backward(self, grad_h, grad_c=None):
        cache, batched, has_hx, c_signature = self._pop(grad_h, name="grad_h")
        if grad_c is not None:
            _check_grad(self, grad_c, c_signature, "grad_c")
        if not batched:
            grad_h = None if grad_h is None else grad_h[None]
            grad_c = None if grad_c is None else grad_c[None]
        dx, dh, dc, *d_weights = ops.lstm_cell_backward((grad_h, grad_c), cache)
        self._accumulate_all(d_weights)
        if not batched:
            dx, dh, dc = dx[0], dh[0], dc[0]
        return (dx, (dh, dc)) if has_hx else dx
