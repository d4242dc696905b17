"""`nt.no_grad()`: run forward passes without keeping caches for backward."""
import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside `with nt.no_grad():`."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad():
    """Forward passes inside keep no caches, so nothing can be backpropagated."""
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Undo an enclosing `no_grad()`."""
    previous = is_grad_enabled()
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = previous
