"""The keys: who may connect (an OpenSSH ``authorized_keys`` file, re-read when it changes) and
the server's own host key (made on first start if none is given).

The authorised-keys file is trusted only as sshd's ``StrictModes`` would trust it: a regular file,
owned by root or by the server's user, writable by nobody else, in folders (every one up to ``/``,
both along the path given and along the path it resolves to) that are owned the same way and
writable by nobody else. A folder writable by others but with the sticky bit (``/tmp``) is
accepted: in it, only an entry's owner can rename or replace that entry, and the entry below it
is checked in turn. Reading it never blocks: it is opened non-blocking and must be a regular file
(a FIFO is refused, not waited on), and the server reads it on a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from rnn_tui.errors import UserError
from rnn_tui.paths import safe_name

HOST_KEY_NAME = "ssh_host_ed25519_key"
MAX_KEYS_FILE = 4 << 20  # bytes; an authorised-keys file larger than this is refused
WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class KeysFileError(Exception):
    """The authorised-keys file cannot be trusted or read; ``str(err)`` says why and what to do."""


@dataclass(frozen=True)
class KeyEntry:
    name: str  # the folder its runs go in: from the key's fingerprint, never from its comment
    comment: str  # a label for the log, nothing more
    fingerprint: str


def key_folder(public_data: bytes) -> str:
    """``key-`` and the first 16 hex digits of the key's SHA-256 digest (the one its
    ``SHA256:`` fingerprint shows in base64): one folder per key, whatever its comment says."""
    return safe_name("", fallback=public_data)


def parse_authorized_keys(text: str) -> tuple[dict[bytes, KeyEntry], list[str]]:
    """Plain ``TYPE BASE64 [COMMENT]`` lines: public key bytes -> entry, and the warnings.

    Lines with options (``from=``, ``command=``, ``cert-authority`` …) are *ignored* with a
    warning: this server does not implement those restrictions, so a key that carries one is not
    let in rather than let in without it."""
    keys: dict[bytes, KeyEntry] = {}
    warnings: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError):
            warnings.append(f"line {n} ignored (not a plain public key; options such as from= "
                            "or command= are not supported)")
            continue
        comment = key.get_comment() or ""
        fp = key.get_fingerprint("sha256")
        keys[key.public_data] = KeyEntry(key_folder(key.public_data), comment, fp)
    return keys, warnings


def _trusted_owner(uid: int) -> bool:
    return uid in (0, os.geteuid())


def check_folders(path: str | Path) -> None:
    """Every folder above ``path`` (as given, made absolute, and as resolved) is owned by root or
    the server's user and writable by nobody else (sticky folders excepted); else
    :class:`KeysFileError`."""
    given = Path(os.path.abspath(path))
    seen: set[Path] = set()
    for start in (given, Path(os.path.realpath(given))):
        for d in start.parents:
            if d in seen:
                continue
            seen.add(d)
            try:
                st = os.stat(d)
            except OSError as err:
                raise KeysFileError(f"cannot check the folder {d}: {err.strerror}") from None
            if not _trusted_owner(st.st_uid):
                raise KeysFileError(f"the folder {d} belongs to another user (uid {st.st_uid}), "
                                    "who could replace the file; keep it in a folder of your own")
            if st.st_mode & WRITABLE_BY_OTHERS and not st.st_mode & stat.S_ISVTX:
                raise KeysFileError(f"the folder {d} can be written by others (mode "
                                    f"{st.st_mode & 0o7777:o}), who could replace the file; "
                                    f"`chmod go-w {d}`")


def check_file(st: os.stat_result, path: str | Path) -> None:
    """The file itself: a regular file, of root or the server's user, writable by nobody else,
    not too large; else :class:`KeysFileError`."""
    if not stat.S_ISREG(st.st_mode):
        raise KeysFileError(f"{path} is not a regular file; give a plain authorised-keys file")
    if not _trusted_owner(st.st_uid):
        raise KeysFileError(f"{path} belongs to another user (uid {st.st_uid}); it must be "
                            "yours or root's")
    if st.st_mode & WRITABLE_BY_OTHERS:
        raise KeysFileError(f"{path} is writable by others (mode {st.st_mode & 0o7777:o}); "
                            f"`chmod go-w {path}`")
    if st.st_size > MAX_KEYS_FILE:
        raise KeysFileError(f"{path} is too large ({st.st_size} bytes; at most "
                            f"{MAX_KEYS_FILE})")


def stamp_of(path: str | Path) -> tuple:
    """The file's identity and age, from a ``stat`` (which never blocks, whatever the file)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise KeysFileError(f"cannot read {path}: {err.strerror}") from None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode,
            st.st_uid)


