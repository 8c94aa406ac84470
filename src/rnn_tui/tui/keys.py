"""What each dashboard key needs, and why it does nothing now when it does not apply.

One table for the footer and for the keys: the footer shows a key only when :func:`why_not`
has nothing against it, and pressing a key that does not apply says the reason in one line.
The rules are pure Python: a :class:`KeyContext` is what the dashboard knows of its run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WATCHING = "watching a run: training controls belong to the process that trains it"
TEXT_ONLY = "{what} is for char and word models; this is a {task} run"


@dataclass(frozen=True)
class KeyContext:
    """What a key's availability depends on."""

    live: bool = False  # trained by this process (not watched from its files)
    status: str = "starting"  # starting | compiling | training | paused | finished | failed
    task: str = ""
    views: tuple[str, ...] = ()  # the task's own panels: text, forecast, classify, tag
    message: str = ""  # why it finished, failed or paused
    snapshot: bool = False  # a hidden-state snapshot has arrived
    layers: int = 0
    cell_state: bool = False  # the snapshot has an LSTM's c
    gates: bool = False  # the snapshot has gates (LSTM, GRU)
    cell: str = ""  # the run's cell, when its config names it
    embedding: bool = False  # an embedding snapshot has arrived
    reads_tokens: bool = True  # a series model reads numbers: it has no embedding
    can_setup: bool = False  # the app has a config to start a new run from
    checkpoint: str = ""  # the last checkpoint saved
    memory_view: str = "heatmap"  # what the hidden-state panel shows now
    model: bool = False  # a snapshot of the model (the unrolled view's) has arrived

    @property
    def text(self) -> bool:
        return "text" in self.views

    @property
    def ended(self) -> bool:
        return self.status in ("finished", "failed")


def _control(ctx: KeyContext, ended: str) -> str | None:
    """A training control: live, started and not over (``ended`` says what to do instead)."""
    if not ctx.live:
        return WATCHING
    if ctx.status in ("starting", "compiling"):
        return "the run is still starting: training controls work from its first step"
    if ctx.status == "failed":
        return f"the run failed ({ctx.message or 'see above'}): n starts a new run"
    if ctx.status == "finished":
        why = ctx.message or "finished"
        return f"the run has {why}: {ended}"
    return None


def _text_control(ctx: KeyContext, what: str, ended: str) -> str | None:
    if ctx.views and not ctx.text:
        return TEXT_ONLY.format(what=what, task=ctx.task or "labelled")
    return _control(ctx, ended)


def _new_run(ctx: KeyContext) -> str:
    return "n starts a new run" + (", g generates text from it" if ctx.text else "")


def _pause(ctx: KeyContext) -> str | None:
    return _control(ctx, _new_run(ctx))


def _sample(ctx: KeyContext) -> str | None:
    return _text_control(ctx, "sampling", "g generates text from its checkpoint")


def _temperature(ctx: KeyContext) -> str | None:
    return _text_control(ctx, "the temperature", "the generate screen (g) has its own")


def _save(ctx: KeyContext) -> str | None:
    where = f" ({ctx.checkpoint})" if ctx.checkpoint else ""
    return _control(ctx, f"its last checkpoint is saved{where}")


def _step_once(ctx: KeyContext) -> str | None:
    why = _control(ctx, "no step is left to take; " + _new_run(ctx))
    if why is None and ctx.status != "paused":
        return "pause first (space); then . trains one batch at a time"
    return why


def _set_value(ctx: KeyContext) -> str | None:
    return _control(ctx, "a new run (n) takes its own learning rate and clipping")


def _hidden(ctx: KeyContext) -> str | None:
    if not ctx.snapshot:
        return "waiting for the first hidden-state snapshot"
    return None


def _unit(ctx: KeyContext) -> str | None:
    return _embedding(ctx) if ctx.memory_view == "embeddings" else _hidden(ctx)


def _layer(ctx: KeyContext) -> str | None:
    why = _hidden(ctx)
    if why is None and ctx.layers < 2:
        return "this network has one layer (--layers 2 stacks another)"
    return why


