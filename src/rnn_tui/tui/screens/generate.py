"""The generate screen: load a run, type a priming text, watch the text stream in."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.validation import Integer, Number
from textual.widgets import Button, Footer, Input, Label, Static

from rnn_tui.errors import UserError
from rnn_tui.paths import relative_name, safe_run_path
from rnn_tui.session import load_language_model


class GenerateScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+g", "generate", "Generate"),
        Binding("ctrl+x", "stop", "Stop"),
        Binding("f1", "app.help_anywhere", "Help"),  # ? types into the field
    ]

    def __init__(self, run_dir: str | Path | None = None, confine: Path | None = None, **kw):
        """``confine``: runs are named under this folder and cannot lie outside it."""
        super().__init__(**kw)
        self.confine = confine
        if confine is not None and run_dir:
            run_dir = relative_name(confine, run_dir)
        self.run_dir = str(run_dir or "")
        self.buffer: list[str] = []
        self.text = ""
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("run", classes="form-label")
            yield Input(self.run_dir, placeholder="run directory", id="gen-run",
                        compact=True)
        with Horizontal(classes="form-row"):
            yield Label("prime", classes="form-label")
            yield Input(placeholder="text to start from (optional)", id="gen-prime",
                        compact=True)
        with Horizontal(classes="form-row"):
            yield Label("temperature", classes="form-label")
            yield Input("0.8", id="gen-temp", compact=True, classes="small-input",
                        validators=[Number(minimum=0.01, maximum=5)])
            yield Label("top-k", classes="small-label")
            yield Input("0", id="gen-topk", compact=True, classes="small-input",
                        validators=[Integer(minimum=0)])
            yield Label("length", classes="small-label")
            yield Input("400", id="gen-len", compact=True, classes="small-input",
                        validators=[Integer(minimum=1, maximum=100000)])
            yield Button("Generate", id="gen-go", variant="primary", compact=True)
        yield Label("", id="gen-error", classes="error")
        with VerticalScroll(id="gen-scroll"):
            yield Static("", id="gen-out")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.1, self.flush)
        self.query_one("#gen-prime" if self.run_dir else "#gen-run", Input).focus()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_generate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "gen-go":
            self.action_generate()

    def action_stop(self) -> None:
        self._cancel.set()

    def action_generate(self) -> None:
        err = self.query_one("#gen-error", Label)
        for wid in ("#gen-temp", "#gen-topk", "#gen-len"):
            inp = self.query_one(wid, Input)
            res = inp.validate(inp.value)
            if res is not None and not res.is_valid:
                err.update(f"{inp.id[4:]}: {'; '.join(res.failure_descriptions)}")
                inp.focus()
                return
        run = self.query_one("#gen-run", Input).value.strip()
        if self.confine is not None:
            try:
                run = str(safe_run_path(self.confine, run))
            except UserError as e:
                err.update(Text(str(e)))  # the name as typed, not as markup
                return
        err.update("")
        self._cancel.set()
        self._cancel = threading.Event()
        with self._lock:
            self.buffer.clear()
        self.text = ""
        self.query_one("#gen-out", Static).update("", layout=False)
        self.generate(run, self.query_one("#gen-prime", Input).value,
                      float(self.query_one("#gen-temp", Input).value),
                      int(self.query_one("#gen-topk", Input).value),
                      int(self.query_one("#gen-len", Input).value), self._cancel)

    @work(thread=True, exclusive=True)
    def generate(self, run: str, prime: str, temperature: float, top_k: int, length: int,
                 cancel: threading.Event) -> None:
        try:
            model, sep, _path, _which = load_language_model(run)
        except UserError as e:
            msg = str(e)
            if self.confine is not None:  # say it without the server's own paths
                msg = msg.replace(str(self.confine.resolve()) + "/", "")
            self.app.call_from_thread(self.query_one("#gen-error", Label).update, Text(msg))
            return
        import numpy as np

        with self._lock:
            self.buffer.append(prime)
        prev = prime
        # one thread: a run may be training beside this screen, and the text is paced anyway
        for piece in model.sample(length, prime, temperature, top_k, np.random.default_rng(),
                                  parts=1):
            if cancel.is_set():
                return
            if sep and prev and not prev.endswith("\n") and piece not in ".,;:!?)'\n":
                piece = sep + piece
            with self._lock:
                self.buffer.append(piece)
            prev = piece
            time.sleep(0.004)  # a pace a person can watch

    def flush(self) -> None:
        with self._lock:
            if not self.buffer:
                return
            self.text += "".join(self.buffer)
            self.buffer.clear()
        self.query_one("#gen-out", Static).update(Text(self.text))  # text, never markup
        self.query_one("#gen-scroll", VerticalScroll).scroll_end(animate=False)

