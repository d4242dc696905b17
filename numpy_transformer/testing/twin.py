"""Our module against its PyTorch twin: same weights, same input; outputs and every gradient.

The comparison runs on the device $NT_TEST_DEVICE names (default "cpu"): "cuda" puts ours on
CuPy and the twin on CUDA; "strict" puts ours on the CPU test double of a GPU array."""
import contextlib
import os

import numpy as np

from ..device import to_device, to_host
from . import strict_array  # noqa: F401  (the "strict" device)

from .compare import assert_close, tolerances


def _torch():
    import torch
    return torch


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [a for item in out for a in _flatten(item)]
    return [out]


def _is_float_array(x) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _is_float_input(x) -> bool:
    """A floating array, or a tuple/list of them (e.g. an LSTM's (h0, c0))."""
    if isinstance(x, (tuple, list)):
        return len(x) > 0 and all(_is_float_input(item) for item in x)
    return _is_float_array(x)


def _cast(x, dtype):
    """Floating arrays (also inside tuples/lists) in `dtype`; anything else unchanged."""
    if isinstance(x, (tuple, list)):
        return type(x)(_cast(item, dtype) for item in x)
    return x.astype(dtype) if _is_float_array(x) else x


def to_torch(x, dtype=None, requires_grad=False):
    """A numpy array as a torch tensor (floats in `dtype`), also inside tuples/lists; anything
    else unchanged."""
    torch = _torch()
    if isinstance(x, (tuple, list)):
        return type(x)(to_torch(item, dtype, requires_grad) for item in x)
    if not isinstance(x, np.ndarray):
        return x
    tensor = torch.from_numpy(np.array(x, order="C"))   # a C-ordered copy (0-d stays 0-d)
    if np.issubdtype(x.dtype, np.floating):
        tensor = tensor.to(dtype)
        tensor.requires_grad_(requires_grad)
    return tensor


def copy_weights_to_torch(ours, theirs) -> None:
    """Load our state dict into the twin by name: the names must match PyTorch's exactly."""
    torch = _torch()
    theirs_state = theirs.state_dict()
    ours_state = ours.state_dict()
    if set(ours_state) != set(theirs_state):
        raise AssertionError(f"state dict keys differ: ours only {sorted(set(ours_state) - set(theirs_state))}, "
                             f"torch only {sorted(set(theirs_state) - set(ours_state))}")
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)).to(theirs_state[k].dtype)
                            for k, v in ours_state.items()})


def twin_device() -> str:
    """The device the twin comparisons run ours on: $NT_TEST_DEVICE, default "cpu"."""
    return os.environ.get("NT_TEST_DEVICE", "cpu")


def _on(x, device):
    """Arrays (also inside tuples, lists and dicts) on `device`; anything else unchanged."""
    if isinstance(x, (tuple, list)):
        return type(x)(_on(item, device) for item in x)
    if isinstance(x, dict):
        return {k: _on(v, device) for k, v in x.items()}
    return to_device(x, device) if isinstance(x, np.ndarray) else x


def _kernels_of(device):
    """A device other than the CPU runs the reference math (CuPy: with its own kernels)."""
    from .. import kernels
    if device == "cpu":
        return contextlib.nullcontext()
    return kernels.using("cuda" if device == "cuda" else "reference")


def _host(tensor_or_array):
    if hasattr(tensor_or_array, "detach"):
        return tensor_or_array.detach().cpu().numpy()
    return to_host(tensor_or_array)


def compare_with_torch(ours, theirs, *inputs, kwargs=None, torch_kwargs=None, dtype=np.float64,
                       n_grads=1, backward=None, grad_inputs=None, rtol=None, atol=None,
                       seed=0, copy_weights=True, check_params=True, perturb=0.1, device=None):
    """Run both modules on the same inputs; assert outputs, input gradients and parameter
    gradients agree, and that nothing leaves `dtype`.

    `n_grads`: how many of the (flattened) outputs receive a random upstream gradient.
    `backward(grads)`: calls our backward with that list (default `ours.backward(*grads)`) and
    returns our input gradients, aligned with `grad_inputs` (default: the floating inputs).
    `perturb`: noise added to our parameters before copying, so that ones/zeros initialisations
    (LayerNorm, biases) cannot hide a wrong formula.
    `device`: where both run (default: `twin_device()`).
    Returns (our outputs, our input gradients) for further checks."""
    device = device or twin_device()
    with _kernels_of(device):
        return _compare(ours, theirs, inputs, kwargs, torch_kwargs, dtype, n_grads, backward,
                        grad_inputs, rtol, atol, seed, copy_weights, check_params, perturb, device)


