r"""The model view: the network unrolled over the first steps of the current sequence, or
folded into its loop, beside ``rnn-tui summary``'s table with live statistics per layer.

Unrolled, each step is one box per layer (and direction) holding a strip of the first units
of :math:`h_t`; :math:`x_t` enters from below through :math:`W_{xh}`, :math:`h_{t-1}` from the
left through :math:`W_{hh}` (from the right for a backward direction), and :math:`y_t` leaves
upwards through :math:`W_{hy}`: at every step for a many-to-many model, after the last only for
a many-to-one model. The same three matrices act at every step. Folded (the loop view), one box
per layer feeds its own state back to itself through :math:`W_{hh}`.

Everything comes from the run's :class:`~rnn_tui.train.events.ModelSnapshot` events.
"""

from __future__ import annotations

import math
import textwrap

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from rnn_tui.train.events import ModelSnapshot, fmt_num
from rnn_tui.tui.widgets.heatmap import token_glyph
from rnn_tui.tui.widgets.palette import COLOURS, level

BOX_UNITS = 8  # units drawn in each h_t strip
BOX = BOX_UNITS + 2  # with its two walls
GAP = 6  # the recurrent arrow between two steps: "─W_hh▶"
STEP = BOX + GAP
LABEL = 9  # the row labels on the left ("gru 1 →")
TABLE_HEADER = (f"{'layer':<13} {'output':<15}{'params':>9} {'mean':>6} {'std':>5} {'sat':>4} "
                f"{'‖W‖':>7} {'Δ/‖W‖':>8}")
TABLE_WIDTH = len(TABLE_HEADER)
BESIDE_MIN = 150  # below this width the table goes beneath the chain
BARS = "▁▂▃▄▅▆▇█"
MUTED = Style(color="#8a8a96")
ARROW = Style(color="#d0a040")
LABEL_STYLE = Style(bold=True)


class Canvas:
    """Characters and styles on a grid, written out as Rich text (runs of a style merge)."""

    def __init__(self, width: int):
        self.width = max(width, 1)
        self.rows: list[list[tuple[str, Style | None]]] = []

    def line(self) -> int:
        self.rows.append([(" ", None)] * self.width)
        return len(self.rows) - 1

    def put(self, y: int, x: int, text: str, style: Style | None = None) -> None:
        row = self.rows[y]
        for i, ch in enumerate(text):
            if 0 <= x + i < self.width:
                row[x + i] = (ch, style)

    def text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for k, row in enumerate(self.rows):
            if k:
                out.append("\n")
            run, style = "", None
            for ch, st in row:
                if st is not style and run:
                    out.append(run.rstrip() if st is None and not run.strip() else run, style)
                    run = ""
                style = st
                run += ch
            out.append(run.rstrip(), style)
        return out


def strip(values: list[float]) -> list[tuple[str, Style]]:
    """One cell per unit: a bar as high as (v + 1) / 2, coloured by v (blue -, orange +)."""
    out = []
    for v in values[:BOX_UNITS]:
        x = v if isinstance(v, (int, float)) and math.isfinite(v) else 0.0
        x = max(-1.0, min(1.0, x))
        out.append((BARS[min(len(BARS) - 1, int((x + 1) / 2 * len(BARS)))],
                    Style(color=COLOURS[level(x)])))
    return out


def chain_rows(snap: ModelSnapshot) -> list[tuple[int, int]]:
    """(layer, direction) from the top of the picture down: the last layer first, each
    layer's forward direction above its backward one."""
    return [(k, d) for k in reversed(range(len(snap.h))) for d in range(len(snap.h[k]))]


def row_label(snap: ModelSnapshot, layer: int, direction: int, prefix: str = "") -> str:
    arrow = ("→" if direction == 0 else "←") if len(snap.h[layer]) > 1 else ""
    return f"{prefix or snap.cell[:4]} {layer + 1} {arrow}".rstrip()


def pick_steps(snap: ModelSnapshot, fit: int) -> list[int]:
    """Indices into the snapshot's steps that fit: the first ones and always the last."""
    n = len(snap.inputs)
    if n <= fit:
        return list(range(n))
    return [*range(max(fit - 1, 0)), n - 1]


def output_label(snap: ModelSnapshot, i: int) -> str:
    name = snap.outputs[i]
    if not name:
        return ""
    p = snap.probs[i]
    shown = token_glyph(name) if len(name) == 1 else name[:6]
    if snap.real_output or not isinstance(p, (int, float)) or not math.isfinite(p):
        return shown
    return f"{shown} {round(100 * p)}%"


