"""``rnn-tui import FILE.safetensors``: a run directory around weights trained elsewhere.

The run is an ordinary one, as if ``rnn-tui train`` had stopped at step 0 with these weights:
``config.toml`` (the model's shape, the text it reads, ``data.vocab`` naming the file's own
vocabulary), ``vocab.json``, ``checkpoint.npz`` and ``best.npz`` in the current checkpoint format
with fresh optimizer state, and a ``metrics.jsonl`` whose events (run started, an evaluation on
the text's validation part, the hidden state over the start of the text, a sample, finished)
give ``rnn-tui watch`` something to draw. ``sample``, ``evaluate`` and ``train --resume`` then
work on it as on any run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.errors import UserError
from rnn_tui.interop.weights import load_weights
from rnn_tui.train import events as ev

SNAPSHOT_STEPS = 48  # tokens of the text shown in the hidden-state view (as training shows)


def import_run(path: str | Path, task: str | None = None, *, corpus: str | None = None,
               runs_dir: str | Path = "runs", name: str | None = None,
               settings: dict[str, dict[str, Any]] | None = None) -> Path:
    """Build a run directory from a PyTorch-named ``.safetensors`` file; return its path.

    ``corpus``: the text the run reads (a file or a built-in corpus name): what ``evaluate``
    scores, what the hidden-state view shows and what ``--resume`` trains on. ``settings``:
    further ``{"data": …, "train": …}`` values (batch, seq, learning rate …). Every input is
    checked before the directory is made."""
    from rnn_tui.tasks.language import LanguageTask
    from rnn_tui.train.runs import make_run_dir

    if not corpus:
        raise UserError("give the text the imported model reads: --text FILE or --corpus NAME "
                        "(what evaluate scores, watch shows and --resume trains on)")
    weights = load_weights(path, task)
    net = weights.net
    spec = net.spec
    cfg = RunConfig()
    if settings:
        cfg.update(settings, "command line")
    cfg.data.task = weights.task
    corpus_path = Path(corpus)
    cfg.data.corpus = str(corpus_path.resolve()) if corpus_path.is_file() else corpus
    if weights.task == "word":
        cfg.data.lowercase = weights.tokenizer.lowercase
    m = cfg.model
    m.cell, m.hidden, m.layers, m.dropout = spec.cell, spec.hidden, spec.layers, 0.0
    m.embed = spec.embed_dim if spec.input_mode == "embedding" else 0
    if getattr(spec, "bidirectional", False):
        if not hasattr(m, "bidirectional"):
            raise UserError("this rnn-tui cannot train bidirectional models")
        m.bidirectional = True
    cfg.train.dtype = net.dtype.name
    cfg.validate()

    task = LanguageTask.from_config(cfg, tokenizer=weights.tokenizer)  # reads and checks the text
    if task.net.spec.to_dict() != spec.to_dict():
        raise UserError("the imported model does not fit the run's model settings; this is a "
                        "bug in rnn-tui import")
    task.net.params.load_flat(net.params.data)
    val, metrics = task.evaluate()

    from rnn_tui.safeio import make_dirs, remove_made_dirs, write_error

    made_root = make_dirs(runs_dir)
    try:
        run_dir = make_run_dir(runs_dir, name, cfg.data.task)
    except UserError:
        remove_made_dirs(Path(runs_dir), made_root)
        raise
    try:
        _write_run(run_dir, path, cfg, weights, task, val, metrics)
    except BaseException as err:  # a write failed, or a signal: nothing half-made is left
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_made_dirs(Path(runs_dir), made_root)
        if isinstance(err, OSError):
            raise write_error(run_dir, err, "free some space or choose another --runs-dir") \
                from None
        raise
    return run_dir


def _write_run(run_dir: Path, path, cfg: RunConfig, weights, task, val, metrics) -> None:
    """The files of an imported run, each through the safe write path."""
    from rnn_tui.safeio import append_text
    from rnn_tui.train.runs import (
        BEST,
        CHECKPOINT,
        MetricsWriter,
        atomic_write_text,
        save_checkpoint,
    )
    from rnn_tui.train.trainer import write_config

    vocab_file = (run_dir / "vocab.json").resolve()
    atomic_write_text(vocab_file, json.dumps(weights.tokenizer.to_dict(), ensure_ascii=False))
    cfg.data.vocab = str(vocab_file)
    write_config(run_dir, cfg)

    source = {"file": str(Path(path).resolve()), "sha256": _sha256(path),
              "producer": weights.meta.get("producer", "")}
    writer = MetricsWriter(run_dir / "metrics.jsonl")
    try:
        writer(ev.RunStarted(run_dir=str(run_dir), task=cfg.data.task, config=cfg.to_dict(),
                           vocab_size=weights.tokenizer.vocab_size,
                           parameters=int(task.net.params.data.size), views=list(task.views),
                           compute="imported"))
        writer(ev.Notice(kind="imported", message=f"weights imported from {Path(path).name} "
                       f"({_describe(weights)}); step 0 of this run"))
        writer(ev.Evaluated(val_loss=val, best_val_loss=val, metrics=metrics, best_step=0))
        writer(hidden_snapshot(task, task.train_ids[:SNAPSHOT_STEPS]))
        sample = task.sample(cfg.train.temperature, cfg.train.sample_len)
        writer(sample)
        text = sample.text
        append_text(run_dir / "samples.txt",
                    f"--- step 0, imported (temperature {cfg.train.temperature:.2f})\n{text}\n")
        arrays, meta = task.checkpoint()
        meta.update(step=0, elapsed_s=0.0, best_val_loss=val, best_step=0, last_val_loss=val,
                    bad_evals=0, lr_scale=1.0, config=cfg.to_dict(), imported_from=source)
        for file, kind in ((BEST, "best"), (CHECKPOINT, "latest")):
            save_checkpoint(run_dir / file, arrays, meta)
            writer(ev.CheckpointSaved(path=str(run_dir / file), kind=kind))
        writer(ev.Finished(reason="imported", best_val_loss=val, last_val_loss=val, best_step=0))
    finally:
        writer.close()
    if writer.failed is not None:
        raise writer.failed


def hidden_snapshot(task, ids: np.ndarray) -> ev.HiddenSnapshot:
    """The hidden (and LSTM cell) state and gates of every layer while reading ``ids`` from a
    zero state, as training's snapshots have them."""
    from rnn_tui.tasks.common import hidden_snapshot as snapshot

    ids = np.asarray(ids, dtype=np.int64)
    return snapshot(task.net, ids.reshape(-1, 1),
                    [task.tokenizer.decode_one(int(i)) for i in ids])


def _describe(weights) -> str:
    s = weights.net.spec
    return f"{s.layers}x{s.hidden} {s.cell}, vocabulary {weights.tokenizer.vocab_size}"


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
