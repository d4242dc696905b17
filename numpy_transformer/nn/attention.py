"""MultiheadAttention as torch.nn.MultiheadAttention; every head in one batched matmul.

Shapes: N batch, L query length, S key length, E embed_dim, H num_heads, D = E // H.
Inputs are [L, N, E] (or [N, L, E] with batch_first, or unbatched [L, E]); inside, the
heads are strided views [N, H, L, D] of the projections, never copies.
"""
import numpy as np

from ..kernels import ops
from . import init
from ._checks import check_float
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


def split_heads(y, embed_dim, num_heads, batch_first):
    """Contiguous y [N, L, c*E] (or [L, N, c*E]) -> c views [N, H, L, D] of it (no copies)."""
    *lead, width = y.shape
    chunks = width // embed_dim
    y5 = y.reshape(*lead, chunks, num_heads, embed_dim // num_heads)  # [N, L, c, H, D]
    order = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)             # -> [N, H, L, D]
    return [y5[..., i, :, :].transpose(order) for i in range(chunks)]


def _additive(mask, dtype):
    """torch's MHA convention to a float mask to add: bool True (not allowed) -> -inf."""
    if mask.dtype == np.bool_:
        return np.where(mask, dtype.type(-np.inf), dtype.type(0))
    return mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """softmax(q k^T / sqrt(D) + mask) v over H heads, then out_proj; torch's parameters and masks.

    Masks follow torch's MHA convention: bool True = NOT allowed (key_padding_mask: padding),
    float = added to the scores. forward returns (attn_output, attn_weights or None);
    backward(grad_output) returns (d_query, d_key, d_value)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int = None,
                 vdim: int = None, batch_first: bool = False, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention needs embed_dim and num_heads > 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                             f"num_heads={num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                                      "implemented")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(init.empty((3 * E, E), dtype))   # rows: q, k, v
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(init.empty((E, E), dtype))
            self.k_proj_weight = Parameter(init.empty((E, self.kdim), dtype))
            self.v_proj_weight = Parameter(init.empty((E, self.vdim), dtype))
        self.register_parameter("in_proj_bias", Parameter(init.empty(3 * E, dtype)) if bias else None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's: xavier_uniform_ in-projections, zero biases (out_proj.weight keeps Linear's)."""
        weights = ([self.in_proj_weight] if self._qkv_same_embed_dim else
                   [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight])
        for weight in weights:
            init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    # ---- checks ----
    def _check(self, query, key, value, key_padding_mask, attn_mask):
        """Raise at the mistake; returns (batched, N, L, S)."""
        dtype = self.out_proj.weight.dtype
        for name, x in (("query", query), ("key", key), ("value", value)):
            check_float(self, x, name, dtype)
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{self._describe()} expects query, key and value all 3-D (batched) or "
                             f"all 2-D (unbatched), got shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")
        for name, x, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if x.shape[-1] != size:
                raise ValueError(f"{self._describe()} expects {name} with last dimension {size}, "
                                 f"got shape {tuple(x.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{self._describe()} needs key and value of the same length and batch, "
                             f"got shapes {tuple(key.shape)} and {tuple(value.shape)}")
        batched = query.ndim == 3
        seq, batch = (1, 0) if self.batch_first else (0, 1)
        if not batched:
            seq, batch = 0, None
        L, S = query.shape[seq], key.shape[seq]
        N = query.shape[batch] if batched else 1
        if batched and key.shape[batch] != N:
            raise ValueError(f"{self._describe()} got query {tuple(query.shape)} and key "
                             f"{tuple(key.shape)} with different batch sizes "
                             f"(batch_first={self.batch_first})")
        if key_padding_mask is not None:
            self._check_mask_dtype(key_padding_mask, "key_padding_mask")
            want = (N, S) if batched else (S,)
            if tuple(key_padding_mask.shape) != want:
                raise ValueError(f"{self._describe()} expects key_padding_mask of shape {want} "
                                 f"([N, S]), got shape {tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            self._check_mask_dtype(attn_mask, "attn_mask")
            heads = N * self.num_heads if batched else self.num_heads
            shapes = {2: (L, S), 3: (heads, L, S)}
            if tuple(attn_mask.shape) != shapes.get(attn_mask.ndim):
                raise ValueError(f"{self._describe()} expects attn_mask of shape {shapes[2]} "
                                 f"([L, S]) or {shapes[3]} ([N*num_heads, L, S]), got shape "
                                 f"{tuple(attn_mask.shape)}")
        return batched, N, L, S

    def _check_mask_dtype(self, mask, name):
        if not hasattr(mask, "dtype") or not (mask.dtype == np.bool_ or
                                              np.issubdtype(mask.dtype, np.floating)):
            raise TypeError(f"{self._describe()} supports only bool and floating {name}, got "
                            f"{getattr(mask, 'dtype', type(mask).__name__)}")

    def _merged_mask(self, attn_mask, key_padding_mask, N, L, S, dtype):
        """One float mask to add to the scores, broadcastable to [N, H, L, S] (or None)."""
        merged = None
        if attn_mask is not None:
            merged = _additive(attn_mask, dtype)                           # [L, S]
            if merged.ndim == 3:
                merged = merged.reshape(N, self.num_heads, L, S)           # [N*H, L, S] -> [N, H, L, S]
        if key_padding_mask is not None:
            padding = _additive(key_padding_mask, dtype).reshape(N, 1, 1, S)
            merged = padding if merged is None else merged + padding
        return merged

    # ---- projections ----
    def _projection_groups(self, query, key, value, shared):
        """(input, weight Parameter, weight rows, bias rows) per GEMM: one for self-attention."""
        E = self.embed_dim
        if not self._qkv_same_embed_dim:
            whole = slice(None)
            return [(query, self.q_proj_weight, whole, slice(0, E)),
                    (key, self.k_proj_weight, whole, slice(E, 2 * E)),
                    (value, self.v_proj_weight, whole, slice(2 * E, 3 * E))]
        W = self.in_proj_weight
        if shared == "qkv":                                   # self-attention: x [.., E] -> [.., 3E]
            rows = [(query, slice(0, 3 * E))]
        elif shared == "kv":                                  # cross-attention: memory -> [.., 2E]
            rows = [(query, slice(0, E)), (key, slice(E, 3 * E))]
        else:
            rows = [(query, slice(0, E)), (key, slice(E, 2 * E)), (value, slice(2 * E, 3 * E))]
        return [(x, W, r, r) for x, r in rows]

    def _project(self, groups):
        """(outputs, caches): y = x W[rows]^T + b[rows] per group, [.., rows], one GEMM each."""
        outputs, caches = [], []
        for x, weight, w_rows, b_rows in groups:
            bias = None if self.in_proj_bias is None else self.in_proj_bias.data[b_rows]
            y, cache = ops.linear_forward(x, weight.data[w_rows], bias)
            outputs.append(y)
            caches.append(cache)
        return outputs, caches

    # ---- forward and backward ----
    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        shared = "qkv" if query is key and key is value else "kv" if key is value else None
        batched, N, L, S = self._check(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise ValueError(f"{self._describe()}: is_causal is a hint that attn_mask is causal; "
                             "give attn_mask too (Transformer.generate_square_subsequent_mask(L))")
        if not batched:                                      # [L, E] -> a batch of one, batch first
            query, key, value = query[None], key[None], value[None]
        batch_first = self.batch_first or not batched
        mask = self._merged_mask(attn_mask, key_padding_mask, N, L, S, query.dtype)

        groups = self._projection_groups(query, key, value, shared)
        projected, linear_caches = self._project(groups)     # q, k, v inside, [.., E] each
        q, k, v = [h for y in projected for h in split_heads(y, self.embed_dim, self.num_heads,
                                                              batch_first)]   # [N, H, L|S, D]
        attended = np.empty_like(query, shape=query.shape[:-1] + (self.embed_dim,))  # [.., E]
        (heads_out,) = split_heads(attended, self.embed_dim, self.num_heads, batch_first)
        p = self.dropout if self.training else 0.0
        _, cache = ops.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask, dropout_p=p,
                                                          out=heads_out)
        output = self.out_proj(attended.reshape(-1, self.embed_dim)).reshape(attended.shape)

        weights = None
        if need_weights:                                      # torch returns them after dropout
            weights = cache.dropped_weights                   # [N, H, L, S]
            weights = weights.mean(axis=1) if average_attn_weights else weights.copy()
        if not batched:
            output = output[0]
            weights = None if weights is None else weights[0]
        self._push((cache, groups, linear_caches, [y.shape for y in projected], batched,
                    batch_first, shared), output)
        return output, weights

    def backward(self, grad_output, merge_shared: bool = False):
        """(d_query, d_key, d_value); a caller that passed one array as several sums them.

        With `merge_shared`, one gradient per distinct input array instead: (d_x,) for
        self-attention (x as query, key and value), (d_query, d_memory) where memory was key and
        value; with packed weights each in one product dy W[rows], as PyTorch's."""
        cache, groups, linear_caches, shapes, batched, batch_first, shared = self._pop(grad_output)
        if not batched:
            grad_output = grad_output[None]
        E, H = self.embed_dim, self.num_heads
        d_attended = self.out_proj.backward(grad_output.reshape(-1, E)).reshape(grad_output.shape)
        (d_heads_out,) = split_heads(d_attended, E, H, batch_first)
        d_projected = [np.empty_like(d_attended, shape=shape) for shape in shapes]
        dq, dk, dv = [h for d in d_projected for h in split_heads(d, E, H, batch_first)]
        ops.scaled_dot_product_attention_backward(d_heads_out, cache, out=(dq, dk, dv))

        grads = []
        for (x, weight, w_rows, b_rows), linear_cache, dy in zip(groups, linear_caches, d_projected):
            dx, dweight, dbias = ops.linear_backward(dy, linear_cache, input_grad=merge_shared)
            self._accumulate(weight, dweight, index=w_rows)
            self._accumulate(self.in_proj_bias, dbias, index=b_rows)
            if merge_shared:
                grads.append(dx)                     # [.., in]: one product over all the rows
                continue
            # dx = dy W[rows], one product per q/k/v chunk of the rows: [c, N*L, in]
            chunks, n_in = dy.shape[-1] // E, x.shape[-1]
            W = weight.data[w_rows].reshape(chunks, E, n_in)
            dx = np.matmul(dy.reshape(-1, chunks, E).transpose(1, 0, 2), W)
            grads.extend(d.reshape(x.shape) for d in dx)
        if merge_shared and len(grads) == 3 and shared:        # separate projections of one array
            grads = [sum(grads)] if shared == "qkv" else [grads[0], grads[1] + grads[2]]
        if not batched:
            grads = [g[0] for g in grads]
        return tuple(grads)

    def extra_repr(self):
        extra = ""
        if not self._qkv_same_embed_dim:
            extra += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.batch_first:
            extra += ", batch_first=True"
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{extra}"
