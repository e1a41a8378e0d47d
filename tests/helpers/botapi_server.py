"""A real HTTP Bot API endpoint on 127.0.0.1 serving a FakeBotApi, in-loop or in a thread.

async with FakeBotApiServer(api) as server:        # same event loop as the test
    bot = telegram.Bot("123:ABC", base_url=server.base_url)

with FakeBotApiServer(api) as server:              # background thread, for subprocesses
    env["TELEGRAM_API_BASE_URL"] = server.base_url
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.helpers.botapi import GARBAGE, FakeBotApi
from tests.helpers.botapi_files import UploadedFile

_BAD_JSON = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"}


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON, form-urlencoded or multipart body, like Telegram accepts."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
        return params
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            params[name] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[name] = value
    return params


class FakeBotApiServer:
    """Serves /bot<token>/<method> from a FakeBotApi on a free port of 127.0.0.1."""

    def __init__(self, api: FakeBotApi, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None
        self._thread_error: BaseException | None = None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._port is None:
            raise RuntimeError("the server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """What to give PTB as base_url / TELEGRAM_API_BASE_URL: http://127.0.0.1:PORT/bot."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give PTB as base_file_url / TELEGRAM_API_BASE_FILE_URL."""
        return f"http://{self._host}:{self.port}/file/bot"

    async def _download(self, request: web.Request) -> web.Response:
        found = self.api.download(request.match_info["token"], request.match_info["path"])
        if isinstance(found, bytes):
            return web.Response(body=found, content_type="application/octet-stream")
        return web.Response(
            status=found.status, body=found.payload(), content_type="application/json"
        )

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            params = await _read_params(request)
        except ValueError:
            return web.json_response(_BAD_JSON, status=400)
        exchange = await self.api.exchange(
            request.match_info["method"], params, token=request.match_info["token"]
        )
        response = exchange.response
        if response is None or exchange.fault.drop:
            # Closed without an answer: the client sees RemoteProtocolError.
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable
        if exchange.fault.garbage:
            return web.Response(status=200, body=GARBAGE, content_type="application/json")
        return web.Response(
            status=response.status, body=response.payload(), content_type="application/json"
        )

    # -- in the caller's event loop ----------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve in the running event loop."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation: a client that hangs up ends its long poll, as on Telegram.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer pending long polls and close the listener."""
        if self._runner is None:
            return
        self.api.release_pollers()
        await self._runner.cleanup()
        self._runner = None
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- in a background thread ----------------------------------------------------------------

    def start_in_thread(self, timeout: float = 10.0) -> None:
        """Serve from a daemon thread with its own event loop; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("already running in a thread")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._serve_in_thread(ready),),
            name="FakeBotApiServer",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("FakeBotApiServer did not start")
        if self._thread_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("FakeBotApiServer failed to start") from self._thread_error

    async def _serve_in_thread(self, ready: threading.Event) -> None:
        self._thread_loop = asyncio.get_running_loop()
        self._thread_stop = asyncio.Event()
        try:
            await self.start()
        except BaseException as exc:  # handed to the starting thread, which re-raises
            self._thread_error = exc
            ready.set()
            return
        ready.set()
        try:
            await self._thread_stop.wait()
        finally:
            await self.stop()

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop the background server and join its thread."""
        if self._thread is None or self._thread_loop is None or self._thread_stop is None:
            return
        self._thread_loop.call_soon_threadsafe(self._thread_stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("FakeBotApiServer thread did not stop")
        self._thread = self._thread_loop = self._thread_stop = None

    def __enter__(self) -> Self:
        self.start_in_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()
