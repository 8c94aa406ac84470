"""Source-target pairs for sequence to sequence: read from a ``source<TAB>target`` file (further
columns ignored, such as Tatoeba's attribution), the built-in ``eng-fra``, or generated
(``addition``: "535+61" -> "596"; ``reverse``: a string -> the string backwards); tokenised by
character or word into vocabularies with padding, start, end and unknown tokens; split so that
pairs sharing a source stay on one side; batched right-padded, time-major.

Every problem with a file is one :class:`~rnn_tui.errors.UserError` naming the file and line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn_tui.errors import UserError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
GENERATED = ("addition", "reverse")
TOKENIZATIONS = ("char", "word")
MAX_PAIRS = 2_000_000
REVERSE_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass
class PairData:
    name: str
    sources: list[str]
    targets: list[str]
    source: str  # where they came from (a path, or how they were generated)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)


# ---------------------------------------------------------------------- generated
def addition_pairs(n: int, digits: int, seed: int, reverse_source: bool = False) -> PairData:
    """``n`` distinct questions "a+b" with a, b of 1 to ``digits`` digits, answered by their
    sum (Keras's addition_rnn; with ``reverse_source`` the question is written backwards, which
    puts the digits that decide the first answer digits next to it)."""
    if digits < 1 or digits > 9:
        raise UserError(f"--digits must be from 1 to 9, got {digits}")
    space = (10 ** digits) ** 2
    if n > space // 2:
        raise UserError(f"{n:,} distinct sums of numbers of up to {digits} digits do not exist; "
                        f"ask for at most {space // 2:,} pairs")
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int]] = set()
    sources, targets = [], []
    while len(sources) < n:
        # the number of digits first, then the number: short and long numbers equally often
        la, lb = rng.integers(1, digits + 1, size=2)
        a = int(rng.integers(0, 10 ** la))
        b = int(rng.integers(0, 10 ** lb))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        q = f"{a}+{b}"
        sources.append(q[::-1] if reverse_source else q)
        targets.append(str(a + b))
    how = f"generated: {n:,} sums of up to {digits} digits, seed {seed}"
    return PairData("addition", sources, targets, how + (", reversed" if reverse_source else ""))


def reverse_pairs(n: int, min_len: int, max_len: int, seed: int) -> PairData:
    """``n`` random lower-case strings of ``min_len`` to ``max_len`` letters, each paired with
    itself backwards: the answer's first letter depends on the source's last."""
    if not 1 <= min_len <= max_len:
        raise UserError(f"reverse strings need 1 <= min length <= max length, got {min_len} "
                        f"and {max_len}")
    rng = np.random.default_rng(seed)
    letters = np.array(list(REVERSE_ALPHABET))
    sources = ["".join(rng.choice(letters, size=int(rng.integers(min_len, max_len + 1))))
               for _ in range(n)]
    return PairData("reverse", sources, [s[::-1] for s in sources],
                    f"generated: {n:,} strings of {min_len}-{max_len} letters, seed {seed}")


# ---------------------------------------------------------------------- files
def parse_pairs(lines: list[str], where: str, max_chars: int = 0) -> PairData:
    """Pairs from ``source<TAB>target[<TAB>...]`` lines. Blank lines are skipped; a line without a
    tab, or with an empty source or target, is refused with its line number. Sides longer than
    ``max_chars`` characters (0 = no limit) are cut there, and a note says how many were."""
    sources, targets = [], []
    cut = 0
    for i, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if "\t" not in line:
            raise UserError(f"{where}:{i}: no tab; each line must be source<TAB>target")
        src, tgt = (part.strip() for part in line.split("\t")[:2])
        if not src or not tgt:
            side = "source" if not src else "target"
            raise UserError(f"{where}:{i}: the {side} is empty; each line must be "
                            "source<TAB>target")
        if max_chars and (len(src) > max_chars or len(tgt) > max_chars):
            cut += 1
            src, tgt = src[:max_chars], tgt[:max_chars]
        sources.append(src)
        targets.append(tgt)
        if len(sources) > MAX_PAIRS:
            raise UserError(f"{where} holds more than {MAX_PAIRS:,} pairs, more than this "
                            "playground trains on")
    if len(sources) < 2:
        raise UserError(f"{where} holds {len(sources)} source<TAB>target pair"
                        f"{'s' if len(sources) != 1 else ''}; at least 2 are needed")
    notes = [f"{cut:,} pair{'s' if cut != 1 else ''} longer than {max_chars:,} characters "
             "cut to that length"] if cut else []
    return PairData(Path(where).name, sources, targets, where, notes)


def load_pairs(name_or_path: str, encoding: str = "utf-8", max_chars: int = 0) -> PairData:
    """A built-in pair set (``eng-fra``) or a ``source<TAB>target`` file."""
    from rnn_tui.data.corpora import builtin_file, manifest
    from rnn_tui.data.labelled import read_lines

    entry = manifest().get(name_or_path)
    if entry is not None:
        if entry.get("kind") != "pairs":
            raise UserError(f"corpus {name_or_path!r} is not a set of source<TAB>target pairs; "
                            f"built-ins for seq2seq: {', '.join(builtin_names())}")
        path = Path(str(entry["path"])) if entry.get("origin") == "user" else \
            Path(str(builtin_file(entry["file"])))
        name = name_or_path
    else:
        path = Path(name_or_path).expanduser()
        name = path.name
    lines, _ = read_lines(path, encoding)
    data = parse_pairs(lines, str(path), max_chars)
    data.name = name
    return data


def builtin_names() -> list[str]:
    from rnn_tui.data.corpora import manifest

    return [*GENERATED, *(n for n, e in manifest().items() if e.get("kind") == "pairs")]


# ---------------------------------------------------------------------- tokens
def tokenize(text: str, how: str) -> list[str]:
    """Characters, or words and punctuation marks (``"Va !"`` -> ``["Va", "!"]``)."""
    return list(text) if how == "char" else _WORD.findall(text)


def detokenize(tokens: list[str], how: str) -> str:
    """Characters joined, or words and marks joined by single spaces (references are scored in
    the same form: :func:`normalise`)."""
    return "".join(tokens) if how == "char" else " ".join(tokens)


def normalise(text: str, how: str) -> str:
    """A text as the model writes it: tokenised, then joined back."""
    return detokenize(tokenize(text, how), how)


@dataclass
class Vocab:
    """Token <-> id, with the four special tokens first."""

    tokens: list[str]
    how: str

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: list[str], how: str, min_count: int = 1,
              max_size: int = 0) -> Vocab:
        counts = Counter(t for s in texts for t in tokenize(s, how))
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        if max_size:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls([*SPECIALS, *kept], how)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> tuple[list[int], int]:
        """Ids of the text's tokens and how many were unknown (read as ``<unk>``)."""
        ids = [self.index.get(t, UNK) for t in tokenize(text, self.how)]
        return ids, sum(1 for i in ids if i == UNK)

    def decode(self, ids) -> str:
        """The text of ids up to the first end token (specials left out)."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.tokens[i])
        return detokenize(out, self.how)

    def to_meta(self) -> dict:
        return {"tokens": self.tokens, "how": self.how}

    @classmethod
    def from_meta(cls, meta: dict) -> Vocab:
        tokens = meta.get("tokens")
        if not isinstance(tokens, list) or tokens[: len(SPECIALS)] != list(SPECIALS) or \
                meta.get("how") not in TOKENIZATIONS:
            raise ValueError("not a seq2seq vocabulary")
        return cls([str(t) for t in tokens], meta["how"])


# ---------------------------------------------------------------------- split and batches
def split_by_source(sources: list[str], fraction: float, seed: int) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """(train, held-out) indices: about ``fraction`` of the pairs held out, whole groups of
    pairs with the same source at a time, chosen by a seeded shuffle of the distinct sources."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sources):
        groups.setdefault(s, []).append(i)
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    want = max(1, round(fraction * len(sources)))
    held: list[int] = []
    train: list[int] = []
    for k in order:
        idx = groups[keys[k]]
        (held if len(held) < want and len(keys) > 1 else train).extend(idx)
    if not train:  # one group only: nothing can be held out
        return np.asarray(held), np.asarray(held)
    return np.asarray(sorted(train)), np.asarray(sorted(held))


