"""needs_input_grad=False: a layer fed with data skips its input gradient, nothing else changes."""
import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer import nn


def _grads_and_dx(build, x, dy, needs_input_grad, layer=lambda m: m):
    nt.manual_seed(0)
    model = build()
    layer(model).needs_input_grad = needs_input_grad
    model(x)
    dx = model.backward(dy)
    return dx, [p.grad.copy() for p in model.parameters()], model


LAYERS = {
    "Linear 3-D": (lambda: nn.Linear(5, 4), (2, 3, 5), (2, 3, 4)),
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 6, 6), (2, 4, 6, 6)),
    "Conv2d unbatched": (lambda: nn.Conv2d(3, 4, 3), (3, 6, 6), (4, 4, 4)),
    "Conv2d, rows of 16 or more (blocks of images)": (lambda: nn.Conv2d(1, 4, 3, padding=1),
                                                      (3, 1, 20, 20), (3, 4, 20, 20)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), (2, 3, 4, 4),
                        (2, 2, 8, 8)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_without_input_grad_returns_none_and_the_same_parameter_gradients(name):
    build, x_shape, y_shape = LAYERS[name]
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal(x_shape), rng.standard_normal(y_shape)
    dx, grads, _ = _grads_and_dx(lambda: build().double(), x, dy, True)
    skipped, grads_skipped, layer = _grads_and_dx(lambda: build().double(), x, dy, False)
    assert dx.shape == x.shape and skipped is None
    for g, h in zip(grads, grads_skipped):
        np.testing.assert_array_equal(g, h)
    assert not layer._caches


def test_sequential_stops_at_the_layer_that_skips_and_forgets_the_reshapes_before_it():
    build = lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 2))
    rng = np.random.default_rng(1)
    x, dy = rng.standard_normal((4, 3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)
    dx, grads, _ = _grads_and_dx(build, x, dy, True, layer=lambda m: m[1])
    skipped, grads_skipped, model = _grads_and_dx(build, x, dy, False, layer=lambda m: m[1])
    assert dx.shape == x.shape and skipped is None
    for g, h in zip(grads, grads_skipped):
        np.testing.assert_array_equal(g, h)
    assert all(not m._caches for m in model.modules())


def test_a_layer_with_parameters_before_the_one_that_skips_is_an_error():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[1].needs_input_grad = False
    model(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=3, out_features=2.*Linear\(in_features=3, "
                                           r"out_features=3.*first layer"):
        model.backward(np.ones((2, 2), np.float32))


@pytest.mark.parametrize("build, shape", [
    (lambda **k: nt.models.MLP((12, 8, 3), **k), (5, 12)),
    (lambda **k: nt.models.CNN(in_channels=2, image_size=8, channels=(4, 6), hidden=10,
                               dropout=0.0, **k), (3, 2, 8, 8)),
])
def test_mlp_and_cnn_skip_the_input_gradient_unless_asked(build, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    results = {}
    for flag in (False, True):
        nt.manual_seed(0)
        model = build(needs_input_grad=flag)
        y = model(x)
        dx = model.backward(np.ones_like(y))
        results[flag] = dx, [p.grad.copy() for p in model.parameters()]
    assert results[False][0] is None and results[True][0].shape == x.shape
    for g, h in zip(results[False][1], results[True][1]):
        np.testing.assert_array_equal(g, h)
