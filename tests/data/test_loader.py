"""DataLoader: batching, shuffling, drop_last, determinism, and bit-identical resuming."""
import json

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.data import ArrayDataset, Compose, DataLoader, RandomShift, ToFloat


def dataset(n=10):
    """Sample i is an image filled with i, labelled i."""
    return ArrayDataset(np.repeat(np.arange(n, dtype=np.uint8), 16).reshape(n, 4, 4), np.arange(n))


def labels_of(batches):
    return [b[1].tolist() for b in batches]


def test_batches_come_in_index_order_and_the_last_is_short():
    loader = DataLoader(dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and labels_of(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], tuple) and batches[0][0].shape == (4, 4, 4)


def test_drop_last_drops_the_short_batch():
    loader = DataLoader(dataset(10), batch_size=4, shuffle=True, drop_last=True)
    assert len(loader) == 2
    for _ in range(3):
        assert [len(b[1]) for b in loader] == [4, 4]


def test_shuffle_yields_every_index_once_per_epoch_in_a_new_order():
    loader = DataLoader(dataset(50), batch_size=7, shuffle=True)
    epochs = [np.concatenate(labels_of(loader)) for _ in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(50))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    np.testing.assert_array_equal(epochs[2], loader.epoch_indices(2))


def test_the_same_seed_gives_the_same_batches():
    nt.manual_seed(7)
    first = DataLoader(dataset(30), batch_size=8, shuffle=True)
    nt.manual_seed(7)
    second = DataLoader(dataset(30), batch_size=8, shuffle=True)
    other = DataLoader(dataset(30), batch_size=8, shuffle=True, generator=np.random.default_rng(1))
    assert first.seed == second.seed != other.seed
    for _ in range(2):
        assert labels_of(first) == labels_of(second)
    assert labels_of(DataLoader(dataset(30), 8, shuffle=True, seed=first.seed)) == labels_of(
        DataLoader(dataset(30), 8, shuffle=True, seed=first.seed))


def test_each_iter_is_a_new_epoch_even_after_a_break():
    loader = DataLoader(dataset(10), batch_size=3, shuffle=True)
    next(iter(loader))  # peeking consumes epoch 0, as in PyTorch
    assert loader.epoch == 1
    assert labels_of(loader) == labels_of(loader.get_batch(1, b) for b in range(len(loader)))


def test_get_batch_rebuilds_any_batch_without_moving_the_loader():
    loader = DataLoader(dataset(20), batch_size=6, shuffle=True, transform=RandomShift(1))
    batches = [list(loader) for _ in range(2)]
    rebuilt = loader.get_batch(1, 2)
    assert loader.epoch == 2
    np.testing.assert_array_equal(rebuilt[0], batches[1][2][0])
    np.testing.assert_array_equal(rebuilt[1], batches[1][2][1])
    with pytest.raises(IndexError, match="4 batches per epoch, no batch 4"):
        loader.get_batch(0, 4)


def test_resuming_from_a_state_dict_replays_the_same_batches_and_augmentations():
    """A run checkpointed mid-epoch and resumed in a fresh loader sees exactly the uninterrupted batches."""
    def make_loader():
        return DataLoader(dataset(23), batch_size=5, shuffle=True,
                          transform=Compose([RandomShift(2), ToFloat()]))

    nt.manual_seed(0)
    uninterrupted, steps = make_loader(), []
    for epoch in range(3):
        steps += [b for b in uninterrupted]

    nt.manual_seed(0)
    first_run, resumed_steps, saved = make_loader(), [], None
    for epoch in range(3):
        for batch in first_run:
            resumed_steps.append(batch)
            if len(resumed_steps) == 7:  # stop after 7 steps: epoch 1, batch 2 done
                saved = json.loads(json.dumps(first_run.state_dict()))
                break
        if saved:
            break
    assert saved["epoch"] == 1 and saved["batch"] == 2

    nt.manual_seed(123)  # whatever the global generator does now
    second_run = make_loader()
    second_run.load_state_dict(saved)
    for epoch in range(second_run.epoch, 3):
        resumed_steps += [b for b in second_run]
    assert len(resumed_steps) == len(steps) == 15
    for a, b in zip(steps, resumed_steps):
        assert a[0].dtype == np.float32
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_state_after_the_last_batch_points_to_the_next_epoch():
    loader = DataLoader(dataset(10), batch_size=5)
    assert loader.state_dict()["epoch"] == 0 and loader.state_dict()["batch"] == 0
    for _ in loader:
        pass
    assert (loader.state_dict()["epoch"], loader.state_dict()["batch"]) == (1, 0)
    loader.load_state_dict({"seed": 1, "epoch": 4, "batch": 2})  # batch 2 of 2 is past the end
    assert loader.epoch == 5 and labels_of(loader) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    loader.set_epoch(9)
    assert loader.epoch == 9 and loader.state_dict()["epoch"] == 9


def test_transform_maps_the_inputs_only_and_plain_functions_work():
    loader = DataLoader(dataset(4), batch_size=2, transform=lambda x: x.reshape(len(x), -1) * 2)
    x, y = next(iter(loader))
    assert x.shape == (2, 16) and x[1, 0] == 2 and y.tolist() == [0, 1]


def test_an_array_is_a_data_set_and_a_list_of_samples_is_collated():
    assert [b.tolist() for b in DataLoader(np.arange(5) * 10, batch_size=2)] == [[0, 10], [20, 30], [40]]
    pairs = [(np.full(3, i), i) for i in range(5)]
    x, y = next(iter(DataLoader(pairs, batch_size=4)))
    assert x.shape == (4, 3) and y.tolist() == [0, 1, 2, 3]
    sentences = [("ein", "a"), ("zwei", "two"), ("drei", "three")]
    lengths = DataLoader(sentences, batch_size=3, collate=lambda s: [len(t) for _, t in s])
    assert next(iter(lengths)) == [1, 3, 5]


def test_collate_maps_the_gathered_batch_of_an_array_data_set():
    loader = DataLoader(dataset(6), batch_size=3, collate=lambda batch: batch[1].sum())
    assert list(loader) == [3, 12]


def test_batch_size_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DataLoader(dataset(4), batch_size=0)
