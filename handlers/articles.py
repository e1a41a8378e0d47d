"""/start (with deep links), /help, /latest and /article."""

from __future__ import annotations

from telegram import Update

from handlers.context import NewsContext
from handlers.i18n import _
from handlers.render import render_article, render_help, render_latest

DEFAULT_LATEST = 5
DEEP_LINK_PREFIX = "a_"


async def cmd_start(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    payload = (context.args or [""])[0]
    if payload.startswith(DEEP_LINK_PREFIX):
        await _send_article(update, context, payload[len(DEEP_LINK_PREFIX) :])
        return
    await message.reply_html(render_help(context.bot.username), do_quote=False)


async def cmd_help(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_html(render_help(context.bot.username), do_quote=False)


async def cmd_latest(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    count = DEFAULT_LATEST
    if context.args:
        argument = context.args[0]
        if not (argument.isascii() and argument.isdigit()) or not 1 <= int(argument) <= 20:
            await message.reply_text(_("Usage: /latest [N], where N is a number from 1 to 20."))
            return
        count = int(argument)
    articles = await context.services.articles.latest(count)
    await message.reply_html(
        render_latest(articles, context.bot.username), disable_web_page_preview=True, do_quote=False
    )


async def cmd_article(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await message.reply_html(
            _("Usage: <code>/article ID</code>, with an ID from a search result.")
        )
        return
    await _send_article(update, context, context.args[0])


async def _send_article(update: Update, context: NewsContext, public_id: str) -> None:
    message = update.effective_message
    if message is None:
        return
    article = await context.services.articles.find(public_id)
    if article is None:
        await message.reply_text(_("I couldn't find that article. Try /search or /latest."))
        return
    await message.reply_html(render_article(article, context.bot.username), do_quote=False)
