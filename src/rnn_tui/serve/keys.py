"""The keys: who may connect (an OpenSSH ``authorized_keys`` file, re-read when it changes) and
the server's own host key (made on first start if none is given)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from rnn_tui.errors import UserError
from rnn_tui.paths import safe_name

HOST_KEY_NAME = "ssh_host_ed25519_key"


@dataclass(frozen=True)
class KeyEntry:
    name: str  # the folder its runs go in: the key's comment, or its fingerprint, made safe
    comment: str
    fingerprint: str


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
        name = safe_name(comment) if comment else ""
        if not name:
            name = safe_name("key-" + fp.split(":", 1)[-1][:16], fallback=key.public_data)
        keys[key.public_data] = KeyEntry(name, comment, fp)
    return keys, warnings


class AuthorizedKeys:
    """The authorised keys, re-read whenever the file changes (checked at every key offered).
    If the file goes missing or unreadable, every key is refused until it is back."""

    def __init__(self, path: str | Path, say: Callable[[str], None] = print):
        self.path = Path(path)
        self.say = say
        self.keys: dict[bytes, KeyEntry] = {}
        self._stamp: tuple | None = None
        try:
            self._stamp = self._stat()
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"cannot read --authorized-keys {self.path}: "
                            f"{getattr(err, 'strerror', None) or err}") from None
        self._load(text)

    def _stat(self) -> tuple:
        """The file's identity and age; OSError if it is writable by others (as sshd's
        StrictModes: anyone who could edit it could let themselves in)."""
        st = os.stat(self.path)
        if st.st_mode & 0o022:
            raise PermissionError(errno.EPERM, f"writable by others (mode "
                                  f"{st.st_mode & 0o777:o}); `chmod go-w {self.path}`")
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _load(self, text: str) -> None:
        self.keys, warnings = parse_authorized_keys(text)
        for w in warnings:
            self.say(f"{self.path}: {w}")
        self.say(f"{len(self.keys)} authorised key{'s' if len(self.keys) != 1 else ''} "
                 f"read from {self.path}")

    def refresh(self) -> None:
        try:
            stamp = self._stat()
            if stamp == self._stamp:
                return
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            if self._stamp is not None:
                self.say(f"cannot read {self.path} ({getattr(err, 'strerror', None) or err}); "
                         "refusing every key until it is back")
            self.keys, self._stamp = {}, None
            return
        self._stamp = stamp
        self._load(text)

    def lookup(self, key: asyncssh.SSHKey) -> KeyEntry | None:
        self.refresh()
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
