"""``rnn-tui evaluate``: a run's weights scored on its validation data or a file."""

from __future__ import annotations

from rnn_tui.commands.shared import checkpoint_option, say_which

NAME = "evaluate"
HELP = "score a run's weights on its validation data or a file"
DESCRIPTION = ("Score a run's best weights (or --checkpoint latest) on its own validation "
               "split, or on --data FILE (a language model reads FILE as one stream from a zero "
               "state, batch 1, and averages the cross-entropy of every next token). The last "
               "line is `val_loss=<x>`, plus the task's own measures.")


def add_arguments(e) -> None:
    e.add_argument("run", metavar="RUN", help="run directory (or checkpoint file)")
    e.add_argument("--data", metavar="FILE", help="a text file to score instead of the run's "
                   "validation split")
    e.add_argument("--encoding", default="utf-8", help="text encoding of --data (utf-8)")
    checkpoint_option(e)


def run(args) -> int:
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import open_run

    configure_threads(1)
    opened = open_run(args.run, args.checkpoint)
    task = opened.task
    if args.data:
        val, metrics = task.evaluate_file(args.data, args.encoding)
    else:
        val, metrics = task.evaluate()
    say_which(opened.path, opened.which, opened.meta)  # after any error: one line for those
    report = getattr(task, "report_lines", None)
    if report is not None:  # a task's own last line (seq2seq: exact_match=... bleu=...)
        for line in report(val, metrics):
            print(line)
        return 0
    extra = "".join(f" {k}={v:.6g}" for k, v in metrics.items())
    print(f"val_loss={val:.6f}{extra}")
    return 0
