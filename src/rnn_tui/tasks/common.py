"""What the tasks share: the float type a config asks for, and checkpoints checked against the
model they are loaded into."""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.config import CELLS, RunConfig
from rnn_tui.core.network import INPUT_MODES, NetSpec, Network
from rnn_tui.errors import UserError
from rnn_tui.models.unrolled import SATURATED
from rnn_tui.train import events as ev

# the gate blocks of the gated cells, in PyTorch's order, and which are sigmoid gates
GATE_NAMES = {"lstm": ["input", "forget", "cell", "output"], "gru": ["reset", "update", "new"]}
SIGMOID_GATES = {"lstm": (0, 1, 3), "gru": (0, 1)}


def float_type(cfg: RunConfig):
    return np.float32 if cfg.train.dtype == "float32" else np.float64


# ------------------------------------------------------------------ the checkpoint's schema
# What each task keeps in a checkpoint's metadata, checked before any of it is used (the file
# is untrusted: rnn_tui.train.runs.load_checkpoint has checked the arrays and common fields).
MAX_HIDDEN, MAX_LAYERS, MAX_EMBED, MAX_VOCAB = 4096, 8, 4096, 10_000_000


def _int(v, lo=0, hi=2**62) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _spec_problem(spec) -> str:
    if not isinstance(spec, dict):
        return "has no model description"
    known = set(NetSpec().to_dict())
    extra = [k for k in spec if k not in known]
    if extra:
        return f"describes its model with unknown settings ({', '.join(map(str, extra[:3]))})"
    checks = {
        "cell": lambda v: isinstance(v, str) and v in CELLS,
        "input_mode": lambda v: v in INPUT_MODES,
        "input_size": lambda v: _int(v, 1, MAX_VOCAB),
        "output_size": lambda v: _int(v, 1, MAX_VOCAB),
        "embed_dim": lambda v: _int(v, 0, MAX_EMBED),
        "hidden": lambda v: _int(v, 1, MAX_HIDDEN),
        "layers": lambda v: _int(v, 1, MAX_LAYERS),
        "dropout": lambda v: _num(v) and 0 <= v < 1,
        "bidirectional": lambda v: isinstance(v, bool),
        "features": lambda v: isinstance(v, list) and len(v) <= 8 and
        all(_int(n, 1, MAX_VOCAB) for n in v),
        "feature_dim": lambda v: _int(v, 1, MAX_EMBED),
    }
    for k, ok in checks.items():
        if k in spec and not ok(spec[k]):
            return f"has a model setting {k} = {str(spec[k])[:30]!r} that no model has"
    return ""


def _tokenizer_problem(tok) -> str:
    if not isinstance(tok, dict) or tok.get("kind") not in ("char", "word"):
        return "has no vocabulary of a known kind"
    vocab = tok.get("vocab")
    if not isinstance(vocab, list) or not vocab or len(vocab) > MAX_VOCAB or \
            not all(isinstance(w, str) for w in vocab) or len(set(vocab)) != len(vocab):
        return "has a vocabulary that is not a list of distinct strings"
    if tok["kind"] == "char" and not all(len(w) == 1 for w in vocab):
        return "has a character vocabulary with entries that are not single characters"
    if tok["kind"] == "word":
        if vocab[0] != "<unk>":
            return "has a word vocabulary that does not start with <unk>"
        if not isinstance(tok.get("lowercase", True), bool) or \
                not _int(tok.get("min_count", 1), 0) or \
                not (tok.get("max_vocab") is None or _int(tok.get("max_vocab"), 0)):
            return "has word-vocabulary settings of the wrong types"
    return ""


def _optimizer_problem(opt, arrays) -> str:
    from rnn_tui.core.optim import OPTIMIZERS

    if not isinstance(opt, dict) or opt.get("name") not in OPTIMIZERS:
        return "has no optimizer state of a known optimizer"
    if not _int(opt.get("t")) or not isinstance(opt.get("hyper", {}), dict) or \
            not _num(opt.get("lr", 1.0)):
        return "has optimizer settings of the wrong types"
    for name in OPTIMIZERS[opt["name"]].state_names:
        if f"opt.{name}" not in arrays:
            return f"lacks the {opt['name']} optimizer's state {name!r}"
    return ""


def _rng_problem(state) -> str:
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
        return "has a random-generator state that is not one"
    return ""


