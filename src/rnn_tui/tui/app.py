"""The Textual app: a dashboard over one event source, plus setup, generate and help screens.

The app knows nothing of Numba: it reads events (:mod:`rnn_tui.tui.source`) and calls the
trainer's controls. Quitting, or losing the terminal, stops the run with a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.events import DeliveryComplete, DeliveryFailed
from textual.widgets import Input

from rnn_tui.tui.keys import typed_actions
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.screens.generate import GenerateScreen
from rnn_tui.tui.screens.help import HelpScreen
from rnn_tui.tui.screens.open_run import OpenRunScreen
from rnn_tui.tui.screens.setup import SetupScreen
from rnn_tui.tui.screenshots import screenshot_dir
from rnn_tui.tui.source import EventSource, LiveSource
from rnn_tui.tui.themes import choose_theme, load_settings, load_themes, save_settings


class RnnTuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "rnn-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help_anywhere", "Help", show=False),  # also while typing in a field
        Binding("t", "next_theme", "Theme"),
        Binding("o", "open_run", "Open run", show=False),
        Binding("C", "compare", "Compare runs", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit_now", "Quit", show=False, priority=True),
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
        self._screenshot_path: Path | None = None
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

    # ------------------------------------------------------------------ keys while typing
    def check_action(self, action: str, parameters) -> bool | None:
        """While a text field has the focus, the app's letter keys type into it: they leave
        the footer (f1 is help there)."""
        if isinstance(self.focused, Input) and action in typed_actions(self.BINDINGS):
            return False
        return True

    # ------------------------------------------------------------------ actions
    def action_help_anywhere(self) -> None:
        self.action_help()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys, seen = [], set()
        for b in DashboardScreen.BINDINGS + self.BINDINGS:
            key = b.key_display or b.key.split(",")[0].replace("_", " ")
            if key not in seen:
                seen.add(key)
                keys.append((key, b.description or b.action))
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
                        "(the 'compare' buttons), then C", severity="warning", timeout=5)
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
            self.clear_notifications()  # the old run's notices are not the new run's
            self.switch_screen_stack(dash, DashboardScreen(new, self.low_bandwidth))
            new.start()

        self.call_from_thread(swap)

    def switch_screen_stack(self, old: DashboardScreen, new: DashboardScreen) -> None:
        while self.screen is not old:
            self.pop_screen()
        self.switch_screen(new)

    async def action_quit_now(self) -> None:
        await self.action_quit()

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

    # ------------------------------------------------------------------ screenshots
    SCREENSHOT = "rnn-tui screenshot"  # the delivery's name, so Textual's own handlers skip it

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: saved in a folder that exists (see
        :func:`~rnn_tui.tui.screenshots.screenshot_dir`); the toast names the file, or the
        folder and the reason it could not be written."""
        import io
        from datetime import datetime

        folder = Path(path) if path else screenshot_dir(self.confine)
        name = filename or f"rnn-tui {datetime.now():{time_format or '%Y-%m-%dT%H_%M_%S'}}.svg"
        self._screenshot_path = folder / name
        return self.deliver_text(io.StringIO(self.export_screenshot()), save_directory=folder,
                                 save_filename=name, open_method="browser",
                                 mime_type="image/svg+xml", name=self.SCREENSHOT)

    def on_delivery_complete(self, event: DeliveryComplete) -> None:
        if event.name == self.SCREENSHOT:
            where = f" to {event.path}" if event.path else ""
            self.notify(Text(f"saved the screenshot{where}"), title="Screenshot")

    def on_delivery_failed(self, event: DeliveryFailed) -> None:
        if event.name == self.SCREENSHOT:
            from rnn_tui.safeio import describe_os_error

            err = event.exception
            why = describe_os_error(err) if isinstance(err, OSError) else str(err)
            self.notify(Text(f"could not save the screenshot as {self._screenshot_path}: {why}"),
                        title="Screenshot", severity="error", timeout=10)

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
                                    lambda a=action: dash.try_action(a))
        yield SystemCommand("Generate text from a run", "key: g", self.action_generate)
        yield SystemCommand("New run (setup)", "key: n", self.action_setup)
        yield SystemCommand("Watch a run (open)", "key: o", self.action_open_run)
        yield SystemCommand("Compare this session's runs", "key: C", self.action_compare)
        yield SystemCommand("Help: keys and views", "key: ?", self.action_help)
