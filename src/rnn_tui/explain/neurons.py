r"""Neuron search: which hidden units are on exactly where a pattern is (LSTMVis; Karpathy et
al.'s quote and line-end cells).

A character model reads held-out text; a regular expression marks the positions it covers
(:math:`m_t \in \{0, 1\}`). Every unit of every layer, h and (LSTM) c, is scored by how well its
activation :math:`a_t` separates inside from outside:

- the point-biserial correlation, Pearson's r between :math:`a` and :math:`m`:
  :math:`r_{pb} = \frac{\bar a_1 - \bar a_0}{s_a} \sqrt{p (1 - p)}` with :math:`s_a` the
  population standard deviation and p the share of positions inside;
- the AUC: the probability that a position inside has a higher activation than one outside
  (ties count half), the Mann-Whitney U over :math:`n_1 n_0`.

Units are ranked by :math:`|r_{pb}|` (a unit that switches *off* inside tracks the pattern as
well as one that switches on).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from rnn_tui.errors import UserError

# name -> (regular expression, group whose span is "inside", what it marks)
PATTERNS: dict[str, tuple[str, int, str]] = {
    "quotes": (r'"([^"\n]*)"', 1, 'inside "…" (between the quotation marks)'),
    "line-end": (r"([^\n]{1,5})\n", 1, "the last five characters before a newline"),
    "brackets": (r"\(([^()\n]*)\)", 1, "inside (…)"),
    "digits": (r"\d", 0, "digits"),
}
CHUNK = 2000  # characters per forward pass (the state carried between them)
MAX_CHARS = 1_000_000


@dataclass
class UnitScore:
    unit: str  # "l0.h[17]"
    layer: int
    kind: str  # h | c
    index: int
    r: float  # point-biserial correlation
    auc: float
    mean_in: float
    mean_out: float

    def to_json(self) -> dict:
        return asdict(self)


def pattern_mask(text: str, pattern: str) -> tuple[np.ndarray, str]:
    """(T,) bool: the positions of ``text`` the pattern covers (a built-in's group, or a
    regular expression's first group if it has one, else the whole match); and a description."""
    if pattern in PATTERNS:
        regex, group, what = PATTERNS[pattern]
    else:
        try:
            compiled = re.compile(pattern)
        except re.error as err:
            raise UserError(f"--pattern {pattern!r} is not a regular expression ({err}); or "
                            f"use a built-in: {', '.join(PATTERNS)}") from None
        regex, group, what = pattern, 1 if compiled.groups else 0, f"matches of {pattern!r}"
    mask = np.zeros(len(text), dtype=bool)
    for m in re.finditer(regex, text):
        a, b = m.span(group)
        if a >= 0:
            mask[a:b] = True
    return mask, what


def hidden_states(net, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's h (and c) at every position of one token stream read from a zero state,
    in chunks with the state carried: {"l0.h": (T, H), "l0.c": (T, H), ...}."""
    from rnn_tui.core.network import State

    state = net.initial_state(1)
    parts: dict[str, list[np.ndarray]] = {}
    for s in range(0, len(ids), CHUNK):
        x = np.asarray(ids[s : s + CHUNK], dtype=np.int64).reshape(-1, 1)
        fwd = net.forward(x, state)
        for layer, cache in enumerate(fwd.layers):
            parts.setdefault(f"l{layer}.h", []).append(cache.hs[1:, 0].astype(np.float64))
            if cache.cs is not None:
                parts.setdefault(f"l{layer}.c", []).append(cache.cs[1:, 0].astype(np.float64))
        state = State(fwd.state.h, fwd.state.c)
    return {k: np.concatenate(v) for k, v in parts.items()}


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each column of ``a`` (n, U), ties given their mean rank."""
    n, U = a.shape
    order = np.argsort(a, axis=0, kind="mergesort")
    ranks = np.empty_like(a)
    for u in range(U):
        col = a[order[:, u], u]
        start = np.r_[0, np.flatnonzero(np.diff(col)) + 1]
        end = np.r_[start[1:], n]
        mean = (start + end + 1) / 2.0  # mean of ranks start+1..end
        ranks[order[:, u], u] = np.repeat(mean, end - start)
    return ranks


def score_units(acts: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r_pb, AUC) of every column of ``acts`` (T, U) against the bool ``mask`` (T,)."""
    m = mask.astype(np.float64)
    n1 = m.sum()
    n0 = len(m) - n1
    if n1 == 0 or n0 == 0:
        raise UserError("the pattern covers " + ("no position" if n1 == 0 else "every position")
                        + " of the text; give text where it holds somewhere and not elsewhere")
    p = n1 / len(m)
    mean_in = acts[mask].mean(axis=0)
    mean_out = acts[~mask].mean(axis=0)
    sd = acts.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(sd > 0, (mean_in - mean_out) / sd * np.sqrt(p * (1 - p)), 0.0)
    ranks = average_ranks(acts)
    auc = (ranks[mask].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return r, auc


def search(net, ids: np.ndarray, mask: np.ndarray, top: int = 10
           ) -> tuple[list[UnitScore], dict[str, np.ndarray]]:
    """Every unit scored against ``mask``, best first (by |r_pb|), and the hidden states."""
    states = hidden_states(net, ids)
    scores: list[UnitScore] = []
    for name, acts in states.items():
        layer, kind = int(name[1 : name.index(".")]), name[-1]
        r, auc = score_units(acts, mask)
        mi, mo = acts[mask].mean(axis=0), acts[~mask].mean(axis=0)
        for u in range(acts.shape[1]):
            scores.append(UnitScore(f"{name}[{u}]", layer, kind, u, float(r[u]), float(auc[u]),
                                    float(mi[u]), float(mo[u])))
    scores.sort(key=lambda s: (-abs(s.r), s.unit))
    return scores[:top], states


def encode_chars(tokenizer, text: str) -> tuple[str, np.ndarray]:
    """The characters of ``text`` the model knows (others dropped) and their ids."""
    kept = "".join(c for c in text if c in tokenizer.index)
    if len(kept) < 2:
        raise UserError("the text holds almost no character of the model's vocabulary")
    return kept, np.fromiter((tokenizer.index[c] for c in kept), dtype=np.int64,
                             count=len(kept))


def passage(mask: np.ndarray, length: int) -> tuple[int, int]:
    """A span of about ``length`` positions to show, starting a little before the first
    stretch the pattern covers."""
    n = len(mask)
    hits = np.flatnonzero(mask)
    start = max(0, int(hits[0]) - length // 8) if hits.size else 0
    start = min(start, max(0, n - length))
    return start, min(n, start + length)
