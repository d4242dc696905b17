"""Week 3: Dropout, Embedding, the sinusoidal positional encoding, SGD (with momentum) and Adam."""
import numpy as np

from ..grading import Case, CheckFailure, FunctionCheck, Mistake, PairCheck, close, describe_inputs
from ..grading import compare_arrays
from ._inputs import normal


def _torch():
    import torch
    return torch


def _fail(what, detail, case, hint=None):
    raise CheckFailure(what, detail, case, hint)


def _compare(got, expected, what, case, hint=None, dtype=np.float64, rtol=None, atol=None):
    try:
        compare_arrays(got, expected, what.split(", ")[-1], dtype, rtol, atol)
    except AssertionError as e:
        _fail(what, str(e).split(": ", 1)[-1], case, hint)


# ---- dropout ----
DROPOUT_HINT = ("inverted dropout: in training, keep each element with probability 1 - p and "
                "scale the kept ones by 1 / (1 - p), so that the mean does not change; in "
                "evaluation return x unchanged (no mask, no scaling)")


def _dropout_checks(ns) -> str:
    forward, backward = ns["dropout_forward"], ns["dropout_backward"]
    x = 1.0 + np.abs(normal((200, 500), 70))        # no zeros, so a dropped element is visible
    dy = normal(x.shape, 71)
    p = 0.3
    case = f"training, p={p}: {describe_inputs(('x',), (x,))}, generator=np.random.default_rng(0)"
    y, cache = _pair(forward(x, p, True, np.random.default_rng(0)), "dropout_forward")
    if np.shape(y) != x.shape:
        _fail("dropout_forward, output", f"shape {np.shape(y)}, expected {x.shape}", case)
    y = np.asarray(y)
    kept = y != 0
    dropped = 1 - kept.mean()
    if abs(dropped - p) > 0.01:
        _fail("dropout_forward, output", f"{dropped:.3f} of the elements are zero, expected about "
              f"p = {p}", case, "drop an element when a uniform random number is < p "
              "(generator.random(x.shape) < p), keep it otherwise")
    if close(y[kept], x[kept]):
        _fail("dropout_forward, output", "the kept elements equal x: they were not scaled", case,
              "scale the kept elements by 1 / (1 - p) in training (inverted dropout), so that "
              "E[y] = x and evaluation needs no change")
    if close(y[kept], x[kept] * (1 - p)):
        _fail("dropout_forward, output", "the kept elements are x * (1 - p)", case,
              "divide by (1 - p), do not multiply: inverted dropout scales the kept elements UP "
              "by 1 / (1 - p)")
    _compare(y[kept], x[kept] / (1 - p), "dropout_forward, output (the kept elements)", case,
             DROPOUT_HINT)
    dx = _one(backward(dy, cache), "dropout_backward")
    _compare(dx, np.where(kept, dy / (1 - p), 0.0), "dropout_backward, dx", case,
             "dx = dy * mask / (1 - p) with the SAME mask as the forward (keep it in the cache): "
             "dropped elements get no gradient, kept ones the same 1 / (1 - p)")
    y2, _ = _pair(forward(x, p, True, np.random.default_rng(0)), "dropout_forward")
    if not np.array_equal(np.asarray(y2) != 0, kept):
        _fail("dropout_forward, output", "two calls with np.random.default_rng(0) dropped "
              "different elements", case, "draw the mask from the `generator` argument "
              "(generator.random(x.shape)), not from np.random directly: runs must repeat")

    case = f"evaluation (training=False), p={p}: x [200, 500] float64"
    y, cache = _pair(forward(x, p, False, np.random.default_rng(0)), "dropout_forward")
    if close(y, x * (1 - p)) or close(y, x / (1 - p)):
        _fail("dropout_forward, output", "in evaluation your output is x scaled", case,
              "do not scale in evaluation: with inverted dropout the training output is already "
              "scaled by 1 / (1 - p), so evaluation returns x itself")
    _compare(y, x, "dropout_forward, output", case, "in evaluation dropout does nothing: return x")
    _compare(_one(backward(dy, cache), "dropout_backward"), dy, "dropout_backward, dx", case,
             "in evaluation the forward was the identity, so dx = dy")

    case = "p=0 in training: x [200, 500] float64"
    y, cache = _pair(forward(x, 0.0, True, np.random.default_rng(0)), "dropout_forward")
    _compare(y, x, "dropout_forward, output", case, "p = 0 drops nothing: y = x")

    case = "p=1 in training (everything dropped): x [200, 500] float64"
    with np.errstate(all="ignore"):
        y, cache = _pair(forward(x, 1.0, True, np.random.default_rng(0)), "dropout_forward")
        _compare(y, np.zeros_like(x), "dropout_forward, output", case,
                 "p = 1 drops every element: return zeros (1 / (1 - p) would divide by zero)")

    case = "float32 input, p=0.5: x [20, 30] float32"
    x32 = x[:20, :30].astype(np.float32)
    y, cache = _pair(forward(x32, 0.5, True, np.random.default_rng(1)), "dropout_forward")
    dx = _one(backward(dy[:20, :30].astype(np.float32), cache), "dropout_backward")
    for name, value in (("output", y), ("dx", dx)):
        if np.asarray(value).dtype != np.float32:
            _fail(f"dropout_{'forward' if name == 'output' else 'backward'}, {name}",
                  f"dtype {np.asarray(value).dtype} for a float32 input", case,
                  "keep the input's dtype: make the mask with dtype=x.dtype (or .astype(x.dtype))")
    return "training, evaluation, p=0, p=1, float32"


