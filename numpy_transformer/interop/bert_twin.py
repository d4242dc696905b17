"""BERT's PyTorch twin, built from torch.nn layers with the same names as `nt.models.BERT`.

    twin = BertTwin(model.config)
    copy_weights_to_torch(model, twin)      # numpy_transformer.testing: by state-dict name

The twin computes what our BERT computes (embeddings, torch.nn.TransformerEncoder, the
masked-LM head with the decoder tied to the token table), so the same weights and inputs give
the same logits and gradients. It needs PyTorch (imported when a twin is built).
"""
import numpy as np

__all__ = ["BertTwin", "torch_optimizer", "torch_scheduler", "train_twins", "first_batches",
           "evaluate_twin", "twin_run", "compare_recipe"]


def _torch():
    from .torch import _torch as load
    return load()


def BertTwin(config, dtype=None):
    """A torch.nn.Module twin of `BERT(config)` (its weights are still torch's own)."""
    torch = _torch()
    tnn = torch.nn

    class Embeddings(tnn.Module):
        def __init__(self):
            super().__init__()
            D = config.dim
            self.word_embeddings = tnn.Embedding(config.vocab_size, D)
            self.position_embeddings = tnn.Embedding(config.max_len, D)
            self.token_type_embeddings = tnn.Embedding(config.type_vocab_size, D)
            self.norm = tnn.LayerNorm(D, eps=config.layer_norm_eps)
            self.dropout = tnn.Dropout(config.dropout)

        def forward(self, input_ids, token_type_ids):
            positions = torch.arange(input_ids.shape[1])
            x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
                 + self.token_type_embeddings(token_type_ids))
            return self.dropout(self.norm(x))

    class Head(tnn.Module):
        def __init__(self):
            super().__init__()
            self.dense = tnn.Linear(config.dim, config.dim)
            self.activation = tnn.GELU() if config.activation == "gelu" else tnn.ReLU()
            self.norm = tnn.LayerNorm(config.dim, eps=config.layer_norm_eps)
            self.decoder = tnn.Linear(config.dim, config.vocab_size)

        def forward(self, h):
            return self.decoder(self.norm(self.activation(self.dense(h))))

    class Bert(tnn.Module):
        def __init__(self):
            super().__init__()
            self.config = config
            self.embeddings = Embeddings()
            layer = tnn.TransformerEncoderLayer(
                config.dim, config.heads, config.ff_dim, config.dropout, config.activation,
                layer_norm_eps=config.layer_norm_eps, batch_first=True,
                norm_first=config.norm_first)
            norm = tnn.LayerNorm(config.dim, eps=config.layer_norm_eps) if config.norm_first else None
            self.encoder = tnn.TransformerEncoder(layer, config.depth, norm=norm,
                                                  enable_nested_tensor=False)
            self.head = Head()
            self.head.decoder.weight = self.embeddings.word_embeddings.weight   # tied

        def forward(self, input_ids, token_type_ids=None, key_padding_mask=None,
                    masked_positions=None):
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            if key_padding_mask is None and config.pad_id is not None:
                key_padding_mask = input_ids == config.pad_id
            if key_padding_mask is not None and not bool(key_padding_mask.any()):
                key_padding_mask = None
            h = self.embeddings(input_ids, token_type_ids)
            h = self.encoder(h, src_key_padding_mask=key_padding_mask)
            if masked_positions is not None:
                h = h[masked_positions]                       # [M, D], row-major order
            return self.head(h)

    twin = Bert()
    if dtype is not None:
        twin.to({np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}
                [np.dtype(dtype)])
    return twin


def torch_optimizer(ours, parameters):
    """torch.optim's twin of our Adam/AdamW (one parameter group, the same options; the lr
    before any scheduler changed it)."""
    torch = _torch()
    if len(ours.param_groups) != 1:
        raise NotImplementedError("the twin optimizer supports one parameter group")
    group = ours.param_groups[0]
    cls = getattr(torch.optim, type(ours).__name__)
    return cls(parameters, lr=group.get("initial_lr", group["lr"]), betas=group["betas"], eps=group["eps"],
               weight_decay=group["weight_decay"])


def torch_scheduler(ours, optimizer):
    """torch's twin of `warmup_cosine` (SequentialLR of LinearLR and CosineAnnealingLR), of a
    plain CosineAnnealingLR, or None."""
    lr_scheduler = _torch().optim.lr_scheduler
    if ours is None:
        return None
    name = type(ours).__name__
    if name == "CosineAnnealingLR":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=ours.T_max, eta_min=ours.eta_min)
    if name == "SequentialLR":
        warmup, cosine = ours._schedulers
        return lr_scheduler.SequentialLR(optimizer, [
            lr_scheduler.LinearLR(optimizer, start_factor=warmup.start_factor,
                                  end_factor=warmup.end_factor, total_iters=warmup.total_iters),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=cosine.T_max, eta_min=cosine.eta_min)],
            milestones=list(ours._milestones))
    raise NotImplementedError(f"no torch twin for the scheduler {name}")


# ---- training ours and the twin side by side ----

