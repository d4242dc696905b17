"""Vision Transformer ("An Image is Worth 16x16 Words", Dosovitskiy et al. 2021).

The image is cut into p x p patches; each patch becomes a token (a linear map of its pixels),
a learned class token is put in front (pool='cls'), learned positions are added, a pre-norm
Transformer encoder mixes the tokens, and a linear head reads the class token (or the mean
of the tokens, pool='mean'). With stem_channels > 0 it is the paper's hybrid: the patches are
cut from the feature map of a 3x3 convolution and the activation, not from the pixels.

Shapes: N images, C channels, image H x W, p patch size, P = (H/p)(W/p) patches,
T tokens (P + 1 with the class token, else P), E = dim.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..grad_mode import no_grad
from ..kernels import ops
from ..nn import init
from ..nn._checks import check_dim, check_float, check_ndim
from ..nn.module import Module
from ..nn.parameter import Parameter

__all__ = ["ViT", "ViTConfig", "PatchEmbedding", "ConvStem"]

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


@dataclass
class ViTConfig:
    """A ViT's shape; the defaults suit 28x28 MNIST (7x7 patches of 4x4 pixels)."""
    image_size: int = 28
    patch_size: int = 4
    in_channels: int = 1
    num_classes: int = 10
    dim: int = 96
    depth: int = 6
    heads: int = 4
    mlp_dim: int = 192
    dropout: float = 0.0
    emb_dropout: float = 0.0
    pool: str = "cls"            # 'cls': read the class token; 'mean': average the tokens
    activation: str = "gelu"
    stem_channels: int = 0       # > 0: the hybrid ViT, patches cut from a 3x3 convolution's
                                 # feature map with this many channels (then the activation)


def check_whole_patches(module, x, patch_size: int) -> None:
    """Raise, naming `module`, unless images [N, C, H, W] cut into whole p x p patches."""
    if x.shape[2] % patch_size or x.shape[3] % patch_size:
        raise ValueError(f"{module._describe()} needs height and width divisible by "
                         f"patch_size={patch_size}, got shape {tuple(x.shape)}")


class PatchEmbedding(Module):
    """[N, C, H, W] -> [N, P, E]: each p x p patch mapped to E features.

    The same as torch's Conv2d(C, E, kernel_size=p, stride=p) followed by flatten(2) and
    transpose(1, 2), with its parameters (weight [E, C, p, p], bias [E]); done as one GEMM on
    the patches laid out as rows."""

    def __init__(self, in_channels: int, dim: int, patch_size: int, dtype=None):
        super().__init__()
        self.in_channels, self.dim, self.patch_size = in_channels, dim, patch_size
        self.weight = Parameter(init.empty((dim, in_channels, patch_size, patch_size), dtype))
        self.bias = Parameter(init.empty(dim, dtype))
        init.default_uniform_(self.weight, self.bias)          # Conv2d's default

    def forward(self, x):
        check_float(self, x, dtype=self.weight.dtype)
        check_ndim(self, x, 4, what="[N, C, H, W]")
        check_dim(self, x, 1, self.in_channels, what="channels (dimension 1)")
        p = self.patch_size
        check_whole_patches(self, x, p)
        rows, patch_cache = ops.patches_forward(x, p)             # [N*P, C*p*p]
        return self._embed(rows, len(x), patch_cache)

    def embed_rows(self, rows, n_images: int):
        """Patch rows [N*P, C*p*p], cut elsewhere (ConvStem.patch_rows) -> [N, P, E]."""
        check_float(self, rows, "patch rows", self.weight.dtype)
        width = self.in_channels * self.patch_size ** 2
        if rows.ndim != 2 or rows.shape[1] != width or rows.shape[0] % n_images:
            raise ValueError(f"{self._describe()} expects patch rows [N*P, {width}] of "
                             f"{n_images} images, got shape {tuple(rows.shape)}")
        return self._embed(rows, n_images, None)

    def _embed(self, rows, n_images, patch_cache):
        """One GEMM: [N*P, C*p*p] @ [C*p*p, E] + bias -> [N, P, E]."""
        y, cache = ops.linear_forward(rows, self.weight.data.reshape(self.dim, -1), self.bias.data)
        y = y.reshape(n_images, -1, self.dim)
        self._push((cache, patch_cache), y)
        return y

    def backward(self, grad_output):
        """d_x [N, C, H, W] after forward, d_rows [N*P, C*p*p] after embed_rows (None with
        needs_input_grad=False); d_weight and d_bias summed over every patch of every image."""
        cache, patch_cache = self._pop(grad_output)
        d_rows, d_weight, d_bias = ops.linear_backward(grad_output.reshape(-1, self.dim), cache,
                                                       input_grad=self.needs_input_grad)
        self._accumulate(self.weight, d_weight)                  # [E, C*p*p] into [E, C, p, p]
        self._accumulate(self.bias, d_bias)
        if d_rows is None or patch_cache is None:
            return d_rows
        return ops.patches_backward(d_rows, patch_cache)

    def extra_repr(self):
        return f"in_channels={self.in_channels}, dim={self.dim}, patch_size={self.patch_size}"


