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
    e.add_argument("--beam", type=int, default=1, metavar="K",
                   help="seq2seq: decode by beam search of width K (1 = greedy) (1)")
    e.add_argument("--length-penalty", type=float, default=1.0, metavar="A",
                   help="seq2seq, --beam: rank by log-probability / length^A (1.0)")
    checkpoint_option(e)


def run(args) -> int:
    from rnn_tui.commands.translate import check_decoding
    from rnn_tui.errors import UserError
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import open_run

    check_decoding(args)
    configure_threads(1)
    opened = open_run(args.run, args.checkpoint)
    task = opened.task
    whole = getattr(task, "evaluate_all", None)  # seq2seq: every held-out source decoded
    if args.beam > 1 and whole is None:
        raise UserError(f"--beam decodes seq2seq runs; this is a {task.kind} run")
    if args.data:
        val, metrics = (task.evaluate_file(args.data, args.encoding, args.beam,
                                           args.length_penalty) if whole is not None else
                        task.evaluate_file(args.data, args.encoding))
    elif whole is not None:
        val, metrics = whole(args.beam, args.length_penalty)
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
