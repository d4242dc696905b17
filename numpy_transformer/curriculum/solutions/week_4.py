"""Week 4 reference: the library's RNN math and module, and its WordTokenizer."""
from numpy_transformer.nn import RNN
from numpy_transformer.nn import functional as F
from numpy_transformer.nn.functional import rnn_cell_backward, rnn_cell_forward
from numpy_transformer.tokenizers import WordTokenizer

__all__ = ["rnn_cell_forward", "rnn_cell_backward", "rnn_forward", "rnn_backward", "RNN",
           "WordTokenizer"]


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """x [T, N, I], h0 [N, H] -> (output [T, N, H], cache)."""
    (output, _), cache = F.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return output, cache


def rnn_backward(d_output, cache):
    """-> dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh."""
    return F.rnn_backward(d_output, cache)
