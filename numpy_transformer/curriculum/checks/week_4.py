"""Week 4: the RNN (one step, a whole sequence with backpropagation through time, the module)
against PyTorch, and the word tokenizer against the library's."""
import numpy as np

from ..grading import Case, CheckFailure, FunctionCheck, Mistake, ModuleCheck, PairCheck
from ._inputs import normal


def _torch():
    import torch
    return torch


RNN_ARGS = ("x", "h", "weight_ih", "weight_hh", "bias_ih", "bias_hh")
RNN_GRADS = ("dx", "dh", "dweight_ih", "dweight_hh", "dbias_ih", "dbias_hh")


def _weights(I, H, seed):
    s = 1 / np.sqrt(H)
    return (normal((H, I), seed, s), normal((H, H), seed + 1, s), normal((H,), seed + 2, s),
            normal((H,), seed + 3, s))


# ---- one step ----
def _cell_cases():
    return [Case("N=3, I=4, H=5", (normal((3, 4), 170), normal((3, 5), 171), *_weights(4, 5, 172))),
            Case("one sample, N=1", (normal((1, 2), 176), normal((1, 3), 177), *_weights(2, 3, 178))),
            Case("float32", (normal((2, 3), 182), normal((2, 4), 183), *_weights(3, 4, 184)),
                 dtype=np.float32)]


def _cell_derivative_of_a(x, h, w_ih, w_hh, b_ih, b_hh, dout):
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return ((1 - a * a) * dout) @ w_ih


RNN_CELL = PairCheck(
    "rnn_cell", "rnn_cell_forward", "rnn_cell_backward", RNN_ARGS, RNN_GRADS,
    lambda x, h, w_ih, w_hh, b_ih, b_hh: _torch().rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh),
    _cell_cases,
    hints={"output": "h_new = tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)",
           "dx": "da = dh_new * (1 - h_new^2) (tanh' written with the output); dx = da @ weight_ih",
           "dh": "dh = da @ weight_hh",
           "dweight_ih": "dweight_ih = da.T @ x  [H, I]", "dweight_hh": "dweight_hh = da.T @ h  [H, H]",
           "dbias_ih": "dbias_ih = da summed over the batch", "dbias_hh": "dbias_hh = da summed "
                                                                          "over the batch (the same)"},
    mistakes=[Mistake("dx", _cell_derivative_of_a,
                      "tanh'(a) = 1 - tanh(a)^2 = 1 - h_new^2: square the OUTPUT h_new, not the "
                      "pre-activation a")])


# ---- a sequence ----
def _sequence_cases():
    return [Case("T=4 steps, N=2, I=3, H=5", (normal((4, 2, 3), 190), normal((2, 5), 191),
                                              *_weights(3, 5, 192))),
            Case("one step, T=1", (normal((1, 2, 2), 196), normal((2, 3), 197), *_weights(2, 3, 198))),
            Case("T=6 steps, one sample", (normal((6, 1, 2), 202), normal((1, 4), 203),
                                           *_weights(2, 4, 204))),
            Case("float32, T=3", (normal((3, 2, 3), 208), normal((2, 4), 209), *_weights(3, 4, 210)),
                 dtype=np.float32)]


def _torch_sequence(x, h0, w_ih, w_hh, b_ih, b_hh):
    torch = _torch()
    h, outputs = h0, []
    for t in range(x.shape[0]):
        h = torch.rnn_tanh_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs)


def _bptt_without_carry(part):
    """Backward where each step sees only its own output's gradient (no dh from the future)."""
    def wrong(x, h0, w_ih, w_hh, b_ih, b_hh, dout):
        T = x.shape[0]
        hs = [h0]
        for t in range(T):
            hs.append(np.tanh(x[t] @ w_ih.T + b_ih + hs[-1] @ w_hh.T + b_hh))
        dx, dw_ih, dw_hh = np.zeros_like(x), np.zeros_like(w_ih), np.zeros_like(w_hh)
        dh0 = None
        for t in reversed(range(T)):
            da = dout[t] * (1 - hs[t + 1] ** 2)
            dx[t] = da @ w_ih
            dw_ih += da.T @ x[t]
            dw_hh += da.T @ hs[t]
            if t == 0:
                dh0 = da @ w_hh
        return {"dx": dx, "dh0": dh0, "dweight_ih": dw_ih, "dweight_hh": dw_hh}[part]
    return wrong


_CARRY = ("backpropagation through time: h_t feeds step t + 1 too, so the gradient reaching h_t "
          "is dh = d_output[t] + (the dh that step t + 1 sent back, da_{t+1} @ weight_hh). Go "
          "from t = T-1 down to 0 carrying dh, and SUM the weight gradients over the steps")

