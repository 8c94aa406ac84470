"""The compare screen: several runs side by side — validation and training loss overlaid, the
latest gradient flow of each, and a table of their numbers — following runs that are still
training, like ``rnn-tui watch`` does for one.

Keys: ``s`` cycles the sort column, ``r`` reverses it; ``h`` hides (or shows again) the selected
run, ``a`` shows every run, ``p`` pins it (pinned runs stay at the top of the table and are
drawn over the others); ``enter`` opens the selected run's own dashboard (``escape`` comes
back); ``v`` maximises one panel after another.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer

from rnn_tui.tui.runset import RunSet
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.source import FileSource
from rnn_tui.tui.widgets.compare import FlowChart, RunTable, TrainLossChart, ValLossChart
from rnn_tui.tui.widgets.panels import Panel, StatusLine

PANELS = ("cmp-val-panel", "cmp-flow-panel", "cmp-train-panel", "cmp-table-panel")


class RunDashboardScreen(DashboardScreen):
    """One run's full dashboard, opened from the compare screen; ``escape`` goes back."""

    BINDINGS = [Binding("escape", "back", "Back to compare")]

    def action_back(self) -> None:
        self.app.pop_screen()


class CompareScreen(Screen):
    CSS_PATH = "../compare.tcss"
    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse", show=False),
        Binding("h", "toggle_hide", "Hide/show"),
        Binding("a", "show_all", "Show all", show=False),
        Binding("p", "toggle_pin", "Pin"),
        Binding("enter,o", "open_run", "Open run", key_display="⏎"),
        Binding("v", "next_view", "View"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, runs: RunSet, low_bandwidth: bool = False, **kw):
        super().__init__(**kw)
        self.runs = runs
        self.low_bandwidth = low_bandwidth
        self.chart_every = 4.0 if low_bandwidth else 1.0  # seconds between chart redraws
        self.dirty = True
        self.last_chart = 0.0
        self.last_scan = time.monotonic()
        self.view_index = 0

    def compose(self) -> ComposeResult:
        yield StatusLine("", id="cmp-status")
        with Grid(id="cmp-panels"):
            with Panel(id="cmp-val-panel") as p:
                p.border_title = "Validation loss"
                yield ValLossChart(self.runs, id="cmp-val")
            with Panel(id="cmp-flow-panel") as p:
                p.border_title = "Gradient flow (latest of each run)"
                yield FlowChart(self.runs, id="cmp-flow")
            with Panel(id="cmp-train-panel") as p:
                p.border_title = "Training loss"
                yield TrainLossChart(self.runs, id="cmp-train")
            with Panel(id="cmp-table-panel") as p:
                p.border_title = r"Runs \[s]ort \[h]ide \[p]in \[⏎] open"
                yield RunTable(self.runs, id="cmp-table")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0 if self.low_bandwidth else 0.5, self.tick)
        self.tick()
        self.query_one(RunTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_all()

    # ------------------------------------------------------------------ event flow
    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_scan >= 2.0:  # a sweep's trials that started since
            self.last_scan = now
            if self.runs.discover():
                self.dirty = True
        changed = self.runs.drain()
        if changed & {"loss", "val", "flow", "run"}:
            self.dirty = True
        if "val" in changed or "run" in changed:  # news: draw it now
            self.last_chart = 0.0
        if self.dirty and now - self.last_chart >= self.chart_every:
            self.last_chart = now
            self.dirty = False
            self.refresh_charts()
        if changed or self.dirty:
            self.query_one(RunTable).show()
        self.query_one(StatusLine).show(self.status_text())

    def refresh_charts(self) -> None:
        for chart in (ValLossChart, TrainLossChart, FlowChart):
            self.query_one(chart).refresh()

    def refresh_all(self) -> None:
        self.refresh_charts()
        table = self.query_one(RunTable)
        table.build_columns()
        table.show()
        self.query_one(StatusLine).show(self.status_text())

    def status_text(self) -> str:
        rs = self.runs
        counts = " · ".join(f"{n} {s}" for s, n in rs.counts().items())
        hidden = sum(r.hidden for r in rs.runs)
        where = ", ".join(str(p) for p in rs.roots)  # a sweep's folder; nothing for loose runs
        _k, title, _asc = rs.sort_column
        parts = [f"comparing {len(rs.runs)} run{'s' if len(rs.runs) != 1 else ''}", where,
                 counts, f"sorted by {title}{' (reversed)' if rs.reverse else ''}"]
        if hidden:
            parts.append(f"{hidden} hidden")
        return " · ".join(p for p in parts if p)

    # ------------------------------------------------------------------ actions
    def selected(self):
        """The run the table's cursor is on; with none, the key says so."""
        key = self.query_one(RunTable).selected_key()
        run = self.runs.get(key) if key else None
        if run is None:
            self.notify("no run to act on yet: the table lists each run once its first "
                        "numbers arrive", severity="warning", timeout=3)
        return run

    def action_cycle_sort(self) -> None:
        self.runs.cycle_sort()
        self.refresh_all()

    def action_reverse_sort(self) -> None:
        self.runs.reverse = not self.runs.reverse
        self.refresh_all()

    def action_toggle_hide(self) -> None:
        run = self.selected()
        if run is None:
            return
        run.hidden = not run.hidden
        self.notify(f"{run.label}: {'hidden' if run.hidden else 'shown'}", timeout=1.5)
        self.refresh_all()

    def action_show_all(self) -> None:
        for r in self.runs.runs:
            r.hidden = False
        self.refresh_all()

    def action_toggle_pin(self) -> None:
        run = self.selected()
        if run is None:
            return
        run.pinned = not run.pinned
        self.notify(f"{run.label}: {'pinned' if run.pinned else 'unpinned'}", timeout=1.5)
        self.refresh_all()

    def action_open_run(self) -> None:
        run = self.selected()
        if run is None:
            return
        self.app.push_screen(RunDashboardScreen(FileSource(run.path), self.low_bandwidth))

    def on_data_table_row_selected(self, event: RunTable.RowSelected) -> None:
        self.action_open_run()

    def action_back(self) -> None:
        """Opened over a dashboard (C in the app): back to it. As `rnn-tui compare`'s own
        screen: stay, and say how to leave."""
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.notify("this is rnn-tui compare's own screen: q quits", severity="warning",
                        timeout=3)

    def action_next_view(self) -> None:
        self.view_index = (self.view_index + 1) % (len(PANELS) + 1)
        if self.view_index == 0:
            self.minimize()
        else:
            self.maximize(self.query_one(f"#{PANELS[self.view_index - 1]}"), container=False)
        self.refresh_all()
