"""The per-node warm-up before a sweep's trials start: load (or compile, once) every kernel the
trials will need, so N trials on a node neither compile N times nor race on Numba's cache.

Kept apart from :mod:`rnn_tui.sweep.trial` so the Ray task that runs it imports only rnn_tui
(not Ray Tune), which keeps it short.
"""

from __future__ import annotations

import socket
import time
from typing import Any


def kernel_key(cfg: dict[str, Any]) -> tuple:
    """What decides which compiled kernels a run needs (not its sizes)."""
    d, m, t = cfg["data"], cfg["model"], cfg["train"]
    return (d["task"], m["cell"], m["embed"] > 0, m["layers"] > 1, m["dropout"] > 0,
            t["dtype"], t["optimizer"])


def warm_configs(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One config per distinct kernel set among the trials'."""
    seen: dict[tuple, dict[str, Any]] = {}
    for c in configs:
        seen.setdefault(kernel_key(c), c)
    return list(seen.values())


def warm_up(configs: list[dict[str, Any]]) -> dict[str, Any]:
    """Load (or compile, once) every kernel the trials need on this node: one training step,
    a short evaluation and a few sampled tokens of each distinct kind of model. Run once per
    node before the trials, so N trials neither compile N times nor race on the cache."""
    from rnn_tui.config import RunConfig
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import build_task

    configure_threads(1)
    t0 = time.perf_counter()
    for c in configs:
        cfg = RunConfig.from_dict(c, "warm-up").validate()
        cfg.train.eval_tokens = min(cfg.train.eval_tokens, 2 * cfg.train.batch * cfg.train.seq)
        task = build_task(cfg)
        task.step()
        task.evaluate()
        task.sample(cfg.train.temperature, 4)
    return {"node": socket.gethostname(), "seconds": round(time.perf_counter() - t0, 2),
            "models": len(configs)}
