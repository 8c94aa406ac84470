r"""Vanilla (Elman) RNN layer, PyTorch's ``nn.RNN`` equations.

.. math::
    a_t = x_t W_{ih} + b_{ih} + h_{t-1} W_{hh} + b_{hh}, \qquad h_t = \phi(a_t),
    \quad \phi \in \{\tanh, \mathrm{relu}, \sigma\}

(``rnn_sigmoid`` is not one of PyTorch's: it is the activation of the textbooks' hand-derived
BPTT example, :math:`\sigma'(a) = h (1 - h)`, whose factor of at most 1/4 per step makes the
gradient vanish fast.)

Backward, with :math:`\delta h_t = \partial L/\partial h_t` (from the output at t plus from
step t+1):

.. math::
    \delta a_t = \delta h_t \odot \phi'(a_t), \qquad
    \delta h_{t-1} \mathrel{+}= \delta a_t W_{hh}^\top

Weights are stored input-major: ``W_ih`` is (I, H) = PyTorch's ``weight_ih.T``. The input
projection ``xg = x W_ih + b_ih + b_hh`` of the whole sequence is computed by the caller in one
product; the weight gradients are one product each after the loop
(:math:`\partial W_{hh} = \sum_t h_{t-1}^\top \delta a_t`).
"""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.core.cells import RNN_RELU, RNN_SIGMOID
from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.blas import PLAIN, TRANSPOSED, copy_rows, rec_mm, rec_prepare
from rnn_tui.core.fast.mathfn import sigmoid, tanh


@kernel(internal=True, by_address=True)  # called by layers.sequence_forward
def forward_sequence(blas, xg, W_hh, h0, act, hs):
    """Run T steps with activation ``act`` (the cell code: tanh, relu or sigmoid). ``xg``
    (T, B, H) holds the input projection with both biases added; ``hs`` (T+1, B, H) receives
    h0 at index 0 and h_t at index t+1."""
    T, B, H = xg.shape
    copy_rows(h0, hs[0])
    rec = np.empty((B, H), dtype=xg.dtype)
    zero = xg.dtype.type(0.0)
    wp = rec_prepare(blas, W_hh, PLAIN, B, T)
    for t in range(T):
        rec_mm(blas, hs[t], W_hh, wp, PLAIN, rec, 0.0)
        out = hs[t + 1]
        x = xg[t]
        for b in range(B):
            if act == RNN_RELU:
                for j in range(H):
                    out[b, j] = max(x[b, j] + rec[b, j], zero)
            elif act == RNN_SIGMOID:
                for j in range(H):
                    out[b, j] = sigmoid(x[b, j] + rec[b, j])
            else:
                for j in range(H):
                    out[b, j] = tanh(x[b, j] + rec[b, j])


@kernel(internal=True, by_address=True)  # called by layers.sequence_backward
def backward_sequence(blas, dhs, dhT, W_hh, hs, act, dA, dh_norms):
    """Backpropagate through T steps. ``dhs`` (T, B, H) is dL/dh_t from above (the output at t),
    ``dhT`` the gradient on the final state. Fills ``dA`` (T, B, H) with dL/da_t and ``dh_norms``
    (T,) with ||dL/dh_t||; returns dL/dh_0."""
    T, B, H = dhs.shape
    dh = dhT.copy()
    wp = rec_prepare(blas, W_hh, TRANSPOSED, B, T)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        g = dhs[t]
        da = dA[t]
        acc = 0.0
        for b in range(B):
            for j in range(H):
                d = dh[b, j] + g[b, j]
                acc += d * d
                if act == RNN_RELU:
                    da[b, j] = d if h[b, j] > 0 else 0.0
                elif act == RNN_SIGMOID:
                    da[b, j] = d * h[b, j] * (1.0 - h[b, j])
                else:
                    da[b, j] = d * (1.0 - h[b, j] * h[b, j])
        dh_norms[t] = math.sqrt(acc)
        rec_mm(blas, da, W_hh, wp, TRANSPOSED, dh, 0.0)
    return dh

