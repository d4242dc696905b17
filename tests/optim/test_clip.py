"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils: the returned norm and the grads."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.testing import assert_close
from optim_twins import feed, twin_parameters

SHAPES = ((3, 4), (7,), (2, 2, 2))
TOL = {np.float64: 1e-10, np.float32: 1e-6}


def twins_with_gradients(dtype, seed, scale=1.0):
    ours, theirs = twin_parameters(SHAPES, dtype, seed)
    rng = np.random.default_rng(seed)
    feed(ours, theirs, [(scale * rng.standard_normal(s)).astype(dtype) for s in SHAPES])
    return ours, theirs


@given(norm_type=st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf]),
       max_norm=st.sampled_from([0.1, 1.0, 5.0, 1e3]), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**16))
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype, seed):
    ours, theirs = twins_with_gradients(dtype, seed)
    total = nt.optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = TOL[dtype] if norm_type in (2.0, 1.0, math.inf, -math.inf) else 10 * TOL[dtype]
    assert total.dtype == np.dtype(dtype)
    assert_close(total, expected.numpy(), rtol, 0, "total norm")
    for i, (p, t) in enumerate(zip(ours, theirs)):
        assert_close(p.grad, t.grad.numpy(), rtol, 1e-12, f"clipped gradient {i}")


def test_clip_grad_norm_leaves_small_gradients_alone_and_accepts_one_parameter():
    ours, _ = twins_with_gradients(np.float32, 0, scale=1e-3)
    before = ours[0].grad.copy()
    total = nt.optim.clip_grad_norm_(ours[0], max_norm=1.0)
    np.testing.assert_array_equal(ours[0].grad, before)
    assert total == pytest.approx(np.linalg.norm(before), rel=1e-6)


def test_clip_grad_norm_skips_frozen_parameters_and_gives_zero_without_gradients():
    ours, _ = twins_with_gradients(np.float64, 0)
    ours[0].requires_grad = False
    frozen = ours[0].grad.copy()
    expected = math.sqrt(sum(float(np.sum(p.grad ** 2)) for p in ours[1:]))
    total = nt.optim.clip_grad_norm_(ours, max_norm=0.1)
    np.testing.assert_array_equal(ours[0].grad, frozen)
    assert total == pytest.approx(expected, rel=1e-12)
    assert nt.optim.clip_grad_norm_([], max_norm=1.0) == 0.0


def test_non_finite_norm_raises_when_asked_and_otherwise_scales_like_torch():
    for bad in (np.inf, np.nan):
        ours, theirs = twins_with_gradients(np.float32, 1)
        ours[0].grad[0, 0] = bad
        theirs[0].grad[0, 0] = float(bad)
        with pytest.raises(RuntimeError, match="non-finite|is (inf|nan)"):
            nt.optim.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
        total = nt.optim.clip_grad_norm_(ours, 1.0)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
        np.testing.assert_array_equal(total, expected.numpy())
        for p, t in zip(ours, theirs):
            np.testing.assert_array_equal(p.grad, t.grad.numpy())


@given(clip_value=st.sampled_from([0.01, 0.5, 2.0]), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**16))
def test_clip_grad_value_matches_torch(clip_value, dtype, seed):
    ours, theirs = twins_with_gradients(dtype, seed)
    assert nt.optim.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert p.grad.dtype == np.dtype(dtype)
