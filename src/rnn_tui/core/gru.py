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

from rnn_tui.core._jit import kernel
from rnn_tui.core.mathfn import sigmoid, tanh


@kernel
def forward_sequence(xg, W_hh, b_hn, h0, hs, gates, ghn):
    """Run T steps. Fills ``hs`` (T+1, B, H), ``gates`` (T, B, 3H) with r, z, n and ``ghn``
    (T, B, H) with W_hn h_{t-1} + b_hn."""
    T, B, G = xg.shape
    H = G // 3
    hs[0] = h0
    for t in range(T):
        a = gates[t]
        np.dot(hs[t], W_hh, a)
        x = xg[t]
        hp = hs[t]
        hn = hs[t + 1]
        gn = ghn[t]
        for b in range(B):
            for j in range(H):
                r = sigmoid(x[b, j] + a[b, j])
                z = sigmoid(x[b, H + j] + a[b, H + j])
                hh = a[b, 2 * H + j] + b_hn[j]
                n = tanh(x[b, 2 * H + j] + r * hh)
                a[b, j] = r
                a[b, H + j] = z
                a[b, 2 * H + j] = n
                gn[b, j] = hh
                hn[b, j] = (1.0 - z) * n + z * hp[b, j]


@kernel
def backward_sequence(dhs, dhT, W_hh, hs, gates, ghn, dGx, dGh, dh_norms):
    """Backpropagate through T steps; fills ``dGx``/``dGh`` (T, B, 3H) with the gradients of the
    input and recurrent projections and ``dh_norms`` with ||dL/dh_t||. Returns dL/dh_0."""
    T, B, H = dhs.shape
    dh = dhT.copy()
    W_hhT = W_hh.T
    rec = np.empty_like(dh)
    for t in range(T - 1, -1, -1):
        gt = gates[t]
        gx = dGx[t]
        gh = dGh[t]
        up = dhs[t]
        hp = hs[t]
        gn = ghn[t]
        acc = 0.0
        for b in range(B):
            for j in range(H):
                r = gt[b, j]
                z = gt[b, H + j]
                n = gt[b, 2 * H + j]
                d = dh[b, j] + up[b, j]
                acc += d * d
                dan = d * (1.0 - z) * (1.0 - n * n)
                dar = dan * gn[b, j] * r * (1.0 - r)
                daz = d * (hp[b, j] - n) * z * (1.0 - z)
                gx[b, j] = dar
                gx[b, H + j] = daz
                gx[b, 2 * H + j] = dan
                gh[b, j] = dar
                gh[b, H + j] = daz
                gh[b, 2 * H + j] = dan * r
                dh[b, j] = d * z
        dh_norms[t] = math.sqrt(acc)
        np.dot(gh, W_hhT, rec)
        dh += rec
    return dh


@kernel
def step(xg, W_hh, b_hn, h, h_out, work):
    """One step for a batch (sampling). ``work`` is a (B, 3H) scratch buffer."""
    np.dot(h, W_hh, work)
    B, H = h.shape
    for b in range(B):
        for j in range(H):
            r = sigmoid(xg[b, j] + work[b, j])
            z = sigmoid(xg[b, H + j] + work[b, H + j])
            n = tanh(xg[b, 2 * H + j] + r * (work[b, 2 * H + j] + b_hn[j]))
            h_out[b, j] = (1.0 - z) * n + z * h[b, j]
