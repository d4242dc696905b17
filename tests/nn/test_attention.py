"""Scaled dot-product attention and MultiheadAttention against torch, finite differences, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (assert_close, check_functional_gradients,
                                       check_module_gradients, compare_with_torch, tolerances)

pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")
dtypes = st.sampled_from([np.float64, np.float32])
# the twins are cheap and the options many: more examples than the profile's default
many = settings(max_examples=max(60, settings().max_examples))


# ---------------------------------------------------------------- scaled dot-product attention
def sdpa_mask(kind, rng, lead, L, S):
    """torch's SDPA convention: bool True = takes part (key 0 always does), float = added."""
    if kind == "bool":
        mask = rng.random((*lead, L, S)) > 0.4
        mask[..., 0] = True
        return mask
    if kind == "float":
        return rng.standard_normal((L, S))
    return None


@pytest.mark.fast_too
@many
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), L=st.integers(1, 5),
       S=st.integers(1, 5), E=st.integers(1, 4), Ev=st.integers(1, 4),
       mask=st.sampled_from([None, "bool", "float", "causal"]), scale=st.sampled_from([None, 0.7]),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_sdpa_matches_torch(lead, L, S, E, Ev, mask, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((*lead, n, e)).astype(dtype)
               for n, e in ((L, E), (S, E), (S, Ev)))
    attn_mask = sdpa_mask(mask, rng, lead, L, S)
    kwargs = dict(attn_mask=attn_mask, is_causal=mask == "causal", scale=scale)
    out, cache = F.scaled_dot_product_attention_forward(q, k, v, **kwargs)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = F.scaled_dot_product_attention_backward(dout, cache)

    tq, tk, tv = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    t_mask = None if attn_mask is None else torch.from_numpy(attn_mask.astype(
        bool if mask == "bool" else dtype))
    t_out = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=t_mask, is_causal=mask == "causal", scale=scale)
    t_out.backward(torch.from_numpy(dout))
    rtol, atol = tolerances(dtype)
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)
    assert_close(out, t_out.detach().numpy(), rtol, atol, "output")
    for name, g, t in zip("qkv", grads, (tq, tk, tv)):
        assert_close(g, t.grad.numpy(), rtol, atol, f"d_{name}")


def test_sdpa_broadcasts_leading_dims_and_sums_their_gradients(rng):
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((1, 6, 5)), rng.standard_normal((6, 2))
    out, cache = F.scaled_dot_product_attention_forward(q, k, v)
    assert out.shape == (2, 3, 4, 2)
    dq, dk, dv = F.scaled_dot_product_attention_backward(np.ones_like(out), cache)
    assert (dq.shape, dk.shape, dv.shape) == (q.shape, k.shape, v.shape)
    check_functional_gradients(F.scaled_dot_product_attention_forward,
                               F.scaled_dot_product_attention_backward, [q, k, v])


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
def test_sdpa_finite_differences(mask, rng):
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    kwargs = dict(attn_mask=sdpa_mask(mask, rng, (2,), 3, 5), is_causal=mask == "causal")
    check_functional_gradients(F.scaled_dot_product_attention_forward,
                               F.scaled_dot_product_attention_backward, [q, k, v], kwargs=kwargs,
                               name=f"sdpa mask={mask}")


def test_sdpa_dropout_backward_uses_the_forward_mask(rng):
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 2))

    def forward(q, k, v):   # the same generator state on every call: the same dropout mask
        return F.scaled_dot_product_attention_forward(q, k, v, dropout_p=0.4,
                                                      generator=np.random.default_rng(7))
    check_functional_gradients(forward, F.scaled_dot_product_attention_backward, [q, k, v])
    out, cache = forward(q, k, v)
    dropped = cache.dropout_mask == 0
    assert dropped.any() and (cache.dropped_weights[dropped] == 0).all()
    kept = ~dropped
    np.testing.assert_allclose(cache.dropped_weights[kept], cache.weights[kept] / 0.6, rtol=1e-12)
    np.testing.assert_allclose(out, cache.dropped_weights @ v, rtol=1e-12)


