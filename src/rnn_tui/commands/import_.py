"""``rnn-tui import``: a run made from a .safetensors file with PyTorch's names."""

from __future__ import annotations

from rnn_tui.commands.shared import add_train_flags
from rnn_tui.errors import visible
from rnn_tui.options import flags_to_dict

NAME = "import"
HELP = ("make a run from a .safetensors file with PyTorch's names (written by `rnn-tui export` "
        "or by PyTorch)")
DESCRIPTION = ("Build a run directory from FILE.safetensors holding a language model under "
               "PyTorch's names (embedding, rnn, head) and its vocabulary (metadata 'vocab'). "
               "The run reads --text FILE or --corpus NAME: `evaluate` scores it, `watch` shows "
               "the model's hidden state over it, `train --resume` trains on it; `sample` works "
               "as on any run.")


def add_arguments(i) -> None:
    i.add_argument("file", metavar="FILE", help="the .safetensors file")
    i.add_argument("--task", choices=("char", "word"), default=None,
                   help="char or word (default: the file's metadata 'task')")
    src = i.add_mutually_exclusive_group()
    src.add_argument("--text", metavar="FILE", help="a text file for the run to read")
    src.add_argument("--corpus", help="a built-in corpus (see `rnn-tui corpora`) or text file")
    i.add_argument("--encoding", default=None, help="text encoding of the text (utf-8)")
    i.add_argument("--val-fraction", dest="val_fraction", default=None, metavar="FLOAT",
                   help="share of the text held out for evaluation (0.1)")
    i.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    i.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    add_train_flags(i, sections=("train",))  # settings a later `train --resume` uses


def run(args) -> int:
    from rnn_tui.safeio import signals_raise

    with signals_raise():  # a signal unwinds: no half-written files
        return _import(args)


def _import(args) -> int:
    from rnn_tui.runtime import configure_threads

    configure_threads(1)
    from rnn_tui.interop.importer import import_run

    settings = flags_to_dict(args)  # --encoding, --val-fraction and the [train] settings
    for key in ("task", "corpus"):  # given to import_run itself
        settings.get("data", {}).pop(key, None)
    run_dir = import_run(args.file, args.task, corpus=args.text or args.corpus,
                         runs_dir=args.runs_dir, name=args.name, settings=settings)
    shown = visible(run_dir)
    print(f"imported {visible(args.file)} into {shown}; try: rnn-tui watch {shown} · rnn-tui "
          f"sample {shown} · rnn-tui train --resume {shown}")
    return 0
