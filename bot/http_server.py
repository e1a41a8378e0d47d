"""The one HTTP server of a process: Telegram's webhook, /healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.health import HealthMonitor
from bot.settings import Secret, SettingsError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Requests in hand get this long to finish at shutdown (inside the 10 s a replica has).
SHUTDOWN_GRACE_SECONDS = 5.0
# Telegram's updates are a few kilobytes; anything near this is not one.
MAX_UPDATE_BYTES = 1 << 20

UpdateHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Webhook:
    path: str
    secret: Secret
    handle: UpdateHandler  # returns once the update is handled: only then is it acknowledged


class HttpServer:
    def __init__(
        self,
        monitor: HealthMonitor,
        *,
        host: str,
        port: int,
        webhook: Webhook | None = None,
    ) -> None:
        self._monitor = monitor
        self._host = host
        self._port = port
        self._webhook = webhook
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked for any free one)."""
        if self._runner is None:
            raise RuntimeError("the HTTP server is not running")
        return int(self._runner.addresses[0][1])

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if self._webhook is not None:
            app.router.add_post(self._webhook.path, self._on_webhook)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as error:
            await runner.cleanup()
            raise SettingsError(
                f"cannot listen on {self._host}:{self._port} ({error.strerror or error}): "
                "set HTTP_LISTEN and HTTP_PORT to an address and a free port of this host"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("HTTP server listening on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        """Stop listening, let the requests in hand finish, then close."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        if not self._monitor.alive():
            return web.Response(status=503, text="event loop stuck\n")
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        await self._monitor.sample()
        readiness = self._monitor.readiness()
        return web.Response(status=200 if readiness.ready else 503, text=readiness.reason + "\n")

    async def _metrics(self, _: web.Request) -> web.Response:
        await self._monitor.refresh_shared_metrics()
        body = generate_latest(self._monitor.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _on_webhook(self, request: web.Request) -> web.Response:
        assert self._webhook is not None
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._webhook.secret.reveal().encode()):
            return web.Response(status=401, text="wrong secret token\n")
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="the body is not JSON\n")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="the body is not a Telegram update\n")
        await self._webhook.handle(data)
        return web.Response(text="ok\n")
