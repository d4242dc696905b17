"""The seq2seq Transformer against a torch twin (nn.Transformer + embeddings + linear), masks,
incremental decoding against the full forward, per-head attention maps, errors."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.models import Transformer, TransformerConfig
from numpy_transformer.models.decoding import beam_search, decode, greedy_search, length_penalty
from numpy_transformer.testing import compare_with_torch

pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]
PAD = 0


class TorchSeq2Seq(torch.nn.Module):
    """The same model in torch, with the same parameter names."""

    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.c = c
        self.src_embed = torch.nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=c.pad_id)
        if not c.share_embeddings:
            self.tgt_embed = torch.nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=c.pad_id)
        if c.positions == "learned":
            self.src_pos = _LearnedTable(c.max_len, c.d_model)
            self.tgt_pos = _LearnedTable(c.max_len, c.d_model)
        self.transformer = torch.nn.Transformer(
            c.d_model, c.nhead, c.num_encoder_layers, c.num_decoder_layers, c.dim_feedforward,
            dropout=0.0, activation=c.activation, batch_first=True, norm_first=c.norm_first)
        self.output = torch.nn.Linear(c.d_model, c.tgt_vocab_size)
        if c.tie_output:
            self.output.weight = self.tgt_table().weight
        # ours is built in the default float32 and converted by .to(): the same rounded values
        table = nt.nn.functional.sinusoidal_positional_encoding(c.max_len, c.d_model, np.float32)
        self.register_buffer("pe", torch.from_numpy(table.astype(np.float64)), persistent=False)

    def tgt_table(self):
        return self.src_embed if self.c.share_embeddings else self.tgt_embed

    def embed(self, ids, table, positions):
        x = table(ids) * math.sqrt(self.c.d_model)
        table = positions.weight if self.c.positions == "learned" else self.pe
        return x + table[:ids.shape[1]].to(x.dtype)

    def forward(self, src, tgt):
        causal = torch.nn.Transformer.generate_square_subsequent_mask(tgt.shape[1],
                                                                      dtype=self.output.weight.dtype)
        h = self.transformer(
            self.embed(src, self.src_embed, getattr(self, "src_pos", None)),
            self.embed(tgt, self.tgt_table(), getattr(self, "tgt_pos", None)),
            tgt_mask=causal, src_key_padding_mask=src == PAD, tgt_key_padding_mask=tgt == PAD,
            memory_key_padding_mask=src == PAD, tgt_is_causal=True)
        return self.output(h)


class _LearnedTable(torch.nn.Module):
    def __init__(self, max_len, d_model):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(max_len, d_model))


def padded_ids(rng, N, L, vocab):
    """[N, L] ids in 1..vocab-1, each row padded after a random length >= 1."""
    ids = rng.integers(1, vocab, size=(N, L))
    lengths = rng.integers(1, L + 1, size=N)
    lengths[0] = L
    ids[np.arange(L) >= lengths[:, None]] = PAD
    return ids


def config(**options):
    base = dict(src_vocab_size=11, tgt_vocab_size=13, d_model=8, nhead=2, num_encoder_layers=2,
                num_decoder_layers=2, dim_feedforward=12, dropout=0.0, max_len=16, pad_id=PAD)
    return TransformerConfig(**{**base, **options})


@pytest.mark.fast_too
@given(norm_first=st.booleans(), positions=st.sampled_from(["sinusoidal", "learned"]),
       tie=st.booleans(), share=st.booleans(), activation=st.sampled_from(["relu", "gelu"]),
       N=st.integers(1, 3), S=st.integers(1, 6), T=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_matches_torch_with_padding_float64(norm_first, positions, tie, share, activation, N, S,
                                            T, seed):
    vocab = dict(src_vocab_size=12, tgt_vocab_size=12) if share else {}
    c = config(norm_first=norm_first, positions=positions, tie_output=tie, share_embeddings=share,
               activation=activation, **vocab)
    rng = np.random.default_rng(seed)
    src, tgt = padded_ids(rng, N, S, c.src_vocab_size), padded_ids(rng, N, T, c.tgt_vocab_size)
    compare_with_torch(Transformer(c), TorchSeq2Seq(c), src, tgt, dtype=np.float64, seed=seed)


@pytest.mark.fast_too
def test_matches_torch_float32():
    c = config(d_model=16, nhead=4)
    rng = np.random.default_rng(1)
    src, tgt = padded_ids(rng, 3, 7, c.src_vocab_size), padded_ids(rng, 3, 5, c.tgt_vocab_size)
    out, _ = compare_with_torch(Transformer(c), TorchSeq2Seq(c), src, tgt, dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == (3, 5, c.tgt_vocab_size)


def test_label_smoothed_loss_ignores_padding_and_matches_torch():
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((10, 7)), rng.integers(1, 7, 10)
    target[[2, 5]] = PAD
    model = Transformer(config())
    criterion = model.criterion(label_smoothing=0.1)
    loss = criterion(logits, target)
    t_logits = torch.from_numpy(logits).requires_grad_()
    expected = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(target),
                                                 ignore_index=PAD, label_smoothing=0.1)
    expected.backward()
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-10)
    grad = criterion.backward()
    np.testing.assert_allclose(grad, t_logits.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert not grad[[2, 5]].any()                      # padded targets get no gradient


def test_padding_changes_nothing_at_real_positions():
    """Extra padding on either side leaves the logits of the real positions unchanged."""
    model = Transformer(config()).double()
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(1, 11, (2, 4)), rng.integers(1, 13, (2, 3))
    with nt.no_grad():
        short = model(src, tgt)
        long = model(np.pad(src, ((0, 0), (0, 3))), np.pad(tgt, ((0, 0), (0, 2))))
    np.testing.assert_allclose(long[:, :3], short, rtol=1e-12, atol=1e-12)


def test_decoder_is_causal():
    """Changing a later target token leaves the logits at earlier positions unchanged."""
    model = Transformer(config()).double()
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(1, 11, (2, 4)), rng.integers(1, 13, (2, 5))
    changed = tgt.copy()
    changed[:, 3] = changed[:, 3] % 12 + 1
    with nt.no_grad():
        a, b = model(src, tgt), model(src, changed)
    np.testing.assert_allclose(a[:, :3], b[:, :3], rtol=1e-12, atol=1e-12)
    assert not np.allclose(a[:, 3:], b[:, 3:])


@pytest.mark.parametrize("norm_first", [False, True])
def test_incremental_decoder_equals_full_forward(norm_first):
    """Step-by-step decoding with cached keys/values gives the full forward's log-probabilities."""
    model = Transformer(config(norm_first=norm_first, dropout=0.3)).double()
    rng = np.random.default_rng(0)
    src, tgt = padded_ids(rng, 3, 6, 11), rng.integers(1, 13, (3, 5))
    model.eval()
    with nt.no_grad():
        logits = model(src, tgt)
    expected = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    decoder = model.start_decoding(src)
    for t in range(5):
        np.testing.assert_allclose(decoder.log_probs(tgt[:, t]), expected[:, t], rtol=1e-10,
                                   atol=1e-10)


