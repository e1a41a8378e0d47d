"""ChatPacer: replies and alerts share each chat's limits; replies wait out RetryAfter."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

import pytest
from telegram.error import RetryAfter

from handlers.pacing import SENDING_ALERT, ChatPacer
from services.alerts.ratelimit import ChatWindows


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def pacer(clock: Clock) -> ChatPacer:
    windows = ChatWindows(clock=clock, sleep=clock.sleep)
    return ChatPacer(windows=windows, sleep=clock.sleep)


async def send(limiter: ChatPacer, clock: Clock, chat_id: int, *, alert: bool) -> float:
    """One sendMessage through the limiter; returns when (on the clock) it went."""
    went: list[float] = []

    async def callback(**_: Any) -> bool:
        went.append(clock.now)
        return True

    token = SENDING_ALERT.set(alert)
    try:
        await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": chat_id}, None)
    finally:
        SENDING_ALERT.reset(token)
    return went[0]


async def test_an_alert_waits_for_a_reply_that_just_went_to_the_chat() -> None:
    clock = Clock()
    limiter = pacer(clock)
    replied = await send(limiter, clock, 7, alert=False)
    alerted = await send(limiter, clock, 7, alert=True)
    assert alerted - replied >= 1.0
    assert await send(limiter, clock, 8, alert=True) == alerted  # other chats do not wait


async def test_a_reply_goes_at_once_even_right_after_an_alert() -> None:
    clock = Clock()
    limiter = pacer(clock)
    alerted = await send(limiter, clock, 7, alert=True)
    assert await send(limiter, clock, 7, alert=False) == alerted  # a user is waiting


async def test_a_group_gets_no_more_than_twenty_a_minute_from_replies_and_alerts() -> None:
    clock = Clock()
    limiter = pacer(clock)
    times = []
    for n in range(30):
        times.append(await send(limiter, clock, -5, alert=n % 3 != 0))
        clock.now += 0.1
    alerts = [t for n, t in enumerate(times) if n % 3 != 0]
    for at in alerts:
        assert sum(1 for t in times if at - 60 < t <= at) <= 20


async def test_retry_after_is_waited_out_for_replies_but_handed_back_for_alerts() -> None:
    clock = Clock()
    limiter = pacer(clock)
    calls: list[float] = []

    async def refused_once(**_: Any) -> bool:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RetryAfter(3)
        return True

    await limiter.process_request(refused_once, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert calls[1] - calls[0] == pytest.approx(3.0)

    calls.clear()
    token = SENDING_ALERT.set(True)
    try:
        with pytest.raises(RetryAfter):
            await limiter.process_request(refused_once, (), {}, "sendMessage", {"chat_id": 2}, None)
    finally:
        SENDING_ALERT.reset(token)
    assert len(calls) == 1  # the alert sender re-queues it and pauses every send


class Recorder:
    """Stands in for the database record of replies (ReplyLog); fails while ``down``."""

    def __init__(self) -> None:
        self.recorded: list[int] = []
        self.down = False

    def record(self, chat_id: int) -> Coroutine[Any, Any, bool]:
        return self._write(chat_id)

    async def _write(self, chat_id: int) -> bool:
        if self.down:
            raise ConnectionRefusedError("database unreachable")
        self.recorded.append(chat_id)
        return True


async def test_replies_are_recorded_for_other_processes_but_alerts_are_not() -> None:
    clock = Clock()
    limiter = pacer(clock)
    recorder = Recorder()
    limiter.attach(recorder)
    await send(limiter, clock, 7, alert=False)
    await send(limiter, clock, 8, alert=True)  # the alert sender records its own
    await limiter.recorded()
    assert recorder.recorded == [7]
    await limiter.detach()
    await send(limiter, clock, 9, alert=False)
    assert recorder.recorded == [7]


async def test_a_reply_goes_when_it_cannot_be_recorded_and_that_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    limiter = pacer(clock)
    recorder = Recorder()
    limiter.attach(recorder)
    recorder.down = True
    with caplog.at_level(logging.INFO, logger="handlers.pacing"):
        went = [await send(limiter, clock, 7, alert=False) for _ in range(3)]
        await limiter.recorded()
        recorder.down = False
        await send(limiter, clock, 7, alert=False)
        await limiter.recorded()
    assert len(went) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "could not record a reply for the alert sender: database unreachable",
        "recording replies for the alert sender works again",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert recorder.recorded == [7]


def test_a_broadcast_to_many_chats_keeps_each_chats_limit_and_forgets_idle_ones() -> None:
    clock = Clock()
    windows = ChatWindows(clock=clock, sleep=clock.sleep)
    for chat_id in range(1, 12_001):  # more chats than are kept without pruning
        clock.now += 0.001
        windows.record(chat_id)
    # Each chat's last message still counts, however many chats there are.
    assert windows.wait_for(12_000) > 0
    assert windows.wait_for(1) == 0  # more than a second ago
    clock.now += 120  # a minute and more later, every chat is idle
    windows.record(5)
    assert windows.wait_for(5) > 0
    assert windows.wait_for(6) == 0
    assert len(windows._sent) == 1  # the idle chats are forgotten