class ConvStem(nn.Sequential):
    """The hybrid ViT's stem, Sequential(Conv2d(C, S, 3, padding=1), GELU() or ReLU()); its
    `patch_rows` is the feature map cut into patch rows, in one kernel (ops.conv_patches)."""

    def __init__(self, in_channels: int, channels: int, activation: str = "gelu", dtype=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"ConvStem: activation must be one of {list(ACTIVATIONS)}, got "
                             f"{activation!r}")
        super().__init__(nn.Conv2d(in_channels, channels, 3, padding=1, dtype=dtype),
                         ACTIVATIONS[activation]())
        self.activation = activation

    def patch_rows(self, x, patch_size: int):
        """[N, C, H, W] -> [N*P, S*p*p]: the p x p patches of activation(conv(x))."""
        conv = self[0]
        conv._check_input(x)
        check_ndim(self, x, 4, what="[N, C, H, W]")
        check_whole_patches(self, x, patch_size)
        self._check_layers()
        rows, cache = ops.conv_patches_forward(x, conv.weight.data, conv._bias(), patch_size,
                                               self.activation)
        self._push(cache, rows)
        return rows

    def patch_rows_backward(self, d_rows):
        """d_rows [N*P, S*p*p] -> d_x [N, C, H, W] (None without the conv's input gradient)."""
        conv = self[0]
        d_x, d_weight, d_bias = ops.conv_patches_backward(d_rows, self._pop(d_rows),
                                                          input_grad=conv.needs_input_grad)
        conv._accumulate(conv.weight, d_weight)
        conv._accumulate(conv.bias, d_bias)
        return d_x

    def _check_layers(self):
        """Raise if the layers were swapped for others than the ones patch_rows computes."""
        conv, act = self[0], self[-1]
        built = (len(self) == 2 and type(conv) is nn.Conv2d and conv.kernel_size == (3, 3)
                 and conv.padding == (1, 1) and conv.padding_mode == "zeros"
                 and conv.stride == conv.dilation == (1, 1) and conv.groups == 1
                 and type(act) is ACTIVATIONS[self.activation]
                 and getattr(act, "approximate", "none") == "none")
        if not built:
            raise ValueError(f"{self._describe()}.patch_rows computes Conv2d(3, padding=1) and "
                             f"{self.activation}, but its layers are now "
                             f"{', '.join(repr(m) for m in self)}: call the stem itself instead")

    def extra_repr(self):
        conv = self[0]
        return f"{conv.in_channels}, {conv.out_channels}, activation={self.activation!r}"


