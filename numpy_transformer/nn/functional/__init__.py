"""The math of every layer as pure `*_forward(...) -> (out, cache)` / `*_backward(dout, cache)` pairs."""
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .embedding import *
from .linear import *
from .loss import *
from .normalization import *
from .pooling import *
from .positional import *
from .recurrent import *
