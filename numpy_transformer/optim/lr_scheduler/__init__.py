"""Learning-rate schedulers with torch.optim.lr_scheduler's names, arguments and values."""
from .scheduler import *  # noqa: F401,F403
from .decay import *  # noqa: F401,F403
from .sequential import *  # noqa: F401,F403
from .one_cycle import *  # noqa: F401,F403
