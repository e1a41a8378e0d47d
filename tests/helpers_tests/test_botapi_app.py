"""A real telegram.ext.Application answering commands from the fake, by both update paths."""

from __future__ import annotations

import html

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.helpers.fake_request import FakeRequest

TOKEN = "123:ABC"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_user is not None
    name = html.escape(update.effective_user.first_name)
    await update.effective_message.reply_text(f"Hello <b>{name}</b>", parse_mode="HTML")


def in_process_app(api: FakeBotApi) -> Application:  # type: ignore[type-arg]
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    return app


@pytest.mark.parametrize(
    ("text", "chat_type", "replies"),
    [
        ("/start", "private", 1),
        ("/start@newsbot_test_bot", "group", 1),
        ("/start@some_other_bot", "group", 0),  # addressed to another bot
        ("start", "private", 0),
    ],
)
async def test_process_update_replies_to_start(
    api: FakeBotApi, text: str, chat_type: str, replies: int
) -> None:
    app = in_process_app(api)
    update = api.updates.message_update(text, chat_type=chat_type, user_id=42)  # type: ignore[arg-type]
    async with app:
        await app.process_update(Update.de_json(update, app.bot))
    sent = api.sent_messages()
    assert len(sent) == replies
    if replies:
        assert sent[0]["chat"]["id"] == update["message"]["chat"]["id"]
        assert sent[0]["text"] == "Hello User42"
        assert sent[0]["entities"] == [{"type": "bold", "offset": 6, "length": 6}]
    assert api.calls[0].method == "getMe"  # Application.initialize identifies the bot


async def test_polling_over_http_and_clean_stop(api: FakeBotApi) -> None:
    async with FakeBotApiServer(api) as server:
        app = ApplicationBuilder().token(TOKEN).base_url(server.base_url).build()
        app.add_handler(CommandHandler("start", start))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(timeout=1, poll_interval=0)
            update_id = api.push_update(api.updates.message_update("/start", user_id=9))
            [reply] = await api.wait_for_calls("sendMessage", within=10)
            await app.updater.stop()
            await app.stop()
    assert reply.params["chat_id"] == 9
    assert reply.params["text"] == "Hello <b>User9</b>"
    assert api.pending_updates() == []  # the final getUpdates confirmed it
    assert api.calls_to("getUpdates")[-1].params["offset"] == update_id + 1
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_polling_in_process(api: FakeBotApi) -> None:
    app = in_process_app(api)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5, poll_interval=0)
        for user_id in (1, 2, 3):
            api.push_update(api.updates.message_update("/start", user_id=user_id))
        replies = await api.wait_for_calls("sendMessage", 3, within=10)
        await app.updater.stop()
        await app.stop()
    assert sorted(c.params["chat_id"] for c in replies) == [1, 2, 3]
    assert api.pending_updates() == []
