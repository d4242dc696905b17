"""Checkpoints hold weights, optimizer state and JSON state; damage is a clear error."""
import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.train import CheckpointError, load_checkpoint, restore, save_checkpoint


def _trained_pair(rng):
    model = nt.nn.Sequential(nt.nn.Linear(4, 8), nt.nn.ReLU(), nt.nn.Linear(8, 3))
    optimizer = nt.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        x = rng.standard_normal((5, 4)).astype(np.float32)
        model.backward(np.ones((5, 3), np.float32) * model(x))
        optimizer.step()
        optimizer.zero_grad()
    return model, optimizer


def test_round_trip_restores_weights_and_optimizer_state(tmp_path, rng):
    model, optimizer = _trained_pair(rng)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"model": model}, {"optimizer": optimizer}, {"step": 3, "config": {"a": 1}})
    fresh = nt.nn.Sequential(nt.nn.Linear(4, 8), nt.nn.ReLU(), nt.nn.Linear(8, 3))
    fresh_optimizer = nt.optim.Adam(fresh.parameters(), lr=1.0)
    checkpoint = load_checkpoint(path)
    restore(checkpoint, {"model": fresh}, {"optimizer": fresh_optimizer})
    assert checkpoint.state["step"] == 3 and checkpoint.state["config"] == {"a": 1}
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    saved, loaded = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert loaded["param_groups"][0]["lr"] == 1e-2
    for index, entries in saved["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(loaded["state"][index][key], value, err_msg=f"{index}.{key}")


def test_truncated_checkpoint_is_a_clear_error(tmp_path, rng):
    model, optimizer = _trained_pair(rng)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"model": model}, {"optimizer": optimizer}, {"step": 3})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_altered_weights_shape_is_a_clear_error(tmp_path, rng):
    model, _ = _trained_pair(rng)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"model": model}, {}, {"step": 0})
    other = nt.nn.Sequential(nt.nn.Linear(4, 9), nt.nn.ReLU(), nt.nn.Linear(9, 3))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(8, 4\)"):
        restore(load_checkpoint(path), {"model": other})


def test_a_foreign_safetensors_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.safetensors"
    nt.io.save_file({"w": np.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a numpy_transformer checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
