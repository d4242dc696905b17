"""Transformer layers, stacks and Transformer against their torch twins; dropout, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import numpy_transformer as nt
from numpy_transformer.testing import check_module_gradients, compare_with_torch

pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]
dtypes = st.sampled_from([np.float64, np.float32])
# the twins are cheap and the options many: more examples than the profile's default
many = settings(max_examples=max(60, settings().max_examples))
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "gelu_tanh_module": (lambda: nt.nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"))}


def activation_pair(name):
    ours, theirs = ACTIVATIONS[name]
    return (ours, theirs) if isinstance(ours, str) else (ours(), theirs())


def sequence(rng, N, L, d, batch_first, batched=True):
    if not batched:
        return rng.standard_normal((L, d))
    return rng.standard_normal((N, L, d) if batch_first else (L, N, d))


def self_mask(kind, rng, N, H, L, batched=True):
    """(mask, key_padding_mask, is_causal) in torch's MHA convention; key 0 always visible."""
    if kind == "causal":
        return nt.nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64), None, True
    if kind == "bool":
        mask = rng.random((L, L)) < 0.4
        mask[:, 0] = False
        return mask, None, False
    if kind == "float-3d":
        return rng.standard_normal(((N * H if batched else H), L, L)), None, False
    if kind == "padding":
        padding = rng.random((N, L) if batched else (L,)) < 0.4
        padding[..., 0] = False
        return None, padding, False
    return None, None, False


def layer_options(d, ff, activation, batch_first, norm_first, bias):
    ours, theirs = activation_pair(activation)
    common = dict(dim_feedforward=ff, dropout=0.0, batch_first=batch_first, norm_first=norm_first,
                  bias=bias, layer_norm_eps=1e-5)
    return dict(common, activation=ours), dict(common, activation=theirs)


def model_size(heads, head_dim):
    """heads * head_dim, at least 3: LayerNorm over 1 or 2 features has a zero gradient (roundoff)."""
    return heads * (head_dim if heads * head_dim >= 3 else 3)


layer_draws = dict(N=st.integers(1, 3), L=st.integers(1, 4), heads=st.integers(1, 3),
                   head_dim=st.integers(1, 3), ff=st.integers(1, 6),
                   activation=st.sampled_from(sorted(ACTIVATIONS)), batch_first=st.booleans(),
                   norm_first=st.booleans(), bias=st.booleans(), batched=st.booleans(),
                   dtype=dtypes, seed=st.integers(0, 2**16))


@pytest.mark.fast_too
@many
@given(mask=st.sampled_from([None, "causal", "bool", "float-3d", "padding"]), **layer_draws)
def test_encoder_layer_matches_torch(mask, N, L, heads, head_dim, ff, activation, batch_first,
                                     norm_first, bias, batched, dtype, seed):
    rng, d = np.random.default_rng(seed), model_size(heads, head_dim)
    ours_opts, torch_opts = layer_options(d, ff, activation, batch_first, norm_first, bias)
    src_mask, padding, is_causal = self_mask(mask, rng, N, heads, L, batched)
    compare_with_torch(nt.nn.TransformerEncoderLayer(d, heads, **ours_opts),
                       torch.nn.TransformerEncoderLayer(d, heads, **torch_opts),
                       sequence(rng, N, L, d, batch_first, batched),
                       kwargs=dict(src_mask=src_mask, src_key_padding_mask=padding, is_causal=is_causal),
                       dtype=dtype, seed=seed)


@pytest.mark.fast_too
@many
@given(mask=st.sampled_from([None, "causal", "bool", "padding"]),
       memory_mask=st.sampled_from([None, "float", "padding"]), S=st.integers(1, 4), **layer_draws)
