"""``newsbot run`` with its HTTP server: webhook mode, or long polling with health and metrics.

(bot/serve.py runs plain long polling, with no HTTP server.)

PTB's own run_webhook brings a server of its own; here one aiohttp server carries the
webhook next to /healthz, /readyz and /metrics, and the Application is driven by hand
(initialize, post_init, start ... stop, post_stop, shutdown, post_shutdown), as
run_polling would.

Each webhook request is answered only after its update is handled. Telegram sends a chat's
next update only once the previous one is acknowledged, so each chat's updates are handled
one at a time and in order, whichever replica gets them. A replica never calls
deleteWebhook: stopping one must not cut the others off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.request import BaseRequest

from bot.app import NewsApplication, build_application
from bot.health import HealthMonitor
from bot.http_server import HttpServer, Webhook
from bot.metrics import Metrics
from bot.runtime import utc_now
from bot.serve import start_line
from bot.settings import Settings, SettingsError
from bot.startup import keep_trying, polling_error_callback, start_then_wait

log = logging.getLogger(__name__)

# The updates the handlers act on (commands and text, buttons, inline queries, being added to
# or removed from a chat); asking for no others keeps Telegram from sending what is dropped.
ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.MY_CHAT_MEMBER,
)


class BotServer:
    """The bot, its HTTP server and its health monitor, started and stopped in order."""

    def __init__(
        self,
        settings: Settings,
        *,
        request: BaseRequest | None = None,
        get_updates_request: BaseRequest | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        port = settings.server_port()
        if port is None:
            raise SettingsError("set WEBHOOK_URL or HTTP_PORT to run the HTTP server")
        self._settings = settings
        self.metrics = Metrics()
        self.monitor = HealthMonitor(self.metrics, clock=clock)
        self.application: NewsApplication = build_application(
            settings,
            request=request,
            get_updates_request=get_updates_request,
            clock=clock,
            monitor=self.monitor,
            webhook=settings.webhook_mode,
        )
        webhook = None
        if settings.webhook_mode:
            assert settings.webhook_secret is not None  # Settings refuses webhook mode without
            webhook = Webhook(settings.webhook_path(), settings.webhook_secret, self.handle)
        self.http = HttpServer(self.monitor, host=settings.http_listen, port=port, webhook=webhook)
        self._monitor_stop = asyncio.Event()
        self._monitor_task: asyncio.Task[None] | None = None
        self._steps: list[str] = []  # what start() got through, undone by stop() in reverse

    async def handle(self, data: dict[str, Any]) -> None:
        """Handle one update from the webhook; returns when its handlers are done."""
        application = self.application
        try:
            update = Update.de_json(data, application.bot)
        except Exception:  # a malformed update is acknowledged, or Telegram resends it forever
            log.warning("dropped an update that python-telegram-bot could not read")
            return
        # Through PTB's update processor: the same bound on concurrent updates as polling.
        await application.update_processor.process_update(
            update, application.process_update(update)
        )

    async def start(self) -> None:
        application = self.application
        settings = self._settings
        self._steps.append("initialized")  # shutdown is safe however far initialize got
        # getMe: the first contact with Telegram, retried while it is out of reach.
        await keep_trying(application.initialize, what="getMe", settings=settings)
        if application.post_init is not None:
            await application.post_init(application)
        self._steps.append("post_init")
        await application.start()
        self._monitor_task = asyncio.create_task(self.monitor.run(self._monitor_stop))
        await self.http.start()
        self._steps.append("http")
        if settings.webhook_mode:
            url, secret = settings.webhook_url, settings.webhook_secret
            assert url is not None and secret is not None
            # Every replica sets the same webhook; pending updates are never dropped.
            await keep_trying(
                lambda: application.bot.set_webhook(
                    url,
                    secret_token=secret.reveal(),
                    allowed_updates=ALLOWED_UPDATES,
                    max_connections=settings.webhook_max_connections,
                ),
                what="setWebhook",
                settings=settings,
            )
            log.info("webhook mode: Telegram delivers to %s", settings.webhook_path())
        else:
            assert application.updater is not None
            # Polling needs no webhook set (bot/serve.py does the same).
            await keep_trying(
                application.bot.delete_webhook, what="deleteWebhook", settings=settings
            )
            await application.updater.start_polling(
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=-1,
                error_callback=polling_error_callback(settings),
            )

    async def stop(self) -> None:
        """Stop taking updates, finish those in hand and the alert in flight, release all."""
        application = self.application
        self.monitor.stopping()
        steps = self._steps
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        # Side by side, so the two waits share the 10 s budget instead of adding up: the
        # webhook requests in hand, and (post_stop) the alert in flight. The alert loop
        # needs only the bot's HTTP client, which stays open until shutdown.
        drains = []
        if "http" in steps:
            drains.append(self.http.stop())
        if "post_init" in steps and application.post_stop is not None:
            drains.append(application.post_stop(application))
        failures = [r for r in await asyncio.gather(*drains, return_exceptions=True) if r]
        if application.running:
            await application.stop()
        self._monitor_stop.set()
        if self._monitor_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor_task
        if "initialized" in steps:
            await application.shutdown()
            await application.bot.shutdown()  # when getMe never succeeded, PTB skips this
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
        steps.clear()
        for failure in failures:
            if isinstance(failure, BaseException):
                raise failure


def run_webhook(settings: Settings) -> int:
    """`newsbot run` with WEBHOOK_URL or HTTP_PORT set."""
    return asyncio.run(serve(settings))


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT (also while start-up still waits for Telegram), then stop
    in order and return 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = BotServer(settings)
    log.info(start_line(settings, "webhook" if settings.webhook_mode else "polling"))
    try:
        if await start_then_wait(
            server.start(), stop, started=lambda: log.info("newsbot is running; stop with SIGTERM")
        ):
            log.info("stopping: finishing the updates in hand and the alert in flight")
    finally:
        await server.stop()
    return 0
