"""`Optimizer`: parameter groups, per-parameter state and state dicts, as in torch.optim."""
import threading

import numpy as np

from ..device import device_of, to_device
from ..kernels import ops
from ..nn.parameter import Parameter

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: holds `param_groups` (dicts of 'params' and options) and `state` per parameter.

    Subclasses set `defaults` and write `_update(param, state, group)`, which changes
    `param.data` IN PLACE (other code holds references to these arrays) in its own dtype.
    Parameters with `requires_grad=False` or no `.grad` are skipped."""

    def __init__(self, params, defaults: dict):
        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError(f"{type(self).__name__} expects an iterable of Parameters or of "
                            f"param-group dicts, got a single {type(params).__name__}; "
                            "pass model.parameters() or [param]")
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        self.state = {}          # Parameter -> dict of arrays and scalars (e.g. 'exp_avg', 'step')
        self.param_groups = []
        self._local = threading.local()   # per thread: (dtype, slot) -> flat work array
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- options ----
    def _check_options(self, group: dict) -> None:
        """Raise ValueError for an option out of range (subclasses add theirs)."""
        lr = group.get("lr", 0.0)
        if not lr >= 0.0:
            raise self._error(f"an invalid learning rate lr={lr}; it must be >= 0")

    def _error(self, message: str) -> ValueError:
        """'SGD got <message>': the error a subclass raises for a bad option."""
        return ValueError(f"{type(self).__name__} got {message}")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, with options that default to the optimizer's."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be an ordered collection (a list), "
                            "not a set, so that their order is the same in every run")
        params = list(params) if params is not None else []
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__} can only optimize nt.nn.Parameter "
                                f"objects, but one of the params is {type(p).__name__}")
        if not params:
            raise ValueError(f"{type(self).__name__} got a param group with no parameters")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a param group lists the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        self.param_groups.append(group)

    # ---- the training-loop calls ----
    def zero_grad(self) -> None:
        """Set every gradient to zero; the arrays stay (modules add into `.grad`)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns `closure()` if given.

        Each parameter's update is independent of the others: the fast kernels update the big
        ones on several threads at once (`ops.foreach`), with the same result."""
        loss = closure() if closure is not None else None
        jobs = [(p, self.state.setdefault(p, {}), group) for group in self.param_groups
                for p in group["params"] if p.requires_grad and p.grad is not None]
        ops.foreach(lambda job: self._update(*job), jobs, sizes=[p.size for p, _, _ in jobs])
        return loss

    def _update(self, param, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no _update()")

    def _work(self, param, slot: int = 0):
        """A scratch array shaped like `param` (contents undefined), reused across steps."""
        scratch = self._local.__dict__.setdefault("scratch", {})
        key = (type(param.data), param.data.dtype, slot)      # per device and dtype
        flat = scratch.get(key)
        if flat is None or flat.size < param.data.size:
            flat = np.empty_like(param.data, shape=(param.data.size,))
            scratch[key] = flat
        return flat[:param.data.size].reshape(param.data.shape)

    # ---- state dicts: arrays and JSON-able scalars, parameters referred to by index ----
    def state_dict(self) -> dict:
        """{'state': {index: {name: array copy or scalar}}, 'param_groups': [{..., 'params': [index]}]}.

        Parameters are numbered in order across the groups, as torch does."""
        index, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: (v.copy() if hasattr(v, "shape") else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and options saved by `state_dict()`; arrays are copied in the params' dtype."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, but this optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} of the state dict "
                                 f"has {len(saved['params'])} parameters, but this optimizer's "
                                 f"group {i} has {len(group['params'])}")
        by_index = {int(k): p for saved, group in zip(saved_groups, self.param_groups)
                    for k, p in zip(saved["params"], group["params"])}
        state = {}
        for key, values in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: the state dict has state for parameter "
                                 f"{key}, which no parameter group lists")
            state[p] = {k: self._restore(v, p, f"state[{key}][{k!r}]") for k, v in values.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: (tuple(v) if isinstance(v, list) else v)
                       for k, v in saved.items() if k != "params"}
            new_groups.append({**options, "params": group["params"]})
        self.state = state
        self.param_groups = new_groups

    def _restore(self, value, param, where: str):
        """A copy of a saved state entry: arrays in the parameter's dtype and shape."""
        if np.ndim(value) == 0:  # a scalar such as 'step' (also when a checkpoint made it 0-d)
            return value.item() if hasattr(value, "item") else value
        if tuple(value.shape) != tuple(param.shape):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {where} has shape "
                             f"{tuple(value.shape)}, but its parameter has shape {tuple(param.shape)}")
        array = np.empty_like(param.data)
        array[...] = to_device(value, device_of(array))       # the parameter's device
        return array

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])
