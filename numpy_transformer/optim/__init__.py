"""Optimizers, learning-rate schedulers and gradient clipping, with torch.optim's names.

    optimizer = nt.optim.AdamW(model.parameters(), lr=3e-4)
    scheduler = nt.optim.lr_scheduler.warmup_cosine(optimizer, warmup_steps=100, total_steps=5000)
    for batch in batches:
        optimizer.zero_grad()
        ... forward, loss, backward ...
        nt.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .clip import clip_grad_norm_, clip_grad_value_
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_grad_norm_",
           "clip_grad_value_", "lr_scheduler"]
