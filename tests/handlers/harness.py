"""A running newsbot Application wired to the fake Bot API, with articles to find."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update

from bot.app import NewsApplication, build_application
from bot.settings import Secret, Settings
from handlers.pacing import ChatPacer
from handlers.sender import TelegramAlertSender
from handlers.throttle import ThrottleGate
from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import ChatWindows, TokenBucket
from services.container import Services
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from tests.conftest import FixedClock
from tests.helpers.botapi import ApiCall, FakeBotApi
from tests.helpers.fake_request import FakeRequest
from tests.helpers.sqlite_template import copy_migrated_sqlite

TOKEN = "123456:TEST-token-never-logged"


@dataclass
class BotHarness:
    app: NewsApplication
    api: FakeBotApi
    clock: FixedClock

    @property
    def services(self) -> Services:
        services = self.app.bot_data.services
        assert services is not None
        return services

    async def load(self, *articles: RawArticle) -> list[int]:
        """Store articles the way ingestion does and index them."""
        report = await self.services.ingest.ingest([(a, "test") for a in articles])
        await self.services.index_follower.catch_up()
        return report.added_ids

    async def send(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def replies(self, method: str = "sendMessage") -> list[ApiCall]:
        return [c for c in self.api.calls_to(method) if c.error_code is None]


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        telegram_bot_token=Secret(TOKEN),
        search_index_dir=tmp_path / "index",
        # Tests send commands back to back; the throttle is tested on its own (``gate=``).
        command_burst=0,
    )


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    api: FakeBotApi | None = None,
    *,
    clock: FixedClock | None = None,
    alert_loop: bool = True,
    admins: frozenset[int] = frozenset(),
    database_url: str | None = None,
    gate: ThrottleGate | None = None,
    overrides: Mapping[str, Any] | None = None,
    pacer_on_the_clock: bool = False,
) -> AsyncIterator[BotHarness]:
    """The bot, started; ``alert_loop=False`` leaves matching and delivery to the test.

    ``database_url``: another database than the SQLite file in ``tmp_path``; ``overrides``:
    other settings (``feed_allowed_hosts``, ``follow_limit``...); ``pacer_on_the_clock``: the
    chats' limits in this process count (and wait) on ``clock``, not on real time, for a test
    that moves the clock faster than a minute a minute.
    """
    api = api or FakeBotApi()
    clock = clock or FixedClock()
    settings = settings_for(tmp_path)
    if database_url is not None:
        settings = replace(settings, database_url=database_url)
    else:  # the file the bot would migrate on start, already migrated
        copy_migrated_sqlite(tmp_path / "bot.db")
    if overrides:
        settings = replace(settings, **overrides)
    app = build_application(
        replace(settings, alerts_in_bot=alert_loop, admin_user_ids=admins),
        request=FakeRequest(api),
        get_updates_request=FakeRequest(api),
        clock=clock,
        gate=gate,
        pacer=(
            ChatPacer(
                windows=ChatWindows(clock=clock.seconds, sleep=clock.sleep), sleep=clock.sleep
            )
            if pacer_on_the_clock
            else None
        ),
    )
    async with started(app):
        yield BotHarness(app, api, clock)


@asynccontextmanager
async def started(app: NewsApplication) -> AsyncIterator[NewsApplication]:
    """The application with its resources open (post_init), as ``newsbot run`` starts it,
    without polling: the test hands it updates; stopped and closed again at the end."""
    async with app:
        assert app.post_init and app.post_stop and app.post_shutdown
        await app.post_init(app)
        try:
            yield app
        finally:
            await app.post_stop(app)
            await app.post_shutdown(app)


@dataclass
class AlertRig:
    """The matcher and sender a bot's alert loop would run, for the test to drive by hand."""

    sessions: async_sessionmaker[AsyncSession]
    matcher: AlertMatcher
    worker: DeliveryWorker


@asynccontextmanager
async def alert_rig(
    bot: BotHarness, database_url: str, *, worker_id: str = "test", on_the_clock: bool = False
) -> AsyncIterator[AlertRig]:
    """Matching and delivery on the bot's database, sending through its Bot.

    ``on_the_clock``: their monotonic time and the send rate's waits follow ``bot.clock``
    (a wait moves it on), for tests of pacing; otherwise those run on real time.
    """
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    clock, sender = bot.clock, TelegramAlertSender(bot.app.bot)
    if on_the_clock:
        matcher = AlertMatcher(sessions, clock=clock, monotonic=clock.seconds)
        rate = TokenBucket(29, clock=clock.seconds, sleep=clock.sleep)
        worker = DeliveryWorker(
            sessions, sender, clock=clock, worker_id=worker_id, rate=rate, monotonic=clock.seconds
        )
    else:
        matcher = AlertMatcher(sessions, clock=clock)
        worker = DeliveryWorker(
            sessions, sender, clock=clock, worker_id=worker_id, rate=TokenBucket(29)
        )
    try:
        yield AlertRig(sessions, matcher, worker)
    finally:
        await engine.dispose()
