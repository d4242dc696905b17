"""Loss and metric curves from a training log, as one PNG."""
from ..io.jsonl import read_jsonl as read_log


def plot_log(log_path, png_path, title: str = None) -> None:
    """One panel per metric (loss, accuracy, ...), train and eval curves against the step."""
    records = read_log(log_path)
    metrics = [m for m in ("loss", "accuracy", "perplexity")
               if any(m in r for r in records)]
    metrics += sorted({k for r in records for k in r if k.endswith("_loss") and k not in metrics})
    if not metrics:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for split, style in (("train", "-"), ("eval", "o-")):
            points = [(r["step"], r[metric]) for r in records if r.get("split") == split and metric in r]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, style, label=split, markersize=3)
        ax.set_xlabel("step")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
