"""Batching for stateful truncated BPTT, time-major.

The token stream of length N is cut into B parallel streams of length L = N // B (stream b is
tokens ``[b L, (b+1) L)``). Batch k holds steps ``[k T, (k+1) T)`` of every stream, shape (T, B),
targets shifted by one; batch k+1 continues each stream exactly where batch k stopped, so the
hidden state at the end of one batch is the right starting state for the next. A final window
shorter than T is kept (a shorter batch), so no token is skipped; the epoch then wraps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.errors import UserError


def tail_size(n: int, val_fraction: float) -> int:
    """How many of ``n`` tokens :func:`split_tail` holds out: ``max(floor(n f), 2)``."""
    return max(int(n * val_fraction), 2)


def split_tail(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Hold out the last ``val_fraction`` of the stream for validation."""
    n = len(ids)
    n_val = tail_size(n, val_fraction)
    return ids[: n - n_val], ids[n - n_val :]


class StreamBatcher:
    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int):
        ids = np.asarray(ids, dtype=np.int64)
        need = batch_size * (seq_len + 1)
        if len(ids) < need:
            raise UserError(
                f"the training text has {len(ids):,} tokens but one batch needs {need:,} "
                f"(batch {batch_size} x (seq {seq_len} + 1)); use a longer text or a smaller "
                "--batch or --seq")
        self.B, self.T = batch_size, seq_len
        self.L = (len(ids) - 1) // batch_size  # each stream needs one extra token for targets
        streams = ids[: batch_size * self.L + 1]
        self.x = np.stack([streams[b * self.L : (b + 1) * self.L] for b in range(batch_size)], 1)
        self.y = np.stack([streams[b * self.L + 1 : (b + 1) * self.L + 1]
                           for b in range(batch_size)], 1)
        self.batches_per_epoch = -(-self.L // seq_len)
        self.epoch = 0
        self.pos = 0

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """(x, y, new_epoch): x and y are (T', B) with T' <= T; new_epoch is True for the first
        batch of every epoch (the carried state should be reset there)."""
        new_epoch = self.pos == 0
        s = self.pos
        e = min(s + self.T, self.L)
        x, y = self.x[s:e], self.y[s:e]
        self.pos = e
        if self.pos >= self.L:
            self.pos = 0
            self.epoch += 1
        return np.ascontiguousarray(x), np.ascontiguousarray(y), new_epoch

    def state_dict(self) -> dict[str, Any]:
        return {"pos": self.pos, "epoch": self.epoch, "B": self.B, "T": self.T, "L": self.L}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if (d["B"], d["T"], d["L"]) != (self.B, self.T, self.L):
            raise UserError("the checkpoint's batching (batch, seq or text length) differs from "
                            "this run's; resume with the same corpus and settings")
        self.pos, self.epoch = int(d["pos"]), int(d["epoch"])


def iter_eval_batches(ids: np.ndarray, batch_size: int, seq_len: int):
    """Every window of a stream once, in order, as (x, y) of shape (T', B)."""
    b = StreamBatcher(ids, batch_size, seq_len)
    for _ in range(b.batches_per_epoch):
        x, y, _ = b.next_batch()
        yield x, y


def pad_batch(seqs: list[np.ndarray], pad: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad sequences of ids (each (n,) or (n, C)) into one time-major batch (T, B) or
    (T, B, C) with T the longest; returns (batch, lengths)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    T, B = int(lengths.max()), len(seqs)
    shape = (T, B) + seqs[0].shape[1:]
    out = np.full(shape, pad, dtype=np.int64)
    for b, s in enumerate(seqs):
        out[: len(s), b] = s
    return out, lengths


class BucketBatcher:
    """Batches of sentences of similar length, so little of a batch is padding.

    Each epoch shuffles the sentences (seeded), sorts chunks of ``chunk`` batches by length,
    cuts them into batches and shuffles the batches' order. The order of an epoch follows from
    the generator's state at its start, which is what a checkpoint keeps."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, chunk: int = 50):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self.lengths) == 0:
            raise UserError("there are no training sentences")
        self.B = max(1, min(int(batch_size), len(self.lengths)))
        self.chunk = chunk
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.pos = 0
        self._start_state = self.rng.bit_generator.state
        self.batches = self._plan()

    def _plan(self) -> list[np.ndarray]:
        self._start_state = self.rng.bit_generator.state
        perm = self.rng.permutation(len(self.lengths))
        span = self.B * self.chunk
        out = []
        for s in range(0, len(perm), span):
            part = perm[s : s + span]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            out += [part[i : i + self.B] for i in range(0, len(part), self.B)]
        order = self.rng.permutation(len(out))
        return [out[i] for i in order]

    @property
    def batches_per_epoch(self) -> int:
        return len(self.batches)

    def next_batch(self) -> tuple[np.ndarray, bool]:
        """(sentence indices, new_epoch)."""
        new_epoch = self.pos == 0
        idx = self.batches[self.pos]
        self.pos += 1
        if self.pos >= len(self.batches):
            self.pos = 0
            self.epoch += 1
            self.batches = self._plan()
        return idx, new_epoch

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "pos": self.pos, "rng": self._start_state,
                "n": len(self.lengths), "B": self.B}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if (d["n"], d["B"]) != (len(self.lengths), self.B):
            raise UserError("the checkpoint's batching (sentences or batch size) differs from "
                            "this run's; resume with the same data and settings")
        self.rng.bit_generator.state = d["rng"]
        self.batches = self._plan()
        self.epoch, self.pos = int(d["epoch"]), int(d["pos"])
