"""Data: known files fetched into a cache and checked by sha256, array data sets, a resumable DataLoader, batch transforms."""
from .locations import *
from .registry import *
from .download import *
from .idx import *
from .datasets import *
from .vision import *
from .text import *
from .loader import *
from .affine import *
from .transforms import *
from .windows import *