RNN_SEQUENCE = PairCheck(
    "rnn", "rnn_forward", "rnn_backward", ("x", "h0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
    ("dx", "dh0", "dweight_ih", "dweight_hh", "dbias_ih", "dbias_hh"),
    _torch_sequence, _sequence_cases,
    hints={"output": "loop over t: h_t = tanh(x[t] @ weight_ih.T + bias_ih + h_{t-1} @ weight_hh.T "
                     "+ bias_hh), h_{-1} = h0; output[t] = h_t, shape [T, N, H]",
           "dx": _CARRY, "dh0": _CARRY, "dweight_ih": _CARRY, "dweight_hh": _CARRY,
           "dbias_ih": _CARRY, "dbias_hh": _CARRY},
    mistakes=[Mistake(part, _bptt_without_carry(part),
                      "each step used only d_output[t]: the gradient that comes back from the later "
                      "steps through h_t is missing. " + _CARRY)
              for part in ("dx", "dh0", "dweight_ih", "dweight_hh")])


# ---- the module ----
RNN_MODULE = ModuleCheck(
    "RNN", "RNN",
    build=lambda cls, case: cls(3, 5),
    twin=lambda case: _torch().nn.RNN(3, 5),
    cases=lambda: [Case("a sequence [T=4, N=2, I=3]", (normal((4, 2, 3), 214),)),
                   Case("float32 [T=3, N=1, I=3]", (normal((3, 1, 3), 215),), dtype=np.float32)],
    hints={"output": "forward: h0 = zeros [N, H]; rnn_forward with the four weights; return "
                     "(output, h_n) with h_n = output[-1] of shape [1, N, H] (PyTorch's layout)",
           "params": "backward: add the four weight gradients into the parameters (self._accumulate)",
           "input": "backward: return the dx of rnn_backward"},
    uses=("rnn_forward", "rnn_backward"))


# ---- the word tokenizer ----
TEXTS = ["The cat sat on the mat.", "The dog sat, then the dog ran!",
         "Don't panic: it's 5 o'clock (really).", "A cat and a dog; the end?"]
PROBES = ["the cat ran.", "Hello, unseen words!", "  Spaces\tand\nnew lines  ", "(the end)"]
TOKENIZE_HINT = ("a token is a word (letters, digits or _, with apostrophes inside: \"don't\") or "
                 "any single other character that is not a space; lowercase everything: "
                 "re.findall(r\"\\w+(?:'\\w+)*|[^\\w\\s]\", text.lower())")


def _reference(texts, min_freq=1):
    from ...tokenizers import WordTokenizer
    return WordTokenizer.build(texts, min_freq=min_freq)


def _tokenizer_checks(ns) -> str:
    cls = ns["WordTokenizer"]
    reference = _reference(TEXTS)
    ours = cls.build(TEXTS)
    for text in TEXTS + PROBES:
        got, expected = ours.tokenize(text), reference.tokenize(text)
        if list(got) != expected:
            raise CheckFailure("WordTokenizer.tokenize", f"got {list(got)}, expected {expected}",
                               f"tokenize({text!r})", TOKENIZE_HINT)
    case = f"WordTokenizer.build({TEXTS})"
    if ours.vocab_size != reference.vocab_size:
        raise CheckFailure("WordTokenizer.build, vocab_size", f"got {ours.vocab_size}, expected "
                           f"{reference.vocab_size}", case,
                           "the vocabulary is the 7 special tokens, then every distinct token")
    for text in TEXTS + PROBES:
        got, expected = list(ours.encode(text)), reference.encode(text)
        if got != expected:
            unknown = [t for t in reference.tokenize(text) if reference.vocab[t] == reference.vocab.unk_id]
            hint = ("ids: 0..6 are the specials [PAD] [UNK] [CLS] [SEP] [MASK] [BOS] [EOS], then the "
                    "tokens most frequent first, ties in alphabetical order")
            if unknown:
                hint += f"; a word not in the vocabulary ({unknown[0]!r}) is [UNK], id 1"
            raise CheckFailure("WordTokenizer.encode", f"got {got}, expected {expected}",
                               f"after {case}: encode({text!r})", hint)
        got, expected = ours.decode(expected), reference.decode(expected)
        if got != expected:
            raise CheckFailure("WordTokenizer.decode", f"got {got!r}, expected {expected!r}",
                               f"decode({reference.encode(text)})",
                               "join the tokens with one space, but none before . , ; : ! ? % ) ] } "
                               "and none after ( [ { $")
    rare = cls.build(TEXTS, min_freq=2)
    expected = _reference(TEXTS, 2)
    if rare.vocab_size != expected.vocab_size:
        raise CheckFailure("WordTokenizer.build, vocab_size", f"got {rare.vocab_size}, expected "
                           f"{expected.vocab_size}", "WordTokenizer.build(texts, min_freq=2)",
                           "keep only the tokens seen at least min_freq times")
    return f"{len(TEXTS + PROBES)} texts"


TOKENIZER = FunctionCheck("WordTokenizer", ("WordTokenizer",), _tokenizer_checks)

CHECKS = [RNN_CELL, RNN_SEQUENCE, RNN_MODULE, TOKENIZER]
