"""Pure rendering of alerts, digests, subscriptions and chat settings."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from babel.lists import format_list
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import N_, _, bidi, current_language, format_number, ngettext
from handlers.render import MAX_MESSAGE_CHARS, deep_link, render_article_block, render_readings
from handlers.render_follow import describe_follow, render_follows_block, unfollow_buttons
from services.alerts.channels import ManagedChat
from services.alerts.schedule import DeliveryPrefs, format_minutes
from services.alerts.subscriptions import (
    MAX_SUBSCRIPTIONS_PER_CHAT,
    NO_LETTERS,
    NO_SOURCE_NAME,
    TOO_MANY,
    SubscribeResult,
    SubscriptionView,
)
from services.articles import ArticleView
from services.feeds.follow import FollowedFeed

UNSUBSCRIBE_PREFIX = "unsub"
MAX_ID = 2**63 - 1  # ids are BIGINT
_DIGEST_TITLES = {
    "hourly": N_("🗞 Your hourly digest ({n})"),
    "daily": N_("🗞 Your daily digest ({n})"),
}
_DIGEST_MODES = {
    "off": N_("one message per article"),
    "hourly": N_("an hourly digest"),
    "daily": N_("a daily digest"),
}


def _refusal(code: str | None) -> str:
    if code == NO_SOURCE_NAME:
        return _("Name a source after source:, e.g. source:bbc")
    if code == NO_LETTERS:
        return _("Those keywords have no letters or digits in them.")
    if code == TOO_MANY:
        return _("This chat already has {n} subscriptions.").format(
            n=format_number(MAX_SUBSCRIPTIONS_PER_CHAT)
        )
    return _("That did not work.")


def _any_of(words: Sequence[str]) -> str:
    """ "<b>a</b>, <b>b</b> or <b>c</b>" in the chat's language (Babel's list patterns)."""
    return format_list(
        [f"<b>{bidi(escape(w))}</b>" for w in words], style="or", locale=current_language()
    )


def render_alert(article: ArticleView, bot_username: str) -> str:
    """One new article: title, source and date, summary, link; under 4096 characters."""
    heading = _("🔔 New article")
    text = heading + "\n\n" + render_article_block(article, bot_username, summary_limit=1500)
    if len(text) > MAX_MESSAGE_CHARS:
        text = heading + "\n\n" + render_article_block(article, bot_username, summary_limit=300)
    return text


def render_digest(articles: Sequence[ArticleView], digest: str, bot_username: str) -> str:
    """Several articles in one message; what does not fit is counted, not cut mid-tag."""
    title = _DIGEST_TITLES.get(digest, N_("🗞 New articles ({n})"))
    heading = _(title).format(n=format_number(len(articles)))
    parts: list[str] = []
    used = len(heading) + 60
    for number, article in enumerate(articles, start=1):
        link = article.url or deep_link(bot_username, article)
        summary = (
            article.summary
            if len(article.summary) <= 200
            else article.summary[:199].rsplit(" ", 1)[0] + "…"
        )
        title = f"<b>{bidi(escape(article.title[:300]))}</b>"
        block = f'{number}. <a href="{escape(link, quote=True)}">{title}</a>\n{escape(summary)}'

        if used + len(block) + 2 > MAX_MESSAGE_CHARS:
            more = len(articles) - number + 1
            parts.append(
                ngettext("…and {n} more. See /latest.", "…and {n} more. See /latest.", more).format(
                    n=format_number(more)
                )
            )
            break
        parts.append(block)
        used += len(block) + 2
    return heading + "\n\n" + "\n\n".join(parts)


def describe_subscription(subscription: SubscriptionView) -> str:
    source = f"<b>{bidi(escape(' '.join(subscription.source)))}</b>"
    if subscription.include and subscription.source:
        what = _("articles mentioning {words} from {source}").format(
            words=_any_of(subscription.include), source=source
        )
    elif subscription.include:
        what = _("articles mentioning {words}").format(words=_any_of(subscription.include))
    elif subscription.source:
        what = _("every new article from {source}").format(source=source)
    else:
        what = _("every new article")
    if subscription.exclude:
        what = _("{what}, except those mentioning {words}").format(
            what=what, words=_any_of(subscription.exclude)
        )
    return what


def render_subscribed(result: SubscribeResult, *, where: str = "", handle: str = "") -> str:
    """The answer to /subscribe; ``where`` names a chat managed from elsewhere (HTML)."""
    subscription = result.subscription
    if subscription is None:
        return escape(_refusal(result.refusal))
    what = describe_subscription(subscription)
    if where:
        text = _("✅ Subscribed {where} (#{id}): {what}.").format(
            where=where, id=subscription.id, what=what
        )
    else:
        text = _("✅ Subscribed (#{id}): {what}.").format(id=subscription.id, what=what)
    if readings := render_readings(result.corrections):
        text += "\n" + readings
    return (
        text
        + "\n"
        + _("See /subscriptions {handle}to list or remove them.").format(handle=_handle(handle))
    )


def _handle(handle: str) -> str:
    """A chat's @name or id as typed in a command ("" for this chat), isolated in RTL."""
    return bidi(escape(handle.strip())) + " " if handle.strip() else ""


