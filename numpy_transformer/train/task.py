"""A task: the modules, optimizers and schedulers a recipe trains, and what one step does."""
import numpy as np

from .. import kernels
from ..distributed.data_parallel import DataParallel, shard_batch
from ..distributed.sharded_loader import sum_over_shards
from ..grad_mode import no_grad
from ..optim import clip_grad_norm_


class Task:
    """Owns named modules/optimizers/schedulers; `train_step` runs one optimisation step.

    Subclasses write `forward_backward(batch) -> metrics` (forward, loss, backward) and
    `evaluate(loader) -> metrics`; tasks with several optimizers (a GAN) override `train_step`."""

    def __init__(self, modules: dict, optimizers: dict = None, schedulers: dict = None,
                 grad_clip: float = None, defer_weight_grads: bool = False):
        self.modules = modules
        self.optimizers = optimizers or {}
        self.schedulers = schedulers or {}
        self.grad_clip = grad_clip
        self.defer_weight_grads = defer_weight_grads
        self.data_parallel = None        # a distributed.DataParallel: this rank's shard only

    def train_step(self, batch) -> dict:
        for optimizer in self.optimizers.values():
            optimizer.zero_grad()
        parallel = self.data_parallel
        if parallel is None:
            metrics = self.forward_backward(batch)
        else:
            metrics = self._data_parallel_forward_backward(parallel, batch)
        if self.grad_clip:
            params = [p for m in self.modules.values() for p in m.parameters()]
            metrics["grad_norm"] = float(clip_grad_norm_(params, self.grad_clip))
        for optimizer in self.optimizers.values():
            optimizer.step()
        for scheduler in self.schedulers.values():
            scheduler.step()
        return metrics

    def join(self, world) -> None:
        """Train data parallel over `world` from here: rank 0's weights on every rank, then each
        step on this rank's shard of the batch, the gradients averaged over the ranks."""
        self.data_parallel = DataParallel(world, self.modules)
        self.data_parallel.broadcast_parameters()

    def loss_weight(self, batch) -> float:
        """How many terms the batch's mean loss averages: its examples. A task whose loss
        averages a varying number of tokens counts them, so that a rank's share of the loss is
        exact and N ranks take the step one process takes."""
        return len(batch[0] if isinstance(batch, (tuple, list)) else batch)

    def shard(self, batch, world):
        """(this rank's part of `batch`, its share of the batch's loss)."""
        local, share = shard_batch(batch, world.rank, world.size)
        total = self.loss_weight(batch)
        return local, (self.loss_weight(local) / total if share and total else share)

    def _data_parallel_forward_backward(self, parallel, batch) -> dict:
        """This rank's shard forward and backward, then the gradients and the metrics averaged
        over the ranks, each weighted by its share of the loss."""
        local, share = self.shard(batch, parallel.world)
        with parallel.averaging(share):
            metrics = self.forward_backward(local) if share else {}  # an empty shard adds zeros
        return average_metrics(parallel.world, metrics, share)

    def forward_backward(self, batch) -> dict:
        raise NotImplementedError

    def backward(self, module, grad_output):
        """module.backward(grad_output); with `defer_weight_grads`, inside the kernels'
        `deferred_weight_grads` block, where the fast kernels compute the Linear weight gradients
        on a second thread meanwhile. Every gradient is in `.grad` when it returns, bit for bit
        as without. It pays for Transformers, whose LayerNorms and residual adds leave a core
        idle (the GPT's step 0.95x), and costs plain MLPs (the digits MLP's step 1.5x)."""
        with kernels.deferred_weight_grads(enabled=self.defer_weight_grads):
            return module.backward(grad_output)

    def evaluate(self, loader) -> dict:
        raise NotImplementedError

    def after_evaluate(self, out_dir, record: dict) -> None:
        """Called by the Trainer after each evaluation with the run folder and the logged record
        (step, epoch, metrics): a task that draws something per evaluation (a GAN's samples)
        writes it there."""

    def learning_rate(self) -> float:
        """The first optimizer's current learning rate (for the log)."""
        for optimizer in self.optimizers.values():
            return float(optimizer.param_groups[0]["lr"])
        return 0.0

    def train(self, mode: bool = True) -> None:
        for module in self.modules.values():
            module.train(mode)

    def state(self) -> dict:
        """JSON-able state beyond weights and optimizers (the schedulers')."""
        return {"schedulers": {k: s.state_dict() for k, s in self.schedulers.items()}}

    def load_state(self, state: dict) -> None:
        for name, saved in state.get("schedulers", {}).items():
            self.schedulers[name].load_state_dict(saved)


def average_metrics(world, metrics: dict, share: float) -> dict:
    """{key: sum over ranks of share * value}: rank 0's keys (a rank with no shard has none)."""
    keys = world.keys_of_rank0(sorted(metrics))
    return world.sum_scalars({k: metrics.get(k, 0.0) * share for k in keys})


class ClassificationTask(Task):
    """Inputs -> logits -> cross-entropy; reports loss and accuracy."""

    def __init__(self, model, criterion, optimizer, scheduler=None, grad_clip=None,
                 defer_weight_grads: bool = False):
        super().__init__({"model": model}, {"optimizer": optimizer},
                         {"scheduler": scheduler} if scheduler else {}, grad_clip,
                         defer_weight_grads)
        self.model, self.criterion = model, criterion

    def forward_backward(self, batch) -> dict:
        x, y = batch
        logits = self.model(x)
        loss = self.criterion(logits, y)
        self.backward(self.model, self.criterion.backward())
        return {"loss": float(loss), "accuracy": float(np.mean(logits.argmax(-1) == y))}

    def evaluate(self, loader) -> dict:
        """Mean loss and accuracy over every batch of `loader` (every rank's, for a sharded one),
        in eval mode, keeping no caches."""
        self.model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with no_grad():
            for x, y in loader:
                logits = self.model(x)
                total_loss += float(self.criterion(logits, y)) * len(y)
                correct += int(np.sum(logits.argmax(-1) == y))
                count += len(y)
        self.model.train()
        sums = sum_over_shards(loader, {"loss": total_loss, "correct": correct, "count": count})
        return {"loss": sums["loss"] / sums["count"], "accuracy": sums["correct"] / sums["count"]}

    def predict(self, x) -> np.ndarray:
        """Class indices for a batch, in eval mode."""
        self.model.eval()
        with no_grad():
            return self.model(x).argmax(-1)
