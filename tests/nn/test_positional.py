"""Sinusoidal and learned positional encodings against torch twins, finite differences, and errors."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])


def torch_sinusoid_table(max_len, d_model):
    """The formula as written in the paper, column by column: angle = pos / 10000^(2i / d_model)."""
    pos = torch.arange(max_len, dtype=torch.float64)
    columns = []
    for j in range(d_model):
        angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), 2 * (j // 2) / d_model)
        columns.append(torch.sin(angle) if j % 2 == 0 else torch.cos(angle))
    return torch.stack(columns, dim=1)


class TorchAddTable(torch.nn.Module):
    """The twin: x + table[:T] (batch_first) or x + table[:T, None]; `pe` or a learned `weight`."""

    def __init__(self, table, learned, batch_first):
        super().__init__()
        self.batch_first = batch_first
        if learned:
            self.weight = torch.nn.Parameter(table)
        else:
            self.register_buffer("pe", table, persistent=False)
        self.learned = learned

    def forward(self, x):
        table = self.weight if self.learned else self.pe
        T = x.shape[1] if self.batch_first else x.shape[0]
        return x + (table[:T] if self.batch_first else table[:T, None])


@pytest.mark.parametrize("max_len, d_model", [(1, 1), (7, 4), (50, 7), (5000, 16)])
def test_sinusoidal_table_matches_the_formula_computed_by_torch(max_len, d_model):
    table = F.sinusoidal_positional_encoding(max_len, d_model, np.float64)
    assert table.shape == (max_len, d_model) and table.dtype == np.float64
    np.testing.assert_allclose(table, torch_sinusoid_table(max_len, d_model).numpy(), rtol=0, atol=1e-9)


def test_sinusoidal_table_is_in_the_default_dtype_and_starts_with_sin0_cos0():
    table = F.sinusoidal_positional_encoding(3, 6)
    assert table.dtype == np.float32
    np.testing.assert_array_equal(table[0], [0, 1, 0, 1, 0, 1])
    assert math.isclose(table[2, 0], math.sin(2), rel_tol=1e-6)


@given(batch=st.integers(1, 3), length=st.integers(1, 8), d_model=st.integers(1, 6),
       batch_first=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_positional_encoding_matches_torch_twin(batch, length, d_model, batch_first, dtype, seed):
    ours = nt.nn.PositionalEncoding(d_model, max_len=10, dropout=0.0, batch_first=batch_first,
                                    dtype=np.float64)     # the table rounded to float32 only if asked
    twin = TorchAddTable(torch_sinusoid_table(10, d_model), learned=False, batch_first=batch_first)
    shape = (batch, length, d_model) if batch_first else (length, batch, d_model)
    compare_with_torch(ours, twin, np.random.default_rng(seed).standard_normal(shape), dtype=dtype, seed=seed)


@given(batch=st.integers(1, 3), length=st.integers(1, 8), d_model=st.integers(1, 6),
       batch_first=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_learned_positional_encoding_matches_torch_twin(batch, length, d_model, batch_first, dtype, seed):
    ours = nt.nn.LearnedPositionalEncoding(10, d_model, batch_first=batch_first)
    twin = TorchAddTable(torch.zeros(10, d_model), learned=True, batch_first=batch_first)
    shape = (batch, length, d_model) if batch_first else (length, batch, d_model)
    compare_with_torch(ours, twin, np.random.default_rng(seed).standard_normal(shape), dtype=dtype, seed=seed)
    assert (ours.weight.grad[length:] == 0).all()          # rows past T get no gradient


@pytest.mark.parametrize("batch_first", [True, False])
def test_add_positional_functional_gradients(batch_first, rng):
    check_functional_gradients(F.add_positional_forward, F.add_positional_backward,
                               [rng.standard_normal((2, 3, 4) if batch_first else (3, 2, 4)),
                                rng.standard_normal((3, 4))],
                               kwargs={"batch_first": batch_first}, name="add_positional")


def test_learned_positional_encoding_module_gradients(rng):
    check_module_gradients(nt.nn.LearnedPositionalEncoding(6, 4), rng.standard_normal((2, 5, 4)))


def test_positional_encoding_dropout_masks_the_sum_and_its_gradient(rng):
    layer = nt.nn.PositionalEncoding(8, max_len=16, dropout=0.5)
    x = rng.standard_normal((4, 16, 8)).astype(np.float32)
    total = x + layer.pe[:16]
    y = layer(x)
    mask = np.divide(y, total, out=np.zeros_like(y), where=total != 0)
    assert set(np.round(np.unique(mask), 5)) == {0.0, 2.0} and y.dtype == np.float32
    dy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy), dy * mask, rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(x), total)


def test_positional_encoding_keeps_its_table_out_of_the_state_dict():
    layer = nt.nn.PositionalEncoding(8, max_len=12)
    assert list(layer.state_dict()) == [] and layer.pe.shape == (12, 8)
    assert layer.double().pe.dtype == np.float64
    assert list(nt.nn.LearnedPositionalEncoding(12, 8).state_dict()) == ["weight"]


def test_learned_table_starts_small_normal():
    weight = nt.nn.LearnedPositionalEncoding(512, 64).weight
    assert weight.dtype == np.float32 and abs(weight.data.std() - 0.02) < 0.001


@pytest.mark.parametrize("make", [lambda: nt.nn.PositionalEncoding(4, max_len=6),
                                  lambda: nt.nn.LearnedPositionalEncoding(6, 4)])
def test_sequence_longer_than_max_len_names_both(make):
    with pytest.raises(ValueError, match=r"sequence of length 7 \(input shape \(2, 7, 4\)\), longer than max_len=6"):
        make()(np.zeros((2, 7, 4), np.float32))


def test_wrong_width_rank_or_dtype_names_the_layer_and_shape():
    layer = nt.nn.PositionalEncoding(4, max_len=6)
    with pytest.raises(ValueError, match=r"PositionalEncoding\(d_model=4.*last dimension \(d_model\) 4, got shape \(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"3-D input \[B, T, D\], got shape \(3, 4\)"):
        layer(np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="float32 parameters but got input of dtype float64"):
        nt.nn.LearnedPositionalEncoding(6, 4)(np.zeros((2, 3, 4)))
    with pytest.raises(RuntimeError, match=r"LearnedPositionalEncoding.*without a matching forward"):
        nt.nn.LearnedPositionalEncoding(6, 4).backward(np.zeros((2, 3, 4), np.float32))
