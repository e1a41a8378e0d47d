"""An in-process python-telegram-bot transport that answers from a FakeBotApi."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from tests.helpers.botapi import GARBAGE, FakeBotApi
from tests.helpers.botapi_files import uploaded

_NOT_FOUND = b'{"ok": false, "error_code": 404, "description": "Not Found"}'


def split_file_url(url: str) -> tuple[str | None, str] | None:
    """(token, file_path) from a download URL such as https://host/file/bot<token>/<path>."""
    path = urlsplit(url).path
    _, found, rest = path.partition("/file/bot")
    if not found or "/" not in rest:
        return None
    token, _, file_path = rest.partition("/")
    return token, file_path


def split_bot_url(url: str) -> tuple[str | None, str]:
    """(token, method) from a Bot API URL such as https://host/bot<token>/<method>."""
    segments = urlsplit(url).path.rstrip("/").split("/")
    method = segments[-1]
    owner = segments[-2] if len(segments) >= 2 else ""
    token = owner.removeprefix("bot") if owner.startswith("bot") else None
    return token, method


class FakeRequest(BaseRequest):
    """BaseRequest whose do_request dispatches to a FakeBotApi instead of the network.

    Parameters travel as request_data.json_parameters, i.e. exactly the strings PTB would
    form-encode on the wire, so both transports exercise the same decoding.
    latency adds a per-call delay (for benchmarks); read_timeout is enforced like HTTPX does.
    The fake's latency and faults (FakeBotApi.set_latency, add_fault) surface as HTTPXRequest
    would raise them: TimedOut from httpx.ReadTimeout, NetworkError from
    httpx.ConnectError (refused) or httpx.RemoteProtocolError (dropped), a 200 of garbage.
    """

    __slots__ = ("_latency", "_read_timeout", "api")

    def __init__(
        self, api: FakeBotApi, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> None:
        self.api = api
        self._latency = latency
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds getUpdates' long-poll timeout to it."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

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
        """Answer a Bot API POST, or a GET of a file (PTB's download), from the fake.

        Uploads arrive as PTB hands them to any transport, in request_data.multipart_data.
        """
        if method != "POST":
            where = split_file_url(url)
            if method != "GET" or where is None:
                return 404, _NOT_FOUND
            found = self.api.download(*where)
            if isinstance(found, bytes):
                return 200, found
            return found.status, found.payload()
        token, api_method = split_bot_url(url)
        params: dict[str, object] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            for name, part in request_data.multipart_data.items():
                params[name] = uploaded(part)
        timeout = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        if self._latency:
            await asyncio.sleep(self._latency)
        try:
            async with asyncio.timeout(timeout if isinstance(timeout, int | float) else None):
                exchange = await self.api.exchange(api_method, params, token=token)
        except TimeoutError:
            # As HTTPXRequest does: TimedOut from the httpx exception.
            raise TimedOut from httpx.ReadTimeout("read timed out")
        if exchange.response is None:  # refused: the request never left
            cause = httpx.ConnectError("connection refused")
            raise NetworkError(f"httpx.ConnectError: {cause}") from cause
        if exchange.fault.drop:
            dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
            raise NetworkError(f"httpx.RemoteProtocolError: {dropped}") from dropped
        if exchange.fault.garbage:
            return 200, GARBAGE
        return exchange.response.status, exchange.response.payload()
