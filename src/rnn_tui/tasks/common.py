"""What the tasks share: the float type a config asks for, and checkpoints checked against the
model they are loaded into."""

from __future__ import annotations

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.errors import UserError


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
