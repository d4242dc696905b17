"""BERT against its PyTorch twin (forward, every gradient, tied table), finite differences,
the padding mask, BERT's masking statistics, and errors."""
import copy

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.interop.bert_twin import BertTwin
from numpy_transformer.models.bert import BERT, IGNORE_INDEX, BERTConfig, mask_tokens
from numpy_transformer.testing import check_module_gradients, compare_with_torch

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
SPECIALS = range(7)        # [PAD] [UNK] [CLS] [SEP] [MASK] [BOS] [EOS], as nt.tokenizers
PAD, CLS, SEP, MASK = 0, 2, 3, 4


def tiny_config(**options):
    """A BERT small enough for finite differences; dim >= 3 (LayerNorm over 1-2 features is
    degenerate: its gradient is round-off)."""
    defaults = dict(vocab_size=17, max_len=8, dim=6, depth=2, heads=2, ff_dim=10, dropout=0.0)
    return BERTConfig(**{**defaults, **options})


def sentences(rng, B, T, vocab_size, lengths=None):
    """[CLS] words [SEP] [PAD]...: ids [B, T] with at least one word per row when T >= 3."""
    ids = np.full((B, T), PAD, dtype=np.int64)
    for row in range(B):
        n = max(0, T - 2) if lengths is None else lengths[row]
        words = rng.integers(len(SPECIALS), vocab_size, n)
        ids[row, :n + 2] = [CLS, *words, SEP][:T]
    return ids


# ---- the twin: same weights, same inputs -> same logits and gradients ----

