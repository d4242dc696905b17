"""`LRScheduler`: sets each param group's 'lr' once per `step()`, as torch.optim.lr_scheduler does."""
import copy
import warnings

from ..optimizer import Optimizer

__all__ = ["LRScheduler"]


class LRScheduler:
    """Base class. Subclasses write `get_lr()`: the next lr of every param group, often computed
    from the current one (torch's recursive form) and sometimes `_get_closed_form_lr()`.

    Constructing a scheduler already takes its first step (`last_epoch` becomes 0), so call
    `optimizer.step()` then `scheduler.step()` in the loop. The state dict holds plain numbers
    and lists (JSON-able)."""

    _not_saved = ("optimizer",)   # attributes left out of the state dict

    def __init__(self, optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an nt.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}(last_epoch={last_epoch}) resumes a "
                                   f"schedule, but param_groups[{i}] has no 'initial_lr'; load "
                                   "the optimizer's state dict first, or use last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step taken on construction (`_is_initial` lets `get_lr` keep the lr as it is)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError(f"{type(self).__name__} has no get_lr()")

    def get_last_lr(self) -> list:
        """The learning rates the last step set, one per param group."""
        return list(self._last_lr)

    def _group_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch=None) -> None:
        """Advance one step and write the new lr into every param group.

        `epoch` (deprecated in torch too) jumps to that step using the closed form if there is one."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn("scheduler.step(epoch) is deprecated (as in torch); call step() once "
                          "per step instead", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._group_lrs()

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (and functions), copied."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key not in self._not_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update({key: copy.deepcopy(value) for key, value in state_dict.items()
                              if key not in self._not_saved})
