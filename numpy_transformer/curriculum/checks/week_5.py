"""Week 5: LayerNorm, BatchNorm (functional and modules, running statistics) and Residual."""
import numpy as np

from ..grading import Case, CheckFailure, Mistake, ModuleCheck, PairCheck, close
from ._inputs import normal


def _torch():
    import torch
    return torch


# ---- layer norm ----
def _ln_cases():
    return [Case("rows of a batch [4, 6]", (normal((4, 6), 90), normal((6,), 91), normal((6,), 92))),
            Case("a 3-D input [B, T, D]", (normal((2, 3, 5), 93, scale=2), normal((5,), 94),
                                           normal((5,), 95))),
            Case("a constant row (variance 0: eps matters)",
                 (np.vstack([np.full(4, 3.0), normal((4,), 96)]), normal((4,), 97), normal((4,), 98)),
                 fd=False),
            Case("a large mean, small spread (1e4 + noise / 1000)",
                 (1e4 + normal((3, 8), 99) / 1000, normal((8,), 100), normal((8,), 101)), fd=False),
            Case("float32", (normal((3, 6), 102), normal((6,), 103), normal((6,), 104)),
                 dtype=np.float32)]


def _ln_parts(x, weight, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    return (x - mu) * rstd, rstd


def _ln_no_mean_terms(x, weight, bias, dout, eps=1e-5):
    """The seed's bug: dx = rstd * g, as if the mean and variance did not depend on x."""
    xhat, rstd = _ln_parts(x, weight, eps)
    return rstd * dout * weight


def _ln_no_xhat_term(x, weight, bias, dout, eps=1e-5):
    xhat, rstd = _ln_parts(x, weight, eps)
    g = dout * weight
    return rstd * (g - g.mean(-1, keepdims=True))


def _ln_no_mean_g(x, weight, bias, dout, eps=1e-5):
    xhat, rstd = _ln_parts(x, weight, eps)
    g = dout * weight
    return rstd * (g - xhat * (g * xhat).mean(-1, keepdims=True))


def _ln_unbiased(x, weight, bias, dout=None, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * weight + bias


_LN_DX = ("dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight and the means "
          "over each row")

LAYER_NORM = PairCheck(
    "layer_norm", "layer_norm_forward", "layer_norm_backward", ("x", "weight", "bias"),
    ("dx", "dweight", "dbias"),
    lambda x, w, b, eps=1e-5: _torch().nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps),
    _ln_cases,
    hints={"output": "y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis, with the "
                     "biased variance var = mean((x - mean)^2) (computed from the centred values)",
           "dx": _LN_DX + ": the mean and the variance depend on every x of the row",
           "dweight": "dweight = sum of dy * xhat over every axis but the last",
           "dbias": "dbias = sum of dy over every axis but the last"},
    mistakes=[Mistake("dx", _ln_no_mean_terms,
                      "you dropped both mean terms: dx = rstd * g treats the mean and the variance "
                      "as constants, but they depend on every x of the row. " + _LN_DX),
              Mistake("dx", _ln_no_xhat_term,
                      "the term from the variance is missing: subtract xhat * mean(g * xhat) too. "
                      + _LN_DX),
              Mistake("dx", _ln_no_mean_g,
                      "the term from the mean is missing: subtract mean(g) too. " + _LN_DX),
              Mistake("output", _ln_unbiased,
                      "use the biased variance (divide by D, np.var's default ddof=0), as PyTorch")])


# ---- batch norm ----
def _bn_cases():
    running = (np.zeros(4), np.ones(4))
    return [Case("training, a batch [8, 4]", (normal((8, 4), 105), normal((4,), 106),
                                              normal((4,), 107), *running), {"training": True}),
            Case("training, 3 samples [3, 5]", (normal((3, 5), 108, scale=3), normal((5,), 109),
                                                normal((5,), 110), np.zeros(5), np.ones(5)),
                 {"training": True}),
            Case("evaluation: the running statistics are used",
                 (normal((6, 4), 111), normal((4,), 112), normal((4,), 113),
                  normal((4,), 114), 0.5 + np.abs(normal((4,), 115))), {"training": False}),
            Case("float32, training", (normal((8, 3), 116), normal((3,), 117), normal((3,), 118),
                                       np.zeros(3), np.ones(3)), {"training": True},
                 dtype=np.float32)]


def _bn_constant_statistics(x, weight, bias, rm, rv, dout, training=True, momentum=0.1, eps=1e-5):
    var = x.var(0) if training else rv
    return dout * weight / np.sqrt(var + eps)


BATCH_NORM = PairCheck(
    "batch_norm", "batch_norm_forward", "batch_norm_backward",
    ("x", "weight", "bias", "running_mean", "running_var"), ("dx", "dweight", "dbias"),
    lambda x, w, b, rm, rv, training=True, momentum=0.1, eps=1e-5:
        _torch().nn.functional.batch_norm(x, rm.clone(), rv.clone(), w, b, training, momentum, eps),
    _bn_cases,
    hints={"output": "training: normalise each column (feature) with the batch's mean and biased "
                     "variance (axis=0); evaluation: with running_mean and running_var instead",
           "dx": "training: dx = weight * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), means "
                 "over the batch axis 0; evaluation: dx = weight * rstd * dy (the statistics are "
                 "constants then)",
           "dweight": "dweight = sum over the batch of dy * xhat",
           "dbias": "dbias = sum over the batch of dy"},
    updated=(3, 4),
    mistakes=[Mistake("dx", _bn_constant_statistics,
                      "in training the batch mean and variance depend on x: subtract mean(dy) and "
                      "xhat * mean(dy * xhat) (means over the batch) as in LayerNorm's backward")])


def _running_checks(ns) -> str:
    torch = _torch()
    forward = ns["batch_norm_forward"]
    x, w, b = normal((5, 3), 119), normal((3,), 120), normal((3,), 121)
    rm, rv = normal((3,), 122), 1 + np.abs(normal((3,), 123))
    ours_m, ours_v = rm.copy(), rv.copy()
    theirs_m, theirs_v = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    forward(x, w, b, ours_m, ours_v, training=True, momentum=0.2)
    torch.nn.functional.batch_norm(torch.from_numpy(x), theirs_m, theirs_v, torch.from_numpy(w),
                                   torch.from_numpy(b), True, 0.2)
    case = ("training, momentum=0.2: x [5, 3] float64; running_mean and running_var must be "
            "updated IN PLACE")
    if close(ours_m, rm) and close(ours_v, rv):
        raise CheckFailure("batch_norm_forward, running statistics", "running_mean and running_var "
                           "did not change", case, "update them in place: running_mean *= 1 - "
                           "momentum; running_mean += momentum * batch_mean (an assignment "
                           "running_mean = ... only changes your local name)")
    if not close(ours_m, theirs_m.numpy()):
        raise CheckFailure("batch_norm_forward, running_mean", f"got {ours_m}, expected "
                           f"{theirs_m.numpy()}", case,
                           "running_mean = (1 - momentum) * running_mean + momentum * batch mean")
    if not close(ours_v, theirs_v.numpy()):
        n = len(x)
        biased = (1 - 0.2) * rv + 0.2 * x.var(0)
        hint = ("running_var uses the UNBIASED batch variance (divide by N - 1, here "
                f"{n - 1}), although the normalisation uses the biased one" if close(ours_v, biased)
                else "running_var = (1 - momentum) * running_var + momentum * unbiased batch variance")
        raise CheckFailure("batch_norm_forward, running_var", f"got {ours_v}, expected "
                           f"{theirs_v.numpy()}", case, hint)
    return "momentum 0.2"


def _bn_running_check():
    from ..grading import FunctionCheck
    return FunctionCheck("batch_norm running statistics", ("batch_norm_forward",), _running_checks)


# ---- modules ----
LAYER_NORM_MODULE = ModuleCheck(
    "LayerNorm", "LayerNorm",
    build=lambda cls, case: cls(6),
    twin=lambda case: _torch().nn.LayerNorm(6),
    cases=lambda: [Case("a batch [4, 6]", (normal((4, 6), 124),)),
                   Case("float32 [2, 3, 6]", (normal((2, 3, 6), 125),), dtype=np.float32)],
    hints={"output": "forward: layer_norm_forward(x, self.weight.data, self.bias.data, self.eps)",
           "params": "backward: add dweight and dbias into the parameters (self._accumulate)",
           "input": "backward: return the dx of layer_norm_backward"},
    uses=("layer_norm_forward", "layer_norm_backward"))


def _buffers_agree(ours, theirs, case):
    for name in ("running_mean", "running_var"):
        got = np.asarray(getattr(ours, name))
        expected = getattr(theirs, name).detach().numpy()
        if not close(got, expected, 1e-4, 1e-6):
            raise CheckFailure(f"BatchNorm1d.forward, {name}", f"got {got}, expected {expected}",
                               case.label, "pass self.running_mean and self.running_var to "
                               "batch_norm_forward, which updates them in place in training")


BATCH_NORM_MODULE = ModuleCheck(
    "BatchNorm1d", "BatchNorm1d",
    build=lambda cls, case: cls(5) if "eval" not in case.label else _eval_module(cls(5)),
    twin=lambda case: _torch().nn.BatchNorm1d(5) if "eval" not in case.label else
        _eval_twin(_torch().nn.BatchNorm1d(5)),
    cases=lambda: [Case("training mode, a batch [8, 5]", (normal((8, 5), 126),)),
                   Case("after .eval(), a batch [4, 5]", (normal((4, 5), 127),)),
                   Case("float32, training [6, 5]", (normal((6, 5), 128),), dtype=np.float32)],
    hints={"output": "forward: batch_norm_forward(x, weight, bias, self.running_mean, "
                     "self.running_var, self.training, self.momentum, self.eps)",
           "params": "backward: add dweight and dbias into the parameters (self._accumulate)",
           "input": "backward: return the dx of batch_norm_backward"},
    uses=("batch_norm_forward", "batch_norm_backward"),
    after=_buffers_agree, fd=False)


def _eval_module(module):
    module.running_mean[...] = np.linspace(-1, 1, 5)
    module.running_var[...] = np.linspace(0.5, 2, 5)
    return module.eval()


def _eval_twin(module):
    torch = _torch()
    with torch.no_grad():
        module.running_mean[...] = torch.linspace(-1, 1, 5)
        module.running_var[...] = torch.linspace(0.5, 2, 5)
    return module.eval()


def _residual_build(cls, case):
    from ... import nn
    inner = nn.Linear(5, 5) if "Linear" in case.label else \
        nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 5))
    return cls(inner)