def test_sdpa_weights_are_in_the_cache_and_rows_sum_to_one(rng):
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    out, cache = F.scaled_dot_product_attention_forward(q, k, v, is_causal=True)
    scores = q @ k.T / 2 + np.triu(np.full((3, 5), -np.inf), 1)
    expected = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(cache.weights, expected / expected.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(cache.weights.sum(-1), 1, rtol=1e-12)
    assert (cache.weights[0, 1:] == 0).all()


def test_softmax_is_stable_and_a_fully_masked_row_gives_zeros_not_nan():
    scores = np.array([[1000.0, 0.0, -1000.0], [-np.inf, -np.inf, -np.inf]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        weights = F.masked_softmax(scores)
    np.testing.assert_array_equal(weights, [[1, 0, 0], [0, 0, 0]])
    q = np.ones((2, 2, 3), np.float32)
    out, cache = F.scaled_dot_product_attention_forward(
        q, q, q, attn_mask=np.array([[True, True], [False, False]]))
    dq, dk, dv = F.scaled_dot_product_attention_backward(np.ones_like(out), cache)
    assert np.isfinite(out).all() and (out[:, 1] == 0).all()
    assert all(np.isfinite(g).all() for g in (dq, dk, dv))


def test_sdpa_errors():
    q = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention_forward(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"query \(2, 3, 4\) and key \(2, 3, 5\)"):
        F.scaled_dot_product_attention_forward(q, np.zeros((2, 3, 5)), q)
    with pytest.raises(TypeError, match="floating key"):
        F.scaled_dot_product_attention_forward(q, q.astype(int), q)
    with pytest.raises(TypeError, match="bool or floating"):
        F.scaled_dot_product_attention_forward(q, q, q, attn_mask=np.ones((3, 3), int))


# ---------------------------------------------------------------- MultiheadAttention
class SelfAttention(nt.nn.Module):
    """One array as query, key and value; backward sums the three gradients, or asks the
    attention for their sum (`merge_shared`)."""

    def __init__(self, attn, merge_shared=False):
        super().__init__()
        self.attn, self.merge_shared = attn, merge_shared

    def forward(self, x, **kwargs):
        return self.attn(x, x, x, **kwargs)

    def backward(self, grad):
        if self.merge_shared:
            (d_x,) = self.attn.backward(grad, merge_shared=True)
            return d_x
        d_query, d_key, d_value = self.attn.backward(grad)
        return d_query + d_key + d_value


class CrossAttention(SelfAttention):
    """Attend from x to memory (memory as key and value)."""

    def forward(self, x, memory, **kwargs):
        return self.attn(x, memory, memory, **kwargs)

    def backward(self, grad):
        if self.merge_shared:
            return self.attn.backward(grad, merge_shared=True)
        d_query, d_key, d_value = self.attn.backward(grad)
        return d_query, d_key + d_value


class TorchSelfAttention(torch.nn.Module):
    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x, **kwargs):
        return self.attn(x, x, x, **kwargs)


class TorchCrossAttention(TorchSelfAttention):
    def forward(self, x, memory, **kwargs):
        return self.attn(x, memory, memory, **kwargs)


def mha_masks(rng, attn_kind, padding_kind, N, H, L, S, batched):
    """torch's MHA convention: bool True = not allowed; key 0 stays allowed in every row."""
    attn_mask = padding = None
    if attn_kind is not None:
        float_mask, ndim = attn_kind.split("-")
        shape = (L, S) if ndim == "2d" else ((N * H if batched else H), L, S)
        if float_mask == "causal":
            attn_mask = np.triu(np.full((L, S), -np.inf), 1)
        elif float_mask == "bool":
            attn_mask = rng.random(shape) < 0.4
            attn_mask[..., 0] = False
        else:
            attn_mask = rng.standard_normal(shape)
    if padding_kind is not None:
        padding = rng.random((N, S) if batched else (S,)) < 0.4
        padding[..., 0] = False
        if padding_kind == "float":
            padding = np.where(padding, -np.inf, rng.standard_normal(padding.shape))
    return attn_mask, padding


ATTN_MASKS = [None, "bool-2d", "float-2d", "bool-3d", "float-3d", "causal-2d"]


@st.composite
def attention_cases(draw):
    H, D = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["self", "cross", "separate"]))
    L, S = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    other_dims = kind != "self" and draw(st.booleans())
    kdim = draw(st.integers(1, 5)) if other_dims else None
    vdim = (kdim if kind == "cross" else draw(st.integers(1, 5))) if other_dims else None
    return dict(E=H * D, H=H, kind=kind, N=draw(st.integers(1, 3)), L=L, S=L if kind == "self" else S,
                kdim=kdim, vdim=vdim, batch_first=draw(st.booleans()), batched=draw(st.booleans()),
                bias=draw(st.booleans()), attn_mask=draw(st.sampled_from(ATTN_MASKS)),
                padding=draw(st.sampled_from([None, "bool", "float"])),
                need_weights=draw(st.booleans()), average=draw(st.booleans()),
                merge_shared=draw(st.booleans()))


