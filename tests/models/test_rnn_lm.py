"""RNNLanguageModel against a PyTorch twin (Embedding -> LSTM/GRU/RNN -> Linear, same weights):
logits, final states and every parameter gradient; tied weights; sampling; errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.models import RNNLanguageModel
from numpy_transformer.testing import compare_with_torch

TORCH_CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


class TorchRNNLM(torch.nn.Module):
    """The twin: PyTorch's word_language_model layout with our attribute names."""

    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers, cell, tie_weights):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.drop = torch.nn.Dropout(0.0)
        self.rnn = TORCH_CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True)
        self.decoder = torch.nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    def forward(self, ids, state=None):
        output, state = self.rnn(self.drop(self.embedding(ids)), state)
        return self.decoder(self.drop(output)), state


@pytest.mark.fast_too
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), batch=st.integers(1, 3), steps=st.integers(1, 5),
       num_layers=st.integers(1, 2), tie=st.booleans(), seed=st.integers(0, 2**16))
def test_logits_states_and_gradients_match_torch(cell, batch, steps, num_layers, tie, seed):
    V, E = 11, 6
    H = E if tie else 5
    ours = RNNLanguageModel(V, E, H, num_layers, cell=cell, tie_weights=tie)
    twin = TorchRNNLM(V, E, H, num_layers, cell, tie)
    ids = np.random.default_rng(seed).integers(0, V, size=(batch, steps))
    compare_with_torch(ours, twin, ids, seed=seed)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_given_state_is_used_and_float32_stays_float32(cell):
    ours = RNNLanguageModel(9, 4, 3, 2, cell=cell)
    twin = TorchRNNLM(9, 4, 3, 2, cell, False)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 2, 3))
    state = (h, rng.standard_normal((2, 2, 3))) if cell == "lstm" else h
    ids = rng.integers(0, 9, size=(2, 4))
    compare_with_torch(ours, twin, ids, state, grad_inputs=[], dtype=np.float32)


def test_tied_weights_are_one_parameter_with_both_gradients():
    model = RNNLanguageModel(10, 4, 4, tie_weights=True)
    assert model.decoder.weight is model.embedding.weight
    names = [name for name, _ in model.named_parameters()]
    assert "decoder.weight" not in names and "embedding.weight" in names
    assert {"embedding.weight", "decoder.weight"} <= set(model.state_dict())


def test_running_in_two_calls_with_the_state_equals_one_call():
    model = RNNLanguageModel(12, 5, 7, 2, cell="lstm")
    ids = np.random.default_rng(1).integers(0, 12, size=(3, 8))
    with nt.no_grad():
        whole, _ = model(ids)
        first, state = model(ids[:, :5])
        second, _ = model(ids[:, 5:], state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-5, atol=1e-6)


