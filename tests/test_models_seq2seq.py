"""The encoder-decoder (models/seq2seq.py): float64 finite-difference checks of every parameter
through encoder, bridge, attention and decoder, padded on both sides; greedy decoding against a
step-by-step recomputation; beam search with K = 1 equal to greedy, and never worse than greedy
(a property over random models and sources)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.data.pairs import EOS, make_batch
from rnn_tui.models.seq2seq import Seq2Seq, Seq2SeqSpec, log_softmax

EPS = 1e-5
PER_ARRAY = 12  # entries checked per parameter array (chosen at random)

# (cell, dec_cell, attention, layers, bidirectional, dec_hidden): every path of the model
CASES = [
    ("lstm", "", "additive", 1, False, 0),
    ("gru", "", "dot", 1, False, 0),
    ("rnn", "", "none", 1, False, 0),
    ("lstm", "gru", "dot", 2, True, 5),  # bridged, general dot (K = 8 != 5)
    ("gru", "lstm", "additive", 2, True, 0),  # bridged: K = 8, H_dec = 4
    ("lstm", "", "none", 2, True, 8),  # no attention, decoder as wide as the keys: no bridge
]


def batch(rng, V_src, V_tgt):
    srcs = [rng.integers(4, V_src, size=n) for n in (4, 2, 3)]
    tgts = [rng.integers(4, V_tgt, size=n) for n in (2, 3, 1)]
    return make_batch(srcs, tgts)


def model(case, seed=0, dtype=np.float64):
    cell, dec_cell, attention, layers, bi, dec_hidden = case
    spec = Seq2SeqSpec(src_vocab=9, tgt_vocab=8, cell=cell, dec_cell=dec_cell, hidden=4,
                       dec_hidden=dec_hidden, layers=layers, embed=3, bidirectional=bi,
                       attention=attention, attn_size=3)
    return Seq2Seq(spec, dtype, seed)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_every_parameter_matches_finite_differences(case):
    m = model(case)
    rng = np.random.default_rng(1)
    m.params.data[...] += rng.normal(scale=0.3, size=m.params.data.shape)
    b = batch(rng, 9, 8)
    m.loss_and_grad(b)
    grad = m.params.grad.copy()

    def loss():
        return m.evaluate(b)[0]

    flat = m.params.data
    for slot in m.params.layout:
        idx = rng.choice(slot.size, size=min(PER_ARRAY, slot.size), replace=False)
        for j in slot.offset + idx:
            old = flat[j]
            vals = []
            for k in (2, 1, -1, -2):
                flat[j] = old + k * EPS
                vals.append(loss())
            flat[j] = old
            num = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * EPS)
            assert abs(grad[j] - num) <= 1e-7 + 1e-6 * abs(num), (slot.name, j, grad[j], num)


def test_padding_in_the_source_changes_nothing():
    m = model(CASES[0])
    rng = np.random.default_rng(2)
    b = batch(rng, 9, 8)
    loss1, _ = m.evaluate(b)
    b.src[b.src_len[2]:, 2] = 7  # other tokens in the padding of one row
    assert m.evaluate(b)[0] == pytest.approx(loss1, abs=1e-12)


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: c[2])
def test_greedy_takes_the_likeliest_token_at_every_step(case):
    m = model(case, seed=4)
    rng = np.random.default_rng(3)
    m.params.data[...] += rng.normal(scale=0.5, size=m.params.data.shape)
    b = batch(rng, 9, 8)
    out = m.greedy(b.src, b.src_len, max_len=6)
    for j in range(b.src.shape[1]):
        n = int(out.lengths[j])
        ids = out.ids[:n, j]
        # teacher-force the greedy output back in: each token must be its step's argmax
        tgt = ids[:-1] if ids[-1] == EOS else ids
        one = make_batch([b.src[: b.src_len[j], j]], [tgt])
        _, logits = m.evaluate(one)
        lp = log_softmax(logits[:, 0])
        assert list(np.argmax(lp, axis=1)[:n]) == list(ids)
        assert out.logp[j] == pytest.approx(lp[np.arange(n), ids].sum(), rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 4), n=st.integers(1, 6),
       which=st.sampled_from([0, 1, 2]))
def test_beam_search_never_loses_to_greedy(seed, k, n, which):
    m = model(CASES[which], seed=seed)
    rng = np.random.default_rng(seed)
    m.params.data[...] += rng.normal(scale=1.0, size=m.params.data.shape)
    src = rng.integers(4, 9, size=n)
    g = m.greedy(src.reshape(-1, 1), np.array([n]), max_len=7)
    for alpha in (0.0, 1.0):
        best = m.beam(src, k, max_len=7, alpha=alpha)[0]
        glen = int(g.lengths[0])
        assert best.score(alpha) >= g.logp[0] / glen ** alpha - 1e-9
    # and K = 1 without the greedy candidate is greedy itself
    one = m.beam(src, 1, max_len=7, alpha=0.0, keep_greedy=False)[0]
    assert one.ids == [int(i) for i in g.ids[: int(g.lengths[0]), 0]]
    assert one.logp == pytest.approx(float(g.logp[0]), rel=1e-9, abs=1e-12)


def test_a_beam_hypothesis_scores_its_own_tokens():
    m = model(CASES[0], seed=7)
    rng = np.random.default_rng(7)
    m.params.data[...] += rng.normal(scale=1.0, size=m.params.data.shape)
    src = rng.integers(4, 9, size=3)
    for h in m.beam(src, 3, max_len=5, alpha=0.0):
        tgt = h.ids[:-1] if h.finished else h.ids
        _, logits = m.evaluate(make_batch([src], [np.asarray(tgt, dtype=np.int64)]))
        lp = log_softmax(logits[:, 0])
        assert h.logp == pytest.approx(lp[np.arange(len(h.ids)), h.ids].sum(), rel=1e-9)
        assert len(h.attention) == len(h.ids)
