"""Corpora: the built-ins (no download needed), corpora fetched once by URL, and user files.

Built-ins and how each is made are listed in the repository's ``corpora/manifest.toml``:
``pydoc`` is the Python documentation text that ships inside CPython (``pydoc_data``), ``stdlib``
the standard library's own source, ``file`` entries are small corpora the project ships, and
``url`` entries are fetched once into the user's data directory and checked against a SHA-256.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
import sysconfig
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPORA_DIR = Path(__file__).resolve().parents[3] / "corpora"
STDLIB_LIMIT = 2_000_000


@dataclass
class Corpus:
    name: str
    text: str
    source: str
    description: str = ""


@dataclass
class CorpusInfo:
    name: str
    description: str
    size: int | None
    available: bool


def manifest() -> dict[str, dict]:
    path = CORPORA_DIR / "manifest.toml"
    builtin = {
        "pydoc": {"kind": "pydoc", "description": "English prose: the Python documentation "
                  "topics that ship with CPython"},
        "stdlib": {"kind": "stdlib", "description": "Python source: the standard library"},
    }
    if path.exists():
        with open(path, "rb") as f:
            builtin.update(tomllib.load(f).get("corpus", {}))
    return builtin


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rnn-tui")) / "corpora"


def list_corpora() -> list[CorpusInfo]:
    out = []
    for name, entry in manifest().items():
        kind = entry.get("kind")
        size: int | None = None
        available = True
        if kind == "file":
            p = CORPORA_DIR / entry["file"]
            available = p.exists()
            size = len(p.read_text(encoding="utf-8")) if available else None
        elif kind == "url":
            p = data_dir() / entry["file"]
            available = p.exists()
            size = p.stat().st_size if available else None
        elif kind == "pydoc":
            size = len(_pydoc_text())
        elif kind == "stdlib":
            size = len(_stdlib_text())
        out.append(CorpusInfo(name, entry.get("description", ""), size, available))
    return out


def load_corpus(name_or_path: str, encoding: str = "utf-8") -> Corpus:
    """A built-in corpus by name, or a text file by path; every problem is a UserError."""
    entries = manifest()
    if name_or_path in entries:
        entry = entries[name_or_path]
        kind = entry.get("kind")
        desc = entry.get("description", "")
        if kind == "pydoc":
            return Corpus(name_or_path, _pydoc_text(), "pydoc_data.topics", desc)
        if kind == "stdlib":
            return Corpus(name_or_path, _stdlib_text(), sysconfig.get_paths()["stdlib"], desc)
        if kind == "file":
            p = CORPORA_DIR / entry["file"]
            return Corpus(name_or_path, read_text_file(p, "utf-8"), str(p), desc)
        if kind == "url":
            p = fetch(entry["url"], entry["sha256"], entry["file"])
            return Corpus(name_or_path, read_text_file(p, "utf-8"), str(p), desc)
        raise UserError(f"corpus {name_or_path!r} has an unknown kind {kind!r} in the manifest")
    path = Path(name_or_path).expanduser()
    if not path.exists() and os.sep not in name_or_path and "." not in name_or_path:
        close = difflib.get_close_matches(name_or_path, list(entries), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"built-ins: {', '.join(entries)}"
        raise UserError(f"unknown corpus {name_or_path!r} (no such built-in or file); {hint}")
    return Corpus(path.name, read_text_file(path, encoding), str(path))


def builtin_file(rel: str) -> Path:
    """A file the project ships in ``corpora/`` (a manifest entry's ``file``)."""
    return CORPORA_DIR / rel


def read_text_file(path: Path, encoding: str = "utf-8") -> str:
    """Read a user's text file, refusing what is not usable text with a message that says why."""
    path = Path(path)
    return decode_text(read_file_bytes(path), path, encoding)


def read_file_bytes(path: Path) -> bytes:
    """The bytes of a user's file; a missing, unreadable or empty file is a UserError."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a text file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    if not data.strip():
        raise UserError(f"{path} is empty; give a file with some text in it")
    return data


def decode_text(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    """Text from a file's bytes, refusing binary data and text in another encoding."""
    head = data[:8192]
    if b"\x00" in head and not encoding.lower().startswith("utf-16"):
        raise UserError(f"{path} looks like a binary file, not text")
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}; try utf-8 or latin-1") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path} is not valid {encoding} text (byte {err.start}); if you know "
                        "its encoding, pass it, e.g. --encoding latin-1") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")


def _pydoc_text() -> str:
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k].strip() for k in sorted(topics))
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def _stdlib_text(limit: int = STDLIB_LIMIT) -> str:
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for p in sorted(root.glob("*.py")):
        try:
            s = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(s)
        total += len(s)
        if total >= limit:
            break
    return "\n".join(parts)[:limit]


def fetch(url: str, sha256: str, filename: str, opener=None) -> Path:
    """Download ``url`` once into the user's data directory, checked against ``sha256``."""
    dest = data_dir() / filename
    if dest.exists() and _sha256(dest.read_bytes()) == sha256:
        return dest
    opener = opener or urllib.request.urlopen
    try:
        with opener(url, timeout=30) as resp:
            data = resp.read()
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise UserError(f"could not download {url} ({getattr(err, 'reason', err)}); download "
                        "it by hand and pass the file's path with --corpus") from None
    if _sha256(data) != sha256:
        raise UserError(f"download from {url} failed its checksum; try again later, or "
                        "download it by hand and pass the path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    return dest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
