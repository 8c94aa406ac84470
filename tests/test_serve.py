"""`rnn-tui serve`: a real server process, real SSH clients (asyncssh, and OpenSSH's `ssh`).

What is let in (an authorised key gets the app, drawn in its terminal, following resizes) and
what is refused (other keys, passwords, keyboard-interactive, commands, subsystems, forwarding,
sessions over the limit, paths out of the runs folder), the checkpoint a dropped connection and
a stopped server leave behind, and `--web`. docs/security.md maps each refusal to its test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import asyncssh
import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.errors import UserError
from rnn_tui.paths import safe_name, safe_run_path

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = ["--corpus", "arithmetic", "--hidden", "16", "--embed", "8", "--batch", "4", "--seq", "16",
        "--eval-every", "50", "--eval-tokens", "2000", "--sample-every", "50",
        "--sample-len", "40", "--patience", "0"]
START = 180  # seconds for an app to draw its dashboard (the first start compiles the kernels)


# ---------------------------------------------------------------------------- safe_run_path
@pytest.fixture
def root(tmp_path):
    r = tmp_path / "runs"
    (r / "alice" / "run1").mkdir(parents=True)
    (r / "bob").mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "metrics.jsonl").write_text("{}\n")
    return r


@pytest.mark.parametrize("name", [
    "", "   ", "..", "../", "../secret", "alice/../../secret", "alice/..", "./..", "a/b/../../..",
    "/etc", "/etc/passwd", "//etc", "~", "~/x", "~root", "alice/\x00x", "alice\n", "\x1b[2J",
    "x" * 2000, "a/" + "y" * 300,
])
def test_safe_run_path_refuses(root, name):
    with pytest.raises(UserError):
        safe_run_path(root, name)


def test_safe_run_path_refuses_symlinks_out(root, tmp_path):
    (root / "out").symlink_to(tmp_path / "secret")
    (root / "alice" / "up").symlink_to(root.parent)
    (root / "abs").symlink_to("/etc")
    (root / "alice" / "loop").symlink_to(root / "alice" / "loop")
    for name in ("out", "out/metrics.jsonl", "alice/up", "alice/up/secret", "abs", "abs/passwd"):
        with pytest.raises(UserError, match="outside"):
            safe_run_path(root, name)
    # a symlink loop reaches no file at all; what is returned is still inside the root
    assert root.resolve() in safe_run_path(root, "alice/loop/x").parents


def test_safe_run_path_accepts_what_is_inside(root):
    base = root.resolve()
    assert safe_run_path(root, "alice/run1") == base / "alice" / "run1"
    assert safe_run_path(root, "alice/run1/") == base / "alice" / "run1"
    assert safe_run_path(root, "alice/./run1") == base / "alice" / "run1"
    assert safe_run_path(root, "not-yet") == base / "not-yet"  # existence is the caller's check
    (root / "bob" / "link").symlink_to(root / "alice" / "run1")  # a symlink that stays inside
    assert safe_run_path(root, "bob/link") == base / "alice" / "run1"
    assert safe_run_path(str(root), "x..y") == base / "x..y"  # dots inside a name are fine


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "alice", "run1", "", "/", "~", "out", "bob", "x..",
                                 "\\", "%2e%2e", "\x00"]), max_size=8))
def test_safe_run_path_never_leaves_the_root(tmp_path_factory, parts):
    tmp = tmp_path_factory.mktemp("h")
    r = tmp / "runs"
    (r / "alice" / "run1").mkdir(parents=True, exist_ok=True)
    (r / "bob").mkdir(exist_ok=True)
    if not (r / "out").is_symlink():
        (r / "out").symlink_to(tmp)
    name = "/".join(parts)
    try:
        p = safe_run_path(r, name)
    except UserError:
        return
    base = r.resolve()
    assert p == base or base in p.parents
    assert ".." not in name.split("/") and not name.startswith("/")


def test_safe_name():
    assert safe_name("alice@laptop") == "alice-laptop"
    assert safe_name("../../etc") == "etc"
    assert safe_name("..") .startswith("key-") and safe_name("") .startswith("key-")
    assert safe_name("a/b c") == "a-b-c"
    assert len(safe_name("x" * 500)) == 64
    assert safe_name("", b"k1") != safe_name("", b"k2")


# ---------------------------------------------------------------------------- keys
def test_authorized_keys_with_options_are_not_let_in(tmp_path):
    from rnn_tui.serve.keys import key_folder, parse_authorized_keys

    a = asyncssh.generate_private_key("ssh-ed25519", comment="alice@laptop")
    b = asyncssh.generate_private_key("ssh-ed25519")
    c = asyncssh.generate_private_key("ssh-ed25519", comment="carol")
    text = "\n".join([
        "# a comment", "",
        a.export_public_key().decode().strip(),
        b.export_public_key().decode().strip(),
        'from="10.0.0.1" ' + c.export_public_key().decode().strip(),
        "garbage",
    ])
    keys, warnings = parse_authorized_keys(text)
    assert keys[a.public_data].comment == "alice@laptop"
    assert keys[a.public_data].name == key_folder(a.public_data) != keys[b.public_data].name
    assert keys[b.public_data].name.startswith("key-") and keys[b.public_data].comment == ""
    assert c.public_data not in keys
    assert len(warnings) == 2 and "line 5" in warnings[0]


def test_authorized_keys_writable_by_others_let_nobody_in(tmp_path):
    from rnn_tui.serve.keys import AuthorizedKeys

    a = asyncssh.generate_private_key("ssh-ed25519", comment="alice")
    ak = tmp_path / "ak"
    ak.write_text(a.export_public_key().decode())
    os.chmod(ak, 0o666)
    with pytest.raises(UserError, match="writable by others"):
        AuthorizedKeys(ak, say=lambda _m: None)
    os.chmod(ak, 0o644)
    said: list[str] = []
    keys = AuthorizedKeys(ak, say=said.append)
    assert keys.lookup(a.convert_to_public()) is not None
    os.chmod(ak, 0o664)  # made group-writable while serving: every key refused from then on
    assert keys.lookup(a.convert_to_public()) is None and "writable by others" in said[-1]
    os.chmod(ak, 0o600)
    assert keys.lookup(a.convert_to_public()) is not None
    ak.unlink()  # gone: every key refused
    assert keys.lookup(a.convert_to_public()) is None


def test_host_key_made_once_private_and_refused_when_readable(tmp_path):
    from rnn_tui.serve.keys import HOST_KEY_NAME, load_host_key

    k1, p1, made1 = load_host_key(None, tmp_path)
    k2, p2, made2 = load_host_key(None, tmp_path)
    assert made1 and not made2 and p1 == p2 == tmp_path / HOST_KEY_NAME
    assert (p1.stat().st_mode & 0o777) == 0o600
    assert k1.get_fingerprint() == k2.get_fingerprint()
    os.chmod(p1, 0o644)
    with pytest.raises(UserError, match="chmod 600"):
        load_host_key(p1, tmp_path)
    with pytest.raises(UserError, match="not found"):
        load_host_key(tmp_path / "nope", tmp_path)


def test_serve_without_the_extra_says_which_to_install(monkeypatch, capsys):
    from rnn_tui.cli import main

    monkeypatch.setitem(sys.modules, "asyncssh", None)  # import asyncssh now fails
    assert main(["serve", "--authorized-keys", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "rnn-tui[serve]"' in err[0]


@pytest.mark.parametrize("module", ["asyncssh", "textual_serve"])
def test_serve_starts_without_the_extras_warnings(tmp_path, module):
    """What the serve extra's libraries warn about as they load (asyncssh: ten lines of
    CryptographyDeprecationWarning about DSA) is not shown; a warning of anyone else's is."""
    code = ("import warnings; from rnn_tui.serve import require; "
            f"require({module!r}); import rnn_tui.serve.ssh, rnn_tui.serve.web; "
            "warnings.warn('ours', DeprecationWarning)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    r = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=tmp_path,
                       env={**env, "PYTHONPATH": SRC}, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "Warning" in ln]
    assert len(lines) == 1 and "ours" in lines[0], r.stderr


