"""The help screen: every key of the dashboard and the app, and what the views show."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

GUIDE = "\n".join([
    "[b]What you are looking at[/b]",
    "[b]Loss[/b]: cross-entropy in nats per token on the training batches (train) and on "
    "held-out text (val). A gap that widens means the model is memorising.",
    "[b]Gradients[/b] (key d): ‖dL/dh‖ at each distance back in time for the latest batch. "
    "Backprop through time multiplies by W_hh and the gate derivatives at every step, so a "
    "vanilla RNN's gradient falls off a cliff while an LSTM's or GRU's survives. Or: the "
    "gradient norm of each layer over training.",
    "[b]Hidden state[/b]: the memory h_t (or an LSTM's cell c_t) of each unit (rows) over the "
    "current sequence (columns), the input along the top. The same weights act at every column. "
    "Key m switches to the neuron view: the text coloured by one unit's activation.",
    "[b]Generated text[/b]: one token at a time, each drawn from softmax(logits / T).",
])


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings: list[tuple[str, str]], **kw):
        super().__init__(**kw)
        self.keys = bindings

    def compose(self) -> ComposeResult:
        t = Table(title="Keys", box=None, expand=True, show_header=False)
        t.add_column("key", style="bold", no_wrap=True)
        t.add_column("action")
        for key, desc in self.keys:
            t.add_row(key, desc)
        with VerticalScroll():
            yield Static(t)
            yield Static(Text.from_markup(GUIDE))
            yield Static(Text("escape closes this · ctrl+p opens the command palette", "dim"))
