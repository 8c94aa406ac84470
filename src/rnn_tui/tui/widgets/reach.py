r"""How far back it looks: for a language model, the attribution of its newest prediction
over the last N characters it read, :math:`\lVert \partial \log p(x_{n+1}) / \partial x_t
\rVert` for each earlier position t (the connectivity of distill.pub's "Visualizing
memorization in RNNs"), as shaded text and as a profile by distance, updated as it trains. An
RNN's profile dies away within a few characters; an LSTM's reaches further."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

REACH = 80  # characters back
BLOCKS = " ▁▂▃▄▅▆▇█"


def half_within(scores: list[float]) -> int:
    """The distance back within which half of the total attribution lies."""
    total = sum(abs(s) for s in scores)
    if total <= 0:
        return 0
    acc = 0.0
    for d, s in enumerate(reversed(scores), start=1):
        acc += abs(s)
        if acc >= total / 2:
            return d
    return len(scores)


def profile(scores: list[float], width: int) -> str:
    """One block character per position (newest on the right), height by |score|."""
    tail = [abs(s) for s in scores][-width:]
    top = max(tail, default=0.0)
    if top <= 0:
        return ""
    return "".join(BLOCKS[min(len(BLOCKS) - 1, round(v / top * (len(BLOCKS) - 1)))]
                   for v in tail)


class ReachView(Static):
    """The newest prediction's attribution over the characters before it."""

    DEFAULT_CSS = "ReachView { height: 1fr; padding: 0 1; }"

    def on_mount(self) -> None:
        self.show(None)

    def show(self, result, error: str = "", step: int | None = None) -> None:
        from rnn_tui.explain.shading import shade

        if error:
            self.update(Text(error, "dim"), layout=False)
            return
        if result is None:
            self.update(Text("how far back the newest prediction looks appears with the next "
                             "sample (s samples now)", "dim"), layout=False)
            return
        a = result
        width = max(self.content_size.width, 20)
        out = Text()
        where = f" · step {step:,}" if step is not None else ""
        k = half_within(a.scores)
        out.append(f"|∂ log p / ∂ x_t|: half of it within the last {k} of {len(a.tokens)}"
                   f"{where}\n", style="dim")
        out.append(profile(a.scores, width - 1) + "\n", style="green")
        shown = [visible_token(t) for t in a.tokens[-width * 3:]]
        out.append_text(shade(shown, a.scores[-width * 3:], "" if all(
            len(t) == 1 for t in a.tokens) else " ", signed=False))
        self.update(out, layout=False)


def visible_token(tok: str) -> str:
    """A character as the heatmap shows it: a space as ·, a newline as ↵ (on one line)."""
    return tok.replace("\n", "↵").replace(" ", "·")
