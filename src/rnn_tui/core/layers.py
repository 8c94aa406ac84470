r"""Layer building blocks around the cell kernels: one recurrent layer's forward/backward over a
whole sequence, embedding (and one-hot) input, dense head, inverted dropout.

A recurrent layer with gate count G (1 RNN, 4 LSTM, 3 GRU) and input x (T, B, I):

1. ``xg = x W_ih + b`` for all T steps in one matrix product (a row gather for one-hot tokens:
   :math:`\mathrm{onehot}(k) W_{ih} = W_{ih}[k]`);
2. the cell kernel walks the time steps (one ``h W_hh`` product a step, gates fused);
3. backward, the kernel walks back and leaves :math:`\delta a_t` for every t, then every weight
   gradient is one product over all steps: :math:`\partial W_{ih} = X^\top \delta A`,
   :math:`\partial W_{hh} = H_{prev}^\top \delta A`, :math:`\partial x = \delta A\, W_{ih}^\top`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnn_tui.core import gru, lstm, rnn
from rnn_tui.core._jit import kernel
from rnn_tui.core.blas import NO_TRANS, TRANS, blas_handle, mm

GATES = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
# accumulate_weight_grads' flag as NumPy booleans: a Python bool constant is typed as a literal,
# one compiled specialisation per value (see blas.NO_TRANS)
WITH_X, WITHOUT_X = np.bool_(True), np.bool_(False)
CELL_ALIASES = {"rnn_tanh": "rnn", "vanilla": "rnn", "elman": "rnn"}


def canonical_cell(name: str) -> str:
    """Normalise a cell name (``rnn``/``rnn_tanh``, ``rnn_relu``, ``lstm``, ``gru``)."""
    key = name.lower().strip()
    key = CELL_ALIASES.get(key, key)
    if key not in GATES:
        raise ValueError(f"unknown cell {name!r}; choose one of rnn, rnn_relu, lstm, gru")
    return key


@kernel
def scatter_add_rows(dst, idx, src):
    """``dst[idx[n]] += src[n]`` for every n (embedding / one-hot weight gradient)."""
    N, D = src.shape
    for n in range(N):
        row = dst[idx[n]]
        s = src[n]
        for d in range(D):
            row[d] += s[d]


@kernel
def accumulate_weight_grads(blas, x2, hprev2, dGx2, dGh2, gW_ih, gW_hh, gb_ih, gb_hh, with_x):
    """After the time loop, every weight gradient is one product over all T*B rows:
    dW_ih += X^T dGx, dW_hh += H_prev^T dGh, db_ih += sum dGx, db_hh += sum dGh."""
    mm(blas, hprev2, dGh2, gW_hh, TRANS, NO_TRANS, 1.0)
    if with_x:
        mm(blas, x2, dGx2, gW_ih, TRANS, NO_TRANS, 1.0)
    N, G = dGx2.shape
    for n in range(N):
        for j in range(G):
            gb_ih[j] += dGx2[n, j]
            gb_hh[j] += dGh2[n, j]


@kernel
def input_grad(blas, dGx2, W_ih, dx2):
    """dx = dGx W_ih^T for all T*B rows at once."""
    mm(blas, dGx2, W_ih, dx2, NO_TRANS, TRANS, 0.0)


@dataclass
class LayerCache:
    """What one layer's forward keeps for its backward."""

    cell: str
    x: np.ndarray | None  # (T, B, I) input features, or None for one-hot tokens
    tokens: np.ndarray | None  # (T, B) for one-hot input
    hs: np.ndarray  # (T+1, B, H)
    cs: np.ndarray | None = None  # LSTM (T+1, B, H)
    gates: np.ndarray | None = None  # activated gates (T, B, G*H)
    extra: np.ndarray | None = None  # LSTM tanh(c_t), GRU W_hn h + b_hn: (T, B, H)
    mask: np.ndarray | None = None  # dropout mask applied to this layer's output
    dh_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))


def input_projection(cell: str, w: dict[str, np.ndarray], x, tokens) -> np.ndarray:
    """``xg`` (T, B, G*H): x W_ih + b_ih + b_hh (for GRU, b_hh of the n gate is left out)."""
    W_ih, b_ih, b_hh = w["W_ih"], w["b_ih"], w["b_hh"]
    if tokens is not None:
        xg = np.take(W_ih, tokens, axis=0)  # one-hot input: a row gather
    else:
        T, B, inp = x.shape
        xg = (x.reshape(T * B, inp) @ W_ih).reshape(T, B, -1)
    if cell == "gru":
        H = W_hh_rows(w)
        xg[..., : 2 * H] += b_ih[: 2 * H] + b_hh[: 2 * H]
        xg[..., 2 * H :] += b_ih[2 * H :]
    else:
        xg += b_ih + b_hh
    return xg


