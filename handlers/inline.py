"""Inline mode: ``@bot words`` in any chat offers articles to post."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import InlineQueryLimit, ParseMode

from handlers.context import NewsContext
from handlers.render import render_article

INLINE_PAGE_SIZE = InlineQueryLimit.RESULTS  # 50, Telegram's maximum
MAX_OFFSET = 1000


async def on_inline_query(update: Update, context: NewsContext) -> None:
    inline_query = update.inline_query
    if inline_query is None:
        return
    offset_text = inline_query.offset or "0"
    offset = (
        int(offset_text)
        if offset_text.isascii() and offset_text.isdigit() and int(offset_text) <= MAX_OFFSET
        else 0
    )
    page = await context.services.search.search(
        inline_query.query, limit=INLINE_PAGE_SIZE, offset=offset
    )
    username = context.bot.username
    results = [
        InlineQueryResultArticle(
            id=str(hit.article.id),
            title=hit.article.title[:256],
            description=hit.article.summary[:200],
            input_message_content=InputTextMessageContent(
                render_article(hit.article, username),
                parse_mode=ParseMode.HTML,
                link_preview_options=None,
            ),
            url=hit.article.url,
        )
        for hit in page.hits
    ]
    next_offset = str(offset + len(page.hits)) if page.has_more else ""
    await inline_query.answer(results, cache_time=30, is_personal=False, next_offset=next_offset)
