"""The cells, by name and by the integer code the kernels take (a named constant each: the
kernels compare against these module globals, which Numba freezes at compile time)."""

from __future__ import annotations

RNN_TANH = 0
RNN_RELU = 1
LSTM = 2
GRU = 3
RNN_SIGMOID = 4

# name -> kernel code; the vanilla cells differ only in their activation
CELL_CODES = {"rnn": RNN_TANH, "rnn_relu": RNN_RELU, "lstm": LSTM, "gru": GRU,
              "rnn_sigmoid": RNN_SIGMOID}
GATES = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "rnn_sigmoid": 1}
CELL_ALIASES = {"rnn_tanh": "rnn", "vanilla": "rnn", "elman": "rnn", "sigmoid": "rnn_sigmoid"}


def canonical_cell(name: str) -> str:
    """Normalise a cell name (``rnn``/``rnn_tanh``, ``rnn_relu``, ``rnn_sigmoid``, ``lstm``,
    ``gru``)."""
    key = name.lower().strip()
    key = CELL_ALIASES.get(key, key)
    if key not in GATES:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(GATES)}")
    return key

