r"""Character- and word-level language models: train step, evaluation, streaming sampling.

The model reads tokens (T, B), predicts the next token at every step (many-to-many) and is
scored by mean cross-entropy in nats per token; perplexity is :math:`e^{loss}`. Sampling feeds
each drawn token back in (one-to-many), with the hidden state carried:

.. math:: p_k \propto \exp(z_k / \tau), \text{ restricted to the } k \text{ largest if top-}k
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnn_tui.core import NetSpec, Network
from rnn_tui.core.sampler import generate_tokens


class LanguageModel:
    """A tokenizer and a network that predicts the next token."""

    def __init__(self, tokenizer, net: Network):
        self.tokenizer = tokenizer
        self.net = net

    @classmethod
    def create(cls, tokenizer, cell: str, hidden: int, layers: int, embed: int, dropout: float,
               dtype=np.float32, seed: int = 0, recurrent_scale: float = 0.0) -> LanguageModel:
        V = tokenizer.vocab_size
        spec = NetSpec(cell=cell, input_mode="embedding" if embed > 0 else "onehot",
                       input_size=V, embed_dim=max(embed, 1), hidden=hidden, layers=layers,
                       output_size=V, dropout=dropout)
        return cls(tokenizer, Network(spec, dtype=dtype, seed=seed,
                                      recurrent_scale=recurrent_scale))

    def evaluate(self, ids: np.ndarray, batch: int, seq: int, max_tokens: int = 0) -> float:
        """Mean nats per token over ``ids`` read as B parallel streams with carried state."""
        from rnn_tui.data.batches import iter_eval_batches

        if max_tokens:
            ids = ids[: max_tokens + 1]
        seq = max(1, min(seq, len(ids) - 1))  # a validation text shorter than one window
        B = max(1, min(batch, len(ids) // (seq + 1)))
        state = self.net.initial_state(B)
        total, count = 0.0, 0
        for x, y in iter_eval_batches(ids, B, seq):
            loss, state, _ = self.net.evaluate(x, y, state)
            total += loss * y.size
            count += y.size
        return total / count

    def sample(self, n: int, prime: str = "", temperature: float = 1.0, top_k: int = 0,
               rng: np.random.Generator | None = None,
               parts: int | None = None) -> Iterator[str]:
        """Yield ``n`` generated tokens as text pieces, as they are drawn (streaming). Tokens
        are drawn by the fused kernel in chunks that grow from 1 to 64, so the first piece
        appears at once and long samples still run at full speed. ``parts``: threads per chunk
        (default: two for large models on an idle machine; pass 1 beside a running training)."""
        rng = rng or np.random.default_rng()
        tok = self.tokenizer
        net = self.net
        ids = list(tok.encode(prime, unknown="skip")) if prime else []
        if not ids:
            ids = [int(rng.integers(tok.vocab_size))]
        state = net.initial_state(1)
        if len(ids) > 1:
            state = net.forward(np.asarray(ids[:-1]).reshape(-1, 1), state).state
        h = np.ascontiguousarray(state.h[:, 0, :])
        c = None if state.c is None else np.ascontiguousarray(state.c[:, 0, :])
        last, done, chunk = ids[-1], 0, 1
        while done < n:
            k = min(chunk, n - done)
            drawn = generate_tokens(net, last, k, h, c, temperature, top_k, rng.random(k),
                                    parts=parts)
            for t in drawn:
                yield tok.decode_one(int(t))
            last = int(drawn[-1])
            done += k
            chunk = min(chunk * 2, 64)

    def hidden_trace(self, ids: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Hidden (and LSTM cell) states of every layer while reading ``ids``: each (T, H)."""
        fwd = self.net.forward(np.asarray(ids).reshape(-1, 1), self.net.initial_state(1))
        hs = [c.hs[1:, 0, :].copy() for c in fwd.layers]
        cs = [c.cs[1:, 0, :].copy() for c in fwd.layers] if fwd.layers[0].cs is not None else None
        return hs, cs



def draw(logits: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator) -> int:
    """Draw one index from softmax(logits / temperature), optionally only among the top k."""
    z = np.asarray(logits, dtype=np.float64) / max(temperature, 1e-6)
    if 0 < top_k < z.size:
        cut = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= cut, z, -np.inf)
    z = z - z.max()
    p = np.exp(z)
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, rng.random() * c[-1], side="right"), z.size - 1))
