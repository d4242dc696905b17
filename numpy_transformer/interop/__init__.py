"""Weights and layers to and from PyTorch (needs torch installed)."""
from .torch import load_torch_state_dict, to_torch, torch_state_dict
