"""nt.nn.check_caches(): an array a module keeps for its backward must not change before it."""
import os
import subprocess
import sys

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.models import GPT, GPTConfig


def test_writing_into_a_cached_input_is_caught_at_backward_naming_the_module():
    layer = nt.nn.Linear(3, 2)
    x = np.ones((4, 3), np.float32)
    with nt.nn.check_caches():
        y = layer(x)
        x += 1                                              # the mistake: Linear keeps x
        with pytest.raises(RuntimeError, match=r"Linear\(in_features=3, out_features=2, bias=True\):"
                                               r" its cached array cache\[0\] \(\[4, 3\], float32\)"
                                               " changed between forward and backward"):
            layer.backward(np.ones_like(y))


def test_without_the_check_nothing_is_fingerprinted():
    layer = nt.nn.Linear(3, 2)
    x = np.ones((4, 3), np.float32)
    y = layer(x)
    x += 1
    layer.backward(np.ones_like(y))                         # silently uses the changed input
    assert not nt.nn.cache_check.caches_checked()


@pytest.mark.fast_too
def test_a_gpt_training_step_keeps_every_cache_unchanged():
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.1)
    ids = np.random.default_rng(0).integers(0, 11, (2, 8))
    model, criterion = GPT(config), nt.nn.CrossEntropyLoss()
    with nt.nn.check_caches():
        logits = model(ids)
        criterion(logits.reshape(-1, 11), ids.reshape(-1))
        with nt.kernels.deferred_weight_grads():
            model.backward(criterion.backward().reshape(logits.shape))


def test_nt_check_caches_turns_it_on_for_the_process():
    code = "import numpy_transformer as nt; print(nt.nn.cache_check.caches_checked())"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NT_CHECK_CACHES="1"),
                         capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr
