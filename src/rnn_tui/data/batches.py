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


def split_tail(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Hold out the last ``val_fraction`` of the stream for validation."""
    n = len(ids)
    n_val = max(int(n * val_fraction), 2)
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
