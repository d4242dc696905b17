"""`Module`: forward keeps a stack of caches, backward pops them and adds into `Parameter.grad`."""
from collections import OrderedDict
import warnings

import numpy as np

from ..device import Device, device_of, to_device
from ..grad_mode import is_grad_enabled
from ..kernels import ops
from . import cache_check
from .parameter import Parameter, _is_dtype_name

# A forward whose cache is never popped leaks memory; warn once a stack gets this deep.
CACHE_WARN_DEPTH = 10_000


class Module:
    """Base class of every layer and model, with PyTorch's names for the bookkeeping.

    `needs_input_grad` (default True): set it to False on a layer whose input is data (the first
    layer of a model) and, if the layer honours it (Linear, Conv2d, ConvTranspose2d,
    PatchEmbedding; ViT passes it to its first layer), its backward skips the input-gradient
    product and returns None; parameter gradients are unchanged. `Sequential` then only drops
    the caches of the parameter-free modules before it (Flatten...). Layers that do not honour
    it return the gradient as usual."""

    needs_input_grad = True

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_caches", [])
        object.__setattr__(self, "training", True)

    # ---- attributes: parameters, buffers and sub-modules are found by assignment ----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        for table in ("_parameters", "_modules", "_buffers"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._modules, self._buffers):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value, persistent: bool = True) -> None:
        """A non-trainable array (running statistics...) saved in the state dict if persistent."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        self._buffers[name] = value
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__.pop(name, None)

    def register_parameter(self, name: str, param) -> None:
        """Add a parameter (or None, which PyTorch also allows, e.g. `bias=False`)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # ---- calling: forward and backward ----
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__} has no backward()")

    def _push(self, cache, output=None) -> None:
        """Keep what backward needs (and the output's shape, to check the gradient against).

        Nothing is kept under `nt.no_grad()`."""
        if not is_grad_enabled():
            return
        signature = None if output is None else (tuple(output.shape), output.dtype)
        fingerprint = cache_check.fingerprint(cache) if cache_check.caches_checked() else None
        self._caches.append((cache, signature, fingerprint))
        if len(self._caches) == CACHE_WARN_DEPTH:
            warnings.warn(
                f"{self._describe()} holds {CACHE_WARN_DEPTH} forward caches that no backward has "
                "used; run inference under `with nt.no_grad():` or call `free_caches()`",
                ResourceWarning, stacklevel=3)

    def _pop(self, grad=None, name: str = "grad_output"):
        """The cache of the latest forward not yet backpropagated; checks `grad` against its output."""
        if not self._caches:
            raise RuntimeError(
                f"{self._describe()}.backward() called without a matching forward() "
                "(forward not run, already backpropagated, or run under nt.no_grad())")
        cache, signature, fingerprint = self._caches[-1]
        if grad is not None and signature is not None:
            shape, dtype = signature
            got = tuple(getattr(grad, "shape", ()))
            if got != shape:
                raise ValueError(f"{self._describe()}.backward got {name} of shape {got}, "
                                 f"but the forward output had shape {shape}")
            if getattr(grad, "dtype", None) != dtype:
                raise TypeError(f"{self._describe()}.backward got {name} of dtype "
                                f"{getattr(grad, 'dtype', type(grad).__name__)}, but the forward "
                                f"output was {dtype}")
        if fingerprint is not None:
            cache_check.verify(self, cache, fingerprint)
        self._caches.pop()
        return cache

    def _accumulate(self, param, grad, index=None) -> None:
        """Add `grad` into `param.grad` (shared parameters sum their gradients); into the rows
        `index` only when given (a slice, or ids that may repeat). Inside the training step's
        `kernels.deferred_weight_grads()` block the sums wait for the block's end, in order."""
        if param is not None and grad is not None:
            ops.accumulate_grad(param, grad, index)

    def free_caches(self) -> "Module":
        """Drop every pending cache in this module and its children."""
        for module in self.modules():
            module._caches.clear()
        return self

    # ---- traversal ----
    def named_children(self):
        yield from self._modules.items()

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = ""):
        for module_prefix, module in self.named_modules(prefix):
            for name, buf in module._buffers.items():
                if buf is not None:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), buf

    def buffers(self):
        for _, buf in self.named_buffers():
            yield buf

    def apply(self, fn) -> "Module":
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def num_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    # ---- modes and gradients ----
    def train(self, mode: bool = True) -> "Module":
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.zero_grad()

    # ---- dtype and device ----
    def to(self, dtype_or_device) -> "Module":
        """Convert every parameter and floating buffer to a dtype, or move every parameter,
        gradient and buffer to a device ("cpu", "cuda"), in place. Forward caches are dropped."""
        if isinstance(dtype_or_device, (str, Device)) and not _is_dtype_name(dtype_or_device):
            return self._to_device(dtype_or_device)
        dtype = np.dtype(dtype_or_device)
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    param.to(dtype)
            for name, buf in module._buffers.items():
                if buf is not None and np.issubdtype(buf.dtype, np.floating):
                    module._buffers[name] = buf.astype(dtype, copy=False)
        return self

    def _to_device(self, device) -> "Module":
        for module in self.modules():
            module._caches.clear()
            for param in module._parameters.values():
                if param is not None:
                    param.to(device)
            for name, buf in module._buffers.items():
                if buf is not None:
                    module._buffers[name] = to_device(buf, device)
        return self

    @property
    def device(self) -> str:
        """The name of the device the first parameter (or buffer) lives on."""
        for array in (*(p.data for p in self.parameters()), *self.buffers()):
            return device_of(array).name
        return "cpu"

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # ---- state dict ----
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameters and persistent buffers by PyTorch's dotted names (arrays, not copies)."""
        state = OrderedDict()
        for module_prefix, module in self.named_modules():
            dot = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param.data
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent:
                    state[dot + name] = buf
        return state

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays in by name; `strict` demands the same keys. Returns (missing, unexpected)."""
        own = {}
        for module_prefix, module in self.named_modules():
            dot = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    own[dot + name] = (module, name, True)
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent:
                    own[dot + name] = (module, name, False)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for key, (module, name, is_param) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value if hasattr(value, "shape") else np.asarray(value)
            target = module._parameters[name].data if is_param else module._buffers[name]
            if value.shape != target.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{key}' has shape "
                                 f"{value.shape} in the state dict but {target.shape} in the model")
            target[...] = to_device(value, device_of(target))  # in place: optimizers keep
                                                               # referring to the same arrays
        return missing, unexpected

    # ---- printing ----
    def extra_repr(self) -> str:
        return ""

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        if not lines:
            return self._describe()
        body = "".join(f"\n  {line}" for line in lines)
        return f"{type(self).__name__}({self.extra_repr()}{body}\n)"
