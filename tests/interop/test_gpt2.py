"""A Hugging Face GPT-2 checkpoint loads into our GPT: same logits, same greedy generation."""
import json

import numpy as np
import pytest
import torch

import numpy_transformer as nt
from numpy_transformer.interop.gpt2 import config_from_hf, gpt2_state_dict, load_gpt2
from numpy_transformer.testing import assert_close

transformers = pytest.importorskip("transformers")


def hf_gpt2(folder, seed=0, **options):
    """A tiny random GPT2LMHeadModel saved with save_pretrained (safetensors) into `folder`."""
    torch.manual_seed(seed)
    config = transformers.GPT2Config(**{**dict(vocab_size=50, n_positions=16, n_embd=12, n_layer=2,
                                               n_head=3, initializer_range=0.3, bos_token_id=0,
                                               eos_token_id=0), **options})
    model = transformers.GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder)
    return model


@pytest.mark.parametrize("activation", ["gelu_new", "gelu"])
def test_hugging_face_gpt2_gives_the_same_logits_and_greedy_text(tmp_path, activation):
    theirs = hf_gpt2(tmp_path, activation_function=activation)
    assert (tmp_path / "model.safetensors").is_file()
    ours = load_gpt2(tmp_path)
    assert ours.config.activation == {"gelu_new": "gelu_tanh", "gelu": "gelu"}[activation]
    ids = np.random.default_rng(0).integers(0, 50, (3, 16))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(ids)).logits.numpy()
    with nt.no_grad():
        got = ours(ids)
    assert got.dtype == np.float32
    assert_close(got, expected, 1e-4, 1e-5, "logits")
    prompt = ids[:, :3]
    expected_text = theirs.generate(torch.from_numpy(prompt), max_new_tokens=12, do_sample=False,
                                    pad_token_id=0).numpy()
    np.testing.assert_array_equal(ours.generate(prompt, 12, temperature=0), expected_text)


def test_untied_head_loads_its_own_weight(tmp_path):
    theirs = hf_gpt2(tmp_path, tie_word_embeddings=False)
    ours = load_gpt2(tmp_path, dtype=np.float64)
    assert ours.lm_head.weight is not ours.transformer.wte.weight
    np.testing.assert_array_equal(ours.lm_head.weight.data, theirs.lm_head.weight.detach().numpy())


def test_bare_gpt2_model_keys_and_conv1d_weights_map_to_ours():
    c_attn = np.arange(12.0).reshape(2, 6)                       # Conv1D: [in, out]
    state = gpt2_state_dict({"h.0.attn.c_attn.weight": c_attn,
                             "h.0.attn.bias": np.ones((1, 1, 4, 4)),      # the causal-mask buffer
                             "wte.weight": np.zeros((5, 2)), "lm_head.weight": np.zeros((5, 2))})
    assert sorted(state) == ["lm_head.weight", "transformer.h.0.attn.c_attn.weight",
                             "transformer.wte.weight"]
    np.testing.assert_array_equal(state["transformer.h.0.attn.c_attn.weight"], c_attn.T)
    assert state["transformer.h.0.attn.c_attn.weight"].flags.c_contiguous


def test_unsupported_options_are_refused(tmp_path):
    base = dict(vocab_size=5, n_positions=4, n_embd=4, n_layer=1, n_head=2)
    with pytest.raises(NotImplementedError, match="scale_attn_by_inverse_layer_idx"):
        config_from_hf({**base, "scale_attn_by_inverse_layer_idx": True})
    with pytest.raises(NotImplementedError, match="n_inner=7"):
        config_from_hf({**base, "n_inner": 7})
    with pytest.raises(NotImplementedError, match="activation_function='relu'"):
        config_from_hf({**base, "activation_function": "relu"})
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_gpt2(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(base))
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        load_gpt2(tmp_path)
