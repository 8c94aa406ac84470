r"""GRU layer, PyTorch's ``nn.GRU`` equations, gates in the order r, z, n.

.. math::
    g^x_t &= x_t W_{ih} + b_{ih}, \qquad g^h_t = h_{t-1} W_{hh} + b_{hh} \\
    r &= \sigma(g^x_r + g^h_r), \quad z = \sigma(g^x_z + g^h_z), \quad
    n = \tanh(g^x_n + r \odot g^h_n) \\
    h_t &= (1 - z) \odot n + z \odot h_{t-1}

The reset gate multiplies :math:`W_{hn} h + b_{hn}`, so the two bias vectors are not
interchangeable for the n gate. Backward:

.. math::
    \delta n = \delta h_t (1-z),\quad \delta z = \delta h_t (h_{t-1} - n),\quad
    \delta a^n = \delta n (1 - n^2),\quad \delta a^r = \delta a^n g^h_n\, r(1-r),\quad
    \delta a^z = \delta z\, z(1-z) \\
    \delta g^x = [\delta a^r, \delta a^z, \delta a^n], \quad
    \delta g^h = [\delta a^r, \delta a^z, r\,\delta a^n], \quad
    \delta h_{t-1} = \delta h_t z + \delta g^h W_{hh}^\top

``xg`` passed to the kernels holds :math:`x W_{ih} + b_{ih}` plus :math:`b_{hh}` for the r and z
blocks only; ``b_hn`` is passed separately.
"""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.blas import PLAIN, TRANSPOSED, copy_rows, rec_mm, rec_prepare
from rnn_tui.core.fast.mathfn import sigmoid, tanh


@kernel(internal=True, by_address=True)  # called by layers.sequence_forward
def forward_sequence(blas, xg, W_hh, b_hn, h0, hs, gates, ghn):
    """Run T steps. Fills ``hs`` (T+1, B, H), ``gates`` (T, B, 3H) with r, z, n and ``ghn``
    (T, B, H) with W_hn h_{t-1} + b_hn."""
    T, B, G = xg.shape
    H = G // 3
    copy_rows(h0, hs[0])
    pre = np.empty((B, G), dtype=xg.dtype)  # separate from gates: no aliasing, so it vectorises
    wp = rec_prepare(blas, W_hh, PLAIN, B, T)
    for t in range(T):
        x, gt, hp, hn, gn = xg[t], gates[t], hs[t], hs[t + 1], ghn[t]
        rec_mm(blas, hp, W_hh, wp, PLAIN, pre, 0.0)  # pre = h_{t-1} W_hh
        for b in range(B):
            # Short single-purpose loops vectorise (see lstm.forward_sequence).
            xb, pb, gb = x[b], pre[b], gt[b]
            hpb, hnb, gnb = hp[b], hn[b], gn[b]
            for j in range(2 * H):
                gb[j] = sigmoid(xb[j] + pb[j])
            for j in range(H):
                gnb[j] = pb[2 * H + j] + b_hn[j]
            for j in range(H):
                gb[2 * H + j] = tanh(xb[2 * H + j] + gb[j] * gnb[j])
            for j in range(H):
                z = gb[H + j]
                hnb[j] = (1.0 - z) * gb[2 * H + j] + z * hpb[j]


@kernel(internal=True, by_address=True)  # called by layers.sequence_backward
def backward_sequence(blas, dhs, dhT, W_hh, hs, gates, ghn, dGx, dGh, dh_norms):
    """Backpropagate through T steps; fills ``dGx``/``dGh`` (T, B, 3H) with the gradients of the
    input and recurrent projections and ``dh_norms`` with ||dL/dh_t||. Returns dL/dh_0."""
    T, B, H = dhs.shape
    dh = dhT.copy()
    wp = rec_prepare(blas, W_hh, TRANSPOSED, B, T)
    for t in range(T - 1, -1, -1):
        gt, gx, gh, up, hp, gn = gates[t], dGx[t], dGh[t], dhs[t], hs[t], ghn[t]
        # one step back for every row: ``dh`` in with dL/dh_t from step t+1; it holds
        # d = dh_t + up, then d z (the part that skips W_hh), to which the product adds
        acc = 0.0
        for b in range(B):
            # single-purpose loops over rows (few arrays each, so LLVM vectorises them)
            gb, gxb, ghb, upb, hpb, gnb, dhb = gt[b], gx[b], gh[b], up[b], hp[b], gn[b], dh[b]
            for j in range(H):
                dhb[j] += upb[j]
            for j in range(H):
                acc += dhb[j] * dhb[j]
            for j in range(H):  # da_n = d (1 - z) (1 - n^2)
                z = gb[H + j]
                n = gb[2 * H + j]
                gxb[2 * H + j] = dhb[j] * (1.0 - z) * (1.0 - n * n)
            for j in range(H):  # da_r = da_n (W_hn h + b_hn) r (1 - r)
                r = gb[j]
                gxb[j] = gxb[2 * H + j] * gnb[j] * r * (1.0 - r)
            for j in range(H):  # da_z = d (h_{t-1} - n) z (1 - z)
                z = gb[H + j]
                gxb[H + j] = dhb[j] * (hpb[j] - gb[2 * H + j]) * z * (1.0 - z)
            for j in range(2 * H):
                ghb[j] = gxb[j]
            for j in range(H):
                ghb[2 * H + j] = gxb[2 * H + j] * gb[j]
            for j in range(H):
                dhb[j] *= gb[H + j]
        dh_norms[t] = math.sqrt(acc)
        rec_mm(blas, gh, W_hh, wp, TRANSPOSED, dh, 1.0)
    return dh
