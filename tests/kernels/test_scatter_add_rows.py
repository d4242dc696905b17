"""scatter_add_rows, the fast embedding backward's scatter: np.add.at's sums for any ids."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpy_transformer.kernels.cpu.embedding import scatter_add_rows


def _distributions():
    rng = np.random.default_rng(0)
    return {
        "all distinct": rng.permutation(500)[:300],
        "uniform over a large vocabulary": rng.integers(0, 2000, 600),
        "zipf (a few very frequent ids)": np.minimum(rng.zipf(1.3, 600), 999),
        "one id": np.full(200, 7),
        "every id 5 times": np.repeat(np.arange(80), 5),
        "small vocabulary": rng.integers(0, 50, 600),
    }


@pytest.mark.parametrize("name", list(_distributions()))
def test_scatter_add_rows_equals_np_add_at(name):
    ids = _distributions()[name]
    rows = np.random.default_rng(1).standard_normal((ids.size, 4))
    expected = np.random.default_rng(2).standard_normal((ids.max() + 3, 4))
    target = expected.copy()
    np.add.at(expected, ids, rows)
    scatter_add_rows(target, ids, rows)
    np.testing.assert_allclose(target, expected, rtol=1e-12, atol=1e-12)


@given(ids=st.lists(st.integers(0, 40), max_size=120), seed=st.integers(0, 2**16))
def test_scatter_add_rows_equals_np_add_at_for_any_ids(ids, seed):
    ids = np.array(ids, dtype=np.int64)
    rows = np.random.default_rng(seed).standard_normal((ids.size, 3)).astype(np.float32)
    expected, target = np.zeros((41, 3), np.float32), np.zeros((41, 3), np.float32)
    np.add.at(expected, ids, rows)
    scatter_add_rows(target, ids, rows)
    np.testing.assert_allclose(target, expected, rtol=1e-5, atol=1e-5)
