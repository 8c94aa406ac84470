"""Which hidden units track a pattern: a character model reads held-out text (the run's own
validation part, or --file), a pattern marks positions (built-ins: quotes, inside "…";
line-end, the last characters before a newline; brackets, inside (…); digits; or any regular
expression, its first group if it has one), and every unit of every layer, h and c, is ranked by
the point-biserial correlation of its activation with being inside, its AUC beside it. The best
unit's activation colours a passage of the text (the pattern's positions underlined)."""

from __future__ import annotations

import argparse
import json
import sys

from rnn_tui.errors import visible

NAME = "neurons"
HELP = "find the hidden units that are on where a pattern is (quotes, line-end, brackets, " \
    "digits, a regex)"
DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory of a character model")
    p.add_argument("--pattern", required=True, metavar="REGEX",
                   help="quotes | line-end | brackets | digits, or a regular expression")
    p.add_argument("--file", metavar="F", help="text to read (default: the run's held-out "
                   "validation text)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of --file (utf-8)")
    p.add_argument("--chars", type=int, default=50_000, metavar="N",
                   help="characters of the text read at most (50,000)")
    p.add_argument("--top", type=int, default=10, metavar="K", help="units listed (10)")
    p.add_argument("--passage", type=int, default=1200, metavar="N",
                   help="characters of the text shown coloured by the best unit (1,200)")
    p.add_argument("--json", action="store_true", help="the scores as one JSON object")
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (best.npz; the default) or latest")


def held_out_text(args) -> tuple[str, object]:
    """(text, tokenizer): --file, or the run's validation part."""
    from pathlib import Path

    from rnn_tui.errors import UserError

    if args.file:
        from rnn_tui.data.corpora import read_text_file

        return read_text_file(Path(args.file), args.encoding, "text file"), None
    from rnn_tui.session import open_run

    opened = open_run(args.run, args.checkpoint)
    task = opened.task
    if not hasattr(task, "val_ids"):
        raise UserError("this run has no held-out text of its own; give --file")
    return task.tokenizer.decode(task.val_ids), task.tokenizer


def run(args: argparse.Namespace) -> int:
    from rnn_tui.commands.common import open_explainable, say_weights
    from rnn_tui.errors import UserError
    from rnn_tui.explain.neurons import encode_chars, pattern_mask, search
    from rnn_tui.runtime import configure_threads

    for name, lo, hi in (("chars", 100, 10_000_000), ("top", 1, 10_000),
                         ("passage", 10, 100_000)):
        v = getattr(args, name)
        if not lo <= v <= hi:
            raise UserError(f"--{name} must be from {lo:,} to {hi:,}, got {v}")
    configure_threads(1)
    model, path, which, meta = open_explainable(args.run, args.checkpoint)
    if model.kind != "char":
        raise UserError(f"neuron search reads a character language model; {args.run} is a "
                        f"{model.kind} run")
    text, _ = held_out_text(args)
    text, ids = encode_chars(model.tokenizer, text[: args.chars])
    mask, what = pattern_mask(text, args.pattern)
    units, states = search(model.net, ids, mask, args.top)
    say_weights(path, which, meta)
    if args.json:
        sys.stdout.write(json.dumps({
            "pattern": args.pattern, "marks": what, "chars": len(text),
            "covered": int(mask.sum()), "score": "point-biserial r (ranked by |r|)",
            "units": [u.to_json() for u in units]}, ensure_ascii=False) + "\n")
        return 0
    show(text, mask, what, units, states, args.passage)
    return 0


def show(text, mask, what, units, states, length) -> None:
    import numpy as np
    from rich.console import Console
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    from rnn_tui.explain.neurons import passage
    from rnn_tui.explain.shading import NEWLINE, token_style

    con = Console(highlight=False)
    con.print(f"{len(text):,} characters, {int(mask.sum()):,} of them {what} "
              f"({mask.mean():.1%})")
    t = Table(title="units ranked by |point-biserial r| with being inside")
    for col in ("unit", "r_pb", "AUC", "mean inside", "mean outside"):
        t.add_column(col, justify="left" if col == "unit" else "right")
    for u in units:
        t.add_row(u.unit, f"{u.r:+.3f}", f"{u.auc:.3f}", f"{u.mean_in:+.3f}",
                  f"{u.mean_out:+.3f}")
    con.print(t)
    best = units[0]
    acts = states[f"l{best.layer}.{best.kind}"][:, best.index]
    a, b = passage(mask, length)
    scale = float(np.max(np.abs(acts[a:b]))) if b > a else 1.0
    out = Text()
    for i in range(a, b):
        ch = text[i]
        style = token_style(float(acts[i]), scale)
        if mask[i]:
            style = style + Style(underline=True)
        out.append(NEWLINE + "\n" if ch == "\n" else visible(ch), style)
    con.print(f"[bold]{best.unit}[/] over characters {a:,}-{b:,} (green on, red off; "
              "underlined: inside the pattern)")
    con.print(out)
