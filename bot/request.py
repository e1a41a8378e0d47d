"""The HTTP transport to the Bot API: python-telegram-bot's own, quieter about bad answers,
its connections kept in several small pools."""

from __future__ import annotations

import json
import logging
import math
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from handlers.delivery_errors import INVALID_RESPONSE

log = logging.getLogger(__name__)

# Connections per pool. httpcore's pool (1.0.x) looks at each of its connections on every
# request and every answer, and at every one again for each idle one (encode/httpcore#1035,
# not released): with the 64 sends in flight of a paid broadcast that bookkeeping took 38% of
# the alert sender's CPU. Pools of 4 kept it small whatever the number in flight; pools of
# one connection leave one to look at (each idle one costs a poll of its socket): 7-10% less
# CPU a send than pools of 4 in a paired micro-benchmark of the alert sender's requests.
CONNECTIONS_PER_POOL = 1


class BotApiRequest(HTTPXRequest):
    """HTTPXRequest, but an answer that is not JSON is no traceback in the log: the caller
    treats it as "may have been delivered" and says so itself, in one line (the error
    handler for replies, the alert sender for alerts)."""

    __slots__ = ()

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        per_pool: int = CONNECTIONS_PER_POOL,
        **settings: Any,
    ) -> None:
        settings.setdefault(
            "httpx_kwargs",
            {"transport": SpreadTransport(connection_pool_size, per_pool=per_pool)},
        )
        super().__init__(connection_pool_size=connection_pool_size, **settings)

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        return parse_quietly(payload)


def parse_quietly(payload: bytes) -> dict[str, Any]:
    """python-telegram-bot's parse of an answer, but one that is not JSON is a debug line,
    not a logged traceback (TelegramError(INVALID_RESPONSE) is raised all the same)."""
    try:
        parsed: dict[str, Any] = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        log.debug("the Bot API answered %d bytes that are not JSON", len(payload))
        raise TelegramError(INVALID_RESPONSE) from None
    return parsed


class SpreadTransport(httpx.AsyncBaseTransport):
    """httpx's transport, as several pools of a few connections each, a request going to the
    pool with the fewest requests in flight: up to ``connections`` at once, as one pool
    would allow, but each request costs what a small pool costs. Reopens after ``aclose``
    (python-telegram-bot builds a new client on the same transport when it is initialised
    again)."""

    def __init__(self, connections: int, *, per_pool: int = CONNECTIONS_PER_POOL) -> None:
        self._count = max(1, math.ceil(connections / per_pool))
        self._size = math.ceil(connections / self._count)
        self._pools: list[httpx.AsyncHTTPTransport] = []
        self._busy: list[int] = []
        self._tls: ssl.SSLContext | None = None  # one for all pools: each costs milliseconds

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests in flight in each pool open now (none before the first request)."""
        return tuple(self._busy) if self._pools else ()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._pools:
            self._tls = self._tls or httpx.create_ssl_context()
            limits = httpx.Limits(max_connections=self._size)
            self._pools = [
                httpx.AsyncHTTPTransport(verify=self._tls, limits=limits)
                for _ in range(self._count)
            ]
            self._busy = [0] * self._count
        busy = self._busy
        index = busy.index(min(busy))
        busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            busy[index] -= 1
            raise
        # The connection stays taken until the answer is read and closed.
        response.stream = _Counted(response.stream, busy, index)
        return response

    async def aclose(self) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            await pool.aclose()


class _Counted(httpx.AsyncByteStream):
    """An answer's body that counts its pool's request as finished once closed."""

    def __init__(self, stream: Any, busy: list[int], index: int) -> None:
        self._stream = stream
        self._busy = busy
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._open:
                self._open = False
                self._busy[self._index] -= 1
