"""`rnn-tui serve` against a hostile client or a hostile neighbour: the authorised-keys file's
modes and kind (StrictModes), connections that never log in (MaxStartups), a connection opening
channel after channel, a keystroke flood, two keys with one comment; and the limits behind them.
The server is a real process; the clients are asyncssh and raw sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import pytest

from rnn_tui.errors import UserError
from rnn_tui.serve.keys import AuthorizedKeys, key_folder
from rnn_tui.serve.limits import (
    INPUT_BURST,
    INPUT_RATE,
    MAX_CHANNELS,
    MAX_COLS,
    MAX_ROWS,
    Backlog,
    InputLimiter,
    Startups,
    StartupsPolicy,
    clamp_size,
)
from test_serve import SRC, START, Screen, Server, connect, dashboard, run, write_key

OTHER_UID = 65534  # nobody


# ---------------------------------------------------------------------------- the limits
def test_window_sizes_are_clamped():
    cases = [((80, 24), (80, 24)), ((100000, 100000), (MAX_COLS, MAX_ROWS)),
             ((0, 0), (80, 24)), ((-5, 30), (80, 30)), ((MAX_COLS + 1, 1), (MAX_COLS, 1)),
             ((2**31, 2**31), (MAX_COLS, MAX_ROWS))]
    for asked, got in cases:
        assert clamp_size(*asked) == got, asked


def test_input_limiter_drops_a_flood_whole_chunks_at_a_time():
    now = [0.0]
    lim = InputLimiter(rate=1000, burst=100, clock=lambda: now[0])
    assert lim.admit(b"a" * 60) == b"a" * 60  # within the burst
    assert lim.admit(b"b" * 50) == b""  # 40 tokens left: the chunk is dropped whole
    assert lim.admit(b"\x1b[A") == b"\x1b[A"  # a key still fits
    assert lim.admit(b"x" * 10**6) == b"" and lim.dropped == 50 + 10**6
    assert lim.admit(b"z" * 37) == b"z" * 37  # the last tokens
    now[0] += 0.001  # one token
    assert lim.admit(b"q") == b"q" and lim.admit(b"q") == b""
    now[0] += 100.0  # refilled, but never beyond the burst
    assert lim.admit(b"y" * 101) == b"" and lim.admit(b"y" * 100) == b"y" * 100


def test_backlog_drops_the_oldest_whole_chunks():
    b = Backlog(limit=10)
    assert b.add(b"") == 0 and not b
    assert b.add(b"\x1b[<35;1;1M") == 0  # one chunk over the limit is kept
    assert b.add(b"abc") == 10 and b.chunks == [b"abc"] and len(b) == 3
    assert b.add(b"defg") == 0 and len(b) == 7
    b.consume(2)
    assert b.peek() == b"c" and len(b) == 5
    b.consume(1)
    assert b.peek() == b"defg" and len(b) == 4
    assert b.add(b"hijklmn") == 4 and b.chunks == [b"hijklmn"]


def test_input_limiter_bounds_any_schedule():
    rng = random.Random(7)
    now = [0.0]
    lim = InputLimiter(clock=lambda: now[0])
    passed = 0
    for _ in range(2000):
        now[0] += rng.random() * 0.01
        passed += len(lim.admit(b"z" * rng.choice([1, 3, 10, 100, 2000, 50000])))
    assert passed <= INPUT_BURST + INPUT_RATE * now[0] + 1


@pytest.mark.parametrize("text, start, rate, full", [
    ("10:30:100", 10, 30, 100), ("5", 5, 100, 5), ("1:0:1", 1, 0, 1)])
def test_max_startups_parses(text, start, rate, full):
    p = StartupsPolicy.parse(text)
    assert (p.start, p.rate, p.full) == (start, rate, full)


@pytest.mark.parametrize("text", ["", "x", "10:30", "0:30:100", "10:101:100", "20:30:10",
                                  "10:-1:100", "1:2:3:4"])
def test_max_startups_refuses(text):
    with pytest.raises(UserError, match="START:RATE:FULL"):
        StartupsPolicy.parse(text)


def test_max_startups_drops_early_at_random_and_stale_ones_first():
    p = StartupsPolicy.parse("10:30:100")
    assert p.drop_probability(9) == 0 and p.drop_probability(10) == pytest.approx(0.3)
    assert p.drop_probability(55) == pytest.approx(0.65) and p.drop_probability(100) == 1
    s = Startups(p, random.Random(1), stale_after=2.0)
    young = [(f"y{i}", 0.1, False) for i in range(100)]
    assert all(s.admit(young) == "newcomer" for _ in range(20))  # full, nothing stale
    assert all(s.admit(young[:9]) is None for _ in range(20))  # below START
    mixed = young[:98] + [("authing", 5.0, True), ("idle", 3.0, False)]
    assert s.admit(mixed) == "idle"  # never began authenticating goes first
    drops = sum(s.admit(young[:55]) is not None for _ in range(4000)) / 4000
    assert 0.6 < drops < 0.7  # random early drop at 65 %


# ---------------------------------------------------------------------------- StrictModes
def make_keys_file(d: Path, key) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    ak = d / "authorized_keys"
    ak.write_text(key.export_public_key().decode())
    os.chmod(ak, 0o600)
    os.chmod(d, 0o700)
    return ak


def bad_file_mode(ak: Path, mode: int) -> Path:
    os.chmod(ak, mode)
    return ak


def bad_folder_mode(ak: Path, mode: int) -> Path:
    os.chmod(ak.parent, mode)
    return ak


def fifo(ak: Path) -> Path:
    ak.unlink()
    os.mkfifo(ak, 0o600)
    return ak


def a_folder(ak: Path) -> Path:
    ak.unlink()
    ak.mkdir(mode=0o700)
    return ak


def link_into_open_folder(ak: Path) -> Path:
    """A symlink in a good folder to a file in a folder anyone can write."""
    open_dir = ak.parent.parent / "open"
    open_dir.mkdir()
    target = open_dir / "ak"
    ak.rename(target)
    os.chmod(open_dir, 0o777)
    ak.symlink_to(target)
    return ak


def link_in_open_folder(ak: Path) -> Path:
    """A symlink that anyone could replace, to a good file."""
    open_dir = ak.parent.parent / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    link = open_dir / "ak"
    link.symlink_to(ak)
    return link


def others_file(ak: Path) -> Path:
    os.chown(ak, OTHER_UID, -1)
    return ak


def others_folder(ak: Path) -> Path:
    os.chown(ak.parent, OTHER_UID, -1)
    return ak


AS_ROOT = os.geteuid() == 0
REFUSED = [
    ("group-writable file", lambda ak: bad_file_mode(ak, 0o620), "writable by others"),
    ("world-writable file", lambda ak: bad_file_mode(ak, 0o602), "writable by others"),
    ("group-writable folder", lambda ak: bad_folder_mode(ak, 0o770), "can be written by others"),
    ("world-writable folder", lambda ak: bad_folder_mode(ak, 0o707), "can be written by others"),
    ("a FIFO", fifo, "not a regular file"),
    ("a folder", a_folder, "not a regular file"),
    ("symlink to a file in an open folder", link_into_open_folder, "can be written by others"),
    ("symlink in an open folder", link_in_open_folder, "can be written by others"),
    pytest.param("another user's file", others_file, "another user",
                 marks=pytest.mark.skipif(not AS_ROOT, reason="chown needs root")),
    pytest.param("another user's folder", others_folder, "another user",
                 marks=pytest.mark.skipif(not AS_ROOT, reason="chown needs root")),
]


@pytest.mark.parametrize("what, spoil, why", REFUSED)
def test_an_untrusted_authorized_keys_file_is_refused(tmp_path, what, spoil, why):
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alice")
    good = make_keys_file(tmp_path / "d", key)
    assert AuthorizedKeys(good, say=lambda _m: None).lookup(key.convert_to_public())
    ak = spoil(good)
    t0 = time.monotonic()
    with pytest.raises(UserError, match=why):
        AuthorizedKeys(ak, say=lambda _m: None)
    assert time.monotonic() - t0 < 5  # a FIFO is refused, not waited on


SPOILED_IN_PLACE = [c for c in REFUSED if getattr(c, "values", c)[1] is not link_in_open_folder]


@pytest.mark.parametrize("what, spoil, why", SPOILED_IN_PLACE)
def test_a_file_spoiled_while_serving_lets_nobody_in(tmp_path, what, spoil, why):
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alice")
    ak = make_keys_file(tmp_path / "d", key)
    said: list[str] = []
    keys = AuthorizedKeys(ak, say=said.append)
    assert keys.lookup(key.convert_to_public()) is not None
    assert spoil(ak) == ak
    assert run(keys.lookup_async(key.convert_to_public())) is None
    assert re.search(why, said[-1]) and "refusing every key" in said[-1]


def test_a_sticky_open_folder_is_accepted(tmp_path):
    """Like /tmp: anyone may write in it, but only an entry's owner can replace the entry."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alice")
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    ak = make_keys_file(sticky / "mine", key)
    assert AuthorizedKeys(ak, say=lambda _m: None).lookup(key.convert_to_public())
    os.chmod(sticky, 0o777)  # without the sticky bit: refused
    with pytest.raises(UserError, match="can be written by others"):
        AuthorizedKeys(ak, say=lambda _m: None)


