"""ByteLevelBPE trained here: pre-tokenisation, merges (equal to Hugging Face's trainer), round
trips on any text, special tokens, errors, JSON."""
import json

import pytest
from bpe_text import GPT2_PATTERN, TEXT
from hypothesis import given

from numpy_transformer.tokenizers import ByteLevelBPE, load
from numpy_transformer.tokenizers.byte_level import bytes_to_unicode, gpt2_pattern, pretokenize

CORPUS = ("The quick brown fox jumps over the lazy dog. The dog doesn't care; it's 1999!\n"
          "Naïve café owners sell crème brûlée — 日本語 text, emoji 🎉🎉 and tabs\t\there.\n") * 20


@pytest.fixture(scope="module")
def trained():
    return ByteLevelBPE.train(CORPUS, 320, special_tokens=["<|endoftext|>", "[PAD]"])


def test_every_byte_has_its_own_printable_character():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("A")] == "A" and table[10] == "Ċ"


@given(TEXT)
def test_pieces_put_together_give_the_text_back(text):
    assert "".join(pretokenize(text)) == text
    assert "".join(gpt2_pattern().findall(text)) == text


@given(TEXT)
def test_pretokenisation_matches_the_regex_package_on_gpt2s_pattern(text):
    regex = pytest.importorskip("regex", reason="the regex package (comes with tiktoken) is the reference")
    assert pretokenize(text) == regex.findall(GPT2_PATTERN, text)
    assert gpt2_pattern().findall(text) == regex.findall(GPT2_PATTERN, text)


def test_pretokenisation_keeps_a_space_with_the_next_word():
    assert pretokenize("Hello  world, it's 2024!\n\n") == ["Hello", " ", " world", ",", " it", "'s",
                                                          " 2024", "!", "\n\n"]


def test_first_merges_are_the_most_frequent_pairs():
    bpe = ByteLevelBPE.train(["aaab aab", "ab"], 256 + 2)
    # pieces: "aaab", " aab", "ab": pair (a, a) x3, (a, b) x3 -> tie, smaller ids first: (a, a)
    assert bpe.merges == [("a", "a"), ("a", "b")]
    assert bpe.encode("aaab") == [bpe.token_to_id("aa"), bpe.token_to_id("ab")]
    assert bpe.vocab_size == 258 and bpe.token_to_id("aa") == 256


def test_ids_are_bytes_then_merges_then_special_tokens(trained):
    assert trained.vocab_size == 320
    assert trained.special_tokens == {"<|endoftext|>": 318, "[PAD]": 319}
    assert trained.pad_id == 319 and trained.token_to_id("!") == 0     # GPT-2's byte order
    assert trained.id_to_token(256) == "".join(trained.merges[0])


def test_training_stops_when_no_pair_is_left():
    bpe = ByteLevelBPE.train("abab", 1000)
    assert bpe.merges == [("a", "b"), ("ab", "ab")] and bpe.vocab_size == 258


def test_merges_equal_hugging_faces_bpe_trainer():
    tokenizers = pytest.importorskip("tokenizers", reason="Hugging Face tokenizers is the reference")
    from tokenizers import models, pre_tokenizers, trainers
    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.train_from_iterator([CORPUS], trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<|endoftext|>", "[PAD]"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    merges = json.loads(hf.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    ours = ByteLevelBPE.train(CORPUS, 320, special_tokens=["<|endoftext|>", "[PAD]"])
    assert ours.merges == merges
    assert ours.encode(CORPUS[:300]) != [] and len(merges) == 320 - 256 - 2


@given(TEXT)
def test_decode_of_encode_is_the_text(trained, text):
    assert trained.decode(trained.encode(text)) == text
    assert trained.decode(trained.encode(text, allowed_special=())) == text


@given(TEXT, TEXT)
def test_special_tokens_in_the_text_become_one_id_and_decode_back(trained, left, right):
    text = left + "<|endoftext|>" + right + "[PAD]"
    ids = trained.encode(text)
    assert trained.decode(ids) == text
    assert ids.count(318) >= 1 and ids[-1] == 319
    plain = trained.encode(text, allowed_special=())
    assert 318 not in plain and 319 not in plain and trained.decode(plain) == text
    only_pad = trained.encode(text, allowed_special={"[PAD]"})
    assert 318 not in only_pad and only_pad[-1] == 319


def test_decode_can_skip_special_tokens(trained):
    ids = [trained.token_to_id("<|endoftext|>")] + trained.encode("hello [PAD]") + [trained.pad_id]
    assert trained.decode(ids) == "<|endoftext|>hello [PAD][PAD]"
    assert trained.decode(ids, skip_special_tokens=True) == "hello "


def test_special_tokens_are_cut_out_of_the_training_text():
    bpe = ByteLevelBPE.train("xy<|endoftext|>" * 50, 300, special_tokens=["<|endoftext|>"])
    assert all("<" not in a + b and "|" not in a + b for a, b in bpe.merges)


def test_errors_name_the_mistake(trained):
    with pytest.raises(ValueError, match=r"\['<|nope|>'\] are not special tokens.*<\|endoftext\|>"):
        trained.encode("hi", allowed_special={"<|nope|>"})
    with pytest.raises(IndexError, match="ByteLevelBPE.decode got id 320, but the vocabulary has 320 tokens"):
        trained.decode([1, 320])
    with pytest.raises(TypeError, match="expects a str"):
        trained.encode(b"bytes")
    with pytest.raises(ValueError, match="not valid Unicode.*surrogate"):
        trained.encode("a\ud800b")
    with pytest.raises(KeyError, match="neither a special token nor a vocab token"):
        trained.token_to_id(" the")
    with pytest.raises(ValueError, match="vocab_size=200 is below the 256 byte tokens plus 1"):
        ByteLevelBPE.train("abc", 200, special_tokens=["x"])
    with pytest.raises(ValueError, match="special tokens repeat"):
        ByteLevelBPE.train("abc", 300, special_tokens=["x", "x"])
    with pytest.raises(ValueError, match="special tokens must be non-empty strings"):
        ByteLevelBPE.train("abc", 300, special_tokens=[""])
    bytes_only = {c: i for i, c in enumerate(sorted(bytes_to_unicode().values()))}
    with pytest.raises(ValueError, match="uses 'zq', which is not in the vocab"):
        ByteLevelBPE(bytes_only, [("z", "q")])
    with pytest.raises(ValueError, match="ids of the vocab and special tokens must be 0..256"):
        ByteLevelBPE(bytes_only, [], {"<s>": 300})
    with pytest.raises(ValueError, match="lacks single-byte tokens"):
        ByteLevelBPE({"a": 0}, [])


def test_a_cut_character_decodes_to_the_replacement_character(trained):
    ids = trained.encode("ж")                    # two bytes, never merged in the corpus
    assert len(ids) == 2 and trained.decode_bytes(ids) == "ж".encode()
    assert trained.decode(ids[:1]) == "\ufffd" and trained.decode(ids) == "ж"


def test_save_and_load_keep_every_id(trained, tmp_path):
    trained.save(tmp_path / "bpe.json")
    data = json.loads((tmp_path / "bpe.json").read_text(encoding="utf-8"))
    assert data["type"] == "ByteLevelBPE" and data["special_tokens"] == {"<|endoftext|>": 318, "[PAD]": 319}
    for again in (ByteLevelBPE.load(tmp_path / "bpe.json"), load(tmp_path / "bpe.json")):
        assert isinstance(again, ByteLevelBPE) and again.get_vocab() == trained.get_vocab()
        assert again.merges == trained.merges and again.encode(CORPUS) == trained.encode(CORPUS)
