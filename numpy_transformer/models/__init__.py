"""Whole models built from nt.nn layers, one file each."""
from .mlp import MLP
from .cnn import CNN
from .vit import *
from .gan import *
from .rnn_lm import *
from .gpt import *
from .bert import *
from .seq2seq import *
