r"""What the model view shows: the network unrolled over the first steps of one sequence, and
live statistics for every row of ``rnn-tui summary``'s table.

One forward pass (zero state, no dropout) over a small batch gives, for sequence 0, each step's
input label, the first units of :math:`h_t` of every layer and direction (the backward
direction's :math:`\overleftarrow{h}_t` has read tokens t..n-1), and the head's output: the top
class and its softmax probability, or the value, at every step (many-to-many) or at the last
only (many-to-one). Over the whole batch's real steps, per row: the mean and standard
deviation of the row's output, the share of saturated units, the norm :math:`\lVert W\rVert`
of the row's weights and :math:`\lVert W - W_{prev}\rVert / \lVert W\rVert` for the last update.

A unit is saturated where its nonlinearity is flat: a sigmoid below 0.1 or above 0.9
(:data:`SATURATED`), a tanh beyond :data:`TANH_SATURATED` in absolute
value (its slope :math:`1 - \tanh^2` is then below 0.19), a ReLU at zero. For an LSTM and a
GRU every gate value counts (sigmoid gates and the tanh candidate).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.core.anatomy import network_anatomy
from rnn_tui.core.network import Network, reversal_order

SATURATED = 0.1  # a sigmoid below 0.1 is left-saturated, above 0.9 right-saturated
STEPS = 8  # steps of the sequence sent (the view draws as many as fit)
STRIP_UNITS = 12  # units of h_t in each strip
TANH_SATURATED = 0.9
# which gate blocks are tanh (the rest are sigmoid), per gated cell
TANH_BLOCKS = {"lstm": (2,), "gru": (2,)}


def _fmt_shape(row) -> str:
    return "(" + ", ".join(str(n) for n in row.output) + ")"


def _saturated(cell: str, cache, mask: np.ndarray) -> float:
    """The share of saturated values among the layer's nonlinearity outputs on real steps."""
    w = mask.astype(np.float64)[:, :, None]
    n = max(float(w.sum()), 1.0)
    if cache.gates is not None and cell in TANH_BLOCKS:
        G = cache.gates.shape[2] // cache.hs.shape[2]
        H = cache.hs.shape[2]
        count = 0.0
        for g in range(G):
            block = cache.gates[:, :, g * H : (g + 1) * H].astype(np.float64)
            if g in TANH_BLOCKS[cell]:
                flat = np.abs(block) > TANH_SATURATED
            else:
                flat = (block < SATURATED) | (block > 1 - SATURATED)
            count += float((w * flat).sum())
        return count / (n * H * G)
    h = cache.hs[1:].astype(np.float64)
    if cell == "rnn_relu":
        flat = h <= 0
    elif cell == "rnn_sigmoid":
        flat = (h < SATURATED) | (h > 1 - SATURATED)
    else:
        flat = np.abs(h) > TANH_SATURATED
    return float((w * flat).sum()) / (n * h.shape[2])