def log_softmax(x):
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_incremental_decoder_beams_expand_and_reorder_within_their_sentence():
    """2 sentences x 2 beams; after step 0 the rows continue rows [1, 1, 3, 2]."""
    model = Transformer(config()).double().eval()
    rng = np.random.default_rng(0)
    src = padded_ids(rng, 2, 5, 11)
    first, second = rng.integers(1, 13, 4), rng.integers(1, 13, 4)
    decoder = model.start_decoding(src)
    decoder.expand(2)
    step0 = decoder.log_probs(first)
    rows = np.array([1, 1, 3, 2])
    decoder.reorder(rows)
    step1 = decoder.log_probs(second)
    with nt.no_grad():
        logits = model(src[[0, 0, 1, 1]], np.stack([first, first[rows]]).T)
    np.testing.assert_allclose(step0, log_softmax(logits[:, 0]), rtol=1e-10, atol=1e-10)
    with nt.no_grad():
        logits = model(src[[0, 0, 1, 1]], np.stack([first[rows], second]).T)
    np.testing.assert_allclose(step1, log_softmax(logits[:, 1]), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
def test_attention_maps_are_per_head_probabilities_of_the_same_pass(norm_first):
    c = config(norm_first=norm_first, num_encoder_layers=2, num_decoder_layers=3)
    model = Transformer(c).double()
    rng = np.random.default_rng(0)
    src, tgt = padded_ids(rng, 2, 5, 11), padded_ids(rng, 2, 4, 13)
    maps = model.attention_maps(src, tgt)
    assert model.training                                      # the mode is given back
    with nt.no_grad():
        model.eval()
        np.testing.assert_allclose(maps["logits"], model(src, tgt), rtol=1e-12, atol=1e-12)
    assert [w.shape for w in maps["encoder"]] == [(2, 2, 5, 5)] * 2
    assert [w.shape for w in maps["decoder"]] == [(2, 2, 4, 4)] * 3
    assert [w.shape for w in maps["cross"]] == [(2, 2, 4, 5)] * 3
    for kind in ("encoder", "decoder", "cross"):
        for w in maps[kind]:
            np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(np.triu(maps["decoder"][0][0, 0], k=1) == 0)          # causal
    assert np.all(maps["cross"][0][src[:, None, None, :].repeat(4, 2).repeat(2, 1) == PAD] == 0)


def test_tied_output_shares_the_target_embedding():
    model = Transformer(config(tie_output=True))
    assert model.output.weight is model.tgt_embed.weight
    names = [name for name, _ in model.named_parameters()]
    assert "output.weight" not in names and "tgt_embed.weight" in names


def test_float32_stays_float32():
    model = Transformer(config())
    rng = np.random.default_rng(0)
    src, tgt = padded_ids(rng, 2, 5, 11), padded_ids(rng, 2, 4, 13)
    logits = model(src, tgt)
    assert logits.dtype == np.float32
    model.backward(np.ones_like(logits))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_errors_name_the_model_and_shapes():
    model = Transformer(config())
    ids = np.ones((2, 3), dtype=np.int64)
    with pytest.raises(TypeError, match=r"Transformer\(.*integer src"):
        model(ids.astype(np.float32), ids)
    with pytest.raises(ValueError, match=r"2-D tgt.*\(2, 3, 1\)"):
        model(ids, ids[..., None])
    with pytest.raises(ValueError, match=r"longer than max_len=16"):
        model(np.ones((1, 17), dtype=np.int64), ids[:1])
    with pytest.raises(ValueError, match=r"same batch size"):
        model(ids, ids[:1])
    with pytest.raises(RuntimeError, match="without a matching forward"):
        model.backward(np.ones((2, 3, 13), np.float32))
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary"):
        Transformer(config(share_embeddings=True))
    with pytest.raises(ValueError, match="positions must be"):
        Transformer(config(positions="rotary"))


# ---- decoding ----
BOS, EOS, A, B = 0, 1, 2, 3


class MarkovDecoder:
    """A fake decoder for hand-checked searches: the next token depends on the last one only."""

    def __init__(self, table, sentences=1):
        self.log_table = np.log(np.asarray(table, dtype=np.float64) + 1e-300)   # [V, V]
        self.n, self.k = sentences, 1

    @property
    def rows(self):
        return self.n * self.k

    def expand(self, k):
        self.k *= k

    def reorder(self, rows):
        assert np.all(np.asarray(rows) // self.k == np.arange(self.rows) // self.k)

    def log_probs(self, tokens):
        return self.log_table[tokens].copy()


def table(**rows):
    """rows: name -> {next name: probability}, over BOS, EOS, A, B."""
    index = {"BOS": BOS, "EOS": EOS, "A": A, "B": B}
    t = np.zeros((4, 4))
    for name, nexts in rows.items():
        for nxt, p in nexts.items():
            t[index[name], index[nxt]] = p
    return t


TRAP = table(BOS={"A": 0.5, "B": 0.4, "EOS": 0.1}, A={"A": 0.3, "B": 0.3, "EOS": 0.4},
             B={"EOS": 0.9, "A": 0.05, "B": 0.05})


def test_greedy_walks_into_the_trap_that_beam_search_avoids():
    """Greedy: A (0.5) then EOS (0.4): p = 0.20. Beam 2 keeps B (0.4), then EOS (0.9): p = 0.36."""
    assert greedy_search(MarkovDecoder(TRAP), BOS, EOS, 5) == [[A]]
    assert beam_search(MarkovDecoder(TRAP), BOS, EOS, 5, beam_size=2, alpha=0.0) == [[B]]
    assert beam_search(MarkovDecoder(TRAP), BOS, EOS, 5, beam_size=1, alpha=0.0) == [[A]]


def test_length_penalty_can_prefer_the_longer_translation():
    """[] has p 0.4, [A] has p 0.6 * 0.6 = 0.36. alpha 0: [] wins; alpha 1: log 0.36 / (7/6)
    = -0.876 beats log 0.4 / 1 = -0.916, so [A] wins."""
    short_or_long = table(BOS={"EOS": 0.4, "A": 0.6}, A={"EOS": 0.6, "A": 0.4})
    assert beam_search(MarkovDecoder(short_or_long), BOS, EOS, 5, 2, alpha=0.0) == [[]]
    assert beam_search(MarkovDecoder(short_or_long), BOS, EOS, 5, 2, alpha=1.0) == [[A]]
    assert length_penalty(2, 1.0) == pytest.approx(7 / 6)


@given(seed=st.integers(0, 2**16), alpha=st.sampled_from([0.0, 0.6, 1.5]))
def test_a_beam_wide_enough_finds_the_best_sequence(seed, alpha):
    """Beam 16 over 2 words and 3 steps keeps every prefix: it must find the exhaustive best."""
    probs = np.random.default_rng(seed).dirichlet(np.ones(3), size=4)      # next of each token
    t = np.zeros((4, 4))
    t[:, [EOS, A, B]] = probs
    best, best_score = None, -np.inf
    for length in range(0, 4):
        for words in np.ndindex(*(2,) * length):
            seq = [A + w for w in words]
            path = [BOS] + seq + ([EOS] if length < 3 else [])
            logp = sum(np.log(t[a, b]) for a, b in zip(path, path[1:]))
            score = logp / length_penalty(len(path) - 1, alpha)
            if score > best_score:
                best, best_score = seq, score
    assert beam_search(MarkovDecoder(t), BOS, EOS, 3, beam_size=16, alpha=alpha) == [best]


def test_beam_one_equals_greedy_on_a_model_batch():
    model = Transformer(config(tgt_vocab_size=9)).eval()
    src = padded_ids(np.random.default_rng(3), 6, 5, 11)
    greedy = greedy_search(model.start_decoding(src), 2, 3, 8)
    assert beam_search(model.start_decoding(src), 2, 3, 8, beam_size=1, alpha=0.6) == greedy
    assert decode(model, src, 2, 3, beam_size=1, max_steps=8) == greedy


def test_beam_search_is_batched_over_sentences():
    """Each sentence decoded alone gives the same result as in the batch."""
    model = Transformer(config(tgt_vocab_size=9)).double().eval()
    src = padded_ids(np.random.default_rng(4), 4, 5, 11)
    together = decode(model, src, 2, 3, beam_size=3, max_steps=7)
    alone = [decode(model, src[i:i + 1, :int((src[i] != PAD).sum())], 2, 3, beam_size=3,
                    max_steps=7)[0] for i in range(4)]
    assert together == alone
    assert model.training is False
