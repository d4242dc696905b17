"""The GPU kernel set equals the reference on CuPy arrays (runs where CuPy finds a GPU:
benchmarks/gpu_check.sh; skipped elsewhere)."""
import numpy as np
import pytest

from numpy_transformer.device import DeviceError, array_module, get_device, to_device, to_host
from numpy_transformer.nn import functional as F

try:
    get_device("cuda")
except DeviceError as error:
    pytest.skip(f"no CUDA device: {error}", allow_module_level=True)

from numpy_transformer.kernels import cuda  # noqa: E402

K = cuda.kernels()
RNG = np.random.default_rng(0)


def on_gpu(*arrays):
    return [to_device(a, "cuda") if isinstance(a, np.ndarray) else a for a in arrays]


def close(got, expected, dtype):
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(got, expected):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(to_host(a), to_host(b), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dtype, approximate):
    x, dy = on_gpu(*(RNG.standard_normal((7, 33)).astype(dtype) for _ in range(2)))
    y, cache = K["gelu_forward"](x, approximate)
    y_ref, cache_ref = F.gelu_forward(x, approximate)
    close([y, K["gelu_backward"](dy, cache)], [y_ref, F.gelu_backward(dy, cache_ref)], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_dims, affine, bias", [(1, True, True), (1, True, False),
                                                  (1, False, False), (2, True, True)])
def test_layer_norm(dtype, n_dims, affine, bias):
    x, dy = on_gpu(*(RNG.standard_normal((3, 5, 6)).astype(dtype) for _ in range(2)))
    shape = x.shape[3 - n_dims:]
    weight = to_device(RNG.standard_normal(shape).astype(dtype), "cuda") if affine else None
    b = to_device(RNG.standard_normal(shape).astype(dtype), "cuda") if bias else None
    y, cache = K["layer_norm_forward"](x, weight, b, n_dims)
    y_ref, cache_ref = F.layer_norm_forward(x, weight, b, n_dims)
    close([y, *K["layer_norm_backward"](dy, cache)],
          [y_ref, *F.layer_norm_backward(dy, cache_ref)], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"ignore_index": 2}, {"label_smoothing": 0.1},
                                     {"reduction": "sum"}])
def test_cross_entropy(dtype, options):
    x = to_device(RNG.standard_normal((9, 65)).astype(dtype), "cuda")
    t = to_device(RNG.integers(0, 65, 9) % 5, "cuda")
    loss, cache = K["cross_entropy_forward"](x, t, **options)
    ref, cache_ref = F.cross_entropy_forward(x, t, **options)
    one = array_module(x).asarray(1.0, dtype=dtype)
    close([loss, K["cross_entropy_backward"](one, cache)],
          [ref, F.cross_entropy_backward(one, cache_ref)], dtype)
