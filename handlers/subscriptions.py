"""/subscribe, /subscriptions, /unsubscribe, /digest, /quiet, /timezone, and chat changes."""

from __future__ import annotations

from collections.abc import Coroutine
from html import escape
from typing import Any

from telegram import Chat, ChatMember, Update
from telegram.constants import ChatMemberStatus

from handlers.channels import (
    Target,
    answer,
    bot_may_post,
    chat_ref_of,
    resolve_target,
    tell_connector,
)
from handlers.context import NewsContext
from handlers.edits import edit_in_place
from handlers.i18n import _, bidi, current_language, ngettext
from handlers.permissions import ADMINS_ONLY, may_change, refuse_unless_admin
from handlers.render_alerts import (
    parse_unsubscribe_callback,
    render_settings,
    render_subscribed,
    render_subscriptions,
)
from handlers.render_follow import parse_follow_id, parse_unfollow_callback, render_unfollowed
from services.alerts.schedule import DIGEST_MODES, parse_quiet, parse_timezone
from services.alerts.subscriptions import ChatSettings

_GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


def _only_argument(target: Target) -> str:
    """The command's one argument; "" when there is none or more than one (usage, then)."""
    return target.args[0] if len(target.args) == 1 else ""


def _typed(target: Target) -> str:
    """The target's name as typed in a command ("@name " or ""), for usage lines (HTML)."""
    return escape(target.handle)


