"""``rnn-tui summary``: a model's table, Keras-style, of a run or of the settings given.

One row per layer (the embedding or the one-hot input, each recurrent layer and direction, the
head) with its output shape named ``(batch, time, features)``, whether it returns the whole
sequence (``return_sequences=True``, many-to-many) or the last state only (many-to-one), and
its parameters matrix by matrix; beneath, the total and the bytes of the weights, their
gradients, the optimizer's state and one training step's activations. The task describes its
network (:meth:`~rnn_tui.train.task.Task.anatomy`); this module only formats it.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any

from rnn_tui.commands.shared import add_train_flags
from rnn_tui.options import flag_settings

NAME = "summary"
HELP = "the model layer by layer: shapes (batch, time, features), sequence or last state, " \
    "parameters per matrix, memory"
DESCRIPTION = (
    "Print a run's model (or, without RUN, the model the options below would train) as a "
    "table: one row per layer with its output shape (batch, time, features) at the run's "
    "batch and sequence length, whether it returns every step (return_sequences=True, "
    "many-to-many) or the last state only (many-to-one), and its weight matrices with their "
    "shapes (PyTorch's orientation, W_ih (4H, E) for an LSTM) and sizes. Beneath: the total "
    "parameters, the bytes of weights, gradients and optimizer state, and the activations of "
    "one training step. Without RUN the data is read (the vocabulary sizes the embedding and "
    "the head) but nothing is trained or written.")

COLUMNS = (("Layer", 14), ("Output shape", 36), ("return_sequences", 18), ("Set-up", 14),
           ("Param #", 12))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", nargs="?",
                   help="run directory (or checkpoint file); without it, the model of the "
                   "options below (--task, --cell, --hidden, ...)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object: layers (the rows), total_params, memory, notes")
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights of RUN: best (the default) or latest")
    p.add_argument("--config", metavar="FILE", help="without RUN: TOML file with [data] "
                   "[model] [train]; flags override it")
    p.add_argument("--recipe", metavar="NAME", help="without RUN: start from a named recipe "
                   "(see `rnn-tui recipes`)")
    add_train_flags(p)
    p.set_defaults(resume=None)


def run(args) -> int:
    from rnn_tui.errors import UserError
    from rnn_tui.runtime import configure_threads

    configure_threads(1)
    if args.run:
        given = [key for key in ("config", "recipe", *(s.key for s in flag_settings()))
                 if getattr(args, key, None) is not None]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UserError(f"{flag} describes a new model, and RUN has its own; give RUN or "
                            "the options, not both")
        from rnn_tui.session import open_run

        opened = open_run(args.run, args.checkpoint)
        cfg, task = opened.cfg, opened.task
        source = str(opened.path)
    else:
        from rnn_tui.session import build_task, config_from_args

        cfg = config_from_args(args)
        task = build_task(cfg)
        source = ""
    report = summarise(task, cfg)
    report["source"] = source
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0


def summarise(task, cfg) -> dict[str, Any]:
    """The table's data: the task's anatomy and the memory it needs, as JSON-ready values."""
    from rnn_tui.memory import estimate

    anatomy = task.anatomy()
    spec = task.net.spec
    est = estimate(cfg, vocab=spec.output_size, parameters=anatomy.total_params,
                   seq=anatomy.time, batch=anatomy.batch)
    return {
        "task": cfg.data.task,
        "cell": anatomy.cell,
        "hidden": spec.hidden,
        "layers_count": spec.layers,
        "bidirectional": spec.bidirectional,
        "input": spec.input_mode,
        "batch": anatomy.batch,
        "time": anatomy.time,
        "setup": anatomy.setup,
        "members": anatomy.members,
        "layers": [r.to_dict() for r in anatomy.rows],
        "params_per_network": anatomy.params_per_network,
        "total_params": anatomy.total_params,
        "dtype": cfg.train.dtype,
        "optimizer": cfg.train.optimizer,
        "memory": {"weights_bytes": est.weights_bytes, "gradients_bytes": est.grads_bytes,
                   "optimizer_bytes": est.optimizer_bytes,
                   "activations_step_bytes": est.step_bytes},
        "notes": list(anatomy.notes),
    }


def fmt_shape(row: dict[str, Any]) -> str:
    """``(batch 32, time 64, features 128)``: each dimension named."""
    return "(" + ", ".join(f"{d} {n}" for d, n in zip(row["dims"], row["output"],
                                                       strict=True)) + ")"


def _line(cells: list[str]) -> str:
    out = []
    for (_, width), cell in zip(COLUMNS[:-1], cells[:-1], strict=True):
        out.append(cell.ljust(width))
    return ("".join(out) + cells[-1].rjust(COLUMNS[-1][1])).rstrip()


def format_table(r: dict[str, Any]) -> str:
    from rnn_tui.memory import fmt_bytes

    width = sum(w for _, w in COLUMNS)
    bi = "bidirectional " if r["bidirectional"] else ""
    inputs = {"embedding": "embedding", "onehot": "one-hot input", "real": "real-valued input"}
    lines = [f"Model: {r['task']}, {r['layers_count']}-layer {bi}{r['cell']} of {r['hidden']} "
             f"units, {inputs.get(r['input'], r['input'])}, {r['setup']} "
             f"(batch {r['batch']}, time {r['time']})"]
    if r.get("source"):
        lines.append(f"from {r['source']}")
    rule = "─" * width
    lines += [rule, _line([name for name, _ in COLUMNS]), rule]
    for row in r["layers"]:
        seq = "True  (sequence)" if row["return_sequences"] else "False (last)"
        lines.append(_line([row["name"], fmt_shape(row), seq, row["setup"],
                            f"{row['params']:,}"]))
        for w in row["weights"]:
            shape = "(" + ", ".join(map(str, w["shape"])) + ")"
            symbols = "(" + ", ".join(w["symbols"]) + ")"
            lines.append(_line([f"  {w['name']}", f"{symbols} = {shape}", "", "",
                                f"{w['size']:,}"]))
    lines.append("═" * width)
    total = f"Total parameters: {r['total_params']:,}"
    if r["members"] > 1:
        total += f" ({r['members']} networks of {r['params_per_network']:,}, averaged)"
    lines.append(total)
    m = r["memory"]
    grads = m["gradients_bytes"] // max(m["weights_bytes"], 1)
    halves = " (two workers' halves of the batch)" if grads > 1 else ""
    states = m["optimizer_bytes"] // max(m["weights_bytes"], 1)
    lines.append(f"{r['dtype']} bytes: weights {fmt_bytes(m['weights_bytes'])}, gradients "
                 f"{fmt_bytes(m['gradients_bytes'])}{halves}, optimizer state "
                 f"{fmt_bytes(m['optimizer_bytes'])} ({r['optimizer']}: {states} per weight)")
    lines.append(f"Activations of one training step at batch {r['batch']} x time {r['time']}: "
                 f"{fmt_bytes(m['activations_step_bytes'])}")
    notes = [*r["notes"], "W_ih is the textbooks' W_xh (input to hidden), W_hy the head's "
             "(hidden to output); the same matrices act at every time step"]
    lines.append("")
    for note in notes:
        lines += textwrap.wrap(note, width, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(_wrap(line, width) for line in lines)


def _wrap(line: str, width: int) -> str:
    if len(line) <= width or line.startswith(" "):
        return line
    return "\n".join(textwrap.wrap(line, width, subsequent_indent="  "))
