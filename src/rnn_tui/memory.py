"""How much memory a run needs, estimated before anything is allocated, and a refusal when the
machine does not have it (a run that runs out of memory after starting is killed, and loses
what it has not saved).

The estimate counts what training keeps alive at once: the flat parameter buffer and its
gradient (plus the second half's gradient when the fused step splits the batch over two
workers), the optimizer's state, the fused step's workspaces (hidden states and gates of every
layer and step, the input projections and their gradients, the embedded input, the logits
T x B x V and their gradient, the vocabulary-sized projection table), the activations and
logits of an evaluation pass beside them, the data the task keeps (token ids, windows), and the
vocabulary's own tables. It errs on the high side by a little, never by orders of magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnn_tui.errors import UserError

GATES = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
OPT_STATES = {"sgd": 1, "adam": 2, "adamw": 2, "adagrad": 1, "rmsprop": 1}
BASE = 150 << 20  # the interpreter, NumPy, Numba's compiled kernels, Textual


@dataclass
class Estimate:
    parameters: int  # how many
    params_bytes: int  # weights, gradients, optimizer state
    activations_bytes: int  # workspaces of the training step and of an evaluation
    data_bytes: int  # token ids or windows, vocabulary tables
    weights_bytes: int = 0  # the parts of params_bytes
    grads_bytes: int = 0
    optimizer_bytes: int = 0
    step_bytes: int = 0  # the training step's part of activations_bytes

    @property
    def total(self) -> int:
        return BASE + self.params_bytes + self.activations_bytes + self.data_bytes


def estimate(cfg, vocab: int | None = None, tokens: int = 0, parameters: int | None = None,
             seq: int | None = None, batch: int | None = None) -> Estimate:
    """The memory a run of ``cfg`` needs. ``vocab``: the vocabulary size when known (after the
    data is read); before that the smallest it can be, so a refusal then is certain.
    ``tokens``: the length of the token stream (or series) when known. ``parameters``,
    ``seq``, ``batch``: the exact parameter count and the step's shape once the model is built
    (a sentence task's longest sentence, a series' window)."""
    m, t, d = cfg.model, cfg.train, cfg.data
    item = 4 if t.dtype == "float32" else 8
    G = GATES.get(m.cell, 4)
    H, L = m.hidden, m.layers
    T = int(seq if seq is not None else t.seq)
    B = int(batch if batch is not None else t.batch)
    D = 2 if m.bidirectional and d.task in ("classify", "tag") else 1
    GH = G * H
    if d.task == "series":
        V, inp, E = 1, 1, 0
        T = int(seq if seq is not None else d.lookback)
    else:
        V = max(int(vocab or 2), 2)
        E = m.embed
        inp = E if E > 0 else V
    P = (V * E if E > 0 and d.task != "series" else 0)
    for layer in range(L):
        fan_in = inp if layer == 0 else D * H
        P += D * (fan_in * GH + H * GH + 2 * GH)
    P += D * H * V + V
    if parameters is not None:
        P = int(parameters)
    # the fused step trains the stream language models (not windows, not sentences)
    fused = d.task in ("char", "word") and not d.windows and m.dropout == 0 and \
        t.dtype == "float32"
    grads = 2 if fused and B >= 4 else 1  # the second worker's gradient buffer
    states = OPT_STATES.get(t.optimizer, 2)
    params_bytes = P * item * (1 + grads + states)
    # one training step (the fused workspaces, or Network.forward's caches + backward's)
    hs = 2 * D * L * (T + 1) * B * H  # h and c of every layer and step
    gates = D * L * T * B * GH + D * L * T * B * H
    proj = 3 * D * T * B * GH  # input projection and the two gate-gradient buffers
    xin = T * B * max(E, 1)
    logits = T * B * V * (1 if fused else 2)  # logits and, unfused, their gradient
    dy = D * T * B * H
    table = 2 * V * GH if fused and E > 0 and 2 * V <= T * B else 0
    step = hs + gates + proj + xin + logits + dy + table
    if not fused:
        step += D * L * T * B * GH  # backward's per-layer temporaries
    evaluation = hs // 2 + gates + T * B * GH + T * B * V  # forward only, logits
    activations_bytes = (step + evaluation) * item
    if d.task == "series":
        data_bytes = 3 * tokens * max(T, 1) * 8  # windows X, Y and their scaled copies
    else:
        data_bytes = 3 * tokens * 8 + V * 200  # ids, batched x and y; vocabulary dicts
    return Estimate(P, params_bytes, activations_bytes, data_bytes, weights_bytes=P * item,
                    grads_bytes=P * item * grads, optimizer_bytes=P * item * states,
                    step_bytes=step * item)


def fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(cfg, vocab: int | None = None, tokens: int = 0,
                 available: int | None = None) -> Estimate:
    """Refuse a configuration whose estimate exceeds the memory available (MemAvailable, or a
    cgroup's limit), saying both. Where the machine does not say, nothing is refused."""
    from rnn_tui.safeio import memory_available

    est = estimate(cfg, vocab, tokens)
    avail = memory_available() if available is None else available
    if avail is not None and est.total > avail:
        m, t = cfg.model, cfg.train
        what = "" if vocab else " (at least; the vocabulary is not read yet)"
        raise UserError(
            f"this configuration needs about {fmt_bytes(est.total)} of memory{what} "
            f"({est.parameters:,} parameters with gradients and {t.optimizer} state: "
            f"{fmt_bytes(est.params_bytes)}; activations for batch {t.batch} x seq {t.seq} x "
            f"{m.layers} layer(s) of {m.hidden}: {fmt_bytes(est.activations_bytes)}) but "
            f"{fmt_bytes(avail)} is available; use a smaller --hidden, --embed, --batch, --seq "
            "or --layers")
    return est
