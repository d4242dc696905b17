"""Finite-difference checks: backward passes against central differences, in float64."""
import numpy as np

from ..grad_mode import no_grad
from .compare import assert_close


def _flat_outputs(out):
    if isinstance(out, (tuple, list)):
        return [a for item in out for a in _flat_outputs(item)]
    return [] if out is None else [out]


def _weighted_sum(out, weights) -> float:
    """sum_i <out_i, weights_i> over the floating outputs: the scalar whose gradient we check."""
    arrays = [a for a in _flat_outputs(out) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    return float(sum(np.sum(a * w) for a, w in zip(arrays, weights)))


def _random_like_outputs(out, rng, n_grads=None):
    """A random weight for each floating output; zeros after the first `n_grads` of them."""
    arrays = [a for a in _flat_outputs(out) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    n_grads = len(arrays) if n_grads is None else n_grads
    return [rng.standard_normal(np.shape(a)) if k < n_grads else np.zeros(np.shape(a))
            for k, a in enumerate(arrays)]


def _numeric_gradient(f, array, eps, rng, max_elements):
    """d f / d array by central differences, at up to `max_elements` sampled positions."""
    flat = array.reshape(-1)
    positions = np.arange(flat.size)
    if flat.size > max_elements:
        positions = rng.choice(flat.size, size=max_elements, replace=False)
    numeric = np.full(flat.size, np.nan)
    for i in positions:
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        numeric[i] = (plus - minus) / (2 * eps)
    return numeric.reshape(array.shape), positions


def check_functional_gradients(forward, backward, inputs, wrt=None, kwargs=None, eps=1e-6,
                               rtol=1e-5, atol=1e-7, seed=0, max_elements=64, name="function",
                               n_grads=None):
    """`backward(dout, forward(*inputs)[1])` equals the numeric gradient of <out, dout>.

    `backward` returns one gradient per positional input, in order (None for the ones that have
    none); `wrt` lists the input positions to check (default: every floating input). Only the
    first `n_grads` floating outputs carry a gradient (default: all)."""
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    inputs = [np.array(x, dtype=np.float64) if _is_float(x) else x for x in inputs]
    wrt = [i for i, x in enumerate(inputs) if _is_float(x)] if wrt is None else list(wrt)
    out, cache = forward(*inputs, **kwargs)
    douts = _random_like_outputs(out, rng, n_grads)
    dout = douts[0] if not isinstance(out, (tuple, list)) else _nest_like(out, douts)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)

    def loss():
        return _weighted_sum(forward(*inputs, **kwargs)[0], douts)

    for i in wrt:
        numeric, positions = _numeric_gradient(loss, inputs[i], eps, rng, max_elements)
        analytic = np.asarray(grads[i]).reshape(-1)[positions]
        assert_close(analytic, numeric.reshape(-1)[positions], rtol, atol,
                     f"{name}: gradient of input {i}")


def check_module_gradients(module, *inputs, kwargs=None, backward=None, n_grads=None, eps=1e-6,
                           rtol=1e-5, atol=1e-7, seed=0, max_elements=32, wrt_inputs=True):
    """The module's input and parameter gradients equal central differences (module in float64).

    `backward(douts)` runs the module's backward given the list of output gradients (default:
    `module.backward(*douts)`); only the first `n_grads` floating outputs carry a gradient."""
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    module.double()
    module.zero_grad()
    inputs = [np.array(x, dtype=np.float64) if _is_float(x) else x for x in inputs]
    out = module(*inputs, **kwargs)
    douts = _random_like_outputs(out, rng, n_grads)
    n = len(douts) if n_grads is None else n_grads
    call_backward = backward or (lambda grads: module.backward(*grads[:n]))
    input_grads = call_backward(douts)
    input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)

    def loss():
        with no_grad():
            return _weighted_sum(module(*inputs, **kwargs), douts)

    name = type(module).__name__
    if wrt_inputs:
        float_inputs = [i for i, x in enumerate(inputs) if _is_float(x)]
        for k, i in enumerate(float_inputs):
            numeric, positions = _numeric_gradient(loss, inputs[i], eps, rng, max_elements)
            analytic = np.asarray(input_grads[k]).reshape(-1)[positions]
            assert_close(analytic, numeric.reshape(-1)[positions], rtol, atol,
                         f"{name}: gradient of input {i}")
    for param_name, param in module.named_parameters():
        numeric, positions = _numeric_gradient(loss, param.data, eps, rng, max_elements)
        assert_close(param.grad.reshape(-1)[positions], numeric.reshape(-1)[positions], rtol, atol,
                     f"{name}: gradient of {param_name}")


def _is_float(x) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _nest_like(template, flat):
    """Rebuild the nesting of `template` (tuples of arrays) from a flat list."""
    flat = iter(flat)

    def build(item):
        if isinstance(item, (tuple, list)):
            return tuple(build(x) for x in item)
        return None if item is None else next(flat)
    return build(template)
