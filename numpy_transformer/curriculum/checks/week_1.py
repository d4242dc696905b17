"""Week 1: activations (ReLU, Sigmoid, Tanh, Softmax), losses (cross-entropy, binary
cross-entropy), Linear: each against PyTorch and finite differences."""
import numpy as np

from ..grading import Case, Mistake, ModuleCheck, PairCheck
from ._inputs import away_from_zero, labels, normal, uniform


def _torch():
    import torch
    return torch


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- activations ----
def _relu_cases():
    with_zeros = away_from_zero((3, 4), seed=3)
    with_zeros[0, :2] = 0.0
    with_zeros[2, 3] = 0.0
    return [Case("a batch of rows", (away_from_zero((3, 5), seed=1),)),
            Case("a 3-D input", (away_from_zero((2, 3, 4), seed=2),)),
            Case("float32 input", (away_from_zero((4, 6), seed=4),), dtype=np.float32),
            Case("entries exactly 0", (with_zeros,), fd=False)]


RELU = PairCheck(
    "relu", "relu_forward", "relu_backward", ("x",), ("dx",),
    lambda x: _torch().relu(x), _relu_cases,
    hints={"output": "y = max(x, 0) elementwise: np.maximum(x, 0)",
           "dx": "dx = dy where x > 0, else 0 (keep what you need in the cache)"},
    mistakes=[Mistake("dx", lambda x, dout: dout * (x >= 0),
                      "at x = 0 exactly the gradient is 0 (PyTorch's choice): use x > 0, not x >= 0")])


def _sigmoid_cases():
    big = np.array([[-40.0, -5.0, 0.0, 5.0, 40.0]])
    return [Case("a batch of rows", (normal((3, 5), seed=5),)),
            Case("a 3-D input", (normal((2, 2, 3), seed=6, scale=3),)),
            Case("float32 input", (normal((4, 3), seed=7),), dtype=np.float32),
            Case("large |x|", (big,))]


SIGMOID = PairCheck(
    "sigmoid", "sigmoid_forward", "sigmoid_backward", ("x",), ("dx",),
    lambda x: _torch().sigmoid(x), _sigmoid_cases,
    hints={"output": "y = 1 / (1 + exp(-x))",
           "dx": "dy/dx = y (1 - y): keep y in the cache, dx = dy * y * (1 - y)"})

TANH = PairCheck(
    "tanh", "tanh_forward", "tanh_backward", ("x",), ("dx",),
    lambda x: _torch().tanh(x),
    lambda: [Case("a batch of rows", (normal((3, 5), seed=8),)),
             Case("a 3-D input", (normal((2, 3, 2), seed=9, scale=2),)),
             Case("float32 input", (normal((4, 3), seed=10),), dtype=np.float32)],
    hints={"output": "np.tanh(x)", "dx": "d tanh(x)/dx = 1 - tanh(x)^2: dx = dy * (1 - y * y)"},
    mistakes=[Mistake("dx", lambda x, dout: dout * (1 - np.tanh(x)),
                      "the derivative is 1 - y^2 (y squared), not 1 - y")])


# ---- softmax ----
def _softmax_cases():
    return [Case("rows of a batch (axis=-1)", (normal((3, 5), seed=11),)),
            Case("columns (axis=0)", (normal((4, 3), seed=12),), {"axis": 0}),
            Case("a 3-D input, axis=1", (normal((2, 4, 3), seed=13),), {"axis": 1}),
            Case("large logits (exp overflows without the max trick)",
                 (np.array([[1000.0, 999.0, -1000.0], [-500.0, 0.0, 500.0]]),)),
            Case("float32 input", (normal((3, 4), seed=14),), dtype=np.float32)]


def _softmax_diagonal(x, dout, axis=-1):
    y = _softmax(x, axis)
    return dout * y * (1 - y)


def _softmax_wrong_axis(x, dout, axis=-1):
    y = _softmax(x, axis)
    return y * (dout - (dout * y).sum())


SOFTMAX = PairCheck(
    "softmax", "softmax_forward", "softmax_backward", ("x",), ("dx",),
    lambda x, axis=-1: _torch().softmax(x, dim=axis), _softmax_cases,
    hints={"output": "y = exp(x - max) / sum(exp(x - max)) along `axis` (keepdims=True so it "
                     "broadcasts); subtracting the max keeps exp from overflowing",
           "dx": "the Jacobian is diag(y) - y y^T: dx = y * (dy - sum(dy * y, axis, keepdims=True))"},
    mistakes=[Mistake("dx", _softmax_diagonal,
                      "you used only the diagonal of the Jacobian, dy * y * (1 - y). Every output of "
                      "a row depends on every input of that row: dy_j/dx_i = y_j (delta_ij - y_i), "
                      "so dx = y * (dy - sum(dy * y, axis, keepdims=True))"),
              Mistake("dx", _softmax_wrong_axis,
                      "sum(dy * y) must run along `axis` with keepdims=True, one sum per row, "
                      "not over the whole array")])


# ---- losses ----
def _ce_cases():
    return [Case("4 samples, 3 classes", (normal((4, 3), seed=15), labels(4, 3, seed=15))),
            Case("1 sample, 5 classes", (normal((1, 5), seed=16), np.array([2]))),
            Case("8 samples, 10 classes", (normal((8, 10), seed=17, scale=3), labels(8, 10, seed=17))),
            Case("large logits (log of softmax underflows to log 0)",
                 (np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]]), np.array([2, 1])),
                 fd=False)]


