"""``rnn-tui serve --web``: the same app in a browser, one process per visitor, safe by default.

textual-serve does the work (an aiohttp server whose page opens a WebSocket; each WebSocket gets
its own app process). It checks nothing, so :class:`SafeServer` wraps it — a subclass and one
aiohttp middleware, no change to textual-serve itself:

- **Host and Origin.** Every request's ``Host`` must name the served address (127.0.0.1,
  localhost or [::1] on loopback; the address given otherwise) or ``--public-url``; a request
  that carries an ``Origin`` must come from one of those. This stops DNS rebinding and
  cross-site WebSocket hijacking (a page elsewhere opening ``ws://127.0.0.1:PORT/ws``).
- **Authentication**, the Jupyter way: a token made at start and printed as a URL
  (``/?token=…``); the first visit trades it for a cookie (HttpOnly, SameSite=Strict) and is
  sent on without it. Or ``--password-file``: a login page asks for the password in it. Scripts
  may send ``?token=`` or ``Authorization: token …``. A wrong secret waits a second, one at a
  time.
- **Sessions capped** (``--max-sessions``): one more is told so and closed.
- **Window sizes clamped** and **input rate-limited** as over SSH (:mod:`rnn_tui.serve.limits`).
- **Apps end with their WebSocket and with the server**: the app is asked to quit, then killed
  (its whole process group) if it is still there :data:`QUIT_GRACE` seconds later.
- Visitors' apps get a clean environment (as over SSH), not the server's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import ipaddress
import json
import os
import secrets
import signal
import socket
import stat
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from rnn_tui.errors import UserError
from rnn_tui.serve import base_env, child_command, kernel_cache_dir, state_dir
from rnn_tui.serve.limits import RESIZE_EVERY, InputLimiter, clamp_size

QUIT_GRACE = 3.0  # seconds an app has to quit (and save) after its WebSocket closes
KILL_WAIT = 1.0  # seconds to wait for a killed app to be reaped
SHUTDOWN_GRACE = 5.0  # seconds the server waits for open requests when it stops
FAILED_LOGIN_DELAY = 1.0  # seconds every wrong token or password waits, one at a time
MAX_MESSAGE = 1 << 16  # bytes in one WebSocket message from a browser
MAX_PASSWORD_FILE = 4096
WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """The one line said when the web server is reachable from other machines."""
    if is_loopback(host):
        return None
    return (f"rnn-tui serve: warning: --web listens on {host}:{port}, reachable from other "
            "machines; its token (or password) is all that keeps them out, and it travels in "
            "the clear unless --public-url is https behind a proxy")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _netloc(host: str, port: int) -> str:
    return f"{_bracket(host)}:{port}"


def _forms(host: str, port: int, default: int) -> set[str]:
    """``host:port``, and the bare host too when the port is the scheme's default (browsers
    leave it out)."""
    out = {_netloc(host, port)}
    if port == default:
        out.add(_bracket(host))
    return out


def public_hosts(public_url: str | None) -> set[str]:
    if not public_url:
        return set()
    u = urllib.parse.urlsplit(public_url)
    default = 443 if u.scheme == "https" else 80
    return _forms(u.hostname.lower(), u.port or default, default)


def allowed_hosts(host: str, port: int, public_url: str | None) -> set[str]:
    """The ``Host`` header values this server answers to (lower case)."""
    if host in WILDCARDS and not public_url:
        raise UserError(f"--host {host or '(every interface)'} with --web: give --public-url, "
                        "the address browsers will use (for example http://myhost:8000), so "
                        "that requests for other names can be refused")
    names = {"127.0.0.1", "localhost", "::1"} if is_loopback(host) else set()
    if host not in WILDCARDS:
        names.add(host.strip("[]").lower())
    out = set().union(*(_forms(n, port, 80) for n in names)) if names else set()
    return out | public_hosts(public_url)


def check_public_url(url: str | None) -> str | None:
    if url is None:
        return None
    u = urllib.parse.urlsplit(url)
    try:
        u.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        u = None
    if u is None or u.scheme not in ("http", "https") or not u.hostname or u.query or \
            u.fragment or u.username or u.password:
        raise UserError(f"--public-url must look like http://host:port or https://host/path, "
                        f"got {url!r}")
    return url.rstrip("/")


def read_password_file(path: str | Path) -> str:
    """The password: the file's first line. The file must be a regular file of the server's
    user (or root) that nobody else can read or write (as a private key)."""
    p = Path(path).expanduser()
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as err:
        raise UserError(f"cannot read --password-file {p}: {err.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"--password-file {p} is not a regular file")
        if st.st_uid not in (0, os.geteuid()):
            raise UserError(f"--password-file {p} belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o077:
            raise UserError(f"--password-file {p} can be read or written by others (mode "
                            f"{st.st_mode & 0o777:o}); `chmod 600 {p}`")
        data = os.read(fd, MAX_PASSWORD_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_PASSWORD_FILE:
        raise UserError(f"--password-file {p} is too large (a password on its first line)")
    try:
        password = data.decode("utf-8").splitlines()[0].strip() if data.strip() else ""
    except UnicodeDecodeError:
        raise UserError(f"--password-file {p} is not UTF-8 text") from None
    if len(password) < 8:
        raise UserError(f"--password-file {p}: the password on its first line must have at "
                        "least 8 characters")
    return password


@dataclass
class Door:
    """Who may come in: the hosts and origins answered, and the secret (token or password)."""

    hosts: set[str]
    scheme: str  # of the public URL: https means Secure cookies
    secret: str
    is_password: bool
    cookie_name: str
    session_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def origins(self) -> set[str]:
        return {f"{s}://{h}" for h in self.hosts for s in ("http", "https")}

    def cookie_value(self) -> str:
        return hmac.new(self.session_key, b"rnn-tui web session", hashlib.sha256).hexdigest()

    def secret_ok(self, given: str | None) -> bool:
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"),
                                   self.secret.encode("utf-8"))

    def cookie_ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode("utf-8", "replace"),
                                                   self.cookie_value().encode())


LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>rnn-tui</title>
<style>body{{font-family:monospace;background:#111;color:#ddd;display:flex;justify-content:center;
align-items:center;height:90vh}}input{{font:inherit;padding:.3em}}p.e{{color:#f66}}</style>
</head><body><form method="post" action="login"><p>rnn-tui: {prompt}</p>{error}
<input type="password" name="secret" autofocus size="40"> <input type="submit" value="Open">
</form></body></html>"""