def _moments(values: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of (T, B, F) values over the steps ``mask`` (T, B) keeps."""
    v = values[mask].astype(np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())


def model_snapshot(net: Network, x: np.ndarray, tokens: list[str], last_only: bool,
                   output_names: list[str] | None, before: np.ndarray | None = None,
                   lengths: np.ndarray | None = None, batch: int = 1,
                   time: int = 1) -> dict[str, Any]:
    """The fields of the model view's event (:class:`~rnn_tui.train.events.ModelSnapshot`)
    for a batch ``x`` (T, B, ...) whose sequence 0 is labelled by
    ``tokens``. ``output_names``: the head's classes (None: its outputs are values);
    ``before``: the flat weights before the last update; ``batch`` and ``time``: the training
    step's shape, for the table's output shapes."""
    spec = net.spec
    T, B = x.shape[0], x.shape[1]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    n = max(int(min(lengths[0], len(tokens))), 1)
    # the first steps, and the last one (where a many-to-one model answers)
    times = list(range(n)) if n <= STEPS else [*range(STEPS - 1), n - 1]
    fwd = net.forward(x, net.initial_state(B), lengths=lengths)
    mask = np.arange(T)[:, None] < lengths[None, :]
    anatomy = network_anatomy(spec, batch, time, last_only)
    # h_t strips, forward and backward (each backward state put at the time it read last)
    strips = []
    U = min(STRIP_UNITS, spec.hidden)
    order = reversal_order(lengths, T, B) if fwd.reverse else None
    for k, cache in enumerate(fwd.layers):
        dirs = [cache.hs[1:, 0]]
        if fwd.reverse:
            rev = fwd.reverse[k].hs[1:, 0]
            back = np.zeros_like(rev)
            back[order[:n, 0]] = rev[:n]
            dirs.append(back)
        strips.append([np.round(d[times, :U].astype(np.float64), 2).tolist() for d in dirs])
    # the head's outputs: at every step, or the summary's at the last
    W = fwd.y.shape[2]
    if last_only:
        head_out = net.head(net.summary(fwd))
        answers = {n - 1: head_out[0]}
        outs = head_out
    else:
        head_out = net.head(fwd.y.reshape(T * B, W)).reshape(T, B, -1)
        answers = {t: head_out[t, 0] for t in times}
        outs = head_out[mask]
    outputs, probs = [""] * len(times), [float("nan")] * len(times)
    for i, t in enumerate(times):
        if t not in answers:
            continue
        y = answers[t].astype(np.float64)
        if output_names is None:
            outputs[i] = f"{y[0]:+.2f}"
            continue
        p = np.exp(y - y.max())
        p /= p.sum()
        top = int(p.argmax())
        outputs[i] = output_names[top] if top < len(output_names) else str(top)
        probs[i] = round(float(p[top]), 3)
    # statistics per row of the table
    flat, layout = net.params.data, net.params.layout
    stats: dict[str, list[float]] = {k: [] for k in ("mean", "std", "sat", "norm", "upd")}
    for row in anatomy.rows:
        mean = std = sat = float("nan")
        if row.kind == "embedding":
            mean, std = _moments(net.input_vectors(x), mask)
        elif row.kind == "real":
            mean, std = _moments(np.asarray(x), mask)
        elif row.kind == "recurrent":
            k = int(row.group[1:].rstrip("r"))
            cache = fwd.reverse[k] if row.direction == "backward" else fwd.layers[k]
            mean, std = _moments(cache.hs[1:], mask)  # step s of either direction is real
            # exactly when s < length: the same mask
            sat = _saturated(spec.cell, cache, mask)
        elif row.kind == "head":
            mean, std = float(np.mean(outs)), float(np.std(outs))
        _add_row_stats(stats, row, layout, flat, before, mean, std, sat)
    return dict(
        cell=spec.cell, units=spec.hidden, inputs=[tokens[t] for t in times], times=times,
        h=strips, outputs=outputs, probs=probs, last_only=last_only,
        real_output=output_names is None, rows=[r.name for r in anatomy.rows],
        shapes=[_fmt_shape(r) for r in anatomy.rows], params=[r.params for r in anatomy.rows],
        act_mean=stats["mean"], act_std=stats["std"], saturated=stats["sat"],
        weight_norm=stats["norm"], update_ratio=stats["upd"])


def seq2seq_snapshot(model, src_ids: np.ndarray, src_tokens: list[str], tgt_tokens: list[str],
                     max_len: int, before: np.ndarray | None = None, batch: int = 1,
                     tgt_len: int = 1) -> dict[str, Any]:
    """The model view's event for an encoder-decoder (:class:`~rnn_tui.models.seq2seq.Seq2Seq`)
    translating one source ``src_ids`` (S,) greedily: the encoder's chain over the source (no
    y), the decoder's over what it writes (its input at each step the previous output, y_t the
    token written and its probability), the attention weights of every decoder step over the
    source steps shown, and the statistics of each row of its table."""
    from rnn_tui.data.pairs import BOS, Batch
    from rnn_tui.models.seq2seq import seq2seq_anatomy

    S = len(src_ids)
    src = np.asarray(src_ids, dtype=np.int64).reshape(-1, 1)
    src_len = np.array([S])
    res = model.greedy(src, src_len, max_len)
    n = max(int(res.lengths[0]), 1)
    out_ids = res.ids[:n, 0]
    tgt_in = np.concatenate([[BOS], out_ids[:-1]]).astype(np.int64).reshape(-1, 1)
    fed = Batch(src, src_len, tgt_in, np.full((n, 1), -1, dtype=np.int64))
    f = model.forward(fed)
    _, logits = model.evaluate(fed)
    times = list(range(S)) if S <= STEPS else [*range(STEPS - 1), S - 1]
    dec_times = list(range(n)) if n <= STEPS else [*range(STEPS - 1), n - 1]
    U = min(STRIP_UNITS, model.spec.hidden, model.spec.dec_hidden)
    enc = f.enc
    strips = []
    for k, cache in enumerate(enc.layers):
        dirs = [cache.hs[1:, 0]]
        if enc.reverse:
            order = reversal_order(src_len, S, 1)
            back = np.zeros_like(enc.reverse[k].hs[1:, 0])
            back[order[:S, 0]] = enc.reverse[k].hs[1:, 0][:S]
            dirs.append(back)
        strips.append([np.round(d[times, :U].astype(np.float64), 2).tolist() for d in dirs])
    L = len(f.steps[0][0].layers)
    dec_h = [np.stack([step[0].layers[k].hs[1, 0] for step in f.steps]) for k in range(L)]
    dec_strips = [np.round(h[dec_times, :U].astype(np.float64), 2).tolist() for h in dec_h]
    outputs, probs = [], []
    for t in dec_times:
        y = logits[t, 0].astype(np.float64)
        p = np.exp(y - y.max())
        p /= p.sum()
        top = int(p.argmax())
        outputs.append(tgt_tokens[top] if top < len(tgt_tokens) else str(top))
        probs.append(round(float(p[top]), 3))
    alphas = [step[1].alpha[:, 0] for step in f.steps if step[1] is not None]
    attention = ([np.round(np.asarray(alphas[t], dtype=np.float64)[times], 3).tolist()
                  for t in dec_times] if alphas else [])
    fed_labels = ["<s>", *[tgt_tokens[int(i)] if int(i) < len(tgt_tokens) else str(int(i))
                           for i in out_ids[:-1]]]
    # the table's statistics
    anatomy = seq2seq_anatomy(model, batch, S, tgt_len)
    flat, layout = model.params.data, model.params.layout
    mask = np.ones((S, 1), dtype=bool)
    stats: dict[str, list[float]] = {k: [] for k in ("mean", "std", "sat", "norm", "upd")}
    for row in anatomy.rows:
        mean = std = sat = float("nan")
        if row.kind == "recurrent":
            part = row.weights[0].slot.split(".")[1]  # l0, l0r, l1 …
            k = int(part[1:].rstrip("r"))
            if row.group == "enc":
                cache = enc.reverse[k] if part.endswith("r") else enc.layers[k]
                mean, std = _moments(cache.hs[1:], mask)
                sat = _saturated(model.spec.cell, cache, mask)
            else:
                mean, std = float(dec_h[k].mean()), float(dec_h[k].std())
        elif row.kind == "attention" and alphas:
            a = np.concatenate(alphas)
            mean, std = float(a.mean()), float(a.std())
        elif row.kind == "head":
            mean, std = float(logits.mean()), float(logits.std())
        _add_row_stats(stats, row, layout, flat, before, mean, std, sat)
    return dict(
        cell=model.spec.cell, units=model.spec.hidden, inputs=[src_tokens[t] for t in times],
        times=times, h=strips, outputs=[""] * len(times), probs=[float("nan")] * len(times),
        last_only=False, real_output=False, rows=[r.name for r in anatomy.rows],
        shapes=[_fmt_shape(r) for r in anatomy.rows], params=[r.params for r in anatomy.rows],
        act_mean=stats["mean"], act_std=stats["std"], saturated=stats["sat"],
        weight_norm=stats["norm"], update_ratio=stats["upd"],
        dec_inputs=[fed_labels[t] for t in dec_times], dec_times=dec_times, dec_h=dec_strips,
        dec_outputs=outputs, dec_probs=probs, attention=attention)


def _add_row_stats(stats: dict, row, layout, flat: np.ndarray, before, mean: float, std: float,
                   sat: float) -> None:
    """Append one row's statistics: activation mean, std and saturation as measured, and its
    weights' norm and the last update's size relative to it (NaN where they do not apply)."""
    sq = dsq = 0.0
    for w in row.weights:
        s = layout.slots[w.slot]
        vals = flat[s.offset : s.offset + s.size].astype(np.float64)
        sq += float(vals @ vals)
        if before is not None:
            d = vals - before[s.offset : s.offset + s.size]
            dsq += float(d @ d)
    norm = float(np.sqrt(sq))
    upd = float(np.sqrt(dsq)) / norm if before is not None and norm > 0 else float("nan")
    for key, v in zip(stats, (mean, std, sat, norm if row.weights else float("nan"), upd),
                      strict=True):
        stats[key].append(round(v, 6) if np.isfinite(v) else float("nan"))
