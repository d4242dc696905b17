"""Week 6: attention: the causal mask, scaled dot-product attention and a multi-head
self-attention module, against PyTorch."""
import math

import numpy as np

from ..grading import Case, CheckFailure, FunctionCheck, Mistake, ModuleCheck, PairCheck
from ._inputs import normal


def _torch():
    import torch
    return torch


# ---- the causal mask ----
def _mask_checks(ns) -> str:
    fn = ns["causal_mask"]
    for L in (1, 4, 6):
        case = f"causal_mask({L})"
        got = np.asarray(fn(L))
        expected = np.tril(np.ones((L, L), dtype=bool))
        if got.shape != expected.shape:
            raise CheckFailure("causal_mask, output", f"shape {got.shape}, expected {expected.shape}",
                               case, "one row per query i, one column per key j: [L, L]")
        if got.dtype != np.bool_:
            raise CheckFailure("causal_mask, output", f"dtype {got.dtype}, expected bool", case,
                               "return booleans: True where query i may attend to key j")
        if np.array_equal(got, ~expected):
            hint = ("True means 'may attend' here (PyTorch's scaled_dot_product_attention "
                    "convention), so the mask is the lower triangle np.tril, not the upper one")
        elif np.array_equal(got, np.tril(np.ones((L, L), dtype=bool), -1)):
            hint = "a query may attend to its own position too: keep the diagonal (np.tril(..., k=0))"
        elif np.array_equal(got, np.triu(np.ones((L, L), dtype=bool))):
            hint = "that lets each query see the FUTURE keys j >= i; causal is j <= i: np.tril"
        else:
            hint = "mask[i, j] = True when j <= i: np.tril(np.ones((L, L), dtype=bool))"
        if not np.array_equal(got, expected):
            raise CheckFailure("causal_mask, output", f"got {got.astype(int).tolist()}, expected "
                               f"{expected.astype(int).tolist()}", case, hint)
    return "3 sizes"


CAUSAL_MASK = FunctionCheck("causal_mask", ("causal_mask",), _mask_checks)


# ---- scaled dot-product attention ----
def _sdpa_cases():
    mask = np.array([[True, False, True, True], [True, True, False, False],
                     [False, True, True, True]])
    return [Case("one sequence, L = S = 4, E = 3", (normal((4, 3), 140), normal((4, 3), 141),
                                                    normal((4, 2), 142))),
            Case("batch and heads [2, 2, 5, 4]", (normal((2, 2, 5, 4), 143), normal((2, 2, 5, 4), 144),
                                                  normal((2, 2, 5, 4), 145))),
            Case("cross-attention: 3 queries, 5 keys", (normal((2, 3, 4), 146), normal((2, 5, 4), 147),
                                                        normal((2, 5, 3), 148))),
            Case("is_causal=True", (normal((2, 4, 3), 149), normal((2, 4, 3), 150),
                                    normal((2, 4, 3), 151)), {"is_causal": True}),
            Case("a boolean attn_mask [3, 4] (True = may attend)",
                 (normal((1, 3, 5), 152), normal((1, 4, 5), 153), normal((1, 4, 2), 154)),
                 {"attn_mask": mask}),
            Case("float32", (normal((2, 3, 4), 155), normal((2, 3, 4), 156), normal((2, 3, 4), 157)),
                 dtype=np.float32)]


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _masked_scores(q, k, scale, attn_mask, is_causal, diagonal=0):
    scores = q @ k.swapaxes(-1, -2) * scale
    L, S = scores.shape[-2:]
    if is_causal:
        scores = np.where(np.tri(L, S, diagonal, dtype=bool), scores, -np.inf)
    if attn_mask is not None:
        scores = np.where(attn_mask, scores, -np.inf)
    return scores


def _sdpa_unscaled(q, k, v, dout, attn_mask=None, is_causal=False):
    return _softmax(_masked_scores(q, k, 1.0, attn_mask, is_causal)) @ v


def _sdpa_wrong_axis(q, k, v, dout, attn_mask=None, is_causal=False):
    return _softmax(_masked_scores(q, k, 1 / math.sqrt(q.shape[-1]), attn_mask, is_causal), -2) @ v


def _sdpa_causal_shifted(diagonal):
    def wrong(q, k, v, dout, attn_mask=None, is_causal=False):
        if not is_causal:
            return None
        with np.errstate(invalid="ignore"):
            scores = _masked_scores(q, k, 1 / math.sqrt(q.shape[-1]), attn_mask, True, diagonal)
            return _softmax(scores) @ v
    return wrong


