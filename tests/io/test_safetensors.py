"""Our safetensors reader/writer against the reference library, and every kind of damage."""
import json

import numpy as np
import pytest
import safetensors.numpy as reference
from hypothesis import given, strategies as st

from numpy_transformer.io import SafetensorsError, atomic_write, load_file, read_metadata, save_file

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_]


@st.composite
def tensor_dicts(draw):
    count = draw(st.integers(0, 4))
    tensors = {}
    for i in range(count):
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
        dtype = draw(st.sampled_from(DTYPES))
        values = np.random.default_rng(i).integers(0, 2, size=shape) if dtype == np.bool_ else \
            np.random.default_rng(i).standard_normal(shape) * 10
        tensors[f"layer.{i}.weight"] = np.asarray(values).astype(dtype)
    return tensors


@given(tensors=tensor_dicts())
def test_our_files_load_in_the_reference_library_and_back(tmp_path_factory, tensors):
    path = tmp_path_factory.mktemp("st") / "w.safetensors"
    save_file(tensors, path, metadata={"step": "3"})
    theirs = reference.load_file(str(path))
    ours = load_file(path)
    assert set(theirs) == set(ours) == set(tensors)
    for name, array in tensors.items():
        np.testing.assert_array_equal(theirs[name], array)
        np.testing.assert_array_equal(ours[name], array)
        assert ours[name].dtype == array.dtype and ours[name].shape == array.shape
    assert read_metadata(path) == {"step": "3"}


@given(tensors=tensor_dicts())
def test_reference_files_load_in_ours(tmp_path_factory, tensors):
    path = tmp_path_factory.mktemp("st") / "w.safetensors"
    reference.save_file(tensors, str(path))
    ours = load_file(path)
    for name, array in tensors.items():
        np.testing.assert_array_equal(ours[name], array)


def _saved(tmp_path, checksum=False):
    """A small file; without our checksum, as another writer's, so the structural checks speak."""
    path = tmp_path / "w.safetensors"
    save_file({"a": np.arange(10, dtype=np.float32), "b": np.ones((2, 2))}, path,
              checksum=checksum)
    return path


def test_truncated_file_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(SafetensorsError, match="truncated"):
        load_file(path)
    path.write_bytes(data[:6])
    with pytest.raises(SafetensorsError, match="too short"):
        load_file(path)


def test_altered_header_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[12] = ord("#")  # the colon after the first key
    path.write_bytes(bytes(data))
    with pytest.raises(SafetensorsError, match="not valid JSON"):
        load_file(path)


def _rewrite_header(path, edit):
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    edit(header)
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data[8 + size:])


def test_wrong_sizes_and_overlaps_are_rejected(tmp_path):
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["a"].update(shape=[11]))
    with pytest.raises(SafetensorsError, match="'a' has 40 bytes"):
        load_file(path)
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["b"].update(data_offsets=[0, 32]))
    with pytest.raises(SafetensorsError, match="overlapping"):
        load_file(path)


def test_pickle_or_random_bytes_are_not_loaded(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x80\x04\x95" + bytes(range(200)))
    with pytest.raises(SafetensorsError):
        load_file(path)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("crash")
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_a_changed_byte_anywhere_in_our_file_is_found(tmp_path):
    path = _saved(tmp_path, checksum=True)
    original = path.read_bytes()
    rng = np.random.default_rng(0)
    for position in rng.choice(len(original), size=60, replace=False):
        damaged = bytearray(original)
        damaged[position] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(damaged))
        with pytest.raises(SafetensorsError):
            load_file(path, require_checksum=True)


def test_the_checksum_is_ours_and_not_the_callers_metadata(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"a": np.ones(3)}, path, metadata={"step": "3"})
    assert read_metadata(path) == {"step": "3"}
    assert b"numpy_transformer.sha256" in path.read_bytes()