def render_subscriptions(
    subscriptions: Sequence[SubscriptionView],
    prefs: DeliveryPrefs,
    *,
    where: str = "",
    handle: str = "",
    buttons: bool = True,
    follows: Sequence[FollowedFeed] = (),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A chat's subscriptions, followed feeds and settings; ``where`` and ``handle`` name a
    chat managed from elsewhere (HTML; "" for this chat)."""
    named = _handle(handle)
    if not subscriptions and not follows:
        if where:
            empty = _(
                "{where} has no subscriptions. Send /subscribe {handle}for every new article, "
                "or /subscribe {handle}<i>words</i> for articles mentioning any of them."
            ).format(where=where, handle=named)
        else:
            empty = _(
                "This chat has no subscriptions. Send /subscribe {handle}for every new article, "
                "or /subscribe {handle}<i>words</i> for articles mentioning any of them."
            ).format(handle=named)
        return empty, None
    if where:
        lines = [_("🔔 Subscriptions of {where}:").format(where=where)]
    else:
        lines = [_("🔔 Subscriptions of this chat:")]
    footer = ["", render_settings(prefs)]
    if not buttons:
        footer.append(
            _("Remove one with <code>/unsubscribe {handle}ID</code>.").format(handle=named)
        )
    room = MAX_MESSAGE_CHARS - 100 - sum(len(line) + 1 for line in [*lines, *footer])
    followed = render_follows_block(follows, room // 2 if subscriptions else room)
    footer = followed + footer
    room -= sum(len(line) + 1 for line in followed)
    for number, subscription in enumerate(subscriptions[:50]):
        line = f"#{subscription.id}: {describe_subscription(subscription)}"
        if len(line) + 1 > room:  # never cut a line: a cut tag is a refused message
            left = len(subscriptions[:50]) - number
            if buttons:
                more = ngettext(
                    "…and {n} more (buttons below).", "…and {n} more (buttons below).", left
                )
            else:
                more = ngettext("…and {n} more.", "…and {n} more.", left)
            lines.append(more.format(n=format_number(left)))
            break
        lines.append(line)
        room -= len(line) + 1
    lines += footer
    if not buttons:
        return "\n".join(lines), None
    keyboard = [
        [
            InlineKeyboardButton(
                _("Unsubscribe #{id}").format(id=s.id), callback_data=f"{UNSUBSCRIBE_PREFIX}:{s.id}"
            )
        ]
        for s in subscriptions[:50]
    ]
    keyboard += unfollow_buttons(follows)
    return "\n".join(lines), InlineKeyboardMarkup(keyboard)


def render_settings(prefs: DeliveryPrefs) -> str:
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        quiet = _("quiet {start}–{end}").format(
            start=format_minutes(prefs.quiet_start), end=format_minutes(prefs.quiet_end)
        )
    else:
        quiet = _("no quiet hours")
    mode = _DIGEST_MODES.get(prefs.digest)
    return _("Delivery: {mode}, {quiet}, time zone {zone}.").format(
        mode=_(mode) if mode else escape(prefs.digest),
        quiet=quiet,
        zone=bidi(escape(prefs.timezone)),
    )


def parse_unsubscribe_callback(data: str) -> int | None:
    prefix, _, number = data.partition(":")
    if (
        prefix != UNSUBSCRIBE_PREFIX
        or not (number.isascii() and number.isdigit())
        or len(number) > 19
        or int(number) > MAX_ID
    ):
        return None
    return int(number)


def render_channels(chats: Sequence[ManagedChat]) -> str:
    """/channels: each chat managed from here, with its subscriptions and how to manage it."""
    if not chats:
        return _(
            "You manage no channels through me yet. Tap “Connect a channel” below, or send "
            "<code>/subscribe @yourchannel words</code> for a channel where I am an "
            "administrator who may post."
        )
    blocks: list[str] = []
    for chat in chats[:20]:
        handle = f"@{chat.username}" if chat.username else str(chat.id)
        title = bidi(escape(chat.title or handle))
        heading = f"📣 <b>{title}</b> ({bidi(escape(handle))})"
        if not chat.active:
            heading += _(" — paused: I may not post there")
        lines = [heading]
        lines += [f"  #{s.id}: {describe_subscription(s)}" for s in chat.subscriptions[:20]]
        lines += [f"  {describe_follow(f)}" for f in chat.follows[:20]]
        if not chat.subscriptions and not chat.follows:
            lines.append("  " + _("no subscriptions"))
        blocks.append("\n".join(lines))
    help_text = _(
        "Manage one with <code>/subscribe @channel words</code>, "
        "<code>/subscriptions @channel</code>, <code>/unsubscribe @channel ID</code>."
    )
    text = "\n\n".join(blocks) + "\n\n" + help_text
    if len(text) > MAX_MESSAGE_CHARS:
        text = (
            text[: MAX_MESSAGE_CHARS - len(help_text) - 3].rsplit("\n", 1)[0] + "\n…\n" + help_text
        )
    return text
