"""Containers: `Sequential` chains modules, `ModuleList` and `ModuleDict` hold them."""
from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """Calls its modules in order; backward calls them in reverse."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                setattr(self, name, module)
        else:
            for index, module in enumerate(modules):
                setattr(self, str(index), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad):
        modules = list(self._modules.values())
        for k in reversed(range(len(modules))):
            grad = modules[k].backward(grad)
            if grad is None:            # a layer with needs_input_grad=False: its input is data
                _drop_latest_forwards(modules[:k], modules[k])
                return None
        return grad

    def append(self, module: Module) -> "Sequential":
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _drop_latest_forwards(modules, skipper) -> None:
    """Forget the latest forward of the modules before `skipper`, which returned no input
    gradient: allowed only when none of them has a parameter that would miss its gradient."""
    for module in reversed(modules):
        if any(p.requires_grad for p in module.parameters()):
            raise RuntimeError(
                f"{skipper._describe()} returned no input gradient (needs_input_grad=False), but "
                f"{module._describe()} before it has parameters that need one; only a model's "
                "first layer with parameters may skip its input gradient")
        _forget_latest(module)


def _forget_latest(module) -> None:
    """Drop the latest cache of a parameter-free module (or of its children)."""
    if module._caches:
        module._caches.pop()
        return
    for child in reversed(list(module.children())):
        _forget_latest(child)


class ModuleList(Module):
    """A list of modules whose parameters the parent finds (`layers.0.weight`...)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters the parent finds (`heads.cls.weight`...)."""

    def __init__(self, modules=None):
        super().__init__()
        for name, module in (modules or {}).items():
            setattr(self, name, module)

    def __getitem__(self, name):
        return self._modules[name]

    def __setitem__(self, name, module):
        setattr(self, name, module)

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
