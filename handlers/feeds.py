"""/feeds, /addfeed and /removefeed: feed management for the bot's administrators."""

from __future__ import annotations

from html import escape

from telegram import Message, Update

from handlers.context import NewsContext
from services.feeds.service import FeedView

NOT_ALLOWED = "Only the bot's administrators can manage feeds."


async def _admin_message(update: Update, context: NewsContext) -> Message | None:
    """The command's message when a bot administrator sent it; others get a polite no."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return None
    if user is None or user.id not in context.bot_data.admin_user_ids:
        await message.reply_text(NOT_ALLOWED)
        return None
    return message


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
    message = await _admin_message(update, context)
    if message is None:
        return
    feeds = await context.services.feeds.list_feeds()
    if not feeds:
        await message.reply_html("No feeds yet. Add one with <code>/addfeed URL</code>.")
        return
    text = "📡 Feeds\n\n" + "\n".join(render_feed(feed) for feed in feeds)
    await message.reply_html(text[:4096], disable_web_page_preview=True)


async def cmd_addfeed(update: Update, context: NewsContext) -> None:
    message = await _admin_message(update, context)
    if message is None:
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
    message = await _admin_message(update, context)
    if message is None:
        return
    argument = (context.args or [""])[0].lstrip("#")
    if not (argument.isascii() and argument.isdigit() and len(argument) < 19):
        await message.reply_html("Usage: <code>/removefeed ID</code> (IDs are in /feeds).")
        return
    removed = await context.services.feeds.remove(int(argument))
    await message.reply_text("Feed removed." if removed else "There is no feed with that ID.")
