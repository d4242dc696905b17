"""ViT: the same logits and gradients as its torch twin, clear errors, attention maps."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numpy_transformer as nt
from numpy_transformer.models import PatchEmbedding, ViT, ViTConfig
from numpy_transformer.models.vit import ConvStem
from numpy_transformer.recipes.vit import ViTMnistConfig, vit_config
from numpy_transformer.testing import check_module_gradients, compare_with_torch
from tests.models.vit_twin import TorchViT


def tiny(**overrides):
    """A ViT small enough for finite differences and many hypothesis examples."""
    options = dict(image_size=8, patch_size=4, in_channels=2, num_classes=3, dim=8, depth=2,
                   heads=2, mlp_dim=12)
    return ViTConfig(**{**options, **overrides})


@pytest.mark.fast_too
@given(pool=st.sampled_from(["cls", "mean"]), dtype=st.sampled_from([np.float64, np.float32]),
       shape=st.sampled_from([(8, 2, 1), (12, 3, 3), (6, 3, 2)]),  # image, patch, channels
       heads=st.sampled_from([1, 2]), depth=st.integers(1, 2), batch=st.integers(1, 3),
       activation=st.sampled_from(["gelu", "relu"]), stem=st.sampled_from([0, 3]),
       seed=st.integers(0, 2**16))
def test_logits_input_and_parameter_gradients_equal_the_torch_twin(pool, dtype, shape, heads, depth,
                                                                    batch, activation, stem, seed):
    image, patch, channels = shape
    config = ViTConfig(image_size=image, patch_size=patch, in_channels=channels, num_classes=4,
                       dim=8, depth=depth, heads=heads, mlp_dim=10, pool=pool,
                       activation=activation, stem_channels=stem)
    x = np.random.default_rng(seed).standard_normal((batch, channels, image, image))
    compare_with_torch(ViT(config), TorchViT(config), x, dtype=dtype, seed=seed)


@pytest.mark.fast_too
@pytest.mark.parametrize("config", [ViTConfig(), vit_config(ViTMnistConfig())],
                         ids=["default: 7x7 patches of 4x4 pixels, 6 blocks", "vit-mnist's hybrid"])
def test_the_default_and_the_recipes_model_match_torch_in_float32(config):
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28))
    compare_with_torch(ViT(config), TorchViT(config), x, dtype=np.float32)


def test_finite_differences_through_every_part():
    for pool, stem in (("cls", 0), ("mean", 0), ("cls", 3)):
        model = ViT(tiny(pool=pool, depth=1, stem_channels=stem)).double()
        x = np.random.default_rng(2).standard_normal((2, 2, 8, 8))
        check_module_gradients(model, x)


def test_cls_token_and_positions_sum_their_gradient_over_the_batch():
    model = ViT(tiny()).double()
    x = np.random.default_rng(3).standard_normal((3, 2, 8, 8))
    grads = []
    for images in (x, x[:1], x[1:2], x[2:]):
        model.zero_grad()
        model(images)
        model.backward(np.ones((len(images), 3)))
        grads.append((model.cls_token.grad.copy(), model.pos_embedding.grad.copy()))
    (cls_all, pos_all), *singles = grads
    # atol: an element near 1e-4 sums in another order over 3 images than over 1 (~1e-16 apart)
    np.testing.assert_allclose(cls_all, sum(g[0] for g in singles), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pos_all, sum(g[1] for g in singles), rtol=1e-12, atol=1e-15)


def test_shapes_and_parameter_names():
    model = ViT(tiny())
    assert model(np.zeros((5, 2, 8, 8), np.float32)).shape == (5, 3)
    names = dict(model.named_parameters())
    assert names["cls_token"].shape == (1, 1, 8)
    assert names["pos_embedding"].shape == (1, 4 + 1, 8)          # 2x2 patches + class token
    assert names["patch_embed.weight"].shape == (8, 2, 4, 4)      # as Conv2d(2, 8, 4, stride=4)
    assert "encoder.layers.1.self_attn.in_proj_weight" in names and "encoder.norm.weight" in names
    mean = ViT(tiny(pool="mean"))
    assert "cls_token" not in dict(mean.named_parameters())
    assert mean.pos_embedding.shape == (1, 4, 8)
    hybrid = dict(ViT(tiny(stem_channels=5)).named_parameters())
    assert hybrid["stem.0.weight"].shape == (5, 2, 3, 3)          # Conv2d(2, 5, 3, padding=1)
    assert hybrid["patch_embed.weight"].shape == (8, 5, 4, 4)     # patches of its 5 channels


@pytest.mark.parametrize("stem", [0, 3])
def test_without_the_input_gradient_the_parameter_gradients_are_the_same(stem):
    """needs_input_grad=False (the recipe's: images are data) returns None, and nothing else moves."""
    x = np.random.default_rng(8).standard_normal((3, 2, 8, 8))
    grads = []
    for needs in (True, False):
        nt.manual_seed(0)
        model = ViT(tiny(stem_channels=stem)).double()
        model.needs_input_grad = needs
        model(x)
        d_x = model.backward(np.ones((3, 3)))
        assert (d_x is None) == (not needs)
        grads.append({name: p.grad for name, p in model.named_parameters()})
    for name, grad in grads[0].items():
        np.testing.assert_array_equal(grads[1][name], grad, err_msg=name)


def test_a_hybrid_whose_patches_skip_their_input_gradient_is_an_error():
    model = ViT(tiny(stem_channels=3))
    model.patch_embed.needs_input_grad = False
    model(np.zeros((2, 2, 8, 8), np.float32))
    with pytest.raises(RuntimeError, match="the stem gets no gradient; set ViT.needs_input_grad"):
        model.backward(np.ones((2, 3), np.float32))


def test_keywords_override_the_config_and_other_image_sets_fit():
    model = ViT(ViTConfig(), image_size=32, in_channels=3, patch_size=8, num_classes=100)
    assert model.config.dim == 96 and model.num_patches == 16
    assert model(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 100)


def test_the_blocks_start_from_different_weights():
    model = ViT(tiny())
    first, second = model.encoder.layers
    assert not np.array_equal(first.linear1.weight.data, second.linear1.weight.data)


def test_float32_in_float32_out_no_upcast():
    model = ViT(tiny())
    x = np.random.default_rng(4).standard_normal((2, 2, 8, 8)).astype(np.float32)
    logits = model(x)
    assert logits.dtype == np.float32
    assert model.backward(np.ones_like(logits)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_a_bad_config_is_refused_at_construction():
    with pytest.raises(ValueError, match="image_size=28 is not divisible by patch_size=5"):
        ViT(patch_size=5)
    with pytest.raises(ValueError, match="pool must be 'cls' or 'mean'"):
        ViT(pool="max")
    with pytest.raises(ValueError, match="dim=10 is not divisible by heads=4"):
        ViT(dim=10)
    with pytest.raises(ValueError, match="stem_channels must be 0 \\(no stem\\) or more, got -1"):
        ViT(stem_channels=-1)
    with pytest.raises(ValueError, match="activation must be 'gelu' or 'relu', got 'tanh'"):
        ViT(activation="tanh")
    with pytest.raises(TypeError, match="unexpected keyword"):
        ViT(colour=True)


def test_wrong_images_are_named_with_their_shape():
    model = ViT(tiny())
    wanted = r"ViT\(.*expects images \[N, 2, 8, 8\], got shape"
    with pytest.raises(ValueError, match=wanted + r" \(1, 2, 12, 12\)"):       # image size
        model(np.zeros((1, 2, 12, 12), np.float32))
    with pytest.raises(ValueError, match=wanted + r" \(1, 3, 8, 8\)"):         # channels
        model(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"expects 4-D image batch \[N, C, H, W\], got shape "
                                         r"\(2, 8, 8\)"):
        model(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(TypeError, match="needs a floating image batch, got dtype uint8"):
        model(np.zeros((1, 2, 8, 8), np.uint8))
    with pytest.raises(TypeError, match="float32 parameters but got image batch of dtype float64"):
        model(np.zeros((1, 2, 8, 8)))


def test_backward_needs_a_forward_and_the_logits_shape():
    model = ViT(tiny())
    with pytest.raises(RuntimeError, match=r"ViT\(.*backward\(\) called without a matching "
                                           r"forward"):
        model.backward(np.ones((1, 3), np.float32))
    model(np.zeros((2, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"grad_output of shape \(2, 4\).*shape \(2, 3\)"):
        model.backward(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("stem", [0, 3])
def test_no_grad_keeps_no_caches(stem):
    model = ViT(tiny(stem_channels=stem))
    with nt.no_grad():
        model(np.zeros((2, 2, 8, 8), np.float32))
    assert all(not m._caches for m in model.modules())


def test_patch_embedding_names_rows_of_the_wrong_width():
    layer = PatchEmbedding(3, 5, 2)
    with pytest.raises(ValueError, match=r"expects patch rows \[N\*P, 12\] of 2 images, got shape \(8, 9\)"):
        layer.embed_rows(np.zeros((8, 9), np.float32), 2)


def test_patch_embedding_is_a_strided_conv():
    import torch
    layer = PatchEmbedding(3, 5, 2).double()
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 4))
    conv = torch.nn.Conv2d(3, 5, 2, stride=2).double()
    conv.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    expected = conv(torch.from_numpy(x)).flatten(2).transpose(1, 2).detach().numpy()
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"divisible by patch_size=2, got shape \(1, 3, 5, 4\)"):
        layer(np.zeros((1, 3, 5, 4)))


@pytest.mark.fast_too
@given(activation=st.sampled_from(["gelu", "relu"]), dtype=st.sampled_from([np.float64, np.float32]),
       shape=st.sampled_from([(2, 1, 8, 8, 4), (1, 2, 6, 9, 3), (3, 1, 28, 28, 7)]),
       stem=st.integers(1, 5), needs_input_grad=st.booleans(), seed=st.integers(0, 2**16))
def test_conv_stem_patch_rows_are_torchs_conv_activation_and_cut(activation, dtype, shape, stem,
                                                                 needs_input_grad, seed):
    """patch_rows(x) = torch's act(Conv2d(x)) cut into p x p patches as rows (F.unfold), with
    the same input and parameter gradients."""
    import torch
    N, C, H, W, p = shape
    rng = np.random.default_rng(seed)
    nt.manual_seed(seed)
    layer = ConvStem(C, stem, activation).to(dtype)
    layer[0].needs_input_grad = needs_input_grad
    twin = torch.nn.Sequential(torch.nn.Conv2d(C, stem, 3, padding=1),
                               torch.nn.GELU() if activation == "gelu" else torch.nn.ReLU())
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    twin.to(torch.float64 if dtype == np.float64 else torch.float32)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    expected = torch.nn.functional.unfold(twin(tx), p, stride=p).transpose(1, 2).reshape(-1, stem * p * p)
    rows = layer.patch_rows(x, p)
    d_rows = rng.standard_normal(rows.shape).astype(dtype)
    expected.backward(torch.from_numpy(d_rows))
    d_x = layer.patch_rows_backward(d_rows)
    def assert_close(ours, theirs, what):
        """float32 sums of thousands of terms: the error is relative to the largest value."""
        scale = np.abs(theirs).max() if dtype == np.float32 else 1.0
        np.testing.assert_allclose(ours, theirs, rtol=1e-9 if dtype == np.float64 else 1e-4,
                                   atol=1e-11 if dtype == np.float64 else 1e-5 * scale, err_msg=what)

    assert rows.dtype == dtype and (d_x is None) == (not needs_input_grad)
    assert_close(rows, expected.detach().numpy(), "rows")
    if needs_input_grad:
        assert_close(d_x, tx.grad.numpy(), "d_x")
    for name, param in layer.named_parameters():
        assert_close(param.grad, dict(twin.named_parameters())[name].grad.numpy(), name)


def test_conv_stem_names_a_wrong_input_and_layers_it_does_not_compute():
    with pytest.raises(ValueError, match=r"ConvStem: activation must be one of \['gelu', 'relu'\], got 'tanh'"):
        ConvStem(1, 8, "tanh")
    swapped = ConvStem(1, 2)
    swapped[1].approximate = "tanh"
    with pytest.raises(ValueError, match=r"ConvStem\(1, 2, activation='gelu'\)\.patch_rows computes .*GELU"):
        swapped.patch_rows(np.zeros((1, 1, 4, 4), np.float32), 2)
    layer = ConvStem(2, 3)
    with pytest.raises(ValueError, match=r"expects input with 2 channels.*\(1, 3, 8, 8\)"):
        layer.patch_rows(np.zeros((1, 3, 8, 8), np.float32), 4)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        layer.patch_rows(np.zeros((2, 8, 8), np.float32), 4)
    with pytest.raises(ValueError, match=r"divisible by patch_size=3, got shape \(1, 2, 8, 8\)"):
        layer.patch_rows(np.zeros((1, 2, 8, 8), np.float32), 3)


@pytest.mark.parametrize("pool, stem", [("cls", 0), ("mean", 0), ("cls", 3)])
def test_attention_maps_are_per_head_probabilities_and_leave_no_trace(pool, stem):
    model = ViT(tiny(pool=pool, dropout=0.5, emb_dropout=0.5, stem_channels=stem))
    x = np.random.default_rng(6).standard_normal((3, 2, 8, 8)).astype(np.float32)
    maps = model.attention_maps(x)
    tokens = 5 if pool == "cls" else 4
    assert maps.shape == (3, 2, 2, tokens, tokens)                # [N, depth, heads, T, T]
    np.testing.assert_allclose(maps.sum(axis=-1), 1, rtol=1e-5)
    assert model.training and all(not m._caches for m in model.modules())
    np.testing.assert_array_equal(model.attention_maps(x), maps)  # eval mode: no dropout


@pytest.mark.parametrize("stem", [0, 3])
def test_attention_maps_equal_torch_per_head_weights(stem):
    import torch
    config = tiny(depth=2, stem_channels=stem)
    model = ViT(config).double()
    twin = TorchViT(config).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((2, 2, 8, 8))
    captured = []
    for layer in twin.encoder.layers:
        def keep(module, args, kwargs, output):
            captured.append(output[1].detach().numpy())
        layer.self_attn.register_forward_hook(keep, with_kwargs=True)
        layer.self_attn.forward = _asking_for_weights(layer.self_attn.forward)
    twin.eval()
    with torch.no_grad():
        twin(torch.from_numpy(x))
    np.testing.assert_allclose(model.attention_maps(x), np.stack(captured, axis=1), rtol=1e-10)


def _asking_for_weights(forward):
    def wrapped(*args, **kwargs):
        kwargs.update(need_weights=True, average_attn_weights=False)
        return forward(*args, **kwargs)
    return wrapped
