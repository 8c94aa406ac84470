"""The "try it" field: type your own input and see what the model makes of it with the current
weights (a copy; training goes on): a classifier's label and every class's probability, a
tagger's tags, a language model's next-token distribution; each input token shaded by its
integrated-gradients attribution to that prediction."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

BAR = 20
TOP = 6
DEBOUNCE_S = 0.35  # a pause in typing before the model reads the input


def bar(p: float, width: int = BAR) -> str:
    return "█" * max(0, round(p * width))


def describe(kind: str, pred: dict, attribution, sep: str) -> Text:
    """The prediction and the shaded input, as one Text."""
    from rnn_tui.explain.shading import shade

    out = Text()
    if kind == "classify":
        out.append(f"→ {pred['label']}", style="bold")
        out.append(f"  ({pred['probs'][pred['label']]:.3f})\n")
        for c, p in sorted(pred["probs"].items(), key=lambda kv: -kv[1])[:TOP]:
            out.append(f"{c[:14]:>14} {p:6.3f} ")
            out.append(bar(p) + "\n", style="green")
    elif kind == "seq2seq":
        from rnn_tui.tui.widgets.seq2seq import AttentionView

        out.append(f"→ {pred['output']}", style="bold")
        out.append(f"  (log-probability {pred['logp']:.3f})\n")
        if pred.get("attention"):
            out.append("attention (output down, source across):\n", style="dim")
            out.append_text(AttentionView.heatmap(pred["source_tokens"], pred["output_tokens"],
                                                  pred["attention"], 90, 40))
    elif kind == "tag":
        for w, t, p in zip(pred["tokens"], pred["tags"], pred["probs"], strict=True):
            out.append(f"{w}/", style="bold")
            out.append(f"{t}", style="cyan")
            out.append(f"({p:.2f}) ")
        out.append("\n")
    else:
        out.append("next token:\n", style="bold")
        for tok, p in list(pred["probs"].items())[:TOP]:
            out.append(f"{tok!r:>8} {p:6.3f} ")
            out.append(bar(p) + "\n", style="green")
    if attribution is not None:
        out.append(f"\nwhy ({attribution.target}; integrated gradients, green for, red "
                   "against):\n", style="dim")
        out.append_text(shade(attribution.tokens, attribution.scores, sep))
    return out


class TryItScreen(ModalScreen):
    """A field over the dashboard; Enter (or a pause in typing) reads it, Escape closes."""

    DEFAULT_CSS = """
    TryItScreen { align: center middle; }
    #tryit-box { width: 90%; max-width: 100; height: auto; max-height: 90%;
                 border: round $accent; background: $surface; padding: 0 1; }
    #tryit-result { height: auto; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Close")]

    def __init__(self, explainer, **kw):
        super().__init__(**kw)
        self.explainer = explainer
        self._timer = None
        self._asked = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="tryit-box") as box:
            box.border_title = "Try it: your own input (Enter; Escape closes)"
            yield Input(placeholder="type a sentence…", id="tryit-input")
            yield Static(Text("the model reads it with the current weights", "dim"),
                         id="tryit-result")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, lambda: self.ask(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.ask(event.value)

    def ask(self, text: str) -> None:
        if not text.strip() or text == self._asked:
            return
        self._asked = text
        self.query_one("#tryit-result", Static).update(Text("reading…", "dim"))

        def job(model):
            from rnn_tui.explain.attribution import attribute

            if model.kind == "seq2seq":  # decoded, with its attention over the source
                return model.kind, model.predict(text), None, ""
            return model.kind, model.predict(text), attribute(model, text, "ig"), model.sep

        self.explainer.submit("tryit", job, lambda res, err, t=text: self.show_result(t, res, err))

    def show_result(self, text: str, result, error: str) -> None:
        if not self.is_attached or text != self._asked:
            return
        box = self.query_one("#tryit-result", Static)
        if error:
            box.update(Text(error, "bold red"))
            return
        kind, pred, attribution, sep = result
        box.update(describe(kind, pred, attribution, sep))
