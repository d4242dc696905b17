"""Whole models built from nt.nn layers."""
from .cnn import CNN
from .mlp import MLP
