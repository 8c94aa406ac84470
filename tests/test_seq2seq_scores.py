"""Seq2seq scores (models/seq2seq_scores.py): token accuracy position by position, exact match
against any reference, sacrebleu's BLEU and chrF with several references, by-length bins."""

from __future__ import annotations

import pytest

from rnn_tui.models.seq2seq_scores import bleu_chrf, by_length, score, token_accuracy


@pytest.mark.parametrize("hyp,ref,expected", [
    (["a", "b"], ["a", "b"], 3 / 3),  # both tokens and the end
    (["a", "x"], ["a", "b"], 2 / 3),
    (["a"], ["a", "b"], 1 / 3),  # the end comes too early: wrong there, and b is missing
    (["a", "b", "c"], ["a", "b"], 2 / 4),  # an extra token, the end in the wrong place
    ([], [], 1.0),
])
def test_token_accuracy(hyp, ref, expected):
    assert token_accuracy([hyp], [ref]) == pytest.approx(expected)


def test_exact_match_counts_any_reference_and_bleu_uses_them_all():
    import sacrebleu

    hyps = ["il est là .", "va !"]
    refs = [["il est ici .", "il est là ."], ["bouge !"]]
    s = score(hyps, refs, "word")
    assert s.exact_match == 0.5
    bleu = sacrebleu.corpus_bleu(hyps, [["il est ici .", "bouge !"], ["il est là .", "bouge !"]])
    assert s.bleu == pytest.approx(bleu.score)
    assert bleu_chrf(hyps, [[r[0]] for r in refs])[0] < s.bleu  # one reference scores lower


def test_by_length_bins():
    rows = by_length([3, 4, 7, 12, 12, 40], [True, False, True, True, False, False])
    assert [(r["from"], r["upto"], r["n"]) for r in rows] == [(1, 5, 2), (6, 10, 1),
                                                             (11, 15, 2), (31, 50, 1)]
    assert [r["exact_match"] for r in rows] == [0.5, 1.0, 0.5, 0.0]
