"""The bounds both doors (SSH and web) put on what a client can make the server or an app do.

- window sizes are clamped to :data:`MAX_COLS` × :data:`MAX_ROWS` (an app's memory grows with
  its screen: a 100000 × 100000 window would take gigabytes), and given to the app at most every
  :data:`RESIZE_EVERY` seconds, the latest one winning (a flood of window changes costs one
  redraw per interval);
- input reaches an app at most at :data:`INPUT_RATE` bytes a second, in bursts of up to
  :data:`INPUT_BURST` (:class:`InputLimiter`, a token bucket); what comes faster is dropped a
  whole chunk at a time (a key or an escape sequence is never cut in two), so a flood never
  queues up in the server or in the app, and a key pressed after it still gets through;
- connections still logging in are capped as OpenSSH's ``MaxStartups start:rate:full``
  (:class:`Startups`): from ``start`` of them on, a new one is dropped with a probability that
  grows linearly from ``rate`` % to 100 % at ``full``. Before a newcomer is dropped, a connection
  that has been logging in for :data:`STALE_AFTER` seconds or more is dropped instead, if there
  is one (those that never began to authenticate first, then the oldest), so idle connections
  make room for new ones rather than lock everyone out.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from rnn_tui.errors import UserError

MAX_COLS = 500
MAX_ROWS = 200
DEFAULT_COLS, DEFAULT_ROWS = 80, 24
INPUT_RATE = 512  # bytes a second: far above typing; the app takes ~2,000 keys/s when busy
INPUT_BURST = 1024  # bytes at once (a short paste)
INPUT_BACKLOG = 512  # bytes admitted but not yet taken by the app; older chunks are dropped
MAX_CHANNELS = 10  # session channels open at once on one connection (OpenSSH's MaxSessions)
STALE_AFTER = 2.0  # seconds logging in after which a connection may be dropped for a newcomer
MAX_STARTUPS = "10:30:100"
RESIZE_EVERY = 0.1  # seconds between window sizes given to an app (the latest one wins)


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """A window size a client asked for, within 1..MAX_COLS × 1..MAX_ROWS; a size of 0 or less
    (unknown) becomes 80 × 24."""
    cols = DEFAULT_COLS if cols <= 0 else min(cols, MAX_COLS)
    rows = DEFAULT_ROWS if rows <= 0 else min(rows, MAX_ROWS)
    return cols, rows


class InputLimiter:
    """A token bucket: ``rate`` bytes a second, holding at most ``burst``.

    :meth:`admit` returns ``data`` if there are tokens for all of it, else nothing: a chunk is
    dropped whole (and counted in :attr:`dropped`), never cut inside a key's escape sequence."""

    def __init__(self, rate: float = INPUT_RATE, burst: float = INPUT_BURST,
                 clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.last = clock()
        self.dropped = 0

    def admit(self, data: bytes) -> bytes:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if len(data) > self.tokens:
            self.dropped += len(data)
            return b""
        self.tokens -= len(data)
        return bytes(data)


class Backlog:
    """Chunks admitted but not yet taken by the app, at most ``limit`` bytes: when more come,
    the oldest whole chunks are dropped."""

    def __init__(self, limit: int = INPUT_BACKLOG):
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, data: bytes) -> int:
        """Queue ``data``; how many bytes were dropped to make room."""
        if not data:
            return 0
        self.chunks.append(data)
        self.size += len(data)
        dropped = 0
        while self.size > self.limit and len(self.chunks) > 1:
            old = self.chunks.pop(0)
            self.size -= len(old)
            dropped += len(old)
        return dropped

    def peek(self) -> bytes:
        return self.chunks[0] if self.chunks else b""

    def consume(self, n: int) -> None:
        """``n`` bytes of the first chunk were taken."""
        first = self.chunks[0]
        if n >= len(first):
            self.chunks.pop(0)
        else:
            self.chunks[0] = first[n:]
        self.size -= min(n, len(first))

    def clear(self) -> None:
        self.chunks.clear()
        self.size = 0


@dataclass(frozen=True)
class StartupsPolicy:
    start: int
    rate: int  # percent
    full: int

    @classmethod
    def parse(cls, text: str) -> StartupsPolicy:
        """``START:RATE:FULL`` (as sshd's MaxStartups), or ``N`` alone for ``N:100:N``."""
        parts = text.split(":")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            nums = []
        if len(nums) == 1:
            nums = [nums[0], 100, nums[0]]
        if len(nums) != 3 or not (1 <= nums[0] <= nums[2] and 0 <= nums[1] <= 100):
            raise UserError(f"--max-startups must be START:RATE:FULL with 1 <= START <= FULL "
                            f"and RATE a percentage, like {MAX_STARTUPS}; got {text!r}")
        return cls(*nums)

    def drop_probability(self, pending: int) -> float:
        """The chance that a new connection is dropped when ``pending`` are logging in."""
        if pending < self.start:
            return 0.0
        if pending >= self.full:
            return 1.0
        span = self.full - self.start
        return (self.rate + (100 - self.rate) * (pending - self.start) / span) / 100


class Startups:
    """Decides, for each new connection, what to drop: nothing, the newcomer, or a stale one.

    Connections are any objects; the caller says, for each one logging in, how long it has been
    and whether it has begun to authenticate."""

    def __init__(self, policy: StartupsPolicy, rng: random.Random | None = None,
                 stale_after: float = STALE_AFTER):
        self.policy = policy
        self.rng = rng or random.Random()
        self.stale_after = stale_after

    def admit(self, pending: list[tuple[object, float, bool]]):
        """``pending``: (connection, seconds logging in, began authenticating) for every other
        connection logging in. Returns None (let the newcomer in), ``"newcomer"`` (drop it), or
        the connection to drop in its place."""
        if self.rng.random() >= self.policy.drop_probability(len(pending)):
            return None
        stale = [p for p in pending if p[1] >= self.stale_after]
        if not stale:
            return "newcomer"
        stale.sort(key=lambda p: (p[2], -p[1]))  # never began first, then the oldest
        return stale[0][0]
