"""What the commands that read a trained model share: opening a run as an
:class:`~rnn_tui.explain.models.Explainable`, and reading the inputs given to them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnn_tui.errors import UserError, visible

MAX_INPUTS = 10_000  # lines of --file read at most


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory (or checkpoint file)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the input: a sentence, a text, or for a series numbers "
                     "separated by commas or spaces")
    src.add_argument("--file", metavar="F", help="inputs, one per line (for a series: a CSV "
                     "file, the whole of it one series)")
    p.add_argument("--column", default=None, help="series: the CSV column to read (default: "
                   "the last numeric one)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of --file (utf-8)")
    p.add_argument("--json", action="store_true", help="one JSON object per input, one a line")
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (best.npz; the default) or latest "
                   "(checkpoint.npz)")


def open_explainable(run: str, which: str = "best"):
    """(model, checkpoint path, best|latest|file, metadata) of a run: classify, tag and
    language models from the checkpoint alone; a series restored with its forecaster."""
    from rnn_tui.explain.models import from_checkpoint, from_series_task
    from rnn_tui.session import open_run
    from rnn_tui.train.runs import checkpoint_path, load_checkpoint

    path, kind = checkpoint_path(run, which)
    arrays, meta = load_checkpoint(path)
    if meta.get("task") == "seq2seq":
        from rnn_tui.explain.models import Translator

        opened = open_run(run, which)
        return Translator(opened.task), opened.path, opened.which, opened.meta
    if meta.get("task") == "series":
        opened = open_run(run, which)
        model = from_series_task(opened.task)
        cfg = opened.cfg
        model.horizon = cfg.data.horizon or max(cfg.data.holdout, 1)
        return model, opened.path, opened.which, opened.meta
    max_len = 0
    cfg_path = (path.parent if path.is_file() else Path(run)) / "config.toml"
    if meta.get("task") == "classify" and cfg_path.is_file():
        from rnn_tui.config import RunConfig, load_toml

        try:
            max_len = RunConfig.from_dict(load_toml(cfg_path), str(cfg_path)).data.max_len
        except UserError:
            max_len = 0  # the weights still read; only the length cap is unknown
    return from_checkpoint(arrays, meta, max_len), path, kind, meta


def read_inputs(args, model) -> list:
    """The inputs of --text or --file: a list of strings, or for a series one array."""
    if args.text is not None:
        if model.kind == "series":
            from rnn_tui.explain.models import parse_values

            return [parse_values(args.text)]
        return [args.text]
    if model.kind == "series":
        from rnn_tui.data.series import load_series

        return [load_series(args.file, args.column, args.encoding).values]
    from rnn_tui.data.corpora import read_text_file

    lines = [ln.rstrip("\r") for ln in read_text_file(Path(args.file), args.encoding,
                                                        "input file").split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise UserError(f"{args.file} holds no inputs; put one on each line")
    if len(lines) > MAX_INPUTS:
        raise UserError(f"{args.file} has {len(lines):,} lines; give at most {MAX_INPUTS:,}")
    return lines


def say_weights(path: Path, which: str, meta: dict) -> None:
    """One line on stderr naming the weights used."""
    if which == "file":
        return
    val = meta.get("best_val_loss") if which == "best" else meta.get("last_val_loss")
    extra = f", val_loss {val:.4f}" if isinstance(val, (int, float)) else ""
    print(f"rnn-tui: using the {which} weights ({visible(path.name)}, step {meta.get('step', '?')}"
          f"{extra})", file=sys.stderr)


def input_label(item) -> str:
    """How an input is named in the output: the text, or a series' length."""
    return item if isinstance(item, str) else f"series of {len(item)} values"