def _torch_dtype(dtype):
    torch = _torch()
    return {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[np.dtype(dtype)]


def _torch_step(twin, optimizer, scheduler, grad_clip, inputs, labels):
    """One training step of the twin, as MaskedLMTask.train_step; returns the loss."""
    torch = _torch()
    where = labels != -100
    optimizer.zero_grad()
    logits = twin(torch.from_numpy(inputs), masked_positions=torch.from_numpy(where))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[where]))
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(twin.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


def train_twins(task, batches, dtype=np.float64, pause: float = 0.0, progress: bool = False):
    """Our task's model and its twin, from the same weights, trained on the same `batches`
    (inputs, labels) with the same optimizer, schedule and clipping: ours first, then torch.

    Returns a dict: losses_numpy, losses_torch (one per step), seconds_numpy, seconds_torch
    (inside the steps only), max_abs_diff, and the trained twin."""
    import time
    from ..testing.twin import copy_weights_to_torch
    model = task.model.to(dtype)
    twin = BertTwin(model.config, dtype)
    copy_weights_to_torch(model, twin)
    ours_optimizer = task.optimizers["optimizer"]
    twin_optimizer = torch_optimizer(ours_optimizer, twin.parameters())
    twin_scheduler = torch_scheduler(task.schedulers.get("scheduler"), twin_optimizer)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=2 * len(batches), unit="step", dynamic_ncols=True)

    losses, seconds = {"numpy": [], "torch": []}, {"numpy": 0.0, "torch": 0.0}
    task.train(True)
    for batch in batches:
        started = time.perf_counter()
        losses["numpy"].append(task.train_step(batch)["loss"])
        seconds["numpy"] += time.perf_counter() - started
        if bar is not None:
            bar.update(1)
    time.sleep(pause)                                     # let OpenBLAS's threads go quiet
    twin.train()
    for inputs, labels in batches:
        started = time.perf_counter()
        losses["torch"].append(_torch_step(twin, twin_optimizer, twin_scheduler, task.grad_clip,
                                           inputs, labels))
        seconds["torch"] += time.perf_counter() - started
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    diff = np.abs(np.array(losses["numpy"]) - np.array(losses["torch"]))
    return {"losses_numpy": losses["numpy"], "losses_torch": losses["torch"],
            "seconds_numpy": seconds["numpy"], "seconds_torch": seconds["torch"],
            "max_abs_diff": float(diff.max()) if diff.size else 0.0, "twin": twin}


def first_batches(loader, steps: int) -> list:
    """The first `steps` batches the loader hands out (epoch after epoch), as training sees them."""
    batches = []
    while len(batches) < steps:
        for batch in loader:
            batches.append(batch)
            if len(batches) == steps:
                break
    return batches


def evaluate_twin(twin, loader) -> dict:
    """The twin's held-out masked-LM loss and accuracy (as MaskedLMTask.evaluate)."""
    torch = _torch()
    twin.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            where = labels != -100
            targets = torch.from_numpy(labels[where])
            logits = twin(torch.from_numpy(inputs), masked_positions=torch.from_numpy(where))
            total_loss += float(torch.nn.functional.cross_entropy(logits, targets)) * len(targets)
            correct += int((logits.argmax(-1) == targets).sum())
            count += len(targets)
    twin.train()
    return {"loss": total_loss / count, "accuracy": correct / count}


def twin_run(config, data_dir=None, dtype=np.float64, pause: float = 0.0, progress: bool = False):
    """bert-quotes' model and its twin trained side by side for config.steps from one seed;
    returns train_twins' dict plus the setup (ours trained) under "setup"."""
    from ..recipes import get_recipe
    from ..random import manual_seed
    if config.dropout:
        raise ValueError(f"the twin cannot draw our dropout masks: run it with dropout=0, "
                         f"not {config.dropout}")
    if not config.steps:
        raise ValueError("twin_run needs config.steps")
    manual_seed(config.seed)
    setup = get_recipe("bert-quotes").build(config, data_dir)
    batches = first_batches(setup.train_loader, config.steps)
    result = train_twins(setup.task, batches, dtype, pause=pause, progress=progress)
    result["setup"] = setup
    return result


def compare_recipe(config, data_dir=None, pause: float = 2.0, progress: bool = True) -> dict:
    """The `compare` hook of bert-quotes: train both (dropout 0), then held-out loss/accuracy."""
    import dataclasses
    steps = config.steps or int(np.ceil(config.epochs * _steps_per_epoch(config, data_dir)))
    config = dataclasses.replace(config, steps=steps, dropout=0.0)
    result = twin_run(config, data_dir, np.float32, pause=pause, progress=progress)
    setup = result["setup"]
    ours = setup.task.evaluate(setup.test_loader)
    theirs = evaluate_twin(result["twin"], setup.test_loader)
    return {"steps": steps, "metrics": ["test_loss", "test_accuracy"],
            "max_train_loss_diff": result["max_abs_diff"],
            "numpy_transformer": {"test_loss": ours["loss"], "test_accuracy": ours["accuracy"],
                                  "train_seconds": result["seconds_numpy"]},
            "torch": {"test_loss": theirs["loss"], "test_accuracy": theirs["accuracy"],
                      "train_seconds": result["seconds_torch"]}}


def _steps_per_epoch(config, data_dir) -> int:
    from ..data import load_quotes
    from ..recipes.bert import split_quotes
    train, _ = split_quotes([q for q in load_quotes(data_dir) if q.strip()], config.holdout)
    return int(np.ceil(len(train) / config.batch_size))
