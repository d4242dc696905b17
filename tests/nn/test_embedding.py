"""Embedding against torch.nn.Embedding, the scatter-add against np.add.at, and the errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])


@pytest.mark.fast_too
@given(vocab=st.integers(1, 12), dim=st.integers(1, 6), ids_shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       padding=st.one_of(st.none(), st.integers(-12, 11)), scale_grad_by_freq=st.booleans(),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_embedding_matches_torch(vocab, dim, ids_shape, padding, scale_grad_by_freq, dtype, seed):
    padding = None if padding is None or not -vocab <= padding < vocab else padding
    kwargs = dict(padding_idx=padding, scale_grad_by_freq=scale_grad_by_freq)
    ids = np.random.default_rng(seed).integers(0, vocab, ids_shape)   # small vocab: many repeats
    ours, _ = compare_with_torch(nt.nn.Embedding(vocab, dim, **kwargs), torch.nn.Embedding(vocab, dim, **kwargs),
                                 ids, dtype=dtype, seed=seed)
    assert ours.shape == (*ids_shape, dim)


def test_embedding_functional_gradients(rng):
    ids = np.array([[0, 1, 1], [3, 1, 0]])
    check_functional_gradients(F.embedding_forward, F.embedding_backward, [ids, rng.standard_normal((4, 3))],
                               name="embedding")


def test_embedding_module_gradients(rng):
    check_module_gradients(nt.nn.Embedding(5, 3), np.array([[0, 2, 4, 4], [2, 1, 0, 0]]))


def test_a_single_id_gives_a_single_vector():
    layer = nt.nn.Embedding(5, 3)
    np.testing.assert_array_equal(layer(np.array(2)), layer.weight.data[2])


def test_repeated_ids_sum_their_gradients_and_the_padding_row_gets_none():
    layer = nt.nn.Embedding(4, 2, padding_idx=0).double()
    layer(np.array([[1, 1, 0], [3, 1, 0]]))
    dy = np.arange(12.0).reshape(2, 3, 2)
    assert layer.backward(dy) is None                        # integer ids have no gradient
    expected = np.zeros((4, 2))
    expected[1] = dy[0, 0] + dy[0, 1] + dy[1, 1]
    expected[3] = dy[1, 0]
    np.testing.assert_array_equal(layer.weight.grad, expected)


def test_embedding_called_twice_adds_both_gradients():
    layer = nt.nn.Embedding(3, 2).double()
    layer(np.array([0, 1]))
    layer(np.array([1, 1]))
    layer.backward(np.ones((2, 2)))
    layer.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(layer.weight.grad, [[1, 1], [3, 3], [0, 0]])


def test_init_is_standard_normal_in_float32_with_the_padding_row_zero():
    layer = nt.nn.Embedding(1000, 64, padding_idx=-1)
    assert layer.padding_idx == 999 and layer.weight.dtype == np.float32
    assert (layer.weight.data[999] == 0).all()
    assert abs(layer.weight.data.mean()) < 0.01 and abs(layer.weight.data.std() - 1) < 0.01


def test_from_pretrained_shares_the_table_and_freezes_it_by_default():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    frozen = nt.nn.Embedding.from_pretrained(table, padding_idx=1)
    assert frozen.weight.data is table and (table[1] != 0).all()     # padding row kept as given
    frozen(np.array([0, 1, 2]))
    frozen.backward(np.ones((3, 3), np.float32))
    assert (frozen.weight.grad == 0).all()
    ours = nt.nn.Embedding.from_pretrained(table.astype(np.float64), freeze=False)
    theirs = torch.nn.Embedding.from_pretrained(torch.from_numpy(table.astype(np.float64)), freeze=False)
    compare_with_torch(ours, theirs, np.array([[3, 0, 3]]), copy_weights=False)


def test_repr_and_state_dict_match_torch():
    for kwargs in ({}, {"padding_idx": -2}, {"scale_grad_by_freq": True}):
        ours, theirs = nt.nn.Embedding(10, 3, **kwargs), torch.nn.Embedding(10, 3, **kwargs)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_float_ids_are_rejected():
    with pytest.raises(TypeError, match=r"Embedding\(10, 3\) needs integer input, got float32"):
        nt.nn.Embedding(10, 3)(np.zeros(4, np.float32))


@pytest.mark.parametrize("bad", [10, 57, -1])
def test_ids_out_of_range_name_the_value_and_the_range(bad):
    with pytest.raises(IndexError, match=rf"Embedding\(10, 3\) got id {bad} in input of shape \(2, 2\); "
                                         rf"ids must be in \[0, 9\]"):
        nt.nn.Embedding(10, 3)(np.array([[1, 2], [bad, 3]]))


def test_unsupported_and_invalid_options_are_rejected():
    with pytest.raises(NotImplementedError, match="max_norm"):
        nt.nn.Embedding(10, 3, max_norm=1.0)
    with pytest.raises(ValueError, match=r"padding_idx=10 must be within num_embeddings=10"):
        nt.nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"padding_idx=-11"):
        nt.nn.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(ValueError, match=r"from_pretrained expects 2-D.*got shape \(4,\)"):
        nt.nn.Embedding.from_pretrained(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"_weight has shape \(3, 3\), expected \(10, 3\)"):
        nt.nn.Embedding(10, 3, _weight=np.zeros((3, 3), np.float32))


def test_backward_before_forward_and_wrong_grad_shape():
    layer = nt.nn.Embedding(10, 3)
    with pytest.raises(RuntimeError, match=r"Embedding\(10, 3\).*without a matching forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"grad_output of shape \(2, 4\).*output had shape \(2, 3\)"):
        layer.backward(np.zeros((2, 4), np.float32))
