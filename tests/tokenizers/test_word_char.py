"""WordTokenizer (the splitting rule, lowercase, specials, unknowns) and CharTokenizer round trips."""
import json

import pytest
from hypothesis import given, strategies as st

from numpy_transformer.tokenizers import CharTokenizer, Vocab, WordTokenizer, load

TEXTS = ["Hello, world! Don't panic.", "The cat (a tabby) sat on 3 mats; the dog didn't.",
         "Well-known: 42% of [MASK] said \u201cyes\u201d\u2026"]


def test_words_punctuation_and_inner_apostrophes_are_the_tokens():
    tok = WordTokenizer.build(TEXTS)
    assert tok.tokenize("Don't panic, O'Brien... it's 3.5$!") == [
        "don't", "panic", ",", "o'brien", ".", ".", ".", "it's", "3", ".", "5", "$", "!"]
    assert tok.tokenize("  tabs\tand\nnewlines  ") == ["tabs", "and", "newlines"]


def test_lowercase_is_an_option():
    assert WordTokenizer.build(TEXTS, lowercase=False).tokenize("Hello World") == ["Hello", "World"]
    assert WordTokenizer.build(TEXTS).tokenize("Hello World") == ["hello", "world"]


def test_special_tokens_in_the_text_stay_whole_and_keep_their_ids():
    tok = WordTokenizer.build(TEXTS)
    assert tok.tokenize("the [MASK] sat [SEP] [mask]") == ["the", "[MASK]", "sat", "[SEP]", "[", "mask", "]"]
    ids = tok.encode("[CLS] the cat [SEP]")
    assert ids[0] == tok.cls_id == tok.vocab.cls_id and ids[-1] == tok.sep_id


def test_unknown_words_encode_as_unk():
    tok = WordTokenizer.build(TEXTS)
    ids = tok.encode("the zebra sat")
    assert ids == [tok.token_to_id("the"), tok.unk_id, tok.token_to_id("sat")]
    assert tok.decode(ids) == "the [UNK] sat"


def test_decode_gives_the_text_back_up_to_case_and_spacing():
    tok = WordTokenizer.build(TEXTS)
    assert tok.decode(tok.encode("The cat (a tabby) sat on 3 mats; the dog didn't.")) == \
        "the cat (a tabby) sat on 3 mats; the dog didn't."
    assert tok.decode(tok.encode("Hello , world !")) == "hello, world!"
    assert tok.decode([tok.bos_id] + tok.encode("hello") + [tok.eos_id], skip_special_tokens=True) == "hello"


@given(st.lists(st.sampled_from(["the", "cat", "sat", ",", ".", "(", ")", "don't", "3", "!"]), max_size=12))
def test_encode_of_decode_is_identity_on_known_tokens(tokens):
    tok = WordTokenizer.build(TEXTS)
    ids = tok.vocab.encode(tokens)
    assert tok.encode(tok.decode(ids)) == ids


def test_min_freq_and_max_size_reach_the_vocab():
    tok = WordTokenizer.build(["a a a b b c"], min_freq=2)
    assert tok.vocab.get_itos()[7:] == ["a", "b"]
    assert WordTokenizer.build(["a a a b b c"], max_size=8).vocab.get_itos()[7:] == ["a"]


def test_word_tokenizer_saves_and_loads(tmp_path):
    tok = WordTokenizer.build(TEXTS, lowercase=False)
    tok.save(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["type"] == "WordTokenizer" and data["lowercase"] is False
    for again in (WordTokenizer.load(tmp_path / "t.json"), load(tmp_path / "t.json")):
        assert isinstance(again, WordTokenizer) and again.vocab == tok.vocab and not again.lowercase
        assert again.encode(TEXTS[2]) == tok.encode(TEXTS[2])


def test_encode_needs_a_string_and_decode_ids_in_range():
    tok = WordTokenizer.build(TEXTS)
    with pytest.raises(TypeError, match="WordTokenizer.encode expects a str, got list"):
        tok.encode(["hello"])
    with pytest.raises(IndexError, match=f"WordTokenizer.decode got id {tok.vocab_size}"):
        tok.decode([0, tok.vocab_size])


def test_char_tokenizer_sorts_characters_after_the_specials():
    tok = CharTokenizer.build("hello world")
    assert tok.vocab.get_itos()[7:] == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == 15 and tok.encode("hold") == [10, 12, 11, 8]
    assert tok.encode("hi!") == [10, tok.unk_id, tok.unk_id]


def test_char_tokenizer_without_specials_rejects_unknown_characters():
    tok = CharTokenizer.build(["ab", "c"], specials=[])
    assert tok.vocab_size == 3 and tok.encode("cab") == [2, 0, 1]
    with pytest.raises(KeyError, match=r"characters \['x', 'z'\] are not in the vocab"):
        tok.encode("zax")
    with pytest.raises(KeyError, match="no special token \\[PAD\\]"):
        tok.pad_id


@given(st.text(max_size=40))
def test_char_round_trip_on_any_text_it_was_built_on(text):
    tok = CharTokenizer.build(text)
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(text)) == len(text)


def test_char_tokenizer_saves_and_loads(tmp_path):
    tok = CharTokenizer.build("naïve café 日本\n")
    tok.save(tmp_path / "c.json")
    again = load(tmp_path / "c.json")
    assert isinstance(again, CharTokenizer) and again.vocab == tok.vocab
    assert CharTokenizer.load(tmp_path / "c.json").decode(tok.encode("café")) == "café"
    with pytest.raises(ValueError, match="holds a CharTokenizer, not a WordTokenizer"):
        WordTokenizer.load(tmp_path / "c.json")
    with pytest.raises(ValueError, match="not one character"):
        CharTokenizer(Vocab(["ab"]))