def test_only_a_plain_terminal_name_reaches_the_app():
    from rnn_tui.serve.ssh import clean_term

    assert clean_term("xterm-256color") == "xterm-256color"
    assert clean_term("screen.xterm-256color") == "screen.xterm-256color"
    for bad in ("", None, "$(id)", "xterm;id", "../../x", "x" * 100, "xterm\n", "-x"):
        assert clean_term(bad) == "xterm-256color"


def test_web_warns_only_off_loopback():
    from rnn_tui.serve.web import exposure_warning

    assert exposure_warning("127.0.0.1", 8000) is None
    assert exposure_warning("::1", 8000) is None
    assert exposure_warning("localhost", 8000) is None
    w = exposure_warning("0.0.0.0", 8000)
    assert w and "reachable from other machines" in w and "\n" not in w


# ---------------------------------------------------------------------------- the app, confined
def test_a_confined_app_keeps_every_typed_path_inside(tmp_path, monkeypatch):
    """What `rnn-tui serve` relies on: with --confine, the generate, open-run and setup screens
    take nothing from outside the runs folder (the SSH test below repeats one of these through a
    real session)."""
    from textual.widgets import Input, Label, OptionList

    from app_events import language_run
    from rnn_tui.cli import main
    from rnn_tui.config import RunConfig
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.screens.generate import GenerateScreen
    from rnn_tui.tui.screens.open_run import OpenRunScreen, WatchScreen
    from rnn_tui.tui.screens.setup import SetupScreen
    from rnn_tui.tui.source import ReplaySource

    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    root = tmp_path / "runs"
    assert main(["train", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8", "--seq",
                 "16", "--batch", "4", "--steps", "20", "--quiet", "--runs-dir",
                 str(root / "alice"), "--name", "r"]) == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("the operator's secret\n" * 100)
    (root / "alice" / "out").symlink_to(tmp_path)

    async def settle(pilot, pred, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end and not pred():
            await pilot.pause(0.05)
        return pred()

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), cfg=RunConfig(), theme="rnn-dark",
                        remember_theme=False, runs_dir=root / "alice", confine=root)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.2)
            # generate: only runs under the folder
            await pilot.press("g")
            await pilot.pause(0.1)
            gen = app.screen
            assert isinstance(gen, GenerateScreen)
            err = gen.query_one("#gen-error", Label)
            for name, why in ((str(root / "alice" / "r"), "absolute"), ("../secret.txt", "'..'"),
                              ("alice/out/secret.txt", "outside")):
                gen.query_one("#gen-run", Input).value = name
                await pilot.press("ctrl+g")
                assert await settle(pilot, lambda w=why: w in str(err.render())), name
            gen.query_one("#gen-run", Input).value = "alice/r"
            gen.query_one("#gen-len", Input).value = "30"
            await pilot.press("ctrl+g")
            assert await settle(pilot, lambda: len(gen.text) >= 30, 30), str(err.render())
            assert str(root) not in str(err.render())
            await pilot.press("escape")
            # setup: a file path is not a corpus here; a built-in one is
            await pilot.press("n")
            await pilot.pause(0.1)
            setup = app.screen
            assert isinstance(setup, SetupScreen)
            corpus = setup.query_one("#corpus", Input)
            corpus.value = str(secret)
            with pytest.raises(UserError, match="corpus"):
                setup.collect()
            corpus.value = "arithmetic"
            assert setup.collect().data.corpus == "arithmetic"
            await pilot.press("escape")
            # open a run to watch: listed, refused outside, opened inside
            await pilot.press("o")
            await pilot.pause(0.1)
            op = app.screen
            assert isinstance(op, OpenRunScreen)
            listed = [str(o.prompt) for o in op.query_one("#open-list", OptionList).options]
            assert listed == ["alice/r"]
            oerr = op.query_one("#open-error", Label)
            for name in ("../..", "/tmp", "alice/out", "~"):
                op.open(name)
                assert str(oerr.render()), name
                assert str(tmp_path) not in str(oerr.render())
            op.open("alice/r")
            assert await settle(pilot, lambda: isinstance(app.screen, WatchScreen))
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, (WatchScreen, OpenRunScreen))

    run(go())


