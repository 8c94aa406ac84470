"""Widgets for several runs at once: loss curves and gradient flow overlaid (one colour per run,
the legend naming each run by the settings in which it differs), and the table of their
numbers. They draw from a :class:`~rnn_tui.tui.runset.RunSet`; the compare screen decides when.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import DataTable

from rnn_tui.tui.runset import COLUMNS, CompareRun, RunSet
from rnn_tui.tui.widgets.axes import AxesPlot
from rnn_tui.tui.widgets.curves import _finite


def legend(run: CompareRun) -> str:
    return ("★ " if run.pinned else "") + run.label


class OverlayChart(AxesPlot):
    """One line per visible run; subclasses pick the points."""

    title = ""
    empty = "waiting for the runs' first numbers…"

    def __init__(self, runs: RunSet, **kw):
        super().__init__(**kw)
        self.runs = runs

    def on_mount(self) -> None:
        super().on_mount()
        if getattr(self.app.current_theme, "ansi", False):
            self.theme = "clear"

    def render(self):
        p = self.begin()
        drawn = []
        for run in self.runs.visible:
            xs, ys = self.run_points(run)
            if xs:
                self.line(p, xs, ys, label=legend(run),
                          marker="braille" if len(xs) > 1 else "dot", color=run.colour)
                drawn.append(ys)
        p.title(self.title if drawn else f"{self.title} — {self.empty}")
        self.label_x(p, self.xlabel)
        limits = self.ylim(drawn)
        if limits is not None and self._yr is not None:
            self._yr = list(limits)
        self.fit_axes(p)
        return super().render()

    xlabel = "step"

    def ylim(self, drawn: list[list[float]]) -> tuple[float, float] | None:
        return None

    def run_points(self, run: CompareRun) -> tuple[list[float], list[float]]:  # pragma: no cover
        raise NotImplementedError


class ValLossChart(OverlayChart):
    title = "validation loss"

    def run_points(self, run):
        s = run.state.val
        return _finite(s.xs, s.ys)


class TrainLossChart(OverlayChart):
    title = "training loss (the first steep fall cut off)"

    def run_points(self, run):
        s = run.state.loss
        return _finite(s.xs, s.ys)

    def ylim(self, drawn):
        """Leave out the top of the steep start, where every run's loss falls from the same
        log(vocabulary): the axis ends at the 90th percentile of all the points shown (but
        shows every run's latest value), so the differences later on fill the chart."""
        if not drawn:
            return None
        pool = sorted(y for ys in drawn for y in ys)
        high = max(pool[int(0.9 * (len(pool) - 1))], max(ys[-1] for ys in drawn))
        low = pool[0]
        return (low, high + 0.02 * (high - low)) if high > low else None


class FlowChart(OverlayChart):
    """The latest ``grad_flow`` of each run (first layer): ||dL_T/dh_t|| k steps back, log10.
    A vanilla RNN's line falls away; an LSTM's or GRU's stays up."""

    title = "‖∂L_T/∂h_t‖ k steps back (layer 0)"
    log_y = True
    empty = "no gradient profile yet"
    xlabel = "k = steps back in time"

    def run_points(self, run):
        f = run.state.flow
        if f is None or not f.norms or not f.norms[0]:
            return [], []
        row = f.norms[0]
        n = len(row)
        xs = list(range(n))
        ys = [math.log10(max(row[n - 1 - k], 1e-30)) for k in xs]
        return _finite(xs, ys)


def _num(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, spec)


def _rate(v) -> str:
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


STATUS_STYLE = {"training": "cyan", "finished": "green", "failed": "bold red",
                "paused": "yellow", "compiling": "dim", "starting": "dim",
                "interrupted": "magenta", "stopped": "yellow"}


class RunTable(DataTable):
    """Every run: its colour, name, status and numbers; pinned runs on top, then the sort
    column (``s`` cycles it, ``r`` reverses it). Hidden runs are dimmed."""

    def __init__(self, runs: RunSet, **kw):
        super().__init__(cursor_type="row", zebra_stripes=False,
                         cursor_foreground_priority="renderable", **kw)
        self.runs = runs
        self._shown: list[tuple] = []
        self._widths: list[int] = []

    HEADERS = (("run", "run"), ("best", "best val"), ("status", "status"), ("step", "step"),
               ("tok/s", "tok/s"), ("val", "last val"), ("train", "train"))

    def on_mount(self) -> None:
        self.build_columns()

    def build_columns(self, widths: list[int] | None = None) -> None:
        """Columns with fixed widths that fit every cell (measured here: DataTable's own
        automatic widths could lag behind rows replaced between two refreshes)."""
        self.clear(columns=True)
        key, _t, _asc = self.runs.sort_column
        arrow = "↓" if self.runs.reverse else "↑"
        self.add_column(" ", key="colour", width=1)
        titles = [f"{title}{arrow if k == key else ''}" for k, title in self.HEADERS]
        widths = widths or [len(t) for t in titles]
        for (k, _title), title, w in zip(self.HEADERS, titles, widths, strict=True):
            self.add_column(title, key=k, width=max(w, len(title)))
        self._widths = widths
        self._shown = []

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no rows yet
            return None

    def show(self) -> None:
        rows = []
        for r in self.runs.ordered():
            dim = "dim" if r.hidden else ""
            st = r.status
            rows.append((r.key, (
                Text("●", style=f"color({r.colour})") if not r.hidden else Text("○", "dim"),
                Text(legend(r) + (" (hidden)" if r.hidden else ""), style=dim),
                Text(_num(r.metric("best"), ".4f"), style=dim, justify="right"),
                Text(st, style=dim or STATUS_STYLE.get(st, "")),
                Text(_num(r.metric("step"), ","), style=dim, justify="right"),
                Text(_rate(r.metric("tok/s")), style=dim, justify="right"),
                Text(_num(r.metric("val"), ".4f"), style=dim, justify="right"),
                Text(_num(r.metric("train"), ".3f"), style=dim, justify="right"))))
        signature = [(k, tuple(str(c) for c in cells)) for k, cells in rows]
        if signature == self._shown:
            return
        keep = self.selected_key()
        key, _t, _asc = self.runs.sort_column
        arrow = "↓" if self.runs.reverse else "↑"
        widths = [max([len(f"{title}{arrow if k == key else ''}")] +
                      [c[1][i + 1].cell_len for c in rows])
                  for i, (k, title) in enumerate(self.HEADERS)]
        if widths != self._widths:
            self.build_columns(widths)
        else:
            self.clear()
        for k, cells in rows:
            self.add_row(*cells, key=k)
        self._shown = signature
        if keep is not None:
            for i, (k, _cells) in enumerate(rows):
                if k == keep:
                    self.move_cursor(row=i, animate=False)
                    break


__all__ = ["ValLossChart", "TrainLossChart", "FlowChart", "RunTable", "COLUMNS"]
