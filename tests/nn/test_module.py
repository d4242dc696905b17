"""The Module contract: discovery by attribute, state dicts, modes, cache stack, no_grad."""
import numpy as np
import pytest
import torch

import numpy_transformer as nt
from numpy_transformer import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1, bias=False)])
        self.register_buffer("steps", np.zeros((), np.int64))


class TorchTwoLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
        self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 2), torch.nn.Linear(4, 1, bias=False)])
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))


def test_parameter_and_state_dict_names_equal_pytorch():
    ours, theirs = TwoLayer(), TorchTwoLayer()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())


def test_load_state_dict_roundtrip_and_errors():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    with pytest.raises(KeyError, match="missing keys \\['body.0.bias'\\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "body.0.bias"})
    bad = dict(a.state_dict(), **{"body.0.weight": np.zeros((5, 3), np.float32)})
    with pytest.raises(ValueError, match=r"'body.0.weight' has shape \(5, 3\).*\(4, 3\)"):
        b.load_state_dict(bad)


def test_load_state_dict_writes_in_place():
    layer = nn.Linear(2, 2)
    weight = layer.weight.data
    layer.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert layer.weight.data is weight and weight.dtype == np.float32 and (weight == 1).all()


def test_tied_parameter_is_listed_once_and_sums_gradients(rng):
    first, second = nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)
    second.weight = first.weight
    model = nn.Sequential(first, second).double()
    assert len(list(model.parameters())) == 1
    x = rng.standard_normal((2, 3))
    model.backward(np.ones_like(model(x)))
    w = torch.from_numpy(first.weight.data.copy()).requires_grad_()
    (torch.from_numpy(x) @ w.T @ w.T).sum().backward()
    np.testing.assert_allclose(first.weight.grad, w.grad.numpy(), rtol=1e-12)


def test_train_eval_propagate_to_children():
    model = TwoLayer().eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_no_grad_keeps_no_cache_and_backward_then_fails(rng):
    layer = nn.Linear(3, 2)
    with nt.no_grad():
        layer(rng.standard_normal((1, 3)).astype(np.float32))
    assert nt.is_grad_enabled()
    with pytest.raises(RuntimeError, match="no_grad"):
        layer.backward(np.ones((1, 2), np.float32))


def test_zero_grad_and_double_conversion(rng):
    layer = nn.Linear(3, 2)
    layer(np.ones((1, 3), np.float32))
    layer.backward(np.ones((1, 2), np.float32))
    assert np.abs(layer.weight.grad).sum() > 0
    layer.zero_grad()
    assert np.abs(layer.weight.grad).sum() == 0
    layer.double()
    assert layer.weight.dtype == layer.weight.grad.dtype == np.float64



def test_after_zero_grad_backward_writes_the_gradient_then_adds_into_the_same_array(rng):
    layer = nn.Linear(3, 2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    dy = rng.standard_normal((4, 2)).astype(np.float32)
    layer(x)
    layer.backward(dy)
    grad_array = layer.weight.grad
    layer.zero_grad()
    for calls in (1, 2):                       # k calls before backward: the gradient k times
        for _ in range(calls):
            layer(x)
        for _ in range(calls):
            layer.backward(dy)
        np.testing.assert_allclose(layer.weight.grad, calls * dy.T @ x, rtol=1e-6)
        assert layer.weight.grad is grad_array
        layer.zero_grad()
    np.testing.assert_array_equal(layer.bias.grad, 0)    # read before any backward: zeros


def test_a_gradient_set_to_none_stays_none_through_zero_grad():
    param = nn.Parameter(np.ones(3, np.float32))
    param.grad = None
    param.zero_grad()
    assert param.grad is None

def test_free_caches_drops_pending_forward_calls():
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    model(np.ones((1, 2), np.float32))
    model.free_caches()
    with pytest.raises(RuntimeError):
        model.backward(np.ones((1, 2), np.float32))


def test_same_seed_same_weights():
    nt.manual_seed(3)
    a = nn.Linear(5, 5).weight.data.copy()
    nt.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(5, 5).weight.data)


def test_repr_lists_children():
    text = repr(TwoLayer())
    assert "(body): Sequential(" in text and "(0): Linear(in_features=4, out_features=2" in text


def test_module_without_super_init_fails_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Broken()
