"""`SequentialLR` (one schedule after another) and `warmup_cosine` built from it."""
from bisect import bisect_right

from .decay import CosineAnnealingLR, LinearLR
from .scheduler import LRScheduler

__all__ = ["SequentialLR", "warmup_cosine"]


class SequentialLR(LRScheduler):
    """Run `schedulers[0]` until `milestones[0]`, then `schedulers[1]` from its step 0, and so on.

    Build the schedulers on the same optimizer first, then pass them here (as in torch)."""

    _not_saved = ("optimizer", "_schedulers")

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError(f"SequentialLR expects every scheduler to belong to its optimizer, "
                                 f"but scheduler {i} ({type(scheduler).__name__}) has another one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Undo the construction steps of the schedulers, then start the first one again.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, scheduler) -> None:
        for child in getattr(scheduler, "_schedulers", ()):
            if hasattr(child, "_schedulers"):
                self._undo_initial_steps(child)
            else:
                child.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)            # a new phase starts at its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for scheduler, state in zip(self._schedulers, state_dict["_schedulers"]):
            scheduler.load_state_dict(state)


def warmup_cosine(optimizer, warmup_steps: int, total_steps: int, min_lr: float = 0.0):
    """Linear warm-up for `warmup_steps`, then cosine decay to `min_lr` at `total_steps`.

    lr_t = base_lr * (t + 1) / (warmup_steps + 1)                          for t < warmup_steps
    lr_t = min_lr + (base_lr - min_lr) * (1 + cos(pi * (t - W) / (T - W))) / 2  for W <= t <= T
    In torch terms (W = warmup_steps, T = total_steps):
        SequentialLR(optimizer, [LinearLR(optimizer, start_factor=1 / (W + 1), end_factor=1.0,
                                          total_iters=W),
                                 CosineAnnealingLR(optimizer, T_max=T - W, eta_min=min_lr)],
                     milestones=[W])
    and just CosineAnnealingLR(optimizer, T_max=T, eta_min=min_lr) when W = 0."""
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_cosine needs 0 <= warmup_steps < total_steps, got "
                         f"warmup_steps={warmup_steps}, total_steps={total_steps}")
    cosine_steps = total_steps - warmup_steps
    if warmup_steps == 0:
        return CosineAnnealingLR(optimizer, T_max=cosine_steps, eta_min=min_lr)
    warmup = LinearLR(optimizer, start_factor=1.0 / (warmup_steps + 1), end_factor=1.0,
                      total_iters=warmup_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=cosine_steps, eta_min=min_lr)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])
