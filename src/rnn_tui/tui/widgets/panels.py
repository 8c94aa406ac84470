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

    _shown = 1 << 30

    def show(self, state: RunState, shown: int | None = None) -> None:
        """``shown``: how many tokens of the newest sample to show yet (it streams in)."""
        self._state = state
        if shown is not None:
            self._shown = shown
        out = Text()
        last = len(state.samples) - 1
        for k, s in enumerate(state.samples):
            if out:
                out.append("\n")
            out.append(f"— step {s.step:,} · temperature {s.temperature:.2f}\n", style="dim")
            if k == last and s.pieces and self._shown < len(s.pieces):
                out.append(s.prime)
                out.append(_join(s.pieces[: self._shown], s.text))
                out.append("▌", style="bold")
            else:
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
    """The model's errors beside the baselines' on the held-out part."""

    def show(self, state: RunState) -> None:
        f = state.forecast
        if f is None or not f.errors:
            self.update(Text("errors appear after the first evaluation", "dim"), layout=False)
            return
        t = Table(box=None, expand=True, padding=(0, 1))
        for col in ("method", "MAE", "RMSE", "MASE"):
            t.add_column(col, justify="left" if col == "method" else "right")
        best = min(m["mae"] for m in f.errors.values())
        for name, m in f.errors.items():
            style = "bold" if m["mae"] == best else ""
            t.add_row(name.replace("_", " "), f"{m['mae']:.3f}", f"{m['rmse']:.3f}",
                      f"{m['mase']:.3f}", style=style)
        self.update(t, layout=False)


def _join(pieces: list[str], text: str) -> str:
    """The first pieces of a sample as the full text writes them (word models put spaces
    between words: follow the text)."""
    joined = "".join(pieces)
    if joined and not text.startswith(joined) and " " in text:
        from rnn_tui.data.text import join_words

        return join_words(pieces)
    return joined