async def cmd_subscribe(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None or await refuse_unless_admin(update, context, target):
        return
    user = update.effective_user
    result = await context.services.subscriptions.subscribe(
        target.chat, target.topic, " ".join(target.args), user.id if user else None
    )
    if result.subscription is not None and target.chat.kind == Chat.PRIVATE:
        # Its alerts speak the language this chat is answered in (the sender has no update).
        await context.services.languages.remember_user_language(target.chat.id, current_language())
    await answer(
        update, context, render_subscribed(result, where=target.where, handle=target.handle)
    )


async def cmd_subscriptions(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    services = context.services.subscriptions
    subscriptions = await services.list_for_chat(target.chat.id)
    settings = await services.settings(target.chat.id)
    text, keyboard = render_subscriptions(
        subscriptions,
        settings.prefs,
        where=target.where,
        handle=target.handle,
        # Buttons act on the chat they are in; a remote chat's are removed by /unsubscribe.
        buttons=not target.remote,
        follows=await context.services.follows.followed(target.chat.id),
    )
    await answer(update, context, text, reply_markup=keyboard)


async def cmd_unsubscribe(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    argument = _only_argument(target).lstrip("#").lower()
    follow_id = parse_follow_id(argument)  # "f3": a followed feed
    if follow_id is not None:
        if not await refuse_unless_admin(update, context, target):
            removed = await context.services.follows.unfollow(target.chat.id, follow_id)
            await answer(update, context, render_unfollowed(removed, target.where, target.handle))
        return
    if argument != "all" and not (argument.isascii() and argument.isdigit() and len(argument) < 19):
        await answer(
            update,
            context,
            _(
                "Usage: <code>/unsubscribe {handle}ID</code> or "
                "<code>/unsubscribe {handle}all</code> (IDs are in /subscriptions)."
            ).format(handle=_typed(target)),
        )
        return
    if await refuse_unless_admin(update, context, target):
        return
    removed = await context.services.subscriptions.unsubscribe(
        target.chat.id, None if argument == "all" else int(argument)
    )
    if argument == "all":  # every subscription and every followed feed
        removed += await context.services.follows.unfollow(target.chat.id, None)
    if removed == 0:
        if target.remote:
            text = _("No such subscription in {where}. See /subscriptions {handle}.").format(
                where=target.where, handle=bidi(escape(target.handle.strip()))
            )
        else:
            text = _("No such subscription in this chat. See /subscriptions.")
        await answer(update, context, text)
    else:
        await answer(
            update,
            context,
            ngettext("Removed {n} subscription.", "Removed {n} subscriptions.", removed).format(
                n=removed
            ),
        )


async def on_unsubscribe_button(update: Update, context: NewsContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    subscription_id = parse_unsubscribe_callback(query.data or "")
    follow_id = parse_unfollow_callback(query.data or "")
    if subscription_id is None and follow_id is None:
        await query.answer(_("This button is not valid."))
        return
    if not await may_change(update, context):
        await query.answer(_(ADMINS_ONLY), show_alert=True)
        return
    service, follows = context.services.subscriptions, context.services.follows
    if follow_id is not None:
        removed = await follows.unfollow(chat.id, follow_id)
    else:
        removed = await service.unsubscribe(chat.id, subscription_id)
    await query.answer(_("Unsubscribed.") if removed else _("That subscription was already gone."))
    text, keyboard = render_subscriptions(
        await service.list_for_chat(chat.id),
        (await service.settings(chat.id)).prefs,
        follows=await follows.followed(chat.id),
    )
    await edit_in_place(query, text, keyboard)


async def _change_settings(
    update: Update,
    context: NewsContext,
    target: Target,
    change: Coroutine[Any, Any, ChatSettings],
) -> None:
    """Apply a settings change if the sender may make it, and show the chat's settings."""
    if await refuse_unless_admin(update, context, target):
        change.close()  # never awaited: nothing changes
        return
    settings = await change
    prefix = f"{target.where}: " if target.remote else ""
    await answer(update, context, prefix + render_settings(settings.prefs))


async def cmd_digest(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    mode = _only_argument(target).lower()
    if mode not in DIGEST_MODES:
        await answer(
            update,
            context,
            _("Usage: <code>/digest {handle}off|hourly|daily</code>").format(handle=_typed(target)),
        )
        return
    service = context.services.subscriptions
    await _change_settings(update, context, target, service.set_digest(target.chat, mode))


async def cmd_quiet(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    argument = "".join(target.args)
    window = None if argument.lower() == "off" else parse_quiet(argument)
    if window is None and argument.lower() != "off":
        await answer(
            update,
            context,
            _(
                "Usage: <code>/quiet {handle}22:00-07:00</code> or <code>/quiet {handle}off</code>"
            ).format(handle=_typed(target)),
        )
        return
    service = context.services.subscriptions
    await _change_settings(update, context, target, service.set_quiet_hours(target.chat, window))


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    zone = parse_timezone(_only_argument(target))
    if zone is None:
        shown = bidi(escape(" ".join(target.args)[:64]))
        await answer(
            update,
            context,
            _(
                "“{zone}” is not a time zone I know. "
                "Usage: <code>/timezone {handle}Europe/Berlin</code>"
            ).format(zone=shown, handle=_typed(target)),
        )
        return
    service = context.services.subscriptions
    await _change_settings(update, context, target, service.set_timezone(target.chat, zone))


async def on_my_chat_member(update: Update, context: NewsContext) -> None:
    """The bot was added to, removed from, demoted in, blocked or unblocked in a chat."""
    change = update.my_chat_member
    if change is None:
        return
    member = change.new_chat_member
    status = member.status
    gone = status in _GONE or (
        status == ChatMember.RESTRICTED and not getattr(member, "is_member", True)
    )
    if change.chat.type == Chat.PRIVATE:
        service = context.services.subscriptions
        if gone:
            await service.chat_left(change.chat.id, f"bot status: {status}")
        else:
            await service.chat_joined(chat_ref_of(change.chat))
        return
    # A channel or group: the bot may still be in it without the right to post (demoted).
    channels = context.services.channels
    if gone or not bot_may_post(change.chat.type, member):
        reason = f"bot status: {status}" if gone else "the bot may not post"
        lost = await channels.posting_lost(change.chat.id, reason)
        if lost is not None:
            await tell_connector(context, lost, lost=True)
    else:
        regained = await channels.posting_regained(chat_ref_of(change.chat))
        if regained is not None:
            await tell_connector(context, regained, lost=False)


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
