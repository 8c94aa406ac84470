"""Carried state: running a sequence in two halves equals running it whole; truncated BPTT
carries the state forward without gradient flowing back across the cut; dL/dh_t norms."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, State


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_halves_equal_whole(cell, dtype):
    rng = np.random.default_rng(0)
    net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=11, embed_dim=6,
                          hidden=9, layers=2, output_size=11), dtype=dtype)
    x = rng.integers(0, 11, (20, 4))
    st = net.initial_state(4)
    whole = net.forward(x, st)
    a = net.forward(x[:8], st)
    b = net.forward(x[8:], a.state)
    tol = 0 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(np.concatenate([a.y, b.y]), whole.y, atol=tol, rtol=0)
    np.testing.assert_allclose(b.state.h, whole.state.h, atol=tol, rtol=0)
    if cell == "lstm":
        np.testing.assert_allclose(b.state.c, whole.state.c, atol=tol, rtol=0)
    # one step at a time (the sampling path) gives the same states too
    s = st
    for t in range(20):
        out, s = net.step(x[t], s)
    np.testing.assert_allclose(s.h, whole.state.h, atol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(out, net.head(whole.y[-1]), atol=1e-5 if dtype == np.float32
                               else 1e-12)


def test_truncated_bptt_carries_state_without_gradient():
    """The second half's gradients depend on the carried state (forward) but the loss of the
    second half puts no gradient on the first half's inputs: the returned state is a copy."""
    rng = np.random.default_rng(1)
    net = Network(NetSpec(cell="lstm", input_mode="onehot", input_size=5, hidden=7,
                          output_size=5), dtype=np.float64)
    x = rng.integers(0, 5, (10, 3))
    y = rng.integers(0, 5, (10, 3))
    first = net.loss_and_grad(x[:5], y[:5], net.initial_state(3))
    carried = first.state
    fresh = net.loss_and_grad(x[5:], y[5:], net.initial_state(3)).loss
    cont = net.loss_and_grad(x[5:], y[5:], carried)
    assert cont.loss != pytest.approx(fresh, rel=1e-9)  # the state carried information
    assert isinstance(carried, State)
    h_before = carried.h.copy()
    net.loss_and_grad(x[5:], y[5:], carried)
    np.testing.assert_array_equal(carried.h, h_before)  # detached: never modified in place


def test_dh_norms_vanish_for_rnn_and_survive_for_lstm():
    """The quantity the app draws: ||dL/dh_t|| for a loss on the last step only. With small
    recurrent weights a tanh RNN's gradient decays geometrically back in time."""
    rng = np.random.default_rng(2)
    T = 40
    res = {}
    for cell in ("rnn", "lstm"):
        net = Network(NetSpec(cell=cell, input_mode="real", input_size=3, hidden=32,
                              output_size=1), dtype=np.float64, seed=4)
        x = rng.normal(0, 1, (T, 8, 3))
        y = rng.normal(0, 1, (8, 1))
        r = net.loss_and_grad(x, y, net.initial_state(8), loss="mse", last_only=True)
        assert r.dh_norms.shape == (1, T)
        assert np.all(r.dh_norms > 0)
        res[cell] = r.dh_norms[0, 0] / r.dh_norms[0, -1]
    assert res["rnn"] < 1e-3
    assert res["lstm"] > 10 * res["rnn"]