def test_generate_is_seeded_and_never_draws_a_banned_id():
    model = RNNLanguageModel(6, 4, 4, cell="gru")
    prompt = np.array([[1, 2], [3, 3]])
    draws = [model.generate(prompt, 20, generator=np.random.default_rng(5), banned=[0, 1])
             for _ in range(2)]
    assert draws[0].shape == (2, 20) and (draws[0] == draws[1]).all()
    assert not np.isin(draws[0], [0, 1]).any()
    seen = []
    greedy = model.generate(prompt, 3, temperature=0, on_token=lambda ids: seen.append(ids.copy()))
    assert (np.stack(seen, axis=1) == greedy).all() and model.training
    assert model.generate(prompt, 0).shape == (2, 0)


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="cell must be one of \\['gru', 'lstm', 'rnn'\\], got 'transformer'"):
        RNNLanguageModel(10, cell="transformer")
    with pytest.raises(ValueError, match="tie_weights needs hidden_size == embed_dim.*hidden_size=8 and embed_dim=4"):
        RNNLanguageModel(10, 4, 8, tie_weights=True)
    model = RNNLanguageModel(10, 4, 4)
    with pytest.raises(TypeError, match="RNNLanguageModel.*needs integer ids, got float64"):
        model(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expects 2-D ids \\[B, T\\], got shape \\(3,\\)"):
        model(np.zeros(3, dtype=np.int64))
    with pytest.raises(IndexError, match="got id 10"):
        model(np.array([[1, 10]]))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        model.backward(np.zeros((1, 2, 10), np.float32))
    model(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="grad_output of shape \\(1, 3, 10\\).*\\(1, 2, 10\\)"):
        model.backward(np.zeros((1, 3, 10), np.float32))


def test_dropout_is_active_in_training_only():
    model = RNNLanguageModel(10, 6, 6, num_layers=2, dropout=0.5)
    twin = TorchRNNLM(10, 6, 6, 2, "lstm", False)
    twin.rnn.dropout = 0.5
    ids = np.random.default_rng(0).integers(0, 10, size=(2, 5))
    with nt.no_grad():
        a, _ = model(ids)
        b, _ = model(ids)
    assert not np.allclose(a, b)
    model.eval()
    twin.eval()
    compare_with_torch(model, twin, ids)


def test_an_lstm_lm_learns_a_repeating_sequence():
    nt.manual_seed(0)
    model = RNNLanguageModel(5, 16, 16, cell="lstm")
    optimizer = nt.optim.Adam(model.parameters(), lr=0.05)
    criterion = nt.nn.CrossEntropyLoss()
    stream = np.tile([0, 1, 2, 3, 4, 2], 20)
    x, y = stream[:96].reshape(4, 24), stream[1:97].reshape(4, 24)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        logits, _ = model(x)
        losses.append(float(criterion(logits.reshape(-1, 5), y.reshape(-1))))
        model.backward(criterion.backward().reshape(logits.shape))
        nt.optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    assert losses[0] > 1.4 and losses[-1] < 0.05


# ---- the rnn-lm recipe: data, a tiny training run, the generate hook ----
@pytest.fixture(scope="module")
def quotes_dir():
    import os
    from pathlib import Path
    folder = Path(os.environ.get("NT_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    if not (folder / "text" / "quotes_jamesft.json").is_file():
        pytest.skip(f"the quotes corpus is not in {folder} (set NT_SHARED_DATA to the shared data folder)")
    return folder


TINY = dict(steps=12, batch_size=8, embed_dim=16, hidden_size=16, seq_len=12, log_every=4, eval_every=6)


def test_held_out_quotes_are_distinct_from_training_quotes(quotes_dir):
    from numpy_transformer.recipes.rnn_lm import split_quotes
    quotes = nt.data.load_quotes(quotes_dir)
    train, val = split_quotes(quotes, 0.1)
    assert len(train) + len(val) == len(set(quotes)) == 1638
    assert not set(train) & set(val) and len(val) == 164
    assert split_quotes(quotes, 0.1) == (train, val)


def test_windows_predict_the_next_token_of_the_stream():
    from numpy_transformer.recipes.rnn_lm import windows
    x, y = windows(np.arange(10), 3)[:]
    assert (x == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]).all() and (y == x + 1).all()
    with pytest.raises(ValueError, match="too short for seq_len=12"):
        windows(np.arange(5), 12)


def test_a_tiny_training_run_lowers_the_held_out_perplexity(quotes_dir, tmp_path):
    from numpy_transformer.recipes import get_recipe
    from numpy_transformer.train import Trainer
    recipe = get_recipe("rnn-lm")
    config = recipe.make_config(**TINY, lr=1e-2)
    setup = recipe.build(config, quotes_dir)
    before = setup.task.evaluate(setup.eval_loader)
    trainer = Trainer(setup.task, setup.train_loader, setup.eval_loader, steps=config.steps,
                      eval_every=config.eval_every, log_every=config.log_every, out_dir=tmp_path,
                      progress=False)
    after = trainer.fit()
    assert after["perplexity"] == pytest.approx(np.exp(after["loss"]))
    assert after["perplexity"] < 0.8 * before["perplexity"]
    assert before["perplexity"] > 0.5 * setup.notes["tokenizer"].vocab_size   # ~uniform at first
    assert {"curves.png", "log.jsonl", "checkpoint.safetensors"} <= {p.name for p in tmp_path.iterdir()}


def test_generate_hook_streams_seeded_words_after_a_trained_checkpoint(quotes_dir, tmp_path):
    from numpy_transformer.cli import main
    from numpy_transformer.commands._options import load_run
    args = ["train", "rnn-lm", "--out", str(tmp_path), "--no-progress", "--data-dir", str(quotes_dir)]
    for key, value in {**TINY, "steps": 3}.items():
        args += ["--set", f"{key}={value}"]
    assert main(args) == 0
    recipe, _, setup, _ = load_run(tmp_path, quotes_dir)
    generate = recipe.hooks["generate"]
    pieces = []
    text = generate(setup, "Life is", 25, temperature=1.0, top_k=50, seed=3, on_token=pieces.append)
    assert len(pieces) == 25 and "".join(pieces) == text
    assert all(p == "\n" or p.startswith(" ") or p[0] in ".,;:!?)'" for p in pieces if p)
    assert generate(setup, "Life is", 25, top_k=50, seed=3) == text
    assert "[UNK]" not in text and "[PAD]" not in text and text == text.lower()
    greedy = generate(setup, "", 5, temperature=0)
    assert greedy == generate(setup, "", 5, temperature=0) and not greedy.startswith(" ")
    assert generate(setup, "hope", 0) == ""
