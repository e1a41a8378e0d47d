"""The bot's language: negotiated from Telegram's language_code, chosen with /language, kept
per chat, used by alerts, and carried per update so that concurrent updates never mix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from handlers.i18n import current_language, negotiate, use_language
from handlers.language import LANGUAGE_PREFIX
from handlers.render import render_article
from handlers.render_alerts import render_digest
from handlers.sender import TelegramAlertSender
from handlers.throttle import ThrottleGate
from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import TokenBucket
from services.articles import ArticleView
from services.parsing import RawArticle
from services.throttle import CommandThrottle, ThrottlePolicy
from storage.db import create_engine, create_session_factory
from tests.handlers.harness import BotHarness, running_bot, settings_for
from tests.helpers.botapi import BOT_ID, JSON

GROUP = -4000001001
ADMIN, MEMBER = 601, 602
NAMES = {"English", "Русский", "Українська", "Español", "Português (Brasil)", "فارسی"}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False) as harness:
        harness.api.set_admins(GROUP, [ADMIN])
        await harness.load(
            RawArticle(
                title="Pension reform passes",
                body="Parliament passed the pension reform on Tuesday. It takes effect soon.",
                url="https://news.example/pension",
                source="Example Wire",
                published_at=datetime(2014, 11, 5, 23, 30, tzinfo=UTC),
            )
        )
        yield harness


def speaking(update: JSON, language_code: str | None) -> JSON:
    """The update as sent by a user whose Telegram app is set to ``language_code``."""
    for kind in ("message", "callback_query"):
        if kind in update and language_code is not None:
            update[kind]["from"]["language_code"] = language_code
    return update


async def say(
    bot: BotHarness, text: str, chat_id: int, *, user_id: int | None = None, lang: str | None = None
) -> str:
    before = len(bot.replies())
    update = bot.api.updates.message_update(text, chat_id=chat_id, user_id=user_id or chat_id)
    await bot.send(speaking(update, lang))
    (reply,) = bot.replies()[before:]
    return str(reply.params["text"])


# -- negotiation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("pt-br", "pt_BR"),
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),  # the one Portuguese shipped
        ("pt-PT", "pt_BR"),
        ("ru-RU", "ru"),
        ("uk", "uk"),
        ("es-419", "es"),
        ("fa", "fa"),
        ("en-GB", "en"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_codes_find_their_catalog(tag: str | None, code: str | None) -> None:
    assert negotiate(tag) == code


async def test_a_private_chat_speaks_its_users_language(bot: BotHarness) -> None:
    assert "Я ищу по архиву новостей" in await say(bot, "/help", 5, lang="ru")
    assert "Я шукаю в архіві новин" in await say(bot, "/help", 6, lang="uk")
    assert "Eu busco em um arquivo" in await say(bot, "/help", 7, lang="pt-br")
    assert "Busco en un archivo" in await say(bot, "/help", 8, lang="es")
    assert "من در یک آرشیو خبری" in await say(bot, "/help", 9, lang="fa")
    assert "I search a news archive" in await say(bot, "/help", 10, lang="de")
    assert "I search a news archive" in await say(bot, "/help", 11)


async def test_search_results_are_translated_with_a_local_date(bot: BotHarness) -> None:
    text = await say(bot, "pension reform", 5, lang="ru")
    assert text.startswith("🔎 Результаты 1–1 по запросу «pension reform»")
    assert "Читать статью" in text
    assert "5 нояб. 2014" in text


# -- /language -----------------------------------------------------------------------------------


async def test_language_offers_every_language_by_its_own_name(bot: BotHarness) -> None:
    await say(bot, "/language", 5, lang="ru")
    (reply,) = bot.replies()
    assert reply.params["text"].startswith("Здесь я говорю на языке «русский»")
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert {b["text"] for b in buttons} == NAMES
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert all(b["callback_data"].startswith(f"{LANGUAGE_PREFIX}:") for b in buttons)


async def test_language_code_is_kept_for_the_chat_whatever_the_users_app_says(
    bot: BotHarness,
) -> None:
    assert await say(bot, "/language uk", 5, lang="ru") == (
        "Готово: тепер у цьому чаті я розмовляю мовою «українська»."
    )
    assert "Я шукаю в архіві новин" in await say(bot, "/help", 5, lang="ru")
    assert (await bot.services.languages.chat_locale(5)).language == "uk"
    assert "Я ищу по архиву" in await say(bot, "/help", 6, lang="ru")  # another chat: its own


async def test_a_language_button_switches_the_chat(bot: BotHarness) -> None:
    await say(bot, "/language", 5, lang="ru")
    sent = bot.api.sent_messages(5)[-1]
    await bot.send(
        speaking(
            bot.api.updates.callback_query_update(
                f"{LANGUAGE_PREFIX}:es", sent["message_id"], chat_id=5, user_id=5
            ),
            "ru",
        )
    )
    (edit,) = bot.replies("editMessageText")
    assert edit.params["text"] == "Hecho: ahora hablo español en este chat."
    assert "Busco en un archivo" in await say(bot, "/help", 5, lang="ru")


async def test_an_unknown_language_is_a_polite_no_and_changes_nothing(bot: BotHarness) -> None:
    text = await say(bot, "/language <b>klingon", 5, lang="ru")
    assert text.startswith("Я не знаю языка «&lt;b&gt;klingon»")
    assert "<code>pt_BR</code>" in text
    assert (await bot.services.languages.chat_locale(5)).language is None


async def test_in_a_group_only_administrators_set_the_language(bot: BotHarness) -> None:
    refused = await say(bot, "/language ru", GROUP, user_id=MEMBER, lang="ru")
    assert refused == "Only this chat's administrators can change its language."
    assert (await bot.services.languages.chat_locale(GROUP)).language is None
    # A group speaks English until set, whatever each member's app says.
    assert "I search a news archive" in await say(bot, "/help", GROUP, user_id=MEMBER, lang="ru")

    done = await say(bot, "/language ru", GROUP, user_id=ADMIN, lang="en")
    assert done == "Готово: теперь в этом чате я говорю на языке «русский»."
    assert "Я ищу по архиву" in await say(bot, "/help", GROUP, user_id=MEMBER, lang="es")


async def test_a_non_administrators_button_tap_in_a_group_changes_nothing(
    bot: BotHarness,
) -> None:
    await bot.send(
        bot.api.updates.callback_query_update(
            f"{LANGUAGE_PREFIX}:fa", 77, chat_id=GROUP, user_id=MEMBER
        )
    )
    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params["text"] == "Only this chat's administrators can change its language."
    assert (await bot.services.languages.chat_locale(GROUP)).language is None


async def test_the_command_menu_is_registered_in_every_language(bot: BotHarness) -> None:
    def description(language_code: str, command: str) -> str:
        menu = bot.api.commands(language_code=language_code)
        return next(c["description"] for c in menu if c["command"] == command)

    assert description("", "search") == "Find articles (typos are fine)"
    assert description("ru", "search") == "Найти статьи (опечатки не страшны)"
    assert description("uk", "language") == "Мова, якою я розмовляю в цьому чаті"
    assert description("pt", "latest") == "Os artigos mais recentes"
    assert description("es", "help") == "Qué hace este bot"
    assert description("fa", "help") == "این ربات چه کار می‌کند"


# -- one update, one language ------------------------------------------------------------------


async def test_concurrent_updates_in_different_languages_never_mix(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Application's update queue, updates handled side by side: each search is
    held until another user's is in flight too, so every answer is rendered while an update
    in the other language is being handled."""
    search = bot.services.search
    original: Callable[..., Awaitable[Any]] = search.search
    in_flight = asyncio.Barrier(2)

    async def search_in_step(*args: Any, **kwargs: Any) -> Any:
        async with asyncio.timeout(10):
            await in_flight.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(search, "search", search_in_step)
    users = {21: "ru", 22: "es", 23: "uk", 24: "en"}
    await bot.app.start()
    try:
        for _ in range(3):
            for user, lang in users.items():
                update = bot.api.updates.message_update("pension", chat_id=user, user_id=user)
                await bot.app.update_queue.put(Update.de_json(speaking(update, lang), bot.app.bot))
        await bot.api.wait_for_calls("sendMessage", 12)
    finally:
        await bot.app.stop()
    expected = {"ru": "Результаты", "es": "Resultados", "uk": "Результати", "en": "Results"}
    for user, lang in users.items():
        texts = [m["text"] for m in bot.api.sent_messages(user)]
        assert len(texts) == 3
        assert all(text.startswith("🔎 " + expected[lang]) for text in texts), (lang, texts)
    assert current_language() == "en"  # nothing leaked into the caller's context