def _batcher_problem(b) -> str:
    if isinstance(b, dict) and "n" in b:  # sentences batched by length (classify, tag)
        if not all(_int(b.get(k)) for k in ("pos", "epoch", "B", "n")) or _rng_problem(
                b.get("rng")):
            return "has a batching state of the wrong types"
        if b["B"] < 1 or b["n"] < 1:
            return "has a batching state out of range"
        return ""
    if not isinstance(b, dict) or not all(_int(b.get(k)) for k in ("pos", "epoch", "B", "T", "L")):
        return "has a batching state of the wrong types"
    if b["B"] < 1 or b["T"] < 1 or b["L"] < 1 or b["pos"] >= b["L"]:
        return "has a batching state out of range"
    return ""


def _forecaster_problem(f) -> str:
    if not isinstance(f, dict):
        return "has forecaster settings that are not a table"
    if f.get("version", 1) != 1:  # smoothing + an ensemble of networks (models/forecaster.py)
        if not (_int(f.get("version"), 2, 99) and _int(f.get("lookback"), 1) and
                _int(f.get("horizon"), 1) and isinstance(f.get("log"), bool) and
                isinstance(f.get("es"), dict) and _num(f.get("scale", 1.0)) and
                f.get("scale", 1.0) > 0 and isinstance(f.get("combine", "avg"), str) and
                _int(f.get("members", 1), 1, 16)):
            return "has forecaster settings of the wrong types"
        return ""
    sc = f.get("scaler")
    if not (_int(f.get("lookback"), 1) and _int(f.get("lag"), 1) and isinstance(f.get("log"), bool)
            and isinstance(sc, dict) and _num(sc.get("mean")) and _num(sc.get("std"))
            and sc["std"] > 0):
        return "has forecaster settings of the wrong types"
    return ""


_META_CHECKS = {
    "spec": _spec_problem,
    "tokenizer": _tokenizer_problem,
    "rng": _rng_problem,
    "sample_rng": _rng_problem,
    "batcher": _batcher_problem,
    "forecaster": _forecaster_problem,
    "period": lambda v: "" if _int(v, 1) else "has a seasonal period that is not a whole number",
    "steps_done": lambda v: "" if _int(v) else "has a step count that is not a whole number",
    "series": lambda v: "" if isinstance(v, str) else "names its series with a non-string",
    "rngs": lambda v: "" if isinstance(v, list) and not any(_rng_problem(x) for x in v) else
    "has random-generator states that are not",
    "optimizers": lambda v: "" if isinstance(v, list) and all(isinstance(x, dict) for x in v)
    else "has optimizer states that are not tables",
}


def check_meta(arrays, meta, required=("spec",)) -> None:
    """Refuse a checkpoint whose task metadata is missing or of the wrong shape or types, before
    any of it is used."""
    for key in required:
        if key not in meta:
            raise UserError(f"checkpoint metadata has no {key!r}; the file is corrupt or from "
                            "another program")
    for key, check in _META_CHECKS.items():
        if key in meta:
            problem = check(meta[key])
            if problem:
                raise UserError(f"checkpoint {problem}; the file is corrupt or from another "
                                "program")
    if "optimizer" in meta or "optimizer" in required:
        problem = _optimizer_problem(meta.get("optimizer"), arrays)
        if problem:
            raise UserError(f"checkpoint {problem}; the file is corrupt or from another program")


def spec_dict(meta) -> dict:
    """The network description in a checkpoint, with the defaults of settings added since it
    was written (an older checkpoint has no entry for them)."""
    spec = meta.get("spec")
    if not isinstance(spec, dict):
        raise UserError("checkpoint metadata has no model description; the file is corrupt")
    defaults = {k: v for k, v in NetSpec().to_dict().items() if k not in spec}
    return {**spec, **defaults}


def check_compatible(net: Network, tokenizer: dict | None, arrays, meta) -> None:
    """Refuse a checkpoint from a different model or vocabulary, saying what differs (its
    metadata's schema checked first)."""
    check_meta(arrays, meta, ("spec", "optimizer", "rng"))
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
    """Rebuild a network from a checkpoint's own spec (for sample / forecast); its size is
    checked against the parameters before anything is allocated."""
    check_meta(arrays, meta, ("spec",))
    try:
        spec = NetSpec(**spec_dict(meta))
        if Network.build_layout(spec).size != arrays["params"].size:
            raise UserError("checkpoint parameters do not match its own model description; "
                            "the file is corrupt")
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
