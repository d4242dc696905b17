"""The reference math: every layer as a `*_forward(...) -> (out, cache)` and
`*_backward(dout, cache)` pair in textbook NumPy, one file per topic.

This is the code to read. The library runs it through `numpy_transformer.kernels`, which may
swap in tuned versions of the same functions (NT_KERNELS=reference runs exactly this code).
"""
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .embedding import *
from .linear import *
from .loss import *
from .optim import *
from .normalization import *
from .patches import *
from .pooling import *
from .positional import *
from .recurrent import *
from .special import *
from .windows import *