@pytest.mark.fast_too
@many
@given(case=attention_cases(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_multihead_attention_matches_torch(case, dtype, seed):
    c, rng = case, np.random.default_rng(seed)
    E, N, L, S = c["E"], c["N"], c["L"], c["S"]
    if c["attn_mask"] == "causal-2d" and c["L"] != c["S"]:
        c["attn_mask"] = "float-2d"
    options = dict(bias=c["bias"], kdim=c["kdim"], vdim=c["vdim"], batch_first=c["batch_first"])
    ours = nt.nn.MultiheadAttention(E, c["H"], **options)
    theirs = torch.nn.MultiheadAttention(E, c["H"], **options)

    def seq(length, dim):
        if not c["batched"]:
            return rng.standard_normal((length, dim))
        return rng.standard_normal((N, length, dim) if c["batch_first"] else (length, N, dim))
    attn_mask, padding = mha_masks(rng, c["attn_mask"], c["padding"], N, c["H"], L, S, c["batched"])
    kwargs = dict(attn_mask=attn_mask, key_padding_mask=padding, need_weights=c["need_weights"],
                  average_attn_weights=c["average"], is_causal=c["attn_mask"] == "causal-2d")
    query = seq(L, E)
    if c["kind"] == "self":
        compare_with_torch(SelfAttention(ours, c["merge_shared"]), TorchSelfAttention(theirs), query,
                           kwargs=kwargs, dtype=dtype, seed=seed)
    elif c["kind"] == "cross":
        compare_with_torch(CrossAttention(ours, c["merge_shared"]), TorchCrossAttention(theirs), query,
                           seq(S, c["kdim"] or E), kwargs=kwargs, dtype=dtype, seed=seed)
    else:
        compare_with_torch(ours, theirs, query, seq(S, c["kdim"] or E), seq(S, c["vdim"] or E),
                           kwargs=kwargs, dtype=dtype, seed=seed)


@pytest.mark.parametrize("attn_kind", ATTN_MASKS)
@pytest.mark.parametrize("padding_kind", [None, "bool", "float"])
def test_every_mask_kind_with_several_heads_and_batches(attn_kind, padding_kind, rng):
    """3-D masks are [N * num_heads, L, S] with the batch outer, as torch lays them out."""
    ours, theirs = nt.nn.MultiheadAttention(6, 3), torch.nn.MultiheadAttention(6, 3)
    attn_mask, padding = mha_masks(rng, attn_kind, padding_kind, 2, 3, 4, 4, batched=True)
    kwargs = dict(attn_mask=attn_mask, key_padding_mask=padding, average_attn_weights=False,
                  is_causal=attn_kind == "causal-2d")
    compare_with_torch(SelfAttention(ours), TorchSelfAttention(theirs), rng.standard_normal((4, 2, 6)),
                       kwargs=kwargs)


@pytest.mark.parametrize("average", [True, False])
def test_attention_weights_equal_torch_averaged_and_per_head(average, rng):
    ours = nt.nn.MultiheadAttention(6, 3, batch_first=True)
    theirs = torch.nn.MultiheadAttention(6, 3, batch_first=True)
    x = rng.standard_normal((2, 5, 6))
    (out, weights), _ = compare_with_torch(SelfAttention(ours), TorchSelfAttention(theirs), x,
                                           kwargs=dict(average_attn_weights=average))
    assert weights.shape == ((2, 5, 5) if average else (2, 3, 5, 5))
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-12)


def test_state_dict_keys_and_init_follow_torch():
    for options in (dict(), dict(kdim=3, vdim=5), dict(bias=False)):
        ours, theirs = nt.nn.MultiheadAttention(8, 2, **options), torch.nn.MultiheadAttention(8, 2, **options)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [(n, p.shape) for n, p in ours.named_parameters()] == \
               [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    attn = nt.nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6 / (64 + 3 * 64))                 # xavier_uniform_ on [3E, E]
    w = attn.in_proj_weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and w.std() > 0.5 * bound
    assert (attn.in_proj_bias.data == 0).all() and (attn.out_proj.bias.data == 0).all()
    assert np.abs(attn.out_proj.weight.data).max() <= 1 / 8   # Linear's default


def test_multihead_attention_finite_differences(rng):
    attn = nt.nn.MultiheadAttention(4, 2, kdim=3, vdim=5)
    q, k, v = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 5))
    padding = np.array([[False, False, True, False], [False, True, True, False]])
    check_module_gradients(attn, q, k, v, kwargs=dict(key_padding_mask=padding), n_grads=1)


