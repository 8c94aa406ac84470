"""Learning, not just computing.

Delayed recall: a stream of tokens, half of them blanks, half drawn from 8 symbols; the target
at step t is the token seen k = 10 steps earlier. Gated cells (LSTM, GRU) learn it; a vanilla RNN of
the same size, trained with the same budget, does clearly worse.

Noisy sine: windows of a sine plus Gaussian noise (sd 0.1) predict the next value; the best possible
MSE is the noise variance, and a small GRU gets within 10 % of it on held-out windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, clip_global_norm, make_optimizer

K, DELAY, T, BLANK_P = 8, 10, 30, 0.5


def recall_batch(rng, batch):
    sym = rng.integers(1, K + 1, (T, batch))
    x = np.where(rng.random((T, batch)) < BLANK_P, sym, 0)
    y = np.full((T, batch), -1)
    y[DELAY:] = x[:-DELAY]
    return x, y


def train_recall(cell, steps=2000, hidden=64, seed=0):
    rng = np.random.default_rng(seed)
    net = Network(NetSpec(cell=cell, input_mode="onehot", input_size=K + 1, hidden=hidden,
                          output_size=K + 1), seed=seed)
    opt = make_optimizer("adam", net.params.data.size, lr=1e-2)
    for _ in range(steps):
        x, y = recall_batch(rng, 32)
        net.loss_and_grad(x, y, net.initial_state(32))
        clip_global_norm(net.params.grad, 1.0)
        opt.step(net.params.data, net.params.grad)
    x, y = recall_batch(np.random.default_rng(12345), 512)
    _, _, out = net.evaluate(x, y, net.initial_state(512))
    pred = out.argmax(axis=1).reshape(y.shape)
    scored = y > 0  # the symbols (blanks are easy)
    return float((pred[scored] == y[scored]).mean())


@pytest.fixture(scope="module")
def recall_accuracy():
    return {cell: train_recall(cell) for cell in ("lstm", "gru", "rnn")}


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_learn_delayed_recall(recall_accuracy, cell):
    assert recall_accuracy[cell] > 0.95, recall_accuracy


@pytest.mark.slow
def test_vanilla_rnn_does_clearly_worse_at_delay_10(recall_accuracy, record_property):
    record_property("recall_accuracy", recall_accuracy)
    print(f"delayed recall (k={DELAY}) accuracy: {recall_accuracy}")
    assert recall_accuracy["rnn"] < min(recall_accuracy["lstm"], recall_accuracy["gru"]) - 0.05


def sine_windows(rng, n, lookback, noise):
    start = rng.uniform(0, 2 * np.pi, n)
    t = start[:, None] + np.arange(lookback + 1)[None, :] * (2 * np.pi / 25)
    clean = np.sin(t)
    noisy = clean + rng.normal(0, noise, clean.shape)
    x = noisy[:, :lookback].T[:, :, None]  # (T, B, 1)
    y = noisy[:, lookback:]  # (B, 1): the next noisy value
    return x, y


@pytest.mark.slow
def test_small_model_fits_noisy_sine_to_noise_floor():
    noise, lookback = 0.1, 24
    rng = np.random.default_rng(0)
    net = Network(NetSpec(cell="gru", input_mode="real", input_size=1, hidden=24,
                          output_size=1), seed=0)
    opt = make_optimizer("adam", net.params.data.size, lr=5e-3)
    for step in range(2500):
        if step == 1800:
            opt.lr = 1e-3
        x, y = sine_windows(rng, 64, lookback, noise)
        net.loss_and_grad(x, y, net.initial_state(64), loss="mse", last_only=True)
        clip_global_norm(net.params.grad, 1.0)
        opt.step(net.params.data, net.params.grad)
    x, y = sine_windows(np.random.default_rng(99), 4000, lookback, noise)
    val_mse, _, _ = net.evaluate(x, y, net.initial_state(4000), loss="mse", last_only=True)
    print(f"noisy sine validation MSE {val_mse:.5f} (noise variance {noise**2:.5f})")
    assert val_mse < 1.10 * noise**2
