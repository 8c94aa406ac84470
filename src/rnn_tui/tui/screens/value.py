"""A small dialog for one number (the learning rate or the clipping threshold while it
trains): refused in place until it is valid; escape leaves the value as it was."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Number
from textual.widgets import Input, Label


class ValueScreen(ModalScreen[float | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ValueScreen { align: center middle; }
    ValueScreen > Vertical { width: 60; height: auto; border: round $primary;
        background: $surface; padding: 0 1; }
    ValueScreen Label { width: 100%; }
    """

    def __init__(self, title: str, current: float, minimum: float = 0.0, **kw):
        super().__init__(**kw)
        self.title_text, self.current, self.minimum = title, current, minimum

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(f"{self.current:g}", id="value", validators=[
                Number(minimum=self.minimum, failure_description=f"a number >= "
                       f"{self.minimum:g}")])
            yield Label("enter sets it from the next step · escape cancels", id="value-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        res = event.input.validate(event.value)
        if res is not None and not res.is_valid:
            self.query_one("#value-hint", Label).update("; ".join(res.failure_descriptions))
            return
        v = float(event.value)
        if not math.isfinite(v):
            self.query_one("#value-hint", Label).update("a finite number, please")
            return
        self.dismiss(v)

    def action_cancel(self) -> None:
        self.dismiss(None)
