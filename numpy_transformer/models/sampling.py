"""Choosing the next token from logits: temperature, top-k, top-p (nucleus), seeded draws.

Shared by every language model (GPT, the RNN LM): each step turns logits [B, V] into ids [B].

    ids = sample(logits, temperature=0.8, top_k=40, top_p=0.95, generator=make_generator(0))

Order of the filters (as Hugging Face's): divide by the temperature, keep the top k, keep the
nucleus of probability top_p, then draw from the softmax of what is left. Temperature 0 is greedy.
"""
import numpy as np

from ..device import to_host

__all__ = ["make_generator", "check_sampling", "top_k_mask", "top_p_mask", "filter_logits",
           "sample"]


def make_generator(seed=None) -> np.random.Generator:
    """A generator of its own for sampling (seeded: the same seed gives the same text)."""
    return np.random.default_rng(seed)


def check_sampling(temperature=1.0, top_k=None, top_p=None) -> None:
    """Raise ValueError for options out of range."""
    if temperature is None or not temperature >= 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be a positive integer, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def top_k_mask(logits, k: int):
    """True for the k largest logits of each row (and any tied with the k-th): [..., V] bool."""
    V = logits.shape[-1]
    if k >= V:
        return np.ones_like(logits, dtype=bool)
    kth = np.partition(logits, V - k, axis=-1)[..., V - k:V - k + 1]   # the k-th largest [..., 1]
    return logits >= kth


def top_p_mask(logits, p: float):
    """True for the nucleus of each row: the most probable tokens whose probabilities first sum
    to >= p (the most probable token is always kept). [..., V] bool."""
    probs = _softmax(logits)
    order = np.argsort(-probs, axis=-1, kind="stable")                  # most probable first
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_probs, axis=-1) - sorted_probs            # mass of the tokens ahead
    keep_sorted = before < p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return keep


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None):
    """logits / temperature with -inf where top-k or top-p removes a token (a new array)."""
    check_sampling(temperature, top_k, top_p)
    scaled = logits / temperature if temperature > 0 else logits.copy()
    if top_k is not None:
        np.copyto(scaled, -np.inf, where=~top_k_mask(scaled, int(top_k)))
    if top_p is not None and top_p < 1:
        np.copyto(scaled, -np.inf, where=~top_p_mask(scaled, top_p))
    return scaled


def sample(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Next ids [B] from logits [B, V] (or one id from [V]); temperature 0 takes the argmax."""
    logits = to_host(logits)                     # drawn on the host: [B, V] per step, explicitly
    if logits.ndim not in (1, 2):
        raise ValueError(f"sample expects logits [B, V] or [V], got shape {logits.shape}")
    if logits.ndim == 1:
        return sample(logits[None], temperature, top_k, top_p, generator)[0]
    filtered = filter_logits(logits, temperature, top_k, top_p)
    if temperature == 0:
        return filtered.argmax(axis=-1)
    generator = generator if generator is not None else make_generator()
    # inverse CDF: the first token whose cumulative probability reaches u (u in (0, 1], so a
    # removed token, of probability exactly 0, is never drawn)
    cumulative = np.cumsum(_softmax(filtered.astype(np.float64)), axis=-1)   # [B, V]
    u = (1.0 - generator.random((len(logits), 1))) * cumulative[:, -1:]
    return np.minimum((cumulative < u).sum(axis=-1), logits.shape[-1] - 1)


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted
