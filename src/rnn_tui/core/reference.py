r"""The whole training and sampling step in plain NumPy, written for clarity, not speed.

The tests hold every kernel to it (the cells, the fused step, the sampler, the optimizers and
the matrix products), and a reader can start here. Same conventions as the core: time-major
(T, B, I), input-major weights (``W_ih`` is (I, G*H), PyTorch's ``weight_ih.T``), gates in
PyTorch's order. One step at a time, one product per weight per step.

RNN:  h_t = act(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh),  act = tanh | relu | sigmoid
LSTM: [i f g o] = [σ σ tanh σ](x_t W_ih + b_ih + h_{t-1} W_hh + b_hh);
      c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
GRU:  r = σ(x W_ir + b_ir + h W_hr + b_hr); z = σ(x W_iz + b_iz + h W_hz + b_hz);
      n = tanh(x W_in + b_in + r (h W_hn + b_hn));  h_t = (1 - z) n + z h_{t-1}
"""

from __future__ import annotations

import numpy as np

VANILLA = ("rnn", "rnn_relu", "rnn_sigmoid")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cell_forward(cell, x, h, c, w):
    """One time step for a batch. Returns (h_new, c_new, saved values for backward)."""
    H = h.shape[1]
    if cell in VANILLA:
        a = x @ w["W_ih"] + w["b_ih"] + h @ w["W_hh"] + w["b_hh"]
        h_new = {"rnn": np.tanh, "rnn_relu": lambda v: np.maximum(v, 0.0),
                 "rnn_sigmoid": sigmoid}[cell](a)
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
    if cell in VANILLA:
        slope = {"rnn": 1 - s["h"] ** 2, "rnn_relu": s["a"] > 0,
                 "rnn_sigmoid": s["h"] * (1 - s["h"])}[cell]
        da = dh * slope
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


def bidirectional_forward(cell, x, lengths, weights):
    """A stack of bidirectional layers over right-padded sequences from a zero state: each
    layer's backward direction reads every sequence reversed within its own length, one
    sequence at a time (no batching tricks). ``weights`` is a list of (forward, backward)
    weight dicts. Returns the top layer's outputs (T, B, 2H), the padding positions zero."""
    T, B, _ = x.shape
    inp = x
    for w_f, w_b in weights:
        H = w_f["W_hh"].shape[0]
        out = np.zeros((T, B, 2 * H))
        for b in range(B):
            n = int(lengths[b])
            for d, w in ((0, w_f), (1, w_b)):
                h = np.zeros((1, H))
                c = np.zeros((1, H)) if cell == "lstm" else None
                steps = range(n) if d == 0 else range(n - 1, -1, -1)
                for t in steps:
                    h, c, _ = cell_forward(cell, inp[t, b : b + 1], h, c, w)
                    out[t, b, d * H : (d + 1) * H] = h[0]
        inp = out
    return inp


