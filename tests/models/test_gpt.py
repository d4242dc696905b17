"""GPT against its torch twin (logits and every gradient), the KV cache, generation, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import numpy_transformer as nt
from numpy_transformer.interop.torch_gpt import TorchGPT, gpt_to_torch
from numpy_transformer.models import GPT, GPTConfig
from numpy_transformer.testing import assert_close, check_module_gradients, compare_with_torch

dtypes = st.sampled_from([np.float64, np.float32])
many = settings(max_examples=max(40, settings().max_examples))   # cheap twins, many options


def tiny(**options) -> GPTConfig:
    defaults = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    return GPTConfig(**{**defaults, **options})


def ids(rng, config, B=2, T=None):
    return rng.integers(0, config.vocab_size, (B, T or config.block_size))


# ---- parity with the torch twin ----
@pytest.mark.fast_too
@many
@given(vocab=st.integers(2, 13), block=st.integers(1, 6), n_layer=st.integers(1, 2),
       n_head=st.integers(1, 3), head_dim=st.integers(1, 3), B=st.integers(1, 3),
       tie=st.booleans(), bias=st.booleans(), activation=st.sampled_from(["gelu_tanh", "gelu"]),
       dtype=dtypes, seed=st.integers(0, 2**16), data=st.data())
def test_logits_and_every_gradient_match_torch(vocab, block, n_layer, n_head, head_dim, B, tie,
                                               bias, activation, dtype, seed, data):
    n_embd = n_head * max(head_dim, -(-3 // n_head))   # >= 3: LayerNorm of 1-2 features degenerates
    config = GPTConfig(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=n_head,
                       n_embd=n_embd, bias=bias, tie_weights=tie, activation=activation)
    T = data.draw(st.integers(1, block))
    x = np.random.default_rng(seed).integers(0, vocab, (B, T))
    compare_with_torch(GPT(config), TorchGPT(config), x, dtype=dtype, seed=seed)


def test_gradients_match_finite_differences(rng):
    model = GPT(tiny(n_layer=1, vocab_size=5, n_embd=6, n_head=3))
    check_module_gradients(model, ids(rng, model.config, T=4), wrt_inputs=False)


def test_tied_head_is_the_token_embedding_and_sums_both_gradients(rng):
    model = GPT(tiny()).double()
    assert model.lm_head.weight is model.transformer.wte.weight
    assert "lm_head.weight" in model.state_dict()               # saved under both names, as torch
    assert sum(1 for _ in model.parameters()) == len(model.state_dict()) - 1
    twin = gpt_to_torch(model, torch.float64)
    x = ids(rng, model.config)
    dy = rng.standard_normal((2, 8, 11))
    model(x)
    model.backward(dy)
    twin(torch.from_numpy(x)).backward(torch.from_numpy(dy))
    assert_close(model.transformer.wte.weight.grad, twin.transformer.wte.weight.grad.numpy(),
                 1e-9, 1e-12, "tied gradient")


def test_untied_head_has_its_own_weight():
    model = GPT(tiny(tie_weights=False))
    assert model.lm_head.weight is not model.transformer.wte.weight
    assert sum(1 for _ in model.parameters()) == len(model.state_dict())


def test_float32_stays_float32(rng):
    model = GPT(tiny())
    logits = model(ids(rng, model.config))
    assert logits.dtype == np.float32
    model.backward(np.ones_like(logits))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_dropout_acts_in_training_only(rng):
    model = GPT(tiny(dropout=0.5))
    x = ids(rng, model.config)
    with nt.no_grad():
        first, second = model(x), model(x)
        model.eval()
        third, fourth = model(x), model(x)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(third, fourth)
    twin = gpt_to_torch(model).eval()
    assert_close(third, twin(torch.from_numpy(x)).detach().numpy(), 1e-4, 1e-5, "eval logits")


def test_initialisation_is_gpt2s():
    model = GPT(tiny(n_layer=4, n_embd=64, vocab_size=500))
    assert model.transformer.wte.weight.data.std() == pytest.approx(0.02, rel=0.1)
    c_proj = model.transformer.h[0].mlp.c_proj.weight.data
    assert c_proj.std() == pytest.approx(0.02 / 8 ** 0.5, rel=0.1)   # 0.02 / sqrt(2 n_layer)
    assert np.all(model.transformer.h[0].attn.c_attn.bias.data == 0)


# ---- KV cache ----
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_cached_forward_in_pieces_gives_the_full_forward_logits(rng, dtype, rtol):
    model = GPT(tiny(n_layer=3, n_embd=12, n_head=3, block_size=10)).to(dtype)
    x = ids(rng, model.config, B=3, T=10)
    with nt.no_grad():
        full = model(x)
    cache = model.new_kv_cache(3)
    pieces = [model(x[:, a:b], cache) for a, b in [(0, 4), (4, 5), (5, 6), (6, 9), (9, 10)]]
    assert cache.length == 10
    assert_close(np.concatenate(pieces, axis=1), full, rtol, rtol, "cached logits")
    assert not model._caches and not model.transformer.h[0].attn._caches   # nothing kept


def test_generation_with_and_without_cache_gives_the_same_tokens_and_logits(rng):
    model = GPT(tiny(block_size=6))
    prompt = ids(rng, model.config, B=2, T=3)
    runs = {}
    for use_cache in (True, False):
        logits = []
        out = model.generate(prompt, 9, temperature=0.9, top_k=6, top_p=0.9,
                             generator=np.random.default_rng(5), use_cache=use_cache,
                             on_token=lambda ids_, l: logits.append(l.copy()))
        runs[use_cache] = out, np.stack(logits)
    (cached, cached_logits), (plain, plain_logits) = runs[True], runs[False]
    assert cached.shape == (2, 12)                  # past block_size=6: the window slides
    np.testing.assert_array_equal(cached, plain)
    assert_close(cached_logits, plain_logits, 1e-5, 1e-5, "step logits")


def test_greedy_generation_takes_the_argmax_of_the_full_forward(rng):
    model = GPT(tiny())
    out = model.generate(ids(rng, model.config, B=1, T=2), 5, temperature=0)
    with nt.no_grad():
        for t in range(2, 7):
            assert out[0, t] == model(out[:, :t])[0, -1].argmax()
    assert model.training                           # generate restores the mode


def test_seeded_generation_repeats():
    model = GPT(tiny())
    prompt = np.zeros((1, 1), np.int64)
    a, b, c = (model.generate(prompt, 6, generator=np.random.default_rng(s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ---- errors ----
def test_wrong_inputs_are_named():
    model = GPT(tiny())
    with pytest.raises(TypeError, match=r"GPT\(vocab_size=11.*needs integer input"):
        model(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"token ids \[B, T\] with T >= 1, got shape \(3,\)"):
        model(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"got shape \(2, 0\)"):
        model.generate(np.zeros((2, 0), np.int64), 3)
    with pytest.raises(ValueError, match="length 9.*longer than block_size=8"):
        model(np.zeros((1, 9), np.int64))
    with pytest.raises(IndexError, match="id 11"):
        model(np.full((1, 2), 11))
    cache = model.new_kv_cache(1)
    model(np.zeros((1, 6), np.int64), cache)
    with pytest.raises(ValueError, match="KVCache holds 6 tokens; 3 more would pass block_size=8"):
        model(np.zeros((1, 3), np.int64), cache)
    with pytest.raises(ValueError, match="KVCache of batch size 1"):
        model(np.zeros((2, 1), np.int64), cache)


def test_backward_needs_a_forward_and_the_logits_shape():
    model = GPT(tiny())
    with pytest.raises(RuntimeError, match="without a matching forward"):
        model.backward(np.zeros((1, 2, 11), np.float32))
    model(np.zeros((1, 2), np.int64))
    with pytest.raises(ValueError, match=r"shape \(1, 2, 10\).*\(1, 2, 11\)"):
        model.backward(np.zeros((1, 2, 10), np.float32))


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by n_head=3"):
        tiny(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="activation"):
        tiny(activation="relu")