def _pair(result, name):
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailure(name, f"{name} must return (out, cache), it returned "
                           f"{type(result).__name__}", None, "end it with `return y, cache`")
    return result


def _one(result, name):
    if isinstance(result, tuple) and len(result) == 1:
        result = result[0]
    if not isinstance(result, np.ndarray):
        raise CheckFailure(name, f"{name} returned a {type(result).__name__}, not an array", None)
    return result


DROPOUT = FunctionCheck("dropout", ("dropout_forward", "dropout_backward"), _dropout_checks)


def _dropout_fd(ns) -> str:
    """Finite differences with a fixed mask: the same generator seed on every call."""
    from ..grading import _plain_numbers
    from ...testing import check_functional_gradients
    forward, backward = ns["dropout_forward"], ns["dropout_backward"]
    x = normal((4, 5), 72)
    try:
        check_functional_gradients(lambda x: _pair(forward(x, 0.4, True, np.random.default_rng(3)),
                                                   "dropout_forward"),
                                   lambda dy, cache: _one(backward(dy, cache), "dropout_backward"),
                                   [x], name="dropout_backward")
    except AssertionError as e:
        raise CheckFailure("dropout_backward, dx", _plain_numbers(str(e).split(": ", 2)[-1]),
                           "training, p=0.4, x [4, 5] float64, the same mask each call",
                           "dx = dy * (the forward's scaled mask)") from None
    return "the same mask on every call"


# ---- the Dropout module ----
def _dropout_module_checks(ns) -> str:
    cls = ns["Dropout"]
    x = 1.0 + np.abs(normal((100, 100), 73))
    dy = normal(x.shape, 74)
    layer = cls(0.25)
    case = "Dropout(0.25) in training mode: x [100, 100] float64"
    y = layer(x)
    kept = np.asarray(y) != 0
    if abs((1 - kept.mean()) - 0.25) > 0.02:
        _fail("Dropout.forward, output", f"{1 - kept.mean():.3f} of the elements are zero, expected "
              "about 0.25", case, "call dropout_forward(x, self.p, self.training, ...)")
    _compare(np.asarray(y)[kept], x[kept] / 0.75, "Dropout.forward, output (the kept elements)", case,
             DROPOUT_HINT)
    _compare(layer.backward(dy), np.where(kept, dy / 0.75, 0.0), "Dropout.backward, dx", case,
             "keep the mask with self._push(cache, y) in forward, use it with self._pop(dy)")
    layer.eval()
    case = "Dropout(0.25) after .eval(): x [100, 100] float64"
    _compare(layer(x), x, "Dropout.forward, output", case,
             "self.training is False after .eval(): pass it to dropout_forward, which then "
             "returns x")
    _compare(layer.backward(dy), dy, "Dropout.backward, dx", case, "in evaluation dx = dy")
    return "training and evaluation mode"


