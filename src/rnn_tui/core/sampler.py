r"""Fused generation: n tokens for one sequence in one GIL-free kernel call.

Per token: embedding row (or one-hot row of ``W_ih``), every layer's step as matrix-vector products
(``y += h_k W[k, :]`` row by row, which streams each weight matrix once and vectorises), the
head, then a draw from :math:`\mathrm{softmax}(z/\tau)`, optionally restricted to the top k, using
a uniform number supplied by the caller (so a seeded NumPy generator makes it repeatable).
"""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.core._jit import kernel
from rnn_tui.core.mathfn import sigmoid, tanh

CELL_CODES = {"rnn": 0, "rnn_relu": 1, "lstm": 2, "gru": 3}


@kernel
def _vecmat(x, W, out):
    """out = x W for a vector x (K,) and W (K, N), four rows at a time (axpy form): each pass
    over ``out`` adds four rows, so the loop is bound by reading W, not by storing ``out``."""
    N = out.shape[0]
    K = x.shape[0]
    for j in range(N):
        out[j] = 0.0
    k = 0
    while k + 4 <= K:
        x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
        r0, r1, r2, r3 = W[k], W[k + 1], W[k + 2], W[k + 3]
        for j in range(N):
            out[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j]
        k += 4
    while k < K:
        xk = x[k]
        row = W[k]
        for j in range(N):
            out[j] += xk * row[j]
        k += 1


@kernel
def generate(data, offs, table, cell, L, H, V, h, c, token, n, temperature, top_k, uniforms, out):
    """Generate ``n`` tokens after ``token``, updating ``h``/``c`` (L, H) in place.

    ``offs`` (L+1, 4) holds the flat offsets of each layer's W_ih, W_hh, b_ih, b_hh, and in its
    last row those of the head. ``table`` (V, G*H) is layer 0's input projection of every token
    (the rows of W_ih for one-hot input, ``embed @ W_ih`` for an embedding), so layer 0 reads
    one row instead of a matrix. Returns the last token drawn."""
    G = 1 if cell < 2 else (4 if cell == 2 else 3)
    GH = G * H
    hw_off, hb_off = offs[L, 1], offs[L, 2]
    xg = np.empty(GH, dtype=data.dtype)
    rec = np.empty(GH, dtype=data.dtype)
    z = np.empty(V, dtype=np.float64)
    logit = np.empty(V, dtype=data.dtype)
    HW = data[hw_off : hw_off + H * V].reshape((H, V))
    hb = data[hb_off : hb_off + V]
    inv_t = 1.0 / temperature
    for s in range(n):
        for layer in range(L):
            W_hh = data[offs[layer, 1] : offs[layer, 1] + H * GH].reshape((H, GH))
            b_ih = data[offs[layer, 2] : offs[layer, 2] + GH]
            b_hh = data[offs[layer, 3] : offs[layer, 3] + GH]
            if layer == 0:
                src = table[token]
                for j in range(GH):
                    xg[j] = src[j]
            else:
                W_ih = data[offs[layer, 0] : offs[layer, 0] + H * GH].reshape((H, GH))
                _vecmat(h[layer - 1], W_ih, xg)
            _vecmat(h[layer], W_hh, rec)
            hl = h[layer]
            if cell == 3:  # GRU
                for j in range(H):
                    r = sigmoid(xg[j] + b_ih[j] + rec[j] + b_hh[j])
                    u = sigmoid(xg[H + j] + b_ih[H + j] + rec[H + j] + b_hh[H + j])
                    hn = rec[2 * H + j] + b_hh[2 * H + j]
                    nn = tanh(xg[2 * H + j] + b_ih[2 * H + j] + r * hn)
                    hl[j] = (1.0 - u) * nn + u * hl[j]
            elif cell == 2:  # LSTM
                cl = c[layer]
                for j in range(H):
                    i = sigmoid(xg[j] + b_ih[j] + rec[j] + b_hh[j])
                    f = sigmoid(xg[H + j] + b_ih[H + j] + rec[H + j] + b_hh[H + j])
                    g = tanh(xg[2 * H + j] + b_ih[2 * H + j] + rec[2 * H + j] + b_hh[2 * H + j])
                    o = sigmoid(xg[3 * H + j] + b_ih[3 * H + j] + rec[3 * H + j] + b_hh[3 * H + j])
                    cc = f * cl[j] + i * g
                    cl[j] = cc
                    hl[j] = o * tanh(cc)
            elif cell == 1:
                for j in range(H):
                    hl[j] = max(xg[j] + b_ih[j] + rec[j] + b_hh[j], 0.0)
            else:
                for j in range(H):
                    hl[j] = tanh(xg[j] + b_ih[j] + rec[j] + b_hh[j])
        # head and draw
        top = h[L - 1]
        _vecmat(top, HW, logit)
        for v in range(V):
            z[v] = logit[v] + hb[v]
        m = -np.inf
        for v in range(V):
            z[v] *= inv_t
            if z[v] > m:
                m = z[v]
        cut = -np.inf
        if 0 < top_k < V:
            cut = np.sort(z)[V - top_k]
        total = 0.0
        for v in range(V):
            e = math.exp(z[v] - m) if z[v] >= cut else 0.0
            z[v] = e
            total += e
        target = uniforms[s] * total
        acc = 0.0
        pick = V - 1
        for v in range(V):
            acc += z[v]
            if acc > target and z[v] > 0.0:
                pick = v
                break
        out[s] = pick
        token = pick
    return token


def generator_offsets(net) -> np.ndarray:
    """(L+1, 4) int64: per layer the flat offsets of W_ih, W_hh, b_ih, b_hh; last row the
    offsets of the embedding and head and layer 0's input width."""
    slots = net.params.layout.slots
    L = net.spec.layers
    offs = np.zeros((L + 1, 4), dtype=np.int64)
    for layer in range(L):
        for k, name in enumerate(("W_ih", "W_hh", "b_ih", "b_hh")):
            offs[layer, k] = slots[f"l{layer}.{name}"].offset
    emb = slots.get("embed.W")
    offs[L] = (emb.offset if emb else 0, slots["head.W"].offset, slots["head.b"].offset,
               slots["l0.W_ih"].shape[0])
    return offs


def generate_tokens(net, token: int, n: int, h: np.ndarray, c: np.ndarray | None,
                    temperature: float, top_k: int, uniforms: np.ndarray) -> np.ndarray:
    """Draw ``n`` tokens following ``token``; ``h``/``c`` (L, H) are updated in place."""
    spec = net.spec
    if spec.input_mode == "real":
        raise ValueError("generation needs token input")
    out = np.empty(n, dtype=np.int64)
    cc = c if c is not None else np.zeros((1, 1), dtype=h.dtype)
    table = net.params["l0.W_ih"]
    if spec.input_mode == "embedding":
        table = net.params["embed.W"] @ table
    generate(net.params.data, generator_offsets(net), np.ascontiguousarray(table),
             CELL_CODES[spec.cell], spec.layers, spec.hidden, spec.output_size, h, cc,
             int(token), int(n), float(temperature), int(top_k),
             np.ascontiguousarray(uniforms, dtype=np.float64), out)
    return out
