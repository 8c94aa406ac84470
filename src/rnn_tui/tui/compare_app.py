"""``rnn-tui compare``: the app opened on the compare screen instead of one run's dashboard.
Nothing trains here; quitting just leaves."""

from __future__ import annotations

from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.runset import RunSet
from rnn_tui.tui.screens.compare import CompareScreen
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.screens.generate import GenerateScreen
from rnn_tui.tui.screens.help import HelpScreen
from rnn_tui.tui.source import EventSource


class CompareApp(RnnTuiApp):
    TITLE = "rnn-tui compare"

    def __init__(self, runs: RunSet, **kw):
        kw.setdefault("cfg", None)
        super().__init__(EventSource(), **kw)
        self.runs = runs

    def first_screen(self):
        return CompareScreen(self.runs, self.low_bandwidth)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        if isinstance(self.screen, DashboardScreen):
            return super().action_help()
        keys = [(b.key_display or b.key.split(",")[0], b.description)
                for b in CompareScreen.BINDINGS + self.BINDINGS]
        keys += [("↑ ↓", "select a run"), ("r", "reverse the sort"),
                 ("a", "show every hidden run"), ("escape", "back (from a run's dashboard)")]
        self.push_screen(HelpScreen(keys))

    def action_compare(self) -> None:
        while not isinstance(self.screen, CompareScreen):
            self.pop_screen()

    def action_generate(self) -> None:
        screen = self.screen
        if isinstance(screen, DashboardScreen) and screen.source.run_dir is not None:
            self.push_screen(GenerateScreen(screen.source.run_dir))
        else:
            self.notify("open a run first (enter), then g", timeout=2)
