"""Stateful batching: shapes, stream continuity across batches, epochs, resume."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.data.batches import StreamBatcher, iter_eval_batches, split_tail
from rnn_tui.errors import UserError


def test_shapes_and_targets_shifted():
    ids = np.arange(1000)
    b = StreamBatcher(ids, batch_size=4, seq_len=10)
    x, y, new = b.next_batch()
    assert new and x.shape == (10, 4) and y.shape == (10, 4)
    np.testing.assert_array_equal(y, x + 1)  # next token
    L = b.L
    np.testing.assert_array_equal(x[0], [0, L, 2 * L, 3 * L])  # B parallel streams


def test_streams_continue_across_batches_for_carried_state():
    ids = np.arange(503)
    b = StreamBatcher(ids, batch_size=5, seq_len=7)
    x1, _, _ = b.next_batch()
    x2, _, new = b.next_batch()
    assert not new
    np.testing.assert_array_equal(x2[0], x1[-1] + 1)  # each stream picks up where it stopped
    seen = [x1, x2]
    while True:
        x, _, new = b.next_batch()
        if new:
            break
        seen.append(x)
    whole = np.concatenate(seen)
    assert whole.shape == (b.L, 5)  # every step of every stream exactly once (last may be short)
    np.testing.assert_array_equal(whole[:, 1], np.arange(b.L, 2 * b.L))
    assert b.epoch == 1


def test_state_dict_resumes_same_batch():
    ids = np.random.default_rng(0).integers(0, 50, 5000)
    a = StreamBatcher(ids, 8, 16)
    for _ in range(13):
        a.next_batch()
    b = StreamBatcher(ids, 8, 16)
    b.load_state_dict(a.state_dict())
    for _ in range(30):
        xa, ya, na = a.next_batch()
        xb, yb, nb = b.next_batch()
        np.testing.assert_array_equal(xa, xb)
        assert na == nb
    with pytest.raises(UserError):
        StreamBatcher(ids, 4, 16).load_state_dict(a.state_dict())


def test_too_short_says_what_to_do():
    with pytest.raises(UserError, match="smaller --batch or --seq"):
        StreamBatcher(np.arange(100), 32, 64)


def test_split_tail_and_eval_batches():
    ids = np.arange(1000)
    tr, va = split_tail(ids, 0.1)
    assert len(va) == 100 and tr[-1] + 1 == va[0]
    total = sum(x.size for x, _ in iter_eval_batches(va, 3, 8))
    assert total == 3 * ((len(va) - 1) // 3)