def _compare(ours, theirs, inputs, kwargs, torch_kwargs, dtype, n_grads, backward, grad_inputs,
             rtol, atol, seed, copy_weights, check_params, perturb, device):
    torch = _torch()
    torch_device = "cuda" if device == "cuda" else "cpu"
    dtype = np.dtype(dtype)
    torch_dtype = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[dtype]
    rtol, atol = tolerances(dtype, rtol, atol)
    kwargs, torch_kwargs = kwargs or {}, dict(torch_kwargs if torch_kwargs is not None else kwargs or {})
    rng = np.random.default_rng(seed)

    ours.to(dtype)
    theirs.to(torch_dtype)
    if copy_weights:
        for param in ours.parameters():
            param.data += perturb * rng.standard_normal(param.shape).astype(dtype)
        copy_weights_to_torch(ours, theirs)
    ours.zero_grad()
    theirs.zero_grad()
    ours.to(device)
    theirs.to(torch_device)

    inputs = [_cast(x, dtype) for x in inputs]
    if grad_inputs is None:
        grad_inputs = [i for i, x in enumerate(inputs) if _is_float_input(x)]
    t_inputs = [_leaf(to_torch(x, torch_dtype), torch_device, i in grad_inputs)
                for i, x in enumerate(inputs)]
    t_kwargs = {k: _leaf(to_torch(v, torch_dtype), torch_device, False)
                for k, v in torch_kwargs.items()}

    out = ours(*_on(inputs, device), **_on(kwargs, device))
    t_out = theirs(*t_inputs, **t_kwargs)
    flat, t_flat = _flatten(out), _flatten(t_out)
    if len(flat) != len(t_flat):
        raise AssertionError(f"ours returned {len(flat)} arrays, torch {len(t_flat)}")
    for k, (a, b) in enumerate(zip(flat, t_flat)):
        if a is None or b is None:
            if (a is None) != (b is None):
                raise AssertionError(f"output {k}: ours {type(a).__name__}, torch {type(b).__name__}")
            continue
        if np.issubdtype(a.dtype, np.floating) and a.dtype != dtype:
            raise AssertionError(f"output {k} has dtype {a.dtype}, expected {dtype} (silent upcast?)")
        assert_close(_host(a), _host(b), rtol, atol, f"output {k}")

    grads = [rng.standard_normal(flat[k].shape).astype(dtype) for k in range(n_grads)]
    torch.autograd.backward([t_flat[k] for k in range(n_grads)],
                            [torch.from_numpy(g.copy()).to(torch_device) for g in grads])
    grads = _on(grads, device)
    if backward is None:
        got = ours.backward(*grads)
    else:
        got = backward(grads)
    got = got if isinstance(got, tuple) else (got,)
    if len(got) < len(grad_inputs):
        raise AssertionError(f"backward returned {len(got)} gradients for {len(grad_inputs)} inputs")
    for g, i in zip(got, grad_inputs):
        nested = isinstance(inputs[i], (tuple, list))   # e.g. (h0, c0): one gradient per array
        g_leaves, t_leaves, x_leaves = _flatten(g), _flatten(t_inputs[i]), _flatten(inputs[i])
        if len(g_leaves) != len(x_leaves):
            raise AssertionError(f"gradient of input {i}: {len(g_leaves)} arrays for {len(x_leaves)}")
        for j, (g_leaf, t_leaf, x_leaf) in enumerate(zip(g_leaves, t_leaves, x_leaves)):
            what = f"gradient of input {i}" + (f"[{j}]" if nested else "")
            expected = t_leaf.grad
            expected = np.zeros(x_leaf.shape) if expected is None else _host(expected)
            if g_leaf.dtype != dtype:
                raise AssertionError(f"{what} has dtype {g_leaf.dtype}, expected {dtype}")
            assert_close(_host(g_leaf), expected, rtol, atol, what)

    if check_params:
        t_params = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            expected = t_params[name].grad
            expected = np.zeros(param.shape) if expected is None else _host(expected)
            if param.grad.dtype != dtype:
                raise AssertionError(f"gradient of {name} has dtype {param.grad.dtype}, expected {dtype}")
            assert_close(_host(param.grad), expected, rtol, atol, f"gradient of {name}")
    ours.to("cpu")
    return _host_tree(out), tuple(_host_tree(g) for g in got)


def _leaf(tensor, device, requires_grad):
    """`tensor` (or a tuple/list of them) on `device`, as leaves that keep their .grad."""
    if isinstance(tensor, (tuple, list)):
        return type(tensor)(_leaf(t, device, requires_grad) for t in tensor)
    if not hasattr(tensor, "to"):
        return tensor
    moved = tensor.detach().to(device)
    return moved.requires_grad_(requires_grad and moved.is_floating_point())


def _host_tree(x):
    if isinstance(x, (tuple, list)):
        return type(x)(_host_tree(item) for item in x)
    return to_host(x) if hasattr(x, "shape") else x
