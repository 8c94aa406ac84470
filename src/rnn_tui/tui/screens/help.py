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
    "[b]Gates[/b] (key G): each gate's value for every unit (rows) and step (columns). An LSTM "
    "decides with its input gate what to write, its forget gate what to keep and its output "
    "gate what to show; a GRU resets and updates. Press G again for the saturation picture: "
    "one point per unit, how often its gate is shut (< 0.1, across) or wide open (> 0.9, up); "
    "units far along either axis work as switches.",
    "[b]Gradients over training[/b] (key d; d again: through time): the gradient norm before "
    "clipping, per "
    "layer and overall, with the clipping threshold as the line labelled clip and the steps it "
    "cut marked x. Keys r and k change the learning rate and the threshold while it trains.",
    "[b]Next-token[/b] (key p): the text as it streams in and, for the newest token, the "
    "candidates the model weighed with their probabilities. A lower temperature (-) sharpens "
    "the distribution, a higher one (+) flattens it.",
    "[b]Embeddings[/b] (key e): the tokens nearest the chosen one (cosine similarity, [ ] to "
    "choose) and all of them on their two main directions. Learned embeddings put similar "
    "tokens together; one-hot vectors are all equally far apart, so a one-hot model shows "
    "the rows of its input weights instead.",
    "[b]Model, unrolled[/b] (key u): the same cell drawn once per time step of the current "
    "sequence, one row per layer; each box is h_t, a strip of its first units (blue "
    "negative, orange positive). x_t enters from below through W_xh, h_(t-1) from the left "
    "through W_hh, y_t leaves upwards through W_hy: the same three matrices at every step.",
    "[b]Directions and set-ups[/b]: a bidirectional layer's second chain (←) runs right to "
    "left. A classifier is many-to-one (y only after the last step, return_sequences=False); "
    "a tagger or a language model is many-to-many (y at every step, return_sequences=True).",
    "[b]Encoder and decoder[/b] (seq2seq): the encoder's chain reads the source (no y); above "
    "it the decoder's chain writes the target, each step reading its last output; the α row "
    "is the attention of the newest decoder step over the source steps (they add up to 1).",
    "[b]Loop view[/b] (key u again): the chain folded back into one cell whose state feeds "
    "itself through W_hh, with the newest step's numbers; u a third time goes back.",
    "[b]The table[/b] (rnn-tui summary, live): each layer's output shape (batch, time, "
    "features) and parameters; the mean and std of its activations; sat, the share of "
    "saturated units (a sigmoid below 0.1 or above 0.9, |tanh| above 0.9: little gradient "
    "passes); ‖W‖, its weight norm; Δ/‖W‖, the last update's size relative to it (near "
    "1e-3 is the usual rule of thumb: much larger jumps about, much smaller has stalled).",
    "[b]Try it[/b] (key i): type your own input and the model reads it with the current "
    "weights (a copy: training goes on): a classifier's label and every class's probability, "
    "a tagger's tags, a language model's next-token distribution; each token shaded by how "
    "much it made that output (integrated gradients; green for, red against).",
    "[b]Why?[/b] (key x): the classify panel's held-out sentences, the tag panel's sentence "
    "and the generated text shaded by the same attribution.",
    "[b]How far back it looks[/b] (key b, language models): the newest prediction's "
    "gradient with respect to each of the last characters it read, as shaded text and as a "
    "profile by distance, updated as it trains. Compare --cell rnn with --cell lstm: the "
    "vanilla RNN's reach dies away within a few characters.",
    "[b]One step at a time[/b] (key . while paused): exactly one batch is trained and every "
    "view shows it, the gradient flowing back through that batch included.",
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
