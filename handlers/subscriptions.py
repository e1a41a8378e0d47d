"""/subscribe, /subscriptions, /unsubscribe, /digest, /quiet, /timezone, and chat changes."""

from __future__ import annotations

from collections.abc import Coroutine
from html import escape
from typing import Any

from telegram import Chat, ChatMember, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from handlers.context import NewsContext
from handlers.edits import edit_in_place
from handlers.render_alerts import (
    parse_unsubscribe_callback,
    render_settings,
    render_subscribed,
    render_subscriptions,
)
from services.alerts.schedule import DIGEST_MODES, parse_quiet, parse_timezone
from services.alerts.subscriptions import ChatRef, ChatSettings

_ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
_GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}
ADMINS_ONLY = "Only this group's administrators can change its subscriptions."


def chat_ref(chat: Chat) -> ChatRef:
    return ChatRef(chat.id, chat.type, chat.title or chat.username)


def topic_of(message: Message) -> int:
    """The forum topic a command was sent in (0 outside forum topics)."""
    return message.message_thread_id or 0 if message.is_topic_message else 0


def _only_argument(context: NewsContext) -> str:
    """The command's one argument; "" when there is none or more than one (usage, then)."""
    args = context.args or []
    return args[0] if len(args) == 1 else ""


async def _may_change(update: Update, context: NewsContext) -> bool:
    """Private chats own themselves; in groups only administrators (anonymous ones too)."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == Chat.PRIVATE:
        return True
    message = update.effective_message
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True  # an anonymous administrator posts as the group itself
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in _ADMINS


async def _refuse_unless_admin(update: Update, context: NewsContext) -> bool:
    if await _may_change(update, context):
        return False
    if update.effective_message is not None:
        await update.effective_message.reply_text(ADMINS_ONLY)
    return True


async def cmd_subscribe(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or await _refuse_unless_admin(update, context):
        return
    user = update.effective_user
    result = await context.services.subscriptions.subscribe(
        chat_ref(chat), topic_of(message), " ".join(context.args or []), user.id if user else None
    )
    await message.reply_html(render_subscribed(result), do_quote=False)


async def cmd_subscriptions(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    services = context.services.subscriptions
    subscriptions = await services.list_for_chat(chat.id)
    settings = await services.settings(chat.id)
    text, keyboard = render_subscriptions(subscriptions, settings.prefs)
    await message.reply_html(text, reply_markup=keyboard, do_quote=False)


async def cmd_unsubscribe(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    argument = _only_argument(context).lstrip("#").lower()
    if argument != "all" and not (argument.isascii() and argument.isdigit() and len(argument) < 19):
        await message.reply_html(
            "Usage: <code>/unsubscribe ID</code> or <code>/unsubscribe all</code> "
            "(IDs are in /subscriptions)."
        )
        return
    if await _refuse_unless_admin(update, context):
        return
    removed = await context.services.subscriptions.unsubscribe(
        chat.id, None if argument == "all" else int(argument)
    )
    if removed == 0:
        await message.reply_text("No such subscription in this chat. See /subscriptions.")
    else:
        await message.reply_text(f"Removed {removed} subscription{'s' if removed > 1 else ''}.")


async def on_unsubscribe_button(update: Update, context: NewsContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    subscription_id = parse_unsubscribe_callback(query.data or "")
    if subscription_id is None:
        await query.answer("This button is not valid.")
        return
    if not await _may_change(update, context):
        await query.answer(ADMINS_ONLY, show_alert=True)
        return
    service = context.services.subscriptions
    removed = await service.unsubscribe(chat.id, subscription_id)
    await query.answer("Unsubscribed." if removed else "That subscription was already gone.")
    text, keyboard = render_subscriptions(
        await service.list_for_chat(chat.id), (await service.settings(chat.id)).prefs
    )
    await edit_in_place(query, text, keyboard)


async def _change_settings(
    update: Update, context: NewsContext, change: Coroutine[Any, Any, ChatSettings]
) -> None:
    """Apply a settings change if the sender may make it, and show the chat's settings."""
    if await _refuse_unless_admin(update, context):
        change.close()  # never awaited: nothing changes
        return
    settings = await change
    if update.effective_message is not None:
        await update.effective_message.reply_html(render_settings(settings.prefs))


async def cmd_digest(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    mode = _only_argument(context).lower()
    if mode not in DIGEST_MODES:
        await message.reply_html("Usage: <code>/digest off|hourly|daily</code>")
        return
    service = context.services.subscriptions
    await _change_settings(update, context, service.set_digest(chat_ref(chat), mode))


async def cmd_quiet(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    argument = "".join(context.args or [])
    window = None if argument.lower() == "off" else parse_quiet(argument)
    if window is None and argument.lower() != "off":
        await message.reply_html(
            "Usage: <code>/quiet 22:00-07:00</code> or <code>/quiet off</code>"
        )
        return
    service = context.services.subscriptions
    await _change_settings(update, context, service.set_quiet_hours(chat_ref(chat), window))


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    zone = parse_timezone(_only_argument(context))
    if zone is None:
        shown = escape(" ".join(context.args or [])[:64])
        await message.reply_html(
            f"“{shown}” is not a time zone I know. Usage: <code>/timezone Europe/Berlin</code>"
        )
        return
    service = context.services.subscriptions
    await _change_settings(update, context, service.set_timezone(chat_ref(chat), zone))


async def on_my_chat_member(update: Update, context: NewsContext) -> None:
    """The bot was added to, removed from, blocked or unblocked in a chat."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    service = context.services.subscriptions
    if status in _GONE or (
        status == ChatMember.RESTRICTED and not getattr(change.new_chat_member, "is_member", True)
    ):
        await service.chat_left(change.chat.id, f"bot status: {status}")
    else:
        await service.chat_joined(chat_ref(change.chat))


async def on_migration(update: Update, context: NewsContext) -> None:
    """A group became a supergroup: its subscriptions follow it to the new chat id.

    Telegram posts both "migrated to" in the old group and "migrated from" in the new
    supergroup, in no promised order; moving twice is harmless.
    """
    message = update.effective_message
    if message is None:
        return
    service = context.services.subscriptions
    if message.migrate_to_chat_id is not None:
        await service.chat_migrated(message.chat.id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id is not None:
        await service.chat_migrated(message.migrate_from_chat_id, message.chat.id)
