"""Tokenizers: Vocab, word, char and byte-level BPE (trained, or GPT-2's files)."""
