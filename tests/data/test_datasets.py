"""MNIST, the carried 8x8 digits, IDX parsing, ArrayDataset, Subset and random_split."""
import gzip
import struct

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.data import (MNIST, ArrayDataset, ChecksumError, Digits, Subset, parse_idx,
                                    random_split, read_idx)
from numpy_transformer.data.vision import load_digits_file

MNIST_TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def mnist_train(shared_data):
    return MNIST(shared_data, train=True)


def test_mnist_train_has_60000_images_with_the_known_label_counts_and_mean(mnist_train):
    assert mnist_train.data.shape == (60000, 28, 28) and mnist_train.data.dtype == np.uint8
    assert mnist_train.targets.shape == (60000,) and mnist_train.targets.dtype == np.int64
    assert np.bincount(mnist_train.targets).tolist() == MNIST_TRAIN_LABEL_COUNTS
    assert mnist_train.data.mean() / 255 == pytest.approx(MNIST.mean, abs=1e-4)


def test_mnist_test_has_10000_images(shared_data):
    test = MNIST(shared_data, train=False)
    assert test.data.shape == (10000, 28, 28) and len(test) == 10000
    assert np.bincount(test.targets, minlength=10).sum() == 10000 and test.targets.max() == 9


def test_mnist_index_array_returns_the_whole_batch(mnist_train):
    idx = np.array([5, 0, 59999, 5])
    images, labels = mnist_train[idx]
    assert images.shape == (4, 28, 28) and labels.shape == (4,)
    np.testing.assert_array_equal(images[2], mnist_train.data[59999])
    assert labels.tolist() == [mnist_train.targets[i] for i in idx]


def test_mnist_finds_its_files_through_nt_data_dir(shared_data, monkeypatch):
    monkeypatch.setenv("NT_DATA_DIR", str(shared_data))
    assert len(MNIST(train=False)) == 10000


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_idx_round_trips_ubyte_and_big_endian_int32(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(path, ndim=3), images)
    assert read_idx(path).flags.writeable
    ints = np.array([1, -2, 70000], dtype=np.int32)
    decoded = parse_idx(idx_bytes(ints, 0x0C))
    assert decoded.dtype == np.int32 and decoded.tolist() == [1, -2, 70000]


def test_idx_rejects_a_bad_magic_a_wrong_rank_and_a_wrong_size():
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="not an IDX file: magic bytes 1f8b"):
        parse_idx(b"\x1f\x8b\x08\x00" + good[4:])  # a gzip header: forgot to decompress
    with pytest.raises(ValueError, match="holds a 2-D array, expected 3-D"):
        parse_idx(good, ndim=3)
    with pytest.raises(ValueError, match=r"has 13 bytes but its header \(2, 3\) of uint8 needs 18"):
        parse_idx(good[:-5])


def test_digits_ship_with_the_package_and_split_1797_images_by_seed(monkeypatch, tmp_path):
    monkeypatch.setenv("NT_DATA_DIR", str(tmp_path / "empty"))  # no data folder needed
    train, test = Digits(train=True), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and test.data.max() == 16 and test.data.min() == 0
    images, labels = load_digits_file(Digits.path)
    assert images.shape == (1797, 8, 8) and np.bincount(labels).min() >= 170
    np.testing.assert_array_equal(Digits(train=False).data, test.data)  # the same split every time
    assert not np.array_equal(Digits(train=False, seed=1).data, test.data)
    assert len(Digits(train=False, test_fraction=0.5)) == 898


def test_digits_split_is_a_partition_of_the_file():
    _, labels = load_digits_file(Digits.path)
    order = np.random.default_rng(0).permutation(1797)
    train, test = Digits(train=True), Digits(train=False)
    np.testing.assert_array_equal(test.targets, labels[np.sort(order[:359])])
    np.testing.assert_array_equal(train.targets, labels[np.sort(order[359:])])


def test_digits_refuse_a_corrupted_package_file(tmp_path):
    bad = tmp_path / "digits.csv.gz"
    bad.write_bytes(gzip.compress(b"1,2,3\n"))
    with pytest.raises(ChecksumError, match="corrupted"):
        load_digits_file(bad)


def test_array_dataset_indexes_all_arrays_together():
    x, y = np.arange(20).reshape(10, 2), np.arange(10) * 10
    ds = ArrayDataset(x, y)
    xb, yb = ds[np.array([3, 1])]
    assert len(ds) == 10 and xb.tolist() == [[6, 7], [2, 3]] and yb.tolist() == [30, 10]
    assert ds[4][0].tolist() == [8, 9] and ds[4][1] == 40
    with pytest.raises(ValueError, match=r"same length, got shapes \(10, 2\), \(9,\)"):
        ArrayDataset(x, y[:9])


def test_random_split_partitions_the_indices_reproducibly():
    ds = ArrayDataset(np.arange(10))
    parts = random_split(ds, [7, 3], np.random.default_rng(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(10))
    again = random_split(ds, [7, 3], np.random.default_rng(0))
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))
    (values,) = parts[1][np.arange(3)]
    assert values.tolist() == parts[1].indices.tolist()


def test_random_split_uses_the_library_generator_and_accepts_fractions():
    nt.manual_seed(3)
    first = random_split(ArrayDataset(np.arange(11)), [0.5, 0.5])
    nt.manual_seed(3)
    second = random_split(ArrayDataset(np.arange(11)), [0.5, 0.5])
    assert [len(p) for p in first] == [6, 5]
    assert np.array_equal(first[0].indices, second[0].indices)
    with pytest.raises(ValueError, match="sum to the data set's length 11"):
        random_split(ArrayDataset(np.arange(11)), [5, 5])


def test_subset_of_a_subset_maps_indices_through_both():
    inner = Subset(ArrayDataset(np.arange(100) * 2), np.arange(50, 100))
    outer = Subset(inner, [0, 49])
    (values,) = outer[np.arange(2)]
    assert values.tolist() == [100, 198]
