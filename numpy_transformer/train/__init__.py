"""Training: tasks, the loop, checkpoints and logs."""
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, restore, save_checkpoint
from .log import JsonLog, read_log
from .task import ClassificationTask, Task
from .trainer import NonFiniteLossError, Trainer