def test_decoder_layer_matches_torch(mask, memory_mask, S, N, L, heads, head_dim, ff, activation,
                                     batch_first, norm_first, bias, batched, dtype, seed):
    rng, d = np.random.default_rng(seed), model_size(heads, head_dim)
    ours_opts, torch_opts = layer_options(d, ff, activation, batch_first, norm_first, bias)
    tgt_mask, tgt_padding, tgt_is_causal = self_mask(mask, rng, N, heads, L, batched)
    kwargs = dict(tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_padding, tgt_is_causal=tgt_is_causal)
    if memory_mask == "float":
        kwargs["memory_mask"] = rng.standard_normal((L, S))
    elif memory_mask == "padding":
        padding = rng.random((N, S) if batched else (S,)) < 0.4
        padding[..., 0] = False
        kwargs["memory_key_padding_mask"] = padding
    compare_with_torch(nt.nn.TransformerDecoderLayer(d, heads, **ours_opts),
                       torch.nn.TransformerDecoderLayer(d, heads, **torch_opts),
                       sequence(rng, N, L, d, batch_first, batched),
                       sequence(rng, N, S, d, batch_first, batched), kwargs=kwargs, dtype=dtype, seed=seed)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_encoder_and_decoder_stacks_match_torch(norm_first, dtype, rng):
    options = dict(dim_feedforward=8, dropout=0.0, batch_first=True, norm_first=norm_first)
    encoder = nt.nn.TransformerEncoder(nt.nn.TransformerEncoderLayer(4, 2, **options), 2,
                                       norm=nt.nn.LayerNorm(4))
    t_encoder = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(4, 2, **options), 2,
                                            norm=torch.nn.LayerNorm(4), enable_nested_tensor=False)
    padding = np.array([[False, False, True], [False, False, False]])
    src = rng.standard_normal((2, 3, 4))
    compare_with_torch(encoder, t_encoder, src, kwargs=dict(src_key_padding_mask=padding), dtype=dtype)
    decoder = nt.nn.TransformerDecoder(nt.nn.TransformerDecoderLayer(4, 2, **options), 2,
                                       norm=nt.nn.LayerNorm(4))
    t_decoder = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(4, 2, **options), 2,
                                            norm=torch.nn.LayerNorm(4))
    causal = nt.nn.Transformer.generate_square_subsequent_mask(5, dtype=dtype)
    compare_with_torch(decoder, t_decoder, rng.standard_normal((2, 5, 4)), src,
                       kwargs=dict(tgt_mask=causal, memory_key_padding_mask=padding), dtype=dtype)


@pytest.mark.fast_too
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transformer_matches_torch(batch_first, dtype, rng):
    options = dict(d_model=6, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=10, dropout=0.0, batch_first=batch_first)
    ours, theirs = nt.nn.Transformer(**options), torch.nn.Transformer(**options)
    src, tgt = sequence(rng, 2, 5, 6, batch_first), sequence(rng, 2, 3, 6, batch_first)
    kwargs = dict(tgt_mask=nt.nn.Transformer.generate_square_subsequent_mask(3, dtype=dtype),
                  src_key_padding_mask=np.array([[False] * 4 + [True], [False] * 5]),
                  memory_key_padding_mask=np.array([[False] * 4 + [True], [False] * 5]))
    compare_with_torch(ours, theirs, src, tgt, kwargs=kwargs, dtype=dtype)


def test_state_dict_keys_equal_torch():
    pairs = [
        (nt.nn.TransformerEncoderLayer(8, 2, 16), torch.nn.TransformerEncoderLayer(8, 2, 16)),
        (nt.nn.TransformerDecoderLayer(8, 2, 16, bias=False),
         torch.nn.TransformerDecoderLayer(8, 2, 16, bias=False)),
        (nt.nn.TransformerEncoderLayer(8, 2, 16, activation=nt.nn.GELU()),
         torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.nn.GELU())),
        (nt.nn.Transformer(8, 2, 2, 1, 16), torch.nn.Transformer(8, 2, 2, 1, 16)),
    ]
    for ours, theirs in pairs:
        assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    names = dict(nt.nn.Transformer(8, 2, 2, 1, 16).named_modules())
    assert {"encoder.layers.1.self_attn", "encoder.norm", "decoder.layers.0.multihead_attn",
            "decoder.layers.0.norm3", "decoder.layers.0.dropout3", "decoder.norm"} <= set(names)


def test_stack_layers_are_independent_deep_copies():
    encoder = nt.nn.TransformerEncoder(nt.nn.TransformerEncoderLayer(4, 2, 8), 3)
    first, second = encoder.layers[0], encoder.layers[1]
    np.testing.assert_array_equal(first.linear1.weight.data, second.linear1.weight.data)
    first.linear1.weight.data += 1
    assert not np.allclose(first.linear1.weight.data, second.linear1.weight.data)
    assert "layers.2.norm2.bias" in encoder.state_dict() and encoder.norm is None


def test_transformer_initialises_every_matrix_with_xavier_uniform():
    model = nt.nn.Transformer(16, 2, 1, 1, 64)
    w = model.encoder.layers[0].linear1.weight.data                # [64, 16]
    assert np.abs(w).max() <= np.sqrt(6 / 80) and w.std() > 0.5 * np.sqrt(6 / 80) / np.sqrt(3)
    assert (model.decoder.layers[0].multihead_attn.in_proj_bias.data == 0).all()


