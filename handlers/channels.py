"""Channels (and groups) managed from a private chat, and commands posted in a channel.

A subscription command acts on a *target*: the chat it was sent in, or, from a private chat,
the channel or group named first (``/subscribe @mychannel iran``). A remote target is used
only when Telegram says, at that moment, that the user administers it (creator, or an
administrator who may post in a channel) and that the bot may post there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html import escape
from typing import cast

from telegram import (
    Chat,
    ChatAdministratorRights,
    ChatFullInfo,
    ChatMember,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestChat,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import ExtBot, JobQueue

from handlers.context import NewsContext
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _, bidi, ngettext, use_language
from handlers.render_alerts import render_channels
from services.alerts.channels import PostingChange
from services.alerts.subscriptions import ChatRef

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

# A channel's answers to commands disappear after this long: its readers see no chatter.
ANSWER_SECONDS = 60
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
# Group, supergroup and channel ids are negative; "-2024" stays an excluded keyword.
_CHAT_ID = re.compile(r"-\d{6,18}")


@dataclass(frozen=True, slots=True)
class Target:
    """The chat a command acts on, and the command's arguments after the chat's name."""

    chat: ChatRef
    args: list[str]
    topic: int
    # True once the sender's right to change the target is settled (private chat, channel
    # post, a remote chat Telegram vouched for); group senders are checked by the caller.
    verified: bool
    # Managed from a private chat: answers go there, alerts to the target.
    remote: bool = False
    username: str | None = None

    @property
    def where(self) -> str:
        """How answers name a remote target (HTML); "" for the chat the command came from."""
        if not self.remote:
            return ""
        name = escape(display_name(self.chat.title, self.username, self.chat.id))
        return f"<b>{bidi(name)}</b>"

    @property
    def handle(self) -> str:
        """What to type to name the target again in a command ("" for the chat itself)."""
        if not self.remote:
            return ""
        return (f"@{self.username}" if self.username else str(self.chat.id)) + " "


def display_name(title: str | None, username: str | None, chat_id: int) -> str:
    return title or (f"@{username}" if username else str(chat_id))


def named_chat(argument: str) -> str | int | None:
    """The chat an argument names (``@username`` or a negative id), or None."""
    if _USERNAME.fullmatch(argument):
        return argument
    if _CHAT_ID.fullmatch(argument):
        return int(argument)
    return None


def user_may_manage(kind: str, member: ChatMember) -> bool:
    """The creator, or an administrator (who may post, in a channel)."""
    if member.status == ChatMemberStatus.OWNER:
        return True
    if member.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    return kind != Chat.CHANNEL or bool(getattr(member, "can_post_messages", False))


def bot_may_post(kind: str, member: ChatMember) -> bool:
    """Whether the bot, as this member, can send messages to the chat."""
    if kind == Chat.CHANNEL:
        return member.status == ChatMemberStatus.ADMINISTRATOR and bool(
            getattr(member, "can_post_messages", False)
        )
    if member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER):
        return True
    return member.status == ChatMemberStatus.RESTRICTED and bool(
        getattr(member, "is_member", False) and getattr(member, "can_send_messages", False)
    )


async def check_rights(bot: ExtBot[None], name: str | int, user_id: int) -> ChatFullInfo | str:
    """The chat, if the user manages it and the bot may post there; else a refusal (HTML)."""
    shown = bidi(escape(str(name)))
    try:
        chat = await bot.get_chat(name)
    except TelegramError:
        return _(
            "I can't find {chat}. Add me to it first (in a channel: as an administrator "
            "who may post messages), then try again."
        ).format(chat=shown)
    if chat.type == Chat.PRIVATE:
        return _("{chat} is not a channel or a group.").format(chat=shown)
    title = bidi(escape(display_name(chat.title, chat.username, chat.id)))
    try:
        member = await bot.get_chat_member(chat.id, user_id)
        mine = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError:
        return _(
            "I can't check who administers <b>{title}</b>: make me an administrator there."
        ).format(title=title)
    if not user_may_manage(chat.type, member):
        if chat.type == Chat.CHANNEL:
            refusal = _(
                "Only an administrator of <b>{title}</b> who may post messages "
                "can manage its subscriptions."
            )
        else:
            refusal = _("Only an administrator of <b>{title}</b> can manage its subscriptions.")
        return refusal.format(title=title)
    if not bot_may_post(chat.type, mine):
        return _(
            "I can't post in <b>{title}</b>. Make me an administrator with the right to "
            "post messages there, then try again."
        ).format(title=title)
    return chat


def chat_ref_of(chat: Chat | ChatFullInfo) -> ChatRef:
    return ChatRef(chat.id, chat.type, chat.title or chat.username)


def topic_of(message: Message) -> int:
    """The forum topic a command was sent in (0 outside forum topics)."""
    return message.message_thread_id or 0 if message.is_topic_message else 0


async def resolve_target(update: Update, context: NewsContext) -> Target | None:
    """The target of a management command; None when refused (the sender was told)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return None
    args = list(context.args or [])
    if chat.type == Chat.CHANNEL:
        # Only the channel's administrators who may post can post as the channel.
        return Target(chat_ref_of(chat), args, 0, verified=True)
    name = named_chat(args[0]) if args and chat.type == Chat.PRIVATE else None
    if name is None:
        return Target(
            chat_ref_of(chat), args, topic_of(message), verified=chat.type == Chat.PRIVATE
        )
    user = update.effective_user
    if user is None:
        return None
    checked = await check_rights(context.bot, name, user.id)
    if isinstance(checked, str):
        await message.reply_html(checked, do_quote=False)
        return None
    ref = chat_ref_of(checked)
    await context.services.channels.manage(ref, user.id, checked.username)
    return Target(ref, args[1:], 0, verified=True, remote=True, username=checked.username)