def input_gradient(cell, x, length, layers, head_W, head_b, position, objective):
    r"""The gradient of one scalar of the head's output with respect to every input vector of
    one sequence, one step at a time. ``x`` (T, I): the first-layer input vectors (embedding
    rows, one-hot columns or real values), of which the first ``length`` are real; read from
    a zero state by a stack of layers, each a tuple of one weight dict per direction (one:
    unidirectional; two: forward, then backward over the sequence reversed). The head reads
    the top layer's output at ``position`` or, with None, the many-to-one summary
    :math:`[\overrightarrow{h}_{n-1}, \overleftarrow{h}_0]`; ``objective`` maps the (1, O)
    output to ((1,) value f, (1, O) df/do). Returns (f, df/dx (T, I)), zero on the padding.

    Backward, each direction walks its own steps in reverse: :math:`\delta h_t` gathers the
    gradient from above and from step t+1, and the input gets
    :math:`\partial x_t = \delta a_t W_{ih}^\top` from every direction of the first layer."""
    n = int(length)
    inp = np.asarray(x, dtype=np.float64)[:n]
    caches = []
    for dirs in layers:
        outs, kept = [], []
        for d, w in enumerate(dirs):
            H = w["W_hh"].shape[0]
            h = np.zeros((1, H))
            c = np.zeros((1, H)) if cell == "lstm" else None
            out = np.zeros((n, H))
            steps = list(range(n)) if d == 0 else list(range(n - 1, -1, -1))
            saved = []
            for t in steps:
                h_prev = h
                h, c, s = cell_forward(cell, inp[t : t + 1], h, c, w)
                out[t] = h[0]
                saved.append((t, h_prev, s))
            outs.append(out)
            kept.append(saved)
        caches.append((inp, kept))
        inp = np.concatenate(outs, axis=1)
    D = len(layers[-1])
    H = layers[-1][0]["W_hh"].shape[0]
    if position is None:
        read = inp[n - 1].copy()
        if D == 2:
            read[H:] = inp[0, H:]
    else:
        read = inp[position]
    o = read[None, :] @ head_W + head_b
    f, do = objective(o)
    d_read = (np.asarray(do) @ head_W.T)[0]
    d_out = np.zeros_like(inp)
    if position is None and D == 2:
        d_out[n - 1, :H] += d_read[:H]
        d_out[0, H:] += d_read[H:]
    elif position is None:
        d_out[n - 1] += d_read
    else:
        d_out[position] += d_read
    for dirs, (layer_in, kept) in zip(reversed(layers), reversed(caches), strict=True):
        d_in = np.zeros_like(layer_in)
        for d, (w, saved) in enumerate(zip(dirs, kept, strict=True)):
            H = w["W_hh"].shape[0]
            dh = np.zeros((1, H))
            dc = np.zeros((1, H)) if cell == "lstm" else None
            for t, h_prev, s in reversed(saved):
                dh = dh + d_out[t : t + 1, d * H : (d + 1) * H]
                dxt, dh, dc, _, _ = cell_backward(cell, dh, dc, layer_in[t : t + 1], h_prev,
                                                  s, w)
                d_in[t] += dxt[0]
        d_out = d_in
    dx = np.zeros_like(np.asarray(x, dtype=np.float64))
    dx[:n] = d_out
    return np.asarray(f, dtype=np.float64), dx


def matmul(A, B, C, trans_a=False, trans_b=False, beta=0.0):
    """op(A) op(B) + beta C, op a transpose where asked (the BLAS products' contract)."""
    return (A.T if trans_a else A) @ (B.T if trans_b else B) + beta * C


