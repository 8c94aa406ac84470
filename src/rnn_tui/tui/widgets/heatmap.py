"""Hidden-state heatmap: units (rows) x time steps (columns) of the current sequence.

Two units share a terminal row (an upper-half block: foreground = upper unit, background = lower
unit); the input tokens run along the top edge. Only a window of units fits on screen; the chosen
unit is marked and the window follows it. A time step is as many columns wide as the width
allows, so the map fills its panel; words (a word-level model) get at least
:data:`WORD_CELLS` columns each, their letters along the edge.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.tui.widgets.palette import level, pair

GUTTER = 6
WORD_CELLS = 4  # the narrowest column of a word: three letters and a space


def token_glyph(tok: str) -> str:
    """One printable cell for a token (first character; whitespace made visible)."""
    if not tok:
        return " "
    ch = tok[0]
    return {"\n": "↵", " ": "·", "\t": "→"}.get(ch, ch if ch.isprintable() else "?")


def is_wordy(tokens) -> bool:
    """Whether the tokens are words (some longer than one character), not characters."""
    return any(len(str(t)) > 1 for t in tokens)


def token_label(tok: str, cells: int) -> str:
    """A token in ``cells`` columns: a character as its glyph; a word whole with a space after
    it, or cut with … when it is longer."""
    tok = str(tok)
    if len(tok) <= 1:
        return token_glyph(tok).ljust(cells)
    word = "".join(ch if ch.isprintable() else "?" for ch in tok.replace("\n", "↵"))
    room = cells - 1
    if len(word) > room:
        word = word[: room - 1] + "…" if room >= 4 else word[:room]
    return word.ljust(cells)


def column_widths(steps: int, width: int, wordy: bool) -> list[int]:
    """The columns of each time step shown, for ``steps`` steps in ``width`` columns after
    the gutter, the newest steps when not all fit. Words (at least :data:`WORD_CELLS`
    columns each) share out all the room, one column more or less; characters get the
    same whole number of columns each, so that a word's letters stay evenly apart."""
    room = max(1, width - GUTTER)
    shown = max(1, min(steps, room // (WORD_CELLS if wordy else 1)))
    if not wordy:
        return [room // shown] * shown
    return [(i + 1) * room // shown - i * room // shown for i in range(shown)]


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

    def layout(self) -> tuple[list[int], int, int]:
        """(columns of each step shown, rows of token labels, units per row): words too long
        for their columns are labelled on two rows, every other word on each, with twice the
        room; one unit a row when they all fit, else two (an upper-half block)."""
        steps = len(self.matrix[0]) if self.matrix else len(self.tokens)
        wordy = is_wordy(self.tokens)
        widths = column_widths(steps, self.size.width, wordy)
        labels = 0
        if self.header:
            shown = self.tokens[max(0, steps - len(widths)):]
            long = wordy and any(len(str(t)) > w - 1 for t, w in zip(shown, widths,
                                                                   strict=False))
            labels = 2 if long and len(widths) > 1 else 1
        per_row = 1 if self.units <= self.size.height - labels else 2
        return widths, labels, per_row

    def visible_units(self) -> int:
        _widths, labels, per_row = self.layout()
        return max(0, (self.size.height - labels) * per_row)

    def _follow(self, per_row: int) -> None:
        n = self.visible_units()
        if n <= 0:
            return
        align = per_row - 1  # two a row: a window starts on an even unit
        if self.unit < self.first_unit:
            self.first_unit = self.unit - (self.unit % 2 if align else 0)
        elif self.unit >= self.first_unit + n:
            start = self.unit - n + 1
            self.first_unit = start + (start % 2 if align else 0)
        last = max(0, self.units - n + (self.units % 2 if align else 0))
        self.first_unit = max(0, min(self.first_unit, last))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        dim = Style(dim=True)
        if not self.matrix:
            text = "waiting for the first snapshot…" if y == 0 else ""
            return Strip([Segment(text[:width].ljust(width), dim)])
        widths, labels, per_row = self.layout()
        self._follow(per_row)
        steps = len(self.matrix[0])
        cols = len(widths)
        t0 = steps - cols  # newest steps when the widget is narrow
        if y < labels:
            shown = self.tokens[t0:t0 + cols]
            if labels == 1:
                edge = "".join(token_label(t, w) for t, w in zip(shown, widths, strict=False))
            else:  # every other word on this row, each in two steps' columns
                edge = " " * sum(widths[:y]) + "".join(
                    token_label(shown[i], sum(widths[i:i + 2]))
                    for i in range(y, min(len(shown), cols), 2))
            gutter = " t →  " if y == 0 else ""
            return Strip([Segment(gutter.ljust(GUTTER), dim), Segment(edge)]).crop(0, width)
        u = self.first_unit + per_row * (y - labels)
        if u >= self.units:
            return Strip.blank(width)
        top = self.matrix[u]
        bot = self.matrix[u + 1] if per_row == 2 and u + 1 < self.units else None
        marked = self.unit in (u, u + 1) if per_row == 2 else self.unit == u
        label = (f"▶{self.unit:>4} " if marked else f"{u:>5} ")[:GUTTER]
        segs = [Segment(label, Style(bold=True) if marked else dim)]
        run, run_style = 0, None
        for t, w in zip(range(t0, t0 + cols), widths, strict=False):
            lt = level(top[t], self.scale) if t < len(top) else level(0.0)
            lb = level(bot[t], self.scale) if bot is not None and t < len(bot) else lt
            st = pair(lt, lb)
            if st is not run_style and run:
                segs.append(Segment("▀" * run, run_style))
                run = 0
            run_style = st
            run += w
        if run:
            segs.append(Segment("▀" * run, run_style))
        return Strip(segs).extend_cell_length(width).crop(0, width)
