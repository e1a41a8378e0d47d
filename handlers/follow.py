"""/follow URL [WORDS -excluded]: a chat's own feeds, and the button that picks one of a page's.

The same targets and rights as the subscription commands (handlers/channels.py): the chat
itself (administrators only, in a group), a channel the command was posted in, or, from a
private chat, ``/follow @channel URL`` by an administrator Telegram vouches for.
"""

from __future__ import annotations

from html import escape

from telegram import Chat, Update

from handlers.channels import answer, check_rights, display_name, resolve_target
from handlers.context import NewsContext
from handlers.edits import edit_in_place
from handlers.i18n import _, bidi
from handlers.permissions import may_change, refuse_unless_admin
from handlers.render_follow import parse_choice_callback, render_follow_usage, render_followed
from services.feeds.follow import FollowStatus


async def cmd_follow(update: Update, context: NewsContext) -> None:
    target = await resolve_target(update, context)
    if target is None:
        return
    if not target.args:
        await answer(update, context, render_follow_usage(target.handle))
        return
    if await refuse_unless_admin(update, context, target):
        return
    user = update.effective_user
    result = await context.services.follows.follow(
        target.chat,
        target.topic,
        target.args[0],
        " ".join(target.args[1:]),
        user.id if user else None,
    )
    text, keyboard = render_followed(
        result, where=target.where if target.remote else _("this chat"), handle=target.handle
    )
    await answer(update, context, text, reply_markup=keyboard)


async def on_follow_choice(update: Update, context: NewsContext) -> None:
    """A tap on one of the feeds a page named: follow it, if the tapper still may."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    parsed = parse_choice_callback(query.data or "")
    if parsed is None:
        await query.answer(_("This button is not valid."))
        return
    choice_id, index = parsed
    follows = context.services.follows
    pending = await follows.pending_choice(choice_id)
    user = update.effective_user
    if pending is None:
        await query.answer(
            _("That choice is no longer available. Send /follow again."), show_alert=True
        )
        return
    if index >= len(pending.candidates):  # forged: no such button was ever shown
        await query.answer(_("This button is not valid."))
        return
    if pending.user_id is not None and (user is None or user.id != pending.user_id):
        await query.answer(_("Only the person who sent /follow can choose."), show_alert=True)
        return
    where = _("this chat")
    if pending.chat_id != chat.id:  # a channel or group managed from this private chat
        if user is None or chat.type != Chat.PRIVATE:
            await query.answer(_("This button is not valid."))
            return
        checked = await check_rights(context.bot, pending.chat_id, user.id)
        if isinstance(checked, str):
            await query.answer(_("You can no longer manage that chat."), show_alert=True)
            return
        name = escape(display_name(checked.title, checked.username, checked.id))
        where = f"<b>{bidi(name)}</b>"
    elif not await may_change(update, context):
        await query.answer(_("Only this chat's administrators can choose."), show_alert=True)
        return
    result = await follows.choose(pending, index, user.id if user else None)
    await query.answer(None if result.status == FollowStatus.REFUSED else _("Done."))
    text, _keyboard = render_followed(result, where=where)
    await edit_in_place(query, text, None)
