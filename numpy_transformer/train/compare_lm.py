"""`compare` for language models: ours and the PyTorch twin, same weights, same batches.

Both train for the same steps with AdamW (the same parameter groups), the same learning-rate
schedule and gradient clipping, on the batches the recipe's loader hands out; then both are
evaluated on the same fixed validation batches. Only the training steps are timed.
"""
import time

from ..random import manual_seed


def _torch_adamw(ours, model, twin):
    """torch.optim.AdamW with our parameter groups and options; twin parameters matched by name."""
    import torch
    twin_by_name = dict(twin.named_parameters())
    name_of = {id(p): name for name, p in model.named_parameters()}
    groups = [{"params": [twin_by_name[name_of[id(p)]] for p in group["params"]],
               **{k: group[k] for k in ("lr", "betas", "eps", "weight_decay")}}
              for group in ours.param_groups]
    return torch.optim.AdamW(groups)


def _learning_rates(optimizer, scheduler, steps):
    """The learning rate of every param group at each of `steps` steps, as our scheduler sets
    them (this runs `scheduler` through the steps: give it a fresh one)."""
    lrs = [[group["lr"] for group in optimizer.param_groups]]
    for _ in range(steps - 1):
        if scheduler is not None:
            scheduler.step()
        lrs.append([group["lr"] for group in optimizer.param_groups])
    return lrs


def _train_torch(twin, task, loader, lrs, grad_clip):
    """len(lrs) steps of the twin with torch.optim.AdamW; the seconds spent in them."""
    import torch
    optimizer = _torch_adamw(task.optimizers["optimizer"], task.model, twin)
    criterion = torch.nn.CrossEntropyLoss()
    twin.train()
    seconds, taken = 0.0, 0
    while taken < len(lrs):
        for x, y in loader:
            started = time.perf_counter()
            for group, lr in zip(optimizer.param_groups, lrs[taken]):
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            logits = twin(torch.from_numpy(x))
            loss = criterion(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(twin.parameters(), grad_clip)
            optimizer.step()
            seconds += time.perf_counter() - started
            taken += 1
            if taken == len(lrs):
                break
    return seconds


def _evaluate_torch(twin, loader):
    import torch
    twin.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = twin(torch.from_numpy(x))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     torch.from_numpy(y).reshape(-1))
            total += float(loss) * y.size
            count += y.size
    return total / count


def compare_language_model(recipe, config, to_torch, data_dir=None, pause: float = 2.0,
                           progress=True) -> dict:
    """Train the recipe's model and `to_torch(model)` (its twin, same weights) on the same
    batches; returns {"steps", "metrics", "numpy_transformer": {...}, "torch": {...}} with the
    validation loss and the seconds spent in training steps of each."""
    import torch
    from .trainer import Trainer
    manual_seed(config.seed)
    setup = recipe.build(config, data_dir)
    task = setup.task
    twin = to_torch(task.model)                                   # the same initial weights
    trainer = Trainer(task, setup.train_loader, None, epochs=config.epochs, steps=config.steps,
                      log_every=10**9, progress=progress)
    trainer.fit()
    ours_loss = task.evaluate(setup.eval_loader)["loss"]
    time.sleep(pause)                                             # let OpenBLAS threads go quiet
    manual_seed(config.seed)
    fresh = recipe.build(config, data_dir)                        # same loader seed: same batches
    lrs = _learning_rates(fresh.task.optimizers["optimizer"],    # our schedule, for the twin
                          fresh.task.schedulers.get("scheduler"), trainer.total_steps)
    torch_seconds = _train_torch(twin, fresh.task, fresh.train_loader, lrs, fresh.task.grad_clip)
    return {"steps": trainer.total_steps, "metrics": ["val_loss"],
            "numpy_transformer": {"val_loss": ours_loss, "train_seconds": trainer.train_seconds},
            "torch": {"val_loss": _evaluate_torch(twin, fresh.eval_loader),
                      "train_seconds": torch_seconds, "threads": torch.get_num_threads()}}
