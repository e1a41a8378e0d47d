"""The alert sender's own HTTP/1.1 transport to the Bot API: keep-alive connections on
asyncio's protocols, with no httpx client, httpcore pool, h11 or anyio in between.

At paid-broadcast rates the sends' HTTP layers were most of the worker's CPU: py-spy on the
worker during ``bench.fanout --paid 1000 --max-in-flight 64`` (main at 12c789a) found 58% of
its event loop's samples under ``HTTPXRequest.do_request`` (httpx building the request,
merging URLs and headers, cookies, reading the answer through four stream wrappers;
httpcore's pool, h11 and anyio's cancel scopes), for requests that are all alike: a POST of
a few form-encoded parameters, answered by a few hundred bytes of JSON.

Only that is done here: POST or GET of form-encoded parameters (no files: an alert has
none), answers with a Content-Length, chunked or up to the connection's end. Failures are
raised as python-telegram-bot's HTTPXRequest raises them, ``TimedOut`` or ``NetworkError``
from the httpx exception of the same meaning, so what delivery_errors.fate_of reads from them
("never left" or "may have arrived") is as before.
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.request import parse_quietly
from bot.settings import Settings
from bot.startup import TELEGRAM_BASE_URL

# Bounds on an answer: the Bot API's to a sendMessage are well under a kilobyte.
MAX_HEAD_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# python-telegram-bot's own message for a pool timeout (HTTPXRequest.do_request).
POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* "
    "sent to Telegram. Consider adjusting the connection pool size or the pool timeout."
)
DROPPED = "Server disconnected without sending a complete response."
# What urllib's quote_plus (so httpx's form encoding) leaves as it is: letters, digits and
# "_.-~"; a space becomes "+", every other byte of the UTF-8 text %XX.
_TO_QUOTE = re.compile(rb"[^A-Za-z0-9_.\-~ ]+")
MEMO_MIN_CHARS = 64  # shorter values (chat ids, flags) are quoted each time: they vary
MEMO_SIZE = 256


def reaches_directly(base_url: str) -> bool:
    """Whether the lean transport may serve this Bot API: it speaks to the server itself,
    and would pass by a proxy that the environment names for it (``HTTPS_PROXY``,
    ``ALL_PROXY``..., honoured by httpx and so by the bot's other calls) unless ``NO_PROXY``
    exempts the host. Behind a proxy, alerts go through httpx like everything else."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(parts.hostname or ""))


def lean_request(settings: Settings) -> AlertRequest | None:
    """The alert sender's own transport for the Bot API the settings name, or None where a
    proxy stands between (``reaches_directly``): alerts then take httpx like every other call."""
    if not reaches_directly(settings.telegram_api_base_url or TELEGRAM_BASE_URL):
        return None
    timeout = settings.telegram_timeout
    return AlertRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)


def form_encoded(parameters: dict[str, str], memo: dict[str, bytes] | None = None) -> bytes:
    """``urllib.parse.urlencode(parameters)`` byte for byte (as httpx encodes PTB's string
    parameters), quoting runs of bytes by a regular expression: urllib looks up every byte of
    the text on its own, 6% of the paid-broadcast sender's CPU. With ``memo``, long values
    (an alert's text, the same for every chat of one language in a broadcast) are quoted once
    and kept there (at most MEMO_SIZE; emptied when full)."""
    parts = []
    for name, value in parameters.items():
        if memo is None or len(value) < MEMO_MIN_CHARS:
            quoted = _quoted(value)
        else:
            found = memo.get(value)
            if found is None:
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                found = memo[value] = _quoted(value)
            quoted = found
        parts.append(_quoted(name) + b"=" + quoted)
    return b"&".join(parts)


def _quoted(text: str) -> bytes:
    return _TO_QUOTE.sub(_percent, text.encode()).replace(b" ", b"+")


def _percent(run: re.Match[bytes]) -> bytes:
    return b"%" + run[0].hex("%").upper().encode()


@dataclass(frozen=True, slots=True)
class _Origin:
    secure: bool
    host: str
    port: int
    host_header: str


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    keep_alive: bool


class _Malformed(Exception):
    """The bytes that came back are no HTTP/1.1 answer."""


