"""Layers with PyTorch's names; each has a hand-written forward and backward."""
from . import functional, init
from .cache_check import check_caches
from .module import Module
from .parameter import Parameter
from .container import ModuleDict, ModuleList, Sequential
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .embedding import *
from .flatten import *
from .linear import *
from .loss import *
from .normalization import *
from .pooling import *
from .positional import *
from .recurrent import *
from .residual import *
from .transformer import *