@dataclass
class EncodedPairs:
    """Token ids of every pair: ragged lists, batched on demand."""

    src: list[np.ndarray]
    tgt: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.src)

    def batch(self, idx) -> Batch:
        return make_batch([self.src[i] for i in idx], [self.tgt[i] for i in idx])


@dataclass
class Batch:
    """Right-padded, time-major: ``src`` (S, B) with ``src_len`` (B,); ``tgt_in`` (T, B) starts
    with ``<s>``; ``tgt_out`` (T, B) ends with ``</s>`` and holds -1 in the padding (ignored by
    the loss)."""

    src: np.ndarray
    src_len: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray

    @property
    def src_mask(self) -> np.ndarray:
        return np.arange(self.src.shape[0])[:, None] < self.src_len[None, :]


def make_batch(srcs: list[np.ndarray], tgts: list[np.ndarray]) -> Batch:
    B = len(srcs)
    S = max(len(s) for s in srcs)
    T = max(len(t) for t in tgts) + 1
    src = np.full((S, B), PAD, dtype=np.int64)
    tin = np.full((T, B), PAD, dtype=np.int64)
    tout = np.full((T, B), -1, dtype=np.int64)
    for b, (s, t) in enumerate(zip(srcs, tgts, strict=True)):
        src[: len(s), b] = s
        tin[0, b] = BOS
        tin[1 : len(t) + 1, b] = t
        tout[: len(t), b] = t
        tout[len(t), b] = EOS
    return Batch(src, np.array([len(s) for s in srcs], dtype=np.int64), tin, tout)


def encode_pairs(sources: list[str], targets: list[str], src_vocab: Vocab,
                 tgt_vocab: Vocab) -> tuple[EncodedPairs, int]:
    """The pairs as ids, and how many tokens were unknown to the vocabularies."""
    unknown = 0
    src_ids, tgt_ids = [], []
    for s, t in zip(sources, targets, strict=True):
        a, ua = src_vocab.encode(s)
        b, ub = tgt_vocab.encode(t)
        if not a:
            a = [UNK]  # a source of only spaces still has one position to attend to
        unknown += ua + ub
        src_ids.append(np.asarray(a, dtype=np.int64))
        tgt_ids.append(np.asarray(b, dtype=np.int64))
    return EncodedPairs(src_ids, tgt_ids), unknown
