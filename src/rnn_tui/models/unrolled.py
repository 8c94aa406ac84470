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
        sq = dsq = 0.0
        for w in row.weights:
            s = layout.slots[w.slot]
            part = flat[s.offset : s.offset + s.size].astype(np.float64)
            sq += float(part @ part)
            if before is not None:
                d = part - before[s.offset : s.offset + s.size]
                dsq += float(d @ d)
        norm = float(np.sqrt(sq))
        upd = float(np.sqrt(dsq)) / norm if before is not None and norm > 0 else float("nan")
        for key, v in zip(stats, (mean, std, sat, norm if row.weights else float("nan"), upd),
                          strict=True):
            stats[key].append(round(v, 6) if np.isfinite(v) else float("nan"))
    return dict(
        cell=spec.cell, units=spec.hidden, inputs=[tokens[t] for t in times], times=times,
        h=strips, outputs=outputs, probs=probs, last_only=last_only,
        real_output=output_names is None, rows=[r.name for r in anatomy.rows],
        shapes=[_fmt_shape(r) for r in anatomy.rows], params=[r.params for r in anatomy.rows],
        act_mean=stats["mean"], act_std=stats["std"], saturated=stats["sat"],
        weight_norm=stats["norm"], update_ratio=stats["upd"])