DROPOUT_MODULE = FunctionCheck("Dropout", ("Dropout",), _dropout_module_checks,
                               uses=("dropout_forward", "dropout_backward"))


# ---- embedding ----
def _embedding_cases():
    return [Case("a batch of ids [2, 3]", (np.array([[0, 4, 2], [3, 1, 5]]), normal((6, 4), 75))),
            Case("repeated ids (a word used twice)",
                 (np.array([[1, 1, 1], [2, 1, 0]]), normal((4, 3), 76))),
            Case("one sequence [5]", (np.array([3, 0, 3, 2, 3]), normal((5, 2), 77))),
            Case("float32", (np.array([[2, 2], [0, 1]]), normal((3, 4), 78)), dtype=np.float32)]


def _embedding_overwrite(ids, weight, dout):
    dweight = np.zeros_like(weight)
    dweight[ids.reshape(-1)] += dout.reshape(-1, weight.shape[1])
    return dweight


EMBEDDING = PairCheck(
    "embedding", "embedding_forward", "embedding_backward", ("ids", "weight"), (None, "dweight"),
    lambda ids, w: _torch().nn.functional.embedding(ids, w), _embedding_cases,
    hints={"output": "y = weight[ids]: one row of the table per id, y has shape ids.shape + (D,)",
           "dweight": "dweight[v] = the sum of dy at every position where ids == v; "
                      "np.add.at(dweight, ids, dy) adds repeated ids correctly"},
    mistakes=[Mistake("dweight", _embedding_overwrite,
                      "dweight[ids] += dy does not add up repeated ids: numpy writes each repeated "
                      "row once (the last write wins). Use np.add.at(dweight, ids.reshape(-1), "
                      "dy.reshape(-1, D)), which accumulates")],
    returns_tuple=True)


# ---- positional encoding ----
def _reference_table(max_len, d_model):
    from ...nn.functional import sinusoidal_positional_encoding
    return sinusoidal_positional_encoding(max_len, d_model, np.float64)


def _positional_checks(ns) -> str:
    fn = ns["positional_encoding"]
    for max_len, d_model, label in ((10, 8, "10 positions, d_model 8"), (6, 5, "odd d_model 5"),
                                    (1, 4, "a single position")):
        case = f"{label}: positional_encoding({max_len}, {d_model})"
        got = np.asarray(fn(max_len, d_model))
        expected = _reference_table(max_len, d_model)
        if got.shape != expected.shape:
            _fail("positional_encoding, output", f"shape {got.shape}, expected {expected.shape}",
                  case, "the table is [max_len, d_model]; for an odd d_model the last column is "
                  "a sine (columns 0, 2, 4, ... are sines, 1, 3, ... cosines)")
        if max_len > 1:
            swapped = expected.copy()
            pairs = d_model // 2
            swapped[:, 0:2 * pairs:2], swapped[:, 1:2 * pairs:2] = expected[:, 1:2 * pairs:2], \
                expected[:, 0:2 * pairs:2]
            if close(got, swapped, 1e-4, 1e-6):
                _fail("positional_encoding, output", "sines and cosines are swapped", case,
                      "even columns 2i hold sin(pos / 10000^(2i/d)), odd columns 2i+1 the cosine")
        _compare(got, expected, "positional_encoding, output", case,
                 "PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i+1] = cos(pos / "
                 "10000^(2i / d_model)): both columns of a pair share the angle (the exponent uses "
                 "the even index 2i)", rtol=1e-5, atol=1e-6)
    return "3 tables"


POSITIONAL = FunctionCheck("positional_encoding", ("positional_encoding",), _positional_checks)


# ---- optimizers ----
def _parameters():
    from ...nn import Parameter
    return [Parameter(normal((3, 4), 80)), Parameter(normal((5,), 81))]


