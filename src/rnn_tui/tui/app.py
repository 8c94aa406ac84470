"""The Textual app: a dashboard over one event source, plus setup, generate and help screens.

The app knows nothing of Numba: it reads events (:mod:`rnn_tui.tui.source`) and calls the
trainer's controls. Quitting, or losing the terminal, stops the run with a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding

from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.screens.generate import GenerateScreen
from rnn_tui.tui.screens.help import HelpScreen
from rnn_tui.tui.screens.open_run import OpenRunScreen
from rnn_tui.tui.screens.setup import SetupScreen
from rnn_tui.tui.source import EventSource, LiveSource
from rnn_tui.tui.themes import choose_theme, load_settings, load_themes, save_settings


class RnnTuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "rnn-tui"
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("t", "next_theme", "Theme"),
        Binding("o", "open_run", "Open run", show=False),
        Binding("C", "compare", "Compare runs", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, source: EventSource, cfg=None, theme: str | None = None,
                 low_bandwidth: bool = False, runs_dir: str | Path = "runs",
                 remember_theme: bool = True, confine: str | Path | None = None):
        """``confine``: a folder that every path typed in the app must stay inside (runs to open
        or generate from); corpora are then the built-in ones (or the configured one) only."""
        super().__init__()
        self.confine = Path(confine) if confine is not None else None
        self.source = source
        self.cfg = cfg
        self.low_bandwidth = low_bandwidth
        self.runs_dir = runs_dir
        self.requested_theme = theme
        self.remember_theme = remember_theme
        self.quitting = False
        self.session_runs: list[Path] = []  # run directories trained earlier in this session
        self._theme_ready = False
        self.broken_themes: dict[str, str] = {}  # name -> why its file did not load
        themes = load_themes(self.broken_themes)
        for t in themes.values():
            self.register_theme(t)
        self.theme_cycle = sorted(themes) + ["textual-dark", "nord", "gruvbox"]  # key t

    # ------------------------------------------------------------------ set-up
    def on_mount(self) -> None:
        self.start_theme()
        self.push_screen(self.first_screen())
        if isinstance(self.source, LiveSource):
            self.source.start()

    def first_screen(self):
        """The screen the app opens on (``rnn-tui compare`` opens on another)."""
        return DashboardScreen(self.source, self.low_bandwidth)

    def start_theme(self) -> None:
        """The requested theme, else the remembered one, else the default; one that cannot be
        loaded gives way to the default (or Textual's own) with one line saying so."""
        wanted = self.requested_theme or load_settings().get("theme")
        name, why = choose_theme(wanted if isinstance(wanted, str) else None,
                                 self.available_themes, self.broken_themes)
        for msg in self.broken_themes.values():
            if not (why and why.startswith(msg)):
                self.notify(f"{msg}; skipped", severity="warning", timeout=8)
        if why:
            self.notify(why, severity="warning", timeout=8)
        self.theme = name
        self._theme_ready = True
        if self.remember_theme and self.requested_theme and not why:
            self.watch_theme(name)  # a theme chosen on the command line is remembered too

    def watch_theme(self, name: str) -> None:
        if self.remember_theme and self._theme_ready:
            s = load_settings()
            if s.get("theme") != name:
                s["theme"] = name
                save_settings(s)

    @property
    def dashboard(self) -> DashboardScreen:
        for s in self.screen_stack:
            if isinstance(s, DashboardScreen):
                return s
        raise LookupError("no dashboard")

    # ------------------------------------------------------------------ actions
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = []
        for b in DashboardScreen.BINDINGS + self.BINDINGS:
            keys.append((b.key_display or b.key.split(",")[0].replace("_", " "),
                         b.description or b.action))
        keys += [("ctrl+p", "command palette (every action, every theme)"),
                 ("escape", "back / close")]
        self.push_screen(HelpScreen(keys))

    def action_next_theme(self) -> None:
        names = self.theme_cycle
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=1.5)

    def action_generate(self) -> None:
        source = self.screen.source if isinstance(self.screen, DashboardScreen) else self.source
        if source.live:
            source.save_now()  # so the generate screen has the latest weights
        self.push_screen(GenerateScreen(source.run_dir, confine=self.confine))

    def action_open_run(self) -> None:
        if isinstance(self.screen, OpenRunScreen):
            return
        self.push_screen(OpenRunScreen(self.confine or self.runs_dir, self.confine is not None,
                                       self.low_bandwidth))

    def action_setup(self) -> None:
        if self.cfg is None:
            self.notify("watching a run: start your own with `rnn-tui`", severity="warning")
            return
        self.push_screen(SetupScreen(self.cfg, allow_files=self.confine is None))

    def on_setup_screen_start(self, message: SetupScreen.Start) -> None:
        self.pop_screen()
        self.switch_run(message.cfg)
        if message.compare:
            self.notify(f"starting the same run as {message.cfg.model.cell}; press C to "
                        "compare it with the previous one", timeout=6)

    def action_compare(self) -> None:
        """This session's runs side by side (the compare screen over their run
        directories; the one training now is followed live)."""
        from rnn_tui.tui.runset import RunSet
        from rnn_tui.tui.screens.compare import CompareScreen

        dirs = [p for p in dict.fromkeys([*self.session_runs, self.source.run_dir])
                if p is not None and Path(p).is_dir()]
        if len(dirs) < 2:
            self.notify("one run so far: press n and start the same run as another cell "
                        "(the 'compare' buttons), then C", timeout=5)
            return
        if isinstance(self.screen, CompareScreen):
            return
        self.push_screen(CompareScreen(RunSet.from_paths(dirs), self.low_bandwidth))

    @work(thread=True, exclusive=True, group="run")
    def switch_run(self, cfg) -> None:
        old = self.source
        if old.live:
            self.call_from_thread(self.notify, "saving the current run…", timeout=2)
            old.stop("stopped")
            old.join(60)
        if old.run_dir is not None:
            self.session_runs.append(Path(old.run_dir))
        new = LiveSource(cfg, self.runs_dir)
        self.cfg = cfg
        self.source = new

        def swap():
            dash = self.dashboard
            self.switch_screen_stack(dash, DashboardScreen(new, self.low_bandwidth))
            new.start()

        self.call_from_thread(swap)

    def switch_screen_stack(self, old: DashboardScreen, new: DashboardScreen) -> None:
        while self.screen is not old:
            self.pop_screen()
        self.switch_screen(new)

    async def action_quit(self) -> None:
        if self.quitting:
            return
        self.quitting = True
        if not self.source.live:
            self.exit()
            return
        self.notify("saving a checkpoint and stopping…", timeout=10)
        self.stop_and_exit()

    @work(thread=True, group="quit")
    def stop_and_exit(self) -> None:
        self.source.stop("stopped")
        self.source.join(120)
        self.call_from_thread(self.exit)

    # ------------------------------------------------------------------ command palette
    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        dash_actions = [
            ("Pause / resume training", "toggle_pause", "space"),
            ("Sample text now", "sample", "s"),
            ("Save a checkpoint now", "save", "w"),
            ("Temperature up", "temperature(0.1)", "+"),
            ("Temperature down", "temperature(-0.1)", "-"),
            ("Next hidden unit", "unit(1)", "]"),
            ("Previous hidden unit", "unit(-1)", "["),
            ("Next layer", "layer(1)", "l"),
            ("Previous layer", "layer(-1)", "L"),
            ("Show h or c (LSTM)", "toggle_cell", "c"),
            ("Heatmap / neuron view", "toggle_memory_view", "m"),
            ("Gradients: through time / over training", "toggle_grad_mode", "d"),
            ("Next view (maximise a panel)", "next_view", "v"),
            ("Forecast view", "forecast_view", "f"),
            ("Gates / gate saturation", "gates_view", "G"),
            ("Embeddings: nearest tokens and a 2-D map", "embedding_view", "e"),
            ("Next-token distribution", "next_token_view", "p"),
            ("One step (while paused)", "step_once", "."),
            ("Set the learning rate", "set_value('lr')", "r"),
            ("Set the gradient clipping threshold", "set_value('clip')", "k"),
        ]
        try:
            dash = self.dashboard
        except LookupError:
            dash = None
        if dash is not None:
            for title, action, key in dash_actions:
                yield SystemCommand(title, f"key: {key}",
                                    lambda a=action: self.call_later(self.run_action, a, dash))
        yield SystemCommand("Generate text from a run", "key: g", self.action_generate)
        yield SystemCommand("New run (setup)", "key: n", self.action_setup)
        yield SystemCommand("Watch a run (open)", "key: o", self.action_open_run)
        yield SystemCommand("Compare this session's runs", "key: C", self.action_compare)
        yield SystemCommand("Help: keys and views", "key: ?", self.action_help)
