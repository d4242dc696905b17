"""Greedy and beam-search decoding, batched over sentences (and beams), looping over time only.

They drive a decoder with the protocol of `seq2seq.IncrementalDecoder`:
    decoder.rows                  number of rows (sentences x beams)
    decoder.log_probs(tokens)     tokens [R] fed at the next position -> log-probabilities [R, V]
    decoder.expand(K)             each row becomes K rows with its history (beam search)
    decoder.reorder(rows)         row i continues the history of row rows[i] (within a sentence)
Results are lists of token ids per sentence, without BOS and EOS.
"""
import numpy as np

__all__ = ["greedy_search", "beam_search", "length_penalty", "decode"]


def greedy_search(decoder, bos_id: int, eos_id: int, max_steps: int):
    """The most likely next token at every step, until EOS (or max_steps tokens)."""
    N = decoder.rows
    tokens = np.full(N, bos_id, dtype=np.int64)
    out = np.full((N, max_steps), eos_id, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    for t in range(max_steps):
        tokens = decoder.log_probs(tokens).argmax(axis=-1)                # [N]
        tokens[done] = eos_id                                              # finished rows idle
        out[:, t] = tokens
        done |= tokens == eos_id
        if done.all():
            break
    return [_until_eos(row, eos_id) for row in out]


def length_penalty(length, alpha: float):
    """GNMT's ((5 + length) / 6) ** alpha: scores are divided by it (alpha 0: no penalty)."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_search(decoder, bos_id: int, eos_id: int, max_steps: int, beam_size: int = 4,
                alpha: float = 0.6):
    """Beam search over all sentences at once: rows are sentence-major [N, K].

    Every step each live beam proposes its K most likely next tokens (the sentence's best K
    of all K*V continuations are among them: one beam's candidates share a length penalty);
    a finished beam proposes only itself (score unchanged, length frozen). Candidates are
    ranked by log-probability / length penalty and the best K of each sentence are kept.
    With beam_size 1 this is greedy search. Stops when every beam has ended (or after
    max_steps tokens)."""
    N, K = decoder.rows, beam_size
    decoder.expand(K)
    scores = np.full((N, K), -np.inf)                    # summed log-probabilities (float64)
    scores[:, 0] = 0.0                                   # the K copies start as one beam
    lengths = np.zeros((N, K), dtype=np.int64)           # tokens generated, EOS included
    finished = np.zeros((N, K), dtype=bool)
    history = np.full((N, K, max_steps), eos_id, dtype=np.int64)
    tokens = np.full(N * K, bos_id, dtype=np.int64)
    sentence_row = np.arange(N)[:, None] * K             # [N, 1] first row of each sentence
    for t in range(max_steps):
        log_probs = decoder.log_probs(tokens)                                  # [N*K, V]
        V = log_probs.shape[-1]
        C = min(K, V)                                                          # proposals per beam
        proposed = np.argpartition(log_probs, V - C, axis=1)[:, V - C:]        # [N*K, C] any order
        proposal_lp = np.take_along_axis(log_probs, proposed, 1).astype(np.float64)
        proposed, proposal_lp = proposed.reshape(N, K, C), proposal_lp.reshape(N, K, C)
        proposal_lp[finished] = -np.inf                  # a finished beam proposes only itself:
        proposal_lp[finished, 0] = 0.0                   # EOS again, at no cost
        proposed[finished, 0] = eos_id
        candidates = scores[..., None] + proposal_lp                           # [N, K, C]
        new_lengths = lengths + ~finished                                      # [N, K]
        ranked = (candidates / length_penalty(new_lengths, alpha)[..., None]).reshape(N, K * C)
        best = np.argpartition(-ranked, K - 1, axis=1)[:, :K]                  # [N, K] any order
        order = np.argsort(-np.take_along_axis(ranked, best, 1), axis=1, kind="stable")
        best = np.take_along_axis(best, order, 1)                              # best first
        beam = best // C
        token = np.take_along_axis(proposed.reshape(N, K * C), best, 1)
        scores = np.take_along_axis(candidates.reshape(N, K * C), best, 1)
        lengths = np.take_along_axis(new_lengths, beam, 1)
        finished = np.take_along_axis(finished, beam, 1) | (token == eos_id)
        history = np.take_along_axis(history, beam[..., None], 1)
        history[:, :, t] = token
        decoder.reorder((sentence_row + beam).reshape(-1))
        tokens = token.reshape(-1)
        if finished.all():
            break
    final = scores / length_penalty(lengths, alpha)
    winner = final.argmax(axis=1)                                              # [N]
    return [_until_eos(history[n, k, :lengths[n, k]], eos_id) for n, k in enumerate(winner)]


def _until_eos(row, eos_id):
    """The ids before the first EOS."""
    ends = np.flatnonzero(row == eos_id)
    return [int(i) for i in (row[:ends[0]] if ends.size else row)]


def decode(model, src, bos_id: int, eos_id: int, beam_size: int = 1, alpha: float = 0.6,
           max_steps: int = None, extra_steps: int = 50):
    """Translate src [N, S] with a seq2seq Transformer: greedy (beam_size 1) or beam search.

    max_steps defaults to S + extra_steps (capped by the model's max_len)."""
    if max_steps is None:
        max_steps = src.shape[1] + extra_steps
    max_steps = min(max_steps, model.config.max_len)
    was_training = model.training
    model.eval()
    try:
        decoder = model.start_decoding(src)
        if beam_size == 1:
            return greedy_search(decoder, bos_id, eos_id, max_steps)
        return beam_search(decoder, bos_id, eos_id, max_steps, beam_size, alpha)
    finally:
        model.train(was_training)