class Reseeded(SelfAttention):
    """Reset the global seed before every forward, so dropout draws the same mask each time."""

    def forward(self, x, **kwargs):
        nt.manual_seed(3)
        return super().forward(x, **kwargs)


def test_dropout_on_weights_in_training_and_backward_uses_the_same_mask(rng):
    x = rng.standard_normal((5, 2, 4))
    attn = nt.nn.MultiheadAttention(4, 2, dropout=0.5).double()
    _, weights = attn(x, x, x, average_attn_weights=False)
    _, clean = attn.eval()(x, x, x, average_attn_weights=False)
    attn.train().free_caches()
    dropped = weights == 0
    assert 0.2 < dropped.mean() < 0.8
    np.testing.assert_allclose(weights[~dropped], clean[~dropped] / 0.5, rtol=1e-12)  # kept: / (1 - p)
    check_module_gradients(Reseeded(attn), x, n_grads=1)


def test_no_dropout_in_eval_mode(rng):
    x = rng.standard_normal((5, 2, 4))
    attn = nt.nn.MultiheadAttention(4, 2, dropout=0.9).double().eval()
    plain = nt.nn.MultiheadAttention(4, 2).double()
    plain.load_state_dict(attn.state_dict())
    out, weights = attn(x, x, x)
    np.testing.assert_array_equal(out, plain(x, x, x)[0])
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-12)


def test_fully_padded_batch_gives_zero_attention_not_nan(rng):
    ours, theirs = nt.nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2)
    x = rng.standard_normal((3, 2, 4))
    padding = np.array([[False, True, False], [True, True, True]])   # batch 1: every key is padding
    (out, _), (dx,) = compare_with_torch(SelfAttention(ours), TorchSelfAttention(theirs), x,
                                         kwargs=dict(key_padding_mask=padding, need_weights=False))
    assert np.isfinite(out).all() and np.isfinite(dx).all()


@pytest.mark.parametrize("kdim", [None, 3])
def test_merged_gradients_are_one_per_distinct_input_array(kdim, rng):
    attn = nt.nn.MultiheadAttention(4, 2, kdim=kdim, vdim=kdim).double()
    x, memory = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2, kdim or 4))
    dy = rng.standard_normal((3, 2, 4))
    attn(x, memory, memory)
    d_query, d_key, d_value = attn.backward(dy)
    attn(x, memory, memory)
    merged = attn.backward(dy, merge_shared=True)
    assert len(merged) == 2
    np.testing.assert_allclose(merged[0], d_query, rtol=1e-12)
    np.testing.assert_allclose(merged[1], d_key + d_value, rtol=1e-12, atol=1e-14)
    attn(x, memory, memory.copy())                            # equal, but two arrays
    assert len(attn.backward(dy, merge_shared=True)) == 3


def test_called_twice_backpropagates_both_calls_last_first(rng):
    attn = nt.nn.MultiheadAttention(4, 2).double()
    twin = torch.nn.MultiheadAttention(4, 2).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in attn.state_dict().items()})
    x = rng.standard_normal((3, 2, 4))
    h = attn(x, x, x)[0]
    y = attn(h, h, h)[0]
    dx = sum(attn.backward(sum(attn.backward(np.ones_like(y)))))
    tx = torch.from_numpy(x).requires_grad_()
    th = twin(tx, tx, tx)[0]
    twin(th, th, th)[0].sum().backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(attn.in_proj_weight.grad, twin.in_proj_weight.grad.numpy(), rtol=1e-10)


