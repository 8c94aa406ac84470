"""Labelled data: sentences with one label each (classification: ``text<TAB>label``) and
sentences with one tag per word (tagging: CoNLL-U, or ``word<TAB>tag`` with a blank line between
sentences), built-in or from the user's files; and the seeded, stratified hold-out split.

Files as people have them are read: CRLF line ends, a byte-order mark, gzip, and a Latin-1 line
in a UTF-8 file (the IMDb part of the sentiment set) are all accepted; anything that cannot be
used is one :class:`~rnn_tui.errors.UserError` saying what and where.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn_tui.errors import UserError

# CoNLL-U columns, 0-based: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC
CONLLU_COLUMNS = {"form": 1, "lemma": 2, "upos": 3, "xpos": 4, "deprel": 7}
MAX_SENTENCE = 1000  # tokens; a longer "sentence" means the blank lines between them are missing


@dataclass
class LabelledData:
    name: str
    texts: list[str]
    labels: list[str]
    source: str
    notes: list[str] = field(default_factory=list)


@dataclass
class TaggedData:
    name: str
    sentences: list[list[str]]
    tags: list[list[str]]
    source: str
    heldout: TaggedData | None = None

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sentences)


def split_long(data: TaggedData, max_len: int) -> tuple[TaggedData, int]:
    """``data`` with every sentence longer than ``max_len`` words cut into pieces of at most
    ``max_len`` (each word keeps its tag; nothing is dropped), and how many were cut. A step's
    time grows with its longest sentence: this bounds it. ``max_len`` 0 leaves them whole."""
    if max_len <= 0 or all(len(s) <= max_len for s in data.sentences):
        return data, 0
    sents: list[list[str]] = []
    tags: list[list[str]] = []
    cut = 0
    for words, ts in zip(data.sentences, data.tags, strict=True):
        cut += len(words) > max_len
        for i in range(0, len(words), max_len):
            sents.append(words[i:i + max_len])
            tags.append(ts[i:i + max_len])
    return TaggedData(data.name, sents, tags, data.source, data.heldout), cut


def long_note(n: int, max_len: int, how: str) -> str:
    """The notice that ``n`` sentences were longer than ``max_len`` tokens."""
    return (f"{n:,} sentence{'s' if n != 1 else ''} longer than {max_len:,} tokens "
            f"{'were' if n != 1 else 'was'} {how} (--max-len; 0 reads them whole)")


def check_known(known, found, path, what: str = "labels") -> None:
    """The one rule for held-out data (``--val-data``, ``evaluate --data``, a corpus's own
    held-out part): every label (or tag) in it was seen in training, since a model can only
    predict those it was trained on. Refuses the others, naming a few."""
    unseen = sorted(set(found) - set(known))
    if unseen:
        shown = ", ".join(repr(u) for u in unseen[:5]) + (f" and {len(unseen) - 5} more"
                                                         if len(unseen) > 5 else "")
        raise UserError(f"{path} has {what} the training data never has: {shown}; a model can "
                        f"only predict {what} it was trained on: remove those rows, or add "
                        "examples of them to the training data")


# ---------------------------------------------------------------------- reading
def _builtin(name: str, kind: str) -> dict | None:
    from rnn_tui.data.corpora import manifest

    entry = manifest().get(name)
    if entry is None or entry.get("kind") != kind:
        return None
    return entry


def _builtin_path(rel: str) -> Path:
    from rnn_tui.data.corpora import builtin_file

    return Path(str(builtin_file(rel)))  # a file inside the installed package


def read_lines(path: str | Path, encoding: str = "utf-8") -> tuple[list[str], int]:
    """The lines of a text file (gzip-compressed too), without line ends; and how many lines
    were not valid ``encoding`` and were read as Latin-1 (cp1252) instead."""
    from rnn_tui.data.corpora import read_file_bytes

    path = Path(path)
    data = read_file_bytes(path)
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise UserError(f"{path} is not a readable gzip file ({err})") from None
    from rnn_tui.data.corpora import NotInEncoding, decode_text

    try:
        return decode_text(data, path, encoding).split("\n"), 0
    except NotInEncoding:
        if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
            raise
    lines, fallback = [], 0  # mixed: UTF-8 lines and Latin-1 lines
    for raw in data.split(b"\n"):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
            fallback += 1
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return [ln.rstrip("\r") for ln in lines], fallback


def load_labelled(name_or_path: str, encoding: str = "utf-8") -> LabelledData:
    """Sentences and labels from a built-in set or a ``text<TAB>label`` file (a CSV whose last
    column is the label works too). At least two classes and no empty text."""
    entry = _builtin(name_or_path, "labelled")
    path = _builtin_path(entry["file"]) if entry else _user_path(name_or_path)
    lines, fallback = read_lines(path, encoding)
    texts, labels = [], []
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not rows:
        raise UserError(f"{path} holds no labelled sentences; each line is text<TAB>label")
    tabbed = sum("\t" in ln for _, ln in rows) >= len(rows) / 2
    for lineno, ln in rows:
        if tabbed:
            if "\t" not in ln:
                raise UserError(f"{path}: line {lineno} has no tab; each line is text<TAB>label")
            text, label = ln.rsplit("\t", 1)
        else:
            cells = next(csv.reader(io.StringIO(ln)))
            if len(cells) < 2:
                raise UserError(f"{path}: line {lineno} is not text<TAB>label (or a CSV "
                                "row whose last column is the label)")
            text, label = ",".join(cells[:-1]), cells[-1]
        text, label = text.strip(), label.strip()
        if not text:
            raise UserError(f"{path}: line {lineno} has an empty text; every row needs a "
                            "sentence before its label")
        if not label:
            raise UserError(f"{path}: line {lineno} has no label after the tab")
        texts.append(text)
        labels.append(label)
    if not tabbed and len(texts) > 1 and texts[0].lower() in ("text", "sentence", "review"):
        texts, labels = texts[1:], labels[1:]  # a header row
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise UserError(f"{path}: every sentence has the label {classes[0]!r}; a classifier "
                        "needs at least two classes")
    notes = [f"{fallback} line(s) were not UTF-8 and were read as Latin-1"] if fallback else []
    return LabelledData(Path(name_or_path).stem if not entry else name_or_path, texts, labels,
                        str(path), notes)


def load_tagged(name_or_path: str, encoding: str = "utf-8", column: str = "") -> TaggedData:
    """Tagged sentences from a built-in set, a CoNLL-U file (``column``: upos (default), xpos,
    or a 0-based index) or a ``word<TAB>tag`` file with blank lines between sentences."""
    entry = _builtin(name_or_path, "tagged")
    path = _builtin_path(entry["file"]) if entry else _user_path(name_or_path)
    data = _read_tagged(path, encoding, column)
    if entry and entry.get("heldout"):
        data.heldout = _read_tagged(_builtin_path(entry["heldout"]), "utf-8", column)
    if entry:
        data.name = name_or_path
    return data


def _user_path(name: str) -> Path:
    p = Path(name).expanduser()
    if not p.exists():
        from rnn_tui.data.corpora import manifest

        raise UserError(f"file not found: {p} (and no built-in of that name; built-ins: "
                        f"{', '.join(manifest())})")
    return p


def _read_tagged(path: Path, encoding: str, column: str) -> TaggedData:
    lines, _ = read_lines(path, encoding)
    body = [ln for ln in lines if ln.strip()]
    if not body:
        raise UserError(f"{path} holds no tagged words")
    probe = [ln for ln in body[:400] if not ln.startswith("#")][:200]
    # a .conllu file is read as CoNLL-U even when its lines are short of columns, so that a
    # file without the UPOS column is refused rather than read as word<TAB>tag pairs
    conllu = path.suffix.lower() in (".conllu", ".conll") or \
        sum(_looks_conllu(ln) for ln in probe) > len(probe) / 2
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    words: list[str] = []
    cur: list[str] = []
    if conllu:
        col = _conllu_column(column, path)
    for i, ln in enumerate(lines):
        if not ln.strip():
            if words:
                sentences.append(words)
                tags.append(cur)
                words, cur = [], []
            continue
        if conllu and ln.startswith("#"):
            continue  # sentence comments
        cells = ln.split("\t")
        if conllu:
            if "-" in cells[0] or "." in cells[0]:
                continue  # multi-word tokens and empty nodes are not words to tag
            if len(cells) <= col:
                raise UserError(f"{path}: line {i + 1} has {len(cells)} columns; there is no "
                                f"column {col + 1} ({column or 'upos'}) to tag with")
            word, tag = cells[1].strip(), cells[col].strip()
        else:
            if len(cells) < 2:
                raise UserError(f"{path}: line {i + 1} is not word<TAB>tag (or a CoNLL-U word "
                                "line)")
            word, tag = cells[0].strip(), cells[-1].strip()
        if not word or not tag:
            raise UserError(f"{path}: line {i + 1} has an empty word or tag")
        words.append(word)
        cur.append(tag)
        if len(words) > MAX_SENTENCE:
            raise UserError(f"{path}: more than {MAX_SENTENCE} words without a blank line "
                            f"(at line {i + 1}); separate the sentences with blank lines")
    if words:
        sentences.append(words)
        tags.append(cur)
    if conllu and all(t == "_" for s in tags for t in s):
        raise UserError(f"{path} has no {column or 'UPOS'} tags (column "
                        f"{_conllu_column(column, path) + 1} is '_' everywhere); choose a "
                        "tagged column with --column, e.g. xpos")
    if len({t for s in tags for t in s}) < 2:
        raise UserError(f"{path}: every word has the same tag; a tagger needs at least two")
    return TaggedData(path.stem, sentences, tags, str(path))


def _looks_conllu(line: str) -> bool:
    cells = line.split("\t")
    return len(cells) == 10 and cells[0].replace("-", "").replace(".", "").isascii() and \
        cells[0].replace("-", "").replace(".", "").isdecimal()


def _conllu_column(column: str, path: Path) -> int:
    key = (column or "upos").strip().lower()
    if key in CONLLU_COLUMNS:
        return CONLLU_COLUMNS[key]
    if key.isascii() and key.isdecimal() and 1 <= int(key) <= 9:
        return int(key)
    raise UserError(f"--column {column!r} for a CoNLL-U file: use upos, xpos or a column "
                    "index 1-9")


# ---------------------------------------------------------------------- splits
def stratified_split(labels: list[str], fraction: float, seed: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(train indices, held-out indices): from every class, a seeded ``fraction`` (at least one
    example where the class has two or more) is held out."""
    rng = np.random.default_rng(seed)
    labels_a = np.asarray(labels)
    held: list[int] = []
    for c in sorted(set(labels)):
        idx = np.flatnonzero(labels_a == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        else:
            k = 0
        held.extend(idx[:k].tolist())
    held_a = np.array(sorted(held), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held_a)
    return train, held_a
