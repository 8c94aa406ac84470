"""The event stream: everything training says to the world.

The trainer emits these; the Textual app, the console progress and ``metrics.jsonl`` all consume
the same stream, and ``rnn-tui watch`` rebuilds it from the file. Every event is a small dataclass
with a ``type`` tag; ``to_dict``/``from_dict`` give its JSON form (one object per line in
``metrics.jsonl``). Losses are in nats per token (``loss``, ``val_loss``).
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from functools import cache
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
    notes: list[str] = field(default_factory=list)  # what the task chose or changed, for the user
    # where it ran, when something other than `rnn-tui train` ran it: a sweep trial has
    # {"engine": "ray", "node": host, "node_ip", "node_id", "trial_id", …}; empty otherwise
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepEnded(Event):
    """Training progress, averaged over the steps since the last one."""

    type: ClassVar[str] = "step"
    epoch: int = 0
    loss: float = 0.0
    tokens_per_s: float = 0.0
    lr: float = 0.0
    grad_norm: float = 0.0  # the global norm of the latest step's gradient, before clipping
    grad_norms: dict[str, float] = field(default_factory=dict)  # per layer / group, before too
    clipped: bool = False
    clip: float = 0.0  # the clipping threshold in force (0 = off); grad_norm is before clipping
    clipped_steps: int = 0  # steps clipped since the run started
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
    best_val_loss: float | None = None  # the validation loss of the best evaluation
    metrics: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    evals_since_best: int = 0
    best_by: str = "val_loss"  # what the best evaluation is chosen by (a task's best_by)
    best_metric: float | None = None  # its value at the best evaluation


@dataclass
class SampleText(Event):
    """Generated text; with ``pieces``, token by token, each with the likeliest candidates
    the model weighed at that step and their probabilities (the next-token distribution)."""

    type: ClassVar[str] = "sample"
    text: str = ""
    prime: str = ""
    temperature: float = 1.0
    pieces: list[str] = field(default_factory=list)
    top_tokens: list[list[str]] = field(default_factory=list)
    top_probs: list[list[float]] = field(default_factory=list)


@dataclass
class HiddenSnapshot(Event):
    """Hidden activations of one sequence: per layer, units x time steps (values rounded to 3
    decimals), the input tokens along the edge; for LSTM and GRU every gate's activations too,
    and how often each unit's sigmoid gates were saturated (< 0.1 left, > 0.9 right) over a
    whole batch (Karpathy et al. 2015)."""

    type: ClassVar[str] = "hidden"
    tokens: list[str] = field(default_factory=list)
    h: list[list[list[float]]] = field(default_factory=list)  # [layer][unit][t]
    c: list[list[list[float]]] | None = None  # LSTM cell state, same shape
    gate_names: list[str] = field(default_factory=list)  # LSTM input forget cell output, …
    gates: list[list[list[list[float]]]] | None = None  # [layer][gate][unit][t]
    saturation_gates: list[str] = field(default_factory=list)  # the sigmoid gates' names
    saturation: list[list[list[list[float]]]] | None = None  # [layer][gate][left|right][unit]


@dataclass
class ModelSnapshot(Event):
    """The network unrolled over the first steps of one sequence, for the model view: each
    step's input x_t, a strip of the first units of h_t for every layer and direction, the
    head's top output y_t and its probability (or the value, for real outputs; only the last
    step for a many-to-one model), and per layer of ``rnn-tui summary``'s table the
    activations' mean and standard deviation over the sequence, the share of saturated units,
    the weight norm and the last update's size relative to it. Sent with the hidden snapshot,
    at most once a second."""

    type: ClassVar[str] = "model"
    cell: str = ""
    units: int = 0  # H: the units per layer, of which the strips show the first few
    inputs: list[str] = field(default_factory=list)  # x_t
    times: list[int] = field(default_factory=list)  # t of each step shown (the last may jump)
    h: list[list[list[list[float]]]] = field(default_factory=list)  # [layer][dir][t][unit]
    outputs: list[str] = field(default_factory=list)  # y_t, "" where the model has none
    probs: list[float] = field(default_factory=list)  # y_t's probability, NaN for a value
    last_only: bool = False  # many-to-one: y at the last step only
    real_output: bool = False  # y_t is a value (a forecast), not a class
    rows: list[str] = field(default_factory=list)  # the summary table's rows
    shapes: list[str] = field(default_factory=list)  # each row's output shape
    params: list[int] = field(default_factory=list)
    act_mean: list[float] = field(default_factory=list)
    act_std: list[float] = field(default_factory=list)
    saturated: list[float] = field(default_factory=list)  # NaN where nothing saturates
    weight_norm: list[float] = field(default_factory=list)
    update_ratio: list[float] = field(default_factory=list)  # ||dW|| / ||W||, NaN before one
    # an encoder-decoder: the fields above are the encoder's (no y), these the decoder's
    dec_inputs: list[str] = field(default_factory=list)  # what it reads: <s>, then its output
    dec_times: list[int] = field(default_factory=list)
    dec_h: list[list[list[float]]] = field(default_factory=list)  # [layer][t][unit]
    dec_outputs: list[str] = field(default_factory=list)  # the token written, y_t
    dec_probs: list[float] = field(default_factory=list)
    attention: list[list[float]] = field(default_factory=list)  # [decoder t][source t shown]


@dataclass
class EmbeddingSnapshot(Event):
    """The input vectors of the most frequent tokens: embedding rows, or for one-hot input the
    rows of the first layer's W_ih (the one-hot vectors themselves are all equally far apart)."""

    type: ClassVar[str] = "embedding"
    tokens: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)  # [token][dimension]
    onehot: bool = False


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
class ClassifyUpdate(Event):
    """A classifier's held-out picture after an evaluation: accuracy beside the baselines,
    per-class precision and recall, the confusion matrix (rows = true label, columns =
    predicted), and a few held-out sentences with the predicted label and its probability."""

    type: ClassVar[str] = "classify"
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    accuracy: float = 0.0
    train_accuracy: float | None = None
    baselines: dict[str, float] = field(default_factory=dict)  # majority, naive_bayes
    examples: list[dict[str, Any]] = field(default_factory=list)  # text, gold, pred, prob


