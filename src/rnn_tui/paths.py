"""Names typed by someone else, made into paths that cannot leave a folder.

``rnn-tui serve`` gives people who have no shell account an app that can open runs; every name
they type goes through :func:`safe_run_path`, the one place that decides whether it stays inside
the server's runs folder. :func:`safe_name` turns a free-form label (an SSH key's comment) into one
folder name.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from rnn_tui.errors import UserError

MAX_NAME = 1024
MAX_PART = 255


def safe_run_path(root: str | Path, name: str) -> Path:
    """``root/name`` resolved, if it lies inside ``root``; otherwise :class:`UserError`.

    ``name`` is relative to ``root`` (``alice/char-20250101-120000``). Refused: empty names, NUL
    and other control characters, absolute paths, ``~``, any ``..`` part, and anything that
    resolves (following every symlink) outside ``root``. A symlink that stays inside is followed.
    The path need not exist; the caller checks what it needs (a run directory, a checkpoint).
    """
    if not isinstance(name, str):
        raise UserError("a run name must be text")
    shown = name if len(name) <= 80 else name[:77] + "…"
    if not name.strip():
        raise UserError("give a run name (a folder under the runs folder)")
    if len(name) > MAX_NAME:
        raise UserError(f"run name too long ({len(name)} characters)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UserError("a run name cannot contain control characters")
    if name.startswith(("/", "~")) or os.path.isabs(name):
        raise UserError(f"{shown!r}: give a name inside the runs folder, not an absolute path")
    parts = name.split("/")
    if any(p == ".." for p in parts):
        raise UserError(f"{shown!r}: '..' is not allowed in a run name")
    if any(len(p) > MAX_PART for p in parts):
        raise UserError(f"{shown!r}: a part of the name is too long")
    base = Path(os.path.realpath(root))
    target = Path(os.path.realpath(base / name))
    if target != base and base not in target.parents:
        raise UserError(f"{shown!r} leads outside the runs folder")
    return target


def relative_name(root: str | Path, path: str | Path) -> str:
    """``path`` as a name under ``root`` (for showing and pre-filling), or '' if outside it."""
    base = Path(os.path.realpath(root))
    p = Path(os.path.realpath(path))
    try:
        return str(p.relative_to(base))
    except ValueError:
        return ""


def safe_name(label: str, fallback: str | bytes = b"", limit: int = 64) -> str:
    """One safe folder name from a free-form label: letters, digits, ``.``, ``_`` and ``-``,
    never starting with ``.`` or ``-``. An empty result becomes ``key-<hash of fallback>``."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", label or "")
    s = re.sub(r"-{2,}", "-", s).lstrip(".-")[:limit].rstrip(".-")
    if s:
        return s
    data = fallback.encode() if isinstance(fallback, str) else fallback
    return "key-" + hashlib.sha256(data).hexdigest()[:16]
