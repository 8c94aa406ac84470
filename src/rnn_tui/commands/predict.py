"""A trained model on your own input. A classifier gives
the label and every class's probability; a tagger each word's tag and its probability; a
language model the next-token distribution after the text; a series run the forecast from the
last window of the values given; a seq2seq run the decoded output (greedy)."""

from __future__ import annotations

import argparse
import json
import sys

from rnn_tui.errors import UserError, safe_stream

NAME = "predict"
HELP = "run a trained model on your own input: label, tags, next token or forecast"
DESCRIPTION = __doc__
BAR = 24  # characters of a probability bar


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rnn_tui.commands.common import add_input_arguments

    add_input_arguments(p)
    p.add_argument("--top", type=int, default=10, metavar="K",
                   help="language models: the K likeliest next tokens (10)")
    p.add_argument("--horizon", type=int, default=0, metavar="N",
                   help="series: steps to forecast (default: the run's horizon)")


def run(args: argparse.Namespace) -> int:
    from rnn_tui.commands.common import input_label, open_explainable, read_inputs, say_weights
    from rnn_tui.runtime import configure_threads

    if not 1 <= args.top <= 1000:
        raise UserError(f"--top must be from 1 to 1000, got {args.top}")
    if not 0 <= args.horizon <= 10_000:
        raise UserError(f"--horizon must be from 0 to 10,000, got {args.horizon}")
    configure_threads(1)
    model, path, which, meta = open_explainable(args.run, args.checkpoint)
    items = read_inputs(args, model)
    say_weights(path, which, meta)
    out = safe_stream(sys.stdout)
    for item in items:
        if model.kind in ("char", "word"):
            res = model.predict(item, top=args.top)
        elif model.kind == "series":
            res = model.predict(item, args.horizon or None)
        else:
            res = model.predict(item)
        if args.json:
            out.write(json.dumps(res, ensure_ascii=False) + "\n")
        else:
            out.write(describe(model.kind, res, input_label(item)) + "\n")
        out.flush()
    return 0


def _bar(p: float) -> str:
    return "█" * round(p * BAR)


def describe(kind: str, res: dict, label: str) -> str:
    """A prediction as lines of text."""
    if kind == "classify":
        lines = [f"{label!r} → {res['label']} ({res['probs'][res['label']]:.3f})"]
        for c, p in sorted(res["probs"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {c:>12} {p:6.3f} {_bar(p)}")
        return "\n".join(lines)
    if kind == "tag":
        return "  ".join(f"{w}/{t} ({p:.2f})" for w, t, p in
                         zip(res["tokens"], res["tags"], res["probs"], strict=True))
    if kind == "seq2seq":
        return f"{label!r} → {res['output']!r} (log p {res['logp']:.3f})"
    if kind == "series":
        fc = ", ".join(f"{v:.4g}" for v in res["forecast"])
        return f"{label}, last {res['last']:.4g} → next {res['horizon']}: {fc}"
    lines = [f"after {label[-60:]!r}, the next token:"]
    for tok, p in res["probs"].items():
        lines.append(f"  {tok!r:>12} {p:6.3f} {_bar(p)}")
    return "\n".join(lines)
