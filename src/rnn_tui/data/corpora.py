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

import codecs
import difflib
import hashlib
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STDLIB_LIMIT = 2_000_000
KINDS = ("pydoc", "stdlib", "file", "url", "labelled", "tagged", "pairs")
# sentences with labels or tags (--task classify / tag), source-target pairs (--task seq2seq)
DATA_KINDS = ("labelled", "tagged", "pairs")
DATA_TASKS = {"labelled": "classify", "tagged": "tag", "pairs": "seq2seq"}


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
    task: str = ""  # labelled data: the task that reads it (classify, tag)


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
        need = {"file": ("file",), "url": ("url", "sha256", "file"), "labelled": ("file",),
                "tagged": ("file",), "pairs": ("file",)}.get(e.get("kind"), ())
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
        out[name] = {**e, "path": root / e["file"]} if e["kind"] in ("file", *DATA_KINDS) \
            else dict(e)
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
            if e["kind"] in ("file", *DATA_KINDS):
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
        elif kind in DATA_KINDS:  # sentences, not characters: the task says what they are
            try:
                available = entry["path"].is_file()
            except OSError:
                available = False
        elif kind == "pydoc":
            size = len(_pydoc_text())
        elif kind == "stdlib":
            size = len(_stdlib_text())
        out.append(CorpusInfo(name, entry.get("description", ""), size, available,
                              entry.get("origin", "built-in"),
                              DATA_TASKS.get(kind, "")))
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
    return decode_text(data, path, encoding)


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
    if not path_exists(path) and os.sep not in name_or_path and "." not in name_or_path:
        close = difflib.get_close_matches(name_or_path, list(entries), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"built-ins: {', '.join(entries)}"
        raise UserError(f"unknown corpus {name_or_path!r} (no such built-in or file); {hint}")
    return Corpus(path.name, read_text_file(path, encoding), str(path))


class NotInEncoding(UserError):
    """The bytes are text, but not in the encoding asked for."""


# Byte-order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
UNICODE_DEFAULTS = ("utf-8", "utf8", "utf-8-sig", "utf-16", "utf-32")


def builtin_file(rel: str):
    """A file the project ships in ``corpora/`` (a manifest entry's ``file``), as a package
    resource (``read_bytes``/``read_text``; a path in an installed package or a checkout)."""
    return files("rnn_tui.corpora") / rel


def read_text_file(path: Path, encoding: str = "utf-8", what: str = "file") -> str:
    """Read a user's text file, refusing what is not usable text with a message that says why.

    Only regular files are read (a FIFO, a device or a /proc file is refused before it is
    opened), at most :data:`~rnn_tui.safeio.CORPUS_LIMIT` bytes; then :func:`decode_text`."""
    path = Path(path)
    check_encoding(encoding)
    return decode_text(read_file_bytes(path, what), path, encoding)


def read_file_bytes(path: Path, what: str = "file") -> bytes:
    """The bytes of a user's file (a regular file, within the size cap); a missing,
    unreadable or special file is a UserError saying which."""
    from rnn_tui.safeio import CORPUS_LIMIT, read_user_file

    return read_user_file(Path(path), CORPUS_LIMIT, what, "give a text file")


def check_encoding(encoding: str) -> None:
    """A known text encoding: not a bytes-to-bytes codec (hex, base64, zlib, bz2, uu) nor a
    str-to-str one (rot13), which ``bytes.decode`` cannot use."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        raise UserError(f"unknown encoding {encoding!r}; try utf-8 or latin-1") from None
    if not getattr(info, "_is_text_encoding", True):  # what bytes.decode itself checks
        raise UserError(f"{encoding!r} is not a text encoding (it turns bytes into bytes, or "
                        "text into text); give a text encoding such as utf-8 or latin-1")


def decode_text(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    """Text from a file's bytes. A byte-order mark (UTF-8, UTF-16 or UTF-32, either byte
    order) decides the encoding unless ``encoding`` names another one explicitly; UTF-16
    without a mark is recognised and named, not called binary; empty text is refused."""
    check_encoding(encoding)
    enc = encoding
    bom = b""
    asked = codecs.lookup(encoding).name
    for mark, name in BOMS:
        if data.startswith(mark):
            if asked in [codecs.lookup(e).name for e in UNICODE_DEFAULTS] or \
                    asked == codecs.lookup(name).name:
                enc, bom = name, mark
            else:
                raise UserError(f"{path} starts with a {name} byte-order mark, but the encoding "
                                f"given is {encoding}; leave out --encoding (or give {name})")
            break
    body = data[len(bom):]
    if not body.strip(b" \t\r\n\x00"):
        raise UserError(f"{path} is empty; give a file with some text in it")
    if not bom and b"\x00" in body[:8192] and not _wide_encoding(enc):
        guess = _guess_wide(body[:8192])
        if guess:
            raise UserError(f"{path} looks like {guess} text without a byte-order mark; pass "
                            f"--encoding {guess}")
        raise UserError(f"{path} looks like a binary file, not text (it holds NUL bytes); if "
                        "it is text in another encoding, pass --encoding")
    try:
        text = body.decode(enc)
    except UnicodeDecodeError as err:
        raise NotInEncoding(f"{path} is not valid {enc} text (byte {err.start + len(bom)}); if "
                            "you know its encoding, pass it, e.g. --encoding latin-1") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise UserError(f"{path} is empty; give a file with some text in it")
    return text.replace("\r\n", "\n")


def _wide_encoding(encoding: str) -> bool:
    name = codecs.lookup(encoding).name
    return name.startswith(("utf-16", "utf-32"))


def _guess_wide(head: bytes) -> str | None:
    """utf-16-le / utf-16-be / utf-32-le / utf-32-be when the NUL bytes fall where mostly-ASCII
    text in that encoding puts them (and it decodes), else None."""
    n = len(head) - len(head) % 4
    if n < 8:
        return None
    head = head[:n]
    z = [head[i::4].count(0) / (n // 4) for i in range(4)]
    even, odd = (z[0] + z[2]) / 2, (z[1] + z[3]) / 2
    guess = None
    if min(z[1], z[2], z[3]) > 0.9 and z[0] < 0.5:
        guess = "utf-32-le"
    elif min(z[0], z[1], z[2]) > 0.9 and z[3] < 0.5:
        guess = "utf-32-be"
    elif odd > 0.6 and even < 0.2:
        guess = "utf-16-le"
    elif even > 0.6 and odd < 0.2:
        guess = "utf-16-be"
    if guess is None:
        return None
    try:
        head.decode(guess)
    except UnicodeDecodeError:
        return None
    return guess


def path_exists(path: Path) -> bool:
    """Whether something is at ``path``; True also when it cannot be checked (a loop of links,
    permission denied), so that reading it reports the true cause instead of "not found"."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return os.path.lexists(path)  # a broken link is something
    except (OSError, ValueError):
        return True
    return True


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
    import urllib.request  # here, not at the top: --help stays quick

    from rnn_tui.safeio import CORPUS_LIMIT, describe_os_error, read_user_file

    dest = data_dir() / filename
    try:
        if path_exists(dest) and _sha256(read_user_file(dest, CORPUS_LIMIT)) == sha256:
            return dest
    except UserError:
        pass  # unreadable or not a file: fetched again (and the error said when saving)
    opener = opener or urllib.request.urlopen
    try:
        with opener(url, timeout=30) as resp:
            data = resp.read(CORPUS_LIMIT + 1)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise UserError(f"could not download {url} ({getattr(err, 'reason', err)}); download "
                        "it by hand and pass the file's path with --corpus") from None
    if _sha256(data) != sha256:
        raise UserError(f"download from {url} failed its checksum; try again later, or "
                        "download it by hand and pass the path")
    from rnn_tui.safeio import atomic_write

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, data)  # whole or not at all; never over a device or a FIFO
    except OSError as err:
        raise UserError(f"cannot save the download to {dest.parent}: "
                        f"{describe_os_error(err)}") from None
    return dest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
