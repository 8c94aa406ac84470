"""What the tasks share: the float type a config asks for, and checkpoints checked against the
model they are loaded into."""

from __future__ import annotations

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.errors import UserError
from rnn_tui.train import events as ev

# the gate blocks of the gated cells, in PyTorch's order, and which are sigmoid gates
GATE_NAMES = {"lstm": ["input", "forget", "cell", "output"], "gru": ["reset", "update", "new"]}
SIGMOID_GATES = {"lstm": (0, 1, 3), "gru": (0, 1)}
SATURATED = 0.1  # a sigmoid gate below 0.1 is left-saturated, above 0.9 right-saturated


def float_type(cfg: RunConfig):
    return np.float32 if cfg.train.dtype == "float32" else np.float64


def spec_dict(meta) -> dict:
    """The network description in a checkpoint, with the defaults of settings added since it
    was written (an older checkpoint has no entry for them)."""
    spec = meta.get("spec")
    if not isinstance(spec, dict):
        raise UserError("checkpoint metadata has no model description; the file is corrupt")
    defaults = {k: v for k, v in NetSpec().to_dict().items() if k not in spec}
    return {**spec, **defaults}


def check_compatible(net: Network, tokenizer: dict | None, arrays, meta) -> None:
    """Refuse a checkpoint from a different model or vocabulary, saying what differs."""
    spec = spec_dict(meta)
    mine = net.spec.to_dict()
    diffs = [f"{k} {spec.get(k)!r} vs {mine[k]!r}" for k in mine if spec.get(k) != mine[k]]
    if diffs:
        raise UserError("checkpoint is for a different model (" + ", ".join(diffs[:3]) + "); "
                        "use the run's own settings or start a new run")
    if tokenizer is not None and meta.get("tokenizer") != tokenizer:
        raise UserError("checkpoint was trained with a different vocabulary; resume it on the "
                        "same corpus and task")
    if arrays["params"].shape != net.params.data.shape:
        raise UserError("checkpoint parameter vector does not fit this model")


def network_from_meta(arrays, meta) -> Network:
    """Rebuild a network from a checkpoint's own spec (for sample / forecast)."""
    try:
        spec = NetSpec(**spec_dict(meta))
        net = Network(spec, dtype=np.dtype(meta.get("dtype", "float32")), seed=None)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"checkpoint metadata does not describe a model ({err})") from None
    if arrays.get("params") is None or arrays["params"].shape != net.params.data.shape:
        raise UserError("checkpoint parameters do not match its own model description; "
                        "the file is corrupt")
    net.params.load_flat(arrays["params"].astype(net.dtype))
    return net


def _rounded(a: np.ndarray) -> list:
    return np.round(np.asarray(a, dtype=np.float64), 3).tolist()


def saturation(gates: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(2, U): for each of the U columns of ``gates`` (T, B, U), the fraction of (real) steps
    below :data:`SATURATED` (left) and above 1 - :data:`SATURATED` (right)."""
    g = gates.reshape(-1, gates.shape[-1]).astype(np.float64)
    w = np.ones(len(g)) if mask is None else np.asarray(mask, dtype=np.float64).reshape(-1)
    n = max(w.sum(), 1.0)
    return np.stack([(w[:, None] * (g < SATURATED)).sum(0) / n,
                     (w[:, None] * (g > 1 - SATURATED)).sum(0) / n])


def hidden_snapshot(net: Network, x: np.ndarray, tokens: list[str],
                    lengths: np.ndarray | None = None) -> ev.HiddenSnapshot:
    """What the hidden-state and gate views show, from one forward pass (zero state, no
    dropout) over a batch ``x`` (T, B, ...): sequence 0's h (and c) and gates per layer,
    units x steps, and the saturation of every unit's sigmoid gates over all of the batch's
    real steps (padding excluded). Bidirectional networks show their forward direction."""
    B = x.shape[1]
    fwd = net.forward(x, net.initial_state(B), lengths=lengths)
    n = len(tokens)
    cell = net.spec.cell
    snap = ev.HiddenSnapshot(
        tokens=list(tokens), h=[_rounded(c.hs[1 : n + 1, 0].T) for c in fwd.layers],
        c=None if fwd.layers[0].cs is None else [_rounded(c.cs[1 : n + 1, 0].T)
                                                 for c in fwd.layers])
    if cell not in GATE_NAMES:
        return snap
    H, G = net.spec.hidden, net.spec.gates
    T = x.shape[0]
    mask = None
    if lengths is not None:
        mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    snap.gate_names = list(GATE_NAMES[cell])
    snap.saturation_gates = [GATE_NAMES[cell][g] for g in SIGMOID_GATES[cell]]
    snap.gates, snap.saturation = [], []
    for c in fwd.layers:
        blocks = [c.gates[:, :, g * H : (g + 1) * H] for g in range(G)]
        snap.gates.append([_rounded(b[:n, 0].T) for b in blocks])
        snap.saturation.append([_rounded(saturation(blocks[g], mask))
                                for g in SIGMOID_GATES[cell]])
    return snap


EMBEDDING_TOKENS = 100  # the most frequent tokens an embedding snapshot shows


def embedding_snapshot(net: Network, ids: np.ndarray, decode) -> ev.EmbeddingSnapshot | None:
    """The input vectors of the :data:`EMBEDDING_TOKENS` most frequent of ``ids``: rows of the
    embedding, or of W_ih for one-hot input (what the network learns instead)."""
    spec = net.spec
    if spec.input_mode == "real":
        return None
    table = net.params["embed.W"] if spec.input_mode == "embedding" else net.params["l0.W_ih"]
    counts = np.bincount(np.asarray(ids, dtype=np.int64).reshape(-1), minlength=len(table))
    top = np.argsort(-counts, kind="stable")[:EMBEDDING_TOKENS]
    top = top[counts[top] > 0]
    vecs = np.asarray(table[top], dtype=np.float64)
    return ev.EmbeddingSnapshot(tokens=[decode(int(i)) for i in top],
                                vectors=np.round(vecs, 4).tolist(),
                                onehot=spec.input_mode == "onehot")