async def answer(
    update: Update, context: NewsContext, text: str, *, reply_markup: Markup | None = None
) -> None:
    """Answer a command (HTML); in a channel, tidy up: the command post and, later, this."""
    message = update.effective_message
    if message is None:
        return
    sent = await message.reply_html(
        text,
        do_quote=False,
        reply_markup=reply_markup,
    )
    if update.channel_post is not None:
        await _tidy_channel(context, message, sent)


async def _tidy_channel(context: NewsContext, command: Message, answer: Message) -> None:
    try:
        await command.delete()
    except TelegramError as error:  # the bot may post but not delete others' posts
        log.info("could not delete a command post in channel %s: %s", command.chat_id, error)
    jobs = cast("JobQueue[NewsContext] | None", context.job_queue)
    if jobs is not None:
        jobs.run_once(
            _delete_answer,
            ANSWER_SECONDS,
            data=(answer.chat_id, answer.message_id),
            name=f"delete-answer:{answer.chat_id}:{answer.message_id}",
        )


async def _delete_answer(context: NewsContext) -> None:
    job = context.job
    if job is None or not isinstance(job.data, tuple):
        return
    chat_id, message_id = job.data
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as error:  # already deleted by someone, or the bot was removed
        log.info("could not delete an answer in channel %s: %s", chat_id, error)


async def tell_connector(context: NewsContext, change: PostingChange, *, lost: bool) -> None:
    """Tell the person who connected a chat that its alerts paused or resumed (in the
    language of their private chat with the bot, not the channel's)."""
    locale = await context.services.languages.chat_locale(change.connected_by)
    spoken = locale.spoken if locale.spoken in LANGUAGES else None
    with use_language(spoken or DEFAULT_LANGUAGE, locale.timezone):
        text = _connector_news(change, lost=lost)
    try:
        await context.bot.send_message(change.connected_by, text, parse_mode=ParseMode.HTML)
    except TelegramError as error:  # they blocked the bot, or never started it
        log.info(
            "could not tell user %s about chat %s: %s", change.connected_by, change.chat_id, error
        )


