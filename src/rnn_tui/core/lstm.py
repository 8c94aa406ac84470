r"""LSTM layer, PyTorch's ``nn.LSTM`` equations, gates in the order i, f, g, o.

.. math::
    a_t &= x_t W_{ih} + b_{ih} + h_{t-1} W_{hh} + b_{hh} = [a^i, a^f, a^g, a^o] \\
    i &= \sigma(a^i),\ f = \sigma(a^f),\ g = \tanh(a^g),\ o = \sigma(a^o) \\
    c_t &= f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)

Backward, with :math:`\delta h_t` the total gradient on :math:`h_t` and :math:`\delta c_t` the
gradient arriving from step t+1:

.. math::
    \delta o &= \delta h_t \tanh c_t, \quad
    \delta c = \delta c_t + \delta h_t\, o\,(1-\tanh^2 c_t) \\
    \delta i &= \delta c\, g,\ \delta g = \delta c\, i,\ \delta f = \delta c\, c_{t-1},\
    \delta c_{t-1} = \delta c\, f \\
    \delta a &= [\delta i\, i(1-i),\ \delta f\, f(1-f),\ \delta g\,(1-g^2),\ \delta o\, o(1-o)],
    \quad \delta h_{t-1} \mathrel{+}= \delta a\, W_{hh}^\top

Weights input-major: ``W_ih`` (I, 4H), ``W_hh`` (H, 4H).
"""

from __future__ import annotations

import math

from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.blas import PLAIN, TRANSPOSED, copy_rows, rec_mm, rec_prepare
from rnn_tui.core.fast.mathfn import sigmoid, tanh


@kernel(internal=True, by_address=True)  # called by layers.sequence_forward
def forward_sequence(blas, gates, W_hh, h0, c0, hs, cs, tcs):
    """Run T steps. On entry ``gates`` (T, B, 4H) holds the input projection with both biases
    added; each step adds ``h_{t-1} W_hh`` to it in place (one GEMM with beta = 1) and replaces
    it with the activated i, f, g, o. Fills ``hs``/``cs`` (T+1, B, H) (index 0 = initial state)
    and ``tcs`` (T, B, H) with tanh(c_t)."""
    T, B, G = gates.shape
    H = G // 4
    copy_rows(h0, hs[0])
    copy_rows(c0, cs[0])
    wp = rec_prepare(blas, W_hh, PLAIN, B, T)
    for t in range(T):
        gt, cp, cn, hn, tc = gates[t], cs[t], cs[t + 1], hs[t + 1], tcs[t]
        rec_mm(blas, hs[t], W_hh, wp, PLAIN, gt, 1.0)
        for b in range(B):
            # Short single-purpose loops: each touches few arrays, so LLVM can prove them
            # alias-free with few runtime checks and vectorise every one of them. (Written
            # out here rather than as a helper inlined by Numba, whose copy of the helper's
            # IR at every inlining was a tenth of a second of each cold compile.)
            gb = gt[b]
            cpb, cnb, hnb, tcb = cp[b], cn[b], hn[b], tc[b]
            for j in range(2 * H):
                gb[j] = sigmoid(gb[j])
            for j in range(2 * H, 3 * H):
                gb[j] = tanh(gb[j])
            for j in range(3 * H, G):
                gb[j] = sigmoid(gb[j])
            for j in range(H):
                cnb[j] = gb[H + j] * cpb[j] + gb[j] * gb[2 * H + j]
            for j in range(H):
                tcb[j] = tanh(cnb[j])
            for j in range(H):
                hnb[j] = gb[3 * H + j] * tcb[j]


@kernel(internal=True, by_address=True)  # called by layers.sequence_backward
def backward_sequence(blas, dhs, dhT, dcT, W_hh, cs, gates, tcs, dA, dh_norms):
    """Backpropagate through T steps; fills ``dA`` (T, B, 4H) with dL/da_t and ``dh_norms`` with
    ||dL/dh_t||. Returns (dL/dh_0, dL/dc_0)."""
    T, B, H = dhs.shape
    dh = dhT.copy()
    dc = dcT.copy()
    wp = rec_prepare(blas, W_hh, TRANSPOSED, B, T)
    for t in range(T - 1, -1, -1):
        gt, da, up, cp, tc = gates[t], dA[t], dhs[t], cs[t], tcs[t]
        # one step back for every row: ``dh`` in with dL/dh_t from step t+1 (it holds
        # d = dh_t + up in place; the product below overwrites it), ``dc`` out with dL/dc_{t-1}
        acc = 0.0
        for b in range(B):
            # single-purpose loops over rows (few arrays each, so LLVM vectorises them)
            gb, dab, upb, cpb, tcb, dhb, dcb = gt[b], da[b], up[b], cp[b], tc[b], dh[b], dc[b]
            for j in range(H):
                dhb[j] += upb[j]
            for j in range(H):
                acc += dhb[j] * dhb[j]
            for j in range(H):  # dc = dc_t + d o (1 - tanh^2 c_t)
                dcb[j] += dhb[j] * gb[3 * H + j] * (1.0 - tcb[j] * tcb[j])
            for j in range(H):  # o
                o = gb[3 * H + j]
                dab[3 * H + j] = dhb[j] * tcb[j] * o * (1.0 - o)
            for j in range(H):  # i
                i = gb[j]
                dab[j] = dcb[j] * gb[2 * H + j] * i * (1.0 - i)
            for j in range(H):  # f
                f = gb[H + j]
                dab[H + j] = dcb[j] * cpb[j] * f * (1.0 - f)
            for j in range(H):  # g
                g = gb[2 * H + j]
                dab[2 * H + j] = dcb[j] * gb[j] * (1.0 - g * g)
            for j in range(H):  # dc_{t-1} = dc f
                dcb[j] *= gb[H + j]
        dh_norms[t] = math.sqrt(acc)
        rec_mm(blas, da, W_hh, wp, TRANSPOSED, dh, 0.0)
    return dh, dc
