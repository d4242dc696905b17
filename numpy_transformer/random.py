"""One seeded `np.random.Generator` for the whole library: `nt.manual_seed(0)` makes runs repeat bit for bit."""
import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the global generator, used by weight init, dropout and data shuffling."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator that `manual_seed` resets."""
    return _generator


def get_rng_state() -> dict:
    """The global generator's state, JSON-serialisable (for checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from `get_rng_state`."""
    _generator.bit_generator.state = state
