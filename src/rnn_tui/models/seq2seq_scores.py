"""How good a set of decoded outputs is: token accuracy, exact match, and corpus BLEU and chrF
by sacrebleu (the field's reference implementation, so the figures compare with papers'); the
copy baseline (the output is the source); and accuracy by source length, the picture of
Bahdanau et al. (2015) that shows where a fixed-size state runs out.

Outputs and references are compared as the model writes them: tokenised and joined
(:func:`rnn_tui.data.pairs.normalise`). BLEU counts words for word models and characters for
character models (sacrebleu's ``char`` tokeniser): a sum such as "596" is one word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LENGTH_BUCKETS = (5, 10, 15, 20, 30, 50, 100)  # upper bounds of the source-length bins


@dataclass
class Scores:
    exact_match: float
    token_accuracy: float
    bleu: float
    chrf: float

    def line(self) -> str:
        return (f"exact_match={self.exact_match:.4f} token_accuracy={self.token_accuracy:.4f} "
                f"bleu={self.bleu:.2f} chrf={self.chrf:.2f}")

    def to_dict(self) -> dict[str, float]:
        return {"exact_match": self.exact_match, "token_accuracy": self.token_accuracy,
                "bleu": self.bleu, "chrf": self.chrf}


def token_accuracy(hyp_tokens: list[list[str]], ref_tokens: list[list[str]]) -> float:
    """Position by position: the fraction of reference tokens (and each end) that the output
    has at the same place; a missing or extra token counts as wrong."""
    right = total = 0
    for h, r in zip(hyp_tokens, ref_tokens, strict=True):
        n = max(len(h), len(r)) + 1  # the end token too
        total += n
        right += sum(1 for a, b in zip(h, r, strict=False) if a == b)
        right += 1 if len(h) == len(r) else 0
    return right / total if total else 0.0


def bleu_chrf(hyps: list[str], refs: list[list[str]],
              chars: bool = False) -> tuple[float, float]:
    """Corpus BLEU and chrF (sacrebleu's defaults; BLEU over characters with ``chars``, for
    character tasks whose outputs are one "word", such as a sum); ``refs[i]`` holds every
    reference of output i (Tatoeba has several translations of one sentence)."""
    import sacrebleu

    if not hyps:
        return 0.0, 0.0
    depth = max(len(r) for r in refs)
    streams = [[r[j] if j < len(r) else r[0] for r in refs] for j in range(depth)]
    tok = {"tokenize": "char"} if chars else {}
    tok["force"] = True  # outputs are tokenised on purpose (words and marks apart)
    return (float(sacrebleu.corpus_bleu(hyps, streams, **tok).score),
            float(sacrebleu.corpus_chrf(hyps, streams).score))


def score(hyps: list[str], refs: list[list[str]], how: str) -> Scores:
    """Every score of ``hyps`` against their references (the first one for exact match and
    token accuracy)."""
    from rnn_tui.data.pairs import tokenize

    exact = float(np.mean([h in r for h, r in zip(hyps, refs, strict=True)])) if hyps else 0.0
    acc = token_accuracy([tokenize(h, how) for h in hyps], [tokenize(r[0], how) for r in refs])
    bleu, chrf = bleu_chrf(hyps, refs, chars=how == "char")
    return Scores(exact, acc, bleu, chrf)


def by_length(src_lengths: list[int], correct: list[bool]) -> list[dict]:
    """Exact-match rate per source-length bin: ``[{"upto", "n", "exact_match"}]`` for the bins
    that hold any source."""
    out = []
    lo = 0
    for hi in (*LENGTH_BUCKETS, 10**9):
        sel = [c for n, c in zip(src_lengths, correct, strict=True) if lo < n <= hi]
        if sel:
            out.append({"from": lo + 1, "upto": hi, "n": len(sel),
                        "exact_match": float(np.mean(sel))})
        lo = hi
    return out
