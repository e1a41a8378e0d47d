"""python-telegram-bot sees the fake as Telegram, through FakeRequest and over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    RetryAfter,
)

from tests.helpers.botapi import BLOCKED_BY_USER, GROUP_UPGRADED, FakeBotApi
from tests.helpers.fake_request import FakeRequest
from tests.helpers.rate_limits import ManualClock

SUPERGROUP = -1001000000042


def seconds(error: RetryAfter) -> float:
    value = error.retry_after  # int or timedelta depending on PTB's PTB_TIMEDELTA switch
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (
        12345,
        True,
        "NewsBot",
        "newsbot_test_bot",
    )
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is True
    assert me.api_kwargs == {}


async def test_send_message_round_trip(bot: telegram.Bot, api: FakeBotApi) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    message = await bot.send_message(
        SUPERGROUP, "<b>Top</b> stories &amp; more", parse_mode="HTML", reply_markup=keyboard
    )
    assert message.text == "Top stories & more"
    assert message.chat.type == "supergroup"
    assert message.from_user is not None
    assert message.from_user.id == 12345
    assert message.entities[0].type == "bold"
    assert message.entities[0].length == 3
    assert message.reply_markup == keyboard
    assert message.api_kwargs == {}
    [call] = api.calls_to("sendMessage")
    assert call.params["chat_id"] == SUPERGROUP
    assert call.params["reply_markup"] == keyboard.to_dict()


async def test_html_errors_raise_bad_request(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(1, "Price < 5", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(1, "AT&T", parse_mode="HTML")


async def test_callback_data_limit_is_64_bytes(bot: telegram.Bot) -> None:
    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    await bot.send_message(1, "ok", reply_markup=markup("x" * 64))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1, "too long", reply_markup=markup("x" * 65))
    # 22 euro signs are 22 characters but 66 bytes.
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1, "multibyte", reply_markup=markup("\u20ac" * 22))


async def test_4096_character_limit(bot: telegram.Bot) -> None:
    assert (await bot.send_message(1, "\U0001f4f0" * 4096)).text == "\U0001f4f0" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1, "x" * 4097)


async def test_forbidden(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", 7, error_code=403, description=BLOCKED_BY_USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(7, "hi")
    await bot.send_message(7, "hi again")


async def test_chat_migrated(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.fail_next(
        "sendMessage",
        -4001,
        error_code=400,
        description=GROUP_UPGRADED,
        migrate_to_chat_id=SUPERGROUP,
    )
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4001, "hi")
    assert caught.value.new_chat_id == SUPERGROUP


async def test_retry_after(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "hi")
    assert seconds(caught.value) == 7


async def test_enforced_limits_raise_retry_after() -> None:
    clock = ManualClock()
    api = FakeBotApi(enforce_limits=True, clock=clock)
    async with telegram.Bot("123:ABC", request=FakeRequest(api)) as bot:
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1, "second")
        clock.advance(1)
        await bot.send_message(1, "third")
    assert seconds(caught.value) == 1
    assert api.rate_limited == 1


async def test_unknown_method(bot: telegram.Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})


async def test_long_poll_returns_pushed_update(bot: telegram.Bot, api: FakeBotApi) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.2)
        api.push_update(api.updates.message_update("/start", user_id=77))

    started = time.monotonic()
    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(timeout=10)
    await pusher
    assert time.monotonic() - started < 3
    [update] = updates
    assert update.effective_message is not None
    assert update.effective_message.text == "/start"
    assert update.effective_user is not None
    assert update.effective_user.id == 77
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_webhook_conflict(bot: telegram.Bot) -> None:
    await bot.set_webhook("https://example.test/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_edit_message_text(bot: telegram.Bot) -> None:
    sent = await bot.send_message(1, "draft")
    edited = await bot.edit_message_text("final", chat_id=1, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message)
    assert edited.text == "final"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("final", chat_id=1, message_id=sent.message_id)


async def test_queries(bot: telegram.Bot, api: FakeBotApi) -> None:
    callback = api.updates.callback_query_update("more:1", 3, 1)["callback_query"]["id"]
    assert await bot.answer_callback_query(callback, text="Loading") is True
    inline = api.updates.inline_query_update("rates")["inline_query"]["id"]
    results = [
        InlineQueryResultArticle(str(i), f"t{i}", InputTextMessageContent(f"<b>{i}</b>", "HTML"))
        for i in range(51)
    ]
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(inline, results)
    bad = [InlineQueryResultArticle("1", "t", InputTextMessageContent("<b>x", "HTML"))]
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.answer_inline_query(inline, bad)
    assert await bot.answer_inline_query(inline, results[:50], next_offset="50") is True


async def test_commands(bot: telegram.Bot, api: FakeBotApi) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("search", "Search the archive")]
    scope = BotCommandScopeChat(5)
    assert await bot.set_my_commands(commands, scope=scope) is True
    assert await bot.get_my_commands(scope=scope) == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert api.commands({"type": "chat", "chat_id": 5})[0]["command"] == "start"
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Start")])
    assert await bot.delete_my_commands(scope=scope) is True
    assert await bot.get_my_commands(scope=scope) == ()


async def test_chat_members_and_admins(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.set_chat(SUPERGROUP, "supergroup", title="World news")
    api.set_admins(SUPERGROUP, [7, 8], creator=7, anonymous=[8])
    owner, admin = await bot.get_chat_administrators(SUPERGROUP)
    assert isinstance(owner, ChatMemberOwner)
    assert owner.user.id == 7
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.is_anonymous
    assert admin.api_kwargs == {}
    member = await bot.get_chat_member(SUPERGROUP, 9)
    assert isinstance(member, ChatMemberMember)
    assert (await bot.get_chat_member(SUPERGROUP, 8)).status == "administrator"
    chat = await bot.get_chat(SUPERGROUP)
    assert (chat.title, chat.type, chat.api_kwargs) == ("World news", "supergroup", {})
    with pytest.raises(BadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(1)


async def test_leave_chat_makes_chat_unreachable(bot: telegram.Bot) -> None:
    assert await bot.leave_chat(SUPERGROUP) is True
    with pytest.raises(Forbidden, match="not a member of the supergroup chat"):
        await bot.send_message(SUPERGROUP, "still here?")


async def test_chat_action_and_delete(bot: telegram.Bot) -> None:
    assert await bot.send_chat_action(1, "typing") is True
    sent = await bot.send_message(1, "temporary")
    assert await bot.delete_message(1, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1, sent.message_id)


async def test_close_and_log_out(bot: telegram.Bot) -> None:
    assert await bot.close() is True
    assert await bot.log_out() is True
