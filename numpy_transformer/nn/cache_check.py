"""A debug switch that checks that no cached array changed between forward and backward.

Kernels and models may write into arrays in place under one rule: never into an array that a
module keeps for its backward (its cache). With the check on, `nt.nn.check_caches()` or
NT_CHECK_CACHES=1, every array in a cache is fingerprinted when forward keeps it and checked
when backward takes it; a change raises, naming the module and the array. It costs a pass over
every cached array, so it is off by default. It sees what happens between a forward and the
backward that takes its cache, to NumPy arrays of numbers; not writes during that backward.
"""
import os
import zlib

import numpy as np

__all__ = ["check_caches", "caches_checked"]

_enabled = os.environ.get("NT_CHECK_CACHES", "") not in ("", "0")


class check_caches:
    """Turn the check on (or off with False) from now on; as a `with` block, for the block only."""

    def __init__(self, enabled: bool = True):
        global _enabled
        self._before, _enabled = _enabled, bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        global _enabled
        _enabled = self._before


def caches_checked() -> bool:
    """True while the check is on."""
    return _enabled


def _arrays(cache, path="cache"):
    """(path, array) for every NumPy array of numbers in a cache of tuples, lists and dicts."""
    if isinstance(cache, np.ndarray):
        if cache.dtype.kind in "biufc":
            yield path, cache
    elif isinstance(cache, (tuple, list)):
        names = getattr(cache, "_fields", None) or range(len(cache))
        for name, item in zip(names, cache):
            yield from _arrays(item, f"{path}.{name}" if isinstance(name, str) else f"{path}[{name}]")
    elif isinstance(cache, dict):
        for name, item in cache.items():
            yield from _arrays(item, f"{path}[{name!r}]")


def fingerprint(cache) -> list:
    """[(path, shape, dtype, crc32 of the bytes)] of every array in the cache."""
    return [(path, a.shape, a.dtype, zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1)))
            for path, a in _arrays(cache)]


def verify(module, cache, expected) -> None:
    """Raise if an array of `cache` differs from its fingerprint taken at forward."""
    now = fingerprint(cache)
    if [e[0] for e in expected] != [n[0] for n in now]:
        raise RuntimeError(f"{module._describe()}: its cache holds other arrays at backward than "
                           f"at forward: {[e[0] for e in expected]} then {[n[0] for n in now]}")
    for (path, shape, dtype, crc), now in zip(expected, now):
        if (shape, dtype, crc) != now[1:]:
            raise RuntimeError(
                f"{module._describe()}: its cached array {path} ({list(shape)}, {dtype}) changed "
                "between forward and backward: something wrote in place into an array this "
                "module keeps for its backward (its input or output?)")
