"""Tokenizers: characters, or words with punctuation split off and newline kept as a token.

Both turn text into integer ids (what the embedding looks up, or the position of the 1 in a
one-hot vector) and back; both are saved with the model as a small JSON dict.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from rnn_tui.errors import UserError

UNK = "<unk>"
NEWLINE = "\n"
_WORD_RE = re.compile(r"\n|[A-Za-z0-9_]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9_]")
_NO_SPACE_BEFORE = set(",.;:!?)]}'%")
_NO_SPACE_AFTER = set("([{\n")


class CharTokenizer:
    """Vocabulary = the sorted distinct characters of the training text."""

    kind = "char"

    def __init__(self, vocab: list[str]):
        self.vocab = list(vocab)
        self.index = {ch: i for i, ch in enumerate(self.vocab)}

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        if not text:
            raise UserError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str, unknown: str = "error") -> np.ndarray:
        """Ids of ``text``; characters outside the vocabulary raise (``"error"``) or are
        dropped (``"skip"``)."""
        idx = self.index
        if unknown == "skip":
            return np.fromiter((idx[c] for c in text if c in idx), dtype=np.int64)
        missing = sorted({c for c in text if c not in idx})
        if missing:
            shown = "".join(missing[:10])
            raise UserError(f"characters not in the model's vocabulary: {shown!r}")
        return np.fromiter((idx[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)

    def decode_one(self, i: int) -> str:
        return self.vocab[int(i)]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "char", "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CharTokenizer:
        return cls(list(d["vocab"]))


def split_words(text: str, lowercase: bool = True) -> list[str]:
    """Words (letters, digits, underscores, with a trailing 's or 't kept), single punctuation
    marks, and newlines; other whitespace is dropped."""
    if lowercase:
        text = text.lower()
    return _WORD_RE.findall(text)


class WordTokenizer:
    """Word-level vocabulary with ``<unk>`` (id 0) for rare or unseen words."""

    kind = "word"

    def __init__(self, lowercase: bool = True, min_count: int = 1, max_vocab: int | None = None,
                 vocab: list[str] | None = None):
        self.lowercase = lowercase
        self.min_count = max(1, int(min_count))
        self.max_vocab = max_vocab
        self.vocab = list(vocab) if vocab else [UNK]
        self.index = {w: i for i, w in enumerate(self.vocab)}

    def fit(self, text: str) -> WordTokenizer:
        return self.fit_words(split_words(text, self.lowercase))

    def fit_words(self, words: list[str]) -> WordTokenizer:
        """The vocabulary of these word tokens (as :func:`split_words` gives them)."""
        counts = Counter(words)
        if not counts:
            raise UserError("the text holds no words to build a vocabulary from")
        words = sorted((w for w, c in counts.items() if c >= self.min_count and w != UNK),
                       key=lambda w: (-counts[w], w))
        if self.max_vocab:
            words = words[: max(self.max_vocab - 1, 1)]
        self.vocab = [UNK] + words
        self.index = {w: i for i, w in enumerate(self.vocab)}
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str, unknown: str = "unk") -> np.ndarray:
        """Ids of the words of ``text``; unknown words map to ``<unk>`` (or are dropped with
        ``unknown="skip"``)."""
        idx = self.index
        words = split_words(text, self.lowercase)
        if unknown == "skip":
            return np.fromiter((idx[w] for w in words if w in idx), dtype=np.int64)
        return np.fromiter((idx.get(w, 0) for w in words), dtype=np.int64, count=len(words))

    def decode(self, ids) -> str:
        return join_words([self.vocab[int(i)] for i in ids])

    def decode_one(self, i: int) -> str:
        return self.vocab[int(i)]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "word", "lowercase": self.lowercase, "min_count": self.min_count,
                "max_vocab": self.max_vocab, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        return cls(d.get("lowercase", True), d.get("min_count", 1), d.get("max_vocab"),
                   vocab=list(d["vocab"]))


def join_words(words: list[str]) -> str:
    """Readable text from word tokens: single spaces, none before closing punctuation, none
    after an opening bracket or a newline."""
    out: list[str] = []
    prev = NEWLINE
    for w in words:
        if out and prev not in _NO_SPACE_AFTER and not (len(w) == 1 and w in _NO_SPACE_BEFORE) \
                and w != NEWLINE:
            out.append(" ")
        out.append(w)
        prev = w
    return "".join(out)


def tokenizer_from_dict(d: dict[str, Any]):
    """The tokenizer a checkpoint (or a vocabulary file) describes; a vocabulary that is not a
    list of distinct tokens (single characters for ``char``) is refused."""
    if not isinstance(d, dict):
        raise UserError("the vocabulary is not a table; the file is corrupt")
    kind = d.get("kind")
    vocab = d.get("vocab")
    if kind in ("char", "word") and (
            not isinstance(vocab, list) or not vocab
            or not all(isinstance(v, str) and (kind == "word" or len(v) == 1) for v in vocab)
            or len(set(vocab)) != len(vocab)):
        raise UserError(f"the {kind} vocabulary is not a list of distinct "
                        f"{'characters' if kind == 'char' else 'words'}; the file is corrupt")
    if kind == "char":
        return CharTokenizer.from_dict(d)
    if kind == "word":
        return WordTokenizer.from_dict(d)
    raise UserError(f"unknown tokenizer kind {kind!r} in checkpoint")


def load_tokenizer(path, kind: str | None = None):
    """A tokenizer saved as JSON (its ``to_dict``), as ``rnn-tui import`` writes ``vocab.json``;
    ``kind`` (char or word) is checked when given."""
    import json
    from pathlib import Path

    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"vocabulary file not found: {p} (data.vocab in the run's "
                        "config.toml)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"vocabulary file {p} is not readable JSON ({err})") from None
    if not isinstance(d, dict) or not isinstance(d.get("vocab"), list):
        raise UserError(f"vocabulary file {p} holds no vocabulary list")
    if kind is not None and d.get("kind") != kind:
        raise UserError(f"vocabulary file {p} is for a {d.get('kind')} model, not {kind}")
    return tokenizer_from_dict(d)