# -- rendering -----------------------------------------------------------------------------------


def card(title: str = "Pension reform passes") -> ArticleView:
    return ArticleView(
        id=7,
        external_id="a7",
        title=title,
        summary="Parliament passed it.",
        url="https://news.example/pension",
        source="Example Wire",
        published_at=datetime(2014, 11, 5, 23, 30, tzinfo=UTC),
        sort_at=datetime(2014, 11, 5, 23, 30, tzinfo=UTC),
    )


def test_dates_are_shown_in_the_chats_language_and_time_zone() -> None:
    with use_language("ru", "Asia/Tokyo"):  # 23:30 UTC is the next morning in Tokyo
        assert "Example Wire · 6 нояб. 2014" in render_article(card(), "newsbot")
    with use_language("en"):
        assert "Example Wire · 5 Nov 2014" in render_article(card(), "newsbot")
    with use_language("es", "America/Mexico_City"):
        assert "5 nov 2014" in render_article(card(), "newsbot")


def test_persian_isolates_left_to_right_titles_and_ids() -> None:
    """In right-to-left text a Latin title ending in punctuation or a number keeps its own
    direction only inside an isolate (FSI ... PDI)."""
    with use_language("fa"):
        text = render_article(card("Is 2024 the year?"), "newsbot")
    assert "<b>\u2068Is 2024 the year?\u2069</b>" in text
    assert "\u2068a7\u2069" in text and "خواندن مقاله" in text
    with use_language("en"):
        english = render_article(card("Is 2024 the year?"), "newsbot")
    assert "\u2068" not in english and "\u2069" not in english