def _sdpa_dq_diagonal_softmax(q, k, v, dout, attn_mask=None, is_causal=False):
    scale = 1 / math.sqrt(q.shape[-1])
    P = _softmax(_masked_scores(q, k, scale, attn_mask, is_causal))
    dP = dout @ v.swapaxes(-1, -2)
    return (P * (1 - P) * dP) @ k * scale


def _sdpa_dq_unscaled(q, k, v, dout, attn_mask=None, is_causal=False):
    scale = 1 / math.sqrt(q.shape[-1])
    P = _softmax(_masked_scores(q, k, scale, attn_mask, is_causal))
    dP = dout @ v.swapaxes(-1, -2)
    dS = P * (dP - (dP * P).sum(-1, keepdims=True))
    return dS @ k


SDPA = PairCheck(
    "scaled_dot_product_attention", "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward", ("query", "key", "value"),
    ("dquery", "dkey", "dvalue"),
    lambda q, k, v, attn_mask=None, is_causal=False:
        _torch().nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                                            is_causal=is_causal),
    _sdpa_cases,
    hints={"output": "scores = q @ k^T / sqrt(E) [.., L, S]; masked scores are -inf; "
                     "P = softmax(scores) over the keys (last axis); out = P @ v",
           "dvalue": "dvalue = P^T @ dout (swap the last two axes of P)",
           "dquery": "dP = dout @ v^T; dS = P * (dP - sum(dP * P, last axis)) (the softmax "
                     "Jacobian); dquery = dS @ k * scale",
           "dkey": "dkey = dS^T @ q * scale, with dS the gradient of the scores"},
    mistakes=[Mistake("output", _sdpa_unscaled,
                      "the scores are q k^T divided by sqrt(E) (E = the last dimension of q): "
                      "without it, large E saturates the softmax"),
              Mistake("output", _sdpa_wrong_axis,
                      "the softmax runs over the keys, the LAST axis of the scores [.., L, S]: each "
                      "query's weights sum to 1"),
              Mistake("output", _sdpa_causal_shifted(-1),
                      "the causal mask must let query i see key i itself: keep the diagonal "
                      "(np.tril with k=0); without it the first query sees nothing at all"),
              Mistake("output", _sdpa_causal_shifted(1),
                      "the causal mask lets query i see key i + 1, one step into the future: "
                      "keys j <= i only (np.tril with k=0)"),
              Mistake("dquery", _sdpa_dq_diagonal_softmax,
                      "you used only the diagonal of the softmax Jacobian (P * (1 - P) * dP): "
                      "dS = P * (dP - sum(dP * P, axis=-1, keepdims=True))"),
              Mistake("dquery", _sdpa_dq_unscaled,
                      "the scores were scaled by 1/sqrt(E), so dquery (and dkey) carry that "
                      "factor too")])


# ---- multi-head self-attention ----
def _mha_twin(case):
    torch = _torch()

    class SelfAttention(torch.nn.MultiheadAttention):
        def forward(self, x, is_causal=False):
            mask = None
            if is_causal:
                T = x.shape[1]
                mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)   # True = masked here
            return super().forward(x, x, x, need_weights=False, attn_mask=mask)[0]
    return SelfAttention(6, _heads(case), batch_first=True)


def _heads(case):
    return 1 if "one head" in case.label else 2


MHA = ModuleCheck(
    "MultiheadAttention", "MultiheadAttention",
    build=lambda cls, case: cls(6, _heads(case)),
    twin=_mha_twin,
    cases=lambda: [Case("2 heads, a batch [2, 4, 6]", (normal((2, 4, 6), 158),)),
                   Case("2 heads, causal", (normal((2, 5, 6), 159),), {"is_causal": True}),
                   Case("one head", (normal((1, 3, 6), 160),)),
                   Case("float32, 2 heads", (normal((2, 3, 6), 161),), dtype=np.float32)],
    hints={"output": "q, k, v = the three row blocks of x @ in_proj_weight.T + in_proj_bias; split "
                     "E into num_heads heads of E // num_heads ([N, T, E] -> [N, H, T, D]); "
                     "attention per head; merge the heads back to [N, T, E]; then out_proj",
           "input": "x was used three times (as query, key and value): dx = dq + dk + dv, each "
                    "through its block of in_proj_weight",
           "params": "in_proj_weight.grad gets the three blocks [dWq; dWk; dWv] stacked like the "
                     "weight; call self.out_proj.backward first"},
    uses=("scaled_dot_product_attention_forward", "scaled_dot_product_attention_backward"))

CHECKS = [CAUSAL_MASK, SDPA, MHA]
