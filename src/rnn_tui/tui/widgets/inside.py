"""Views inside the network: each gate over the current sequence and how saturated the gates
are, the embedding (nearest neighbours and a 2-D projection), and the next-token
distribution the generated text is drawn from."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.curves import LINE_COLOURS, Chart
from rnn_tui.tui.widgets.heatmap import Heatmap

MAX_GATES = 4
SIGMOID_GATE_NAMES = {"input", "forget", "output", "reset", "update"}


class GatesView(Vertical):
    """One heatmap per gate (units x steps of the current sequence), labelled by name. Sigmoid
    gates run from 0 (blue, shut) to 1 (orange, open); the cell candidate and GRU's new state
    are tanh values in [-1, 1]."""

    DEFAULT_CSS = """
    GatesView .gate-label { height: 1; color: $text-muted; }
    GatesView Heatmap { height: 1fr; min-height: 1; }
    GatesView #no-gates { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="no-gates")
        for k in range(MAX_GATES):
            yield Label("", id=f"gate-label-{k}", classes="gate-label")
            yield Heatmap(id=f"gate-map-{k}", header=k == 0)

    def show(self, state: RunState, layer: int, unit: int) -> None:
        snap = state.hidden
        gates = snap.gates if snap is not None else None
        self.query_one("#no-gates").display = not gates
        if not gates:
            msg = ("waiting for the first snapshot…" if snap is None else
                   "a vanilla RNN has no gates: try --cell lstm or --cell gru")
            self.query_one("#no-gates", Static).update(Text(msg, "dim"))
            for k in range(MAX_GATES):
                self.query_one(f"#gate-label-{k}").display = False
                self.query_one(f"#gate-map-{k}").display = False
            return
        layer = min(layer, len(gates) - 1)
        names = snap.gate_names
        for k in range(MAX_GATES):
            label = self.query_one(f"#gate-label-{k}", Label)
            hm = self.query_one(f"#gate-map-{k}", Heatmap)
            shown = k < len(names)
            label.display = hm.display = shown
            if not shown:
                continue
            name = names[k]
            sig = name in SIGMOID_GATE_NAMES
            m = gates[layer][k]
            label.update(f"{name} gate · layer {layer} · " +
                         ("0 shut … 1 open" if sig else "tanh, −1 … +1"))
            hm.unit = min(unit, len(m) - 1)
            hm.set_data(snap.tokens, [[2 * v - 1 for v in row] for row in m] if sig else m)


class SaturationChart(Chart):
    """Per unit, the fraction of the batch's steps its gate spent left-saturated (< 0.1, x)
    and right-saturated (> 0.9, y): units on the diagonal's far end are switches, units near
    the origin are used in between (the picture from Karpathy, Johnson and Fei-Fei, 2015)."""

    layer = 0
    integer_x = False
    x_range = y_range = (0.0, 1.0)

    def draw(self, p) -> None:
        snap = self.state.hidden
        p.title("gate saturation: one point per unit")
        if snap is None or not snap.saturation:
            p.title("gate saturation — an LSTM or GRU has gates to saturate")
            return
        layer = min(self.layer, len(snap.saturation) - 1)
        for i, (name, sides) in enumerate(zip(snap.saturation_gates, snap.saturation[layer],
                                              strict=False)):
            self.points(p, sides[0], sides[1], label=name, marker="dot",
                        color=LINE_COLOURS[i % len(LINE_COLOURS)])
        self.label_x(p, "fraction of time < 0.1 (left-saturated)")
        p.ylabel("> 0.9")


