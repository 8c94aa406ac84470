"""Opening the user's files without trusting them: the true cause of every failure in one line,
no hang on a FIFO or a device, no reading forever from a pseudo-file, and a size cap.

Reading goes through :func:`read_user_file`, which checks what the path is (``stat``) before it
opens anything, opens non-blocking, checks again on the open descriptor, and reads at most a
limit. :func:`describe_os_error` turns an ``OSError`` into the words a user can act on (not found,
permission denied, a symbolic-link loop, no space left on the device, a read-only file system).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

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


def _is_pseudo(path: Path) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return any(real == root or real.startswith(root + "/") for root in PSEUDO_ROOTS)


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
