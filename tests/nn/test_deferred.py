"""deferred_weight_grads: the same gradients, bit for bit, with the weight products on a worker."""
import contextlib

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer._blas import blas_thread_control
from numpy_transformer.models import GPT, GPTConfig


def _stack(seed):
    """Linears (one of them used twice, one without bias) and a MultiheadAttention."""
    nt.manual_seed(seed)
    shared = nt.nn.Linear(8, 8)
    return shared, nt.nn.Linear(8, 6, bias=False), nt.nn.MultiheadAttention(6, 2, batch_first=True)


def _gradients(deferred, seed=0):
    shared, last, attention = _stack(seed)
    x = np.random.default_rng(seed).standard_normal((3, 5, 8)).astype(np.float32)
    h = last(shared(shared(x)))
    y, _ = attention(h, h, h)
    with nt.nn.deferred_weight_grads(enabled=deferred):
        d_h = sum(attention.backward(np.ones_like(y)))
        shared.backward(shared.backward(last.backward(d_h)))
    return [p.grad.copy() for m in (shared, last, attention) for p in m.parameters()]


def test_deferred_gradients_equal_the_plain_ones_exactly():
    for plain, deferred in zip(_gradients(False), _gradients(True)):
        np.testing.assert_array_equal(plain, deferred)


def test_gradients_arrive_when_the_block_ends():
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    layer.zero_grad()
    with nt.nn.deferred_weight_grads():
        dx = layer.backward(np.ones((2, 3), np.float32))
        np.testing.assert_array_equal(layer.weight.grad, 0)      # not yet: still on the worker
    np.testing.assert_array_equal(dx, np.ones((2, 3), np.float32) @ layer.weight.data)
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))
    np.testing.assert_array_equal(layer.bias.grad, np.full(3, 2.0))


def test_a_nested_block_joins_the_outer_one():
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    layer.zero_grad()
    with nt.nn.deferred_weight_grads():
        with nt.nn.deferred_weight_grads():
            layer.backward(np.ones((2, 3), np.float32))
        np.testing.assert_array_equal(layer.weight.grad, 0)
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))


def test_an_error_inside_drops_the_pending_gradients_and_restores_blas_threads():
    control = blas_thread_control()
    threads = control[0]() if control else None
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    layer.zero_grad()
    with pytest.raises(RuntimeError, match="stop"):
        with nt.nn.deferred_weight_grads():
            layer.backward(np.ones((2, 3), np.float32))
            raise RuntimeError("stop")
    np.testing.assert_array_equal(layer.weight.grad, 0)
    if control:
        assert control[0]() == threads
    layer(np.ones((2, 4), np.float32))                              # and the next one works
    with nt.nn.deferred_weight_grads():
        layer.backward(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))


def test_gpt_backward_defers_and_matches_a_plain_backward(monkeypatch):
    """GPT.backward opens a block itself; with the block made a no-op every Linear adds its
    gradient on the spot, and the gradients are the same bits."""
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    ids = np.random.default_rng(0).integers(0, 11, (2, 8))

    def gradients():
        nt.manual_seed(0)
        model = GPT(config)
        model.backward(np.ones_like(model(ids)))
        return {name: p.grad.copy() for name, p in model.named_parameters()}
    deferred = gradients()
    monkeypatch.setattr(nt.nn, "deferred_weight_grads", lambda: contextlib.nullcontext())
    plain = gradients()
    for name in plain:
        np.testing.assert_array_equal(deferred[name], plain[name], err_msg=name)
