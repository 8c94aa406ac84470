"""Views of the labelled tasks: accuracy over training beside the baselines, a confusion matrix
and scored sentences (classification), a tagged sentence with its mistakes (tagging)."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from rnn_tui.errors import visible
from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.curves import LINE_COLOURS, Chart, _finite

BASELINE_NAMES = {"majority": "majority", "naive_bayes": "naive Bayes", "baseline": "baseline",
                  "copy": "copy"}


class AccuracyChart(Chart):
    """Held-out (val) and training accuracy per evaluation, with the baselines as flat lines:
    the network earns its keep only above them."""

    y_bounds = (0.0, 1.0)

    def draw(self, p) -> None:
        s = self.state
        p.title("accuracy (held out vs training) and baselines")
        if not s.accuracy:
            p.title("accuracy — waiting for the first evaluation…")
            return
        vx, vy = _finite(s.accuracy.xs, s.accuracy.ys)
        tx, ty = _finite(s.train_accuracy.xs, s.train_accuracy.ys)
        marker = "braille" if len(vx) > 1 else "o"
        if tx:
            self.line(p, tx, ty, label="train", marker=marker, color=LINE_COLOURS[0])
        if vx:
            self.line(p, vx, vy, label="val", marker=marker, color=LINE_COLOURS[1])
        xs = vx or tx
        for i, (name, v) in enumerate(sorted(s.baselines.items())):
            if v is not None:
                self.line(p, [xs[0], xs[-1]] if len(xs) > 1 else [xs[0] - 1, xs[0]], [v, v],
                          label=BASELINE_NAMES.get(name, name), marker="braille",
                          color=LINE_COLOURS[2 + i % (len(LINE_COLOURS) - 2)])
        self.label_x(p, "step")


class ConfusionView(Static):
    """Rows: the true label; columns: the predicted one; precision and recall per label."""

    def show(self, state: RunState) -> None:
        u = state.classify
        if u is None:
            self.update(Text("the confusion matrix appears after the first evaluation", "dim"),
                        layout=False)
            return
        b = u.baselines
        t = Table(box=None, padding=(0, 1), show_edge=False, title_justify="left",
                  title=f"accuracy {u.accuracy:.3f} · majority {b.get('majority', 0):.3f}"
                  f" · naive Bayes {b.get('naive_bayes', 0):.3f}", title_style="bold")
        t.add_column("true \\ pred", style="bold", no_wrap=True)
        shown = u.labels[:8]
        for lab in shown:
            t.add_column(_short(lab), justify="right")
        t.add_column("prec", justify="right", style="dim")
        t.add_column("rec", justify="right", style="dim")
        for i, lab in enumerate(shown):
            row = u.confusion[i] if i < len(u.confusion) else []
            cells = [Text(str(v), style="bold green" if j == i else ("red" if v else "dim"))
                     for j, v in enumerate(row[: len(shown)])]
            t.add_row(_short(lab), *cells, f"{u.precision[i]:.2f}", f"{u.recall[i]:.2f}")
        self.update(t)  # width: auto, so a layout (once per evaluation)


class ExampleStream(Static):
    """Held-out sentences with the label predicted and its probability (✓ right, ✗ wrong),
    each given as many lines as the height shares out (up to :attr:`MAX_LINES`); with
    ``shading`` ({text: (attribution, separator)}), each sentence's tokens shaded by theirs."""

    MAX_LINES = 3
    _state: RunState | None = None
    shading: dict | None = None

    def on_resize(self) -> None:
        if self._state is not None:
            self.show(self._state)

    def show(self, state: RunState) -> None:
        self._state = state
        u = state.classify
        if u is None:
            self.update(Text("scored sentences appear after the first evaluation", "dim"),
                        layout=False)
            return
        width = max(self.content_size.width, 20)
        examples = list(u.examples)
        lines = max(1, min(self.MAX_LINES, self.content_size.height // max(len(examples), 1)))
        out = Text()
        for ex in examples:
            line = Text()
            ok = ex.get("pred") == ex.get("gold")
            line.append("✓ " if ok else "✗ ", style="green" if ok else "bold red")
            line.append(f"{_short(str(ex.get('pred')))} {float(ex.get('prob', 0)):.2f} ",
                        style="bold")
            if not ok:
                line.append(f"(true {_short(str(ex.get('gold')))}) ", style="red")
            room = max(lines * width - line.cell_len - 1, 10)
            raw = str(ex.get("text", ""))
            text = " ".join(visible(raw).split())
            entry = (self.shading or {}).get(raw)
            if entry is not None:
                from rnn_tui.explain.shading import shade

                a, sep = entry
                shaded = shade(a.tokens, a.scores, sep)
                shaded.truncate(room, overflow="ellipsis")
                line.append_text(shaded)
            else:
                line.append(text if len(text) <= room else text[: room - 1] + "…")
            out.append_text(line)
            out.append("\n")
        self.update(out, layout=False)


class TaggedSentence(Static):
    """A held-out sentence, each word over its predicted tag; a wrong tag in red with the
    right one after it, a word never seen in training underlined; accuracy on known and
    unknown words beside the most-frequent-tag baseline; with ``shading`` (an attribution),
    each word shaded by its own."""

    shading = None

    def show(self, state: RunState) -> None:
        u = state.tag
        if u is None:
            self.update(Text("a tagged sentence appears after the first evaluation", "dim"),
                        layout=False)
            return
        out = Text()
        out.append(f"accuracy {u.accuracy:.3f}", style="bold")
        out.append(f" (known {u.known_accuracy:.3f}, unknown {u.unknown_accuracy:.3f}) · ")
        out.append(f"baseline {u.baseline_accuracy:.3f} (unknown "
                   f"{u.baseline_unknown_accuracy:.3f})\n", style="dim")
        width = max(self.content_size.width, 20)
        words, tags = Text(), Text()
        a = self.shading if self.shading is not None and \
            list(self.shading.tokens) == list(u.words)[: len(self.shading.tokens)] else None
        if a is not None:
            from rnn_tui.explain.shading import token_style

            scale = max((abs(v) for v in a.scores), default=0.0)
            out.append(f"shaded: why {a.target}\n", style="dim")
        for i, (w, g, p, unk) in enumerate(zip(u.words, u.gold, u.pred, u.unknown,
                                               strict=False)):
            w, g, p = visible(w), visible(g), visible(p)
            tag = p if p == g else f"{p}≠{g}"
            cell = max(len(w), len(tag)) + 1
            if words.cell_len + cell > width:
                out.append_text(words)
                out.append("\n")
                out.append_text(tags)
                out.append("\n")
                words, tags = Text(), Text()
            style = Style(underline=bool(unk))
            if a is not None and i < len(a.scores):
                style = token_style(a.scores[i], scale) + style
            words.append(w, style=style)
            words.append(" " * (cell - len(w)))
            tags.append(tag.ljust(cell), style="dim" if p == g else "bold red")
        out.append_text(words)
        out.append("\n")
        out.append_text(tags)
        out.append("\nunderlined: a word never seen in training", style="dim")
        self.update(out, layout=False)


def _short(label: str, n: int = 8) -> Text:
    """A label from the data, cut to ``n`` characters, its control characters made visible, as
    Text (never read as markup)."""
    label = visible(label)
    return Text(label if len(label) <= n else label[: n - 1] + "…")
