"""numpy_transformer: deep learning in plain NumPy, every backward pass written by hand."""
from ._blas import sleep_idle_blas_threads
sleep_idle_blas_threads()           # first: before NumPy starts OpenBLAS's threads, if it has not
from ._malloc import tune_malloc
from .dtype import get_default_dtype, set_default_dtype
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .random import default_generator, get_rng_state, manual_seed, set_rng_state
from . import nn, optim
from . import data, interop, io, models, tokenizers

__version__ = "0.1.0"

tune_malloc()