def test_float32_stays_float32_and_nothing_is_cached_under_no_grad():
    attn = nt.nn.MultiheadAttention(4, 2)
    x = np.ones((3, 2, 4), np.float32)
    out, weights = attn(x, x, x, attn_mask=np.zeros((3, 3)))
    assert out.dtype == weights.dtype == np.float32
    assert all(g.dtype == np.float32 for g in attn.backward(np.ones_like(out)))
    with nt.no_grad():
        attn(x, x, x)
    with pytest.raises(RuntimeError, match="without a matching forward"):
        attn.backward(np.ones_like(out))


# ---------------------------------------------------------------- errors
def test_embed_dim_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=4"):
        nt.nn.MultiheadAttention(10, 4)


def test_bias_kv_and_zero_attn_are_not_implemented():
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nt.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    with pytest.raises(NotImplementedError, match="add_zero_attn"):
        nt.nn.MultiheadAttention(8, 2, add_zero_attn=True)


def test_wrong_feature_size_names_the_module_and_shapes():
    attn, x = nt.nn.MultiheadAttention(8, 2, kdim=3, vdim=3), np.zeros((4, 2, 8), np.float32)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2.*query with "
                                         r"last dimension 8, got shape \(4, 2, 6\)"):
        attn(np.zeros((4, 2, 6), np.float32), x, x)
    with pytest.raises(ValueError, match=r"key with last dimension 3, got shape \(4, 2, 8\)"):
        attn(x, x, x)


def test_wrong_rank_and_batch_mismatch():
    attn = nt.nn.MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match=r"all 3-D \(batched\) or all 2-D.*\(4, 8\), \(4, 2, 8\)"):
        attn(np.zeros((4, 8), np.float32), *[np.zeros((4, 2, 8), np.float32)] * 2)
    with pytest.raises(ValueError, match=r"different batch sizes"):
        attn(np.zeros((4, 2, 8), np.float32), *[np.zeros((5, 3, 8), np.float32)] * 2)


def test_masks_of_the_wrong_shape_or_dtype():
    attn, x = nt.nn.MultiheadAttention(8, 2), np.zeros((4, 3, 8), np.float32)   # L = S = 4, N = 3
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\).*\(6, 4, 4\).*got shape \(4, 5\)"):
        attn(x, x, x, attn_mask=np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match=r"got shape \(3, 4, 4\)"):
        attn(x, x, x, attn_mask=np.zeros((3, 4, 4), bool))         # needs N * num_heads = 6
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(3, 4\).*got shape \(4, 3\)"):
        attn(x, x, x, key_padding_mask=np.zeros((4, 3), bool))
    with pytest.raises(TypeError, match="only bool and floating attn_mask, got int64"):
        attn(x, x, x, attn_mask=np.zeros((4, 4), np.int64))


def test_integer_and_wrong_dtype_inputs_are_rejected():
    attn = nt.nn.MultiheadAttention(8, 2)
    with pytest.raises(TypeError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\) needs a "
                                        r"floating query, got dtype int64 with shape \(4, 2, 8\)"):
        attn(*[np.zeros((4, 2, 8), np.int64)] * 3)
    with pytest.raises(TypeError, match="float32 parameters but got key of dtype float64"):
        x = np.zeros((4, 2, 8), np.float32)
        attn(x, x.astype(np.float64), x)


def test_is_causal_needs_the_mask_and_backward_needs_forward():
    attn, x = nt.nn.MultiheadAttention(8, 2), np.zeros((4, 2, 8), np.float32)
    with pytest.raises(ValueError, match="give attn_mask too"):
        attn(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"MultiheadAttention\(.*\)\.backward\(\) called without"):
        attn.backward(x)
    attn(x, x, x)
    with pytest.raises(ValueError, match=r"grad_output of shape \(4, 2, 7\).*\(4, 2, 8\)"):
        attn.backward(np.zeros((4, 2, 7), np.float32))