@dataclass
class TagUpdate(Event):
    """A tagger's held-out picture: one sentence with the gold and predicted tags (and which
    words were never seen in training), and accuracy on known and unknown words beside the
    most-frequent-tag baseline."""

    type: ClassVar[str] = "tag"
    words: list[str] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)
    pred: list[str] = field(default_factory=list)
    unknown: list[bool] = field(default_factory=list)
    accuracy: float = 0.0
    known_accuracy: float = 0.0
    unknown_accuracy: float = 0.0
    baseline_accuracy: float = 0.0
    baseline_unknown_accuracy: float = 0.0
    train_accuracy: float | None = None


@dataclass
class Seq2SeqUpdate(Event):
    """A sequence-to-sequence model's held-out picture after an evaluation: the scores beside
    the copy baseline, exact match by source length, and a few held-out pairs decoded (source,
    reference, output, right or not), each with its attention: ``attention[i]`` is (output
    tokens, source tokens) for ``output_tokens[i]`` and ``source_tokens[i]``, or empty
    without attention."""

    type: ClassVar[str] = "seq2seq"
    scores: dict[str, float] = field(default_factory=dict)  # exact_match, token_accuracy, ...
    baselines: dict[str, float] = field(default_factory=dict)  # copy_exact_match, copy_bleu, …
    by_length: list[dict[str, float]] = field(default_factory=list)  # from, upto, n, exact_match
    examples: list[dict[str, Any]] = field(default_factory=list)  # source, reference, output, ok
    source_tokens: list[list[str]] = field(default_factory=list)
    output_tokens: list[list[str]] = field(default_factory=list)
    attention: list[list[list[float]]] = field(default_factory=list)


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
    best_by: str = "val_loss"  # as in Evaluated
    best_metric: float | None = None


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
                ModelSnapshot, EmbeddingSnapshot, ForecastUpdate, ClassifyUpdate, TagUpdate,
                Seq2SeqUpdate, CheckpointSaved, Paused, Resumed, Finished, Notice, Failed)
}


def best_phrase(best_by: str, best_metric: float | None, best_val_loss: float | None,
                step: int | None = None, missing: str = "–") -> str:
    """What "best" was and what chose it: ``val_loss 0.5087 at step 200``, or, for a best
    chosen by another measure, ``accuracy 0.8300 at step 200 (val_loss there 0.5087)``."""
    at = f" at step {step:,}" if step else ""
    loss = fmt_num(best_val_loss, ".4f", missing)
    if best_by == "val_loss":
        return f"val_loss {loss}{at}"
    return f"{best_by} {fmt_num(best_metric, '.4f', missing)}{at} (val_loss there {loss})"


