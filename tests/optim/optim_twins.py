"""Run one of our optimizers and its torch twin from the same start on the same gradients."""
import numpy as np
import torch

import numpy_transformer as nt
from numpy_transformer.testing import assert_close

# (rtol, atol) for parameters after 20 steps; atol is scaled by the largest magnitude.
TOLERANCES = {np.dtype(np.float64): (1e-10, 1e-12), np.dtype(np.float32): (1e-5, 1e-6)}
SHAPES = ((3, 4), (5,), (2, 1, 3))


def gradient_sequence(shapes, steps, dtype, seed):
    """`steps` lists of gradients, one per shape, with magnitudes from 0.01 to 10."""
    rng = np.random.default_rng(seed)
    return [[(rng.standard_normal(s) * 10 ** rng.uniform(-2, 1)).astype(dtype) for s in shapes]
            for _ in range(steps)]


def twin_parameters(shapes, dtype, seed):
    """Our Parameters and torch's, equal, drawn from `seed`."""
    rng = np.random.default_rng(seed + 1)
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [nt.nn.Parameter(a.copy()) for a in starts]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in starts]
    return ours, theirs


def feed(ours, theirs, grads) -> None:
    """Give both sets of parameters the same gradients."""
    for p, g in zip(ours, grads):
        p.grad[...] = g
    for p, g in zip(theirs, grads):
        p.grad = torch.from_numpy(g.copy())


def groups_of(params, group_options):
    """Split `params` into param groups, one dict of extra options per group (None: one list)."""
    if group_options is None:
        return list(params)
    n = len(group_options)
    return [{"params": list(params[i::n]), **options} for i, options in enumerate(group_options)]


def run_twins(our_cls, torch_cls, options, dtype, seed, steps=20, shapes=SHAPES,
              group_options=None):
    """Both optimizers after `steps` steps: (ours, theirs, our_optimizer, torch_optimizer)."""
    ours, theirs = twin_parameters(shapes, dtype, seed)
    data = [p.data for p in ours]
    optimizer = our_cls(groups_of(ours, group_options), **options)
    twin = torch_cls(groups_of(theirs, group_options), **options)
    for grads in gradient_sequence(shapes, steps, dtype, seed):
        feed(ours, theirs, grads)
        optimizer.step()
        twin.step()
    for p, array in zip(ours, data):
        assert p.data is array, "the update must happen in place on param.data"
        assert p.data.dtype == np.dtype(dtype)
    return ours, theirs, optimizer, twin


def assert_same_parameters(ours, theirs, dtype, what="parameter"):
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for i, (p, t) in enumerate(zip(ours, theirs)):
        assert_close(p.data, t.detach().numpy(), rtol, atol, f"{what} {i}")


def assert_same_state(optimizer, twin, ours, theirs, dtype):
    """Every state entry (same names as torch) has torch's value."""
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for i, (p, t) in enumerate(zip(ours, theirs)):
        state, twin_state = optimizer.state.get(p, {}), twin.state.get(t, {})
        assert set(state) == set(twin_state), f"state names of parameter {i}"
        for name, value in state.items():
            expected = twin_state[name]
            if name == "step":
                assert value == float(expected), f"step of parameter {i}"
            else:
                assert value.dtype == np.dtype(dtype), f"{name} of parameter {i} has dtype {value.dtype}"
                assert_close(value, expected.numpy(), rtol, atol, f"{name} of parameter {i}")
