"""SGD, Adam, AdamW and RMSprop: 20 steps from the same start on the same gradients give torch's
parameters and state, for every option, in float64 and float32."""
import threading

import numpy as np
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from optim_twins import (assert_same_parameters, assert_same_state, feed, run_twins,
                         twin_parameters)

dtypes = st.sampled_from([np.float64, np.float32])
seeds = st.integers(0, 2**16)
lrs = st.sampled_from([1e-3, 0.01, 0.1])
weight_decays = st.sampled_from([0.0, 1e-2, 0.1])


@st.composite
def sgd_options(draw):
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1, 0.5]))
    return dict(lr=draw(lrs), momentum=momentum, dampening=dampening,
                weight_decay=draw(weight_decays), nesterov=nesterov, maximize=draw(st.booleans()))


@st.composite
def adam_options(draw):
    return dict(lr=draw(lrs), betas=(draw(st.sampled_from([0.0, 0.8, 0.9])),
                                     draw(st.sampled_from([0.9, 0.99, 0.999]))),
                eps=draw(st.sampled_from([1e-8, 1e-6, 1e-3])), weight_decay=draw(weight_decays),
                amsgrad=draw(st.booleans()), maximize=draw(st.booleans()))


@st.composite
def rmsprop_options(draw):
    return dict(lr=draw(lrs), alpha=draw(st.sampled_from([0.9, 0.99])),
                eps=draw(st.sampled_from([1e-8, 1e-6])), weight_decay=draw(weight_decays),
                momentum=draw(st.sampled_from([0.0, 0.9])), centered=draw(st.booleans()),
                maximize=draw(st.booleans()))


def check_twins(our_cls, torch_cls, options, dtype, seed, group_options=None):
    ours, theirs, optimizer, twin = run_twins(our_cls, torch_cls, options, dtype, seed,
                                              group_options=group_options)
    assert_same_parameters(ours, theirs, dtype)
    assert_same_state(optimizer, twin, ours, theirs, dtype)


@given(options=sgd_options(), dtype=dtypes, seed=seeds)
def test_sgd_matches_torch(options, dtype, seed):
    check_twins(nt.optim.SGD, torch.optim.SGD, options, dtype, seed)


@given(options=adam_options(), dtype=dtypes, seed=seeds)
def test_adam_matches_torch(options, dtype, seed):
    check_twins(nt.optim.Adam, torch.optim.Adam, options, dtype, seed)


@given(options=adam_options(), dtype=dtypes, seed=seeds)
def test_adamw_matches_torch(options, dtype, seed):
    check_twins(nt.optim.AdamW, torch.optim.AdamW, options, dtype, seed)


@given(options=rmsprop_options(), dtype=dtypes, seed=seeds)
def test_rmsprop_matches_torch(options, dtype, seed):
    check_twins(nt.optim.RMSprop, torch.optim.RMSprop, options, dtype, seed)


def test_default_options_match_torch():
    for ours, theirs in [(nt.optim.SGD, torch.optim.SGD), (nt.optim.Adam, torch.optim.Adam),
                         (nt.optim.AdamW, torch.optim.AdamW), (nt.optim.RMSprop, torch.optim.RMSprop)]:
        check_twins(ours, theirs, {}, np.float32, 0)
        optimizer = ours([nt.nn.Parameter(np.zeros(2))])
        twin = theirs([torch.nn.Parameter(torch.zeros(2))])
        for name, value in optimizer.defaults.items():
            assert twin.defaults[name] == value, f"{ours.__name__} default {name}"


def test_param_groups_have_their_own_options():
    groups = [dict(lr=0.1, momentum=0.9), dict(lr=0.01, weight_decay=0.1, nesterov=True, momentum=0.5)]
    check_twins(nt.optim.SGD, torch.optim.SGD, dict(lr=0.05), np.float64, 3, group_options=groups)
    groups = [dict(lr=0.1, betas=(0.5, 0.9)), dict(amsgrad=True)]
    check_twins(nt.optim.AdamW, torch.optim.AdamW, {}, np.float32, 4, group_options=groups)


def test_param_groups_look_like_torchs():
    ours, theirs = twin_parameters([(2,), (3,)], np.float64, 0)
    optimizer = nt.optim.Adam([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.1}], lr=0.01)
    twin = torch.optim.Adam([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.1}], lr=0.01)
    for group, twin_group in zip(optimizer.param_groups, twin.param_groups):
        assert len(group["params"]) == len(twin_group["params"])
        for name, value in group.items():
            if name != "params":
                assert twin_group[name] == value, name