def fitting_steps(width: int) -> int:
    return max(1, (width - LABEL + GAP) // STEP)


def step_columns(n: int, loop: bool = False) -> list[int]:
    return [LABEL + (2 if loop else 0) + j * STEP for j in range(n)]


def draw_chain(snap: ModelSnapshot, width: int, tall: bool, loop: bool = False,
               head: bool = True, prefix: str = "", x_label: str = "x_t") -> Canvas:
    """The unrolled chain (or, with ``loop``, the folded cell at the newest step); ``head``:
    with the y_t line above it."""
    c = Canvas(width)
    fit = 1 if loop else fitting_steps(width)
    steps = [len(snap.inputs) - 1] if loop else pick_steps(snap, fit)
    xs = step_columns(len(steps), loop)
    # y_t, above the top layer, through W_hy
    if head:
        y = c.line()
        c.put(y, 0, "y_t", LABEL_STYLE)
        up = c.line()
        for j, i in enumerate(steps):
            lab = output_label(snap, i)
            if lab:
                c.put(y, xs[j] + max(0, (BOX - len(lab)) // 2), lab, LABEL_STYLE)
                c.put(up, xs[j] + 2, "↑W_hy", ARROW)
    rows = chain_rows(snap)
    for r, (layer, d) in enumerate(rows):
        if r and d == 0:  # the layer above reads this one's h_t at every step
            between = c.line()
            for x in xs:
                c.put(between, x + 2, "↑W_xh", ARROW)
        if tall:
            top = c.line()
            for x in xs:
                c.put(top, x, "╭" + "─" * BOX_UNITS + "╮", MUTED)
        mid = c.line()
        c.put(mid, 0, row_label(snap, layer, d, prefix), LABEL_STYLE)
        for j, i in enumerate(steps):
            x = xs[j]
            c.put(mid, x, "│", MUTED)
            for u, (ch, st) in enumerate(strip(snap.h[layer][d][i])):
                c.put(mid, x + 1 + u, ch, st)
            c.put(mid, x + BOX - 1, "│", MUTED)
            if loop or j + 1 >= len(steps):
                continue
            jump = snap.times[steps[j + 1]] != snap.times[i] + 1
            arrow = ("─ … ─▶" if d == 0 else "◀─ … ─") if jump else (
                "─W_hh▶" if d == 0 else "◀W_hh─")
            c.put(mid, x + BOX, arrow, ARROW)
        if loop:
            x = xs[0]
            c.put(mid, x - 2, "╭▶", ARROW)
            c.put(mid, x + BOX, "─╮", ARROW)
        if tall or loop:
            bottom = c.line()
            for x in xs:
                c.put(bottom, x, ("╰" + "─" * BOX_UNITS + "╯") if tall else " " * BOX, MUTED)
            if loop:
                c.put(bottom, xs[0] - 2, "│", ARROW)
                c.put(bottom, xs[0] + BOX + 1, "│", ARROW)
                back = c.line()
                c.put(back, xs[0] - 2, "╰" + "─" * (BOX + 2) + "╯", ARROW)
                c.put(back, xs[0] + (BOX - 4) // 2, "W_hh", ARROW)
    below = c.line()
    x_line = c.line()
    c.put(x_line, 0, x_label, LABEL_STYLE)
    for j, i in enumerate(steps):
        c.put(below, xs[j] + 2, "↑W_xh", ARROW)
        tok = snap.inputs[i]
        shown = token_glyph(tok) if len(tok) <= 1 or tok.isspace() else tok[: BOX - 1]
        t = f"{shown}" if not loop else f"{shown}  (t = {snap.times[i] + 1})"
        c.put(x_line, xs[j] + max(0, (BOX - len(shown)) // 2), t)
    return c


def draw_seq2seq(snap: ModelSnapshot, width: int, tall: bool) -> Canvas:
    """The decoder's chain over what it writes (y_t the token written, its input the one
    before), the attention weights of its newest step over the source steps, and beneath them
    the encoder's chain over the source."""
    dec = ModelSnapshot(cell=snap.cell, units=snap.units, inputs=snap.dec_inputs,
                        times=snap.dec_times, h=[[layer] for layer in snap.dec_h],
                        outputs=snap.dec_outputs, probs=snap.dec_probs)
    c = draw_chain(dec, width, tall, prefix="dec", x_label="in")
    enc = draw_chain(snap, width, tall, head=False, prefix="enc")
    steps = pick_steps(snap, fitting_steps(width))
    dsteps = pick_steps(dec, fitting_steps(width))
    if snap.attention and dsteps:
        newest = dsteps[-1]
        label = c.line()
        c.put(label, 0, f"attention of decoder step {snap.dec_times[newest] + 1} "
              f"({output_label(dec, newest) or '?'}) over the source:", MUTED)
        weights = c.line()
        c.put(weights, 0, "α", LABEL_STYLE)
        row = snap.attention[newest]
        for x, i in zip(step_columns(len(steps)), steps, strict=True):
            a = row[i] if i < len(row) else float("nan")
            ok = isinstance(a, (int, float)) and math.isfinite(a)
            bar = BARS[min(len(BARS) - 1, int(max(a, 0.0) * len(BARS)))] if ok else " "
            c.put(weights, x + 2, f"{bar} {_pct(a)}", ARROW)
    c.rows += enc.rows
    return c


def legend(snap: ModelSnapshot, loop: bool, width: int) -> Text:
    """What the picture says in words, in lines of ``width``."""
    setup = ("many-to-one: y only after the last step" if snap.last_only else
             "many-to-many: y at every step")
    what = ("one cell, its state fed back through W_hh at every step" if loop else
            "the same W_xh, W_hh, W_hy at every step")
    extra = []
    if snap.dec_inputs:
        setup = "seq2seq: the encoder reads the source, the decoder writes the target"
        extra = ["each decoder step reads its last output and the context, α-weighted "
                 "encoder states"]
    parts = [what, setup, *extra, f"strips: the first {min(BOX_UNITS, snap.units)} of {snap.units} "
             "units of h_t"]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines += textwrap.wrap(part, max(width, 20))
    return Text("\n".join(lines), MUTED)


def _pct(v: float) -> str:
    return "–" if not isinstance(v, (int, float)) or not math.isfinite(v) else f"{100 * v:.0f}%"


def _num(v: float, spec: str) -> str:
    return "–" if isinstance(v, float) and math.isnan(v) else fmt_num(v, spec)


def _compact(n: int) -> str:
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def table(snap: ModelSnapshot) -> Text:
    """``rnn-tui summary``'s rows with the latest statistics."""
    out = Text(no_wrap=True, overflow="crop")
    out.append(TABLE_HEADER, LABEL_STYLE)
    for k, name in enumerate(snap.rows):
        out.append("\n")
        out.append(f"{name[:13]:<13} {snap.shapes[k][:15]:<15}{_compact(snap.params[k]):>9} "
                   f"{_num(snap.act_mean[k], '+.2f'):>6} {_num(snap.act_std[k], '.2f'):>5} "
                   f"{_pct(snap.saturated[k]):>4} {fmt_num(snap.weight_norm[k], '.3g'):>7} "
                   f"{fmt_num(snap.update_ratio[k], '.1e'):>8}")
    return out


def model_text(snap: ModelSnapshot | None, width: int, height: int, loop: bool = False) -> Text:
    """The whole view for a ``width`` x ``height`` area."""
    if snap is None or not snap.inputs or not snap.h:
        return Text("waiting for the first snapshot of the model…", MUTED)
    tab = table(snap)
    tab_lines = len(snap.rows) + 1
    beside = width >= BESIDE_MIN or (loop and width >= LABEL + STEP + 8 + TABLE_WIDTH)
    words = legend(snap, loop, width)
    room = height - len(words.plain.splitlines()) - (0 if beside else tab_lines + 1)
    chain_width = width - TABLE_WIDTH - 2 if beside else width

    def draw(tall: bool) -> Canvas:
        if snap.dec_inputs and not loop:
            return draw_seq2seq(snap, chain_width, tall)
        if snap.dec_inputs:  # the loop of each: the decoder's above the encoder's
            dec = ModelSnapshot(cell=snap.cell, units=snap.units, inputs=snap.dec_inputs,
                                times=snap.dec_times, h=[[layer] for layer in snap.dec_h],
                                outputs=snap.dec_outputs, probs=snap.dec_probs)
            c = draw_chain(dec, chain_width, True, True, prefix="dec", x_label="in")
            c.rows += draw_chain(snap, chain_width, True, True, head=False, prefix="enc").rows
            return c
        return draw_chain(snap, chain_width, tall or loop, loop)

    canvas = draw(True)
    if len(canvas.rows) > room and not loop:
        canvas = draw(False)
    if len(canvas.rows) > room:
        tab = Text("")  # no room for both: the picture first
    chain = canvas.text()
    out = Text(no_wrap=True, overflow="crop")
    if beside:
        left = chain.split("\n")
        right = tab.split("\n")
        for k in range(max(len(left), len(right))):
            if k:
                out.append("\n")
            piece = left[k] if k < len(left) else Text("")
            out.append_text(piece)
            out.append(" " * max(1, chain_width + 2 - piece.cell_len))
            if k < len(right):
                out.append_text(right[k])
    else:
        out.append_text(chain)
        if tab.plain:
            out.append("\n\n")
            out.append_text(tab)
    out.append("\n")
    out.append_text(words)
    return out


class ModelView(Static):
    """The model view (key u; u again folds it into the loop view)."""

    DEFAULT_CSS = """
    ModelView { height: 1fr; width: 1fr; padding: 0 1; }
    """

    loop = False
    snap: ModelSnapshot | None = None

    def show(self, snap: ModelSnapshot | None) -> None:
        self.snap = snap
        width = max(self.size.width, 20)
        self.update(model_text(snap, width, max(self.size.height, 4), self.loop), layout=False)

    def on_resize(self) -> None:
        """Maximised or the terminal resized: as many steps as now fit."""
        self.show(self.snap)
