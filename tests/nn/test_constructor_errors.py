"""A layer built with a size it cannot have says so at once, naming the class and the argument."""
import pytest

import numpy_transformer as nt

CASES = [
    (lambda: nt.nn.Linear(0, 3), "Linear: in_features must be a positive integer, got 0"),
    (lambda: nt.nn.Linear(4, -3), "Linear: out_features must be a positive integer, got -3"),
    (lambda: nt.nn.Linear(2.5, 3), "Linear: in_features must be a positive integer, got 2.5"),
    (lambda: nt.nn.Conv2d(1, 0, 3), "Conv2d: out_channels must be a positive integer, got 0"),
    (lambda: nt.nn.ConvTranspose2d(0, 4, 2), "ConvTranspose2d: in_channels must be a positive"),
    (lambda: nt.nn.Embedding(0, 4), "Embedding: num_embeddings must be a positive integer"),
    (lambda: nt.nn.Embedding(5, -4), "Embedding: embedding_dim must be a positive integer"),
    (lambda: nt.nn.LayerNorm(0), "LayerNorm: normalized_shape must be a positive integer"),
    (lambda: nt.nn.LayerNorm((4, -1)), "LayerNorm: normalized_shape must be a positive integer"),
    (lambda: nt.nn.BatchNorm1d(0), "BatchNorm1d: num_features must be a positive integer"),
    (lambda: nt.nn.BatchNorm2d(-2), "BatchNorm2d: num_features must be a positive integer"),
    (lambda: nt.nn.LSTM(0, 4), "LSTM: input_size must be a positive integer, got 0"),
    (lambda: nt.nn.GRU(3, 0), "GRU: hidden_size must be a positive integer, got 0"),
    (lambda: nt.nn.RNN(3, 4, num_layers=0), "RNN: num_layers must be a positive integer"),
    (lambda: nt.nn.LSTMCell(0, 3), "LSTMCell: input_size must be a positive integer"),
    (lambda: nt.nn.MaxPool2d(0), "MaxPool2d: kernel_size must be a positive integer, got 0"),
    (lambda: nt.nn.AvgPool2d(2, stride=-1), "AvgPool2d: stride must be a positive integer"),
    (lambda: nt.nn.MultiheadAttention(0, 1), "MultiheadAttention needs embed_dim and num_heads"),
]


@pytest.mark.parametrize("build, message", CASES, ids=[m.split(":")[0] + str(i)
                                                        for i, (_, m) in enumerate(CASES)])
def test_a_size_a_layer_cannot_have_is_a_value_error_naming_class_and_argument(build, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()
