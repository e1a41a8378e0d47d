"""``newsbot run``: start the Application, take updates until SIGTERM/SIGINT, stop cleanly.

The way updates arrive is a start-up step handed to ``serve`` (``start_polling`` today), so
another mode only adds its own step.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from telegram import Update

from bot.app import NewsApplication, build_application
from bot.settings import Settings
from bot.startup import keep_trying, polling_error_callback, start_then_wait, telegram_address

log = logging.getLogger(__name__)

UpdateSource = Callable[[NewsApplication, Settings], Awaitable[None]]


def run_bot(settings: Settings) -> int:
    """Long-poll Telegram until SIGTERM or SIGINT; TokenRefused if the token is refused."""
    application = build_application(settings)
    return asyncio.run(_run(application, settings, "polling", start_polling))


async def _run(
    application: NewsApplication, settings: Settings, mode: str, start_updates: UpdateSource
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(application, settings, mode=mode, start_updates=start_updates, stop=stop)
    return 0


async def start_polling(application: NewsApplication, settings: Settings) -> None:
    """Polling: make sure no webhook is set, then long-poll getUpdates in the Updater."""
    updater = application.updater
    if updater is None:
        raise RuntimeError("the application was built without an Updater")
    await keep_trying(application.bot.delete_webhook, what="deleteWebhook", settings=settings)
    await updater.start_polling(
        allowed_updates=Update.ALL_TYPES,
        # The webhook is gone already; should the call fail anyway, try again rather than die.
        bootstrap_retries=-1,
        error_callback=polling_error_callback(settings),
    )


async def serve(
    application: NewsApplication,
    settings: Settings,
    *,
    mode: str,
    start_updates: UpdateSource,
    stop: asyncio.Event,
) -> None:
    """Start (retrying while Telegram is out of reach), serve until ``stop``, then shut down.

    ``stop`` may come at any moment, also while start-up is still waiting for Telegram."""
    log.info(start_line(settings, mode))
    try:
        await start_then_wait(
            _start(application, settings, start_updates),
            stop,
            started=lambda: log.info("@%s is taking updates (%s)", application.bot.username, mode),
        )
    finally:
        await _shut_down(application)


async def _start(
    application: NewsApplication, settings: Settings, start_updates: UpdateSource
) -> None:
    # Application.initialize calls getMe: the first contact with Telegram, and the token check.
    await keep_trying(application.initialize, what="getMe", settings=settings)
    if application.post_init is not None:
        await application.post_init(application)
    await start_updates(application, settings)
    await application.start()


async def _shut_down(application: NewsApplication) -> None:
    """What run_polling does on its way out, for however far start-up got."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    await application.shutdown()
    await application.bot.shutdown()  # when getMe never succeeded, the Application skips this
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


def start_line(settings: Settings, mode: str) -> str:
    return (
        f"newsbot {_version()} starting: {mode} mode, Telegram at {telegram_address(settings)}, "
        f"database {safe_database_url(settings.database_url)}"
    )


def safe_database_url(url: str) -> str:
    """The database URL with any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable DATABASE_URL)"


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "(not installed)"
