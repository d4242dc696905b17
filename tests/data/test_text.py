"""The text corpora: sizes, structure and alignment."""
import pytest

from numpy_transformer.data import (load_bible_pairs, load_fortunes, load_parallel, load_quotes,
                                    load_text)
from numpy_transformer.data.text import split_fortunes


def test_tiny_shakespeare_has_1115394_characters_65_distinct(shared_data):
    text = load_text("tinyshakespeare", shared_data)
    assert len(text) == 1_115_394 and len(set(text)) == 65
    assert text.startswith("First Citizen:\n")


def test_load_text_reads_a_file_path_and_rejects_unknown_names(tmp_path):
    (tmp_path / "corpus.txt").write_text("héllo\n", encoding="utf-8")
    assert load_text(str(tmp_path / "corpus.txt")) == "héllo\n"
    with pytest.raises(KeyError, match="unknown text 'shakespear'"):
        load_text("shakespear")


def test_quotes_are_5421_nonempty_strings(shared_data):
    quotes = load_quotes(shared_data)
    assert len(quotes) == 5421 and all(isinstance(q, str) and q for q in quotes)
    assert quotes[0] == "Genius is one percent inspiration and ninety-nine percent perspiration."
    assert load_quotes(shared_data, authors=True)[0][1] == "Thomas Edison"


def test_fortune_entries_are_the_blocks_between_percent_lines():
    text = "%\n%\nfirst\n  line two\n%\n%\n%not a separator\n%\nlast without separator"
    assert split_fortunes(text) == ["first\n  line two", "%not a separator", "last without separator"]


def test_fortunes_hold_15217_entries_in_43_files(shared_data):
    # 15,216 '%' lines cut 43 files into 15,259 blocks, 42 of them empty (38 after a final '%',
    # 3 before a leading one, 1 between two); data/README.md's 15,218 counts tao's leading "%"
    # as an entry, as splitting on "\n%\n" does
    entries = load_fortunes(shared_data)
    assert len(entries) == 15217 and all(e.strip() for e in entries)
    assert len(load_fortunes(shared_data, files=["tao"])) == 82


@pytest.mark.parametrize("split, n", [("train", 29000), ("val", 1014), ("test", 1000)])
def test_multi30k_pairs_are_line_aligned(shared_data, split, n):
    pairs = load_parallel("multi30k", split=split, src="de", tgt="en", data_dir=shared_data)
    assert len(pairs) == n and all(s and t for s, t in pairs)


def test_multi30k_languages_come_in_the_requested_order(shared_data):
    de_en = load_parallel("multi30k", split="val", data_dir=shared_data)
    en_fr = load_parallel("multi30k", split="val", src="en", tgt="fr", data_dir=shared_data)
    assert de_en[0][1] == en_fr[0][0] == "A group of men are loading cotton onto a truck"
    with pytest.raises(KeyError, match="splits"):
        load_parallel("multi30k", split="dev", data_dir=shared_data)


def test_bible_pairs_are_31084_verses(shared_data):
    pairs = load_bible_pairs(data_dir=shared_data)
    assert len(pairs) == 31084
    assert pairs[0] == ("In the beginning God created the heaven and the earth.",
                        "EN el principio crió Dios los cielos y la tierra.")
    assert load_bible_pairs("es", "en", shared_data)[0] == pairs[0][::-1]
