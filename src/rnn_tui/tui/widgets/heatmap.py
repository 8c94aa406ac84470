"""Hidden-state heatmap: units (rows) x time steps (columns) of the current sequence.

Two units share a terminal row (an upper-half block: foreground = upper unit, background = lower
unit); the input tokens run along the top edge. Only a window of units fits on screen; the chosen
unit is marked and the window follows it.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.tui.widgets.palette import level, pair

GUTTER = 6


def token_glyph(tok: str) -> str:
    """One printable cell for a token (first character; whitespace made visible)."""
    if not tok:
        return " "
    ch = tok[0]
    return {"\n": "↵", " ": "·", "\t": "→"}.get(ch, ch if ch.isprintable() else "?")


class Heatmap(Widget):
    DEFAULT_CSS = """
    Heatmap { height: 1fr; width: 1fr; }
    """

    def __init__(self, header: bool = True, **kw):
        super().__init__(**kw)
        self.header = header  # the input tokens along the top edge
        self.tokens: list[str] = []
        self.matrix: list[list[float]] = []  # [unit][t]
        self.scale = 1.0
        self.unit = 0  # the chosen unit (marked)
        self.first_unit = 0  # first unit in view

    def set_data(self, tokens: list[str], matrix: list[list[float]], scale: float = 1.0) -> None:
        self.tokens, self.matrix, self.scale = tokens, matrix, scale
        self.refresh()

    @property
    def units(self) -> int:
        return len(self.matrix)

    def visible_units(self) -> int:
        return max(0, (self.size.height - self.header) * 2)

    def _follow(self) -> None:
        n = self.visible_units()
        if n <= 0:
            return
        if self.unit < self.first_unit:
            self.first_unit = self.unit - self.unit % 2
        elif self.unit >= self.first_unit + n:
            self.first_unit = self.unit - n + 1 + (self.unit - n + 1) % 2
        self.first_unit = max(0, min(self.first_unit, max(0, self.units - n + self.units % 2)))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        dim = Style(dim=True)
        if not self.matrix:
            text = "waiting for the first snapshot…" if y == 0 else ""
            return Strip([Segment(text[:width].ljust(width), dim)])
        self._follow()
        steps = len(self.matrix[0])
        cols = max(1, min(steps, width - GUTTER))
        t0 = steps - cols  # newest steps when the widget is narrow
        if y == 0 and self.header:
            edge = "".join(token_glyph(t) for t in self.tokens[t0:t0 + cols])
            return Strip([Segment(" t →  ".ljust(GUTTER), dim), Segment(edge)]).crop(0, width)
        u = self.first_unit + 2 * (y - self.header)
        if u >= self.units:
            return Strip.blank(width)
        top = self.matrix[u]
        bot = self.matrix[u + 1] if u + 1 < self.units else None
        marked = self.unit in (u, u + 1)
        label = (f"▶{self.unit:>4} " if marked else f"{u:>5} ")[:GUTTER]
        segs = [Segment(label, Style(bold=True) if marked else dim)]
        run, run_style = [], None
        for t in range(t0, t0 + cols):
            lt = level(top[t], self.scale)
            lb = level(bot[t], self.scale) if bot is not None else lt
            st = pair(lt, lb)
            if st is not run_style and run:
                segs.append(Segment("▀" * len(run), run_style))
                run = []
            run_style = st
            run.append(t)
        if run:
            segs.append(Segment("▀" * len(run), run_style))
        return Strip(segs).extend_cell_length(width).crop(0, width)