def test_serve_with_a_fifo_says_one_line_and_exits_2(tmp_path):
    ak = tmp_path / "ak"
    os.mkfifo(ak, 0o600)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "serve", "--port", "0",
                        "--authorized-keys", str(ak), "--runs-dir", str(tmp_path / "runs")],
                       capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    lines = [ln for ln in r.stderr.splitlines()
             if ln.startswith("rnn-tui") and "running as root" not in ln]
    assert r.returncode == 2 and len(lines) == 1 and "not a regular file" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("hkeys")
    alice = write_key(d / "alice", "alice")
    alice2 = write_key(d / "alice2", "alice")  # another key, the same comment
    write_key(d / "host", "host")
    ak = d / "authorized_keys"
    ak.write_text(alice.export_public_key().decode() + alice2.export_public_key().decode())
    os.chmod(ak, 0o600)
    return {"alice": alice, "alice2": alice2, "ak": ak, "host": d / "host"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, keys):
    s = Server(tmp_path_factory.mktemp("hserve"), "--max-sessions", "2", "--login-timeout", "4",
               authorized=keys["ak"], host_key=keys["host"])
    yield s
    s.stop()


def test_a_fifo_swapped_in_while_serving_freezes_nothing(server, keys):
    ak = keys["ak"]
    kept = ak.with_name("kept")
    ak.rename(kept)
    os.mkfifo(ak, 0o600)
    try:
        t0 = time.monotonic()
        with pytest.raises(asyncssh.PermissionDenied):
            run(asyncio.wait_for(connect(server.port, keys["alice"]), 10))
        assert time.monotonic() - t0 < 10
        server.wait_log(r"not a regular file.*refusing every key")
    finally:
        ak.unlink()
        kept.rename(ak)

    async def ok():
        async with await connect(server.port, keys["alice"]):
            return True

    assert run(ok())