def read_keys_file(path: str | Path) -> str:
    """The file's text, after every check: opened without blocking and without following it to
    a terminal, then checked on the open descriptor (so what is checked is what is read)."""
    check_folders(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise KeysFileError(f"cannot read {path}: {err.strerror}") from None
    try:
        check_file(os.fstat(fd), path)
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            total += len(b)
            if total > MAX_KEYS_FILE:
                raise KeysFileError(f"{path} is too large (more than {MAX_KEYS_FILE} bytes)")
            chunks.append(b)
    except OSError as err:
        raise KeysFileError(f"cannot read {path}: {err.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise KeysFileError(f"{path} is not UTF-8 text") from None


class AuthorizedKeys:
    """The authorised keys, re-read whenever the file changes (checked at every key offered).
    If the file goes missing, unreadable or untrusted, every key is refused until it is fixed."""

    def __init__(self, path: str | Path, say: Callable[[str], None] = print):
        self.path = Path(path)
        self.say = say
        self.keys: dict[bytes, KeyEntry] = {}
        self._stamp: tuple | None = None
        self._lock: asyncio.Lock | None = None
        try:
            stamp = stamp_of(self.path)
            text = read_keys_file(self.path)
        except KeysFileError as err:
            raise UserError(f"--authorized-keys: {err}") from None
        self._stamp = stamp
        self._load(text)

    def _load(self, text: str) -> None:
        self.keys, warnings = parse_authorized_keys(text)
        for w in warnings:
            self.say(f"{self.path}: {w}")
        self.say(f"{len(self.keys)} authorised key{'s' if len(self.keys) != 1 else ''} "
                 f"read from {self.path}")

    def refresh(self) -> None:
        """Re-check the folders, and re-read the file if it changed (blocking: the server calls
        it through :meth:`lookup_async`)."""
        try:
            check_folders(self.path)
            stamp = stamp_of(self.path)
            if stamp == self._stamp:
                return
            text = read_keys_file(self.path)
        except KeysFileError as err:
            if self._stamp is not None:
                self.say(f"{err}; refusing every key until it is fixed")
            self.keys, self._stamp = {}, None
            return
        self._stamp = stamp
        self._load(text)

    def lookup(self, key: asyncssh.SSHKey) -> KeyEntry | None:
        self.refresh()
        return self.keys.get(key.public_data)

    async def lookup_async(self, key: asyncssh.SSHKey) -> KeyEntry | None:
        """:meth:`lookup` with the file's checks and reading on a worker thread, one at a time:
        a slow or stuck file system never stops the server."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await asyncio.to_thread(self.refresh)
        return self.keys.get(key.public_data)


def load_host_key(path: str | Path | None, state: Path) -> tuple[asyncssh.SSHKey, Path, bool]:
    """(key, its file, whether it was made now). Without ``path``: the one in ``state``, made on
    first start (Ed25519, mode 0600). A given file must exist and be private to its owner."""
    made = False
    if path is None:
        p = state / HOST_KEY_NAME
        if not p.exists():
            key = asyncssh.generate_private_key("ssh-ed25519", comment="rnn-tui serve")
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key.export_private_key())
            made = True
    else:
        p = Path(path).expanduser()
        if p.exists() and not p.is_file():
            raise UserError(f"host key {p} is not a regular file; give an OpenSSH private key "
                            "file")
        if not p.is_file():
            raise UserError(f"host key {p} not found; make one with `ssh-keygen -t ed25519 -N '' "
                            f"-f {p}`, or leave out --host-key to have one made in {state}")
    mode = p.stat().st_mode & 0o777
    if mode & 0o077:
        raise UserError(f"host key {p} can be read by others (mode {mode:o}); "
                        f"`chmod 600 {p}` first")
    try:
        key = asyncssh.read_private_key(p)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, OSError, ValueError) as err:
        raise UserError(f"cannot read host key {p}: {err} (an unencrypted OpenSSH private key "
                        "is needed)") from None
    return key, p, made
