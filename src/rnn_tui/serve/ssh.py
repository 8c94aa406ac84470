"""The SSH server: the app for anyone with an authorised key, and nothing else.

One :class:`Connection` per TCP connection (authentication), one :class:`AppSession` per session
channel. A session that asks for a shell on a pty gets the real ``rnn-tui`` app as a child process
(:mod:`rnn_tui.serve.child`) on a fresh pseudo-terminal, and bytes are copied both ways:

- the pty request's size is the terminal's size; window-change sets it again (TIOCSWINSZ, and
  the child gets SIGWINCH);
- the channel closing (``q`` is not the only way out: a dropped connection, ``~.``) sends SIGHUP
  to the child, which saves a checkpoint and exits, as when a terminal goes away under sshd;
- the child exiting closes the channel with the child's exit status;
- flow control: while the client's window is full the pty is not read, so the app blocks on its
  own writes instead of the server buffering without bound; the other way, input reaches the app
  at a bounded rate and a flood is dropped (:mod:`rnn_tui.serve.limits`);
- window sizes are clamped; a connection holds at most ``MAX_CHANNELS`` session channels; the
  connections still logging in are capped as sshd's ``MaxStartups`` (random early drop, stale
  ones dropped first).

Refused, always: passwords, keyboard-interactive, host-based and GSSAPI authentication, any key
not in the authorised-keys file, exec (a one-line refusal; nothing is run), subsystems (sftp …),
every kind of forwarding (TCP, Unix sockets, agent, X11, tun/tap). See ``docs/security.md``.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from rnn_tui.errors import UserError
from rnn_tui.serve import base_env, child_command, kernel_cache_dir
from rnn_tui.serve.keys import AuthorizedKeys, load_host_key
from rnn_tui.serve.limits import (
    MAX_CHANNELS,
    MAX_STARTUPS,
    RESIZE_EVERY,
    Backlog,
    InputLimiter,
    Startups,
    StartupsPolicy,
    clamp_size,
)

HANGUP_GRACE = 7.0  # seconds a hung-up app has to save before it is killed (server shutdown)
DROPPED_GRACE = 60.0  # the same after a dropped connection, when nothing else is waiting
MAX_ENV = 16  # environment variables kept per session (only COLORTERM is read)
DROP_LOG_EVERY = 10.0  # seconds between the log's summaries of connections dropped before login
TERM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


@dataclass
class Settings:
    host: str
    port: int
    runs_root: Path  # the server's runs folder; each key's runs in a folder below it
    state: Path  # host key, log, homes
    app_argv: list[str]  # the server's flags, given to every app
    task: str  # for run names
    authorized_keys: Path
    host_key: Path | None = None
    max_sessions: int = 2
    login_timeout: float = 15.0
    max_startups: str = MAX_STARTUPS


class Log:
    """One line per connection (and a few about the server), to stderr and ``serve.log``."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def __call__(self, text: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {text}"
        try:
            print(f"rnn-tui serve: {line}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # the operator's terminal went away: the file still has it
            pass
        try:
            self.file.write(line + "\n")
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        self.file.close()


def _winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def clean_term(term: str | None) -> str:
    """The client's TERM if it looks like a terminal name, else xterm-256color."""
    return term if term and TERM_RE.fullmatch(term) else "xterm-256color"


class Hub:
    """What the server holds: settings, keys, live connections and sessions."""

    def __init__(self, settings: Settings, keys: AuthorizedKeys, log: Log):
        self.settings = settings
        self.keys = keys
        self.log = log
        self.connections: set[Connection] = set()
        self.sessions: set[AppSession] = set()
        self.n_connections = 0
        self.n_sessions = 0
        self.closing = False
        self.loop = asyncio.get_running_loop()
        self.homes = settings.state / "homes"
        self.homes.mkdir(mode=0o700, exist_ok=True)
        self.cache_dir = kernel_cache_dir()
        self.startups = Startups(StartupsPolicy.parse(settings.max_startups))
        self.dropped: dict[str, int] = {}  # why -> connections dropped since the last summary
        self._drop_timer: asyncio.TimerHandle | None = None

    def note_drop(self, why: str) -> None:
        """Count a connection dropped before it logged in; the log says the first at once, then
        at most one summary every DROP_LOG_EVERY seconds (a flood does not flood the log)."""
        first = not self.dropped and self._drop_timer is None
        self.dropped[why] = self.dropped.get(why, 0) + 1
        if first:
            self._flush_drops()
            self._drop_timer = self.loop.call_later(DROP_LOG_EVERY, self._drops_due)

    def _drops_due(self) -> None:
        self._drop_timer = None
        if self.dropped:
            self._flush_drops()
            self._drop_timer = self.loop.call_later(DROP_LOG_EVERY, self._drops_due)

    def _flush_drops(self) -> None:
        said = "; ".join(f"{n} {why}" for why, n in self.dropped.items())
        self.dropped.clear()
        self.log(f"dropped before login: {said}")

    def child_env(self, term: str, home: Path, colorterm: str | None) -> dict[str, str]:
        """A clean environment: nothing from the client but TERM (checked) and COLORTERM (one of
        two values); the server's PATH, locale and rnn-tui/Numba/BLAS settings; a home of the
        key's own (so nothing the app writes lands in the operator's home); the server's kernel
        cache (compiled once, shared). No COLUMNS/LINES: the size comes from the pty, so that
        window changes are followed."""
        env = base_env(home, self.cache_dir)
        env["TERM"] = term
        if colorterm in ("truecolor", "24bit"):
            env["COLORTERM"] = colorterm
        return env


class Connection(asyncssh.SSHServer):
    """One client connection: public-key authentication against the authorised keys, then
    session channels only."""

    def __init__(self, hub: Hub):
        self.hub = hub
        hub.n_connections += 1
        self.id = hub.n_connections
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = "?"
        self.user = ""
        self.key_fp = "-"
        self.key = None  # KeyEntry, once authenticated
        self.offered: list[str] = []
        self.authenticated = False
        self.sessions: list[AppSession] = []
        self.open_channels = 0
        self.notes: list[str] = []
        self.started = time.monotonic()
        self.began_auth = False
        self.dropped_early = ""  # why it was dropped before logging in, if it was

    # ---------------------------------------------------------------- connection
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        hub = self.hub
        if hub.closing:
            self.notes.append("refused: server shutting down")
            conn.abort()
            return
        now = time.monotonic()
        pending = [(c, now - c.started, c.began_auth) for c in hub.connections
                   if not c.authenticated and not c.dropped_early]
        hub.connections.add(self)
        victim = hub.startups.admit(pending)
        if victim == "newcomer":
            self.drop("newcomers past MaxStartups")
        elif victim is not None:
            victim.drop("stale logins dropped for newcomers")

    def drop(self, why: str) -> None:
        """Drop this connection before it logs in (MaxStartups); counted, not logged one by one."""
        self.dropped_early = why
        if self.conn is not None:
            self.conn.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.connections.discard(self)
        if self.dropped_early and not self.authenticated:
            self.hub.note_drop(self.dropped_early)
            return
        for s in self.sessions:
            s.channel_gone()
        if not self.authenticated and not self.notes:
            if self.offered:
                self.notes.append("refused: key not authorised")
            elif exc is not None and "timeout" in str(exc).lower():
                self.notes.append("dropped: never authenticated (login timeout)")
            else:
                self.notes.append("refused: no public key offered")
        running = [s.done.wait() for s in self.sessions if s.running]
        if running:  # the line says how its apps ended: wait for them
            asyncio.ensure_future(self._log_when_done(running))
        else:
            self._log()

    async def _log_when_done(self, running) -> None:
        await asyncio.wait([asyncio.ensure_future(w) for w in running],
                           timeout=DROPPED_GRACE + 5)
        self._log()

    def _log(self) -> None:
        outcome = "; ".join(self.notes + [s.outcome for s in self.sessions if s.outcome])
        if not outcome:
            outcome = "closed, no session"
        key = self.key_fp if self.authenticated else (",".join(self.offered[-3:]) or "-")
        who = f" ({self.key.name} {self.key.comment!r})" if self.key is not None else ""
        sids = ",".join(s.id for s in self.sessions) or "-"
        self.hub.log(f"conn={self.id} peer={self.peer} user={self.user!r} key={key}{who} "
                     f"session={sids} {time.monotonic() - self.started:.1f}s: {outcome}")

    # ---------------------------------------------------------------- authentication
    def begin_auth(self, username: str) -> bool:
        self.user = username[:64]
        self.began_auth = True
        return True  # always authenticate

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        entry = await self.hub.keys.lookup_async(key)
        fp = key.get_fingerprint("sha256")
        if entry is None:
            if fp not in self.offered:
                self.offered.append(fp)
            return False
        self.key, self.key_fp = entry, fp
        return True

    def validate_ca_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return False  # certificates are not accepted

    def auth_completed(self) -> None:
        self.authenticated = True

    # ---------------------------------------------------------------- channels
    def session_requested(self):
        if not self.authenticated or self.key is None:
            return False
        if self.open_channels >= MAX_CHANNELS:
            note = f"channels past {MAX_CHANNELS} refused"
            if note not in self.notes:
                self.notes.append(note)
            return False
        s = AppSession(self)
        self.open_channels += 1
        self.sessions.append(s)
        chan = self.conn.create_server_channel()
        bound_env_requests(chan)
        return chan, s

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        self.notes.append("port forwarding refused")
        return False

    def server_requested(self, listen_host, listen_port):
        self.notes.append("remote forwarding refused")
        return False

    def unix_connection_requested(self, dest_path):
        self.notes.append("unix socket forwarding refused")
        return False

    def unix_server_requested(self, listen_path):
        self.notes.append("unix socket forwarding refused")
        return False

    def tun_requested(self, unit):
        return False

    def tap_requested(self, unit):
        return False


def bound_env_requests(chan: asyncssh.SSHServerChannel, limit: int = MAX_ENV) -> None:
    """asyncssh keeps every ``env`` request a client sends on a channel; past ``limit`` of them
    the rest are refused, so a client cannot grow the server's memory one variable at a time.
    (Only COLORTERM is ever read, and only as one of two values.)"""
    accept = chan._process_env_request  # asyncssh looks request handlers up on the channel

    def env_request(packet) -> bool:
        if len(chan.get_environment_bytes()) >= limit:
            return False
        return accept(packet)

    chan._process_env_request = env_request


class AppSession(asyncssh.SSHServerSession):
    """One session channel: the app on a pty, or a one-line refusal."""

    def __init__(self, conn: Connection):
        hub = conn.hub
        hub.n_sessions += 1
        self.hub = hub
        self.conn = conn
        self.id = str(hub.n_sessions)
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.cols, self.rows = 80, 24
        self.command: str | None = None
        self.master: int | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.inbox = Backlog()
        self.limiter = InputLimiter()
        self.dropped_input = 0  # bytes of a flood dropped before the app saw them
        self.counted = True  # in its connection's open channels
        self.writer_on = False
        self.closed = False  # the channel is gone
        self.eof = False  # the pty has nothing more to give
        self.outcome = ""
        self.run_name = ""
        self.started = time.monotonic()
        self.done = asyncio.Event()
        self.running = False  # an app was (or is being) started for it
        self._kill_timer: asyncio.TimerHandle | None = None
        self._resize_timer: asyncio.TimerHandle | None = None
        self._resized_at = 0.0

    # ---------------------------------------------------------------- requests
    def connection_made(self, chan) -> None:
        self.chan = chan

    def pty_requested(self, term_type, term_size, term_modes) -> bool:
        self.term = clean_term(term_type)
        self.cols, self.rows = clamp_size(term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command  # never run: refused with one line in session_started
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        self.outcome = f"session {self.id}: subsystem {subsystem[:32]!r} refused"
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        pass  # the client does not signal the app

    def eof_received(self) -> bool:
        return True  # stay open: the app ends the session

    def session_started(self) -> None:
        hub, limit = self.hub, self.hub.settings.max_sessions
        if self.command is not None:
            self.refuse("commands are not run here; connect without one (ssh -t) to open "
                        "the app", "exec refused")
        elif self.term is None:
            self.refuse("the app needs a terminal; connect with ssh -t", "no pty, refused")
        elif hub.closing:
            self.refuse("the server is shutting down", "refused: shutting down")
        elif len(hub.sessions) >= limit:
            self.refuse(f"all {limit} session{'s' if limit != 1 else ''} are in use; try "
                        "again later", "turned away: server full")
        else:
            hub.sessions.add(self)
            self.running = True
            asyncio.ensure_future(self.run())

    def refuse(self, message: str, outcome: str) -> None:
        end = "\r\n" if self.term else "\n"
        self.chan.write_stderr(f"rnn-tui serve: {message}{end}".encode())
        self.chan.exit(1)
        self.outcome = f"session {self.id}: {outcome}"

    # ---------------------------------------------------------------- the app
    async def run(self) -> None:
        hub, st, key = self.hub, self.hub.settings, self.conn.key
        self.run_name = f"{st.task}-{time.strftime('%Y%m%d-%H%M%S')}-s{self.id}"
        runs = st.runs_root / key.name
        home = hub.homes / key.name
        try:
            runs.mkdir(parents=True, exist_ok=True)
            home.mkdir(mode=0o700, exist_ok=True)
            master, slave = pty.openpty()
        except OSError as err:
            hub.sessions.discard(self)
            hub.log(f"session {self.id}: cannot start ({err})")
            if not self.closed:
                self.refuse("cannot start a session now; try again later", "start failed")
            self.done.set()
            return
        self.master = master
        _winsize(slave, self.cols, self.rows)
        colorterm = self.chan.get_environment().get("COLORTERM")
        argv = ["--runs-dir", str(runs), "--name", self.run_name, "--confine", str(st.runs_root),
                *st.app_argv]
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *child_command(), *argv, stdin=slave, stdout=slave, stderr=slave,
                env=hub.child_env(self.term or "xterm-256color", home, colorterm),
                cwd=str(runs), start_new_session=True)
        except OSError as err:
            os.close(master)
            self.master = None
            hub.sessions.discard(self)
            hub.log(f"session {self.id}: cannot start the app ({err})")
            if not self.closed:
                self.refuse("cannot start the app now; try again later", "start failed")
            self.done.set()
            return
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        hub.loop.add_reader(master, self._pty_readable)
        if self.closed or hub.closing:  # the client left, or the server is stopping
            self.hangup(HANGUP_GRACE if hub.closing else DROPPED_GRACE)
        status = await self.proc.wait()
        self._cancel_kill()
        self._pty_readable(drain=True)  # what the app wrote last (its terminal reset)
        self._close_master()
        hub.sessions.discard(self)
        took = time.monotonic() - self.started
        where = f"run {key.name}/{self.run_name}"  # the first; the setup screen may add more
        if self.closed:
            self.outcome = (f"session {self.id}: dropped after {took:.0f}s, app exited "
                            f"{status} ({where})")
        else:
            self.outcome = f"session {self.id}: app exited {status} after {took:.0f}s ({where})"
            if status >= 0:
                self.chan.exit(status)
            else:
                self.chan.exit_with_signal(signal.Signals(-status).name[3:])
        if self.dropped_input:
            self.outcome += f", {self.dropped_input} bytes of input dropped"
        self.done.set()

    def _pty_readable(self, drain: bool = False) -> None:
        while self.master is not None and not self.eof:
            try:
                data = os.read(self.master, 65536)
            except BlockingIOError:
                return
            except OSError as err:  # EIO: every holder of the pty's other side has gone
                if err.errno != errno.EIO:
                    self.hub.log(f"session {self.id}: pty read failed ({err})")
                data = b""
            if not data:
                self.eof = True
                self.hub.loop.remove_reader(self.master)
                return
            if not self.closed:
                self.chan.write(data)
            if not drain:
                return

    def _close_master(self) -> None:
        if self.master is not None:
            self.hub.loop.remove_reader(self.master)
            if self.writer_on:
                self.hub.loop.remove_writer(self.master)
            os.close(self.master)
            self.master = None

    # ---------------------------------------------------------------- client -> app
    def data_received(self, data: bytes, datatype) -> None:
        if self.master is None or self.proc is None:
            return  # typed before the app started, or after it ended
        admitted = self.limiter.admit(data)
        dropped = len(data) - len(admitted) + self.inbox.add(admitted)
        if dropped:
            if not self.dropped_input:
                self.hub.log(f"session {self.id}: input faster than the app takes it; "
                             "dropping the excess")
            self.dropped_input += dropped
        self._pty_writable()

    def _pty_writable(self) -> None:
        if self.master is None:
            return
        try:
            while self.inbox:
                self.inbox.consume(os.write(self.master, self.inbox.peek()[:4096]))
        except BlockingIOError:
            pass
        except OSError:
            self.inbox.clear()
        want = bool(self.inbox)
        if want != self.writer_on:
            (self.hub.loop.add_writer(self.master, self._pty_writable) if want
             else self.hub.loop.remove_writer(self.master))
            self.writer_on = want

    # ---------------------------------------------------------------- app -> client flow control
    def pause_writing(self) -> None:
        if self.master is not None and not self.eof:
            self.hub.loop.remove_reader(self.master)

    def resume_writing(self) -> None:
        if self.master is not None and not self.eof:
            self.hub.loop.add_reader(self.master, self._pty_readable)

    def terminal_size_changed(self, width, height, pixwidth, pixheight) -> None:
        """The new size, applied at most every RESIZE_EVERY seconds (the latest one wins), so a
        flood of window changes costs the app one redraw per interval."""
        self.cols, self.rows = clamp_size(width, height)
        if self._resize_timer is None:
            wait = max(0.0, self._resized_at + RESIZE_EVERY - time.monotonic())
            self._resize_timer = self.hub.loop.call_later(wait, self._apply_size)

    def _apply_size(self) -> None:
        self._resize_timer = None
        self._resized_at = time.monotonic()
        if self.master is not None:
            _winsize(self.master, self.cols, self.rows)  # the kernel sends SIGWINCH to the app
            self._signal(signal.SIGWINCH)  # and so do we, should it have no controlling tty

    # ---------------------------------------------------------------- ending
    def connection_lost(self, exc) -> None:
        if self.counted:
            self.counted = False
            self.conn.open_channels -= 1
        self.channel_gone()

    def channel_gone(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.master is not None and not self.eof:  # keep reading, so the app never blocks
            self.hub.loop.add_reader(self.master, self._pty_readable)
        self.hangup(DROPPED_GRACE)

    def hangup(self, grace: float) -> None:
        """SIGHUP, as when a terminal goes away: the app saves a checkpoint and exits. Killed if
        it is still there after ``grace`` seconds."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self._signal(signal.SIGHUP)
        self._signal(signal.SIGCONT)
        self._cancel_kill()
        self._kill_timer = self.hub.loop.call_later(grace, self.kill)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.hub.log(f"session {self.id}: the app did not exit after a hangup; killed")
            self._signal(signal.SIGKILL)

    def _cancel_kill(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None

    def _signal(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)  # its own process group (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass


async def serve(settings: Settings) -> int:
    log = Log(settings.state / "serve.log")
    try:
        return await _serve(settings, log)
    finally:
        log.close()


async def _serve(settings: Settings, log: Log) -> int:
    state = settings.state
    keys = AuthorizedKeys(settings.authorized_keys, say=log)
    host_key, key_path, made = load_host_key(settings.host_key, state)
    try:
        settings.runs_root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create the runs folder {settings.runs_root}: "
                        f"{err.strerror}") from None
    fp = host_key.get_fingerprint("sha256")
    print(f"rnn-tui serve: host key {fp} ({'made now, ' if made else ''}{key_path})",
          file=sys.stderr, flush=True)
    hub = Hub(settings, keys, log)
    try:
        server = await asyncssh.create_server(
            lambda: Connection(hub), settings.host, settings.port,
            server_host_keys=[host_key], config=None,
            public_key_auth=True, password_auth=False, kbdint_auth=False,
            host_based_auth=False, gss_host=None, gss_kex=False, gss_auth=False,
            agent_forwarding=False, x11_forwarding=False, allow_scp=False, sftp_factory=None,
            allow_pty=True, line_editor=False, encoding=None,
            login_timeout=settings.login_timeout, keepalive_interval=30, keepalive_count_max=4,
            server_version="rnn-tui")
    except OSError as err:
        why = os.strerror(err.errno) if err.errno else str(err)
        raise UserError(f"cannot listen on {settings.host}:{settings.port}: {why}") from None
    port = server.sockets[0].getsockname()[1]
    log(f"listening on {settings.host}:{port} (ssh -p {port} {settings.host}); at most "
        f"{settings.max_sessions} session{'s' if settings.max_sessions != 1 else ''}; runs in "
        f"{settings.runs_root}; log in {log.path}")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        hub.loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await shutdown(hub, server)
    return 0


async def shutdown(hub: Hub, server) -> None:
    """Stop listening; hang up every app (each saves a checkpoint) and wait for them, killing
    any still there after HANGUP_GRACE seconds; then close every connection."""
    hub.closing = True
    n = len(hub.sessions)
    hub.log(f"shutting down: closing {n} session{'s' if n != 1 else ''}")
    server.close()
    sessions = list(hub.sessions)
    for s in sessions:
        s.hangup(HANGUP_GRACE)
    waits = [asyncio.ensure_future(s.done.wait()) for s in sessions]
    if waits:
        await asyncio.wait(waits, timeout=HANGUP_GRACE + 1.0)
    for c in list(hub.connections):
        if c.conn is not None:
            c.conn.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 1.0)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.1)  # let the connections' last log lines out