# -- alerts --------------------------------------------------------------------------------------


async def test_alerts_speak_each_chats_language(bot: BotHarness, tmp_path: Path) -> None:
    """The sender has no update: it reads the chat's stored language (and time zone)."""
    clock = bot.clock
    engine = create_engine(settings_for(tmp_path).database_url)
    sessions = create_session_factory(engine)
    matcher = AlertMatcher(sessions, clock=clock)
    worker = DeliveryWorker(
        sessions,
        TelegramAlertSender(bot.app.bot, locales=bot.services.languages.chat_locale),
        clock=clock,
        worker_id="test-worker",
        rate=TokenBucket(29, clock=clock.seconds, sleep=clock.sleep),
        monotonic=clock.seconds,
    )
    await matcher.run_once()  # from now on, new articles alert
    await say(bot, "/language ru", 31, lang="en")
    await say(bot, "/subscribe harbour", 31, lang="en")
    await say(bot, "/subscribe harbour", 32, lang="uk")  # never used /language: its app's
    await say(bot, "/timezone Asia/Tokyo", 32, lang="uk")
    await say(bot, "/subscribe harbour", 33, lang="en")
    await bot.load(
        RawArticle(
            title="Harbour strike ends",
            body="Dock workers returned on Monday. The harbour reopened.",
            url="https://news.example/harbour",
            published_at=datetime(2026, 11, 1, 20, 0, tzinfo=UTC),
        )
    )
    await matcher.run_once()
    # The replies above count against each chat's one-a-second limit with the alerts: the
    # alerts go once that second has passed.
    clock.now += timedelta(seconds=2)
    for _ in range(5):  # each chat's first alert goes at once; one pass may not take all
        await worker.deliver_once()
    await engine.dispose()

    def alert(chat_id: int) -> str:
        (text,) = [m["text"] for m in bot.api.sent_messages(chat_id) if m["text"].startswith("🔔")]
        return str(text)

    assert alert(31).startswith("🔔 Новая статья")
    assert "Читать статью" in alert(31) and "1 нояб. 2026" in alert(31)
    assert alert(32).startswith("🔔 Нова стаття")
    assert "2 лист. 2026" in alert(32)  # 20:00 UTC is the next day in Tokyo
    assert alert(33).startswith("🔔 New article") and "1 Nov 2026" in alert(33)


async def test_a_channel_is_given_its_language_from_a_private_chat(bot: BotHarness) -> None:
    channel, editor = -1002000000001, 702
    bot.api.set_chat(channel, "channel", title="World News", username="mychannel")
    bot.api.set_admins(channel, [editor, BOT_ID], creator=701)
    done = await say(bot, "/language @mychannel fa", editor, lang="ru")
    # Told in the private chat's language, naming the channel's new one.
    assert done == "Готово: теперь в <b>World News</b> я говорю на языке «فارسی»."
    assert (await bot.services.languages.chat_locale(channel)).language == "fa"
    assert (await bot.services.languages.chat_locale(editor)).language is None
    refused = await say(bot, "/language @mychannel fa", 705, lang="ru")
    assert (
        "World News" in refused and (await bot.services.languages.chat_locale(705)).language is None
    )


async def test_the_throttles_warning_speaks_the_senders_language(tmp_path: Path) -> None:
    """The language is chosen before the throttle gate, which may answer on its own."""
    gate = ThrottleGate(CommandThrottle(ThrottlePolicy(1, 60.0)))
    async with running_bot(tmp_path, alert_loop=False, gate=gate) as harness:
        for _ in range(2):
            update = harness.api.updates.message_update("/latest", chat_id=5, user_id=5)
            await harness.send(speaking(update, "uk"))
        texts = [c.params["text"] for c in harness.replies()]
    assert texts[-1] == (
        "Ви надсилаєте повідомлення швидше, ніж я встигаю відповідати, тож деякі я пропускаю."
    )


def test_a_digest_is_headed_and_counted_in_the_chats_language() -> None:
    articles = [card(f"Story {n}") for n in range(3)]
    with use_language("ru"):
        assert render_digest(articles, "daily", "newsbot").startswith("🗞 Ваша дневная сводка (3)")
    with use_language("pt_BR"):
        assert render_digest(articles, "hourly", "newsbot").startswith("🗞 Seu resumo da hora (3)")
