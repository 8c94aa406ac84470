r"""A plain-NumPy reference of the stacked RNN / LSTM / GRU, written for clarity, not speed.

The tests hold the Numba kernels to it. Same conventions as the core: time-major (T, B, I),
input-major weights (``W_ih`` is (I, G*H), PyTorch's ``weight_ih.T``), gates in PyTorch's order.

RNN:  h_t = act(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)
LSTM: [i f g o] = [σ σ tanh σ](x_t W_ih + b_ih + h_{t-1} W_hh + b_hh);
      c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
GRU:  r = σ(x W_ir + b_ir + h W_hr + b_hr); z = σ(x W_iz + b_iz + h W_hz + b_hz);
      n = tanh(x W_in + b_in + r (h W_hn + b_hn));  h_t = (1 - z) n + z h_{t-1}
"""

from __future__ import annotations

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cell_forward(cell, x, h, c, w):
    """One time step for a batch. Returns (h_new, c_new, saved values for backward)."""
    H = h.shape[1]
    if cell in ("rnn", "rnn_relu"):
        a = x @ w["W_ih"] + w["b_ih"] + h @ w["W_hh"] + w["b_hh"]
        h_new = np.maximum(a, 0.0) if cell == "rnn_relu" else np.tanh(a)
        return h_new, None, {"h": h_new, "a": a}
    if cell == "lstm":
        a = x @ w["W_ih"] + w["b_ih"] + h @ w["W_hh"] + w["b_hh"]
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
        g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        return h_new, c_new, {"i": i, "f": f, "g": g, "o": o, "c": c_new, "c_prev": c}
    gx = x @ w["W_ih"] + w["b_ih"]
    gh = h @ w["W_hh"] + w["b_hh"]
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    h_new = (1 - z) * n + z * h
    return h_new, None, {"r": r, "z": z, "n": n, "ghn": gh[:, 2 * H :]}


def cell_backward(cell, dh, dc, x, h_prev, s, w):
    """Backward through one step given dL/dh_t (total) and dL/dc_t. Returns
    (dx, dh_prev, dc_prev, dGx, dGh): the gradients on the input projection and on h W_hh."""
    if cell in ("rnn", "rnn_relu"):
        da = dh * ((s["a"] > 0) if cell == "rnn_relu" else (1 - s["h"] ** 2))
        dGx = dGh = da
        dc_prev = None
    elif cell == "lstm":
        tc = np.tanh(s["c"])
        do = dh * tc
        dct = dc + dh * s["o"] * (1 - tc**2)
        di, dg, df = dct * s["g"], dct * s["i"], dct * s["c_prev"]
        dc_prev = dct * s["f"]
        dGx = dGh = np.concatenate([
            di * s["i"] * (1 - s["i"]), df * s["f"] * (1 - s["f"]),
            dg * (1 - s["g"] ** 2), do * s["o"] * (1 - s["o"])], axis=1)
    else:
        r, z, n = s["r"], s["z"], s["n"]
        dn = dh * (1 - z)
        dz = dh * (h_prev - n)
        dan = dn * (1 - n**2)
        dar = dan * s["ghn"] * r * (1 - r)
        daz = dz * z * (1 - z)
        dGx = np.concatenate([dar, daz, dan], axis=1)
        dGh = np.concatenate([dar, daz, dan * r], axis=1)
        dc_prev = None
    dh_prev = dGh @ w["W_hh"].T
    if cell == "gru":
        dh_prev = dh_prev + dh * s["z"]
    return dGx @ w["W_ih"].T, dh_prev, dc_prev, dGx, dGh


def stack_forward(cell, x, h0, c0, weights):
    """Run every layer over the sequence. Returns (top outputs (T,B,H), hN, cN, cache)."""
    cache = []
    hN, cN = [], []
    inp = x
    for layer, w in enumerate(weights):
        h = h0[layer]
        c = None if c0 is None else c0[layer]
        ys, saved, hs = [], [], [h]
        for t in range(inp.shape[0]):
            h, c, s = cell_forward(cell, inp[t], h, c, w)
            ys.append(h)
            hs.append(h)
            saved.append(s)
        cache.append({"x": inp, "hs": hs, "saved": saved})
        hN.append(h)
        cN.append(c)
        inp = np.stack(ys)
    return inp, np.stack(hN), (None if c0 is None else np.stack(cN)), cache