# ---------------------------------------------------------------------------- the server
class Server:
    """``rnn-tui serve`` in a process of its own; its stderr collected."""

    def __init__(self, tmp: Path, *extra: str, authorized: Path, host_key: Path):
        self.runs = tmp / "runs"
        self.state = tmp / "state"
        env = dict(os.environ, XDG_STATE_HOME=str(self.state),
                   RNN_TUI_CONFIG_DIR=str(tmp / "cfg"),
                   PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnn_tui.cli", "serve", "--port", "0",
             "--authorized-keys", str(authorized), "--host-key", str(host_key),
             "--runs-dir", str(self.runs), *extra, *TINY],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        end = time.monotonic() + 60
        self.port = 0
        while time.monotonic() < end and not self.port and self.proc.poll() is None:
            for line in list(self.lines):
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
            time.sleep(0.05)
        assert self.port, self.log()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_log(self, pattern: str, timeout: float = 10) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no log line like {pattern!r}:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def write_key(path: Path, comment: str) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    key.write_public_key(str(path) + ".pub")
    return key


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    alice = write_key(d / "alice", "alice@laptop")
    mallory = write_key(d / "mallory", "mallory")
    write_key(d / "host", "host")
    ak = d / "authorized_keys"
    ak.write_text(alice.export_public_key().decode())
    os.chmod(ak, 0o600)  # whatever the umask: a file others can write lets nobody in
    from rnn_tui.serve.keys import key_folder

    return {"dir": d, "alice": alice, "mallory": mallory, "ak": ak, "host": d / "host",
            "folder": key_folder(alice.public_data)}


