"""``newsbot worker``: alerts and feeds without chat handling, for a second process or host."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from telegram import Bot
from telegram.request import BaseRequest

from bot.alert_http import lean_request
from bot.alerts import AlertLoop
from bot.feed_loop import FeedLoop
from bot.health import HealthMonitor
from bot.http_server import HttpServer
from bot.metrics import MeteredRequest, Metrics
from bot.request import BotApiRequest
from bot.runtime import Runtime, utc_now
from bot.settings import Settings
from bot.startup import TELEGRAM_BASE_URL, connect
from handlers.sender import TelegramAlertSender
from services.languages import SharedLocaleReads

log = logging.getLogger(__name__)

# python-telegram-bot's own defaults, spelled out so a setting can replace either.
TELEGRAM_BASE_FILE_URL = "https://api.telegram.org/file/bot"


def make_bot(settings: Settings, metrics: Metrics | None = None) -> Bot:
    timeout = settings.telegram_timeout
    request = BotApiRequest(read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout)
    return Bot(
        settings.require_token().reveal(),
        base_url=settings.telegram_api_base_url or TELEGRAM_BASE_URL,
        base_file_url=settings.telegram_api_base_file_url or TELEGRAM_BASE_FILE_URL,
        # With metrics, every Bot API call is counted and timed.
        request=request if metrics is None else MeteredRequest(request, metrics),
    )


def make_alert_request(settings: Settings, metrics: Metrics | None = None) -> BaseRequest:
    """What the alert sender's sendMessage goes through: the lean HTTP/1.1 transport
    (bot/alert_http.py; httpx's layers were most of a paid broadcast's CPU), or httpx behind
    a proxy; counted and timed like the bot's other calls."""
    timeout = settings.telegram_timeout
    request: BaseRequest = lean_request(settings) or BotApiRequest(
        read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout
    )
    return request if metrics is None else MeteredRequest(request, metrics)


async def run_worker(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; the alert in flight is finished before exiting."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # With HTTP_PORT set, the worker serves /healthz, /readyz and /metrics too.
    metrics = Metrics()
    monitor = HealthMonitor(metrics)
    port = settings.http_port
    http = HttpServer(monitor, host=settings.http_listen, port=port) if port else None
    runtime = await Runtime.open(settings)
    monitor.attach(runtime.sessions, runtime.follower.index)
    watching = asyncio.create_task(monitor.run(stop))
    try:
        if http is not None:
            await http.start()
        bot = make_bot(settings, metrics)
        if not await connect(bot, settings, stop):  # stopped while Telegram was out of reach
            await bot.shutdown()
            return 0
        async with bot, make_alert_request(settings, metrics) as alert_request:
            alerts = AlertLoop(
                runtime,
                TelegramAlertSender(
                    bot,
                    paid_broadcast=settings.alert_paid_broadcast,
                    locales=SharedLocaleReads(runtime.services.languages).chat_locale,
                    request=alert_request,
                ),
                settings,
                clock=utc_now,
            )
            metrics.watch_sender(alerts.stats)
            alerts.start()
            feeds = FeedLoop(
                runtime.services.feeds, on_report=lambda r: metrics.feed_polled(r.status)
            )
            feeds.start()
            log.info("worker running as @%s; stop with SIGTERM", bot.username)
            follow = asyncio.create_task(_follow_index(runtime, stop))
            await stop.wait()
            log.info("stopping: finishing the alert in flight")
            monitor.stopping()
            await asyncio.gather(alerts.stop(), feeds.stop())
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow
    finally:
        stop.set()
        await watching
        if http is not None:
            await http.stop()
        await runtime.close()
    return 0


async def _follow_index(runtime: Runtime, stop: asyncio.Event) -> None:
    # The worker answers no searches, but subscription keywords are read against the index.
    while not stop.is_set():
        await runtime.follower.catch_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
