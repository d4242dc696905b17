"""A damaged tokenizer file is a ValueError naming the file and, where it can, the line."""
import json

import pytest

import numpy_transformer as nt
from numpy_transformer.tokenizers import ByteLevelBPE, CharTokenizer


def saved_char_tokenizer(tmp_path):
    path = tmp_path / "char.json"
    CharTokenizer.build("hello world").save(path)
    return path


def test_a_json_file_cut_short_names_the_file_and_the_line(tmp_path):
    path = saved_char_tokenizer(tmp_path)
    path.write_text(path.read_text()[:-7])
    with pytest.raises(ValueError, match=rf"{path}, line \d+, column \d+: not valid JSON"):
        nt.tokenizers.load(path)


def test_bytes_that_are_not_utf8_name_the_file(tmp_path):
    path = saved_char_tokenizer(tmp_path)
    path.write_bytes(b"\xff\xfe" + path.read_bytes())
    with pytest.raises(ValueError, match=rf"{path}: not UTF-8 text"):
        CharTokenizer.load(path)


def test_a_missing_field_is_named(tmp_path):
    path = saved_char_tokenizer(tmp_path)
    data = json.loads(path.read_text())
    field = next(k for k in data if k != "type")
    del data[field]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"{path}: this CharTokenizer file has no '{field}' field"):
        nt.tokenizers.load(path)


def test_a_bad_merge_line_of_gpt2_files_is_named_by_its_number(tmp_path):
    encoder = tmp_path / "encoder.json"
    encoder.write_text(json.dumps({"a": 0, "b": 1, "ab": 2}))
    merges = tmp_path / "vocab.bpe"
    merges.write_text("#version: 0.2\na b\nab\n")
    with pytest.raises(ValueError, match=rf"{merges}, line 3: a merge line is two tokens"):
        ByteLevelBPE.from_gpt2_files(encoder, merges)
    encoder.write_text('{"a": 0,')
    with pytest.raises(ValueError, match=rf"{encoder}, line 1, column \d+: not valid JSON"):
        ByteLevelBPE.from_gpt2_files(encoder, merges)
