"""Evaluation metrics beyond accuracy: corpus BLEU (through sacrebleu)."""
from .bleu import *
