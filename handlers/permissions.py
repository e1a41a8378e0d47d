"""Who may change what a chat receives: the one check every management command makes.

/subscribe, /follow, /import, /language and their buttons change a chat for everyone in it,
so in a group only its administrators may; a private chat belongs to its user.
"""

from __future__ import annotations

from telegram import Chat, Update
from telegram.error import TelegramError

from handlers.channels import Target, answer, user_may_manage
from handlers.context import NewsContext
from handlers.i18n import N_, _

ADMINS_ONLY = N_("Only this group's administrators can change its subscriptions.")


async def may_change(update: Update, context: NewsContext) -> bool:
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
    return user_may_manage(chat.type, member)  # in a channel: one who may post


async def refuse_unless_admin(update: Update, context: NewsContext, target: Target) -> bool:
    """Answer ADMINS_ONLY and return True unless the update may change ``target``."""
    if target.verified or await may_change(update, context):
        return False
    await answer(update, context, _(ADMINS_ONLY))
    return True
