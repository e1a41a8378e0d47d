"""The composition root: build the python-telegram-bot Application with its resources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot, TypeHandler
from telegram.request import BaseRequest

import handlers
from bot.alert_http import lean_request
from bot.alerts import AlertLoop
from bot.feed_loop import FeedLoop
from bot.health import HealthMonitor
from bot.logs import UpdateIds, current_update
from bot.metrics import MeteredRequest, TimedUpdateProcessor
from bot.request import BotApiRequest
from bot.runtime import Runtime, utc_now
from bot.settings import Settings
from bot.startup import keep_trying
from handlers.context import BotData, NewsContext
from handlers.pacing import ChatPacer
from handlers.sender import TelegramAlertSender
from handlers.throttle import ThrottleGate
from services.alerts.replies import ReplyLog
from services.languages import SharedLocaleReads
from services.throttle import CommandThrottle, ThrottlePolicy
from storage.db import OutageLog

log = logging.getLogger(__name__)

NewsApplication = Application[
    ExtBot[None], NewsContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
# How often each process looks for articles stored by others (the index follows the DB).
INDEX_FOLLOW_SECONDS = 0.5
PRUNE_SESSIONS_SECONDS = 6 * 3600
CONCURRENT_UPDATES = 16
# On stopping, python-telegram-bot cancels the long poll and at once sends one last getUpdates
# (to confirm the updates it took) on a one-connection pool. Under load the cancelled poll had
# not handed its connection back within the default 1 s, and the last call ended in a logged
# traceback: give that call a connection of its own and a longer wait. (Telegram answers the
# newer of two getUpdates; the cancelled one has no reader any more.) Both connections in one
# pool: split into pools of one, the last call is sent to the pool the cancelled poll has left
# on paper but whose connection it may still hold, and waits there.
GET_UPDATES_CONNECTIONS = 2
GET_UPDATES_POOL_SECONDS = 10.0
# Before every other handler group, so each log line about an update can name it.
LOG_CONTEXT_GROUP = -1000
BOT_API_CONNECTIONS = 256  # python-telegram-bot's own default pool size


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utc_now,
    gate: ThrottleGate | None = None,
    pacer: ChatPacer | None = None,
    monitor: HealthMonitor | None = None,
    webhook: bool = False,
) -> NewsApplication:
    """Assemble the bot; resources open in post_init and close in post_shutdown.

    ``gate`` replaces the per-sender throttle the settings describe, ``pacer`` the chats'
    shared limits on the monotonic clock (tests pass a clock for either).
    With a monitor, updates, Bot API calls, searches and feed polls are measured and the
    monitor judges readiness from the runtime. With webhook, there is no getUpdates updater.
    """
    token = settings.require_token()
    context_types = ContextTypes(context=NewsContext, bot_data=BotData)
    pacer = pacer or ChatPacer()
    builder = (
        ApplicationBuilder()
        .token(token.reveal())
        .context_types(context_types)
        # Handlers wait on the database and the index, not the CPU: serve users side by side.
        .concurrent_updates(CONCURRENT_UPDATES)
        # RetryAfter on a reply is waited out; replies and alerts share each chat's limits.
        .rate_limiter(pacer)
    )

    # PTB's own transport, but an answer that is not JSON is one line in the log, not
    # PTB's traceback (it may well have been delivered; whoever called says what follows).
    timeout = settings.telegram_timeout
    # Alerts go through their own lean transport (bot/alert_http.py) unless a request object
    # is given (tests) or a proxy stands between: then through the bot's, like every call.
    alert_request: BaseRequest | None = lean_request(settings) if request is None else None
    if request is None:
        request = BotApiRequest(
            connection_pool_size=BOT_API_CONNECTIONS,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
        )
    if get_updates_request is None and not webhook:
        # With a request instance given, PTB takes no get_updates_* settings: build it.
        # (The long poll's own wait is added to this read timeout by python-telegram-bot.)
        get_updates_request = BotApiRequest(
            connection_pool_size=GET_UPDATES_CONNECTIONS,
            per_pool=GET_UPDATES_CONNECTIONS,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=GET_UPDATES_POOL_SECONDS,
        )
    if monitor is not None:
        # The same bound on concurrent updates, each update timed; every Bot API call
        # counted and timed around the transport.
        metrics = monitor.metrics
        builder = builder.concurrent_updates(TimedUpdateProcessor(CONCURRENT_UPDATES, metrics))
        request = MeteredRequest(request, metrics)
        if alert_request is not None:
            alert_request = MeteredRequest(alert_request, metrics)
    if webhook:
        builder = builder.updater(None)
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    if settings.telegram_api_base_file_url:
        builder = builder.base_file_url(settings.telegram_api_base_file_url)
    builder = builder.request(request)
    if get_updates_request is not None:  # none in webhook mode: no getUpdates at all
        builder = builder.get_updates_request(get_updates_request)

    opened: list[Runtime] = []  # the runtime lives from post_init to post_shutdown
    alert_loops: list[AlertLoop] = []
    feed_loops: list[FeedLoop] = []

    async def post_init(application: NewsApplication) -> None:
        runtime = await Runtime.open(
            settings,
            clock=clock,
            search_timer=monitor.metrics.search_timed if monitor is not None else None,
        )
        opened.append(runtime)
        # Replies recorded where an alert sender in another process sees them.
        pacer.attach(ReplyLog(runtime.sessions, clock=clock))
        if monitor is not None:
            monitor.attach(runtime.sessions, runtime.follower.index)
        application.bot_data.services = runtime.services
        application.bot_data.admin_user_ids = settings.admin_user_ids
        await keep_trying(
            lambda: application.bot.set_my_commands(handlers.COMMANDS),
            what="setMyCommands",
            settings=settings,
        )
        # Telegram shows each user the menu for their app's language_code (ISO 639-1), else
        # the default (English) one above; the languages' menus are registered side by side.
        await asyncio.gather(
            *(
                keep_trying(
                    partial(application.bot.set_my_commands, menu, language_code=code),
                    what=f"setMyCommands ({code})",
                    settings=settings,
                )
                for code, menu in handlers.translated_menus()
            )
        )
        jobs = application.job_queue
        if jobs is None:
            return

        index_outage = OutageLog(log, "following new articles into the search index")

        async def follow_index(_: NewsContext) -> None:
            try:
                await runtime.follower.catch_up()
            except Exception as error:
                if not index_outage.failed(error):
                    raise
            else:
                index_outage.succeeded()

        async def prune_sessions(_: NewsContext) -> None:
            await runtime.services.paging.prune()

        jobs.run_repeating(follow_index, INDEX_FOLLOW_SECONDS, first=INDEX_FOLLOW_SECONDS)
        jobs.run_repeating(prune_sessions, PRUNE_SESSIONS_SECONDS, first=60)
        if settings.alerts_in_bot:
            if alert_request is not None:
                await alert_request.initialize()
            loop = AlertLoop(
                runtime,
                TelegramAlertSender(
                    application.bot,
                    paid_broadcast=settings.alert_paid_broadcast,
                    locales=SharedLocaleReads(runtime.services.languages).chat_locale,
                    request=alert_request,
                ),
                settings,
                clock=clock,
            )
            if monitor is not None:
                monitor.metrics.watch_sender(loop.stats)
            loop.start()
            alert_loops.append(loop)
            # Every process that runs alerts polls feeds too; claims keep them apart.
            feed_loop = FeedLoop(
                runtime.services.feeds,
                on_report=(
                    None if monitor is None else lambda r: monitor.metrics.feed_polled(r.status)
                ),
            )
            feed_loop.start()
            feed_loops.append(feed_loop)

    async def post_stop(_: NewsApplication) -> None:
        # Before the bot's HTTP client closes: the alert in flight still gets sent.
        while feed_loops:
            await feed_loops.pop().stop()
        while alert_loops:
            await alert_loops.pop().stop()
        if alert_request is not None:
            await alert_request.shutdown()

    async def post_shutdown(application: NewsApplication) -> None:
        if monitor is not None:
            monitor.detach()
        await pacer.detach()
        while opened:
            await opened.pop().close()

    builder = builder.post_init(post_init).post_stop(post_stop).post_shutdown(post_shutdown)
    application: NewsApplication = builder.build()
    application.add_handler(TypeHandler(Update, _remember_update), group=LOG_CONTEXT_GROUP)
    handlers.register(application, gate or _throttle_gate(settings))
    return application


async def _remember_update(update: Update, _: NewsContext) -> None:
    chat = update.effective_chat
    current_update.set(UpdateIds(update.update_id, chat.id if chat else None))


def _throttle_gate(settings: Settings) -> ThrottleGate | None:
    policy = ThrottlePolicy(settings.command_burst, settings.command_interval_seconds)
    return ThrottleGate(CommandThrottle(policy)) if policy.enabled else None