def _parse(buffer: bytearray, eof: bool) -> tuple[_Answer, int] | None:
    """The answer at the start of ``buffer`` and the bytes it took, or None while it is not
    all there (``eof``: nothing more will come). Interim (1xx) answers are skipped."""
    start = 0
    while True:
        head_end = buffer.find(b"\r\n\r\n", start)
        if head_end < 0:
            if len(buffer) - start > MAX_HEAD_BYTES:
                raise _Malformed("answer headers too long")
            return None
        lines = buffer[start:head_end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or not rest[:3].isdigit():
            raise _Malformed(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise _Malformed(f"not a header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        body_start = head_end + 4
        if 100 <= status < 200:  # "100 Continue" and the like: the answer follows
            start = body_start
            continue
        tokens = {t.strip() for t in headers.get("connection", "").lower().split(",")}
        keep_alive = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _chunked(buffer, body_start, status, keep_alive)
        if status in (204, 304):
            return _Answer(status, b"", keep_alive), body_start
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > MAX_ANSWER_BYTES:
                raise _Malformed(f"bad Content-Length: {length[:40]!r}")
            end = body_start + int(length)
            if len(buffer) < end:
                return None
            return _Answer(status, bytes(buffer[body_start:end]), keep_alive), end
        # Neither: the body is whatever comes until the server closes the connection.
        if len(buffer) > MAX_ANSWER_BYTES:
            raise _Malformed("answer too long")
        if not eof:
            return None
        return _Answer(status, bytes(buffer[body_start:]), False), len(buffer)


def _chunked(
    buffer: bytearray, at: int, status: int, keep_alive: bool
) -> tuple[_Answer, int] | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = buffer[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _Malformed(f"bad chunk size: {bytes(size_text[:20])!r}") from None
        at = line_end + 2
        if size == 0:  # the last chunk; then trailers (ignored) up to an empty line
            if buffer[at : at + 2] == b"\r\n":
                return _Answer(status, bytes(body), keep_alive), at + 2
            trailers_end = buffer.find(b"\r\n\r\n", at)
            if trailers_end < 0:
                return None
            return _Answer(status, bytes(body), keep_alive), trailers_end + 4
        if len(body) + size > MAX_ANSWER_BYTES:
            raise _Malformed("answer too long")
        if len(buffer) < at + size + 2:
            return None
        if buffer[at + size : at + size + 2] != b"\r\n":
            raise _Malformed("chunk not ended by CRLF")
        body += buffer[at : at + size]
        at += size + 2


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer read as it comes in."""

    def __init__(self, on_lost: Callable[[_Connection], None]) -> None:
        self._on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._answer: asyncio.Future[_Answer] | None = None
        self._eof = False
        self._writable: asyncio.Future[None] | None = None  # while the kernel's buffer is full
        self.lost = False

    @property
    def usable(self) -> bool:
        """Idle and open: no byte came that no request asked for, the server did not close."""
        return (
            not self.lost
            and not self._eof
            and not self._buffer
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._settle()

    def eof_received(self) -> bool:
        self._eof = True
        self._settle()
        return False  # closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(httpx.RemoteProtocolError(DROPPED if exc is None else f"{DROPPED} ({exc})"))
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)  # the answer's future says what happened
        self._on_lost(self)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _settle(self) -> None:
        answer = self._answer
        if answer is None or answer.done():
            return
        try:
            parsed = _parse(self._buffer, self._eof)
        except _Malformed as error:
            self._fail(httpx.RemoteProtocolError(str(error)))
            self.abort()
            return
        if parsed is None:
            if self._eof:
                self._fail(httpx.RemoteProtocolError(DROPPED))
            return
        result, used = parsed
        del self._buffer[:used]
        answer.set_result(result)

    def _fail(self, error: httpx.TransportError) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    async def exchange(
        self, request: bytes, write_timeout: float | None, read_timeout: float | None
    ) -> _Answer:
        """Send ``request`` and wait for its answer; raises httpx's WriteTimeout, ReadTimeout
        or RemoteProtocolError (the connection is then no good: the caller aborts it)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[_Answer] = loop.create_future()
        self._answer = answer
        self.transport.write(request)
        writable = self._writable
        if writable is not None and not writable.done():
            try:
                await asyncio.wait_for(asyncio.shield(writable), write_timeout)
            except TimeoutError:
                raise httpx.WriteTimeout("writing the request timed out") from None
        if read_timeout is None:
            return await answer
        timer = loop.call_later(read_timeout, self._fail, httpx.ReadTimeout("no answer in time"))
        try:
            return await answer
        finally:
            timer.cancel()


class AlertRequest(BaseRequest):
    """python-telegram-bot's request interface over ``_Connection``s: at most
    ``connection_pool_size`` open at once, the idle ones reused (last used first)."""

    __slots__ = (
        "_closed",
        "_encoded",
        "_idle",
        "_open",
        "_origins",
        "_size",
        "_timeouts",
        "_tls",
        "_waiting",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: for https (default: httpx's, certifi's authorities; made on first use)."""
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._size = connection_pool_size
        self._timeouts = (connect_timeout, read_timeout, write_timeout, pool_timeout)
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open = 0  # connections counted against the size: open, or being opened
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._origins: dict[str, tuple[_Origin, str]] = {}  # url -> where, and the target
        self._tls = tls
        self._closed = False
        self._encoded: dict[str, bytes] = {}  # long values quoted lately (form_encoded)

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts[1]

    @property
    def open_connections(self) -> int:
        """Connections open or being opened now (for tests and the curious)."""
        return self._open

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.abort()

    parse_json_payload = staticmethod(parse_quietly)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._closed:
            raise RuntimeError("This AlertRequest is shut down")
        if request_data is not None and request_data.contains_files:
            raise RuntimeError("AlertRequest sends no files")
        connect, read, write, pool = self._timeouts
        connect = connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        read = read if isinstance(read_timeout, DefaultValue) else read_timeout
        write = write if isinstance(write_timeout, DefaultValue) else write_timeout
        pool = pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        origin, target = self._target(url)
        # As httpx encodes PTB's parameters (each already a string): form-urlencoded.
        body = form_encoded(request_data.json_parameters, self._encoded) if request_data else b""
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"
            f"Accept: */*\r\nUser-Agent: {self.USER_AGENT}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        connection = await self._checkout(origin, connect, pool)
        reusable = False
        try:
            answer = await connection.exchange(head.encode("latin-1") + body, write, read)
            reusable = answer.keep_alive
        except httpx.TimeoutException as error:
            raise TimedOut from error
        except httpx.TransportError as error:
            raise NetworkError(f"httpx.{type(error).__name__}: {error}") from error
        finally:
            self._checkin(origin, connection, reusable)
        return answer.status, answer.body

    def _target(self, url: str) -> tuple[_Origin, str]:
        found = self._origins.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RuntimeError(f"AlertRequest speaks http and https only, not {url[:8]!r}")
            secure = parts.scheme == "https"
            port = parts.port or (443 if secure else 80)
            host = parts.hostname
            shown = f"[{host}]" if ":" in host else host
            header = shown if port == (443 if secure else 80) else f"{shown}:{port}"
            target = parts.path or "/"
            if parts.query:
                target += f"?{parts.query}"
            found = _Origin(secure, host, port, header), target
            if len(self._origins) < 64:  # a few methods' URLs; never grows without bound
                self._origins[url] = found
        return found

    async def _checkout(
        self, origin: _Origin, connect_timeout: float | None, pool_timeout: float | None
    ) -> _Connection:
        idle = self._idle.setdefault(origin, [])
        while True:
            while idle:
                connection = idle.pop()
                if connection.usable:
                    return connection
                connection.abort()  # counted out in _lost
            if self._open < self._size:
                return await self._connect(origin, connect_timeout)
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await asyncio.wait_for(waiter, pool_timeout)
            except TimeoutError:
                raise TimedOut(POOL_TIMEOUT_MESSAGE) from httpx.PoolTimeout(POOL_TIMEOUT_MESSAGE)

    async def _connect(self, origin: _Origin, connect_timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if origin.secure:
            self._tls = tls = self._tls or httpx.create_ssl_context()
        self._open += 1
        try:
            async with asyncio.timeout(connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self._lost),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError:
            self._free()
            raise TimedOut from httpx.ConnectTimeout("connecting timed out")
        except (OSError, ssl.SSLError) as error:
            self._free()
            raise NetworkError(f"httpx.ConnectError: {error}") from httpx.ConnectError(str(error))
        except BaseException:
            self._free()
            raise
        return connection

    def _checkin(self, origin: _Origin, connection: _Connection, reusable: bool) -> None:
        if reusable and not self._closed and connection.usable:
            self._idle.setdefault(origin, []).append(connection)
            self._wake()
        else:
            connection.abort()  # counted out in _lost, once asyncio has closed it

    def _lost(self, connection: _Connection) -> None:
        for idle in self._idle.values():
            if connection in idle:
                idle.remove(connection)
        self._free()

    def _free(self) -> None:
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
