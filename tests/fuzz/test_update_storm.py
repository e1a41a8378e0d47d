"""A storm of random updates through the real Application, polling the fake Bot API.

Odd Unicode, huge numbers, impossible dates, internal URLs, forged buttons, edited
messages and messages without text, for private chats and groups, handled concurrently
as in production. Nothing may log a traceback, and every private message gets its answer.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from handlers.throttle import ThrottleGate
from services.parsing import RawArticle
from services.throttle import CommandThrottle, ThrottlePolicy
from tests.fuzz.strategies import huge_number, odd_text, urls, words
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.botapi import BOT_USERNAME, FakeBotApi
from tests.helpers.tg_objects import JSON

PRIVATE_CHATS = tuple(range(3001, 3021))
GROUPS = (-4000002001, -1001000002001)
COMMANDS = (
    "search", "latest", "article", "start", "help", "subscribe", "subscriptions",
    "unsubscribe", "digest", "quiet", "timezone", "feeds", "addfeed", "removefeed",
    "serch", "language", "follow", "export", "x" * 32,
)  # fmt: skip
INTERNAL = ("http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data", "file:///etc")
MEDIA: tuple[JSON, ...] = (
    {"location": {"latitude": 52.5, "longitude": 13.4}},
    {"contact": {"phone_number": "+490000", "first_name": "Ann"}},
    {"dice": {"emoji": "🎲", "value": 6}},
    {"photo": [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]},
)
BAD_DATES = ("2014-02-30", "0000-00-00", "99999-01-01", "2015-13-01", "1969-12-31")


@dataclass(frozen=True)
class Spec:
    """One update to make: what, in which chat, and whether the bot must answer it."""

    kind: str  # text, command, media, button, inline, member
    chat_id: int
    text: str = ""
    addressee: str | None = None
    edited: bool = False
    media: int = 0
    date: int | None = None

    @property
    def answer_expected(self) -> bool:
        if self.chat_id < 0 or self.kind not in ("text", "command", "media"):
            return False
        return not (self.kind == "media" and self.edited)


argument = st.one_of(
    words, odd_text, huge_number, st.sampled_from(INTERNAL + BAD_DATES), urls.map(str)
)
query_text = st.one_of(
    words,
    odd_text,
    huge_number,
    st.sampled_from(INTERNAL),
    st.sampled_from(BAD_DATES).map(lambda day: f"since:{day} before:{day} news"),
)
chats = st.sampled_from(PRIVATE_CHATS + GROUPS)
dates = st.one_of(st.none(), st.sampled_from([0, 1, 2**31 - 1]))
specs = st.one_of(
    st.builds(
        Spec,
        kind=st.just("text"),
        chat_id=chats,
        text=query_text.filter(str.strip),  # Telegram delivers no blank messages
        edited=st.booleans(),
    ),
    st.builds(
        Spec,
        kind=st.just("command"),
        chat_id=chats,
        text=st.builds(lambda c, a: f"/{c} {a}", st.sampled_from(COMMANDS), argument),
        addressee=st.sampled_from([None, None, BOT_USERNAME, "other_bot"]),
        edited=st.booleans(),
        date=dates,
    ),
    st.builds(
        Spec,
        kind=st.just("media"),
        chat_id=chats,
        media=st.integers(0, len(MEDIA) - 1),
        edited=st.booleans(),
    ),
    st.builds(
        Spec,
        kind=st.just("button"),
        chat_id=st.sampled_from(PRIVATE_CHATS),
        text=st.one_of(
            odd_text,
            st.from_regex(r"(pg|unsub):[0-9]{1,20}(:[0-9]{1,5})?", fullmatch=True),
        ).filter(lambda d: 0 < len(d.encode()) <= 64),
    ),
    st.builds(Spec, kind=st.just("inline"), chat_id=st.sampled_from(PRIVATE_CHATS), text=words),
    st.builds(Spec, kind=st.just("member"), chat_id=chats),
)


def make_update(api: FakeBotApi, spec: Spec) -> JSON:
    factory = api.updates
    private = spec.chat_id > 0
    sender = spec.chat_id if private else PRIVATE_CHATS[0]
    chat_type = "private" if private else ("group" if spec.chat_id > -(10**12) else "supergroup")
    where: dict[str, Any] = {"chat_id": spec.chat_id, "chat_type": chat_type, "user_id": sender}
    if spec.kind == "text":
        return factory.message_update(spec.text, edited=spec.edited, **where)
    if spec.kind == "command":
        name, _, rest = spec.text.partition(" ")
        head = f"{name}@{spec.addressee}" if spec.addressee else name
        update = factory.message_update(f"{head} {rest}", edited=spec.edited, **where)
        if spec.date is not None:
            message = update.get("message") or update["edited_message"]
            message["date"] = spec.date
        return update
    if spec.kind == "media":
        return factory.media_message_update(MEDIA[spec.media], edited=spec.edited, **where)
    if spec.kind == "button":
        # A forged button on a message the bot sent (the update tells the fake about it).
        return factory.callback_query_update(spec.text, message_id=1, chat_id=spec.chat_id)
    if spec.kind == "inline":
        return factory.inline_query_update(spec.text[:256], user_id=spec.chat_id)
    status = "kicked" if private else "left"
    return factory.my_chat_member_update(spec.chat_id, "member", status, chat_type=chat_type)


def next_chat(chat_id: int) -> int:
    ring = PRIVATE_CHATS if chat_id > 0 else GROUPS
    return ring[(ring.index(chat_id) + 1) % len(ring)]


def counting_gate() -> ThrottleGate:
    """The real throttle, on a clock that moves a second at each look: nobody is refused."""
    ticks = itertools.count(step=1.0)
    return ThrottleGate(CommandThrottle(ThrottlePolicy(2, 1.0), lambda: next(ticks)))


@pytest.fixture
async def polling_bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False, gate=counting_gate()) as bot:
        await bot.load(
            RawArticle(title="Obama <b>letter</b> & Iran", body="The letter & the reply."),
            *(RawArticle(title=f"News {n} 😀", body=f"Story number {n}.") for n in range(7)),
        )
        app = bot.app
        assert app.updater is not None
        await app.start()
        await app.updater.start_polling(timeout=1, poll_interval=0)
        try:
            yield bot
        finally:
            await app.updater.stop()
            await app.stop()


async def idle(bot: BotHarness) -> None:
    """Wait until every update was fetched and handled (replies included)."""
    app = bot.app

    def done(_: object) -> bool:
        return (
            not bot.api.pending_updates()
            and app.update_queue.empty()
            and app.update_processor.current_concurrent_updates == 0
        )

    await bot.api.wait_for_calls("getUpdates", predicate=done, within=60)


def sent_per_chat(api: FakeBotApi) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in api.calls_to("sendMessage"))


# One storm per run on a fresh bot: a storm replayed on the same bot while shrinking would
# mix its answers with the last one's, so a failure is reported as generated.
@settings(max_examples=1, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(drawn=st.lists(specs, min_size=150, max_size=150))
async def test_a_storm_of_random_updates(
    polling_bot: BotHarness, caplog: pytest.LogCaptureFixture, drawn: list[Spec]
) -> None:
    # 300 updates: what Hypothesis drew (more would exceed its entropy per example), then
    # the same again from the next chat along, interleaved, so chats overlap differently.
    storm = [
        spec
        for first in drawn
        for spec in (first, replace(first, chat_id=next_chat(first.chat_id)))
    ]
    api = polling_bot.api
    await idle(polling_bot)
    caplog.clear()
    before = sent_per_chat(api)
    expected = Counter(spec.chat_id for spec in storm if spec.answer_expected)
    for spec in storm:
        api.push_update(make_update(api, spec))

    def private_chats_answered(_: object) -> bool:
        answered = sent_per_chat(api) - before
        return all(answered[chat] >= expected[chat] for chat in PRIVATE_CHATS)

    await api.wait_for_calls("sendMessage", predicate=private_chats_answered, within=60)
    await idle(polling_bot)  # an extra answer would have come by now
    # Every reply was accepted (valid HTML, length); a refused edit ("not modified") is
    # handled by the bot, and one it did not handle shows as a logged error below.
    refused = [c for c in api.calls_to("sendMessage") if c.error_code is not None]
    assert refused == []
    assert [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ] == []
    answered = sent_per_chat(api) - before
    wrong = {
        chat: (answered[chat], expected[chat])
        for chat in PRIVATE_CHATS
        if answered[chat] != expected[chat]
    }
    assert wrong == {}, [
        (s.chat_id, s.kind, s.text[:60], s.addressee, s.edited) for s in storm if s.chat_id in wrong
    ]
