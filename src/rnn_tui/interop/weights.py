"""Weights as a PyTorch-named ``.safetensors`` file, out and in.

``rnn-tui export RUN --to FILE.safetensors`` writes a run's weights under PyTorch's names and
shapes (see :mod:`.names`) with the ``safetensors`` library's NumPy API: plain tensors and a
header of string metadata, nothing to unpickle. The metadata says what the tensors are and how
to read text into them:

=================  ==========================================================================
``cell``           ``rnn`` (tanh), ``rnn_relu``, ``lstm`` or ``gru``; ``nonlinearity`` says
                   ``tanh`` or ``relu`` too, as ``nn.RNN`` names it
``hidden``         units per layer (and direction)
``layers``         stacked layers
``embed``          the embedding size, ``0`` for one-hot input
``bidirectional``  ``true`` or ``false``
``task``           ``char``, ``word`` (or ``series``)
``vocab``          the tokens in id order, a JSON list (language models)
``tokenizer``      ``char`` or ``word``; a word model adds ``lowercase``, ``min_count`` and
                   ``max_vocab``, which rebuild its tokenizer
=================  ==========================================================================

plus ``input_size``, ``output_size``, ``step`` and ``val_loss`` for the record. Reading
accepts a file written by PyTorch (``safetensors.torch.save_file(model.state_dict(), path,
metadata=...)``) with the same names; of its metadata only ``vocab`` is required (and ``cell``
for a plain RNN, whose tanh and relu variants have the same shapes).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.core.layers import GATES, canonical_cell
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.errors import UserError
from rnn_tui.interop.names import EMBEDDING, HEAD_WEIGHT, from_torch, is_bidirectional, to_torch

SUFFIX = ".safetensors"
_FLOATS = {"F16": np.float16, "F32": np.float32, "F64": np.float64}


def _safetensors_numpy():
    try:
        import safetensors.numpy as stn
    except ImportError:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise UserError("reading and writing .safetensors files needs the safetensors package: "
                        "pip install safetensors") from None
    return stn


# ---------------------------------------------------------------------------- out
def file_metadata(spec: NetSpec, meta: dict[str, Any]) -> dict[str, str]:
    """The string metadata of an exported file, from a network's shape and its checkpoint's
    metadata (task, tokenizer, step, losses)."""
    from rnn_tui import __version__

    md = {
        "format": "pt",  # what loaders of PyTorch-named safetensors files look for
        "producer": f"rnn-tui {__version__}",
        "task": str(meta.get("task", "")),
        "cell": spec.cell,
        "hidden": str(spec.hidden),
        "layers": str(spec.layers),
        "embed": str(spec.embed_dim if spec.input_mode == "embedding" else 0),
        "bidirectional": "true" if is_bidirectional(spec) else "false",
        "input_size": str(spec.input_size),
        "output_size": str(spec.output_size),
    }
    if spec.cell in ("rnn", "rnn_relu"):
        md["nonlinearity"] = "relu" if spec.cell == "rnn_relu" else "tanh"
    tok = meta.get("tokenizer")
    if isinstance(tok, dict):
        md["tokenizer"] = str(tok.get("kind", ""))
        md["vocab"] = json.dumps(list(tok.get("vocab", [])), ensure_ascii=False)
        if tok.get("kind") == "word":
            md["lowercase"] = "true" if tok.get("lowercase", True) else "false"
            md["min_count"] = str(tok.get("min_count", 1))
            md["max_vocab"] = str(tok.get("max_vocab") or 0)
    if "step" in meta:
        md["step"] = str(meta["step"])
    for key in ("best_val_loss", "last_val_loss"):
        if isinstance(meta.get(key), (int, float)):
            md.setdefault("val_loss", repr(float(meta[key])))
    return md


def export_safetensors(run: str | Path, to: str | Path, which: str = "best") -> dict[str, Any]:
    """Write a run's weights (``best`` or ``latest``) to ``to`` with PyTorch's names, atomically.
    Returns a summary: the checkpoint used, which one, the tensors and the metadata."""
    from rnn_tui.safeio import write_file
    from rnn_tui.tasks.common import network_from_meta
    from rnn_tui.train.runs import checkpoint_path, load_checkpoint

    stn = _safetensors_numpy()
    target = _writable_target(to)
    path, kind = checkpoint_path(run, which)
    arrays, meta = load_checkpoint(path)
    if meta.get("task") == "seq2seq":
        from rnn_tui.errors import UserError

        raise UserError(f"{run} is a seq2seq run: export to PyTorch's names covers the "
                        "one-network tasks (char, word, series, classify, tag); an "
                        "encoder-decoder's weights stay in its checkpoint.npz")
    net = network_from_meta(arrays, meta)
    tensors = to_torch(net.params.w, net.spec)
    md = file_metadata(net.spec, meta)
    write_file(target, stn.save(tensors, metadata=md))
    return {"checkpoint": path, "which": kind, "tensors": tensors, "metadata": md,
            "path": target}


def _writable_target(to: str | Path) -> Path:
    """Checked before the weights are read: a directory, a missing folder, a device or a FIFO
    is refused (:func:`rnn_tui.safeio.write_target`)."""
    from rnn_tui.safeio import write_target

    target = Path(to)
    if target.is_dir():
        raise UserError(f"{target} is a directory; give a file name ending in {SUFFIX} "
                        "(or --format tensorboard|csv to write the logs there)")
    write_target(target)
    if not target.parent.is_dir():
        raise UserError(f"cannot write {target}: the directory {target.parent} does not exist")
    return target


# ---------------------------------------------------------------------------- in
def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of a ``.safetensors`` file as NumPy arrays, and its metadata. Floating-point
    tensors only (float16/32/64)."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p} is a directory; give a .safetensors file")
    if not p.is_file():
        raise UserError(f"file not found: {p}")
    _safetensors_numpy()
    from safetensors import safe_open

    tensors: dict[str, np.ndarray] = {}
    try:
        with safe_open(str(p), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            for key in f.keys():
                dtype = f.get_slice(key).get_dtype()
                if dtype not in _FLOATS:
                    raise UserError(f"{p}: tensor {key} is {dtype}; rnn-tui reads float16, "
                                    "float32 and float64 weights (save the model as float32)")
                tensors[key] = f.get_tensor(key)
    except UserError:
        raise
    except Exception as err:  # SafetensorError, OSError, a truncated file …
        raise UserError(f"{p} is not a readable .safetensors file ({err})") from None
    if not tensors:
        raise UserError(f"{p} holds no tensors")
    return tensors, meta


@dataclass
class Weights:
    """A validated weights file: the network it describes (weights loaded) and its tokenizer."""

    net: Network
    tokenizer: Any  # CharTokenizer | WordTokenizer | None
    task: str
    meta: dict[str, str]
    path: Path


def load_weights(path: str | Path, task: str | None = None) -> Weights:
    """Read a PyTorch-named ``.safetensors`` file into a network (and its tokenizer for a
    language model, ``task`` ``char`` or ``word``; default: the file's own ``task``).

    Everything that does not fit is one :class:`UserError`: tensors missing, left over or of
    the wrong shape, a vocabulary that is absent or disagrees with the embedding, an unknown
    cell."""
    p = Path(path)
    tensors, meta = read_safetensors(p)
    task = task or meta.get("task") or ""
    if task not in ("char", "word"):
        raise UserError(f"say which language-model task {p} holds: --task char or --task word"
                        + (f" (its metadata says {task!r})" if task else ""))
    tokenizer = tokenizer_from_metadata(meta, task, p)
    spec = infer_spec(tensors, meta, p, vocab_size=tokenizer.vocab_size)
    dtypes = {a.dtype for a in tensors.values()}
    dtype = np.float64 if dtypes == {np.dtype(np.float64)} else np.float32
    net = Network(spec, dtype=dtype, seed=None)
    for ours, arr in from_torch(tensors, spec, net.params.layout).items():
        if not np.all(np.isfinite(arr)):
            raise UserError(f"{p}: the weights hold NaN or infinite values ({ours}); refusing "
                            "to import them")
        net.params[ours][...] = arr
    return Weights(net, tokenizer, task, meta, p)


def _meta_int(meta: dict[str, str], key: str, source) -> int | None:
    if key not in meta:
        return None
    try:
        return int(meta[key])
    except (TypeError, ValueError):
        raise UserError(f"{source}: metadata {key!r} must be a whole number, got "
                        f"{meta[key]!r}") from None


def _meta_bool(meta: dict[str, str], key: str, default: bool) -> bool:
    v = str(meta.get(key, default)).strip().lower()
    return v in ("1", "true", "yes", "on")


def cell_from(meta: dict[str, str], gates: int, source) -> str:
    """The cell a file holds: its ``cell`` metadata (checked against the tensors' gate count),
    or for a file without one, the cell the gate count names (LSTM 4, GRU 3)."""
    name = meta.get("cell")
    nonlinearity = str(meta.get("nonlinearity", "")).strip().lower()
    if name is None:
        by_gates = {4: "lstm", 3: "gru"}
        if gates in by_gates:
            return by_gates[gates]
        if gates == 1 and nonlinearity in ("tanh", "relu"):
            return "rnn" if nonlinearity == "tanh" else "rnn_relu"
        if gates == 1:
            raise UserError(f"{source} holds a plain RNN but no metadata 'cell' saying rnn "
                            "(tanh) or rnn_relu; save it with metadata={'cell': 'rnn'} or "
                            "{'cell': 'rnn_relu'}")
        raise UserError(f"shapes do not fit: rnn.weight_hh_l0 has {gates} gate blocks, which "
                        "is no cell rnn-tui knows (rnn 1, gru 3, lstm 4)")
    try:
        cell = canonical_cell(str(name))
    except ValueError:
        raise UserError(f"unknown cell {name!r} in {source}'s metadata; rnn-tui knows rnn, "
                        "rnn_relu, lstm and gru") from None
    if cell == "rnn" and nonlinearity == "relu":
        cell = "rnn_relu"
    if GATES[cell] != gates:
        raise UserError(f"shapes do not fit: a {cell} layer has {GATES[cell]} gate block(s), "
                        f"rnn.weight_hh_l0 in {source} has {gates}")
    return cell


def infer_spec(tensors: dict[str, np.ndarray], meta: dict[str, str], source,
               vocab_size: int | None = None) -> NetSpec:
    """The network shape the tensors describe, checked against the metadata (and the
    vocabulary size, when there is one)."""
    w_hh = tensors.get("rnn.weight_hh_l0")
    if w_hh is None or w_hh.ndim != 2 or w_hh.shape[1] < 1:
        raise UserError(f"{source} has no recurrent layer under PyTorch's names (rnn.weight_"
                        "hh_l0); export the model as one module with attributes embedding, rnn "
                        "and head")
    rows, hidden = w_hh.shape
    if rows % hidden:
        raise UserError(f"shapes do not fit: rnn.weight_hh_l0 is ({rows}x{hidden}), not a "
                        "whole number of gate blocks")
    cell = cell_from(meta, rows // hidden, source)
    layers = 0
    while f"rnn.weight_ih_l{layers}" in tensors:
        layers += 1
    if layers == 0:
        raise UserError(f"{source} has no tensor rnn.weight_ih_l0")
    bidirectional = "rnn.weight_ih_l0_reverse" in tensors
    emb = tensors.get(EMBEDDING)
    if emb is not None:
        if emb.ndim != 2:
            raise UserError(f"shapes do not fit: {EMBEDDING} must be (vocabulary x embedding), "
                            f"got {emb.ndim} dimension(s)")
        input_mode, (input_size, embed) = "embedding", emb.shape
    else:
        w_ih = tensors["rnn.weight_ih_l0"]
        if w_ih.ndim != 2:
            raise UserError("shapes do not fit: rnn.weight_ih_l0 must be 2-dimensional")
        input_mode, input_size, embed = "onehot", w_ih.shape[1], 0
    head = tensors.get(HEAD_WEIGHT)
    if head is None or head.ndim != 2:
        raise UserError(f"{source} has no output layer {HEAD_WEIGHT} (out x hidden)")
    output_size = head.shape[0]
    for key, actual in (("hidden", hidden), ("layers", layers), ("embed", embed)):
        said = _meta_int(meta, key, source)
        if said is not None and said != actual:
            raise UserError(f"shapes do not fit: {source}'s metadata says {key} {said}, its "
                            f"tensors hold {actual}")
    if "bidirectional" in meta and _meta_bool(meta, "bidirectional", False) != bidirectional:
        raise UserError(f"shapes do not fit: {source}'s metadata says bidirectional "
                        f"{meta['bidirectional']}, its tensors say {str(bidirectional).lower()}")
    if vocab_size is not None:
        what = EMBEDDING + " has" if emb is not None else "rnn.weight_ih_l0 reads"
        if input_size != vocab_size:
            raise UserError(f"shapes do not fit: the vocabulary has {vocab_size} tokens but "
                            f"{what} {input_size}")
        if output_size != vocab_size:
            raise UserError(f"shapes do not fit: the vocabulary has {vocab_size} tokens but "
                            f"{HEAD_WEIGHT} scores {output_size}")
    kwargs: dict[str, Any] = dict(cell=cell, input_mode=input_mode, input_size=int(input_size),
                                  embed_dim=int(max(embed, 1)), hidden=int(hidden),
                                  layers=layers, output_size=int(output_size))
    if bidirectional:
        if "bidirectional" not in {f.name for f in dataclasses.fields(NetSpec)}:
            raise UserError(f"{source} holds bidirectional layers, which this rnn-tui does not "
                            "have")
        kwargs["bidirectional"] = True
    try:
        return NetSpec(**kwargs)
    except ValueError as err:
        raise UserError(f"shapes do not fit: {err}") from None


def tokenizer_from_metadata(meta: dict[str, str], task: str, source):
    """The tokenizer a file's ``vocab`` (and ``lowercase`` … for words) rebuilds."""
    from rnn_tui.data.text import UNK, CharTokenizer, WordTokenizer

    raw = meta.get("vocab")
    if raw is None:
        raise UserError(f"{source} has no vocabulary (metadata 'vocab': a JSON list of the "
                        "tokens in id order); a language model cannot be imported without it")
    try:
        vocab = json.loads(raw)
    except json.JSONDecodeError:
        vocab = None
    if not isinstance(vocab, list) or not vocab or not all(isinstance(t, str) for t in vocab):
        raise UserError(f"{source}: metadata 'vocab' must be a JSON list of the tokens (strings) "
                        "in id order")
    if len(set(vocab)) != len(vocab):
        raise UserError(f"{source}: metadata 'vocab' lists a token twice")
    if task == "char":
        long = [t for t in vocab if len(t) != 1]
        if long:
            raise UserError(f"{source}: a character vocabulary holds single characters, this "
                            f"one {long[0]!r}; import it with --task word")
        return CharTokenizer(vocab)
    if vocab[0] != UNK:
        raise UserError(f"{source}: a word vocabulary starts with {UNK} (id 0, for unknown "
                        f"words); this one starts with {vocab[0]!r}")
    max_vocab = _meta_int(meta, "max_vocab", source)
    return WordTokenizer(lowercase=_meta_bool(meta, "lowercase", True),
                         min_count=_meta_int(meta, "min_count", source) or 1,
                         max_vocab=max_vocab or None, vocab=vocab)