@pytest.fixture(scope="module")
def server(tmp_path_factory, keys):
    s = Server(tmp_path_factory.mktemp("serve"), "--max-sessions", "2", "--login-timeout", "3",
               authorized=keys["ak"], host_key=keys["host"])
    yield s
    s.stop()


async def connect(port: int, key=None, **kw) -> asyncssh.SSHClientConnection:
    kw.setdefault("client_keys", [key] if key is not None else None)
    return await asyncssh.connect("127.0.0.1", port, username="tester", known_hosts=None,
                                  agent_path=None, config=None, **kw)


def run(coro):
    return asyncio.run(coro)


class Screen:
    """An SSH session with a pty, its output read through a pyte terminal."""

    def __init__(self, proc: asyncssh.SSHClientProcess, cols: int, rows: int):
        self.proc = proc
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.task = asyncio.ensure_future(self._pump())

    @classmethod
    async def open(cls, conn, cols: int = 100, rows: int = 30) -> Screen:
        proc = await conn.create_process(term_type="xterm-256color", term_size=(cols, rows),
                                         encoding=None)
        return cls(proc, cols, rows)

    async def _pump(self) -> None:
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                return
            self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def wait_for(self, pred, timeout: float = 30) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.text()):
                return True
            if self.task.done():
                return pred(self.text())
            await asyncio.sleep(0.2)
        return False

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.proc.change_terminal_size(cols, rows)


def dashboard(text: str) -> bool:
    return "Loss" in text and re.search(r"step [\d,]+", text) is not None


def finished(run_dir: Path) -> dict | None:
    try:
        last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    except (OSError, IndexError, ValueError):
        return None
    return last if last.get("type") == "finished" else None


# ---------------------------------------------------------------------------- refused
def test_a_key_not_authorised_is_refused(server, keys):
    with pytest.raises(asyncssh.PermissionDenied):
        run(connect(server.port, keys["mallory"]))
    server.wait_log(r"key=SHA256:\S+ session=- .*refused: key not authorised")


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_passwords_and_keyboard_interactive_are_refused(server, method):
    with pytest.raises(asyncssh.PermissionDenied):
        run(connect(server.port, None, password="hunter2", preferred_auth=method))


