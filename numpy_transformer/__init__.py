"""numpy_transformer: deep learning in plain NumPy, every backward pass written by hand.

Importing the package changes nothing process-wide; `kernels.tune_cpu()` is the opt-in."""
from .dtype import get_default_dtype, set_default_dtype
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .random import default_generator, get_rng_state, manual_seed, set_rng_state
from . import nn, optim
from . import data, distributed, interop, io, kernels, models, testing, tokenizers, train

__version__ = "0.1.0"
