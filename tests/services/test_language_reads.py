"""SharedLocaleReads: the alert sender's locale lookups that come in together are one read,
and each still gets its own chat's locale, as LanguageService.chat_locale reads it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts.subscriptions import ChatRef
from services.languages import LanguageService, SharedLocaleReads
from storage.alerts import ChatRepository
from tests.conftest import FixedClock

RU, UK, STRANGER = 31, 32, 33


async def test_lookups_asked_together_are_one_read_each_answered_for_its_chat(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    languages = LanguageService(sessions, clock=clock)
    await languages.set_language(ChatRef(RU, "private"), "ru")
    await languages.set_language(ChatRef(UK, "group"), "uk")
    async with sessions.begin() as session:  # a time zone and a user's language, as stored
        chat = await ChatRepository(session).get(UK)
        assert chat is not None
        chat.timezone, chat.user_language = "Asia/Tokyo", "es"
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "chats" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        shared = SharedLocaleReads(languages)
        found = await asyncio.gather(*(shared.chat_locale(c) for c in (RU, UK, STRANGER, RU)))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len(reads) == 1
    assert found == [
        await languages.chat_locale(RU),
        await languages.chat_locale(UK),
        await languages.chat_locale(STRANGER),
        await languages.chat_locale(RU),
    ]
    assert (found[0].spoken, found[1].spoken, found[1].timezone) == ("ru", "uk", "Asia/Tokyo")
    assert found[1].user_language == "es" and found[1].known
    assert (found[2].spoken, found[2].timezone, found[2].known) == (None, "UTC", False)


async def test_a_lookup_after_a_change_reads_the_change(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    languages = LanguageService(sessions, clock=clock)
    shared = SharedLocaleReads(languages)
    assert (await shared.chat_locale(RU)).spoken is None
    await languages.set_language(ChatRef(RU, "private"), "ru")
    assert (await shared.chat_locale(RU)).spoken == "ru"  # nothing kept between reads
