"""The event stream: everything training says to the world.

The trainer emits these; the Textual app, the console progress and ``metrics.jsonl`` all consume
the same stream, and ``rnn-tui watch`` rebuilds it from the file. Every event is a small dataclass
with a ``type`` tag; ``to_dict``/``from_dict`` give its JSON form (one object per line in
``metrics.jsonl``). Losses are in nats per token (``loss``, ``val_loss``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass
class Event:
    type: ClassVar[str] = "event"
    step: int = 0
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {"type": self.type}
        d.update({k: _jsonable(v) for k, v in asdict(self).items()})
        return d


def _jsonable(v: Any, compact: bool = False) -> Any:
    """JSON-safe values: non-finite floats become null / +-1e308; floats inside lists (the heavy
    payloads) are rounded to 6 significant digits, scalars keep full precision."""
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else (1e308 if v > 0 else -1e308)
    if isinstance(v, float):
        return float(f"{v:.6g}") if compact else v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, True) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x, compact) for k, x in v.items()}
    return v


@dataclass
class RunStarted(Event):
    type: ClassVar[str] = "run_started"
    run_dir: str = ""
    task: str = "char"
    config: dict[str, Any] = field(default_factory=dict)
    vocab_size: int = 0
    parameters: int = 0
    total_steps: int | None = None
    time_budget_s: float | None = None
    resumed: bool = False
    compute: str = ""  # e.g. "mkl, 2 threads": the BLAS behind the kernels and the threads used
    views: list[str] = field(default_factory=list)  # the task's own panels (text, forecast, …)


@dataclass
class StepEnded(Event):
    """Training progress, averaged over the steps since the last one."""

    type: ClassVar[str] = "step"
    epoch: int = 0
    loss: float = 0.0
    tokens_per_s: float = 0.0
    lr: float = 0.0
    grad_norm: float = 0.0
    grad_norms: dict[str, float] = field(default_factory=dict)  # per layer / group
    clipped: bool = False
    clip: float = 0.0  # the clipping threshold in force (0 = off); grad_norm is before clipping
    steps_total: int | None = None
    time_left_s: float | None = None


@dataclass
class GradientFlow(Event):
    """||dL_T/dh_t|| for every step t of a sequence of the latest batch, per layer (index 0 = the
    first step): the gradient of the last step's loss as it flows back in time."""

    type: ClassVar[str] = "grad_flow"
    norms: list[list[float]] = field(default_factory=list)


@dataclass
class Evaluated(Event):
    type: ClassVar[str] = "eval"
    val_loss: float = 0.0
    train_loss: float | None = None
    best_val_loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    evals_since_best: int = 0


@dataclass
class SampleText(Event):
    type: ClassVar[str] = "sample"
    text: str = ""
    prime: str = ""
    temperature: float = 1.0


@dataclass
class HiddenSnapshot(Event):
    """Hidden activations of the first sequence of a batch: per layer, units x time steps
    (values rounded to 3 decimals), the input tokens along the edge."""

    type: ClassVar[str] = "hidden"
    tokens: list[str] = field(default_factory=list)
    h: list[list[list[float]]] = field(default_factory=list)  # [layer][unit][t]
    c: list[list[list[float]]] | None = None  # LSTM cell state, same shape


@dataclass
class ForecastUpdate(Event):
    type: ClassVar[str] = "forecast"
    history: list[float] = field(default_factory=list)
    truth: list[float] = field(default_factory=list)
    prediction: list[float] = field(default_factory=list)  # one-step-ahead on validation
    forecast: list[float] = field(default_factory=list)  # the model's multi-step forecast
    errors: dict[str, dict[str, float]] = field(default_factory=dict)  # model/baseline -> metrics
    baselines: dict[str, list[float]] = field(default_factory=dict)  # e.g. Holt-Winters forecasts


@dataclass
class CheckpointSaved(Event):
    type: ClassVar[str] = "checkpoint"
    path: str = ""
    kind: str = "latest"  # latest (checkpoint.npz, what --resume continues) | best (best.npz)


@dataclass
class Paused(Event):
    type: ClassVar[str] = "paused"
    reason: str = ""


@dataclass
class Resumed(Event):
    type: ClassVar[str] = "resumed"


@dataclass
class Finished(Event):
    type: ClassVar[str] = "finished"
    reason: str = "done"  # done | time budget | early stopping | stopped | interrupted
    best_val_loss: float | None = None
    last_val_loss: float | None = None
    best_step: int = 0


@dataclass
class Notice(Event):
    """Something worth telling the learner while it trains (validation rising, …)."""

    type: ClassVar[str] = "notice"
    kind: str = ""
    message: str = ""


@dataclass
class Failed(Event):
    type: ClassVar[str] = "failed"
    message: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (RunStarted, StepEnded, GradientFlow, Evaluated, SampleText, HiddenSnapshot,
                ForecastUpdate, CheckpointSaved, Paused, Resumed, Finished, Notice, Failed)
}


def event_from_dict(d: dict[str, Any]) -> Event | None:
    """Rebuild an event from its JSON form; unknown types and fields are ignored (None)."""
    cls = EVENT_TYPES.get(d.get("type", ""))
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})
