"""Run the real ``rnn-tui`` in a pseudo-terminal and read its screen with pyte.

Used by the end-to-end tests and by ``benchmarks/terminal.py`` (which counts the bytes the app
writes to its terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import threading
import time

import pyte


class PtyApp:
    def __init__(self, args: list[str], cols: int = 120, rows: int = 40,
                 env: dict[str, str] | None = None, cwd: str | None = None,
                 executable: str | None = None, unset: tuple[str, ...] = ()):
        """Run ``python -m rnn_tui.cli ARGS`` (this interpreter), or ``executable ARGS`` (e.g.
        the ``rnn-tui`` script of another install); ``unset`` names environment variables
        to remove."""
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes_read = 0
        # False: count the bytes but do not emulate them (pyte is pure Python and would take
        # CPU from the app it measures; a real terminal is native, or across an SSH link)
        self.emulate = True
        self.raw = bytearray()  # the first 4 MB written, for tests that inspect escape codes
        self.lock = threading.Lock()
        e = dict(os.environ)
        e.pop("COLORTERM", None)
        e.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        e.update(env or {})
        for name in unset:
            e.pop(name, None)
        argv = [executable, *args] if executable else [sys.executable, "-m", "rnn_tui.cli",
                                                       *args]
        pid, fd = pty.fork()
        if pid == 0:  # child
            try:
                if cwd:
                    os.chdir(cwd)
                os.execvpe(argv[0], argv, e)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.returncode: int | None = None
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.closed:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if not r:
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                self.bytes_read += len(data)
                if not self.emulate:
                    continue
                if len(self.raw) < 4 << 20:
                    self.raw += data
                self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait_for(self, pred, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.text()):
                return True
            if self.poll() is not None:
                return pred(self.text())
            time.sleep(0.2)
        return False

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float = 60.0) -> int | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.poll() is not None:
                return self.returncode
            time.sleep(0.1)
        return None

    def hang_up(self) -> None:
        """The terminal goes away: close the master side (the kernel sends SIGHUP)."""
        self.closed = True
        self.reader.join(2)
        os.close(self.fd)

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait(10)
        if not self.closed:
            self.closed = True
            self.reader.join(2)
            try:
                os.close(self.fd)
            except OSError:
                pass
