"""Hugging Face GPT-2 checkpoints as our GPT: the architecture from config.json, the weights by key.

    model = load_gpt2("path/to/gpt2")        # a folder with config.json and model.safetensors

Our module names are GPT-2's, so keys map one to one, except that Hugging Face's Conv1D keeps
its weight as [in, out] (x @ W) where our Linear keeps [out, in] (x @ W^T): those are transposed.
The tied head (lm_head.weight) is usually left out of the file: it is the token embedding.
No torch and no transformers needed: the files are read with nt.io.load_file.
"""
import json
from pathlib import Path

import numpy as np

from ..io import load_file
from ..models.gpt import GPT, GPTConfig

__all__ = ["config_from_hf", "gpt2_state_dict", "load_gpt2"]

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
               "gelu": "gelu"}
# options of Hugging Face's GPT2Config that would change the computation, with GPT-2's values
SUPPORTED = {"scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
             "add_cross_attention": False}


def config_from_hf(hf_config) -> GPTConfig:
    """Our GPTConfig for a Hugging Face GPT2Config (an object or the dict of its config.json)."""
    hf = hf_config if isinstance(hf_config, dict) else hf_config.to_dict()
    for key, value in SUPPORTED.items():
        if hf.get(key, value) != value:
            raise NotImplementedError(f"GPT-2 config option {key}={hf[key]} is not supported "
                                      f"(only {key}={value})")
    n_inner = hf.get("n_inner")
    if n_inner is not None and n_inner != 4 * hf["n_embd"]:
        raise NotImplementedError(f"GPT-2 config n_inner={n_inner}: only 4 * n_embd is supported")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in ACTIVATIONS:
        raise NotImplementedError(f"GPT-2 activation_function={activation!r} is not supported "
                                  f"(supported: {sorted(ACTIVATIONS)})")
    return GPTConfig(vocab_size=hf["vocab_size"], block_size=hf["n_positions"],
                     n_layer=hf["n_layer"], n_head=hf["n_head"], n_embd=hf["n_embd"],
                     dropout=hf.get("resid_pdrop", 0.0), bias=True,
                     tie_weights=hf.get("tie_word_embeddings", True),
                     activation=ACTIVATIONS[activation],
                     layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5))


def gpt2_state_dict(tensors: dict) -> dict:
    """Hugging Face GPT-2 arrays by key -> our state dict (Conv1D weights transposed; the
    causal-mask buffers dropped; keys of a bare GPT2Model get the 'transformer.' prefix)."""
    state = {}
    for key, array in tensors.items():
        if key.endswith((".attn.bias", ".attn.masked_bias")):   # causal-mask buffers, not weights
            continue
        if not key.startswith(("transformer.", "lm_head.")):
            key = "transformer." + key
        if key.endswith(CONV1D):
            array = np.ascontiguousarray(array.T)                   # [in, out] -> [out, in]
        state[key] = array
    return state


def _read_tensors(folder: Path) -> dict:
    """model.safetensors, or every shard listed in model.safetensors.index.json."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        return load_file(single)
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return {k: v for shard in shards for k, v in load_file(folder / shard).items()}
    raise FileNotFoundError(f"{folder} has no model.safetensors (nor an index of shards); "
                            "save the model with save_pretrained(..., safe_serialization=True)")


def load_gpt2(path, dtype=np.float32) -> GPT:
    """Our GPT with the architecture of `path`/config.json and the weights of its safetensors."""
    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: expected a folder written by "
                                "Hugging Face's save_pretrained")
    config = config_from_hf(json.loads(config_file.read_text()))
    model = GPT(config, dtype=dtype)
    state = gpt2_state_dict(_read_tensors(folder))
    if config.tie_weights:
        state.setdefault("lm_head.weight", state.get("transformer.wte.weight"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(f"{folder}: not a GPT-2 checkpoint for this config; missing keys "
                       f"{missing}, unexpected keys {unexpected}")
    return model.eval()
