"""Corpora: the built-ins (no download needed), corpora fetched once by URL, and user files.

Built-ins and how each is made are listed in the package's ``manifest.toml`` (``rnn_tui.corpora``,
edited in the repository's ``corpora/`` folder): ``pydoc`` is the Python documentation text that
ships inside CPython (``pydoc_data``), ``stdlib`` the standard library's own source, ``file``
entries are small corpora the project ships, and ``url`` entries are fetched once into the user's
corpus folder and checked against a SHA-256.

The user's corpus folder (:func:`data_dir`) adds to them: every ``*.txt`` there is a corpus named
by its stem, and an optional ``manifest.toml`` there names more in the same form (a ``file`` is
then relative to that folder). A user corpus with a built-in's name replaces it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STDLIB_LIMIT = 2_000_000
KINDS = ("pydoc", "stdlib", "file", "url")


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
    origin: str = "built-in"  # or "user"


def data_dir() -> Path:
    """The user's corpus folder: their own ``*.txt`` files and ``manifest.toml``, and the
    corpora fetched by URL. ``RNN_TUI_DATA_DIR`` moves it (to ``$RNN_TUI_DATA_DIR/corpora``)."""
    env = os.environ.get("RNN_TUI_DATA_DIR")
    if env:
        return Path(env) / "corpora"
    import platformdirs

    return Path(platformdirs.user_data_dir("rnn-tui")) / "corpora"


def _read_manifest(text: str, where: str) -> dict[str, dict]:
    try:
        table = tomllib.loads(text).get("corpus", {})
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"corpus manifest {where} is not valid TOML ({err}); fix or "
                        "remove it") from None
    if not isinstance(table, dict) or not all(isinstance(e, dict) for e in table.values()):
        raise UserError(f"corpus manifest {where}: every [corpus.NAME] must be a table; fix or "
                        "remove it")
    for name, e in table.items():
        need = {"file": ("file",), "url": ("url", "sha256", "file")}.get(e.get("kind"), ())
        missing = [k for k in need if not isinstance(e.get(k), str)]
        if e.get("kind") not in KINDS or missing:
            what = (f"needs {', '.join(missing)}" if missing and e.get("kind") in KINDS else
                    f"has kind {e.get('kind')!r}, not one of {', '.join(KINDS)}")
            raise UserError(f"corpus manifest {where}: [corpus.{name}] {what}; fix or remove it")
    return table


def manifest(include_user: bool = True) -> dict[str, dict]:
    """name -> entry (``kind``, ``description``, ``origin`` and, for a ``file``, its ``path``)
    for every corpus known by name: the built-ins, then the user's folder (unless
    ``include_user`` is false)."""
    out: dict[str, dict] = {
        "pydoc": {"kind": "pydoc", "description": "English prose: the Python documentation "
                  "topics that ship with CPython"},
        "stdlib": {"kind": "stdlib", "description": "Python source: the standard library"},
    }
    root = files("rnn_tui.corpora")
    for name, e in _read_manifest((root / "manifest.toml").read_text(encoding="utf-8"),
                                  "rnn_tui/corpora/manifest.toml").items():
        out[name] = {**e, "path": root / e["file"]} if e["kind"] == "file" else dict(e)
    for e in out.values():
        e.setdefault("origin", "built-in")

    if not include_user:
        return out
    user = data_dir()
    user_manifest = user / "manifest.toml"
    if user_manifest.is_file():
        try:
            text = user_manifest.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"cannot read corpus manifest {user_manifest} ({err}); fix or "
                            "remove it") from None
        for name, e in _read_manifest(text, str(user_manifest)).items():
            e = {**e, "origin": "user"}
            if e["kind"] == "file":
                e["path"] = user / Path(e["file"]).expanduser()  # an absolute path stays as is
            out[name] = e
    claimed = {e["file"] for e in out.values()  # downloads, and files the user's manifest names
               if e["kind"] == "url" or (e["kind"] == "file" and e["origin"] == "user")}
    try:
        txts = sorted(p for p in user.glob("*.txt") if p.is_file())
    except OSError:
        txts = []
    for p in txts:
        if p.name in claimed or (out.get(p.stem, {}).get("origin") == "user"):
            continue  # a download, or named by the user's manifest
        out[p.stem] = {"kind": "file", "file": p.name, "path": p, "origin": "user",
                       "description": f"your file {p.name}"}
    return out


def list_corpora() -> list[CorpusInfo]:
    out = []
    for name, entry in manifest().items():
        kind = entry.get("kind")
        size: int | None = None
        available = True
        if kind == "file":
            try:
                size = len(_read_entry_file(entry, entry.get("encoding", "utf-8")))
            except UserError:
                available = False
        elif kind == "url":
            p = data_dir() / entry["file"]
            available = p.exists()
            size = p.stat().st_size if available else None
        elif kind == "pydoc":
            size = len(_pydoc_text())
        elif kind == "stdlib":
            size = len(_stdlib_text())
        out.append(CorpusInfo(name, entry.get("description", ""), size, available,
                              entry.get("origin", "built-in")))
    return out


def _read_entry_file(entry: dict, encoding: str = "utf-8") -> str:
    """A ``file`` entry's text: a user's file, or a resource of the package."""
    path = entry["path"]
    if entry.get("origin") == "user":
        return read_text_file(path, encoding)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"the built-in corpus file {path} cannot be read ({err}); reinstall "
                        "rnn-tui") from None
    return _decode(data, str(path), encoding)


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
            text = _read_entry_file(entry, entry.get("encoding", encoding))
            return Corpus(name_or_path, text, str(entry["path"]), desc)
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


def read_text_file(path: Path, encoding: str = "utf-8") -> str:
    """Read a user's text file, refusing what is not usable text with a message that says why."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a text file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    return _decode(data, str(path), encoding)


def _decode(data: bytes, path: str, encoding: str) -> str:
    if not data.strip():
        raise UserError(f"{path} is empty; give a file with some text in it")
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
    import urllib.error
    import urllib.request

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
