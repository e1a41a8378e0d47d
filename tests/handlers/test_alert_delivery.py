"""New-article alerts end to end: Telegram commands in, the real matcher, outbox and worker,
and the exact sendMessage calls out, with a hand-moved clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import CURSOR, NEW_CURSOR, AlertMatcher
from services.parsing import RawArticle
from storage.alerts import CursorRepository, OutboxRepository
from storage.db import create_engine, create_session_factory
from storage.models import Cursor
from tests.conftest import FixedClock
from tests.handlers.harness import BotHarness, alert_rig, running_bot, settings_for
from tests.helpers.botapi import GROUP_UPGRADED, ApiCall, FakeBotApi

PRIVATE = 501
GROUP = -4000001001
NEW_SUPERGROUP = -1004000001001
FORUM = -1001000002002
ADMIN = 601
ALERT_PREFIXES = ("🔔 New article", "🗞")


@dataclass
class Pipeline:
    """The bot plus the alert machinery, driven by hand: match, then deliver."""

    bot: BotHarness
    clock: FixedClock
    sessions: async_sessionmaker[AsyncSession]
    matcher: AlertMatcher
    worker: DeliveryWorker
    _titles: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api(self) -> FakeBotApi:
        return self.bot.api

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def set_time(self, moment: datetime) -> None:
        assert moment >= self.clock.now, "time only moves forward"
        self.clock.now = moment

    async def run(self) -> int:
        """One matching pass and one delivery pass; how many messages went out."""
        await self.matcher.run_once()
        return await self.worker.deliver_once()

    async def command(self, text: str, chat_id: int = PRIVATE, **extra: Any) -> None:
        user_id = chat_id if chat_id > 0 else ADMIN
        before = len(self.bot.replies())
        await self.bot.send(
            self.api.updates.message_update(text, chat_id=chat_id, user_id=user_id, **extra)
        )
        (reply,) = self.bot.replies()[before:]
        assert "Only this group's administrators" not in reply.params["text"]
        # The reply counts against the chat's limit of one message a second, alerts included.
        self.advance(1)

    async def load(self, title: str, body: str = "", **fields: Any) -> int:
        number = next(self._titles)
        text = body or f"Story number {number} about {title.lower()}. It has a second sentence."
        (article_id,) = await self.bot.load(RawArticle(title=title, body=text, **fields))
        return article_id

    def alerts(self, chat_id: int | None = None) -> list[ApiCall]:
        """Alert messages Telegram accepted, optionally to one chat."""
        return [
            call
            for call in self.api.calls_to("sendMessage")
            if call.error_code is None
            and str(call.params["text"]).startswith(ALERT_PREFIXES)
            and (chat_id is None or call.params["chat_id"] == chat_id)
        ]

    def attempts(self, chat_id: int) -> list[ApiCall]:
        """Every alert sendMessage to chat_id, accepted or refused."""
        return [
            call
            for call in self.api.calls_to("sendMessage")
            if call.params["chat_id"] == chat_id
            and str(call.params["text"]).startswith(ALERT_PREFIXES)
        ]

    async def outbox(self) -> dict[str, int]:
        async with self.sessions() as session:
            return await OutboxRepository(session).counts()


def alert_titles(calls: list[ApiCall]) -> list[str]:
    """The bold first line of each alert: its article's title."""
    return [str(c.params["text"]).split("\n\n", 1)[1].split("\n", 1)[0] for c in calls]


@pytest.fixture
async def pipe(tmp_path: Path) -> AsyncIterator[Pipeline]:
    clock = FixedClock()
    api = FakeBotApi(clock=clock.seconds)
    async with running_bot(tmp_path, api, clock=clock, alert_loop=False) as bot:
        api.set_admins(GROUP, [ADMIN])
        api.set_admins(FORUM, [ADMIN])
        api.set_chat(FORUM, "supergroup", is_forum=True)
        url = settings_for(tmp_path).database_url
        async with alert_rig(bot, url, worker_id="test-worker", on_the_clock=True) as rig:
            # As the alert loop does when the bot starts: from now on, new articles alert.
            assert await rig.matcher.run_once() == 0
            yield Pipeline(bot, clock, rig.sessions, rig.matcher, rig.worker)


