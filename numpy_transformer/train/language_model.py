"""Training a next-token language model: `LanguageModelTask` trains a model mapping ids [B, T]
to logits [B, T, V] with cross-entropy over every position, on batches such as
`data.RandomBlocks` windows."""
from .. import nn
from ..distributed.sharded_loader import sum_over_shards
from ..grad_mode import no_grad
from .task import Task

__all__ = ["LanguageModelTask", "weight_decay_groups"]


def weight_decay_groups(model, weight_decay: float) -> list:
    """nanoGPT's parameter groups: decay the matrices (weights, embeddings), not the biases and
    LayerNorm parameters."""
    params = list(model.parameters())
    return [{"params": [p for p in params if p.data.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.data.ndim < 2], "weight_decay": 0.0}]


class LanguageModelTask(Task):
    """model(ids [B, T]) -> logits [B, T, V]; the loss: mean cross-entropy over every position."""

    def __init__(self, model, optimizer, scheduler=None, grad_clip=None,
                 defer_weight_grads: bool = False):
        super().__init__({"model": model}, {"optimizer": optimizer},
                         {"scheduler": scheduler} if scheduler else {}, grad_clip,
                         defer_weight_grads)
        self.model, self.criterion = model, nn.CrossEntropyLoss()

    def logits(self, x):
        """The model's logits [B, T, V] for ids x [B, T] (a recurrent model also returns its state)."""
        return self.model(x)

    def metrics(self, loss: float) -> dict:
        """What is logged for a mean loss per token."""
        return {"loss": loss}

    def forward_backward(self, batch) -> dict:
        x, y = batch
        logits = self.logits(x)                                           # [B, T, V]
        loss = self.criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.backward(self.model, self.criterion.backward().reshape(logits.shape))
        return self.metrics(float(loss))

    def evaluate(self, loader) -> dict:
        """The mean loss per token over every batch of `loader` (every rank's, for a sharded
        one), in eval mode, keeping no caches."""
        self.model.eval()
        total, count = 0.0, 0
        with no_grad():
            for x, y in loader:
                logits = self.logits(x)
                total += float(self.criterion(logits.reshape(-1, logits.shape[-1]),
                                              y.reshape(-1))) * y.size
                count += y.size
        self.model.train()
        sums = sum_over_shards(loader, {"loss": total, "count": count})
        return self.metrics(sums["loss"] / sums["count"])
