"""The training loop: steps, periodic evaluation, JSON-lines log, curves, checkpoints, exact resume."""
import math
import numbers
import os
import sys
import time

import numpy as np

from .. import kernels
from ..distributed import get_world
from ..distributed.sharded_loader import ShardedLoader
from ..distributed.zero import ZeroOptimizer, state_bytes
from ..random import default_generator, get_rng_state, manual_seed, set_rng_state
from .checkpoint import load_checkpoint, restore, save_checkpoint
from .log import JsonLog

CHECKPOINT = "checkpoint.safetensors"
LOG = "log.jsonl"
CURVES = "curves.png"


class Trainer:
    """Runs `task.train_step` over `train_loader` for `steps` (or `epochs`), evaluating every
    `eval_every` steps (default: once per epoch) and checkpointing every `checkpoint_every`.

    With `out_dir`, writes log.jsonl, curves.png and checkpoint.safetensors there; `fit(resume=True)`
    continues from that checkpoint and ends with bit-identical weights to an uninterrupted run.
    `fit` makes the process-wide CPU settings the fast kernels run best with
    (`kernels.tune_cpu()`) unless `tune_cpu=False`.

    Started by an MPI launcher (`world`, default `distributed.get_world()`), every rank trains on
    its shard of each batch with the gradients averaged (distributed.DataParallel), from rank 0's
    initial weights, and evaluates its shard of each evaluation batch; rank 0 alone writes. With
    `zero=1` each rank keeps and updates only its part of the optimizer state (ZeRO-1)."""

    def __init__(self, task, train_loader, eval_loader=None, *, epochs: float = None,
                 steps: int = None, eval_every: int = None, log_every: int = 10,
                 checkpoint_every: int = None, out_dir=None, progress: bool = True,
                 info: dict = None, plot: bool = True, tune_cpu: bool = True, world=None,
                 zero: int = 0):
        if (epochs is None) == (steps is None):
            raise ValueError("Trainer needs exactly one of epochs= or steps=")
        if len(train_loader) == 0:
            raise ValueError(f"Trainer: the training loader has no batch: {_size(train_loader)} "
                             f"examples, batch size {getattr(train_loader, 'batch_size', '?')}"
                             " (drop_last leaves none); use a smaller batch size or more data")
        self.task, self.train_loader, self.eval_loader = task, train_loader, eval_loader
        if zero not in (0, 1):
            raise ValueError(f"Trainer: zero={zero} is not a ZeRO stage this trainer has: 0 (every "
                             "rank keeps the whole optimizer state) or 1 (split across the ranks)")
        self.world, self.zero = world or get_world(), zero
        self.checkpoint_dir = out_dir           # every rank reads it on resume; rank 0 writes
        if not self.world.is_main:              # the others train and evaluate their shards
            out_dir, progress = None, False
        self.total_steps = steps if steps is not None else math.ceil(epochs * len(train_loader))
        self.eval_every = eval_every or len(train_loader)
        self.log_every = log_every
        self.checkpoint_every = checkpoint_every or self.eval_every
        self.out_dir, self.progress, self.plot = out_dir, progress, plot
        self.tune_cpu = tune_cpu
        self.info = dict(info or {})   # recipe name, config...: saved in every checkpoint
        self.step, self.train_seconds = 0, 0.0   # seconds inside train steps
        self.wall_seconds = 0.0                   # all of fit(): data, steps, evaluation, checkpoints
        self.history = []
        self._last_plot = time.monotonic()
        self._fit_started = time.perf_counter()

    # ---- checkpoints ----
    def checkpoint_path(self):
        return os.path.join(self.checkpoint_dir, CHECKPOINT)

    def save(self) -> None:
        state = {**self.info, "step": self.step, "train_seconds": self.train_seconds,
                 "wall_seconds": self.wall_seconds + time.perf_counter() - self._fit_started,
                 "loader": self.train_loader.state_dict(), "rng": get_rng_state(),
                 "task": self.task.state()}
        save_checkpoint(self.checkpoint_path(), self.task.modules, self.task.optimizers, state)

    def load(self, path=None) -> None:
        """Restore everything a step depends on: weights, optimizer and scheduler state, data
        position, random state."""
        checkpoint = load_checkpoint(path or self.checkpoint_path())
        restore(checkpoint, self.task.modules, self.task.optimizers)
        state = checkpoint.state
        self.task.load_state(state.get("task", {}))
        self.train_loader.load_state_dict(state["loader"])
        set_rng_state(state["rng"])
        self.step, self.train_seconds = state["step"], state.get("train_seconds", 0.0)
        self.wall_seconds = state.get("wall_seconds", 0.0)

    # ---- the loop ----
    def fit(self, resume: bool = False) -> dict:
        """Train to `total_steps`; returns the last evaluation's metrics (or the last train metrics)."""
        self._fit_started = time.perf_counter()
        if self.tune_cpu:
            kernels.tune_cpu()
        kernels.use(kernels.for_device(self._device()))      # CuPy arrays: the cuda set
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
        if resume:
            self.load()
        if self.world.size > 1:
            self._join_the_world()
        log = JsonLog(os.path.join(self.out_dir, LOG), self.step if resume else None) if self.out_dir else None
        bar = _progress_bar(self.total_steps, self.step, self.progress)
        sums, count, last = {}, 0, {}
        self.task.train(True)
        while self.step < self.total_steps:
            for batch in self.train_loader:
                started = time.perf_counter()
                try:
                    metrics = self.task.train_step(batch)
                except FloatingPointError as error:       # a loss layer saw NaN or inf
                    metrics = {"loss": math.nan, "error": str(error)}
                self.train_seconds += time.perf_counter() - started
                self.step += 1
                self._stop_unless_finite(metrics, bar)
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
                if self.step % self.log_every == 0 or self.step == self.total_steps:
                    last = {k: v / count for k, v in sums.items()}
                    self._record(log, {"split": "train", **last, "lr": self.task.learning_rate()})
                    sums, count = {}, 0
                if self.eval_loader is not None and (self.step % self.eval_every == 0
                                                     or self.step == self.total_steps):
                    last = self._evaluate(bar)
                    record = self._record(log, {"split": "eval", **last})
                    if self.out_dir:
                        self.task.after_evaluate(self.out_dir, record)
                    _say(bar, _summary(record, self.history))
                    self._plot(every_seconds=60)
                if self.step % self.checkpoint_every == 0 or self.step == self.total_steps:
                    self._stop_unless_finite(self._weights_finite(), bar)
                    for optimizer in self.task.optimizers.values():
                        if isinstance(optimizer, ZeroOptimizer):
                            optimizer.consolidate()    # every rank's state into rank 0's save
                    if self.out_dir:
                        self.save()
                if self.step >= self.total_steps:
                    break
        if bar is not None:
            bar.close()
        self._plot()
        self.wall_seconds += time.perf_counter() - self._fit_started
        return last

    def _join_the_world(self) -> None:
        """Data parallel from here: rank 0's weights everywhere, sharded evaluation, each rank
        its own dropout."""
        self.task.join(self.world)
        if self.zero:
            self.task.optimizers = {name: ZeroOptimizer(optimizer, self.world)
                                    for name, optimizer in self.task.optimizers.items()}
        if self.eval_loader is not None:
            self.eval_loader = ShardedLoader(self.eval_loader, self.world)
        draw = int(default_generator().integers(2 ** 31))       # the same on every rank
        manual_seed(draw + 7919 * self.world.rank)

    def _device(self) -> str:
        """The device of the task's first module with weights."""
        for module in self.task.modules.values():
            if any(True for _ in module.parameters()):
                return module.device
        return "cpu"

    def optimizer_state_bytes(self) -> dict:
        """{"per_rank": the most any rank holds, "whole": all of it} in bytes of optimizer state."""
        held = sum(state_bytes(optimizer) for optimizer in self.task.optimizers.values())
        every = self.world.all_gather(held)
        return {"per_rank": max(every), "whole": sum(every) if self.zero else held}

    def _evaluate(self, bar) -> dict:
        """The task's evaluation; a loss layer meeting NaN there stops training like in a step."""
        try:
            return self.task.evaluate(self.eval_loader)
        except FloatingPointError as error:
            self._stop_unless_finite({"loss": math.nan, "error": f"evaluating: {error}"}, bar)

    def _weights_finite(self) -> dict:
        """{"weights": nan} unless every parameter is finite (so no checkpoint holds NaN)."""
        for module in self.task.modules.values():
            for name, param in module.named_parameters():
                if not np.isfinite(param.data).all():
                    return {"weights": math.nan, "error": f"the parameter {name} is not finite"}
        return {}

    def _stop_unless_finite(self, metrics: dict, bar) -> None:
        """A NaN or infinite loss ends training: nothing more is saved over the last good
        checkpoint."""
        bad = {k: v for k, v in metrics.items()
               if isinstance(v, numbers.Real) and not math.isfinite(v)}
        if not bad:
            return
        what = metrics.get("error") or ", ".join(f"{k} is {v}" for k, v in bad.items())
        if bar is not None:
            bar.close()
        kept = (f"the last good checkpoint, {self.checkpoint_path()}, is kept"
                if self.out_dir and os.path.exists(self.checkpoint_path()) else "no checkpoint was written")
        raise NonFiniteLossError(
            f"training stopped at step {self.step}: {what}; "
            f"{kept}. A lower learning rate (--lr) or gradient clipping usually helps")

    def _record(self, log, record: dict) -> dict:
        record = {"step": self.step, "epoch": round(self.step / len(self.train_loader), 4),
                  "seconds": round(self.train_seconds, 3), **record}
        self.history.append(record)
        if log is not None:
            log.write(record)
        return record

    def _plot(self, every_seconds: float = 0) -> None:
        """Redraw curves.png (at most every `every_seconds` during training)."""
        now = time.monotonic()
        if every_seconds and now - self._last_plot < every_seconds:
            return
        self._last_plot = now
        if self.out_dir and self.plot:
            from ..viz.curves import plot_log
            plot_log(os.path.join(self.out_dir, LOG), os.path.join(self.out_dir, CURVES))


def _size(loader) -> str:
    dataset = getattr(loader, "dataset", None)
    return str(len(dataset)) if dataset is not None and hasattr(dataset, "__len__") else "?"


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite."""


def _progress_bar(total, initial, enabled):
    if not enabled or not sys.stderr.isatty():     # a log file gets the epoch lines only
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, file=sys.stderr)


def _say(bar, text: str) -> None:
    if not get_world().is_main:
        return
    if bar is not None:
        bar.write(text)
    else:
        print(text, flush=True)


def _summary(record: dict, history: list) -> str:
    train = next((r for r in reversed(history) if r.get("split") == "train"), {})
    parts = [f"step {record['step']:>6}", f"epoch {record['epoch']:.2f}"]
    if "loss" in train:
        parts.append(f"train loss {train['loss']:.4f}")
    metrics = " ".join(f"{k} {v:.4f}" for k, v in record.items()
                       if k not in ("step", "epoch", "seconds", "split") and isinstance(v, float))
    parts.append(f"eval {metrics}")
    parts.append(f"{record['seconds']:.1f}s")
    return " | ".join(parts)