def build_server(argv: list[str], host: str, port: int, public_url: str | None,
                 door: Door, max_sessions: int, home: Path, say=None):
    """The textual-serve server, wrapped (see the module docstring)."""
    from aiohttp import WSMsgType, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    say = say or (lambda line: print(f"rnn-tui serve: {line}", file=sys.stderr, flush=True))
    cache_dir = kernel_cache_dir()

    class SafeAppService(AppService):
        """One visitor's app: started without a shell, in a process group of its own, with a
        clean environment; sizes clamped; stopped for certain."""

        async def _open_app_process(self, width: int = 80, height: int = 24):
            env = base_env(home, cache_dir)
            env.update(TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver", TEXTUAL_FPS="60",
                       TEXTUAL_COLOR_SYSTEM="truecolor", TERM_PROGRAM="textual",
                       COLUMNS=str(width), ROWS=str(height))
            self._process = process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
            self._stdin = process.stdin
            return process

        async def start(self, width: int, height: int) -> None:
            await super().start(*clamp_size(width, height))

        async def set_terminal_size(self, width: int, height: int) -> None:
            await super().set_terminal_size(*clamp_size(width, height))

        def signal_group(self, sig: int) -> None:
            p = self._process
            if p is None or p.returncode is not None:
                return
            try:
                os.killpg(p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

        async def stop(self) -> None:
            """Ask the app to quit; kill it if it is still there after QUIT_GRACE seconds."""
            p = self._process
            if p is None:
                return
            if p.returncode is None:
                try:
                    await asyncio.wait_for(self.send_meta({"type": "quit"}), 1.0)
                except (asyncio.TimeoutError, OSError):
                    pass
                try:
                    await asyncio.wait_for(p.wait(), QUIT_GRACE)
                except asyncio.TimeoutError:
                    self.signal_group(signal.SIGKILL)
                    try:
                        await asyncio.wait_for(p.wait(), KILL_WAIT)
                    except asyncio.TimeoutError:
                        pass
            self.signal_group(signal.SIGKILL)  # anything it left running in its group
            if self._task is not None:
                task, self._task = self._task, None
                try:
                    await asyncio.wait_for(task, KILL_WAIT)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    task.cancel()

    @web.middleware
    async def guard(request: web.Request, handler):
        host = (request.headers.get("Host") or "").lower()
        if host not in door.hosts:
            return web.Response(status=403, text="rnn-tui: this address is not served here "
                                "(see --public-url)\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in door.origins:
            return web.Response(status=403, text="rnn-tui: requests from other sites are "
                                "refused\n")
        if request.path == "/login":
            return await handler(request)
        token = request.query.get("token")
        auth = request.headers.get("Authorization", "")
        header = auth[6:].strip() if auth.lower().startswith("token ") else None
        given = token if token is not None else header
        if given is not None:
            if not await server.check_secret(given):
                return web.Response(status=403, text="rnn-tui: wrong token\n")
            if token is not None and request.method == "GET" and request.path != "/ws":
                query = {k: v for k, v in request.query.items() if k != "token"}
                to = request.path + ("?" + urllib.parse.urlencode(query) if query else "")
                resp = web.HTTPFound(to)
                server.set_cookie(resp)
                raise resp
            return await handler(request)
        if door.cookie_ok(request.cookies.get(door.cookie_name)):
            return await handler(request)
        if request.method == "GET" and request.path == "/":
            raise web.HTTPFound("login")
        return web.Response(status=403, text="rnn-tui: log in first\n")

    class SafeServer(Server):
        def __init__(self):
            shown = public_url or f"http://{_netloc(host, port) if port != 80 else host}"
            super().__init__(" ".join(argv), host=host, port=port, title="rnn-tui",
                             public_url=shown)
            self.live: dict[int, tuple[web.WebSocketResponse, SafeAppService]] = {}
            self.n_sessions = 0
            self._login_lock = asyncio.Lock()

        def initialize_logging(self) -> None:
            import logging

            logging.basicConfig(level=logging.WARNING, format="rnn-tui serve: %(message)s")

        async def check_secret(self, given: str) -> bool:
            if door.secret_ok(given):
                return True
            async with self._login_lock:  # guesses, one a second
                await asyncio.sleep(FAILED_LOGIN_DELAY)
            return False

        def set_cookie(self, resp: web.StreamResponse) -> None:
            resp.set_cookie(door.cookie_name, door.cookie_value(), httponly=True,
                            samesite="Strict", path="/", secure=door.scheme == "https")

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard)
            app.router.add_get("/login", self.handle_login_page)
            app.router.add_post("/login", self.handle_login)
            return app

        async def handle_login_page(self, request, error: str = "") -> web.Response:
            prompt = "the password" if door.is_password else \
                "the token printed when the server started"
            body = LOGIN_PAGE.format(prompt=html.escape(prompt),
                                     error=f'<p class="e">{html.escape(error)}</p>' if error
                                     else "")
            return web.Response(text=body, content_type="text/html",
                                status=403 if error else 200)

        async def handle_login(self, request: web.Request) -> web.StreamResponse:
            form = await request.post()
            given = form.get("secret")
            if not isinstance(given, str) or not await self.check_secret(given):
                return await self.handle_login_page(request, "wrong; try again")
            resp = web.HTTPFound("./")
            self.set_cookie(resp)
            raise resp

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            """textual-serve's page, its URLs on the address the browser used (already checked),
            so that the cookie goes with the WebSocket."""
            import aiohttp_jinja2

            if request.host.lower() in public_hosts(public_url):
                base = public_url
            else:
                base = f"http://{request.host}"
            ws = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
            font_size = request.query.get("fontsize", "16")
            context = {"font_size": int(font_size) if font_size.isdigit() and
                       len(font_size) < 3 else 16,
                       "app_websocket_url": f"{ws}/ws",
                       "config": {"static": {"url": f"{base}/static/"}},
                       "application": {"name": self.title}}
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def on_startup(self, app) -> None:
            """Said once the port is listening (see :meth:`serve`), not before."""

        def say_ready(self) -> None:
            say(f"web app on {self.public_url}/ (at most {max_sessions} session"
                f"{'s' if max_sessions != 1 else ''})")
            if door.is_password:
                say(f"open {self.public_url}/ and give the password in --password-file")
            else:
                say(f"open {self.public_url}/?token={door.secret}")

        async def on_shutdown(self, app) -> None:
            live = list(self.live.values())
            say(f"shutting down: closing {len(live)} web session{'s' if len(live) != 1 else ''}")
            await asyncio.gather(*(svc.stop() for _ws, svc in live), return_exceptions=True)
            await asyncio.gather(*(ws.close(code=1001, message=b"server stopping")
                                   for ws, _svc in live), return_exceptions=True)

        async def _process_messages(self, websocket, app_service) -> None:
            """As textual-serve's, but a malformed message is ignored and input is
            rate-limited (a flood is dropped), and window sizes are given to the app at most
            every RESIZE_EVERY seconds (the latest one wins)."""
            limiter = InputLimiter()
            size: list = [None, None]  # the latest size asked for, the task that will give it

            async def give_size() -> None:
                await asyncio.sleep(RESIZE_EVERY)
                (w, h), size[1] = size[0], None
                await app_service.set_terminal_size(w, h)

            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    envelope = json.loads(message.data)
                    kind, data = envelope[0], (envelope[1] if len(envelope) > 1 else None)
                except (ValueError, TypeError, IndexError, KeyError):
                    continue
                if kind == "stdin" and isinstance(data, str):
                    admitted = limiter.admit(data.encode("utf-8", "replace"))
                    if admitted:
                        await app_service.send_bytes(admitted)
                elif kind == "resize" and isinstance(data, dict):
                    w, h = data.get("width"), data.get("height")
                    if isinstance(w, int) and isinstance(h, int):
                        size[0] = (w, h)
                        if size[1] is None:
                            size[1] = asyncio.ensure_future(give_size())
                elif kind == "ping" and isinstance(data, str) and len(data) < 64:
                    await websocket.send_json(["pong", data])
                elif kind == "blur":
                    await app_service.blur()
                elif kind == "focus":
                    await app_service.focus()
            if size[1] is not None:
                size[1].cancel()
            app_service.dropped_input = limiter.dropped

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
            await websocket.prepare(request)
            if len(self.live) >= max_sessions:
                say(f"web session refused from {request.remote}: all {max_sessions} in use")
                await websocket.send_bytes(
                    f"rnn-tui serve: all {max_sessions} session{'s' if max_sessions != 1 else ''}"
                    " are in use; try again later\r\n".encode())
                await websocket.close(code=1013, message=b"all sessions in use")
                return websocket

            def number(name: str, default: int) -> int:
                v = request.query.get(name, "")
                return int(v) if v.isdigit() and len(v) < 10 else default

            cols, rows = clamp_size(number("width", 80), number("height", 24))
            self.n_sessions += 1
            sid = self.n_sessions
            svc = SafeAppService(self.command, write_bytes=websocket.send_bytes,
                                 write_str=websocket.send_str, close=websocket.close,
                                 download_manager=self.download_manager, debug=False)
            svc.dropped_input = 0
            started = time.monotonic()
            self.live[sid] = (websocket, svc)
            try:
                await svc.start(cols, rows)
                say(f"web session {sid} from {request.remote}: app pid {svc._process.pid} at "
                    f"{cols}x{rows}")
                await self._process_messages(websocket, svc)
            except (OSError, asyncio.CancelledError) as err:
                if not isinstance(err, asyncio.CancelledError):
                    say(f"web session {sid}: {err}")
            finally:
                await svc.stop()
                self.live.pop(sid, None)
                p = svc._process
                status = p.returncode if p is not None else None
                dropped = f", {svc.dropped_input} bytes of input dropped" if \
                    svc.dropped_input else ""
                say(f"web session {sid}: app exited {status} after "
                    f"{time.monotonic() - started:.0f}s{dropped}")
                if not websocket.closed:
                    await websocket.close()
            return websocket

        def serve(self, debug: bool = False) -> None:
            """Listen, say where (once listening), and run until SIGINT, SIGTERM or SIGHUP."""
            self.initialize_logging()
            asyncio.run(self._serve())

        async def _serve(self) -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, stop.set)
            runner = web.AppRunner(await self._make_app(), access_log=None,
                                   shutdown_timeout=SHUTDOWN_GRACE)
            await runner.setup()
            try:
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as err:
                    why = os.strerror(err.errno) if err.errno else str(err)
                    raise UserError(f"cannot listen on {host}:{port}: {why}") from None
                self.say_ready()
                await stop.wait()
            finally:
                await runner.cleanup()

    server = SafeServer()
    return server


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host if host not in WILDCARDS else "", 0))
        return s.getsockname()[1]


def serve_web(host: str, port: int, runs_root: Path, app_argv: list[str], task: str,
              public_url: str | None = None, password_file: str | None = None,
              max_sessions: int = 2) -> int:
    public_url = check_public_url(public_url)
    if port == 0:
        port = free_port(host)
    hosts = allowed_hosts(host, port, public_url)
    if password_file:
        secret, is_password = read_password_file(password_file), True
    else:
        secret, is_password = secrets.token_urlsafe(32), False
    scheme = urllib.parse.urlsplit(public_url).scheme if public_url else "http"
    door = Door(hosts=hosts, scheme=scheme, secret=secret, is_password=is_password,
                cookie_name=f"rnn-tui-{port}")
    warning = exposure_warning(host, port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        (runs_root / "web").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create the runs folder {runs_root}: {err.strerror}") from None
    home = state_dir() / "homes" / "web"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [*child_command(), "--name-from-pid", task, "--", "--runs-dir",
            str(runs_root / "web"), "--confine", str(runs_root), *app_argv]
    build_server(argv, host, port, public_url, door, max_sessions, home).serve()
    return 0