def test_idle_connections_do_not_lock_out_a_user(server, keys):
    """50 connections that send nothing, renewed as the server drops them, and a user logs in."""
    idle: list[socket.socket] = []

    def top_up() -> None:
        for s in list(idle):
            try:
                s.setblocking(False)
                if s.recv(1) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                continue  # still open
            except OSError:
                pass
            idle.remove(s)
            s.close()
        while len(idle) < 50:
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))

    try:
        top_up()
        end = time.monotonic() + 3
        while time.monotonic() < end:  # the attacker keeps 50 open; they grow stale
            top_up()
            time.sleep(0.2)

        async def login():
            t0 = time.monotonic()
            while True:
                top_up()
                try:
                    async with await asyncio.wait_for(connect(server.port, keys["alice"]), 5):
                        return time.monotonic() - t0
                except (OSError, asyncssh.Error, asyncio.TimeoutError):
                    assert time.monotonic() - t0 < 10, "locked out"

        took = run(login())
        assert took < 10
    finally:
        for s in idle:
            s.close()
    server.wait_log(r"dropped before login: \d+ (newcomers past MaxStartups|stale logins)")


def test_a_connection_is_refused_its_eleventh_channel(server, keys):
    from asyncssh.channel import SSHClientChannel

    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            loop = asyncio.get_running_loop()

            async def open_channel():
                chan = SSHClientChannel(conn, loop, "strict", None, "strict", 1 << 20, 32768)
                await chan._open(b"session")  # a channel, and no request on it
                return chan

            chans = [await open_channel() for _ in range(MAX_CHANNELS)]
            with pytest.raises(asyncssh.ChannelOpenError):
                await open_channel()
            chans[0].close()  # the cap is on channels open at once
            await asyncio.sleep(0.5)
            chans[0] = await open_channel()
            for c in chans:
                c.close()

    run(asyncio.wait_for(go(), 30))
    server.wait_log(rf"channels past {MAX_CHANNELS} refused")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def test_a_keystroke_flood_is_dropped_and_q_still_quits(server, keys):
    flood = 50 << 20

    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            s = await Screen.open(conn, 100, 30)
            assert await s.wait_for(dashboard, START), s.text()
            before = set(children(server.proc.pid))
            apps = [p for p in before if rss_mb(p) > 0]
            assert apps
            peak = [0.0]
            stop = asyncio.Event()

            async def watch():
                while not stop.is_set():
                    peak[0] = max([peak[0], *(rss_mb(p) for p in apps)])
                    await asyncio.sleep(0.1)

            watcher = asyncio.ensure_future(watch())
            chunk = b"x" * (1 << 20)
            for _ in range(flood // len(chunk)):
                s.proc.stdin.write(chunk)
                await s.proc.stdin.drain()
            t0 = time.monotonic()
            while s.proc.exit_status is None and time.monotonic() - t0 < 5:
                s.proc.stdin.write(b"q")
                try:
                    await asyncio.wait_for(s.proc.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            took = time.monotonic() - t0
            stop.set()
            await watcher
            return took, s.proc.exit_status, peak[0]

    took, status, peak = run(go())
    assert status == 0 and took < 5, (took, status)
    assert 0 < peak < 400, peak
    server.wait_log(r"app exited 0 .*bytes of input dropped")


def test_two_keys_with_one_comment_have_folders_of_their_own(server, keys):
    async def hello(key):
        async with await connect(server.port, key) as conn:
            r = await conn.run("x")  # refused with a line, but logged with its key's folder
            return r.exit_status

    assert run(hello(keys["alice"])) == 1 and run(hello(keys["alice2"])) == 1
    a, b = key_folder(keys["alice"].public_data), key_folder(keys["alice2"].public_data)
    assert a != b
    server.wait_log(rf"\({a} 'alice'\)")
    server.wait_log(rf"\({b} 'alice'\)")
    assert not (server.runs / "alice").exists()


def test_keys_folder_is_the_fingerprint():
    import base64
    import hashlib

    k = asyncssh.generate_private_key("ssh-ed25519", comment="../../etc")
    digest = base64.b64decode(k.get_fingerprint("sha256").split(":", 1)[1] + "=")
    assert digest == hashlib.sha256(k.public_data).digest()
    assert key_folder(k.public_data) == "key-" + digest.hex()[:16]
    from rnn_tui.serve.keys import parse_authorized_keys

    twins = [asyncssh.generate_private_key("ssh-ed25519", comment="alice") for _ in range(2)]
    entries, _ = parse_authorized_keys("".join(t.export_public_key().decode() for t in twins))
    assert [e.comment for e in entries.values()] == ["alice", "alice"]
    assert len({e.name for e in entries.values()}) == 2  # one folder each


def test_a_host_key_that_is_not_a_file_is_refused_without_waiting(tmp_path):
    from rnn_tui.serve.keys import load_host_key

    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(UserError, match="not a regular file"):
        load_host_key(tmp_path / "fifo", tmp_path)


# ---------------------------------------------------------------------------- --web
class WebServer:
    """``rnn-tui serve --web`` in a process of its own; the URL with the token it prints."""

    def __init__(self, tmp: Path, *extra: str):
        from test_serve import TINY, free_port

        self.port = free_port()
        self.runs = tmp / "runs"
        env = dict(os.environ, XDG_STATE_HOME=str(tmp / "state"),
                   PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnn_tui.cli", "serve", "--web", "--port", str(self.port),
             "--runs-dir", str(self.runs), *extra, *TINY],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True)
        self.lines: list[str] = []
        import threading

        threading.Thread(target=self._read, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.wait_log(r"web app on http://127\.0\.0\.1:\d+/", 60)
        m = [re.search(r"\?token=(\S+)", ln) for ln in self.lines]
        self.token = next((x.group(1) for x in m if x), "")

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_log(self, pattern: str, timeout: float = 10) -> re.Match:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no log line like {pattern!r}:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    s = WebServer(tmp_path_factory.mktemp("web"), "--max-sessions", "1")
    yield s
    s.stop()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


async def ws_connect(session, url: str, **kw):
    import aiohttp

    return await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=10),
                                    max_msg_size=0, **kw)