def _connector_news(change: PostingChange, *, lost: bool) -> str:
    title = bidi(escape(display_name(change.title, None, change.chat_id)))
    n = change.subscriptions
    if lost:
        text = ngettext(
            "⏸ I can no longer post in <b>{title}</b>, so its {n} subscription is paused. "
            "Make me an administrator who may post messages there again and it resumes.",
            "⏸ I can no longer post in <b>{title}</b>, so its {n} subscriptions are paused. "
            "Make me an administrator who may post messages there again and they resume.",
            n,
        ).format(title=title, n=n)
    else:
        text = ngettext(
            "▶️ I may post in <b>{title}</b> again: its {n} subscription is back on.",
            "▶️ I may post in <b>{title}</b> again: its {n} subscriptions are back on.",
            n,
        ).format(title=title, n=n)
    return text


# -- /channels and "Connect a channel" -----------------------------------------------------------

CONNECT_REQUEST_ID = 1
CONNECT_LABEL = N_("Connect a channel")  # translated where the button is made
_POST_RIGHTS = ChatAdministratorRights(
    is_anonymous=False,
    can_manage_chat=False,
    can_delete_messages=False,
    can_manage_video_chats=False,
    can_restrict_members=False,
    can_promote_members=False,
    can_change_info=False,
    can_invite_users=False,
    can_post_stories=False,
    can_edit_stories=False,
    can_delete_stories=False,
    can_post_messages=True,
)


def connect_keyboard() -> ReplyKeyboardMarkup:
    """A button that lets the user pick a channel they may post in, adding the bot to it."""
    button = KeyboardButton(
        _(CONNECT_LABEL),
        request_chat=KeyboardButtonRequestChat(
            request_id=CONNECT_REQUEST_ID,
            chat_is_channel=True,
            user_administrator_rights=_POST_RIGHTS,
            bot_administrator_rights=_POST_RIGHTS,
            request_title=True,
            request_username=True,
        ),
    )
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


async def cmd_channels(update: Update, context: NewsContext) -> None:
    """The channels this user manages through the bot, and a button to connect another."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or chat is None:
        return
    if user is None or chat.type != Chat.PRIVATE:
        await answer(update, context, _("Send /channels to me in a private chat."))
        return
    managed = await context.services.channels.managed_by(user.id)
    await message.reply_html(
        render_channels(managed), reply_markup=connect_keyboard(), do_quote=False
    )


async def on_chat_shared(update: Update, context: NewsContext) -> None:
    """The user picked a channel with "Connect a channel": it is manageable at once."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.chat_shared is None:
        return
    shared = message.chat_shared
    if shared.request_id != CONNECT_REQUEST_ID:
        return
    checked = await check_rights(context.bot, shared.chat_id, user.id)
    if isinstance(checked, str):
        await message.reply_html(checked, reply_markup=ReplyKeyboardRemove(), do_quote=False)
        return
    await context.services.channels.manage(chat_ref_of(checked), user.id, checked.username)
    handle = f"@{checked.username}" if checked.username else str(checked.id)
    title = bidi(escape(display_name(checked.title, checked.username, checked.id)))
    await message.reply_html(
        _(
            "✅ <b>{title}</b> is connected. Subscribe it with "
            "<code>/subscribe {handle} words</code>; see it with /channels."
        ).format(title=title, handle=bidi(escape(handle))),
        reply_markup=ReplyKeyboardRemove(),
        do_quote=False,
    )


async def tidy_after(update: Update, context: NewsContext, sent: Message) -> None:
    """What answer() does after its reply, for an answer that is not text (a document):
    in a channel, the command post goes at once and the answer a minute later."""
    message = update.effective_message
    if update.channel_post is not None and message is not None:
        await _tidy_channel(context, message, sent)
