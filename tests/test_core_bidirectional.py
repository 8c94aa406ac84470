"""Bidirectional layers, padded batches and extra token channels: float64 finite-difference
gradient checks, agreement with the plain-NumPy reference, and the promise that padding changes
neither the loss nor any gradient (a sentence alone and inside a padded batch gives the same
logits)."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network
from rnn_tui.core.reference import bidirectional_forward
from test_core_gradcheck import numeric, rel_error

CELLS = ["rnn", "rnn_sigmoid", "lstm", "gru"]


def problem(cell, bidirectional=True, layers=2, features=(), last_only=False, loss="xent",
            seed=0, input_mode="embedding"):
    rng = np.random.default_rng(seed)
    T, B, V, H = 6, 3, 7, 4
    spec = NetSpec(cell=cell, input_mode=input_mode, input_size=V, embed_dim=3, hidden=H,
                   layers=layers, output_size=5 if loss == "xent" else 2,
                   bidirectional=bidirectional, features=list(features), feature_dim=2)
    net = Network(spec, dtype=np.float64, seed=seed)
    net.params.data[:] += rng.normal(0, 0.3, net.params.data.shape)
    if input_mode == "real":
        x = rng.normal(0, 1, (T, B, V))
    elif features:
        x = np.stack([rng.integers(0, V, (T, B))] + [rng.integers(0, n, (T, B))
                                                      for n in features], axis=-1)
    else:
        x = rng.integers(0, V, (T, B))
    lengths = np.array([6, 4, 2])
    if loss == "xent":
        y = rng.integers(0, 5, (B,) if last_only else (T, B))
        if not last_only:
            for b, n in enumerate(lengths):
                y[n:, b] = -1  # padding is not scored
    else:
        y = rng.normal(0, 1, (B, 2))
    return net, x, y, lengths


def grad_errors(net, x, y, lengths, last_only, loss="xent"):
    def run():
        return net.loss_and_grad(x, y, net.initial_state(x.shape[1]), loss=loss,
                                 last_only=last_only, lengths=lengths,
                                 need_dx=net.spec.input_mode == "real")

    res = run()
    analytic = net.params.grad.copy()
    errs = {"params": rel_error(analytic, numeric(lambda: run().loss, net.params.data))}
    if net.spec.input_mode == "real":
        errs["x"] = rel_error(res.dx, numeric(lambda: run().loss, x))
    return errs


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("last_only", [False, True])
def test_gradcheck_bidirectional_padded(cell, last_only):
    net, x, y, lengths = problem(cell, last_only=last_only)
    errs = grad_errors(net, x, y, lengths, last_only)
    assert max(errs.values()) < 1e-6, errs


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_gradcheck_bidirectional_real_input_mse(cell):
    net, x, y, lengths = problem(cell, input_mode="real", last_only=True, loss="mse", seed=3)
    errs = grad_errors(net, x, y, lengths, True, loss="mse")
    assert max(errs.values()) < 1e-6, errs


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_feature_channels(bidirectional):
    net, x, y, lengths = problem("lstm", bidirectional=bidirectional, layers=1,
                                 features=(5, 4), seed=2)
    errs = grad_errors(net, x, y, lengths, False)
    assert max(errs.values()) < 1e-6, errs


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_matches_the_numpy_reference(cell):
    net, _, _, lengths = problem(cell, input_mode="real", seed=4)
    rng = np.random.default_rng(9)
    x = rng.normal(0, 1, (6, 3, 7))
    fwd = net.forward(x, net.initial_state(3), lengths=lengths)
    weights = [tuple({k: v.astype(np.float64) for k, v in net.layer_weights(k, r).items()}
                     for r in (False, True)) for k in range(net.spec.layers)]
    want = bidirectional_forward(cell, x, lengths, weights)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(fwd.y[:n, b], want[:n, b], atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("last_only", [False, True])
def test_padding_changes_neither_the_loss_nor_any_gradient(cell, bidirectional, last_only):
    """The same sentences, once cut to the longest and once padded with junk tokens to twice
    that: identical loss and identical gradients (float64, to rounding)."""
    net, x, y, lengths = problem(cell, bidirectional=bidirectional, last_only=last_only,
                                 features=(5,), seed=5)
    T, B = x.shape[:2]
    rng = np.random.default_rng(1)
    pad = np.concatenate([x, np.stack([rng.integers(0, 7, (T, B)), rng.integers(0, 5, (T, B))],
                                      -1)], axis=0)
    for b, n in enumerate(lengths):
        pad[n:, b] = np.stack([rng.integers(0, 7, 2 * T - n), rng.integers(0, 5, 2 * T - n)], -1)
    ypad = y if last_only else np.concatenate([y, np.full((T, B), -1)], axis=0)
    a = net.loss_and_grad(x[: lengths.max()], y if last_only else y[: lengths.max()],
                          net.initial_state(B), last_only=last_only, lengths=lengths)
    ga = net.params.grad.copy()
    b_ = net.loss_and_grad(pad, ypad, net.initial_state(B), last_only=last_only, lengths=lengths)
    assert a.loss == pytest.approx(b_.loss, abs=1e-12)
    np.testing.assert_allclose(net.params.grad, ga, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_sentence_alone_and_in_a_padded_batch_gives_the_same_logits(bidirectional):
    net, x, y, lengths = problem("gru", bidirectional=bidirectional, last_only=True, seed=6)
    _, _, batch_out = net.evaluate(x, y, net.initial_state(3), last_only=True, lengths=lengths)
    for b, n in enumerate(lengths):
        _, _, alone = net.evaluate(x[:n, b : b + 1], y[b : b + 1], net.initial_state(1),
                                   last_only=True)
        np.testing.assert_allclose(alone[0], batch_out[b], atol=1e-12)
    # many-to-many: every real position's logits agree too
    fwd = net.forward(x, net.initial_state(3), lengths=lengths)
    for b, n in enumerate(lengths):
        alone = net.forward(x[:n, b : b + 1], net.initial_state(1))
        np.testing.assert_allclose(net.head(alone.y[:, 0]), net.head(fwd.y[:n, b]), atol=1e-12)


def test_recurrent_scale_sets_the_singular_values_of_each_gate_block():
    for cell, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        for S in (0.5, 2.0):
            net = Network(NetSpec(cell=cell, hidden=16, layers=2, bidirectional=True),
                          dtype=np.float64, recurrent_scale=S)
            for name in ("l0", "l0r", "l1", "l1r"):
                W = net.params[f"{name}.W_hh"]
                for g in range(G):
                    sv = np.linalg.svd(W[:, g * 16 : (g + 1) * 16], compute_uv=False)
                    np.testing.assert_allclose(sv, S, rtol=1e-12)
    # the default stays PyTorch's uniform initialisation
    W = Network(NetSpec(cell="rnn", hidden=16), dtype=np.float64).params["l0.W_hh"]
    assert np.abs(W).max() <= 0.25 and not np.allclose(np.linalg.svd(W, compute_uv=False), 1)
