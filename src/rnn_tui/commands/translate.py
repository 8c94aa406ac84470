"""``rnn-tui translate``: a sequence-to-sequence run's output for sources you type.

Greedy by default; ``--beam K`` prints the K best outputs with their log-probabilities (beam
search with length normalisation); ``--show-attention`` draws each output's attention as a text
heatmap, output tokens down, source tokens across. ``rnn-tui sample RUN --prime SOURCE`` on a
seq2seq run does the same.
"""

from __future__ import annotations

import argparse
import sys

from rnn_tui.errors import safe_stream

NAME = "translate"
HELP = "decode sources with a seq2seq run: greedy or --beam K, --show-attention"
SHADES = " ░▒▓█"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory of a seq2seq run (or checkpoint)")
    p.add_argument("--text", action="append", default=[], metavar="SOURCE",
                   help="a source to decode (may be given more than once)")
    p.add_argument("--file", metavar="FILE", help="sources to decode, one per line")
    decoding_options(p)
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (lowest validation loss) or latest (best)")


def decoding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--beam", type=int, default=1, metavar="K",
                   help="beam search: the K best outputs (1 = greedy) (1)")
    p.add_argument("--length-penalty", type=float, default=1.0, metavar="A",
                   help="beam search ranks by log-probability / length^A (1.0)")
    p.add_argument("--show-attention", action="store_true",
                   help="draw each output's attention over the source as a text heatmap")


def check_decoding(args) -> None:
    import math

    from rnn_tui.errors import UserError

    if not 1 <= args.beam <= 64:
        raise UserError(f"--beam must be from 1 to 64, got {args.beam}")
    if not (math.isfinite(args.length_penalty) and 0 <= args.length_penalty <= 5):
        raise UserError(f"--length-penalty must be from 0 to 5, got {args.length_penalty}")


def heatmap(src_tokens: list[str], out_tokens: list[str], att) -> list[str]:
    """Rows of shade characters, one per output token, a column per source token."""
    width = max(1, max((len(t) for t in src_tokens), default=1))
    width = min(width, 6)
    label = max((len(t) for t in out_tokens), default=1)
    head = " " * (label + 2) + " ".join(t[:width].ljust(width) for t in src_tokens)
    rows = [head]
    for tok, weights in zip(out_tokens, att, strict=False):
        cells = " ".join(SHADES[min(len(SHADES) - 1, int(round(float(w) * (len(SHADES) - 1))))]
                         * width for w in weights)
        rows.append(f"{tok:>{label}}  {cells}")
    return rows


def print_translations(task, sources: list[str], beam: int, alpha: float, show_attention: bool,
                       out=None) -> None:
    from rnn_tui.data.pairs import EOS, tokenize

    out = safe_stream(out or sys.stdout)
    for text in sources:
        ids, unknown = task.encode_source(text)
        if unknown:
            print(f"note: {unknown} token{'s' if unknown != 1 else ''} of {text[:40]!r} never "
                  "seen in training, read as <unk>", file=sys.stderr)
        hyps = task.translate(text, beam, alpha)
        src_tokens = [task.src_vocab.tokens[int(i)] for i in ids]
        for rank, h in enumerate(hyps, 1):
            words = task.tgt_vocab.decode(h.ids)
            if beam > 1:
                out.write(f"{rank}. {words}\tlogp {h.logp:.4f}\tscore {h.score(alpha):.4f}\n")
            else:
                out.write(f"{text} → {words}\n")
            if show_attention and h.attention:
                toks = tokenize(words, task.how)
                toks = (toks + ["</s>"])[: len(h.attention)] if h.ids and h.ids[-1] == EOS \
                    else toks[: len(h.attention)]
                for line in heatmap(src_tokens, toks, h.attention):
                    out.write(line.rstrip() + "\n")
        out.flush()


def read_sources(args) -> list[str]:
    from rnn_tui.errors import UserError

    sources = list(args.text)
    if args.file:
        from rnn_tui.data.labelled import read_lines

        sources += [ln for ln in read_lines(args.file)[0] if ln.strip()]
    if not sources:
        raise UserError("give a source to decode: --text SOURCE or --file FILE")
    return sources


def run(args) -> int:
    from rnn_tui.runtime import configure_threads

    check_decoding(args)
    configure_threads(1)
    sources = read_sources(args)
    task = open_seq2seq(args.run, args.checkpoint)
    print_translations(task, sources, args.beam, args.length_penalty, args.show_attention)
    return 0


def open_seq2seq(run, which: str):
    from rnn_tui.errors import UserError
    from rnn_tui.session import open_run

    opened = open_run(run, which)
    if opened.cfg.data.task != "seq2seq":
        raise UserError(f"{run} is a {opened.cfg.data.task} run; translate decodes seq2seq "
                        "runs (see `rnn-tui sample` or `rnn-tui predict` for the others)")
    return opened.task