# -- what is sent, to whom ----------------------------------------------------------------------


async def test_a_new_article_reaches_each_subscriber_as_escaped_html(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/subscribe harbour", GROUP, chat_type="group")
    await pipe.load(
        'Harbour <strike> & "pay" row',
        "Dock workers walked out on Monday. The harbour was quiet all day.",
        summary="Dockers & owners <disagree> about pay.",
        url="https://news.example/harbour?a=1&b=2",
        source="Example <Wire>",
    )

    assert await pipe.run() == 2

    calls = pipe.alerts()
    assert sorted(c.params["chat_id"] for c in calls) == sorted([PRIVATE, GROUP])
    for call in calls:
        text = call.params["text"]
        assert call.params["parse_mode"] == "HTML"
        assert "message_thread_id" not in call.params
        assert len(text) <= 4096
        assert "<b>Harbour &lt;strike&gt; &amp; &quot;pay&quot; row</b>" in text
        assert "Dockers &amp; owners &lt;disagree&gt; about pay." in text
        assert "<i>Example &lt;Wire&gt; · 1 Nov 2026</i>" in text
        assert '<a href="https://news.example/harbour?a=1&amp;b=2">Read the article</a>' in text
    (shown,) = [m for m in pipe.api.sent_messages(GROUP) if m["text"].startswith("🔔")]
    assert 'Harbour <strike> & "pay" row' in shown["text"]  # what the reader sees
    assert "Dockers & owners <disagree> about pay." in shown["text"]
    assert await pipe.run() == 0
    assert len(pipe.alerts()) == 2


async def test_keywords_select_articles_and_exclusions_drop_them(pipe: Pipeline) -> None:
    await pipe.command("/subscribe harbour -football")
    await pipe.load("Harbours brace for the strike")  # inflected: still a match
    await pipe.load("Harbour football final postponed")
    await pipe.load("Bakery prices rise again")
    await pipe.run()
    assert alert_titles(pipe.alerts(PRIVATE)) == ["<b>Harbours brace for the strike</b>"]


async def test_one_message_per_chat_and_article_however_often_it_matches(
    pipe: Pipeline,
) -> None:
    await pipe.command("/subscribe harbour")
    await pipe.command("/subscribe strike")
    await pipe.command("/subscribe")
    async with pipe.sessions.begin() as session:
        position = await CursorRepository(session).lock(CURSOR)
    await pipe.load("Harbour strike enters its second week")

    await pipe.matcher.run_once()
    async with pipe.sessions.begin() as session:  # as if a crash made matching run again
        await CursorRepository(session).move(CURSOR, position)
    await AlertMatcher(pipe.sessions, clock=pipe.clock).run_once()
    await pipe.matcher.run_once()
    for _ in range(3):
        await pipe.worker.deliver_once()
        pipe.advance(5)

    assert len(pipe.alerts(PRIVATE)) == 1
    assert await pipe.outbox() == {"sent": 1}


async def test_a_forum_topic_subscription_is_alerted_in_its_topic(pipe: Pipeline) -> None:
    await pipe.command("/subscribe", FORUM, message_thread_id=7, is_topic_message=True)
    await pipe.load("Harbour strike enters its second week")
    await pipe.run()
    (call,) = pipe.alerts(FORUM)
    assert call.params["message_thread_id"] == 7
    (sent,) = [m for m in pipe.api.sent_messages(FORUM) if m["text"].startswith("🔔")]
    assert sent["message_thread_id"] == 7 and sent["is_topic_message"] is True


async def test_an_article_stored_before_the_subscription_is_not_alerted(pipe: Pipeline) -> None:
    await pipe.load("Harbour strike announced")
    pipe.advance(60)
    await pipe.command("/subscribe")
    pipe.advance(60)
    await pipe.load("Harbour strike called off")
    await pipe.run()
    assert alert_titles(pipe.alerts(PRIVATE)) == ["<b>Harbour strike called off</b>"]


async def test_the_first_articles_of_a_new_installation_are_alerted(pipe: Pipeline) -> None:
    # The archive was empty when the bot started: its very first article must alert.
    await pipe.command("/subscribe")
    await pipe.load("The first article ever stored")
    assert await pipe.run() == 1


async def test_an_alert_with_a_long_title_and_summary_fits_one_message(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    sentence = "Tom & Jerry <argue> about the harbour’s future, again and again. "
    await pipe.load(
        "Harbour & <dock> " * 40,
        sentence * 200,
        summary="& <" * 1000,
        url="https://news.example/" + "a&b" * 500,
    )
    assert await pipe.run() == 1
    # Telegram counts the 4096 characters after parsing the HTML (the long link is markup).
    (call,) = pipe.alerts(PRIVATE)
    (sent,) = [m for m in pipe.api.sent_messages(PRIVATE) if m["text"].startswith("🔔")]
    assert len(sent["text"]) <= 4096
    assert sent["text"].count("Harbour & <dock>") >= 10
    assert "Read the article" in sent["text"]
    assert "https://news.example/a&amp;ba&amp;b" in call.params["text"]


# -- failures Telegram reports -------------------------------------------------------------------


async def test_forbidden_pauses_the_chat_until_the_bot_is_added_back(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/subscribe", GROUP, chat_type="group")
    settings = pipe.bot.services.subscriptions.settings
    pipe.api.fail_next(
        "sendMessage",
        GROUP,
        error_code=403,
        description="Forbidden: bot was kicked from the group chat",
    )

    await pipe.load("Article one")
    await pipe.run()
    assert not (await settings(GROUP)).active
    assert [c.error_code for c in pipe.attempts(GROUP)] == [403]

    pipe.advance(2)
    await pipe.load("Article two")
    await pipe.run()
    assert alert_titles(pipe.alerts(PRIVATE)) == ["<b>Article one</b>", "<b>Article two</b>"]
    assert len(pipe.attempts(GROUP)) == 1  # nothing more was tried while paused

    await pipe.bot.send(pipe.api.updates.my_chat_member_update(GROUP, "left", "member"))
    assert (await settings(GROUP)).active
    pipe.advance(2)
    await pipe.load("Article three")
    await pipe.run()
    pipe.advance(5)
    await pipe.run()
    assert alert_titles(pipe.alerts(GROUP)) == ["<b>Article three</b>"]


async def test_a_user_blocking_the_bot_pauses_the_private_chat(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    pipe.api.block(PRIVATE)
    await pipe.load("Article one")
    await pipe.run()
    assert not (await pipe.bot.services.subscriptions.settings(PRIVATE)).active
    assert [c.error_code for c in pipe.attempts(PRIVATE)] == [403]
    assert pipe.bot.api.calls_to("sendMessage")[-1].params["chat_id"] == PRIVATE
    assert await pipe.outbox() == {"dropped": 1}


async def test_a_group_upgraded_on_send_gets_the_alert_at_its_new_id(pipe: Pipeline) -> None:
    await pipe.command("/subscribe", GROUP, chat_type="group")
    pipe.api.fail_next(
        "sendMessage",
        GROUP,
        error_code=400,
        description=GROUP_UPGRADED,
        migrate_to_chat_id=NEW_SUPERGROUP,
    )
    await pipe.load("Article one")

    assert await pipe.run() == 1

    assert [c.error_code for c in pipe.attempts(GROUP)] == [400]
    assert alert_titles(pipe.alerts(NEW_SUPERGROUP)) == ["<b>Article one</b>"]
    subscriptions = pipe.bot.services.subscriptions
    assert await subscriptions.list_for_chat(GROUP) == []
    assert len(await subscriptions.list_for_chat(NEW_SUPERGROUP)) == 1
    assert await pipe.outbox() == {"sent": 1}

    pipe.advance(4)
    await pipe.load("Article two")
    await pipe.run()
    assert alert_titles(pipe.alerts(NEW_SUPERGROUP)) == ["<b>Article one</b>", "<b>Article two</b>"]
    assert len(pipe.attempts(GROUP)) == 1


async def test_retry_after_holds_the_alert_exactly_as_long_as_asked(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    pipe.api.fail_next(
        "sendMessage",
        PRIVATE,
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    start = pipe.clock.now.timestamp()
    await pipe.load("Article one")
    assert await pipe.run() == 0
    assert [c.error_code for c in pipe.attempts(PRIVATE)] == [429]

    pipe.advance(6.9)
    assert await pipe.worker.deliver_once() == 0
    assert len(pipe.attempts(PRIVATE)) == 1
    pipe.advance(0.1)
    assert await pipe.worker.deliver_once() == 1
    (alert,) = pipe.alerts(PRIVATE)
    assert alert.at - start >= 7
    pipe.advance(60)
    assert await pipe.worker.deliver_once() == 0
    assert len(pipe.alerts(PRIVATE)) == 1


async def test_retry_after_pauses_sending_to_every_chat(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/subscribe", GROUP, chat_type="group")
    pipe.api.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 4", retry_after=4
    )
    start = pipe.clock.now.timestamp()
    await pipe.load("Article one")
    await pipe.run()  # the flood wait is the worker's own: it sleeps on the test clock
    pipe.advance(4)
    await pipe.worker.deliver_once()
    alerts = pipe.alerts()
    assert sorted(c.params["chat_id"] for c in alerts) == sorted([PRIVATE, GROUP])
    assert all(c.at - start >= 4 for c in alerts)
    assert len(pipe.api.calls_to("sendMessage")) == 2 + 1 + 2  # replies, the 429, alerts


@pytest.mark.parametrize(
    ("code", "description"), [(502, "Bad Gateway"), (500, "Internal Server Error")]
)
async def test_server_errors_are_retried_with_backoff(
    pipe: Pipeline, code: int, description: str
) -> None:
    await pipe.command("/subscribe")
    pipe.api.fail_next("sendMessage", PRIVATE, error_code=code, description=description, times=2)
    await pipe.load("Article one")
    await pipe.run()
    pipe.advance(4.9)
    await pipe.worker.deliver_once()
    assert len(pipe.attempts(PRIVATE)) == 1
    pipe.advance(0.1)  # 5 s after the first failure
    await pipe.worker.deliver_once()
    assert [c.error_code for c in pipe.attempts(PRIVATE)] == [code, code]
    pipe.advance(9.9)
    await pipe.worker.deliver_once()
    assert len(pipe.attempts(PRIVATE)) == 2
    pipe.advance(0.1)  # 10 s after the second
    assert await pipe.worker.deliver_once() == 1
    assert len(pipe.alerts(PRIVATE)) == 1


async def test_a_message_telegram_refuses_for_good_is_not_retried(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    pipe.api.fail_next(
        "sendMessage", PRIVATE, error_code=400, description="Bad Request: something odd"
    )
    await pipe.load("Article one")
    await pipe.run()
    pipe.advance(3600)
    await pipe.worker.deliver_once()
    assert [c.error_code for c in pipe.attempts(PRIVATE)] == [400]
    assert await pipe.outbox() == {"failed": 1}


async def test_a_deleted_forum_topic_sends_to_general_from_then_on(pipe: Pipeline) -> None:
    await pipe.command("/subscribe", FORUM, message_thread_id=7, is_topic_message=True)
    pipe.api.fail_next(
        "sendMessage", FORUM, error_code=400, description="Bad Request: message thread not found"
    )
    await pipe.load("Article one")
    assert await pipe.run() == 1
    refused, delivered = pipe.attempts(FORUM)
    assert refused.params["message_thread_id"] == 7 and refused.error_code == 400
    assert "message_thread_id" not in delivered.params and delivered.error_code is None
    (subscription,) = await pipe.bot.services.subscriptions.list_for_chat(FORUM)
    assert subscription.topic == 0


async def test_an_upgrade_announced_by_telegram_moves_later_alerts(pipe: Pipeline) -> None:
    await pipe.command("/subscribe", GROUP, chat_type="group")
    await pipe.bot.send(
        pipe.api.updates.message_update(
            "", chat_id=GROUP, chat_type="group", migrate_to_chat_id=NEW_SUPERGROUP
        )
    )
    await pipe.load("Article one")
    await pipe.run()
    assert pipe.attempts(GROUP) == []
    assert alert_titles(pipe.alerts(NEW_SUPERGROUP)) == ["<b>Article one</b>"]


async def test_unsubscribing_stops_alerts(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.load("Article one")
    await pipe.run()
    await pipe.command("/unsubscribe all")
    pipe.advance(1)
    await pipe.load("Article two")
    pipe.advance(5)
    await pipe.run()
    assert alert_titles(pipe.alerts(PRIVATE)) == ["<b>Article one</b>"]


async def test_alerts_held_for_a_digest_are_dropped_when_the_bot_is_removed(
    pipe: Pipeline,
) -> None:
    await pipe.command("/subscribe", GROUP, chat_type="group")
    await pipe.command("/digest hourly", GROUP, chat_type="group")
    await pipe.load("Article one")
    await pipe.run()
    await pipe.bot.send(pipe.api.updates.my_chat_member_update(GROUP, "member", "kicked"))
    await pipe.bot.send(pipe.api.updates.my_chat_member_update(GROUP, "kicked", "member"))
    pipe.set_time(datetime(2026, 11, 1, 13, 0, tzinfo=UTC))
    assert await pipe.run() == 0
    assert pipe.attempts(GROUP) == []
    assert await pipe.outbox() == {"dropped": 1}


async def test_an_article_without_a_link_points_into_the_bot(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    article_id = await pipe.load("Article one")
    await pipe.run()
    (call,) = pipe.alerts(PRIVATE)
    link = f'<a href="https://t.me/newsbot_test_bot?start=a_{article_id}">Open in the bot</a>'
    assert link in call.params["text"]


# -- when alerts go out ------------------------------------------------------------------------


async def test_an_hourly_digest_collects_the_hours_articles_in_one_message(
    pipe: Pipeline,
) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/digest hourly")
    pipe.advance(10 * 60)
    await pipe.load("Article one")
    await pipe.run()
    pipe.advance(30 * 60)
    await pipe.load("Article two & more")
    await pipe.run()
    pipe.set_time(datetime(2026, 11, 1, 12, 59, 59, tzinfo=UTC))
    assert await pipe.run() == 0
    assert pipe.alerts() == []

    pipe.set_time(datetime(2026, 11, 1, 13, 0, tzinfo=UTC))
    assert await pipe.run() == 1

    (digest,) = pipe.alerts(PRIVATE)
    text = digest.params["text"]
    assert text.startswith("🗞 Your hourly digest (2)")
    assert "<b>Article one</b>" in text and "<b>Article two &amp; more</b>" in text
    assert digest.params["link_preview_options"] == {"is_disabled": True}
    pipe.advance(3600)
    assert await pipe.run() == 0
    assert await pipe.outbox() == {"sent": 2}


async def test_a_full_digest_stays_within_one_message(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/digest hourly")
    for number in range(30):
        await pipe.load(f"Article {number} " + "& <wide> headline " * 15)
    await pipe.run()
    pipe.set_time(datetime(2026, 11, 1, 13, 0, tzinfo=UTC))
    await pipe.run()
    (digest,) = pipe.alerts(PRIVATE)
    assert len(digest.params["text"]) <= 4096
    assert "more. See /latest." in digest.params["text"]


async def test_quiet_hours_hold_alerts_until_they_end_in_the_chats_time_zone(
    pipe: Pipeline,
) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/quiet 22:00-07:00")
    await pipe.command("/timezone Europe/Berlin")  # UTC+1 in November
    pipe.set_time(datetime(2026, 11, 1, 21, 30, tzinfo=UTC))  # 22:30 in Berlin
    await pipe.load("Late news")
    await pipe.run()
    pipe.set_time(datetime(2026, 11, 2, 5, 59, 59, tzinfo=UTC))
    assert await pipe.run() == 0
    assert pipe.alerts() == []

    pipe.set_time(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))  # 07:00 in Berlin
    assert await pipe.run() == 1
    assert alert_titles(pipe.alerts(PRIVATE)) == ["<b>Late news</b>"]


async def test_articles_outside_quiet_hours_go_at_once(pipe: Pipeline) -> None:
    await pipe.command("/subscribe")
    await pipe.command("/quiet 22:00-07:00")
    await pipe.load("Midday news")
    assert await pipe.run() == 1


@pytest.mark.parametrize("chat_id", [GROUP, PRIVATE])
async def test_alerts_to_one_chat_are_a_second_apart(pipe: Pipeline, chat_id: int) -> None:
    spacing = 1.0  # a group's twenty a minute: tests/services/alerts/test_pipeline.py
    await pipe.command("/subscribe", chat_id, chat_type="group" if chat_id < 0 else None)
    await pipe.load("Article one")
    await pipe.load("Article two")
    assert await pipe.run() == 1
    first_at = pipe.alerts(chat_id)[0].at
    pipe.advance(spacing - 0.1)
    assert await pipe.worker.deliver_once() == 0
    pipe.advance(0.1)
    assert await pipe.worker.deliver_once() == 1
    first, second = pipe.alerts(chat_id)
    assert second.at - first_at >= spacing
    assert alert_titles([first, second]) == ["<b>Article one</b>", "<b>Article two</b>"]


async def test_other_chats_are_not_held_up_by_one_chats_spacing(pipe: Pipeline) -> None:
    await pipe.command("/subscribe", GROUP, chat_type="group")
    await pipe.command("/subscribe")
    await pipe.load("Article one")
    await pipe.load("Article two")
    assert await pipe.run() == 2  # one to each chat at once
    assert {c.params["chat_id"] for c in pipe.alerts()} == {GROUP, PRIVATE}


# -- the alert loop the bot starts ---------------------------------------------------------------


async def test_the_running_bot_sends_an_alert_within_seconds(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:  # alerts_in_bot: post_init started the loop
        await _alert_loop_started(tmp_path)
        await bot.send(
            bot.api.updates.message_update("/subscribe", chat_id=PRIVATE, user_id=PRIVATE)
        )
        bot.clock.now += timedelta(seconds=1)  # the reply counts against the chat's 1 a second
        await bot.load(RawArticle(title="Harbour strike", body="Dock workers walked out today."))

        def is_alert(call: ApiCall) -> bool:
            return call.error_code is None and str(call.params["text"]).startswith("🔔")

        (call,) = await bot.api.wait_for_calls("sendMessage", predicate=is_alert, within=5)
    assert call.params["chat_id"] == PRIVATE and "<b>Harbour strike</b>" in call.params["text"]


async def _alert_loop_started(tmp_path: Path, within: float = 5.0) -> None:
    """Wait for the loop's first matching pass: articles stored before it are the archive."""
    engine = create_engine(settings_for(tmp_path).database_url)
    query = select(Cursor.position).where(Cursor.name == CURSOR)
    try:
        for _ in range(int(within / 0.01)):
            async with create_session_factory(engine)() as session:
                position = (await session.execute(query)).scalar_one_or_none()
            if position is not None and position != NEW_CURSOR:
                return
            await asyncio.sleep(0.01)
    finally:
        await engine.dispose()
    raise TimeoutError("the alert loop never matched")


# -- other languages and scripts (issue 12) ------------------------------------------------------


async def delivered(pipe: Pipeline) -> list[str]:
    """Match, then deliver until nothing is left (one alert a second per chat)."""
    await pipe.run()
    for _ in range(5):
        pipe.advance(2)
        await pipe.run()
    return sorted(
        title.removeprefix("<b>").removesuffix("</b>")
        for title in alert_titles(pipe.alerts(PRIVATE))
    )


async def test_a_russian_keyword_alerts_on_its_inflections(pipe: Pipeline) -> None:
    await pipe.command("/subscribe выборы")
    await pipe.load("Явка на выборах в Москве оказалась выше прошлой", "Итоги подведут позже.")
    await pipe.load("Выбросы в атмосферу сократились", "Данные опубликовало министерство.")
    assert await delivered(pipe) == ["Явка на выборах в Москве оказалась выше прошлой"]


async def test_cjk_and_thai_keywords_alert_on_the_articles_that_hold_them(pipe: Pipeline) -> None:
    await pipe.command("/subscribe 基准利率 อัตราดอกเบี้ย")
    (reply,) = pipe.bot.replies()[-1:]
    assert "I read" not in reply.params["text"]  # no "typo" corrected in unspaced scripts
    await pipe.load("央行宣布下调基准利率", "中国人民银行周一宣布下调基准利率。")
    await pipe.load("利率市场化改革继续推进", "有关部门表示，改革将继续推进。")
    await pipe.load("ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย", "คณะกรรมการมีมติคงอัตรา")
    assert await delivered(pipe) == sorted(
        ["央行宣布下调基准利率", "ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย"]
    )
