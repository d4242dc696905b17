"""The fast attention split over worker threads gives the unsplit results bit for bit."""
import numpy as np
import pytest

from numpy_transformer.kernels.cpu import attention
from numpy_transformer.kernels.cpu.attention import (scaled_dot_product_attention_backward,
                                                     scaled_dot_product_attention_forward)


@pytest.mark.parametrize("mask_shape", [None, (5, 7), (3, 1, 5, 7), (1, 4, 5, 7)])
def test_sdpa_split_over_worker_threads_gives_identical_results(mask_shape, monkeypatch, rng):
    q, k, v = (rng.standard_normal((3, 4, n, 6)).astype(np.float32) for n in (5, 7, 7))
    mask = None if mask_shape is None else rng.standard_normal(mask_shape).astype(np.float32)

    def run():
        out, cache = scaled_dot_product_attention_forward(
            q, k, v, attn_mask=mask, dropout_p=0.3, generator=np.random.default_rng(1))
        return (out, cache.weights) + scaled_dot_product_attention_backward(np.ones_like(out), cache)
    whole = run()
    if attention._worker_pool() is None:
        pytest.skip("this NumPy's BLAS has no per-thread thread count; attention runs unsplit")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(attention, "MIN_PARALLEL_SCORES", 0)
    get_blas_threads, _ = attention._worker_pool()[1]
    blas_threads = get_blas_threads()
    for got, expected in zip(run(), whole):
        np.testing.assert_array_equal(got, expected)
    assert get_blas_threads() == blas_threads      # big GEMMs elsewhere keep their BLAS threads
