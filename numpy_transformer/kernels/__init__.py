"""One dispatch point between the reference math and the fast kernels.

    from numpy_transformer.kernels import ops
    y, cache = ops.layer_norm_forward(x, weight, bias)     # the active set's LayerNorm

Two sets of the same functions with the same signatures:
    'reference'  nn/functional: textbook NumPy, the code the lessons show; no threads
    'fast'       kernels/cpu: the same math cache-blocked, threaded and in place (the default)
NT_KERNELS=reference|fast chooses when the package is imported; `use(name)`, or a `using(name)`
block, switches at run time. Switch between training steps: a forward's cache belongs to the
backward of its own set.

Also here: `tune_cpu()`, the process-wide CPU settings that the CLI and the Trainer opt into
(importing the package sets nothing), and `deferred_weight_grads()`, the block in which a
training step runs `model.backward`.
"""
import contextlib
import os
import warnings

from . import compiled, cpu, reference
from .cpu.threads import num_threads
from .cpu.tuning import cpu_tuned, tune_cpu

__all__ = ["ops", "use", "using", "active", "for_device", "describe", "tune_cpu", "cpu_tuned",
           "deferred_weight_grads", "SETS", "ENVIRONMENT_VARIABLE"]

ENVIRONMENT_VARIABLE = "NT_KERNELS"
DEFAULT = "fast"


def _fast_table() -> dict:
    """The reference's functions, replaced by the fast kernel of the same name where there is one
    (a compiled one, with Numba installed: the [fast] extra)."""
    return {**reference.kernels(), **cpu.kernels(), **compiled.kernels()}


def _cuda_table() -> dict:
    """The reference's functions with the GPU kernels of CuPy arrays where there are some."""
    from . import cuda
    try:
        return {**reference.kernels(), **cuda.kernels()}
    except ImportError:
        from ..device import DeviceError
        raise DeviceError("the cuda kernels need CuPy: pip install -e \".[gpu]\"") from None


SETS = {"reference": reference.kernels, "fast": _fast_table, "cuda": _cuda_table}


class Kernels:
    """The active set's functions as attributes: `ops.layer_norm_forward(...)`."""

    def __repr__(self):
        return f"<numpy_transformer kernels: {_active}>"


ops = Kernels()
_active = None


def use(name: str) -> None:
    """Make `name` ('reference' or 'fast') the active set for every module from now on."""
    global _active
    if name not in SETS:
        raise ValueError(f"unknown kernel set {name!r}: choose one of {', '.join(SETS)}")
    ops.__dict__ = SETS[name]()         # one swap: no moment with half a set
    _active = name


def active() -> str:
    """The name of the active set."""
    return _active


@contextlib.contextmanager
def using(name: str):
    """Run the block with the set `name`, then go back to the one before."""
    before = _active
    use(name)
    try:
        yield
    finally:
        use(before)


def for_device(device: str) -> str:
    """The kernel set for arrays on `device`: the active one on the CPU, "cuda" on CuPy, the
    reference anywhere else (the fast set's threads and buffers are NumPy's)."""
    if device == "cpu":
        return _active
    return "cuda" if device == "cuda" else "reference"


def describe() -> str:
    """One line for the user: which kernels run, and on how many threads."""
    if _active == "reference":
        return "kernels: reference (textbook NumPy, nn/functional)"
    if _active == "cuda":
        return "kernels: cuda (the reference on CuPy arrays; fused GELU, LayerNorm, cross-entropy)"
    tuned = "tuned" if cpu_tuned() else "untuned"
    numba = " + Numba" if compiled.available() else ""
    return f"kernels: fast (NumPy{numba}, {num_threads()} threads, CPU settings {tuned})"


def deferred_weight_grads(enabled: bool = True):
    """The block a training step runs `model.backward` in: with the fast set, Linear weight
    gradients are computed on a second thread meanwhile and every gradient lands in `.grad`
    on exit, bit for bit as without the block; with the reference set, nothing is deferred."""
    return ops.deferred_weight_grads(enabled)


def environment_problem():
    """What is wrong with NT_KERNELS, if it names no set; else None."""
    name = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if name and name not in SETS:
        return (f"{ENVIRONMENT_VARIABLE}={name!r} names no kernel set: choose one of "
                f"{', '.join(SETS)}")
    return None


def _environment_choice() -> str:
    """The set NT_KERNELS names; the default (with a warning) when it names none."""
    problem = environment_problem()
    if problem:                         # said once, naming the variable rather than a line
        warnings.warn_explicit(f"{problem} (running '{DEFAULT}')", RuntimeWarning,
                               ENVIRONMENT_VARIABLE, 0)
        return DEFAULT
    return os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT


try:
    use(_environment_choice())
except OSError as error:                # NT_KERNELS=cuda without CuPy: said, and the default runs
    warnings.warn(f"{error} (running '{DEFAULT}')", RuntimeWarning)
    use(DEFAULT)