def test_generate_square_subsequent_mask_equals_torch():
    ours = nt.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(ours, torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert ours.dtype == np.float32


class Reseeded(nt.nn.Module):
    """Reset the global seed before each forward, so every dropout draws the same mask."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, *inputs):
        nt.manual_seed(5)
        return self.layer(*inputs)

    def backward(self, grad):
        return self.layer.backward(grad)


@pytest.mark.parametrize("norm_first", [False, True])
def test_dropout_in_training_backpropagates_through_the_same_masks(norm_first, rng):
    encoder = nt.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.3, norm_first=norm_first)
    x = rng.standard_normal((3, 2, 4))
    check_module_gradients(Reseeded(encoder), x, max_elements=12)
    decoder = nt.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.3, norm_first=norm_first)
    check_module_gradients(Reseeded(decoder), x, rng.standard_normal((2, 2, 4)), max_elements=12)


def test_eval_mode_turns_dropout_off(rng):
    ours = nt.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.5).eval()
    theirs = torch.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.5)
    theirs.eval()
    with torch.no_grad():
        compare_with_torch(ours, theirs, rng.standard_normal((3, 2, 4)), backward=lambda g: (),
                           grad_inputs=[], check_params=False, n_grads=0)
    x = rng.standard_normal((3, 2, 4)).astype(np.float64)
    ours.double()
    np.testing.assert_array_equal(ours(x), ours(x))
    assert not np.array_equal(ours.train()(x), ours(x))


def test_no_grad_keeps_no_cache():
    layer = nt.nn.TransformerEncoderLayer(4, 2, 6)
    x = np.ones((3, 2, 4), np.float32)
    with nt.no_grad():
        y = layer(x)
    assert all(not m._caches for m in layer.modules())
    with pytest.raises(RuntimeError, match=r"TransformerEncoderLayer\(d_model=4.*without a matching forward"):
        layer.backward(np.ones_like(y))


# ---------------------------------------------------------------- errors
def test_wrong_feature_size_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2.*src with last "
                                         r"dimension \(d_model\) 8, got shape \(5, 2, 6\)"):
        nt.nn.TransformerEncoderLayer(8, 2, 16)(np.zeros((5, 2, 6), np.float32))
    with pytest.raises(ValueError, match=r"memory with last dimension \(d_model\) 8, got shape \(5, 2, 4\)"):
        nt.nn.TransformerDecoderLayer(8, 2, 16)(np.zeros((5, 2, 8), np.float32),
                                                np.zeros((5, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"src \(4, 2, 8\) and tgt \(3, 5, 8\)"):
        nt.nn.Transformer(8, 2, 1, 1, 16)(np.zeros((4, 2, 8), np.float32), np.zeros((3, 5, 8), np.float32))
    with pytest.raises(ValueError, match=r"d_model=8"):
        nt.nn.Transformer(8, 2, 1, 1, 16)(np.zeros((4, 2, 8), np.float32), np.zeros((3, 2, 6), np.float32))


def test_wrong_rank_integer_input_and_mask_shape():
    layer = nt.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"expects 2-D or 3-D src.*got shape \(8,\)"):
        layer(np.zeros(8, np.float32))
    with pytest.raises(TypeError, match=r"TransformerEncoderLayer\(.*\) needs a floating src, "
                                        r"got dtype int64"):
        layer(np.zeros((5, 2, 8), np.int64))
    with pytest.raises(ValueError, match=r"MultiheadAttention\(.*attn_mask of shape \(5, 5\).*"
                                         r"got shape \(4, 4\)"):
        layer(np.zeros((5, 2, 8), np.float32), src_mask=np.zeros((4, 4), bool))


def test_activation_must_be_relu_gelu_or_a_module():
    with pytest.raises(ValueError, match="activation should be relu/gelu, not 'tanh'"):
        nt.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(TypeError, match="needs a backward"):
        nt.nn.TransformerDecoderLayer(8, 2, activation=np.tanh)


def test_backward_before_forward_and_wrong_gradient_shape():
    layer = nt.nn.TransformerDecoderLayer(8, 2, 16)
    x = np.zeros((5, 2, 8), np.float32)
    with pytest.raises(RuntimeError, match="TransformerDecoderLayer.*without a matching forward"):
        layer.backward(x)
    layer(x, x)
    with pytest.raises(ValueError, match=r"grad_output of shape \(5, 2, 7\).*\(5, 2, 8\)"):
        layer.backward(np.zeros((5, 2, 7), np.float32))