def W_hh_rows(w: dict[str, np.ndarray]) -> int:
    return w["W_hh"].shape[0]


def layer_forward(
    cell, w, h0, c0, x=None, tokens=None
) -> tuple[LayerCache, np.ndarray, np.ndarray | None]:
    """Run one layer over the sequence. Returns (cache, h_T, c_T)."""
    blas = blas_handle()
    xg = input_projection(cell, w, x, tokens)
    T, B, _ = xg.shape
    H = W_hh_rows(w)
    dt = xg.dtype
    hs = np.empty((T + 1, B, H), dtype=dt)
    cache = LayerCache(cell, x, tokens, hs)
    if cell == "lstm":
        cs = np.empty_like(hs)
        tcs = np.empty((T, B, H), dtype=dt)
        lstm.forward_sequence(blas, xg, w["W_hh"], h0, c0, hs, cs, tcs)  # xg becomes the gates
        cache.cs, cache.gates, cache.extra = cs, xg, tcs
        return cache, hs[T], cs[T]
    if cell == "gru":
        gates = np.empty((T, B, 3 * H), dtype=dt)
        ghn = np.empty((T, B, H), dtype=dt)
        gru.forward_sequence(blas, xg, w["W_hh"], w["b_hh"][2 * H :], h0, hs, gates, ghn)
        cache.gates, cache.extra = gates, ghn
        return cache, hs[T], None
    rnn.forward_sequence(blas, xg, w["W_hh"], h0, cell == "rnn_relu", hs)
    return cache, hs[T], None


def layer_backward(cache: LayerCache, w, gw, dy, dhT, dcT, need_dx: bool = True):
    """Backward through one layer. ``dy`` (T, B, H) is dL/d(output at every step); ``dhT``/``dcT``
    the gradient on the final state. Adds weight gradients into ``gw`` (views of the flat gradient)
    and returns (dx or None, dh0, dc0 or None); the norms ||dL/dh_t|| land in ``cache.dh_norms``."""
    cell = cache.cell
    blas = blas_handle()
    hs = cache.hs
    T1, B, H = hs.shape
    T = T1 - 1
    dt = hs.dtype
    dh_norms = np.empty(T, dtype=np.float64)
    dc0 = None
    if cell == "lstm":
        dA = np.empty((T, B, 4 * H), dtype=dt)
        dh0, dc0 = lstm.backward_sequence(
            blas, dy, dhT, dcT, w["W_hh"], cache.cs, cache.gates, cache.extra, dA, dh_norms
        )
        dGx = dGh = dA
    elif cell == "gru":
        dGx = np.empty((T, B, 3 * H), dtype=dt)
        dGh = np.empty_like(dGx)
        dh0 = gru.backward_sequence(
            blas, dy, dhT, w["W_hh"], hs, cache.gates, cache.extra, dGx, dGh, dh_norms
        )
    else:
        dA = np.empty((T, B, H), dtype=dt)
        dh0 = rnn.backward_sequence(blas, dy, dhT, w["W_hh"], hs, cell == "rnn_relu", dA, dh_norms)
        dGx = dGh = dA
    cache.dh_norms = dh_norms
    G = dGx.shape[2]
    dGx2 = dGx.reshape(T * B, G)
    dGh2 = dGh.reshape(T * B, G)
    x2 = dGx2 if cache.x is None else cache.x.reshape(T * B, -1)
    accumulate_weight_grads(blas, x2, hs[:T].reshape(T * B, H), dGx2, dGh2, gw["W_ih"],
                            gw["W_hh"], gw["b_ih"], gw["b_hh"], cache.x is not None)
    if cache.tokens is not None:
        scatter_add_rows(gw["W_ih"], cache.tokens.reshape(-1), dGx2)
        return None, dh0, dc0
    if not need_dx:
        return None, dh0, dc0
    inp = cache.x.shape[2]
    dx = np.empty((T, B, inp), dtype=dt)
    input_grad(blas, dGx2, w["W_ih"], dx.reshape(T * B, inp))
    return dx, dh0, dc0


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype) -> np.ndarray:
    """Inverted dropout: keep with probability 1-p and scale by 1/(1-p)."""
    keep = rng.random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)