def test_web_refuses_foreign_origins_foreign_hosts_and_no_token(web):
    import aiohttp

    own = web.base
    cases = [  # (query, headers, why)
        (f"?token={web.token}", {"Origin": "http://evil.example.com"}, "foreign origin"),
        (f"?token={web.token}", {"Origin": f"http://127.0.0.1.evil.example.com:{web.port}"},
         "look-alike origin"),
        (f"?token={web.token}", {"Origin": "null"}, "sandboxed page"),
        (f"?token={web.token}", {"Host": f"evil.example.com:{web.port}"}, "DNS rebinding"),
        (f"?token={web.token}", {"Host": "127.0.0.1:1"}, "another port"),
        ("", {"Origin": own}, "no token"),
        ("?token=", {"Origin": own}, "empty token"),
        ("?token=" + "A" * 43, {"Origin": own}, "wrong token"),
        ("", {"Origin": own, "Cookie": f"rnn-tui-{web.port}=" + "0" * 64}, "forged cookie"),
    ]

    async def go():
        async with aiohttp.ClientSession() as session:
            for query, headers, why in cases:
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                    await ws_connect(session, f"{own}/ws{query}", headers=headers)
                assert e.value.status == 403, why
            for path in ("/", "/static/js/textual.js", "/download/x"):  # every route
                async with session.get(own + path, allow_redirects=False,
                                       headers={"Origin": "http://evil.example.com"}) as r:
                    assert r.status == 403, path

    run(asyncio.wait_for(go(), 60))
    assert not any("app pid" in ln for ln in web.lines)  # no app was started