class ViT(Module):
    """Images [N, C, H, W] -> class logits [N, num_classes].

    `ViT(ViTConfig(...))` or `ViT(image_size=32, in_channels=3, ...)` (keywords override the
    config). Parameters: stem.0.{weight,bias} (stem_channels > 0), patch_embed.{weight,bias},
    cls_token [1, 1, E] (pool='cls'), pos_embedding [1, T, E], encoder.layers.<i>.* and
    encoder.norm.* (torch's TransformerEncoder, norm_first), head.{weight,bias}."""

    def __init__(self, config: ViTConfig = None, dtype=None, **overrides):
        super().__init__()
        config = dataclasses.replace(config or ViTConfig(), **overrides)
        _check_config(config)
        self.config = config
        E, side = config.dim, config.image_size // config.patch_size
        self.num_patches = side * side
        self.num_tokens = self.num_patches + (config.pool == "cls")
        if config.stem_channels:                       # [N, C, H, W] -> [N, stem_channels, H, W]
            self.stem = ConvStem(config.in_channels, config.stem_channels, config.activation, dtype)
        else:
            self.stem = None
        self.patch_embed = PatchEmbedding(config.stem_channels or config.in_channels, E,
                                          config.patch_size, dtype)
        if config.pool == "cls":
            self.cls_token = Parameter(init.empty((1, 1, E), dtype))
            init.trunc_normal_(self.cls_token, std=0.02, a=-0.04, b=0.04)
        else:
            self.register_parameter("cls_token", None)
        self.pos_embedding = Parameter(init.empty((1, self.num_tokens, E), dtype))
        init.trunc_normal_(self.pos_embedding, std=0.02, a=-0.04, b=0.04)
        self.emb_dropout = nn.Dropout(config.emb_dropout)
        layer = nn.TransformerEncoderLayer(E, config.heads, config.mlp_dim, config.dropout,
                                           config.activation, batch_first=True, norm_first=True,
                                           dtype=dtype)
        self.encoder = nn.TransformerEncoder(layer, config.depth, nn.LayerNorm(E, dtype=dtype))
        for param in self.encoder.parameters():   # the copies start alike: draw each layer anew
            if param.data.ndim > 1:
                init.xavier_uniform_(param)
        self.head = nn.Linear(E, config.num_classes, dtype=dtype)

    @property
    def _first_layer(self) -> Module:
        """The layer that reads the images: the stem's convolution, else the patch embedding."""
        return self.stem[0] if self.stem is not None else self.patch_embed

    @property
    def needs_input_grad(self) -> bool:
        """False (the images are data): backward skips the images' gradient and returns None."""
        return self._first_layer.needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value: bool):
        self._first_layer.needs_input_grad = value

    # ---- forward and backward ----
    def _check_input(self, x):
        c = self.config
        check_float(self, x, "image batch", self.pos_embedding.dtype)
        check_ndim(self, x, 4, "image batch", "[N, C, H, W]")
        if tuple(x.shape[1:]) != (c.in_channels, c.image_size, c.image_size):
            raise ValueError(f"{self._describe()} expects images [N, {c.in_channels}, "
                             f"{c.image_size}, {c.image_size}], got shape {tuple(x.shape)}")

    def _embed(self, x):
        """Patch tokens, class token in front, positions added, dropout: [N, T, E]."""
        tokens = self._patch_tokens(x)                                  # [N, P, E]
        if self.cls_token is not None:                                  # [N, 1 + P, E]
            cls = np.broadcast_to(self.cls_token.data, (x.shape[0], 1, self.config.dim))
            tokens = np.concatenate([cls, tokens], axis=1)
        return self.emb_dropout(tokens + self.pos_embedding.data)

    def _patch_tokens(self, x):
        """[N, C, H, W] -> [N, P, E]: the patches of the pixels, or of the stem's feature map."""
        if self.stem is None:
            return self.patch_embed(x)
        rows = self.stem.patch_rows(x, self.config.patch_size)          # [N*P, S*p*p]
        return self.patch_embed.embed_rows(rows, len(x))

    def forward(self, x):
        self._check_input(x)
        tokens = self._embed(x)                                         # [N, T, E]
        *blocks, last = self.encoder.layers      # block by block (not encoder.forward): see below
        for block in blocks:
            tokens = block(tokens)
        if self.cls_token is not None:                                  # read the class token
            pooled = self.encoder.norm(self._class_block(last, tokens))[:, 0]    # [N, E]
        else:                                                           # average the tokens
            pooled = self.encoder.norm(last(tokens)).mean(axis=1)       # [N, T, E] -> [N, E]
        logits = self.head(pooled)
        self._push(tokens.shape, logits)
        return logits

    def backward(self, grad_output):
        """d_images (None with needs_input_grad=False); the class token's and the positions'
        gradients are summed over the batch."""
        N, T, E = self._pop(grad_output)
        d_pooled = self.head.backward(grad_output)                      # [N, E]
        *blocks, last = self.encoder.layers
        if self.cls_token is not None:
            d_y = self.encoder.norm.backward(d_pooled[:, None])         # [N, 1, E]
            d_tokens = self._class_block_backward(last, d_y)
        else:                                                           # mean: 1/T to each token
            d_h = np.repeat(d_pooled[:, None] * (1.0 / T), T, axis=1)   # [N, T, E]
            d_tokens = last.backward(self.encoder.norm.backward(d_h))
        for block in reversed(blocks):
            d_tokens = block.backward(d_tokens)
        d_tokens = self.emb_dropout.backward(d_tokens)                  # [N, T, E]
        self._accumulate(self.pos_embedding, d_tokens.sum(axis=0, keepdims=True))
        if self.cls_token is not None:
            self._accumulate(self.cls_token, d_tokens[:, :1].sum(axis=0, keepdims=True))
            d_tokens = d_tokens[:, 1:]
        d_x = self.patch_embed.backward(d_tokens)          # d_rows under a stem
        if self.stem is None:
            return d_x
        if d_x is None:
            raise RuntimeError(f"{self._describe()}: patch_embed.needs_input_grad is False, so the "
                               "stem gets no gradient; set ViT.needs_input_grad instead")
        return self.stem.patch_rows_backward(d_x)

    # ---- the last block when only the class token is read ----
    # Its other T - 1 outputs are thrown away, so only the class token asks a query and only it
    # goes through the feed-forward block (keys and values still come from every token): the
    # same numbers as the whole block, with about a quarter of its work.
    @staticmethod
    def _class_block(layer, tokens):
        """[N, T, E] -> [N, 1, E]: `layer` (a norm_first encoder layer) at the class token."""
        h = layer.norm1(tokens)                                         # [N, T, E]
        attended = layer.self_attn(h[:, :1], h, h, need_weights=False)[0]   # [N, 1, E]
        x1 = tokens[:, :1] + layer.dropout1(attended)                   # x1 = x + sa(norm1(x))
        return x1 + layer._ff_block(layer.norm2(x1), layer.dropout2)    # y = x1 + ff(norm2(x1))

    @staticmethod
    def _class_block_backward(layer, grad):
        """[N, 1, E] -> d_tokens [N, T, E]: h fed the keys and values, its row 0 also the query."""
        d_x1 = grad + layer.norm2.backward(layer._ff_block_backward(grad, layer.dropout2))
        d_query, d_h = layer.self_attn.backward(layer.dropout1.backward(d_x1), merge_shared=True)
        d_h[:, :1] += d_query                                           # row 0 also asked
        d_tokens = layer.norm1.backward(d_h)
        d_tokens[:, :1] += d_x1                                         # the residual path
        return d_tokens

    # ---- looking inside ----
    def attention_maps(self, x):
        """Per-head attention weights of every layer, [N, depth, heads, T, T] (rows: queries).

        A separate forward in eval mode under no_grad that asks each layer's self-attention for
        its weights (training's forward never computes them)."""
        self._check_input(x)
        was_training = self.training
        self.eval()
        maps = []
        try:
            with no_grad():
                tokens = self._embed(x)
                for layer in self.encoder.layers:                       # norm_first blocks
                    h = layer.norm1(tokens)
                    attended, weights = layer.self_attn(h, h, h, need_weights=True,
                                                        average_attn_weights=False)
                    tokens = tokens + attended
                    tokens = tokens + layer._ff_block(layer.norm2(tokens), layer.dropout2)
                    maps.append(weights)                                # [N, heads, T, T]
        finally:
            self.train(was_training)
        return np.stack(maps, axis=1)

    def extra_repr(self):
        c = self.config
        return (f"image_size={c.image_size}, patch_size={c.patch_size}, "
                f"in_channels={c.in_channels}, dim={c.dim}, depth={c.depth}, heads={c.heads}, "
                f"pool={c.pool!r}")


def _check_config(config: ViTConfig) -> None:
    if config.image_size % config.patch_size:
        raise ValueError(f"ViT: image_size={config.image_size} is not divisible by "
                         f"patch_size={config.patch_size}")
    if config.activation not in ACTIVATIONS:
        raise ValueError(f"ViT: activation must be 'gelu' or 'relu', got {config.activation!r}")
    if config.stem_channels < 0:
        raise ValueError(f"ViT: stem_channels must be 0 (no stem) or more, got "
                         f"{config.stem_channels}")
    if config.pool not in ("cls", "mean"):
        raise ValueError(f"ViT: pool must be 'cls' or 'mean', got {config.pool!r}")
    if config.depth < 1:
        raise ValueError(f"ViT: depth must be at least 1, got {config.depth}")
    if config.dim % config.heads:
        raise ValueError(f"ViT: dim={config.dim} is not divisible by heads={config.heads}")