def _simulate(kind, params, grads_per_step, lr, **options):
    """Parameters after each step for a (possibly wrong) update rule, in float64."""
    momentum = options.get("momentum", 0.0)
    b1, b2 = options.get("betas", (0.9, 0.999))
    eps = options.get("eps", 1e-8)
    ps = [p.copy() for p in params]
    state = [dict() for _ in ps]
    history = []
    for t, grads in enumerate(grads_per_step, start=1):
        for p, g, s in zip(ps, grads, state):
            if kind == "sgd":
                p -= lr * g
            elif kind == "momentum":          # v = m v + g;  p -= lr v
                s["v"] = momentum * s.get("v", 0) + g
                p -= lr * s["v"]
            elif kind == "momentum_dampened":   # v = m v + (1 - m) g
                s["v"] = momentum * s.get("v", 0) + (1 - momentum) * g
                p -= lr * s["v"]
            elif kind in ("adam_no_correction", "adam_eps_inside"):
                s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
                if kind == "adam_no_correction":
                    p -= lr * s["m"] / (np.sqrt(s["v"]) + eps)
                else:
                    p -= lr * (s["m"] / (1 - b1 ** t)) / np.sqrt(s["v"] / (1 - b2 ** t) + eps)
        history.append([p.copy() for p in ps])
    return history


def _optimizer_check(class_name, torch_name, settings, wrong):
    def run(ns) -> str:
        torch = _torch()
        cls = ns[class_name]
        for options in settings:
            params = _parameters()
            start = [p.data.copy() for p in params]
            tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
            ours = cls(params, **options)
            theirs = getattr(torch.optim, torch_name)(tparams, **options)
            steps = [[normal(p.shape, 100 + 10 * k + i) for i, p in enumerate(params)]
                     for k in range(5)]
            shown = ", ".join(f"{k}={v}" for k, v in options.items())
            for k, grads in enumerate(steps, start=1):
                for p, t, g in zip(params, tparams, grads):
                    p.grad[...] = g
                    t.grad = torch.from_numpy(g.copy())
                ours.step()
                theirs.step()
                for i, (p, t) in enumerate(zip(params, tparams)):
                    case = f"{class_name}(params, {shown}), 5 steps with random gradients"
                    expected = t.detach().numpy()
                    if close(p.data, expected):
                        continue
                    hint = None
                    for kind, text in wrong:
                        history = _simulate(kind, start, steps, **options)
                        if close(p.data, history[k - 1][i]):
                            hint = text
                    if close(p.data, start[i]):
                        hint = "the parameter did not change: update p.data in place (p.data -= ...)"
                    _compare(p.data, expected, f"{class_name}.step, parameter {i} after step {k}",
                             case, hint or f"follow torch.optim.{torch_name}'s update (the docstring "
                             "gives it)")
        return f"{len(settings)} settings x 5 steps"
    return run


SGD = FunctionCheck("SGD", ("SGD",), _optimizer_check(
    "SGD", "SGD", [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.9}],
    [("sgd", "there is no momentum in your update: keep a velocity per parameter, "
             "v = momentum * v + grad, and step p -= lr * v"),
     ("momentum_dampened", "PyTorch's momentum adds the whole gradient, v = momentum * v + grad "
                           "(no (1 - momentum) factor)")]))

ADAM = FunctionCheck("Adam", ("Adam",), _optimizer_check(
    "Adam", "Adam", [{"lr": 0.01}, {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6}],
    [("adam_no_correction", "the bias correction is missing: the moments start at 0, so divide "
                            "them by (1 - beta1^t) and (1 - beta2^t), t counting steps from 1"),
     ("adam_eps_inside", "eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)")]))


DROPOUT_FD = FunctionCheck("dropout (finite differences)", ("dropout_forward", "dropout_backward"),
                           _dropout_fd)

CHECKS = [DROPOUT, DROPOUT_FD, DROPOUT_MODULE, EMBEDDING, POSITIONAL, SGD, ADAM]