def csi_positions(data: bytes) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in re.findall(rb"\x1b\[(\d+);(\d+)H", data)]


def test_web_serves_with_token_and_origin_clamps_and_ends_the_app(web):
    """The token and the right Origin: an app, drawn at a clamped size, ended with its socket."""
    import aiohttp

    async def go():
        async with aiohttp.ClientSession() as session:
            url = f"{web.base}/ws?token={web.token}&width=100000&height=100000"
            ws = await ws_connect(session, url, headers={"Origin": web.base})
            m = await asyncio.get_running_loop().run_in_executor(
                None, web.wait_log, r"web session (\d+) .*app pid (\d+) at (\d+)x(\d+)", 30)
            pid, cols, rows = int(m.group(2)), int(m.group(3)), int(m.group(4))
            assert (cols, rows) == (MAX_COLS, MAX_ROWS)
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"COLUMNS={MAX_COLS}".encode() in env and f"ROWS={MAX_ROWS}".encode() in env
            assert not any(v.startswith(b"XDG_STATE_HOME=") for v in env)  # a clean env
            drawn = bytearray()
            end = time.monotonic() + START
            while time.monotonic() < end and max((r for r, _ in csi_positions(drawn)),
                                                 default=0) < rows // 2:
                msg = await ws.receive(timeout=START)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    drawn += msg.data
                elif msg.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"closed: {msg}")
            # a resize past the limit is clamped too
            await ws.send_str(json.dumps(["resize", {"width": 100000, "height": 100000}]))
            await ws.send_str("not json")  # ignored
            await ws.send_str(json.dumps(["stdin", "x" * 60000]))  # a flood: dropped
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                try:
                    msg = await ws.receive(timeout=1)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    drawn += msg.data
            pos = csi_positions(drawn)
            assert pos and max(r for r, _ in pos) <= MAX_ROWS and max(c for _, c in pos) \
                <= MAX_COLS
            assert max(r for r, _ in pos) > 100  # it did draw at the large size
            assert rss_mb(pid) < 400
            await ws.close()
            t0 = time.monotonic()
            while alive(pid) and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.1)
            return time.monotonic() - t0, alive(pid)

    took, still = run(asyncio.wait_for(go(), START + 60))
    assert not still and took < 5, took
    web.wait_log(r"web session \d+: app exited")


def test_web_sessions_are_capped_and_a_browser_logs_in_with_a_cookie(web):
    import aiohttp

    async def go():
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{web.base}/?token={web.token}") as r:  # the printed URL
                page = await r.text()
                assert r.status == 200 and "token" not in str(r.url)
                assert f"ws://127.0.0.1:{web.port}/ws" in page
            first = await ws_connect(session, f"{web.base}/ws", headers={"Origin": web.base})
            await asyncio.get_running_loop().run_in_executor(
                None, web.wait_log, r"web session \d+ .*app pid", 30)
            second = await ws_connect(session, f"{web.base}/ws", headers={"Origin": web.base})
            said = b""
            while True:
                msg = await second.receive(timeout=10)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    said += msg.data
                else:
                    break
            assert b"all 1 session are in use" in said and second.close_code == 1013
            await first.close()

    run(asyncio.wait_for(go(), 90))
    web.wait_log(r"web session refused .*all 1 in use")


