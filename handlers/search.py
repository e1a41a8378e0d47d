"""/search, plain-text search in private chats, and the Previous/Next buttons."""

from __future__ import annotations

from telegram import Update

from handlers.context import NewsContext
from handlers.edits import edit_in_place
from handlers.i18n import _
from handlers.render import SEARCH_USAGE, parse_page_callback, render_results

PAGE_SIZE = 5


async def cmd_search(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    await _answer_search(update, context, " ".join(context.args or []))


async def on_text(update: Update, context: NewsContext) -> None:
    """Any plain message in a private chat is a search."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await _answer_search(update, context, message.text)


async def _answer_search(update: Update, context: NewsContext, query: str) -> None:
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    services = context.services
    page = await services.search.search(query, limit=PAGE_SIZE)
    if page.query.is_empty:
        await message.reply_html(_(SEARCH_USAGE), do_quote=False)
        return
    session_id = await services.paging.remember(chat.id, page.query.text) if page.has_more else None
    rendered = render_results(page, context.bot.username, session_id)
    await message.reply_html(
        rendered.text,
        reply_markup=rendered.keyboard,
        disable_web_page_preview=True,
        do_quote=False,
    )


async def on_page(update: Update, context: NewsContext) -> None:
    """Edit a result message to show another page of the same search."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_page_callback(query.data or "")
    message = query.message
    if parsed is None or message is None:
        await query.answer(_("This button is not valid."), show_alert=False)
        return
    session_id, offset = parsed
    services = context.services
    text = await services.paging.recall(session_id, message.chat.id)
    if text is None:
        await query.answer(_("This search has expired. Please search again."), show_alert=True)
        return
    page = await services.search.search(text, limit=PAGE_SIZE, offset=offset)
    if not page.hits:
        await query.answer(_("No more results."))
        return
    rendered = render_results(page, context.bot.username, session_id)
    await query.answer()
    await edit_in_place(query, rendered.text, rendered.keyboard, previews=False)


async def on_unknown_button(update: Update, context: NewsContext) -> None:
    """Buttons no handler claims (forged data, or from an older version of the bot)."""
    if update.callback_query is not None:
        await update.callback_query.answer(_("This button is not valid any more."))
