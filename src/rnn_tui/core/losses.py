r"""Losses, fused with their gradients.

Softmax cross-entropy over N rows of V logits, rows with a negative target ignored, mean over the
counted rows (nats per token):

.. math::
    p = \mathrm{softmax}(z) = e^{z - m} / \textstyle\sum_k e^{z_k - m}, \quad m = \max_k z_k \\
    L = \frac{1}{N'} \sum_n -\log p_{n, y_n}
      = \frac{1}{N'}\sum_n \big(m_n + \log \textstyle\sum_k e^{z_{nk} - m_n} - z_{n y_n}\big), \quad
    \frac{\partial L}{\partial z_n} = \frac{p_n - \mathrm{onehot}(y_n)}{N'}

Subtracting the row max keeps ``exp`` from overflowing. MSE is the mean of squared errors over
all elements: :math:`L = \frac1M\sum (y - t)^2`, :math:`\partial L/\partial y = 2 (y - t) / M`.
"""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.core.fast._jit import call_by_address, kernel


@kernel
def _softmax_xent(logits, targets, grad):
    N, V = logits.shape
    count = 0
    for n in range(N):
        if targets[n] >= 0:
            count += 1
    total = 0.0
    if count == 0:
        grad[:] = 0.0
        return 0.0, 0
    scale = 1.0 / count
    for n in range(N):
        row = logits[n]
        out = grad[n]
        y = targets[n]
        if y < 0:
            out[:] = 0.0
            continue
        zy = row[y]  # read before ``grad`` (which may be ``logits`` itself) is written
        m = row[0]
        for k in range(1, V):
            if row[k] > m:
                m = row[k]
        s = 0.0
        for k in range(V):
            e = math.exp(row[k] - m)
            out[k] = e
            s += e
        inv = 1.0 / s
        for k in range(V):
            out[k] = out[k] * inv * scale
        out[y] -= scale
        total += m + math.log(s) - zy
    return total / count, count


call_softmax_xent = call_by_address(_softmax_xent)  # as the fused step calls it


def softmax_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, grad: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` (N, V) against int ``targets`` (N,) (negative = ignored).
    Returns ``(loss, dloss/dlogits)``; ``grad`` may be given to reuse a buffer."""
    logits = np.ascontiguousarray(logits)
    if grad is None:
        grad = np.empty_like(logits)
    loss, _ = _softmax_xent(logits, np.ascontiguousarray(targets, dtype=np.int64), grad)
    return float(loss), grad


@kernel
def _mse(y, t, grad):
    n = y.size
    yf = y.ravel()
    tf = t.ravel()
    gf = grad.ravel()
    total = 0.0
    scale = 2.0 / n
    for i in range(n):
        d = yf[i] - tf[i]
        total += d * d
        gf[i] = scale * d
    return total / n


def mse(y: np.ndarray, t: np.ndarray, grad: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements and its gradient with respect to ``y``."""
    y = np.ascontiguousarray(y)
    t = np.ascontiguousarray(t, dtype=y.dtype)
    if y.shape != t.shape:
        raise ValueError(f"prediction shape {y.shape} != target shape {t.shape}")
    if grad is None:
        grad = np.empty_like(y)
    return float(_mse(y, t, grad)), grad