def test_web_stopping_the_server_ends_every_app(tmp_path):
    import aiohttp

    srv = WebServer(tmp_path, "--max-sessions", "2")
    try:
        async def go():
            async with aiohttp.ClientSession() as session:
                ws = await ws_connect(session, f"{srv.base}/ws?token={srv.token}")
                m = await asyncio.get_running_loop().run_in_executor(
                    None, srv.wait_log, r"app pid (\d+)", 30)
                pid = int(m.group(1))
                await asyncio.sleep(1.0)
                srv.proc.send_signal(signal.SIGTERM)
                rc = await asyncio.get_running_loop().run_in_executor(None, srv.proc.wait, 15)
                t0 = time.monotonic()
                while alive(pid) and time.monotonic() - t0 < 5:
                    await asyncio.sleep(0.1)
                await ws.close()
                return rc, alive(pid)

        rc, still = run(asyncio.wait_for(go(), 90))
        assert rc == 0 and not still, "\n".join(srv.lines)
    finally:
        srv.stop()


@pytest.mark.parametrize("mode, why", [(0o644, "chmod 600"), (0o600, None)])
def test_web_password_file(tmp_path, mode, why):
    import aiohttp

    pw = tmp_path / "pw"
    pw.write_text("correct horse battery\n")
    os.chmod(pw, mode)
    if why:
        from test_serve import TINY

        env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
                   PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        r = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "serve", "--web", "--port",
                            "0", "--password-file", str(pw), "--runs-dir", str(tmp_path / "r"),
                            *TINY], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 2 and why in r.stderr and "Traceback" not in r.stderr
        return
    srv = WebServer(tmp_path, "--password-file", str(pw))
    try:
        assert srv.token == ""  # no token printed: the password is the way in

        async def go():
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                async with session.get(srv.base + "/") as r:
                    assert str(r.url).endswith("/login") and "password" in await r.text()
                for secret, ok in (("wrong", False), ("correct horse battery", True)):
                    async with session.post(srv.base + "/login", data={"secret": secret},
                                            headers={"Origin": srv.base}) as r:
                        assert (r.status == 200 and "ws://" in await r.text()) == ok, secret
                async with session.post(srv.base + "/login", data={"secret": "x"},
                                        headers={"Origin": "http://evil.example.com"}) as r:
                    assert r.status == 403

        run(asyncio.wait_for(go(), 60))
    finally:
        srv.stop()


def test_environment_requests_are_bounded(server, keys):
    """50,000 distinct variables of 1 KB on one channel: the server keeps 16, and stays small."""
    before = rss_mb(server.proc.pid)
    env = {f"V{i}": "v" * 1000 for i in range(50_000)}

    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            r = await conn.run("x", env=env)
            return r.exit_status

    assert run(asyncio.wait_for(go(), 120)) == 1  # refused with its one line, as any command
    grew = rss_mb(server.proc.pid) - before
    assert grew < 20, grew  # the variables alone would take more than 50 MB


def test_a_window_change_flood_costs_one_redraw_per_interval(server, keys):
    """20,000 window changes, the last to 120 × 40: the app ends up drawn at 120 × 40, small, and
    `q` quits."""
    async def go():
        async with await connect(server.port, keys["alice"]) as conn:
            s = await Screen.open(conn, 100, 30)
            assert await s.wait_for(dashboard, START), s.text()
            apps = [p for p in children(server.proc.pid) if rss_mb(p) > 0]
            for i in range(20_000):
                s.proc.change_terminal_size(60 + i % 400, 20 + i % 150)
                if i % 1000 == 0:
                    await asyncio.sleep(0)
            s.resize(120, 40)
            assert await s.wait_for(lambda t: len(t.splitlines()) == 40 and dashboard(t)
                                    and len(t.splitlines()[-1].rstrip()) > 110, 30), s.text()
            peak = max(rss_mb(p) for p in apps)
            t0 = time.monotonic()
            while s.proc.exit_status is None and time.monotonic() - t0 < 5:
                s.proc.stdin.write(b"q")
                try:
                    await asyncio.wait_for(s.proc.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            return time.monotonic() - t0, s.proc.exit_status, peak

    took, status, peak = run(go())
    assert status == 0 and took < 5, (took, status)
    assert 0 < peak < 400, peak