def _residual_twin(case):
    torch = _torch()

    class Residual(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            return x + self.module(x)
    inner = torch.nn.Linear(5, 5) if "Linear" in case.label else \
        torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    return Residual(inner)


RESIDUAL_HINT = ("y = x + f(x) has two paths from x to y, so dx = dy (the skip path) + "
                 "f.backward(dy) (the branch): add them. Returning only the branch's gradient is "
                 "the classic mistake; it also makes deep networks stop learning")

RESIDUAL = ModuleCheck(
    "Residual", "Residual",
    build=_residual_build, twin=_residual_twin,
    cases=lambda: [Case("Residual(Linear(5, 5)), a batch [4, 5]", (normal((4, 5), 129),)),
                   Case("Residual(Linear-ReLU-Linear), [2, 3, 5]", (normal((2, 3, 5), 130),))],
    hints={"output": "forward: y = x + self.module(x)", "input": RESIDUAL_HINT,
           "params": "backward must call self.module.backward(dy), which fills the branch's "
                     "parameter gradients"},
    mistakes=[Mistake("gradient of input", None, RESIDUAL_HINT)])

CHECKS = [LAYER_NORM, BATCH_NORM, _bn_running_check(), LAYER_NORM_MODULE, BATCH_NORM_MODULE,
          RESIDUAL]
