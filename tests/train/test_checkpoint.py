"""Checkpoints hold weights, optimizer state and JSON state; damage is a clear error."""
import json

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


def test_a_changed_byte_or_a_cut_anywhere_is_refused_as_damaged(tmp_path, rng):
    """Hundreds of seeded byte flips and truncations: each one is refused with the damaged
    message, and none ends in another exception or loads as other weights."""
    model, optimizer = _trained_pair(rng)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"model": model}, {"optimizer": optimizer}, {"step": 3, "note": "é"})
    original = path.read_bytes()
    fuzz = np.random.default_rng(0)
    damaged_files = []
    for _ in range(300):
        damaged = bytearray(original)
        position = int(fuzz.integers(len(original)))
        damaged[position] ^= 1 << int(fuzz.integers(8))
        damaged_files.append(bytes(damaged))
    damaged_files += [original[:int(n)] for n in fuzz.integers(0, len(original), 100)]
    for data in damaged_files:
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=f"checkpoint {path} is damaged: "):
            load_checkpoint(path)


def test_a_checkpoint_written_before_the_checksum_loads_with_a_note(tmp_path, rng):
    from numpy_transformer.train import checkpoint as format_module
    model, optimizer = _trained_pair(rng)
    path = tmp_path / "old.safetensors"
    meta = {"format": "numpy_transformer.checkpoint/1", "optimizers": {}, "step": 7}
    nt.io.save_file({f"model.model.{k}": v for k, v in model.state_dict().items()}, path,
                    metadata={format_module.KEY: json.dumps(meta)}, checksum=False)
    with pytest.warns(UserWarning, match="before checkpoints carried a checksum"):
        loaded = load_checkpoint(path)
    assert loaded.state["step"] == 7
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.modules["model"][key], value)


def test_files_in_a_run_get_the_usual_mode(tmp_path, rng):
    model, _ = _trained_pair(rng)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"model": model})
    (tmp_path / "plain.txt").write_text("x")
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777
