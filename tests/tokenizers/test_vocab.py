"""Vocab: specials first, frequency order, min_freq/max_size, unknowns, ids both ways, JSON."""
import json

import numpy as np
import pytest

from numpy_transformer.tokenizers import SPECIALS, Vocab, load

SENTENCES = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat", "ran"], ["a"]]


def test_specials_take_the_first_ids_in_order():
    vocab = Vocab(["x", "y"])
    assert vocab.get_itos()[:7] == SPECIALS == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]
    assert (vocab.pad_id, vocab.unk_id, vocab.cls_id, vocab.sep_id, vocab.mask_id, vocab.bos_id,
            vocab.eos_id) == (0, 1, 2, 3, 4, 5, 6)
    assert vocab["x"] == 7 and vocab["y"] == 8 and len(vocab) == 9


def test_build_orders_by_frequency_then_alphabet():
    vocab = Vocab.build(SENTENCES)
    assert vocab.get_itos()[7:] == ["the", "cat", "sat", "a", "dog", "ran"]


def test_min_freq_drops_rare_tokens():
    vocab = Vocab.build(SENTENCES, min_freq=2)
    assert vocab.get_itos()[7:] == ["the", "cat", "sat"]
    assert "dog" not in vocab and vocab["dog"] == vocab.unk_id


def test_max_size_counts_the_specials():
    vocab = Vocab.build(SENTENCES, max_size=9)
    assert len(vocab) == 9 and vocab.get_itos()[7:] == ["the", "cat"]
    with pytest.raises(ValueError, match="max_size=5 leaves no room for the 7 special tokens"):
        Vocab.build(SENTENCES, max_size=5)


def test_specials_in_the_data_are_not_counted_twice():
    vocab = Vocab.build([["[MASK]", "a", "[MASK]"]])
    assert vocab.get_itos() == SPECIALS + ["a"]


def test_unknown_tokens_map_to_unk():
    vocab = Vocab.build(SENTENCES)
    assert vocab.encode(["the", "zebra", "cat"]) == [vocab["the"], 1, vocab["cat"]]


def test_encode_and_decode_are_inverse():
    vocab = Vocab.build(SENTENCES)
    ids = vocab.encode(["a", "dog", "[EOS]"])
    assert vocab.decode(ids) == ["a", "dog", "[EOS]"]
    assert vocab.decode(np.array(ids)) == ["a", "dog", "[EOS]"]
    assert vocab.lookup_token(vocab["cat"]) == "cat"


def test_custom_specials_and_none():
    vocab = Vocab(["a", "b"], specials=["<pad>"])
    assert vocab["<pad>"] == 0 and vocab["b"] == 2
    with pytest.raises(KeyError, match=r"has no special token \[UNK\].*'<pad>'"):
        vocab.unk_id
    with pytest.raises(KeyError, match="'zebra' is not in the Vocab and it has no \\[UNK\\]"):
        vocab["zebra"]
    plain = Vocab(["a"], specials=[])
    assert len(plain) == 1 and plain["a"] == 0


def test_out_of_range_and_non_integer_ids_are_errors():
    vocab = Vocab(["a"])
    with pytest.raises(IndexError, match=r"Vocab.decode got id 8, but the vocabulary has 8 tokens \(ids 0..7\)"):
        vocab.decode([0, 8])
    with pytest.raises(IndexError, match="got id -1"):
        vocab.decode([-1])
    with pytest.raises(IndexError, match="Vocab.lookup_token got id 99"):
        vocab.lookup_token(99)
    with pytest.raises(TypeError, match="expects integer ids, got 1.5"):
        vocab.decode([1.5])


def test_bad_construction_is_an_error():
    with pytest.raises(ValueError, match="token 'a' appears twice"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match=r"special token '\[PAD\]' appears twice"):
        Vocab(["[PAD]"])
    with pytest.raises(TypeError, match="non-empty strings, got 3"):
        Vocab(["a", 3])
    with pytest.raises(ValueError, match="min_freq must be a positive integer"):
        Vocab.build(SENTENCES, min_freq=0)
    with pytest.raises(TypeError, match="got a string"):
        Vocab.build(["the cat"])
    with pytest.raises(TypeError, match="got a string"):
        Vocab(["a"]).encode("a")


def test_save_and_load_give_the_same_vocab(tmp_path):
    vocab = Vocab.build(SENTENCES + [["naïve", "日本"]], specials=["[PAD]", "[UNK]"])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "Vocab" and data["specials"] == ["[PAD]", "[UNK]"]
    assert Vocab.load(path) == vocab and load(path) == vocab
    assert Vocab.load(path).get_stoi() == vocab.get_stoi()


def test_loading_the_wrong_file_is_an_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"tokens": []}')
    with pytest.raises(ValueError, match="not a tokenizer file"):
        Vocab.load(path)
    path.write_text('{"type": "Nope"}')
    with pytest.raises(ValueError, match="type 'Nope'; known types: .*Vocab"):
        load(path)
