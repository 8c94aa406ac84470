"""Open a run to watch: a name under the runs folder (typed, or picked from the list), then its
dashboard follows its ``metrics.jsonl`` on top of the app's own run (escape goes back).

With ``confined`` (``rnn-tui --confine DIR``, which ``rnn-tui serve`` uses) every name goes through
:func:`rnn_tui.paths.safe_run_path`: nothing outside ``root`` can be opened."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList

from rnn_tui.errors import UserError
from rnn_tui.paths import safe_run_path
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.source import FileSource

MAX_LISTED = 200


def list_runs(root: Path, depth: int = 2) -> list[str]:
    """Run directories (with a ``metrics.jsonl``) up to ``depth`` folders below ``root``, newest
    first, as names relative to ``root``; symlinks are not followed."""
    found: list[tuple[float, str]] = []

    def walk(folder: Path, prefix: str, level: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if len(found) >= MAX_LISTED or e.name.startswith("."):
                continue
            try:
                if not e.is_dir(follow_symlinks=False):
                    continue
                metrics = Path(e.path) / "metrics.jsonl"
                if metrics.is_file() and not metrics.is_symlink():
                    found.append((metrics.stat().st_mtime, prefix + e.name))
                elif level < depth:
                    walk(Path(e.path), prefix + e.name + "/", level + 1)
            except OSError:
                continue

    walk(Path(root), "", 1)
    return [name for _t, name in sorted(found, reverse=True)]


class WatchScreen(DashboardScreen):
    """The dashboard of a run followed from its files, over the app's own run."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]


class OpenRunScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Cancel"),
                Binding("f1", "app.help_anywhere", "Help")]  # ? types into the field

    def __init__(self, root: str | Path, confined: bool, low_bandwidth: bool = False, **kw):
        super().__init__(**kw)
        self.root = Path(root)
        self.confined = confined
        self.low_bandwidth = low_bandwidth

    def compose(self) -> ComposeResult:
        runs = list_runs(self.root)
        where = "the runs folder" if self.confined else str(self.root.resolve())
        yield Label(Text(f"Watch a run — type its name under {where}"
                         + (", or pick one below" if runs else "")), classes="title")
        yield Input(placeholder="run name, e.g. alice/char-20250101-120000", id="open-name",
                    compact=True)
        yield Label("", id="open-error", classes="error")
        if not runs:  # say so, rather than an empty list
            yield Label("no runs there yet: a run is listed once it has started (here, or with "
                        "`rnn-tui train`)" + ("" if self.confined else
                                               "; a path to a run elsewhere works too"),
                        id="open-none", classes="note")
        yield OptionList(*(Text(n) for n in runs), id="open-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#open-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.open(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.open(str(event.option.prompt))

    def resolve(self, name: str) -> Path:
        name = name.strip()
        if self.confined:
            return safe_run_path(self.root, name)
        p = Path(name).expanduser()
        return p if p.is_absolute() else self.root / p

    def open(self, name: str) -> None:
        err = self.query_one("#open-error", Label)
        try:
            path = self.resolve(name)
            try:
                source = FileSource(path)
            except UserError as e:
                if self.confined:  # say it without the server's own paths
                    raise UserError(f"{name.strip()!r} is not a run under the runs folder") from e
                raise
        except UserError as e:
            err.update(Text(str(e)))  # the name as typed, not as markup
            return
        self.app.switch_screen(WatchScreen(source, self.low_bandwidth))