def event_from_dict(d: dict[str, Any]) -> Event | None:
    """Rebuild an event from its JSON form. The form is untrusted (``rnn-tui watch`` reads files
    from anywhere): every field is checked against its declared type, recursively (lists of lists
    of floats for the heavy payloads, dicts of floats), a float may come as an integer or as
    ``null`` (a non-finite value, written so) and reads as NaN, heatmaps must be rectangular. An
    unknown type, or any field of the wrong type, gives None; unknown fields are ignored."""
    if not isinstance(d, dict):
        return None
    kind = d.get("type", "")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    hints = _field_types(cls)
    kwargs = {}
    try:
        for name, tp in hints.items():
            if name in d:
                kwargs[name] = _conform(d[name], tp)
        event = cls(**kwargs)
        _check_shapes(event)
    except (_Malformed, TypeError, ValueError, OverflowError, RecursionError):
        return None
    return event


class _Malformed(Exception):
    pass


@cache
def _field_types(cls: type[Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _conform(v: Any, tp: Any) -> Any:
    """``v`` as type ``tp`` (int, float, str, bool, Any, X | None, list[X], dict[str, X]), or
    :class:`_Malformed`."""
    if tp is Any:
        return v
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if v is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _conform(v, inner[0])
    if tp is float:
        if v is None:
            return math.nan  # written as null: NaN or missing
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _Malformed
        return float(v)
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Malformed
        return v
    if tp is bool:
        if not isinstance(v, bool):
            raise _Malformed
        return v
    if tp is str:
        if not isinstance(v, str):
            raise _Malformed
        return v
    if origin is list:
        if not isinstance(v, list):
            raise _Malformed
        (item,) = typing.get_args(tp)
        return [_conform(x, item) for x in v]
    if origin is dict:
        if not isinstance(v, dict):
            raise _Malformed
        _key, item = typing.get_args(tp)
        return {str(k): _conform(x, item) for k, x in v.items()}
    raise _Malformed


def _check_shapes(e: Event) -> None:
    """What the views index into must be rectangular: a heatmap layer is units x steps, every
    unit with the same number of steps; the gradient-flow rows are not empty."""
    if isinstance(e, HiddenSnapshot):
        for mats in (e.h, e.c or []):
            for layer in mats:
                if not layer or not layer[0] or any(len(row) != len(layer[0]) for row in layer):
                    raise _Malformed
        if e.c is not None and len(e.c) not in (0, len(e.h)):
            raise _Malformed
    if isinstance(e, GradientFlow) and any(not row for row in e.norms):
        raise _Malformed
    if isinstance(e, ModelSnapshot):
        n, k = len(e.inputs), len(e.rows)
        if len(e.outputs) != n or len(e.probs) != n or len(e.times) != n or e.units < 0 or any(
                len(d) != n for layer in e.h for d in layer) or not all(
                len(a) == k for a in (e.shapes, e.params, e.act_mean, e.act_std, e.saturated,
                                      e.weight_norm, e.update_ratio)):
            raise _Malformed
        m = len(e.dec_inputs)
        if not all(len(a) == m for a in (e.dec_times, e.dec_outputs, e.dec_probs)) or any(
                len(layer) != m for layer in e.dec_h) or (e.attention and (
                len(e.attention) != m or any(len(a) != n for a in e.attention))):
            raise _Malformed
    if isinstance(e, Seq2SeqUpdate):
        if len(e.source_tokens) != len(e.output_tokens) or \
                len(e.attention) not in (0, len(e.source_tokens)):
            raise _Malformed
        for att, src, out in zip(e.attention, e.source_tokens, e.output_tokens, strict=False):
            if len(att) != len(out) or any(len(row) != len(src) for row in att):
                raise _Malformed


def fmt_num(v: Any, spec: str = ".3f", missing: str = "–") -> str:
    """A number for a human, whatever arrives: ``missing`` for None or a non-number, ``nan`` /
    ``inf`` / ``-inf`` for non-finite values, else ``format(v, spec)``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:
            v = float(v)  # NumPy scalars
        except (TypeError, ValueError, OverflowError):
            return missing
    try:
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return format(v, spec)
    except (TypeError, ValueError, OverflowError):
        return missing
