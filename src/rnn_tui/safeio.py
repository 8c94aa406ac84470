"""Reading and writing the user's files without trusting them: the true cause of every failure
in one line, no hang on a FIFO or a device, no reading forever from a pseudo-file, a size cap,
and nothing half-written left behind.

Reading goes through :func:`read_user_file`, which checks what the path is (``stat``) before it
opens anything, opens non-blocking, checks again on the open descriptor, and reads at most a
limit. :func:`describe_os_error` turns an ``OSError`` into the words a user can act on (not found,
permission denied, a symbolic-link loop, no space left on the device, a read-only file system).

Writing goes through :func:`atomic_write` (a whole file: a temporary beside the target, written,
synced, then renamed over it, so a reader or a crash sees the old file or the new one, never a
part) and :func:`open_append` (a log that grows line by line). Both refuse a target that exists
and is not a regular file (a device, a FIFO, a socket, a directory), so ``--to /dev/full`` never
replaces the device. :func:`write_file` is :func:`atomic_write` for a command: every ``OSError``
becomes one :class:`UserError` line. :func:`signals_raise` turns SIGTERM and SIGHUP into
``SystemExit`` for the length of a command, so its ``finally`` clauses remove its temporaries.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rnn_tui.errors import UserError

MiB = 1 << 20
CORPUS_LIMIT = 256 * MiB  # a text or CSV file read whole into memory
CONFIG_LIMIT = 1 * MiB  # a TOML config file

# The file-system roots of kernel pseudo-files: sizes of 0 that are not empty, reads that block
# (/proc/kmsg) or never end.
PSEUDO_ROOTS = ("/proc", "/sys", "/dev")

_WHY = {
    errno.ENOENT: "not found",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ELOOP: "a loop of symbolic links",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "a read-only file system",
    errno.EIO: "an input/output error (the disk or network file system failed)",
    errno.EISDIR: "it is a directory",
    errno.ENXIO: "no such device (a FIFO with no writer, or a device that is gone)",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
    errno.EFBIG: "the file is too large",
}


def describe_os_error(err: OSError) -> str:
    """A few plain words for an OSError: ``permission denied``, ``no space left on the device``."""
    why = _WHY.get(err.errno or 0)
    if why is None:
        why = (err.strerror or type(err).__name__).lower()
    return why


def storage_advice(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space or choose another --runs-dir"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "choose a writable place with --runs-dir"
    if err.errno == errno.ENAMETOOLONG:
        return "choose a shorter --name or --runs-dir"
    if err.errno == errno.EIO:
        return "check the disk, or choose another --runs-dir"
    return "choose another --runs-dir"


def stat_path(path: str | Path, what: str = "file") -> os.stat_result:
    """``os.stat`` with every failure a :class:`UserError` naming its true cause."""
    p = Path(path)
    try:
        return os.stat(p)
    except OSError as err:
        if err.errno == errno.ENOENT and os.path.islink(p):
            try:
                target = os.readlink(p)
            except OSError:
                target = "?"
            raise UserError(f"{p} is a broken symbolic link (its target {target} does not "
                            "exist)") from None
        if err.errno == errno.ENOENT:
            raise UserError(f"{what} not found: {p}") from None
        if err.errno == errno.ELOOP:
            raise UserError(f"{p} is a loop of symbolic links; it leads nowhere") from None
        raise UserError(f"cannot open {p}: {describe_os_error(err)}") from None
    except ValueError:  # a NUL byte in the name
        raise UserError(f"{what} name {str(p)!r} holds a NUL byte") from None


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


# Where a write never goes (what is under /dev is refused by being no regular file; /dev/shm is
# ordinary memory-backed storage)
WRITE_PSEUDO_ROOTS = ("/proc", "/sys")


def _is_pseudo(path: Path, roots: tuple[str, ...] = PSEUDO_ROOTS) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return any(real == root or real.startswith(root + "/") for root in roots)


def read_user_file(path: str | Path, limit: int, what: str = "file",
                   hint: str = "give a text file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or a UserError that says why not."""
    p = Path(path)
    st = stat_path(p, what)
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{p} is a directory; {hint}")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{p} is {kind_of(st.st_mode)}, not a regular file; {hint}")
    if _is_pseudo(p):
        raise UserError(f"{p} is a kernel pseudo-file (under /proc, /sys or /dev), not a "
                        f"{what} on disk; {hint}")
    if st.st_size > limit:
        raise UserError(f"{p} is {st.st_size / MiB:,.1f} MiB, more than the {limit / MiB:,.0f} "
                        f"MiB a {what} may be")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as err:
        raise UserError(f"cannot read {p}: {describe_os_error(err)}") from None
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode):  # swapped for something else since the stat
            raise UserError(f"{p} is {kind_of(st2.st_mode)}, not a regular file; {hint}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UserError(f"{p} is more than the {limit / MiB:,.0f} MiB a {what} may be")
        return b"".join(chunks)
    except OSError as err:
        raise UserError(f"cannot read {p}: {describe_os_error(err)}") from None
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------- writing
TEMP_SUFFIX = ".tmp"  # a temporary is ".<target name>.<8 random characters>.tmp" beside it


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


class NotRegularFile(UserError):
    """A write target that exists and is not a regular file: it is never replaced."""


def write_target(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the file a symbolic link there
    points to (the link is kept). Refuses (:class:`NotRegularFile`) a target that exists and is
    not a regular file, and a kernel pseudo-file; an ``OSError`` of ``stat`` (other than not
    found) is raised as it is."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except ValueError:
        raise UserError(f"file name {str(p)!r} holds a NUL byte") from None
    if os.path.islink(p):
        p = Path(os.path.realpath(p))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(f"{path} is {kind_of(st.st_mode)}, not a regular file; refusing "
                             "to replace it: give the name of a file to write")
    if _is_pseudo(p, WRITE_PSEUDO_ROOTS):
        raise NotRegularFile(f"{path} is under /proc or /sys (kernel pseudo-files); give the "
                             "name of a file on disk")
    return p


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all: a temporary in the same directory,
    written and synced, then renamed over the target (checked again just before). Returns the
    file written (a symbolic link's target). A failed write raises its ``OSError`` with
    ``filename`` set, the temporary removed; a target that is not a regular file raises
    :class:`NotRegularFile`."""
    target = write_target(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        write_target(target)  # replaced by something else meanwhile: still refused
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not err.filename:
            err.filename = str(target)
        raise
    return target


def write_error(path: str | Path, err: OSError, advice: str = "") -> UserError:
    """The one line for a failed write: what, why, and what to do."""
    why = describe_os_error(err)
    if not advice:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            advice = "free some space or write somewhere else"
        elif err.errno == errno.ENOENT:
            advice = "its folder does not exist: create it or write somewhere else"
        else:
            advice = "write somewhere else"
    return UserError(f"cannot write {path}: {why}; {advice}")


def write_file(path: str | Path, data: bytes, advice: str = "") -> Path:
    """:func:`atomic_write` for a command: every failure is one :class:`UserError` line."""
    try:
        return atomic_write(path, data)
    except OSError as err:
        raise write_error(path, err, advice) from None


def open_append(path: str | Path) -> BinaryIO:
    """``path`` opened for appending (created if missing), refusing anything but a regular
    file without blocking on a FIFO. Raises ``OSError`` as ``open`` does."""
    p = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | \
        getattr(os, "O_NOCTTY", 0)
    st = None
    try:
        st = os.stat(p)
    except FileNotFoundError:
        pass
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(f"{p} is {kind_of(st.st_mode)}, not a regular file; move it "
                             "away and try again")
    fd = os.open(p, flags, 0o666)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped since the stat
            raise NotRegularFile(f"{p} is {kind_of(st.st_mode)}, not a regular file; move it "
                                 "away and try again")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


def append_text(path: str | Path, text: str) -> None:
    """Append ``text`` (UTF-8) to the log at ``path`` through :func:`open_append`."""
    with open_append(path) as f:
        f.write(text.encode("utf-8"))


def make_dirs(path: str | Path) -> Path | None:
    """Create the directory ``path`` and its missing parents; return the outermost one made
    (for :func:`remove_made_dirs` to undo), None when it existed. A failure is one line."""
    p = Path(path)
    first = None
    q = p.absolute()
    while not os.path.lexists(q) and q.parent != q:
        first, q = q, q.parent
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        st = os.stat(p)
        raise UserError(f"{p} is {kind_of(st.st_mode)}; give a directory") from None
    except OSError as err:
        raise UserError(f"cannot create {p}: {describe_os_error(err)}; write somewhere "
                        "else") from None
    return first


def remove_made_dirs(path: str | Path, up_to: Path | None) -> None:
    """Remove the empty directories from ``path`` up to ``up_to`` (those :func:`make_dirs`
    made); a directory that is not empty is kept."""
    if up_to is None:
        return
    p = Path(path).absolute()
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == up_to or p.parent == p:
            return
        p = p.parent


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` in the main thread while inside:
    a stopped command unwinds, its ``finally`` clauses remove what it had half-written."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    sigs = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    try:
        old = {s: signal.signal(s, handler) for s in sigs}
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def memory_available() -> int | None:
    """Bytes of memory available to a new allocation: ``MemAvailable`` in /proc/meminfo, or
    less where a cgroup (a container) limits this process. None where the kernel does not say."""
    avail = None
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f.read(65536).decode("ascii", "replace").splitlines():
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        avail = None
    try:  # cgroup v2: the limit less what the group already uses
        with open("/sys/fs/cgroup/memory.max", "rb") as f:
            cap = f.read(64).strip()
        if cap and cap != b"max":
            with open("/sys/fs/cgroup/memory.current", "rb") as f:
                used = int(f.read(64).strip())
            room = max(int(cap) - used, 0)
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail
