"""Text panels: the status line, the generated-text stream, the neuron view and the
forecast-error table. All update with ``layout=False`` so a change repaints only themselves."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from rnn_tui.errors import visible
from rnn_tui.train.events import fmt_num
from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.heatmap import is_wordy, token_glyph
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
    """The latest generated samples, newest at the bottom; with ``shading`` (an attribution
    over the newest sample's last characters), those shaded by theirs."""

    shading = None

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
            out.append(f"— step {s.step:,} · temperature {fmt_num(s.temperature, '.2f')}\n",
                       style="dim")
            if k == last and s.pieces and self._shown < len(s.pieces):
                out.append(visible(s.prime, keep="\n\t"))
                out.append(visible(_join(s.pieces[: self._shown], str(s.text)), keep="\n\t"))
                out.append("▌", style="bold")
            elif k == last and self.shading is not None and \
                    str(s.text).endswith("".join(self.shading.tokens)):
                from rnn_tui.explain.shading import shade

                n = len("".join(self.shading.tokens))
                out.append(str(s.text)[: len(str(s.text)) - n])
                out.append_text(shade(self.shading.tokens, self.shading.scores, "",
                                      signed=False))
            else:
                out.append(visible(s.text, keep="\n\t"))
        if not state.samples:
            out.append("generated text appears here as the model samples (press s)", "dim")
        width, height = self.content_size.width, self.content_size.height
        if width > 0 and height > 0:  # keep the newest lines that fit
            lines = out.wrap(self.app.console, width)
            out = Text("\n").join(lines[-height:])
        self.update(out, layout=False)


def finite(values) -> list[float]:
    """The finite numbers among ``values`` (None, NaN, inf and huge integers left out)."""
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                if math.isfinite(v):
                    out.append(float(v))
            except OverflowError:
                pass
    return out


def _passage(snap, layer: int, unit: int, cell: bool, scale: float | None) -> Text:
    """One snapshot's tokens, each on the colour of the unit's activation; words apart."""
    mats = snap.c if (cell and snap.c) else snap.h
    out = Text()
    if not mats:
        return out
    layer = max(0, min(layer, len(mats) - 1))
    if not mats[layer]:
        return out
    vals = mats[layer][max(0, min(unit, len(mats[layer]) - 1))]
    if scale is None:
        scale = max([1.0] + [abs(v) for v in finite(vals)]) if cell else 1.0
    wordy = is_wordy(snap.tokens)
    for k, (tok, v) in enumerate(zip(snap.tokens, vals, strict=False)):
        tok = str(tok)
        if tok == "\n":
            shown = "↵\n"
        elif len(tok) > 1:
            shown = tok.replace("\n", "↵\n")
        else:
            shown = token_glyph(tok)
        if wordy and k and not out.plain.endswith("\n"):
            out.append(" ")
        out.append(shown, style=background(level(v, scale)))
    return out


def neuron_text(state: RunState, layer: int, unit: int, cell: bool, width: int = 0,
                height: int = 0, console=None) -> Text:
    """The neuron view's text: the snapshot's tokens, each on the colour of one unit's
    activation, words with spaces between them; with a ``height`` (and the ``console`` to wrap
    with), the earlier snapshots below it while they fit, newest first (any snapshot: empty,
    ragged or non-finite values are shown, never raised on)."""
    snap = state.hidden
    out = Text()
    if snap is None or not snap.h:
        return Text("waiting for the first hidden-state snapshot…", "dim")
    mats = snap.c if (cell and snap.c) else snap.h
    layer = max(0, min(layer, len(mats) - 1))
    units = len(mats[layer])
    if not units:
        return Text(f"layer {layer} has no units in this snapshot", "dim")
    unit = max(0, min(unit, units - 1))
    vals = mats[layer][unit]
    seen = finite(vals)
    lo, hi = (fmt_num(min(seen), "+.2f"), fmt_num(max(seen), "+.2f")) if seen else ("–", "–")
    out.append(f"layer {layer} · unit {unit}/{units} · {'c' if cell else 'h'} · "
               f"min {lo} max {hi}\n", style="bold")
    out.append_text(_passage(snap, layer, unit, cell, None))
    out.append("\n")
    if height and width and console is not None:
        used = len(out.wrap(console, width)) + 1  # and the legend
        earlier = [s for s in reversed(state.hidden_history) if s.step != snap.step]
        for old in earlier:
            block = Text(f"step {old.step:,}\n", style="dim")
            block.append_text(_passage(old, layer, unit, cell, None))
            block.append("\n")
            lines = len(block.wrap(console, width))
            if used + lines > height:
                break
            out.append_text(block)
            used += lines
    for i, c in enumerate(COLOURS):
        out.append("  ", style=f"on {c}")
        if i == len(COLOURS) // 2:
            out.append(" 0 ", style="dim")
    out.append("  −1 … +1", style="dim")
    return out


class NeuronView(Static):
    """The snapshot's text, each token's background coloured by one unit's activation, and
    the earlier snapshots' below it as far as the panel goes."""

    _args: tuple | None = None

    def on_resize(self) -> None:
        if self._args is not None:
            self.show(*self._args)

    def show(self, state: RunState, layer: int, unit: int, cell: bool) -> None:
        self._args = (state, layer, unit, cell)
        size = self.content_size
        self.update(neuron_text(state, layer, unit, cell, size.width, size.height,
                                self.app.console), layout=False)


def error_rows(errors, order=(), labels=None) -> list[tuple[str, str, str, str, bool]]:
    """(method, MAE, RMSE, MASE, best?) for the error table, from whatever the event holds,
    in ``order`` (others after), named by ``labels``: a missing or non-finite measure shows as
    ``–`` / ``nan`` / ``inf``."""
    rows = []
    if not isinstance(errors, dict):
        return rows
    labels = labels or {}
    maes = {name: m.get("mae") if isinstance(m, dict) else None for name, m in errors.items()}
    good = finite(maes.values())
    best = min(good) if good else None
    rank = {k: i for i, k in enumerate(order)}
    for name in sorted(errors, key=lambda k: rank.get(k, len(rank))):
        m = errors[name] if isinstance(errors[name], dict) else {}
        rows.append((labels.get(name, str(name).replace("_", " ")), fmt_num(m.get("mae")),
                     fmt_num(m.get("rmse")), fmt_num(m.get("mase")),
                     best is not None and maes[name] == best))
    return rows


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
        rows = error_rows(f.errors, self.ORDER, self.LABELS)
        room = self.size.height - 1 if self.size.height > 1 else len(rows)
        for name, mae, rmse, mase, best in rows[:room]:
            t.add_row(name, mae, rmse, mase, style="bold" if best else "")
        self.update(t, layout=False)


def _join(pieces: list[str], text: str) -> str:
    """The first pieces of a sample as the full text writes them (word models put spaces
    between words: follow the text)."""
    joined = "".join(pieces)
    if joined and not text.startswith(joined) and " " in text:
        from rnn_tui.data.text import join_words

        return join_words(pieces)
    return joined