def test_a_command_is_never_run(server, keys):
    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            r = await conn.run("cat /etc/hostname; id; touch /tmp/rnn-tui-pwned")
            return r

    r = run(go())
    out = (r.stdout or "") + (r.stderr or "")
    assert r.exit_status == 1
    assert "uid=" not in out and socket.gethostname() not in out
    assert "commands are not run here" in out and out.count("\n") == 1
    assert not Path("/tmp/rnn-tui-pwned").exists()


def test_no_subsystem_no_forwarding_no_pty_no_app(server, keys):
    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError)):
                await conn.start_sftp_client()
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("127.0.0.1", server.port)  # ssh -L
            with pytest.raises(asyncssh.ChannelListenError):
                await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)  # ssh -R
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_unix_connection("/run/anything.sock")
            r = await conn.run()  # a shell without a pty
            return r

    r = run(go())
    assert r.exit_status == 1 and "needs a terminal" in r.stderr


def test_a_connection_that_never_authenticates_is_dropped(server):
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.sendall(b"SSH-2.0-idle\r\n")
        s.settimeout(20)
        while True:
            try:
                if not s.recv(4096):
                    break
            except ConnectionResetError:
                break
    assert 2.5 < time.monotonic() - t0 < 15  # --login-timeout 3
    server.wait_log(r"login timeout|never authenticated")


def test_authorized_keys_are_reread_when_the_file_changes(server, keys):
    ak = keys["ak"]
    old = ak.read_text()
    try:
        ak.write_text(old + keys["mallory"].export_public_key().decode())

        async def ok():
            async with await connect(server.port, keys["mallory"]):
                return True

        assert run(ok())
    finally:
        ak.write_text(old)
    with pytest.raises(asyncssh.PermissionDenied):
        run(connect(server.port, keys["mallory"]))


# ---------------------------------------------------------------------------- the app
def test_a_session_gets_the_app_in_its_terminal(server, keys):
    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            s = await Screen.open(conn, 100, 30)
            assert await s.wait_for(dashboard, START), s.text()
            for panel in ("Loss", "Gradients", "Hidden", "Generated text"):
                assert panel in s.text()
            # the window grows: the app redraws at the new size
            s.resize(120, 40)
            assert await s.wait_for(lambda t: len(t.splitlines()) == 40 and dashboard(t)
                                    and t.splitlines()[-1].rstrip().endswith("palette")
                                    and len(t.splitlines()[-1].rstrip()) > 110, 30), s.text()
            # watching a run: a name out of the runs folder is refused, in place
            s.proc.stdin.write(b"o")
            assert await s.wait_for(lambda t: "Watch a run" in t, 15), s.text()
            for attempt, why in ((b"../../etc", "'..' is not allowed"),
                                 (b"/etc", "not an absolute path")):
                s.proc.stdin.write(b"\x15")  # ctrl+u clears the field
                await asyncio.sleep(0.5)
                s.proc.stdin.write(attempt + b"\r")
                assert await s.wait_for(lambda t, w=why: w in t, 15), s.text()
            s.proc.stdin.write(b"\x1b")
            assert await s.wait_for(lambda t: "Watch a run" not in t and dashboard(t), 15)
            await asyncio.sleep(0.5)
            s.proc.stdin.write(b"q")
            await asyncio.wait_for(s.proc.wait(), 60)
            await s.task
            return s.proc.exit_status, s.text()

    status, text = run(go())
    assert status == 0, text
    line = server.wait_log(rf"session=\d+ .*app exited 0 .*run {keys['folder']}/")
    name = re.search(rf"run ({keys['folder']}/\S+)\)", line).group(1)
    run_dir = server.runs / name
    assert (run_dir / "checkpoint.npz").is_file()
    assert finished(run_dir)["reason"] == "stopped"
    assert server.proc.poll() is None  # the server goes on