class EmbeddingView(Horizontal):
    """The chosen token's nearest neighbours by cosine similarity, and the tokens projected on
    their two principal components."""

    DEFAULT_CSS = """
    EmbeddingView #neighbours { width: 28; padding: 0 1; }
    EmbeddingView EmbeddingChart { width: 1fr; }
    """

    def __init__(self, state: RunState, **kw):
        super().__init__(**kw)
        self.state = state

    def compose(self) -> ComposeResult:
        yield Static("", id="neighbours")
        yield EmbeddingChart(self.state)

    def show(self, chosen: int) -> None:
        e = self.state.embedding
        box = self.query_one("#neighbours", Static)
        if e is None or not e.vectors:
            box.update(Text("embeddings appear with the first snapshot (models that read "
                            "tokens)", "dim"))
            return
        V = np.asarray(e.vectors, dtype=np.float64)
        i = chosen % len(V)
        out = Text()
        out.append(f"nearest to {e.tokens[i]!r}\n", style="bold")
        if e.onehot:
            out.append("one-hot input: every pair of tokens is equally far apart (cosine 0); "
                       "these are the rows of W_ih the network learned instead\n", style="dim")
        for tok, sim in neighbours(V, e.tokens, i, 8):
            bar = "█" * max(0, round(sim * 8))
            out.append(f"{tok!r:>8} {sim:+.2f} {bar}\n")
        out.append("[ ] another token", style="dim")
        box.update(out)
        chart = self.query_one(EmbeddingChart)
        chart.chosen = i
        chart.refresh()


class EmbeddingChart(Chart):
    chosen = 0
    integer_x = False

    def __init__(self, state: RunState, **kw):
        super().__init__(state, **kw)

    def draw(self, p) -> None:
        e = self.state.embedding
        p.title("embedding, first two principal components")
        if e is None or len(e.vectors) < 3:
            return
        xy = pca2(np.asarray(e.vectors, dtype=np.float64))
        self.points(p, xy[:, 0].tolist(), xy[:, 1].tolist(), marker="dot",
                    color=LINE_COLOURS[1])
        for k, tok in enumerate(e.tokens[:40]):
            label = repr(tok)[1:-1][:6] or "·"
            p.text(label, float(xy[k, 0]), float(xy[k, 1]),
                   color=LINE_COLOURS[0] if k == self.chosen else "gray")


def neighbours(V: np.ndarray, tokens: list[str], i: int, k: int) -> list[tuple[str, float]]:
    """The k tokens whose vectors are closest to token i's by cosine similarity."""
    norms = np.linalg.norm(V, axis=1)
    sims = V @ V[i] / np.maximum(norms * norms[i], 1e-12)
    sims[i] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(tokens[j], float(sims[j])) for j in order]


def pca2(V: np.ndarray) -> np.ndarray:
    """Coordinates of the rows of V on their first two principal components."""
    X = V - V.mean(axis=0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    out = X @ vt[:2].T
    return out if out.shape[1] == 2 else np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


class NextTokenView(Static):
    """The sample as it streams in, the newest token marked, and under it the candidates the
    model weighed for that token with their probabilities as bars: the next-token
    distribution, at the temperature the sample was drawn with."""

    def show(self, state: RunState, shown: int) -> None:
        s = state.samples[-1] if state.samples else None
        if s is None or not s.pieces:
            self.update(Text("next-token: the distribution appears with the first sample "
                             "(s samples now)", "dim"))
            return
        n = max(1, min(shown, len(s.pieces)))
        width = max(self.content_size.width, 30)
        out = Text()
        out.append(f"next-token distribution · temperature {s.temperature:.2f} "
                   f"· token {n}/{len(s.pieces)}\n", style="bold")
        text = "".join(s.pieces[: n - 1])[-(width * 2) :]
        out.append(text.replace("\n", "↵"), style="dim")
        out.append(s.pieces[n - 1].replace("\n", "↵") or "·", style="reverse bold")
        out.append("\n")
        if n - 1 < len(s.top_tokens):
            for tok, p in zip(s.top_tokens[n - 1], s.top_probs[n - 1], strict=False):
                room = max(width - 16, 10)
                bar = "█" * round(p * room)
                picked = tok == s.pieces[n - 1]
                out.append(f"{tok!r:>8} {p:5.3f} ", style="bold" if picked else "")
                out.append(bar + "\n", style="green" if picked else "")
        self.update(out, layout=False)
