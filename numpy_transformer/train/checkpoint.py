"""Checkpoints: one safetensors file (weights + optimizer arrays) whose metadata holds JSON state.

    model.<key>                      every module's state dict, under its name
    optim.<name>.<index>.<key>       optimizer state arrays, parameters by index
    __metadata__["numpy_transformer"] JSON: recipe, config, step, loader and RNG state, optimizer
                                      scalars and param groups, scheduler state

Written to a temporary file and renamed, so a crash leaves the previous checkpoint whole;
loading parses JSON and copies bytes, so it never executes code.
"""
import json
from dataclasses import dataclass, field

import numpy as np

from ..io import SafetensorsError, load_file, read_metadata, save_file

FORMAT = "numpy_transformer.checkpoint/1"
KEY = "numpy_transformer"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, from another program, or for another model."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, split into arrays by owner and the JSON state."""
    modules: dict = field(default_factory=dict)      # module name -> state dict
    optimizers: dict = field(default_factory=dict)   # optimizer name -> torch-style state dict
    state: dict = field(default_factory=dict)        # recipe, config, step, loader, rng, ...


def _json_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def save_checkpoint(path, modules: dict, optimizers: dict = None, state: dict = None) -> None:
    """Write modules' weights, optimizers' state and a JSON-able `state` to `path` atomically."""
    tensors, optim_meta = {}, {}
    for name, module in modules.items():
        for key, array in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = array
    for name, optimizer in (optimizers or {}).items():
        saved = optimizer.state_dict()
        scalars = {}
        for index, entries in saved["state"].items():
            for key, value in entries.items():
                if hasattr(value, "shape") and np.ndim(value) > 0:
                    tensors[f"optim.{name}.{index}.{key}"] = value
                else:
                    scalars.setdefault(str(index), {})[key] = _json_scalar(value)
        groups = [{k: _json_scalar(v) for k, v in group.items()} for group in saved["param_groups"]]
        optim_meta[name] = {"param_groups": groups, "scalars": scalars}
    meta = {"format": FORMAT, "optimizers": optim_meta, **(state or {})}
    save_file(tensors, path, metadata={KEY: json.dumps(meta)})


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; damaged or foreign files raise CheckpointError."""
    try:
        meta_text = read_metadata(path).get(KEY)
        tensors = load_file(path)
    except SafetensorsError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    if meta_text is None:
        raise CheckpointError(f"{path} is a safetensors file but not a numpy_transformer checkpoint")
    meta = json.loads(meta_text)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
    checkpoint = Checkpoint(state=meta)
    optim_meta = meta.pop("optimizers")
    for name, info in optim_meta.items():
        state = {int(i): dict(v) for i, v in info["scalars"].items()}
        checkpoint.optimizers[name] = {"state": state, "param_groups": info["param_groups"]}
    for key, array in tensors.items():
        kind, name, rest = key.split(".", 2)
        if kind == "model":
            checkpoint.modules.setdefault(name, {})[rest] = array
        elif kind == "optim":
            index, entry = rest.split(".", 1)
            checkpoint.optimizers[name]["state"].setdefault(int(index), {})[entry] = array
        else:
            raise CheckpointError(f"{path}: unexpected tensor {key!r}")
    return checkpoint


def restore(checkpoint: Checkpoint, modules: dict, optimizers: dict = None) -> None:
    """Load the checkpoint's weights (and optimizer state) into the given objects, by name."""
    for name, module in modules.items():
        if name not in checkpoint.modules:
            raise CheckpointError(f"checkpoint has no weights for module '{name}' "
                                  f"(it has {sorted(checkpoint.modules)})")
        module.load_state_dict(checkpoint.modules[name])
    for name, optimizer in (optimizers or {}).items():
        if name not in checkpoint.optimizers:
            raise CheckpointError(f"checkpoint has no state for optimizer '{name}'")
        optimizer.load_state_dict(checkpoint.optimizers[name])
