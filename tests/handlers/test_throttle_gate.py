"""A flood from one sender: a burst answered, one notice, the latest search answered later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.throttle import SLOW_DOWN, SLOW_DOWN_BUTTON, SLOW_DOWN_SEARCH, ThrottleGate
from services.parsing import RawArticle
from services.throttle import CommandThrottle, ThrottlePolicy
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.rate_limits import ManualClock

TOPICS = ("iran", "brexit", "ebola", "ukraine", "climate", "election", "olympics", "tesla")


class ManualTime:
    """The throttle's clock; ``sleep`` moves it instead of waiting."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.slept: list[float] = []
        # Cleared while a test sends updates "at one instant": a replay's sleep, which
        # moves the clock, waits until they are all in (each update reads its chat's
        # language from the database before the gate, and the replay may run meanwhile).
        self.running = asyncio.Event()
        self.running.set()

    async def sleep(self, seconds: float) -> None:
        await self.running.wait()
        self.slept.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def time() -> ManualTime:
    return ManualTime()


@pytest.fixture
async def bot(tmp_path: Path, time: ManualTime) -> AsyncIterator[BotHarness]:
    gate = ThrottleGate(CommandThrottle(ThrottlePolicy(2, 1.0), time.clock), sleep=time.sleep)
    async with running_bot(tmp_path, gate=gate) as harness:
        await harness.load(
            *(RawArticle(title=f"News about {t}", body=f"A long story about {t}.") for t in TOPICS)
        )
        yield harness


def texts(bot: BotHarness, chat_id: int) -> list[str]:
    return [c.params["text"] for c in bot.replies() if c.params["chat_id"] == chat_id]


async def test_a_search_flood_gets_the_burst_one_notice_and_the_latest(
    bot: BotHarness, time: ManualTime
) -> None:
    time.running.clear()
    for topic in TOPICS:  # all at one instant of the throttle's clock
        await bot.send(bot.api.updates.message_update(topic, chat_id=5, user_id=5))
    time.running.set()
    await bot.api.wait_for_calls("sendMessage", 4)
    answered = texts(bot, 5)
    assert len(answered) == 4
    assert "iran" in answered[0] and "brexit" in answered[1]
    assert answered[2] == SLOW_DOWN_SEARCH
    assert "tesla" in answered[3]  # the latest; the five in between were coalesced into it
    assert time.slept == [pytest.approx(2.0)]  # a token for the notice, one for the answer
    await asyncio.sleep(0.05)
    assert len(texts(bot, 5)) == 4  # nothing more comes


async def test_other_users_are_not_slowed_by_one_users_flood(bot: BotHarness) -> None:
    for topic in TOPICS:
        await bot.send(bot.api.updates.message_update(topic, chat_id=5, user_id=5))
    await bot.send(bot.api.updates.message_update("/search ebola", chat_id=6, user_id=6))
    (answer,) = texts(bot, 6)
    assert "ebola" in answer


async def test_other_commands_in_a_flood_are_dropped_after_the_notice(
    bot: BotHarness, time: ManualTime
) -> None:
    for _ in range(6):
        await bot.send(bot.api.updates.message_update("/latest", chat_id=5, user_id=5))
    await asyncio.sleep(0.05)  # room for a replay, were one (wrongly) scheduled
    answered = texts(bot, 5)
    assert len(answered) == 3 and answered[2] == SLOW_DOWN
    assert time.slept == []  # nothing is deferred: only searches are worth answering late


async def test_a_sender_at_a_normal_pace_never_sees_the_notice(
    bot: BotHarness, time: ManualTime
) -> None:
    for topic in TOPICS:
        await bot.send(bot.api.updates.message_update(f"/search {topic}", chat_id=5, user_id=5))
        time.clock.advance(1.0)
    answered = texts(bot, 5)
    assert len(answered) == len(TOPICS)
    assert SLOW_DOWN_SEARCH not in answered


async def test_in_a_group_the_flooding_user_pays_not_the_group(bot: BotHarness) -> None:
    for _ in range(4):
        await bot.send(
            bot.api.updates.message_update(
                "/latest", chat_id=-100, chat_type="supergroup", user_id=7
            )
        )
    await bot.send(
        bot.api.updates.message_update("/latest", chat_id=-100, chat_type="supergroup", user_id=8)
    )
    answered = texts(bot, -100)
    assert answered.count(SLOW_DOWN) == 1
    assert len(answered) == 2 + 1 + 1  # user 7's burst, the notice, user 8's answer


async def test_refused_button_taps_are_still_answered(bot: BotHarness) -> None:
    for _ in range(4):
        await bot.send(bot.api.updates.callback_query_update("pg:1:5", message_id=1, chat_id=5))
    answers = [c.params.get("text") for c in bot.api.calls_to("answerCallbackQuery")]
    assert len(answers) == 4
    assert answers[2:] == [SLOW_DOWN_BUTTON, SLOW_DOWN_BUTTON]
