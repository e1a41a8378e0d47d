"""/export and /import: a chat's followed feeds as an OPML document, and an OPML document
(sent with the caption /import, or answered with /import) followed.

Both take a channel or group first from a private chat (``/export @mychannel``), with the
same checks as every management command (handlers.channels.resolve_target). Importing
changes what a chat follows, so in a group only its administrators may, as with /follow;
exporting shows what /subscriptions shows, so anyone in the chat may.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import Chat, Document, InputFile, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from handlers.channels import (
    Target,
    answer,
    display_name,
    resolve_target,
    tidy_after,
)
from handlers.context import NewsContext
from handlers.i18n import _
from handlers.permissions import refuse_unless_admin
from handlers.render_opml import (
    render_download_failed,
    render_export_caption,
    render_import_usage,
    render_imported,
    render_not_opml_file,
    render_nothing_to_export,
    render_too_large,
    where_text,
)
from services.feeds.opml import MAX_OPML_BYTES
from services.feeds.opml_follow import export_followed, import_opml

log = logging.getLogger(__name__)

# "/import", "/import@newsbot", "/import @channel" at the start of a caption.
_IMPORT_CAPTION = re.compile(r"^/import(?:@(?P<bot>[A-Za-z0-9_]{3,32}))?(?=\s|$)", re.IGNORECASE)
# What a feed reader's export is called and typed as; a file that is neither (a photo, a
# PDF) is refused before it is downloaded. The parser decides about the rest.
_OPML_SUFFIXES = (".opml", ".xml", ".txt")
_OPML_TYPES = (
    "text/x-opml",
    "application/xml",
    "text/xml",
    "text/plain",
    "application/octet-stream",
)
EXPORT_FILE_NAME = "feeds.opml"


def _where(target: Target) -> str:
    title = display_name(target.chat.title, target.username, target.chat.id)
    return where_text(title, target.remote)


# -- /export ---------------------------------------------------------------------------------


async def cmd_export(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    target = await resolve_target(update, context)
    if target is None:
        return
    title = display_name(target.chat.title, target.username, target.chat.id)
    count, document = await export_followed(
        context.services.follows,
        target.chat.id,
        title=_("Feeds followed by {chat}").format(chat=title),
        created=message.date,  # when it was asked for, as Telegram dates the command
    )
    if count == 0:
        await answer(update, context, render_nothing_to_export(_where(target), target.handle))
        return
    sent = await message.reply_document(
        InputFile(document, filename=_export_name(target)),
        caption=render_export_caption(count, _where(target)),
        parse_mode="HTML",
        do_quote=False,
    )
    await tidy_after(update, context, sent)


def _export_name(target: Target) -> str:
    return (
        f"{target.username}-feeds.opml" if target.remote and target.username else EXPORT_FILE_NAME
    )


# -- /import -------------------------------------------------------------------------------------


async def on_import_document(update: Update, context: NewsContext) -> None:
    """A document whose caption starts with /import."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    match = _IMPORT_CAPTION.match(message.caption or "")
    if match is None:
        return
    if match["bot"] and match["bot"].lower() != (context.bot.username or "").lower():
        return  # /import@anotherbot: not for this bot
    context.args = (message.caption or "")[match.end() :].split()
    await _import(update, context, message.document)


async def on_uncaptioned_opml(update: Update, context: NewsContext) -> None:
    await answer(update, context, render_import_usage())


async def cmd_import(update: Update, context: NewsContext) -> None:
    """/import as text: the document it replies to, or how to import."""
    message = update.effective_message
    if message is None:
        return
    replied = message.reply_to_message
    if replied is None or replied.document is None:
        handle = (
            context.args[0] + " "
            if context.args and update.effective_chat and update.effective_chat.type == Chat.PRIVATE
            else ""
        )
        await answer(update, context, render_import_usage(handle))
        return
    await _import(update, context, replied.document)


async def _import(update: Update, context: NewsContext, document: Document) -> None:
    message = update.effective_message
    if message is None:
        return
    target = await resolve_target(update, context)
    if target is None:
        return
    if await refuse_unless_admin(update, context, target):
        return
    if target.args:  # words after the command (or after the channel's name)
        await answer(update, context, render_import_usage(target.handle))
        return
    data = await _download(update, context, document)
    if data is None:
        return

    async def typing() -> None:
        try:
            await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
        except TelegramError as error:  # only a courtesy while the feeds are checked
            log.info("no typing action in chat %s: %s", message.chat_id, error)

    user = update.effective_user
    imported = await import_opml(
        context.services.follows,
        target.chat,
        target.topic,
        data,
        user.id if user is not None else None,
        before_following=typing,
    )
    await answer(update, context, render_imported(imported, _where(target), target.handle))


async def _download(update: Update, context: NewsContext, document: Document) -> bytes | None:
    """The document's bytes, capped before and after the download; None once answered."""
    name = (document.file_name or "").lower()
    mime = (document.mime_type or "").lower()
    if not (name.endswith(_OPML_SUFFIXES) or mime in _OPML_TYPES or "opml" in mime):
        await answer(update, context, render_not_opml_file(document.file_name))
        return None
    if document.file_size is not None and document.file_size > MAX_OPML_BYTES:
        await answer(update, context, render_too_large())
        return None
    try:
        file = await document.get_file()
        if file.file_size is not None and file.file_size > MAX_OPML_BYTES:
            await answer(update, context, render_too_large())
            return None
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:  # "file is too big" (over 20 MB), a network failure
        log.info("could not download document %s: %s", document.file_id, error)
        await answer(update, context, render_download_failed())
        return None
    if len(data) > MAX_OPML_BYTES:  # file_size is optional, and a client may misstate it
        await answer(update, context, render_too_large())
        return None
    return data


def register_opml(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/export, /import and /import-captioned documents, in chats and channel posts alike;
    before the handlers that take every other document."""
    everywhere = filters.UpdateType.MESSAGES | filters.UpdateType.CHANNEL_POST
    application.add_handler(CommandHandler("export", cmd_export, filters=everywhere))
    application.add_handler(CommandHandler("import", cmd_import, filters=everywhere))
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(_IMPORT_CAPTION) & everywhere,
            on_import_document,
        )
    )
    # An .opml file sent without the caption: say how, rather than "I only read text".
    application.add_handler(
        MessageHandler(
            filters.Document.FileExtension("opml") & filters.ChatType.PRIVATE,
            on_uncaptioned_opml,
        )
    )