def _ce_no_mean(x, target, dout):
    p = _softmax(x, 1)
    p[np.arange(len(target)), target] -= 1
    return dout * p


def _ce_ignores_dout(x, target, dout):
    return _ce_no_mean(x, target, 1.0) / len(target)


CROSS_ENTROPY = PairCheck(
    "cross_entropy", "cross_entropy_forward", "cross_entropy_backward", ("logits", "target"),
    ("dlogits",),
    lambda x, t: _torch().nn.functional.cross_entropy(x, t), _ce_cases,
    hints={"output": "loss = mean over the N rows of -log softmax(logits)[i, target[i]]; compute "
                     "log softmax as (x - max) - log(sum(exp(x - max))) so nothing overflows",
           "dlogits": "dlogits = dloss * (softmax(logits) - onehot(target)) / N"},
    mistakes=[Mistake("dlogits", _ce_no_mean,
                      "the loss is a mean over the N samples, so its gradient has a 1/N: "
                      "dlogits = dloss * (softmax - onehot) / N"),
              Mistake("dlogits", _ce_ignores_dout,
                      "multiply by dloss, the gradient that arrives from above (it is not always 1)")])


def _bce_cases():
    p_edge = np.array([0.0, 1.0, 0.3, 1e-9])
    t_edge = np.array([0.0, 1.0, 1.0, 0.0])
    return [Case("8 probabilities, 0/1 targets", (uniform((8,), 0.05, 0.95, seed=18),
                                                   (uniform((8,), 0, 1, seed=19) > 0.5) * 1.0)),
            Case("a [3, 4] batch, soft targets", (uniform((3, 4), 0.1, 0.9, seed=20),
                                                  uniform((3, 4), 0, 1, seed=21))),
            Case("p exactly 0 and 1 where the target agrees (0 * log 0)", (p_edge, t_edge), fd=False)]


def _bce_ignores_dout(p, t, dout):
    return (p - t) / (p * (1 - p)) / p.size


BINARY_CROSS_ENTROPY = PairCheck(
    "binary_cross_entropy", "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    ("p", "target"), ("dp",),
    lambda p, t: _torch().nn.functional.binary_cross_entropy(p, t), _bce_cases,
    hints={"output": "loss = mean of -(t log p + (1 - t) log(1 - p)); clamp each log at -100 as "
                     "PyTorch does (np.maximum(np.log(p), -100)) so that 0 * log 0 gives 0, not NaN",
           "dp": "dp = dloss * (p - t) / (p (1 - p)) / (number of elements); guard the division "
                 "with np.maximum(p * (1 - p), 1e-12) as PyTorch does"},
    mistakes=[Mistake("dp", _bce_ignores_dout,
                      "multiply by dloss, the gradient that arrives from above (it is not always 1)")])


# ---- linear ----
def _linear_cases():
    return [Case("a batch [N, in]", (normal((4, 3), seed=22), normal((5, 3), seed=23),
                                     normal((5,), seed=24))),
            Case("a 3-D batch [B, T, in]", (normal((2, 3, 4), seed=25), normal((2, 4), seed=26),
                                            normal((2,), seed=27))),
            Case("no bias", (normal((3, 2), seed=28), normal((4, 2), seed=29), None)),
            Case("float32", (normal((4, 3), seed=30), normal((2, 3), seed=31), normal((2,), seed=32)),
                 dtype=np.float32)]


LINEAR = PairCheck(
    "linear", "linear_forward", "linear_backward", ("x", "weight", "bias"),
    ("dx", "dweight", "dbias"),
    lambda x, w, b: _torch().nn.functional.linear(x, w, b), _linear_cases,
    hints={"output": "y = x @ weight.T + bias: weight is [out, in] as in PyTorch",
           "dx": "dx = dy @ weight  ([..., out] @ [out, in])",
           "dweight": "dweight = dy^T x summed over every leading axis: flatten dy to [N, out] and "
                      "x to [N, in] (reshape(-1, ...)), then dy2.T @ x2 is [out, in]",
           "dbias": "dbias = dy summed over every axis but the last: shape [out]"})


# ---- the Linear module ----
def _linear_module_cases():
    return [Case("a batch [N, 3]", (normal((4, 3), seed=33),)),
            Case("a 3-D batch [2, 5, 3]", (normal((2, 5, 3), seed=34),)),
            Case("float32", (normal((4, 3), seed=35),), dtype=np.float32)]


LINEAR_MODULE = ModuleCheck(
    "Linear", "Linear",
    build=lambda cls, case: cls(3, 4),
    twin=lambda case: _torch().nn.Linear(3, 4),
    cases=_linear_module_cases,
    hints={"output": "forward: call linear_forward with self.weight.data and self.bias.data, keep "
                     "the cache with self._push(cache, y), return y",
           "params": "backward: self._accumulate(self.weight, dweight) ADDS into weight.grad "
                     "(do the same for the bias)",
           "input": "backward: cache = self._pop(dy), then linear_backward, return dx"},
    uses=("linear_forward", "linear_backward"))

CHECKS = [RELU, SIGMOID, TANH, SOFTMAX, CROSS_ENTROPY, BINARY_CROSS_ENTROPY, LINEAR, LINEAR_MODULE]
