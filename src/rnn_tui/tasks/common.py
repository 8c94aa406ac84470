"""What the tasks share: the float type a config asks for, and checkpoints checked against the
model they are loaded into."""

from __future__ import annotations

import math

import numpy as np

from rnn_tui.config import CELLS, RunConfig
from rnn_tui.core.network import INPUT_MODES, NetSpec, Network
from rnn_tui.errors import UserError


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
    if not isinstance(b, dict) or not all(_int(b.get(k)) for k in ("pos", "epoch", "B", "T", "L")):
        return "has a batching state of the wrong types"
    if b["B"] < 1 or b["T"] < 1 or b["L"] < 1 or b["pos"] >= b["L"]:
        return "has a batching state out of range"
    return ""


def _forecaster_problem(f) -> str:
    if not isinstance(f, dict):
        return "has forecaster settings that are not a table"
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
