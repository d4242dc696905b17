"""RNNLanguageModel: Embedding -> RNN/LSTM/GRU -> Linear, predicting the next token everywhere.

    B: batch, T: time steps, E: embed_dim, H: hidden_size, V: vocab_size

The layout of PyTorch's word_language_model example: one Dropout module applied to the
embeddings and to the recurrent output, the recurrent layer's own dropout between its layers,
and optionally the output layer sharing the embedding matrix (tie_weights, Press & Wolf 2017).
"""
import numpy as np

from .. import nn
from ..device import to_device, to_host
from ..grad_mode import no_grad
from ..nn import init
from ..nn._checks import check_int, check_ndim

__all__ = ["RNNLanguageModel"]

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNLanguageModel(nn.Module):
    """ids [B, T] -> (logits [B, T, V], final state); state is h_n [L, B, H] (rnn, gru) or
    (h_n, c_n) (lstm), and may be passed back in to go on from where a call stopped.

    backward(grad_logits) backpropagates through time into every parameter; the gradient of a
    given initial state is not returned (truncated backpropagation through time)."""

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0,
                 tie_weights: bool = False, dtype=None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"RNNLanguageModel: cell must be one of {sorted(CELLS)}, got {cell!r}")
        if tie_weights and hidden_size != embed_dim:
            raise ValueError(f"RNNLanguageModel: tie_weights needs hidden_size == embed_dim (the "
                             f"output layer reuses the [V, E] embedding), got hidden_size="
                             f"{hidden_size} and embed_dim={embed_dim}")
        self.vocab_size, self.embed_dim, self.hidden_size = vocab_size, embed_dim, hidden_size
        self.num_layers, self.cell, self.tie_weights = num_layers, cell, tie_weights
        self.embedding = nn.Embedding(vocab_size, embed_dim, dtype=dtype)
        self.drop = nn.Dropout(dropout)
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0, dtype=dtype)
        self.decoder = nn.Linear(hidden_size, vocab_size, dtype=dtype)
        self.init_weights()
        if tie_weights:
            self.decoder.weight = self.embedding.weight      # one Parameter, two users

    def init_weights(self, scale: float = 0.1) -> None:
        """The example's init: embedding and output weights U(-0.1, 0.1), output bias 0 (the
        recurrent layer keeps PyTorch's U(-1/sqrt(H), 1/sqrt(H)))."""
        init.uniform_(self.embedding.weight, -scale, scale)
        init.zeros_(self.decoder.bias)
        if not self.tie_weights:
            init.uniform_(self.decoder.weight, -scale, scale)

    def forward(self, ids, state=None):
        check_int(self, ids, "ids")
        check_ndim(self, ids, 2, "ids", "[B, T]")
        given_state = state is not None
        x = self.drop(self.embedding(ids))                   # [B, T] -> [B, T, E]
        output, state = self.rnn(x, state)                   # [B, T, E] -> [B, T, H]
        logits = self.decoder(self.drop(output))             # [B, T, H] -> [B, T, V]
        self._push(given_state, logits)
        return logits, state

    def backward(self, grad_logits):
        """d loss / d logits [B, T, V] -> None (ids have no gradient); fills every .grad."""
        had_state = self._pop(grad_logits)
        d_output = self.drop.backward(self.decoder.backward(grad_logits))    # [B, T, H]
        d_x = self.rnn.backward(d_output)                                    # [B, T, E]
        if had_state:
            d_x = d_x[0]                                     # drop d(initial state)
        self.embedding.backward(self.drop.backward(d_x))
        return None

    def generate(self, ids, max_new_tokens: int, temperature: float = 1.0, top_k=None,
                 top_p=None, generator=None, banned=(), on_token=None) -> np.ndarray:
        """Sample `max_new_tokens` after the prompts `ids` [B, T] (T >= 1), one step at a time
        carrying the recurrent state: returns the new ids [B, max_new_tokens].

        `banned` ids are never drawn; on_token(next_ids [B]) is called after each step."""
        from .sampling import sample
        was_training = self.training
        self.eval()
        new, device = [], self.device
        ids = to_host(ids)                                   # ids on the host, calls on device
        with no_grad():
            logits, state = self(to_device(ids, device))     # read the whole prompt once
            for step in range(max_new_tokens):
                last = logits[:, -1]                         # [B, V]
                if len(banned):
                    last = to_host(last)                     # sampled on the host anyway
                    last[:, list(banned)] = -np.inf
                next_ids = sample(last, temperature, top_k, top_p, generator)   # [B]
                new.append(next_ids)
                if on_token is not None:
                    on_token(next_ids)
                if step + 1 < max_new_tokens:
                    logits, state = self(to_device(next_ids[:, None].astype(ids.dtype), device),
                                         state)
        self.train(was_training)
        return np.stack(new, axis=1) if new else np.zeros_like(ids, shape=(len(ids), 0))

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, cell={self.cell!r}, "
                f"tie_weights={self.tie_weights}")