@pytest.mark.fast_too
@given(B=st.integers(1, 3), T=st.integers(3, 8), heads=st.integers(1, 3), head_dim=st.integers(1, 3),
       depth=st.integers(1, 2), ff=st.integers(1, 8), norm_first=st.booleans(),
       activation=st.sampled_from(["gelu", "relu"]), padding=st.booleans(),
       segments=st.booleans(), head_at=st.sampled_from(["all", "masked"]),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_bert_matches_its_torch_twin(B, T, heads, head_dim, depth, ff, norm_first, activation,
                                     padding, segments, head_at, dtype, seed):
    rng = np.random.default_rng(seed)
    dim = heads * max(head_dim, -(-3 // heads))
    config = tiny_config(dim=dim, heads=heads, depth=depth, ff_dim=ff, norm_first=norm_first,
                         activation=activation)
    lengths = rng.integers(1, T - 1, B) if padding else None
    ids = sentences(rng, B, T, config.vocab_size, lengths)
    kwargs = {}
    if segments:
        kwargs["token_type_ids"] = rng.integers(0, 2, (B, T))
    if head_at == "masked":
        where = rng.random((B, T)) < 0.4
        where[0, 1] = True
        kwargs["masked_positions"] = where
    compare_with_torch(BERT(config), BertTwin(config), ids, kwargs=kwargs, dtype=dtype, seed=seed)


def test_explicit_padding_mask_matches_the_twin(rng):
    config = tiny_config(pad_id=None)
    ids = sentences(rng, 3, 8, config.vocab_size)
    padding = rng.random((3, 8)) < 0.3
    padding[:, 0] = False
    compare_with_torch(BERT(config), BertTwin(config), ids, kwargs={"key_padding_mask": padding})


def test_gradients_match_finite_differences(rng):
    for norm_first in (False, True):
        config = tiny_config(norm_first=norm_first, depth=1, max_len=5)
        ids = sentences(rng, 2, 5, config.vocab_size, lengths=[3, 1])
        where = np.zeros((2, 5), dtype=bool)
        where[0, 1:3] = where[1, 1] = True
        check_module_gradients(BERT(config), ids, kwargs={"masked_positions": where},
                               max_elements=6)


# ---- the tied table and the head at the masked positions ----

def test_the_decoder_is_the_token_table_and_both_paths_add_into_its_gradient(rng):
    model = BERT(tiny_config()).double()
    table = model.embeddings.word_embeddings.weight
    assert model.head.decoder.weight is table
    assert sum(p is table for p in model.parameters()) == 1
    assert {"head.decoder.weight", "embeddings.word_embeddings.weight"} <= set(model.state_dict())
    untied = copy.deepcopy(model)                        # the same weights, two tables
    untied.head.decoder.weight = nt.nn.Parameter(table.data.copy())
    ids, dy = sentences(rng, 2, 8, 17), rng.standard_normal((2, 8, 17))
    for m in (model, untied):
        m(ids)
        m.backward(dy)
    decoder_part = untied.head.decoder.weight.grad
    embedding_part = untied.embeddings.word_embeddings.weight.grad
    assert np.abs(decoder_part).min() > 0 and np.abs(embedding_part).max() > 0
    np.testing.assert_allclose(table.grad, decoder_part + embedding_part, rtol=1e-12, atol=1e-15)


def test_the_head_at_masked_positions_gives_the_loss_over_all_positions_with_ignore_index(rng):
    model = BERT(tiny_config()).double()
    model.eval()
    ids = sentences(rng, 3, 8, 17)
    inputs, labels = mask_tokens(ids, rng, MASK, SPECIALS, 17)
    where = labels != IGNORE_INDEX
    criterion = nt.nn.CrossEntropyLoss()
    with nt.no_grad():
        full = criterion(model(inputs).reshape(-1, 17), labels.reshape(-1))
        masked = criterion(model(inputs, masked_positions=where), labels[where])
    np.testing.assert_allclose(masked, full, rtol=1e-12)


def test_padding_hides_the_padded_positions_from_every_other_position(rng):
    model = BERT(tiny_config()).double()
    ids = sentences(rng, 2, 8, 17, lengths=[3, 5])
    other = ids.copy()
    other[ids == PAD] = 9                                   # other words where the padding is
    padding = ids == PAD
    with nt.no_grad():
        a = model(ids, key_padding_mask=padding)
        b = model(other, key_padding_mask=padding)
    np.testing.assert_allclose(a[~padding], b[~padding], rtol=1e-12)
    assert not np.allclose(a[padding], b[padding])


def test_float32_by_default_and_no_caches_under_no_grad(rng):
    model = BERT(tiny_config())
    with nt.no_grad():
        logits = model(sentences(rng, 2, 8, 17))
    assert logits.dtype == np.float32 and logits.shape == (2, 8, 17)
    assert all(not m._caches for m in model.modules())


def test_init_is_bert_s_and_the_blocks_differ():
    model = BERT(BERTConfig(vocab_size=500, dim=64, depth=2, heads=2, ff_dim=128))
    blocks = model.encoder.layers
    w0, w1 = blocks[0].linear1.weight.data, blocks[1].linear1.weight.data
    assert not np.array_equal(w0, w1)
    assert abs(float(w0.std()) - 0.02) < 0.002
    assert abs(float(model.embeddings.word_embeddings.weight.data.std()) - 0.02) < 0.002
    assert np.all(blocks[0].linear1.bias.data == 0) and np.all(blocks[0].norm1.weight.data == 1)
    assert np.all(model.head.decoder.bias.data == 0)


def test_pre_norm_adds_a_final_layer_norm_post_norm_does_not():
    assert BERT(tiny_config(norm_first=True)).encoder.norm is not None
    assert BERT(tiny_config(norm_first=False)).encoder.norm is None


# ---- masking: 15% of ordinary tokens; 80% [MASK], 10% random, 10% kept ----

def masked_corpus(rng, n=4000, T=50, vocab=1000, seed=0):
    lengths = rng.integers(1, T - 1, n)
    ids = sentences(rng, n, T, vocab, lengths)
    inputs, labels = mask_tokens(ids, np.random.default_rng(seed), MASK, SPECIALS, vocab)
    return ids, inputs, labels, lengths


def test_masking_chooses_round_15_percent_of_each_sequence_s_words_and_no_special_token(rng):
    ids, inputs, labels, lengths = masked_corpus(rng)
    chosen = labels != IGNORE_INDEX
    np.testing.assert_array_equal(chosen.sum(axis=1), np.maximum(1, np.rint(0.15 * lengths)))
    assert not np.isin(ids[chosen], list(SPECIALS)).any()
    np.testing.assert_array_equal(labels[chosen], ids[chosen])          # labels: the originals
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])        # the rest untouched
    assert abs(chosen.sum() / lengths.sum() - 0.15) < 0.01


def test_chosen_tokens_become_mask_80_random_10_and_stay_10_percent(rng):
    ids, inputs, labels, _ = masked_corpus(rng)
    chosen = labels != IGNORE_INDEX
    got, original = inputs[chosen], ids[chosen]
    n = chosen.sum()                                                    # about 20,000
    masked, kept = got == MASK, got == original
    randomised = ~masked & ~kept
    assert abs(masked.mean() - 0.8) < 0.015
    assert abs(randomised.mean() - 0.1) < 0.01        # (a random draw equal to the word: 1/993)
    assert abs(kept.mean() - 0.1) < 0.01
    assert not np.isin(got[randomised], list(SPECIALS)).any()
    assert n > 10_000


def test_masking_positions_are_uniform_over_the_words(rng):
    ids = sentences(rng, 20_000, 12, 1000)                              # 10 words each
    _, labels = mask_tokens(ids, np.random.default_rng(1), MASK, SPECIALS, 1000)
    per_position = (labels != IGNORE_INDEX)[:, 1:11].mean(axis=0)       # 2 of 10 words each
    assert np.all(np.abs(per_position - 0.2) < 0.015)


def test_masking_repeats_with_the_same_generator_seed(rng):
    ids = sentences(rng, 6, 50, 300, lengths=rng.integers(1, 48, 6))
    a = mask_tokens(ids, np.random.default_rng(5), MASK, SPECIALS, 300)
    b = mask_tokens(ids, np.random.default_rng(5), MASK, SPECIALS, 300)
    c = mask_tokens(ids, np.random.default_rng(6), MASK, SPECIALS, 300)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_a_sequence_without_words_gets_no_label(rng):
    ids = np.array([[CLS, SEP, PAD, PAD], [CLS, 9, SEP, PAD]])
    inputs, labels = mask_tokens(ids, rng, MASK, SPECIALS, 20)
    np.testing.assert_array_equal(labels[0], IGNORE_INDEX)
    assert labels[1, 1] == 9 and (labels[1] != IGNORE_INDEX).sum() == 1
    assert inputs.dtype == labels.dtype == ids.dtype


# ---- errors ----

@pytest.fixture
def model():
    return BERT(tiny_config())


def test_float_ids_are_rejected(model):
    with pytest.raises(TypeError, match=r"BERT\(vocab_size=17.*integer input_ids"):
        model(np.zeros((2, 4), np.float32))


def test_ids_must_be_batched_2d(model):
    with pytest.raises(ValueError, match=r"BERT\(.*input_ids \[B, T\], got shape \(4,\)"):
        model(np.zeros(4, np.int64))


def test_a_sequence_longer_than_max_len_is_rejected(model):
    with pytest.raises(ValueError, match=r"shape \(2, 9\): T=9 is longer than max_len=8"):
        model(np.zeros((2, 9), np.int64))


def test_an_id_outside_the_vocabulary_is_rejected(model):
    with pytest.raises(IndexError, match=r"Embedding\(17, 6\) got id 17"):
        model(np.full((2, 4), 17, np.int64))


@pytest.mark.parametrize("name, array, error, message", [
    ("token_type_ids", np.zeros((2, 3), np.int64), ValueError, r"token_type_ids of input_ids' shape \(2, 4\), got shape \(2, 3\)"),
    ("token_type_ids", np.zeros((2, 4)), TypeError, r"int token_type_ids .* got dtype float64"),
    ("key_padding_mask", np.zeros((2, 4), np.int64), TypeError, r"bool key_padding_mask .* got dtype int64"),
    ("masked_positions", np.zeros((4, 2), bool), ValueError, r"masked_positions of input_ids' shape \(2, 4\), got shape \(4, 2\)"),
])
def test_side_inputs_must_match_the_ids(model, name, array, error, message):
    with pytest.raises(error, match=message):
        model(np.zeros((2, 4), np.int64), **{name: array})


def test_backward_without_forward_and_a_wrong_gradient_shape(model, rng):
    with pytest.raises(RuntimeError, match=r"BERT\(.*backward\(\) called without a matching forward"):
        model.backward(np.zeros((2, 4, 17), np.float32))
    model(sentences(rng, 2, 4, 17))
    with pytest.raises(ValueError, match=r"grad_output of shape \(2, 4, 16\), but the forward output had shape \(2, 4, 17\)"):
        model.backward(np.zeros((2, 4, 16), np.float32))


def test_bad_configurations_are_rejected():
    with pytest.raises(ValueError, match="dim=10 is not divisible by heads=4"):
        BERT(tiny_config(dim=10, heads=4))
    with pytest.raises(ValueError, match="activation should be 'gelu' or 'relu', not 'tanh'"):
        BERT(tiny_config(activation="tanh"))
