# %% [markdown]
# # Week 4 exercise: the RNN and the word tokenizer
#
# Fill in every function marked `TODO` (read `lesson.md` first). Same contract as before:
# `out, cache = thing_forward(...)`, `grads = thing_backward(dout, cache)`.
#
# Shapes: T time steps, N sequences in the batch, I input features, H hidden features.
# Weights as in PyTorch: weight_ih [H, I], weight_hh [H, H], bias_ih [H], bias_hh [H].
# Loop over time (it is sequential); never over the batch or the features.
#
# Check your work from the repository's root: `numpy-transformer check week-4`.

# %%
import re
from collections import Counter

import numpy as np

from numpy_transformer.nn import Module, Parameter, init


# %% [markdown]
# ## One step of the RNN

# %%
def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """x [N, I], h [N, H] -> (h_new [N, H], cache):
    h_new = tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)."""
    # TODO
    raise NotImplementedError("rnn_cell_forward")


def rnn_cell_backward(dh_new, cache):
    """dh_new [N, H] -> (dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh)."""
    # TODO: da = dh_new * (1 - h_new**2), then the gradients of a Linear, twice
    raise NotImplementedError("rnn_cell_backward")


# %% [markdown]
# ## A whole sequence, and backpropagation through time

# %%
def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """x [T, N, I], h0 [N, H] -> (output [T, N, H], cache); output[t] = h_t, the state after step t."""
    # TODO: loop over t, carrying h
    raise NotImplementedError("rnn_forward")


def rnn_backward(d_output, cache):
    """d_output [T, N, H] -> (dx [T, N, I], dh0 [N, H], dweight_ih, dweight_hh, dbias_ih, dbias_hh).

    Go backwards in time: the gradient reaching h_t is d_output[t] plus what step t + 1 sent
    back; the weight gradients are sums over the steps."""
    # TODO
    raise NotImplementedError("rnn_backward")


# %% [markdown]
# ## The module, with PyTorch's names (`__init__` is written for you)

# %%
class RNN(Module):
    """One layer, tanh, input [T, N, I] (PyTorch's default layout, batch_first=False)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih_l0 = Parameter(init.empty((hidden_size, input_size)))
        self.weight_hh_l0 = Parameter(init.empty((hidden_size, hidden_size)))
        self.bias_ih_l0 = Parameter(init.empty(hidden_size))
        self.bias_hh_l0 = Parameter(init.empty(hidden_size))
        bound = 1 / np.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, x):
        """x [T, N, I] -> (output [T, N, H], h_n [1, N, H]); the initial state is zeros."""
        # TODO
        raise NotImplementedError("RNN.forward")

    def backward(self, d_output):
        """d_output [T, N, H] -> dx [T, N, I]; adds into the four parameters' .grad."""
        # TODO
        raise NotImplementedError("RNN.backward")


# %% [markdown]
# ## The word tokenizer
#
# Text -> tokens -> ids, and back. The vocabulary: the 7 special tokens first (ids 0..6), then
# every token of the training texts seen at least `min_freq` times, the most frequent first
# (ties in alphabetical order). A token that is not in the vocabulary encodes as `[UNK]` (id 1).

# %%
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]


class WordTokenizer:
    def __init__(self, tokens):
        self.itos = list(tokens)                          # id -> token (the specials first)
        self.stoi = {t: i for i, t in enumerate(self.itos)}   # token -> id

    @classmethod
    def build(cls, texts, min_freq=1):
        """A tokenizer whose vocabulary is SPECIALS + the tokens of `texts` (a list of str)."""
        # TODO: count the tokens of every text (Counter), keep those seen >= min_freq times,
        # sort by (-count, token), and return cls(SPECIALS + kept)
        raise NotImplementedError("WordTokenizer.build")

    def tokenize(self, text):
        """Lowercase; a token is a word (letters, digits or _, with apostrophes inside such as
        "don't") or any single other character that is not a space. -> list of str."""
        # TODO: re.findall with a pattern
        raise NotImplementedError("WordTokenizer.tokenize")

    def encode(self, text):
        """-> list of ids (unknown tokens -> the id of [UNK])."""
        # TODO
        raise NotImplementedError("WordTokenizer.encode")

    def decode(self, ids):
        """-> text: the tokens joined by one space, except no space before . , ; : ! ? % ) ] }
        and none after ( [ { $."""
        # TODO
        raise NotImplementedError("WordTokenizer.decode")

    @property
    def vocab_size(self):
        return len(self.itos)
