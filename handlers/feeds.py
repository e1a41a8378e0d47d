"""/feeds, /addfeed and /removefeed: feed management for the bot's administrators."""

from __future__ import annotations

from html import escape

from telegram import Message, Update

from handlers.context import NewsContext
from handlers.i18n import N_, _, bidi, ngettext
from services.feeds.service import FeedView

NOT_ALLOWED = N_("Only the bot's administrators can manage feeds.")


async def _admin_message(update: Update, context: NewsContext) -> Message | None:
    """The command's message when a bot administrator sent it; others get a polite no."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return None
    if user is None or user.id not in context.bot_data.admin_user_ids:
        await message.reply_text(_(NOT_ALLOWED))
        return None
    return message


def render_feed(feed: FeedView) -> str:
    minutes = feed.interval_seconds // 60
    name = bidi(escape(feed.title or feed.url))
    if feed.active:
        line = ngettext(
            "#{id} {name} — active, every {n} min", "#{id} {name} — active, every {n} min", minutes
        )
    else:
        line = ngettext(
            "#{id} {name} — stopped, every {n} min",
            "#{id} {name} — stopped, every {n} min",
            minutes,
        )
    line = line.format(id=feed.id, name=name, n=minutes)
    if feed.title:
        line += f"\n   {bidi(escape(feed.url))}"
    if feed.last_error:
        # The error is the feed fetcher's technical detail (HTTP status, parser message).
        line += "\n   " + ngettext(
            "last error ({n} in a row): {error}",
            "last error ({n} in a row): {error}",
            feed.consecutive_errors,
        ).format(n=feed.consecutive_errors, error=bidi(escape(feed.last_error[:200])))
    return line


async def cmd_feeds(update: Update, context: NewsContext) -> None:
    message = await _admin_message(update, context)
    if message is None:
        return
    feeds = await context.services.feeds.list_feeds()
    if not feeds:
        await message.reply_html(_("No feeds yet. Add one with <code>/addfeed URL</code>."))
        return
    text = _("📡 Feeds") + "\n\n" + "\n".join(render_feed(feed) for feed in feeds)
    await message.reply_html(text[:4096], disable_web_page_preview=True)


async def cmd_addfeed(update: Update, context: NewsContext) -> None:
    message = await _admin_message(update, context)
    if message is None:
        return
    if not context.args:
        await message.reply_html(_("Usage: <code>/addfeed https://example.com/rss.xml</code>"))
        return
    result = await context.services.feeds.add(context.args[0][:2048])
    if result.feed is None:
        # The refusal is the URL guard's technical reason (loopback host, bad scheme...).
        await message.reply_text(
            _("I can't add that feed: {reason}.").format(reason=bidi(result.refusal or ""))
        )
    elif result.created:
        await message.reply_html(
            _(
                "Added feed #{id}: {url}\n"
                "Its current entries are stored without alerts; new ones will be announced."
            ).format(id=result.feed.id, url=bidi(escape(result.feed.url))),
            disable_web_page_preview=True,
        )
    else:
        await message.reply_text(_("That feed is already #{id}.").format(id=result.feed.id))


async def cmd_removefeed(update: Update, context: NewsContext) -> None:
    message = await _admin_message(update, context)
    if message is None:
        return
    argument = (context.args or [""])[0].lstrip("#")
    if not (argument.isascii() and argument.isdigit() and len(argument) < 19):
        await message.reply_html(_("Usage: <code>/removefeed ID</code> (IDs are in /feeds)."))
        return
    removed = await context.services.feeds.remove(int(argument))
    await message.reply_text(_("Feed removed.") if removed else _("There is no feed with that ID."))
