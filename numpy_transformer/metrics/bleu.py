"""Corpus BLEU through sacrebleu, so that scores compare with published ones.

sacrebleu takes detokenised text and applies its own tokenisation (13a by default, the WMT
standard), case-sensitive; give it the plain sentences, not the model's tokens.
"""
__all__ = ["corpus_bleu"]


def corpus_bleu(hypotheses, references, tokenize: str = "13a", lowercase: bool = False) -> float:
    """BLEU (0-100) of hypotheses (list of str) against one reference each (list of str)."""
    try:
        import sacrebleu
    except ImportError as error:
        raise ImportError("BLEU needs sacrebleu: pip install 'numpy_transformer[translate]' "
                          "(or pip install sacrebleu)") from error
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"corpus_bleu got {len(hypotheses)} hypotheses for {len(references)} "
                         "references")
    return float(sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize,
                                       lowercase=lowercase).score)
