"""Attention maps with tokens on the axes: one panel per head, one row per layer and kind."""
from pathlib import Path

import numpy as np

__all__ = ["plot_attention_grid", "plot_translation_attention"]


def plot_attention_grid(rows, path, title=None):
    """rows: (label, weights [H, Lq, Lk], query tokens [Lq], key tokens [Lk]) -> PNG at `path`.

    Panel (r, h) shows head h of row r: queries down, keys across, brighter = more weight.
    Query tokens are written on the first panel of each row (a row shares its queries)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    heads = max(w.shape[0] for _, w, _, _ in rows)
    longest = max(max(w.shape[1:]) for _, w, _, _ in rows)
    panel, margin, gap = 1.0 + 0.16 * longest, 1.1, 0.25 + 0.07 * longest   # inches
    width = margin + heads * (panel + 0.15)
    height = 1.0 + len(rows) * (panel + gap)
    fig, axes = plt.subplots(len(rows), heads, figsize=(width, height), squeeze=False)
    for r, (label, weights, queries, keys) in enumerate(rows):
        for h in range(heads):
            ax = axes[r, h]
            if h >= weights.shape[0]:
                ax.axis("off")
                continue
            ax.imshow(weights[h], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto",
                      interpolation="nearest")
            ax.set_xticks(range(len(keys)), keys, rotation=90, fontsize=7)
            ax.set_yticks(range(len(queries)), queries if h == 0 else [], fontsize=7)
            ax.set_title(f"{label}, head {h}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.2 / height)
    fig.subplots_adjust(left=margin / width, right=1 - 0.1 / width, bottom=gap / height,
                        top=1 - 0.9 / height, hspace=gap / panel, wspace=0.15 / panel)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return str(path)


def _paths(out, count):
    """One PNG per sentence: `out` itself for one (a folder gets attention.png), numbered else."""
    out = Path(out)
    if out.is_dir() or not out.suffix:
        return [out / (f"attention_{i}.png" if count > 1 else "attention.png") for i in range(count)]
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(count)]


def plot_translation_attention(task, sources, out):
    """For each source sentence: translate greedily, then plot encoder self-attention, masked
    decoder self-attention and cross-attention, every layer and head. Returns the PNG paths.

    Decoder rows are labelled by the token each position predicts; its keys by the tokens
    fed in (BOS and the translation so far)."""
    model, src_tok, tgt_tok = task.model, task.src_tokenizer, task.tgt_tokenizer
    paths = _paths(out, len(sources))
    for source, path in zip(sources, paths):
        src = np.asarray([src_tok.encode(source)[:model.config.max_len - 1] or
                          [src_tok.special_tokens["[UNK]"]]], dtype=np.int64)
        # at most 2 S + 10 tokens: a plot of a runaway (untrained) output is unreadable anyway
        output = task.translate_ids(src, max_steps=2 * src.shape[1] + 10)[0]
        tgt_in = np.asarray([[task.bos_id] + output], dtype=np.int64)
        maps = model.attention_maps(src, tgt_in)
        src_tokens = [src_tok.id_to_token(int(i)) for i in src[0]]
        fed = [tgt_tok.id_to_token(int(i)) for i in tgt_in[0]]
        predicted = fed[1:] + [tgt_tok.id_to_token(task.eos_id)]
        rows = [(f"encoder {i}", w[0], src_tokens, src_tokens) for i, w in enumerate(maps["encoder"])]
        rows += [(f"decoder self {i}", w[0], predicted, fed) for i, w in enumerate(maps["decoder"])]
        rows += [(f"cross {i}", w[0], predicted, src_tokens) for i, w in enumerate(maps["cross"])]
        plot_attention_grid(rows, path, title=f"{source}  ->  {tgt_tok.decode(output, skip_special_tokens=True)}")
    return [str(p) for p in paths]
