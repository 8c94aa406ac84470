r"""Character- and word-level language models: train step, evaluation, streaming sampling.

The model reads tokens (T, B), predicts the next token at every step (many-to-many) and is
scored by mean cross-entropy in nats per token; perplexity is :math:`e^{loss}`. Sampling feeds
each drawn token back in (one-to-many), with the hidden state carried:

.. math:: p_k \propto \exp(z_k / \tau), \text{ restricted to the } k \text{ largest if top-}k
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnn_tui import runtime
from rnn_tui.core import NetSpec, Network
from rnn_tui.core.fast.sampler import generate_tokens, split_parts


def generate_here(net: Network, token: int, n: int, h: np.ndarray, c: np.ndarray | None,
                  temperature: float, top_k: int, uniforms: np.ndarray,
                  parts: int | None = None) -> np.ndarray:
    """:func:`~rnn_tui.core.fast.sampler.generate_tokens` as this machine allows: on ``parts``
    threads (default: what :func:`~rnn_tui.core.fast.sampler.split_parts` picks for the cores
    this run may use and the load on them), with this machine's L2 size."""
    if parts is None:
        parts = split_parts(net, n, runtime.threads_in_use, runtime.recent_other_load)
    return generate_tokens(net, token, n, h, c, temperature, top_k, uniforms, parts=parts,
                           l2_bytes=runtime.l2_cache_bytes())


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
        for t in self.sample_ids(n, self.context(prime, rng), temperature, top_k, rng, parts):
            yield self.tokenizer.decode_one(t)

    def context(self, prime: str, rng: np.random.Generator | None = None) -> list[int]:
        """The ids generation starts from: the priming text's, or one random token."""
        ids = list(self.tokenizer.encode(prime, unknown="skip")) if prime else []
        if not ids:
            ids = [int((rng or np.random.default_rng()).integers(self.tokenizer.vocab_size))]
        return [int(i) for i in ids]

    def sample_ids(self, n: int, ids: list[int], temperature: float = 1.0, top_k: int = 0,
                   rng: np.random.Generator | None = None,
                   parts: int | None = None) -> Iterator[int]:
        """Yield ``n`` token ids drawn after the context ``ids`` (read from a zero state)."""
        rng = rng or np.random.default_rng()
        net = self.net
        state = net.initial_state(1)
        if len(ids) > 1:
            state = net.forward(np.asarray(ids[:-1]).reshape(-1, 1), state).state
        h = np.ascontiguousarray(state.h[:, 0, :])
        c = None if state.c is None else np.ascontiguousarray(state.c[:, 0, :])
        last, done, chunk = ids[-1], 0, 1
        while done < n:
            k = min(chunk, n - done)
            drawn = generate_here(net, last, k, h, c, temperature, top_k, rng.random(k),
                                  parts=parts)
            for t in drawn:
                yield int(t)
            last = int(drawn[-1])
            done += k
            chunk = min(chunk * 2, 64)

    def next_token_distributions(self, ids: list[int], generated: list[int],
                                 temperature: float, top_k: int = 0, show: int = 5
                                 ) -> tuple[list[list[str]], list[list[float]]]:
        r"""For each generated token, the ``show`` likeliest candidates the model weighed at
        that step and their probabilities under the temperature (and top-k) the draw used,
        :math:`p \propto \exp(z / \tau)`: one forward pass over context and sample."""
        seq = list(ids) + list(generated[:-1])
        fwd = self.net.forward(np.asarray(seq, dtype=np.int64).reshape(-1, 1),
                               self.net.initial_state(1))
        logits = self.net.head(fwd.y[len(ids) - 1 :, 0]).astype(np.float64)
        tokens, probs = [], []
        for z in logits:
            p = softmax_at(z, temperature, top_k)
            top = np.argsort(-p, kind="stable")[:show]
            tokens.append([self.tokenizer.decode_one(int(i)) for i in top])
            probs.append([round(float(p[i]), 4) for i in top])
        return tokens, probs


def softmax_at(logits: np.ndarray, temperature: float, top_k: int = 0) -> np.ndarray:
    """softmax(logits / temperature), restricted to the top k (renormalised) when k > 0."""
    z = np.asarray(logits, dtype=np.float64) / max(temperature, 1e-6)
    if 0 < top_k < z.size:
        cut = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= cut, z, -np.inf)
    e = np.exp(z - z.max())
    return e / e.sum()


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