def test_a_dropped_connection_saves_its_run(server, keys):
    async def go():
        conn = await connect(server.port, keys["alice"])
        s = await Screen.open(conn)
        assert await s.wait_for(dashboard, START), s.text()
        await asyncio.sleep(1.0)
        conn.abort()  # the network goes away: no exit, no close

    run(go())
    line = server.wait_log(r"dropped after .*app exited", 60)
    run_dir = server.runs / re.search(rf"run ({keys['folder']}/\S+)\)", line).group(1)
    assert (run_dir / "checkpoint.npz").is_file()
    assert finished(run_dir)["reason"] == "interrupted"


def test_sessions_are_apart_the_limit_holds_and_sigterm_saves_every_run(tmp_path, keys):
    srv = Server(tmp_path, "--max-sessions", "2", authorized=keys["ak"], host_key=keys["host"])
    try:
        async def go():
            conns = [await connect(srv.port, keys["alice"]) for _ in range(3)]
            a = await Screen.open(conns[0])
            b = await Screen.open(conns[1], 80, 24)
            assert await a.wait_for(dashboard, START), a.text()
            assert await b.wait_for(dashboard, START), b.text()
            third = await conns[2].create_process(term_type="xterm", term_size=(80, 24))
            done = await asyncio.wait_for(third.wait(), 30)
            assert done.exit_status == 1
            said = done.stdout + done.stderr  # a pty: either one
            assert "all 2 sessions are in use" in said and said.count("\n") == 1
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            rc = await asyncio.get_running_loop().run_in_executor(None, srv.proc.wait, 15)
            took = time.monotonic() - t0
            for s in (a, b):
                await asyncio.wait_for(s.proc.wait(), 5)
            for c in conns:
                c.close()
            return rc, took

        rc, took = run(go())
        assert rc == 0 and took < 10, srv.log()
        runs = sorted((srv.runs / keys["folder"]).iterdir())
        assert len(runs) == 2  # one run each, apart
        for r in runs:
            assert (r / "checkpoint.npz").is_file(), r
            assert finished(r)["reason"] == "interrupted", r
        assert "turned away: server full" in srv.log()
        log = (srv.state / "rnn-tui" / "serve.log").read_text()
        # hung up by the server: the apps save and exit as the shell says, 128 + SIGHUP
        assert log.count("app exited 129") == 2 and "turned away" in log
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- OpenSSH's client
SSH = shutil.which("ssh")
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-F", "/dev/null"]


@pytest.mark.skipif(SSH is None, reason="OpenSSH client (ssh) not installed")
def test_openssh_client_refusals(server, keys):
    def ssh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([SSH, "-p", str(server.port), *SSH_OPTS, *args],
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    d = keys["dir"]
    assert ssh("-i", str(d / "mallory"), "user@127.0.0.1").returncode == 255
    r = ssh("-o", "PreferredAuthentications=password,keyboard-interactive",
            "-o", "PubkeyAuthentication=no", "user@127.0.0.1")
    assert r.returncode == 255 and "Permission denied" in r.stderr
    r = ssh("-i", str(d / "alice"), "user@127.0.0.1", "cat /etc/hostname; id")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "uid=" not in out and socket.gethostname() not in out


# ---------------------------------------------------------------------------- --web
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_web_serves_the_page_on_loopback(tmp_path):
    port = free_port()
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "rnn_tui.cli", "serve", "--web", "--port",
                             str(port), "--runs-dir", str(tmp_path / "runs"), *TINY],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, text=True)
    try:
        url = None
        end = time.monotonic() + 60
        while url is None:
            line = proc.stderr.readline()
            assert line and time.monotonic() < end, "no URL printed"
            m = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            url = m.group(1) if m else None
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url, timeout=10) as r:  # the token for a cookie, then the page
            status, ctype, body, landed = r.status, r.headers["Content-Type"], r.read(), r.url
        assert status == 200 and ctype.startswith("text/html") and "token" not in landed
        assert b"<html" in body.lower() and f"ws://127.0.0.1:{port}/ws".encode() in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.url.endswith("/login") and b"token" in r.read()  # no cookie: log in
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "warning" not in proc.stderr.read()  # loopback: no exposure warning
