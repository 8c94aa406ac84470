"""Views of a sequence-to-sequence run: exact match over training beside the copy baseline, the
attention of a held-out pair (output tokens down, source tokens across: which source positions
each output step read), and held-out pairs decoded with their references, mistakes marked."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.labelled import AccuracyChart

# background shades of an attention weight, from 0 to 1 (256-colour greys, then the accent)
SHADES = ("grey11", "grey23", "grey35", "grey50", "grey66", "grey82", "yellow")


class ExactMatchChart(AccuracyChart):
    """Held-out exact match per evaluation, with the copy baseline as a flat line."""

    def draw(self, p) -> None:
        super().draw(p)
        if self.state.accuracy:
            p.title("exact match (held out) and the copy baseline")


def shade(w: float) -> str:
    i = int(round(max(0.0, min(1.0, float(w))) * (len(SHADES) - 1)))
    return SHADES[i]


class AttentionView(Static):
    """One held-out pair: its source across, its decoded output down, each cell shaded by the
    attention weight the output step gave that source position; beneath, the pairs of the last
    evaluation with their references (✓ right, ✗ wrong). ``pick`` chooses the pair."""

    pick = 0

    def show(self, state: RunState, width: int = 60, height: int = 20) -> None:
        u = state.seq2seq
        if u is None:
            self.update(Text("decoded held-out pairs and their attention appear after the "
                             "first evaluation", "dim"), layout=False)
            return
        n = len(u.examples)
        parts = []
        rows_left = height
        if n:
            i = self.pick % n
            ex = u.examples[i]
            mark = Text("✓", "green") if ex.get("ok") else Text("✗", "red")
            parts.append(Text.assemble(f"pair {i + 1}/{n} [a] ", mark, " ",
                                       (str(ex.get("source", ""))[: width - 16], "bold")))
            rows_left -= 1
            if u.attention and i < len(u.attention):
                # the heatmap first (its header row and one row per output token), then as
                # many decoded pairs as still fit
                want = len(u.output_tokens[i]) + 1
                rows = max(2, min(want, rows_left - 4))
                parts.append(self.heatmap(u.source_tokens[i], u.output_tokens[i],
                                           u.attention[i], width, rows - 1))
                rows_left -= rows
            elif not u.attention:
                parts.append(Text("no attention: the decoder reads one fixed-size state",
                                  "dim"))
                rows_left -= 1
        shown = max(1, min(n, rows_left - 2))
        parts.append(self._examples(u, width, shown))
        self.update(Group(*parts), layout=False)

    @staticmethod
    def heatmap(src: list[str], out: list[str], att: list[list[float]], width: int,
                 rows: int) -> Text:
        label = min(8, max((len(t) for t in out), default=1))
        cols = max(1, (width - label - 2) // 2)
        src = src[:cols]
        cw = 2 if all(len(t) <= 1 for t in src) else max(2, min(6, (width - label - 2) //
                                                              max(len(src), 1)))
        src = src[: max(1, (width - label - 2) // cw)]
        t = Text()
        t.append(" " * (label + 1))
        for tok in src:
            t.append(tok.replace("\n", "⏎")[: cw - 1].ljust(cw), "bold")
        for tok, row in list(zip(out, att, strict=False))[: max(1, rows)]:
            t.append("\n")  # before each row, not after: the last row's cells are spaces
            t.append(tok.replace("\n", "⏎")[:label].rjust(label) + " ", "bold")
            for w in row[: len(src)]:
                t.append(" " * cw, f"on {shade(w)}")
        return t

    @staticmethod
    def _examples(u, width: int, count: int) -> Table:
        t = Table(box=None, padding=(0, 1), show_edge=False, expand=True)
        t.add_column("", no_wrap=True, width=1)
        t.add_column("source", overflow="ellipsis", no_wrap=True, ratio=1)
        t.add_column("output", overflow="ellipsis", no_wrap=True, ratio=1)
        t.add_column("reference", overflow="ellipsis", no_wrap=True, ratio=1, style="dim")
        for ex in u.examples[:count]:
            ok = bool(ex.get("ok"))
            t.add_row(Text("✓", "green") if ok else Text("✗", "red"), str(ex.get("source", "")),
                      Text(str(ex.get("output", "")), "green" if ok else "red"),
                      str(ex.get("reference", "")))
        s, b = u.scores, u.baselines
        t.caption = (f"exact {s.get('exact_match', 0):.3f} · token acc "
                     f"{s.get('token_accuracy', 0):.3f} · BLEU {s.get('bleu', 0):.1f} · chrF "
                     f"{s.get('chrf', 0):.1f} · copy: exact {b.get('copy_exact_match', 0):.3f}"
                     f", chrF {b.get('copy_chrf', 0):.1f}")
        return t
