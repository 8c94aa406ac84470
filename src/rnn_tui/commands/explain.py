"""Which inputs made this output: the input with each token shaded by its attribution. The
output explained is the prediction (the label, the last word's tag, the next token, the first
forecast step) unless --target names another; methods: grad (the norm of the gradient of its
log-probability with respect to each position's input vector), grad-x-input, ig (integrated
gradients from a zero baseline; the scores sum to f(x) - f(baseline))."""

from __future__ import annotations

import argparse
import json
import sys

from rnn_tui.errors import markup_safe, visible

NAME = "explain"
HELP = "shade each input token by how much it made the output (gradients, integrated gradients)"
DESCRIPTION = __doc__
TOP = 8  # tokens listed by score under the shaded text


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rnn_tui.commands.common import add_input_arguments
    from rnn_tui.explain.attribution import DEFAULT_NODES, METHODS

    add_input_arguments(p)
    p.add_argument("--method", choices=METHODS, default="ig",
                   help="grad | grad-x-input | ig (default: ig)")
    p.add_argument("--target", metavar="LABEL|POSITION", default=None,
                   help="the output to explain: a class label (classify), a word's position "
                   "or a tag (tag), a position or a next token (language models), a forecast "
                   "step (series); default: the prediction")
    p.add_argument("--ig-steps", type=int, default=None, metavar="N",
                   help="ig: Gauss-Legendre points on [0, 1] (default: panels of "
                   f"{DEFAULT_NODES} points, doubled until the scores sum to f(x) - "
                   "f(baseline) within 1 %%)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from rnn_tui.commands.common import open_explainable, read_inputs, say_weights
    from rnn_tui.explain.attribution import MAX_STEPS, attribute
    from rnn_tui.explain.shading import shade
    from rnn_tui.runtime import configure_threads

    if args.ig_steps is not None and not 1 <= args.ig_steps <= MAX_STEPS:
        from rnn_tui.errors import UserError

        raise UserError(f"--ig-steps must be from 1 to {MAX_STEPS}, got {args.ig_steps}")
    configure_threads(1)
    model, path, which, meta = open_explainable(args.run, args.checkpoint)
    if not model.nets:
        model.read("")  # a model without input gradients says so, before anything else
    items = read_inputs(args, model)
    say_weights(path, which, meta)
    con = Console(highlight=False)
    for item in items:
        a = attribute(model, item, args.method, args.target, args.ig_steps)
        if args.json:
            sys.stdout.write(json.dumps(a.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            continue
        con.print(f"[bold]{markup_safe(a.target)}[/]: f(x) = {a.f_x:.4f}, f(baseline) = "
                  f"{a.f_baseline:.4f}; method {a.method}"
                  + (f", {a.steps} points, sum of scores {sum(a.scores):.4f}"
                     if a.method == "ig" else ""))
        con.print(shade([visible(t) for t in a.tokens], a.scores, model.sep,
                        signed=a.method != "grad"))
        order = sorted(range(len(a.scores)), key=lambda i: -abs(a.scores[i]))[:TOP]
        con.print("  " + "  ".join(f"{a.tokens[i]!r}@{i} {a.scores[i]:+.3f}" for i in order))
    return 0
