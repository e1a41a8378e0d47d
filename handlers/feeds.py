"""/feeds, /addfeed and /removefeed: feed management for the bot's administrators."""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import NewsContext
from services.feeds.service import FeedView

NOT_ALLOWED = "Only the bot's administrators can manage feeds."


def _is_bot_admin(update: Update, context: NewsContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.bot_data.admin_user_ids


def render_feed(feed: FeedView) -> str:
    state = "active" if feed.active else "stopped"
    every = f"every {feed.interval_seconds // 60} min"
    line = f"#{feed.id} {escape(feed.title or feed.url)} — {state}, {every}"
    if feed.title:
        line += f"\n   {escape(feed.url)}"
    if feed.last_error:
        line += (
            f"\n   last error ({feed.consecutive_errors} in a row): {escape(feed.last_error[:200])}"
        )
    return line


async def cmd_feeds(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if not _is_bot_admin(update, context):
        await message.reply_text(NOT_ALLOWED)
        return
    feeds = await context.services.feeds.list_feeds()
    if not feeds:
        await message.reply_html("No feeds yet. Add one with <code>/addfeed URL</code>.")
        return
    text = "📡 Feeds\n\n" + "\n".join(render_feed(feed) for feed in feeds)
    await message.reply_html(text[:4096], disable_web_page_preview=True)


async def cmd_addfeed(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if not _is_bot_admin(update, context):
        await message.reply_text(NOT_ALLOWED)
        return
    if not context.args:
        await message.reply_html("Usage: <code>/addfeed https://example.com/rss.xml</code>")
        return
    result = await context.services.feeds.add(context.args[0][:2048])
    if result.feed is None:
        await message.reply_text(f"I can't add that feed: {result.refusal}.")
    elif result.created:
        await message.reply_html(
            f"Added feed #{result.feed.id}: {escape(result.feed.url)}\n"
            "Its current entries are stored without alerts; new ones will be announced.",
            disable_web_page_preview=True,
        )
    else:
        await message.reply_text(f"That feed is already #{result.feed.id}.")


async def cmd_removefeed(update: Update, context: NewsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if not _is_bot_admin(update, context):
        await message.reply_text(NOT_ALLOWED)
        return
    argument = (context.args or [""])[0].lstrip("#")
    if not (argument.isascii() and argument.isdigit() and len(argument) < 19):
        await message.reply_html("Usage: <code>/removefeed ID</code> (IDs are in /feeds).")
        return
    removed = await context.services.feeds.remove(int(argument))
    await message.reply_text("Feed removed." if removed else "There is no feed with that ID.")