def test_add_param_group_uses_the_defaults():
    ours, theirs = twin_parameters([(2,), (3,)], np.float64, 0)
    optimizer = nt.optim.SGD([ours[0]], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": [ours[1]], "lr": 0.5})
    assert optimizer.param_groups[1]["momentum"] == 0.9
    assert optimizer.param_groups[1]["lr"] == 0.5


def test_frozen_and_gradless_parameters_are_skipped():
    ours, theirs = twin_parameters([(2, 3), (4,), (5,)], np.float32, 0)
    ours[1].requires_grad = False              # frozen: torch never gives it a gradient
    theirs[1].requires_grad_(False)
    ours[2].grad = None                        # like torch's grad None before any backward
    frozen = [ours[1].data.copy(), ours[2].data.copy()]
    optimizer = nt.optim.Adam(ours, lr=0.1, weight_decay=0.1)
    twin = torch.optim.Adam(theirs, lr=0.1, weight_decay=0.1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in ours]
        feed(ours[:2], theirs[:1], grads)
        optimizer.step()
        twin.step()
    np.testing.assert_array_equal(ours[1].data, frozen[0])
    np.testing.assert_array_equal(ours[2].data, frozen[1])
    assert ours[1] not in optimizer.state and ours[2] not in optimizer.state
    assert_same_parameters(ours, theirs, np.float32)


def test_zero_grad_zeroes_in_place():
    param = nt.nn.Parameter(np.ones(3, np.float32))
    param.grad[...] = 5
    grad = param.grad
    nt.optim.SGD([param]).zero_grad()
    assert param.grad is grad and not grad.any()


def test_step_returns_the_closure_loss():
    param = nt.nn.Parameter(np.ones(3))
    assert nt.optim.SGD([param], lr=0.1).step(lambda: 1.5) == 1.5


def test_float32_state_stays_float32_without_float64_temporaries():
    ours, _ = twin_parameters([(4, 4)], np.float32, 0)
    for cls in (nt.optim.SGD, nt.optim.Adam, nt.optim.AdamW, nt.optim.RMSprop):
        optimizer = cls(ours, lr=0.1, weight_decay=0.1)
        ours[0].grad[...] = 1.0
        optimizer.step()
        optimizer.step()
        assert ours[0].data.dtype == np.float32
        for name, value in optimizer.state[ours[0]].items():
            assert not hasattr(value, "dtype") or value.dtype == np.float32, (cls.__name__, name)
        scratch = getattr(optimizer._local, "scratch", {})
        assert all(work.dtype == np.float32 for work in scratch.values())


def test_fast_updates_on_several_threads_equal_the_reference_loop_bit_for_bit(monkeypatch):
    from numpy_transformer.kernels.cpu import threads
    shapes = [(30, 20), (50,), (7, 7, 3), (1,)]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(threads, "MIN_PARALLEL_ELEMENTS", 0)
    monkeypatch.setattr(threads, "MIN_JOB_ELEMENTS", 0)
    results = {}
    for kernel_set in ("reference", "fast"):
        with nt.kernels.using(kernel_set):
            update, threads_seen = nt.kernels.ops.adam_update, set()

            def spy(*args, **kwargs):
                threads_seen.add(threading.get_ident())
                return update(*args, **kwargs)
            nt.kernels.ops.adam_update = spy          # gone when the block swaps the set back
            ours, theirs, optimizer, twin = run_twins(nt.optim.AdamW, torch.optim.AdamW,
                                                      dict(lr=0.01), np.float32, 5, steps=5,
                                                      shapes=shapes)
        assert (len(threads_seen) > 1) == (kernel_set == "fast"), "who ran them"
        results[kernel_set] = [p.data for p in ours]
    assert_same_parameters(ours, theirs, np.float32)
    for sequential, threaded in zip(results["reference"], results["fast"]):
        np.testing.assert_array_equal(sequential, threaded)


def test_a_parameter_that_is_a_strided_view_is_updated_in_place():
    base = np.zeros((4, 6), np.float32)
    param = nt.nn.Parameter(base[:, ::2])
    param.grad[...] = 1.0
    nt.optim.Adam([param], lr=0.1).step()
    np.testing.assert_allclose(base[:, ::2], -0.1, rtol=1e-6)
    assert not base[:, 1::2].any()
