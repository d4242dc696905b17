"""Where a Vision Transformer looks: per-head attention over the patches as heat maps on the image.

Maps come from `model.attention_maps(images)`, [N, layers, heads, T, T] (rows: queries). With a
class token (pool='cls') a head's map is the class token's row over the patches; with mean
pooling, the attention each patch receives averaged over all queries. The last column is the
attention rollout (Abnar & Zuidema 2020): every layer's head-averaged weights, with the residual
path as 0.5 * identity, multiplied through the layers.
"""
import numpy as np

__all__ = ["patch_attention", "attention_rollout", "plot_image_attention"]


def _read_out(weights, has_cls: bool):
    """[..., T, T] -> [..., P]: the class token's row over the patches, or the mean over queries."""
    return weights[..., 0, 1:] if has_cls else weights.mean(axis=-2)


def patch_attention(maps, has_cls: bool, layer: int = -1):
    """[N, layers, heads, T, T] -> [N, heads, P]: each head's attention over the patches."""
    return _read_out(maps[:, layer], has_cls)


def attention_rollout(maps, has_cls: bool):
    """[N, layers, heads, T, T] -> [N, P]: attention flowing from the read-out to each patch."""
    mixed = 0.5 * maps.mean(axis=2) + 0.5 * np.eye(maps.shape[-1], dtype=maps.dtype)  # [N, L, T, T]
    mixed /= mixed.sum(axis=-1, keepdims=True)
    rollout = mixed[:, 0]
    for layer in range(1, mixed.shape[1]):
        rollout = mixed[:, layer] @ rollout                   # later layers read earlier tokens
    return _read_out(rollout, has_cls)


def _display(image):
    """[C, H, W] -> something imshow draws: [H, W] grey or [H, W, 3] colour, scaled to 0..1."""
    image = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low or 1.0)


def plot_image_attention(model, images, labels, out="attention.png", class_names=None):
    """A PNG grid: per image (a row) the image, each head's last-layer map, and the rollout.

    `images` [N, C, H, W] as the model takes them, `labels` [N] (or None). Returns `out`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..grad_mode import no_grad

    config = model.config
    has_cls = config.pool == "cls"
    maps = model.attention_maps(images)                         # [N, L, heads, T, T]
    was_training = model.training
    model.eval()
    with no_grad():
        predicted = model(images).argmax(-1)
    model.train(was_training)
    side = config.image_size // config.patch_size
    heads = patch_attention(maps, has_cls).reshape(len(images), -1, side, side)
    rollout = attention_rollout(maps, has_cls).reshape(len(images), side, side)
    name = (lambda k: class_names[k]) if class_names else str
    columns = heads.shape[1] + 2
    fig, axes = plt.subplots(len(images), columns, figsize=(1.6 * columns, 1.7 * len(images)),
                             squeeze=False)
    H, W = images.shape[-2:]
    for row, image in enumerate(images):
        shown = _display(image)
        cmap = "gray" if shown.ndim == 2 else None
        title = f"pred {name(int(predicted[row]))}"
        if labels is not None:
            title = f"label {name(int(labels[row]))}, {title}"
        panels = [(None, title)] + [(heads[row, h], f"head {h + 1}") for h in range(heads.shape[1])]
        panels.append((rollout[row], "rollout"))
        for ax, (heat, caption) in zip(axes[row], panels):
            ax.imshow(shown, cmap=cmap)
            if heat is not None:                            # patch grid stretched over the image
                ax.imshow(heat, cmap="inferno", alpha=0.6, interpolation="bilinear",
                          extent=(-0.5, W - 0.5, H - 0.5, -0.5))
            ax.set_title(caption, fontsize=8)
            ax.axis("off")
    where = "class token" if has_cls else "mean over queries"
    fig.suptitle(f"last-layer attention per head ({where}) and rollout over all layers", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