def stack_backward(cell, dy, dhN, dcN, cache, weights):
    """Backward through the stack. Returns dx, dh0, dc0 and a list of per-layer weight grads."""
    grads = [None] * len(weights)
    dh0, dc0 = [None] * len(weights), [None] * len(weights)
    d_out = dy
    for layer in range(len(weights) - 1, -1, -1):
        w, lc = weights[layer], cache[layer]
        g = {k: np.zeros_like(v) for k, v in w.items()}
        dh = dhN[layer]
        dc = None if dcN is None else dcN[layer]
        dx = np.zeros_like(lc["x"])
        for t in range(d_out.shape[0] - 1, -1, -1):
            dh = dh + d_out[t]
            dxt, dh, dc, dGx, dGh = cell_backward(
                cell, dh, dc, lc["x"][t], lc["hs"][t], lc["saved"][t], w)
            dx[t] = dxt
            g["W_ih"] += lc["x"][t].T @ dGx
            g["W_hh"] += lc["hs"][t].T @ dGh
            g["b_ih"] += dGx.sum(0)
            g["b_hh"] += dGh.sum(0)
        grads[layer], dh0[layer], dc0[layer] = g, dh, dc
        d_out = dx
    return d_out, np.stack(dh0), (None if dcN is None else np.stack(dc0)), grads


def softmax_cross_entropy(logits, targets):
    """Mean over rows with target >= 0 of -log softmax(logits)[target], and its gradient."""
    keep = targets >= 0
    n = max(int(keep.sum()), 1)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.nonzero(keep)[0]
    loss = -np.log(p[rows, targets[rows]]).sum() / n
    grad = p.copy()
    grad[rows, targets[rows]] -= 1.0
    grad[~keep] = 0.0
    return loss, grad / n


def holt_winters_reference(y, m, trend, season, alpha, beta, gamma, phi, l0, b0, s0, h):
    """Holt-Winters written out from the textbook recursions (component form, Hyndman &
    Athanasopoulos), one observation at a time, for clarity. ``season`` is "none", "add" or
    "mul"; ``s0`` holds the indices of times 0..m-1 and the recursion scores y[m:] (y[1:]
    without a season). Returns (one-step predictions of the scored part, the h-step forecast
    after y, the final level, trend and last m seasonal indices in time order)."""
    y = [float(v) for v in y]
    start = m if season != "none" else 1
    level, slope = float(l0), float(b0) if trend else 0.0
    seasonal = {t: float(s0[t]) for t in range(m)} if season != "none" else {}
    preds = []
    for t in range(start, len(y)):
        damped = level + phi * slope if trend else level
        s_old = seasonal.get(t - m, 0.0 if season == "add" else 1.0)
        if season == "mul":
            preds.append(damped * s_old)
            new_level = alpha * y[t] / s_old + (1 - alpha) * damped
            seasonal[t] = gamma * y[t] / damped + (1 - gamma) * s_old
        else:
            s_old = s_old if season == "add" else 0.0
            preds.append(damped + s_old)
            new_level = alpha * (y[t] - s_old) + (1 - alpha) * damped
            if season == "add":
                seasonal[t] = gamma * (y[t] - damped) + (1 - gamma) * s_old
        if trend:
            slope = beta * (new_level - level) + (1 - beta) * phi * slope
        level = new_level
    n = len(y)
    forecast = []
    for k in range(1, h + 1):
        trend_part = level + sum(phi**j for j in range(1, k + 1)) * slope if trend else level
        if season == "none":
            forecast.append(trend_part)
            continue
        # step k is time n - 1 + k; the latest index of its phase: m * ceil(k / m) earlier
        s = seasonal[n - 1 + k - m * ((k - 1) // m + 1)]
        forecast.append(trend_part * s if season == "mul" else trend_part + s)
    last = [seasonal[t] for t in range(n - m, n)] if season != "none" else []
    return np.array(preds), np.array(forecast), level, slope, np.array(last)
