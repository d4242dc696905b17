"""deferred_weight_grads: the same gradients, bit for bit, with the weight products on a worker
and every gradient of the block added in order when it ends."""
import threading

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.kernels.cpu import deferred
from numpy_transformer.kernels.cpu.blas import blas_thread_control
from numpy_transformer.models import GPT, GPTConfig
from numpy_transformer.train import Task


def _stack(seed):
    """Linears (one of them used twice, one without bias) and a MultiheadAttention."""
    nt.manual_seed(seed)
    shared = nt.nn.Linear(8, 8)
    return shared, nt.nn.Linear(8, 6, bias=False), nt.nn.MultiheadAttention(6, 2, batch_first=True)


def _gradients(in_block, seed=0):
    shared, last, attention = _stack(seed)
    x = np.random.default_rng(seed).standard_normal((3, 5, 8)).astype(np.float32)
    h = last(shared(shared(x)))
    y, _ = attention(h, h, h)
    with nt.kernels.deferred_weight_grads(enabled=in_block):
        d_h = sum(attention.backward(np.ones_like(y)))
        shared.backward(shared.backward(last.backward(d_h)))
    return [p.grad.copy() for m in (shared, last, attention) for p in m.parameters()]


def test_deferred_gradients_equal_the_plain_ones_exactly():
    for plain, in_block in zip(_gradients(False), _gradients(True)):
        np.testing.assert_array_equal(plain, in_block)


def test_gradients_arrive_when_the_block_ends():
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    layer.zero_grad()
    with nt.kernels.deferred_weight_grads():
        dx = layer.backward(np.ones((2, 3), np.float32))
        np.testing.assert_array_equal(layer.weight.grad, 0)      # not yet: still on the worker
    np.testing.assert_array_equal(dx, np.ones((2, 3), np.float32) @ layer.weight.data)
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))
    np.testing.assert_array_equal(layer.bias.grad, np.full(3, 2.0))


def test_a_nested_block_joins_the_outer_one():
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    layer.zero_grad()
    with nt.kernels.deferred_weight_grads():
        with nt.kernels.deferred_weight_grads():
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
        with nt.kernels.deferred_weight_grads():
            layer.backward(np.ones((2, 3), np.float32))
            raise RuntimeError("stop")
    np.testing.assert_array_equal(layer.weight.grad, 0)
    if control:
        assert control[0]() == threads
    layer(np.ones((2, 4), np.float32))                              # and the next one works
    with nt.kernels.deferred_weight_grads():
        layer.backward(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))


def _gpt_gradients(deferred_block, steps=2):
    """A tied GPT's gradients after `steps` backward passes without zero_grad between them, so
    the tied table and every other parameter sum several contributions."""
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    ids = np.random.default_rng(0).integers(0, 11, (2, 8))
    nt.manual_seed(0)
    model = GPT(config)
    for _ in range(steps):
        logits = model(ids)
        with nt.kernels.deferred_weight_grads(enabled=deferred_block):
            model.backward(np.ones_like(logits))
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def test_a_whole_gpt_backward_in_the_block_gives_the_plain_gradients_bit_for_bit():
    plain, in_block = _gpt_gradients(False), _gpt_gradients(True)
    for name in plain:
        np.testing.assert_array_equal(in_block[name], plain[name], err_msg=name)


@pytest.mark.parametrize("layer_class", [nt.nn.RNN, nt.nn.LSTM, nt.nn.GRU])
def test_recurrent_layers_in_the_block_give_the_plain_gradients_bit_for_bit(layer_class,
                                                                          monkeypatch):
    """Two layers, both directions, 5 time steps: the weight products of each chunk of 2 steps
    go to the worker while the time loop goes on."""
    from numpy_transformer.kernels.cpu import time_chunks
    monkeypatch.setattr(time_chunks, "CHUNK_STEPS", 2)
    x = np.random.default_rng(0).standard_normal((5, 3, 6)).astype(np.float32)   # [L, N, I]

    def gradients(in_block):
        nt.manual_seed(0)
        layer = layer_class(6, 4, num_layers=2, bidirectional=True)
        out, _ = layer(x)
        with nt.kernels.deferred_weight_grads(enabled=in_block):
            dx = layer.backward(np.ones_like(out))
        return [dx] + [p.grad.copy() for p in layer.parameters()]
    for plain, in_block in zip(gradients(False), gradients(True)):
        np.testing.assert_array_equal(in_block, plain)


def test_the_reference_set_defers_nothing():
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    with nt.kernels.using("reference"), nt.kernels.deferred_weight_grads():
        layer.backward(np.ones((2, 3), np.float32))
        np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))


@pytest.mark.parametrize("defer", [True, False])
def test_a_task_defers_when_its_recipe_says_so(defer, monkeypatch):
    submitted = []
    worker = deferred._get_worker()
    real_submit = worker.submit
    monkeypatch.setattr(worker, "submit", lambda fn: submitted.append(fn) or real_submit(fn))
    layer = nt.nn.Linear(4, 3)
    layer(np.ones((2, 4), np.float32))
    Task({"layer": layer}, defer_weight_grads=defer).backward(layer, np.ones((2, 3), np.float32))
    assert len(submitted) == (2 if defer else 0)            # the weight's and the bias's products
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 4), 2.0))


@pytest.mark.parametrize("recipe, defers", [("digits", False), ("reverse", True)])
def test_transformer_recipes_defer_and_mlp_recipes_do_not(recipe, defers):
    from numpy_transformer.recipes import get_recipe
    recipe = get_recipe(recipe)
    assert recipe.build(recipe.make_config(), None).task.defer_weight_grads is defers


def test_the_same_worker_serves_every_block():
    layer = nt.nn.Linear(4, 3)
    for _ in range(2):
        layer(np.ones((2, 4), np.float32))
        threads_before = threading.active_count()
        with nt.kernels.deferred_weight_grads():
            layer.backward(np.ones((2, 3), np.float32))
    assert threading.active_count() == threads_before
