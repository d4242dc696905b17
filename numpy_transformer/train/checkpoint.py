"""Checkpoints: one safetensors file (weights + optimizer arrays) whose metadata holds JSON state.

    model.<key>                      every module's state dict, under its name
    optim.<name>.<index>.<key>       optimizer state arrays, parameters by index
    __metadata__["numpy_transformer"] JSON: recipe, config, step, loader and RNG state, optimizer
                                      scalars and param groups, scheduler state

Written to a temporary file and renamed, so a crash leaves the previous checkpoint whole;
loading parses JSON and copies bytes, so it never executes code. The file carries its sha256
(io/safetensors.py): a changed byte anywhere is refused as damaged, never loaded as other weights.
"""
import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..device import to_host
from ..io import SafetensorsError, load_file, read_metadata, save_file

FORMAT = "numpy_transformer.checkpoint/2"            # /2: with the file's sha256
UNVERIFIED_FORMATS = ("numpy_transformer.checkpoint/1",)  # written before the sha256: still load
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
            tensors[f"model.{name}.{key}"] = to_host(array)          # from any device
    for name, optimizer in (optimizers or {}).items():
        saved = optimizer.state_dict()
        scalars = {}
        for index, entries in saved["state"].items():
            for key, value in entries.items():
                if hasattr(value, "shape") and np.ndim(value) > 0:
                    tensors[f"optim.{name}.{index}.{key}"] = to_host(value)
                else:
                    scalars.setdefault(str(index), {})[key] = _json_scalar(value)
        groups = [{k: _json_scalar(v) for k, v in group.items()} for group in saved["param_groups"]]
        optim_meta[name] = {"param_groups": groups, "scalars": scalars}
    meta = {"format": FORMAT, "optimizers": optim_meta, **(state or {})}
    save_file(tensors, path, metadata={KEY: json.dumps(meta)})


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; a damaged or foreign file raises
    CheckpointError ("checkpoint PATH is damaged: ...")."""
    try:
        metadata = read_metadata(path)
        if KEY not in metadata:
            raise CheckpointError(f"checkpoint {path} is damaged: it has no numpy_transformer "
                                  "state (a safetensors file, but not a numpy_transformer "
                                  "checkpoint?)")
        meta = json.loads(metadata[KEY])
        fmt = meta.get("format")
        if fmt != FORMAT and fmt not in UNVERIFIED_FORMATS:
            raise ValueError(f"unknown checkpoint format {fmt!r}")
        tensors = load_file(path, require_checksum=fmt == FORMAT)
        checkpoint = _split(meta, tensors)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    except CheckpointError:
        raise
    except (SafetensorsError, KeyError, ValueError, TypeError, AttributeError) as error:
        reason = str(error).removeprefix(f"{path}: ")
        if isinstance(error, KeyError):
            reason = f"its state has no entry {error}"
        raise CheckpointError(f"checkpoint {path} is damaged: {reason}") from None
    if fmt != FORMAT:
        warnings.warn(f"checkpoint {path} was written before checkpoints carried a checksum "
                      f"({fmt}): loaded without verifying its bytes", stacklevel=2)
    return checkpoint


def _split(meta: dict, tensors: dict) -> Checkpoint:
    """The arrays by owner: model.<module>.<key> and optim.<optimizer>.<index>.<key>."""
    checkpoint = Checkpoint(state=meta)
    for name, info in meta.pop("optimizers").items():
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
            raise ValueError(f"unexpected tensor {key!r}")
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
