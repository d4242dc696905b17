"""GPT-2's tokenizer from encoder.json + vocab.bpe gives exactly tiktoken's GPT-2 ids (built from the
same local files) on tiny-shakespeare, the quotes corpus and random text; decode inverts encode."""
import pytest
from bpe_text import GPT2_PATTERN, TEXT
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.tokenizers import ByteLevelBPE, gpt2, load


@pytest.fixture(scope="module")
def ours(shared_data):
    return gpt2(shared_data)


@pytest.fixture(scope="module")
def tiktoken_gpt2(shared_data):
    """tiktoken's Encoding built from the same two files (no download, no cache written)."""
    tiktoken = pytest.importorskip("tiktoken", reason="tiktoken is the reference encoder")
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    folder = shared_data / "gpt2-tokenizer"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")      # read the local files, cache nothing
        ranks = data_gym_to_mergeable_bpe_ranks(str(folder / "vocab.bpe"), str(folder / "encoder.json"))
    return tiktoken.Encoding("gpt2-local-files", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def test_gpt2_has_50257_tokens_and_one_special(ours):
    assert ours.vocab_size == 50257 and len(ours.merges) == 50000
    assert ours.special_tokens == {"<|endoftext|>": 50256}
    assert ours.encode("Hello world") == [15496, 995] and ours.token_to_id("Ġworld") == 995


def test_tiny_shakespeare_ids_equal_tiktoken(ours, tiktoken_gpt2, shared_data):
    text = nt.data.load_text("tinyshakespeare", shared_data)
    ids = ours.encode(text)
    assert len(ids) == 338025
    assert ids == tiktoken_gpt2.encode_ordinary(text)
    assert ours.decode(ids) == text


def test_quotes_ids_equal_tiktoken(ours, tiktoken_gpt2, shared_data):
    quotes = nt.data.load_quotes(shared_data)
    assert [ours.encode(q) for q in quotes] == tiktoken_gpt2.encode_ordinary_batch(quotes, num_threads=1)
    joined = "<|endoftext|>".join(quotes)
    assert ours.encode(joined) == tiktoken_gpt2.encode(joined, allowed_special="all")


@given(TEXT)
def test_random_text_ids_equal_tiktoken_and_decode_back(ours, tiktoken_gpt2, text):
    assert ours.encode(text) == tiktoken_gpt2.encode(text, allowed_special="all")
    assert ours.decode(ours.encode(text)) == text


@given(st.text(max_size=50))
def test_decode_of_encode_is_any_text(ours, text):
    assert ours.decode(ours.encode(text)) == text
    assert ours.decode(ours.encode(text + "<|endoftext|>" + text)) == text + "<|endoftext|>" + text


def test_saved_gpt2_tokenizer_loads_with_the_same_ids(ours, tmp_path):
    ours.save(tmp_path / "gpt2.json")
    again = load(tmp_path / "gpt2.json")
    assert again.get_vocab() == ours.get_vocab() and again.merges == ours.merges
    text = "It's 3:14 — naïve tokenizers<|endoftext|>"
    assert again.encode(text) == ours.encode(text)


def test_a_broken_vocab_bpe_is_an_error(shared_data, tmp_path):
    (tmp_path / "vocab.bpe").write_text("Ġ t\n")
    with pytest.raises(ValueError, match="first line should be '#version"):
        ByteLevelBPE.from_gpt2_files(shared_data / "gpt2-tokenizer" / "encoder.json", tmp_path / "vocab.bpe")
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\nĠ t h\n")
    with pytest.raises(ValueError, match="line 2: a merge line is two tokens .*, got 'Ġ t h'"):
        ByteLevelBPE.from_gpt2_files(shared_data / "gpt2-tokenizer" / "encoder.json", tmp_path / "vocab.bpe")