def lm_step(cell, tokens, targets, h0, c0, params, onehot=False):
    r"""A token language model's forward and backward: embedding, the stack, the head, the
    mean softmax cross-entropy over the targets >= 0, and back.

    ``params`` maps the core's parameter names (``embed.W`` (V, E) unless ``onehot``,
    ``l{k}.W_ih`` ..., ``head.W`` (H, V), ``head.b``) to arrays. The embedding is a row gather,
    :math:`x_t = E[\text{token}_t]` (one-hot: :math:`x_t = e_{\text{token}_t}`); the head
    :math:`z = h^{top} W + b`. Returns (loss, grads by name, hN, cN)."""
    T, B = tokens.shape
    L = h0.shape[0]
    weights = [{k: params[f"l{layer}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
               for layer in range(L)]
    if onehot:
        x = np.eye(weights[0]["W_ih"].shape[0])[tokens]
    else:
        x = params["embed.W"][tokens]
    top, hN, cN, cache = stack_forward(cell, x, h0, c0, weights)
    H = top.shape[2]
    Wo, bo = params["head.W"], params["head.b"]
    flat = top.reshape(T * B, H)
    loss, dlogits = softmax_cross_entropy(flat @ Wo + bo, targets.reshape(-1))
    grads = {"head.W": flat.T @ dlogits, "head.b": dlogits.sum(0)}
    dtop = (dlogits @ Wo.T).reshape(T, B, H)
    dx, _, _, layer_grads = stack_backward(cell, dtop, np.zeros_like(hN),
                                           None if cN is None else np.zeros_like(cN), cache,
                                           weights)
    for layer, g in enumerate(layer_grads):
        for k, v in g.items():
            grads[f"l{layer}.{k}"] = v
    if not onehot:
        gemb = np.zeros_like(params["embed.W"])
        np.add.at(gemb, tokens.reshape(-1), dx.reshape(T * B, -1))
        grads["embed.W"] = gemb
    return loss, grads, hN, cN


def clip_global_norm(grads, max_norm):
    r"""Scale every gradient by :math:`\min(1, c / \lVert g \rVert)`, the norm over all of
    them together. Returns the norm before clipping."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if max_norm > 0 and norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return norm


def optimizer_updates(name, p, grads, lr, **hyper):
    r"""Parameters after one optimizer step per gradient in ``grads``, from zero state
    (PyTorch's forms, float64). SGD: :math:`m \leftarrow \mu m + g`, :math:`p \leftarrow p -
    \eta m` (Nesterov: :math:`p - \eta (g + \mu m)`); Adam(W): bias-corrected first and second
    moments, :math:`p \leftarrow p - \eta \hat m / (\sqrt{\hat v} + \epsilon)`, weight decay
    added to the gradient (Adam) or applied to the weights (AdamW); Adagrad: :math:`v
    \leftarrow v + g^2`; RMSprop: :math:`v \leftarrow 0.99 v + 0.01 g^2`, both :math:`p
    \leftarrow p - \eta g / (\sqrt v + \epsilon)`."""
    p = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            mu, wd = hyper.get("momentum", 0.9), hyper.get("weight_decay", 0.0)
            g = g + wd * p
            m = mu * m + g
            p = p - lr * ((g + mu * m) if hyper.get("nesterov") else m)
        elif name in ("adam", "adamw"):
            b1, b2, eps = 0.9, 0.999, 1e-8
            wd = hyper.get("weight_decay", 0.01 if name == "adamw" else 0.0)
            if name == "adamw":
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
            p = p - lr * mhat / (np.sqrt(vhat) + eps)
        elif name == "adagrad":
            v = v + g * g
            p = p - lr * g / (np.sqrt(v) + 1e-8)
        elif name == "rmsprop":
            v = 0.99 * v + 0.01 * g * g
            p = p - lr * g / (np.sqrt(v) + 1e-8)
        else:
            raise ValueError(f"unknown optimizer {name!r}")
    return p


def draw(logits, temperature, top_k, u):
    r"""One token from :math:`p \propto \exp(z / \tau)` over the ``top_k`` largest logits (all
    when 0): the first token whose cumulative weight passes ``u`` times the total (inverse CDF,
    ``u`` uniform in [0, 1))."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if 0 < top_k < z.size:
        z = np.where(z >= np.sort(z)[-top_k], z, -np.inf)
    e = np.exp(z - z.max())
    c = np.cumsum(e)
    return int(np.flatnonzero((c > u * c[-1]) & (e > 0))[0])


def generate(cell, params, token, n, h, c, temperature, top_k, uniforms, onehot=False):
    """``n`` tokens drawn after ``token`` from state ``h``/``c`` (L, H): each token embedded,
    stepped through the stack, the head's logits drawn from (:func:`draw`, ``uniforms[s]`` for
    the s-th) and fed back in. Returns (tokens, h, c)."""
    L = h.shape[0]
    weights = [{k: params[f"l{layer}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
               for layer in range(L)]
    hs = [h[layer : layer + 1] for layer in range(L)]
    cs = [None if c is None else c[layer : layer + 1] for layer in range(L)]
    out = []
    for s in range(n):
        if onehot:
            x = np.eye(weights[0]["W_ih"].shape[0])[[token]]
        else:
            x = params["embed.W"][[token]]
        for layer, w in enumerate(weights):
            hs[layer], cs[layer], _ = cell_forward(cell, x, hs[layer], cs[layer], w)
            x = hs[layer]
        token = draw(x[0] @ params["head.W"] + params["head.b"], temperature, top_k,
                     uniforms[s])
        out.append(token)
    return (out, np.concatenate(hs), None if c is None else np.concatenate(cs))
