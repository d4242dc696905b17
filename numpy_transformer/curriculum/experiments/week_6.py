"""Week 6: a one-layer attention model on two tasks whose right attention pattern is known:
reversing a sequence (query i must look at key T-1-i: the anti-diagonal) and, with a causal
mask, copying the previous token (query t must look at key t-1: the diagonal below the main
one). Prints the accuracy and the attention mass on the right key; plots both attention maps."""
import numpy as np

from ... import nn, optim
from ...random import manual_seed
from .common import print_table, pyplot

VOCAB, LENGTH, WIDTH = 10, 8, 32
IGNORE = -100


class AttentionModel(nn.Module):
    """ids [B, T] -> token embedding + learned position -> one self-attention layer (one head)
    -> Linear to the vocabulary: logits [B, T, V]. No residual path: every output must come
    through the attention, so the attention map says where it came from."""

    def __init__(self, causal):
        super().__init__()
        self.causal = causal
        self.embedding = nn.Embedding(VOCAB, WIDTH)
        self.position = nn.LearnedPositionalEncoding(LENGTH, WIDTH, dropout=0.0)
        self.attention = nn.MultiheadAttention(WIDTH, 1, batch_first=True)
        self.head = nn.Linear(WIDTH, VOCAB)
        self.weights = None

    def forward(self, ids):
        x = self.position(self.embedding(ids))                          # [B, T, D]
        T = ids.shape[1]
        mask = np.triu(np.ones((T, T), dtype=bool), 1) if self.causal else None  # True = hidden
        attended, self.weights = self.attention(x, x, x, attn_mask=mask, is_causal=self.causal)
        return self.head(attended)                                      # [B, T, V]

    def backward(self, d_logits):
        dq, dk, dv = self.attention.backward(self.head.backward(d_logits))
        self.embedding.backward(self.position.backward(dq + dk + dv))


def make_task(name, batch, rng):
    """(ids [B, T], targets [B, T], the key each query should attend to [T])."""
    ids = rng.integers(0, VOCAB, (batch, LENGTH))
    if name == "reverse":
        return ids, ids[:, ::-1].copy(), np.arange(LENGTH)[::-1]
    targets = np.full_like(ids, IGNORE)
    targets[:, 1:] = ids[:, :-1]                                        # copy the previous token
    return ids, targets, np.maximum(np.arange(LENGTH) - 1, 0)


def train(name, steps, log):
    manual_seed(0)
    model = AttentionModel(causal=(name == "previous token"))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    criterion = nn.CrossEntropyLoss(ignore_index=IGNORE)
    rng = np.random.default_rng(0)
    for step in range(1, steps + 1):
        ids, targets, _ = make_task(name, 64, rng)
        optimizer.zero_grad()
        logits = model(ids)
        loss = criterion(logits.reshape(-1, VOCAB), targets.reshape(-1))
        model.backward(criterion.backward().reshape(logits.shape))
        optimizer.step()
        if step % max(1, steps // 5) == 0:
            log(f"  {name}: step {step}, loss {float(loss):.4f}")
    ids, targets, right = make_task(name, 1000, np.random.default_rng(1))
    model.eval()
    from ...grad_mode import no_grad
    with no_grad():
        logits = model(ids)
    counted = targets != IGNORE
    accuracy = float((logits.argmax(-1) == targets)[counted].mean())
    weights = model.weights.mean(axis=0)                                # [T, T] averaged
    rows = np.arange(LENGTH)[1:] if name == "previous token" else np.arange(LENGTH)
    on_right = float(weights[rows, right[rows]].mean())
    argmax_right = float((model.weights[:, rows].argmax(-1) == right[rows]).mean())
    return model, accuracy, on_right, weights, argmax_right


def run(out, quick=False, data_dir=None, log=print) -> dict:
    steps = 30 if quick else 1500
    log(f"sequences of {LENGTH} random tokens out of {VOCAB}; embedding {WIDTH}, one head; "
        f"Adam lr 3e-3, {steps} steps of 64 sequences\n")
    results = {}
    for name in ("reverse", "previous token"):
        results[name] = train(name, steps, log)
    log("")
    print_table(["task", "mask", "token accuracy", "mean weight on the right key",
                 "right key has the largest weight"],
                [[name, "causal" if name == "previous token" else "none", f"{r[1]:.4f}",
                  f"{r[2]:.3f}", f"{r[4]:.3f}"] for name, r in results.items()], log)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    titles = {"reverse": "reverse: query i attends to key T-1-i",
              "previous token": "previous token, causal mask:\nquery t attends to key t-1"}
    for ax, (name, r) in zip(axes, results.items()):
        image = ax.imshow(r[3], cmap="viridis", vmin=0, vmax=1)
        ax.set(xlabel="key position j", ylabel="query position i", title=titles[name],
               xticks=range(LENGTH), yticks=range(LENGTH))
        if name == "previous token":
            for i in range(LENGTH):
                for j in range(i + 1, LENGTH):
                    ax.text(j, i, "x", ha="center", va="center", color="white", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight (mean over 1000 sequences)")
    fig.suptitle("Attention maps after training ('x': masked by the causal mask)")
    fig.savefig(out / "week_6_attention.png", dpi=110)
    plt.close(fig)
    path = str(out / "week_6_attention.png")
    log(f"\nplot: {path}")
    return {name: {"accuracy": r[1], "attention_on_right_key": r[2], "argmax_right": r[4]}
            for name, r in results.items()}
