"""Text panels: the status line, the generated-text stream, the neuron view and the
forecast-error table. All update with ``layout=False`` so a change repaints only themselves."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.heatmap import token_glyph
from rnn_tui.tui.widgets.palette import COLOURS, background, level


class Panel(Vertical):
    """A bordered dashboard panel that can be maximised (the ``v`` key)."""

    DEFAULT_CSS = "Panel { border: round $primary 60%; }"

    @property
    def allow_maximize(self) -> bool:
        return True


class StatusLine(Static):
    def show(self, text: str) -> None:
        if text != getattr(self, "_last", None):
            self._last = text
            self.update(text, layout=False)


class SampleStream(Static):
    """The latest generated samples, newest at the bottom."""

    _state: RunState | None = None

    def on_resize(self) -> None:  # the first show can come before the layout: redo it
        if self._state is not None:
            self.show(self._state)

    def show(self, state: RunState) -> None:
        self._state = state
        out = Text()
        for s in state.samples:
            if out:
                out.append("\n")
            out.append(f"— step {s.step:,} · temperature {s.temperature:.2f}\n", style="dim")
            out.append(s.text)
        if not state.samples:
            out.append("generated text appears here as the model samples (press s)", "dim")
        width, height = self.content_size.width, self.content_size.height
        if width > 0 and height > 0:  # keep the newest lines that fit
            lines = out.wrap(self.app.console, width)
            out = Text("\n").join(lines[-height:])
        self.update(out, layout=False)


class NeuronView(Static):
    """The snapshot's text, each token's background coloured by one unit's activation."""

    def show(self, state: RunState, layer: int, unit: int, cell: bool) -> None:
        snap = state.hidden
        out = Text()
        if snap is None or not snap.h:
            self.update(Text("waiting for the first hidden-state snapshot…", "dim"),
                        layout=False)
            return
        mats = snap.c if (cell and snap.c) else snap.h
        layer = min(layer, len(mats) - 1)
        units = len(mats[layer])
        unit = min(unit, units - 1)
        vals = mats[layer][unit]
        scale = max(1.0, max(abs(v) for v in vals)) if cell else 1.0
        out.append(f"layer {layer} · unit {unit}/{units} · {'c' if cell else 'h'} · "
                   f"min {min(vals):+.2f} max {max(vals):+.2f}\n", style="bold")
        for tok, v in zip(snap.tokens, vals, strict=False):
            shown = tok.replace("\n", "↵\n") if len(tok) > 1 else token_glyph(tok)
            if tok == "\n":
                shown = "↵\n"
            out.append(shown, style=background(level(v, scale)))
        out.append("\n")
        for i, c in enumerate(COLOURS):
            out.append("  ", style=f"on {c}")
            if i == len(COLOURS) // 2:
                out.append(" 0 ", style="dim")
        out.append("  −1 … +1", style="dim")
        self.update(out, layout=False)


class ErrorTable(Static):
    """The model's errors beside the baselines' on the held-out part, most telling first (the
    model, Holt-Winters, seasonal naive, the model's parts, ...); as many rows as fit."""

    ORDER = ("model", "holt_winters_add", "holt_winters_mul", "holt", "seasonal_naive",
             "model_es", "model_es_rnn", "model_one_step", "naive", "last_value", "mean")
    LABELS = {"model_es": "model: smoothing", "model_es_rnn": "model: smoothing+RNN",
              "holt_winters_add": "Holt-Winters add", "holt_winters_mul": "Holt-Winters mul",
              "holt": "Holt (no season)", "model_one_step": "model, one step"}

    _state: RunState | None = None

    def on_resize(self) -> None:
        if self._state is not None:  # as many rows as now fit
            self.show(self._state)

    def show(self, state: RunState) -> None:
        self._state = state
        f = state.forecast
        if f is None or not f.errors:
            self.update(Text("errors appear after the first evaluation", "dim"), layout=False)
            return
        t = Table(box=None, expand=True, padding=(0, 1))
        for col in ("method", "MAE", "RMSE", "MASE"):
            t.add_column(col, justify="left" if col == "method" else "right")
        rank = {k: i for i, k in enumerate(self.ORDER)}
        names = sorted(f.errors, key=lambda k: rank.get(k, len(rank)))
        room = self.size.height - 1 if self.size.height > 1 else len(names)
        best = min(m["mae"] for m in f.errors.values())
        for name in names[:room]:
            m = f.errors[name]
            style = "bold" if m["mae"] == best else ""
            t.add_row(self.LABELS.get(name, name.replace("_", " ")), f"{m['mae']:.3f}",
                      f"{m['rmse']:.3f}", f"{m['mase']:.3f}", style=style)
        self.update(t, layout=False)