def _cell_state(ctx: KeyContext) -> str | None:
    if ctx.snapshot and not ctx.cell_state or (ctx.cell and ctx.cell != "lstm"):
        return "only an LSTM has a cell state c (--cell lstm)"
    return _hidden(ctx)


def _gates(ctx: KeyContext) -> str | None:
    if (ctx.snapshot and not ctx.gates) or ctx.cell.startswith("rnn"):
        return "a vanilla RNN has no gates: try --cell lstm or --cell gru"
    return _hidden(ctx)


def _embedding(ctx: KeyContext) -> str | None:
    if not ctx.reads_tokens:
        return "a series model reads numbers, not tokens: it has no embedding"
    if not ctx.embedding:
        return "waiting for the first embedding snapshot"
    return None


def _model(ctx: KeyContext) -> str | None:
    return None if ctx.model else "waiting for the first snapshot of the model"


def _next_token(ctx: KeyContext) -> str | None:
    if ctx.views and not ctx.text:
        return TEXT_ONLY.format(what="the next-token distribution", task=ctx.task or "labelled")
    return None


def _forecast(ctx: KeyContext) -> str | None:
    if "forecast" not in ctx.views:
        return "the forecast view is for series runs (--task series)"
    return None


def _generate(ctx: KeyContext) -> str | None:
    if ctx.views and not ctx.text:
        return TEXT_ONLY.format(what="the generate screen", task=ctx.task or "labelled")
    return None


def _next_pair(ctx: KeyContext) -> str | None:
    if "seq2seq" not in ctx.views:
        return "the attention of held-out pairs is for seq2seq runs (--task seq2seq)"
    return None


def _setup(ctx: KeyContext) -> str | None:
    if not ctx.can_setup:
        return "watching a run: start your own with `rnn-tui`"
    return None


def _reads_text(ctx: KeyContext) -> str | None:
    """Try it and attribution shading: any model that reads text (not a series)."""
    if "forecast" in ctx.views:
        return "a series model reads numbers: rnn-tui predict RUN --file F.csv forecasts from " \
            "yours, rnn-tui explain RUN --file F.csv says which values mattered"
    return None


def _reach(ctx: KeyContext) -> str | None:
    if ctx.views and not ctx.text:
        return TEXT_ONLY.format(what="how far back it looks", task=ctx.task or "labelled")
    return None


def _always(_ctx: KeyContext) -> str | None:
    return None


# dashboard action -> the reason it does not apply (None: it does)
RULES: dict[str, Callable[[KeyContext], str | None]] = {
    "toggle_pause": _pause,
    "sample": _sample,
    "save": _save,
    "temperature": _temperature,
    "unit": _unit,
    "layer": _layer,
    "toggle_cell": _cell_state,
    "toggle_memory_view": _hidden,
    "gates_view": _gates,
    "embedding_view": _embedding,
    "model_view": _model,
    "next_token_view": _next_token,
    "step_once": _step_once,
    "set_value": _set_value,
    "toggle_grad_mode": _always,
    "next_view": _always,
    "forecast_view": _forecast,
    "generate": _generate,
    "setup": _setup,
    "next_pair": _next_pair,
    "try_it": _reads_text,
    "toggle_shading": _reads_text,
    "reach_view": _reach,
}


def why_not(action: str, ctx: KeyContext) -> str | None:
    """Why ``action`` (a dashboard action's name, without its arguments) does nothing now, or
    None when it applies. An action the table does not know always applies."""
    rule = RULES.get(action)
    return rule(ctx) if rule is not None else None


def typed_actions(bindings) -> set[str]:
    """The actions of ``bindings`` (Textual ``Binding``s) bound to printable keys only: a text
    field with the focus takes those keys as text, so they neither run nor belong in the
    footer then."""
    from textual.keys import format_key

    out = set()
    for b in bindings:
        keys = [k.strip() for k in b.key.split(",")]
        if all(k == "space" or len(format_key(k)) == 1 for k in keys):
            out.add(b.action)
    return out
