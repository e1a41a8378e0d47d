"""Pure rendering of alerts, digests, subscriptions and chat settings."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.render import MAX_MESSAGE_CHARS, deep_link, render_article_block
from handlers.render_follow import describe_follow, render_follows_block, unfollow_buttons
from services.alerts.channels import ManagedChat
from services.alerts.schedule import DeliveryPrefs, format_minutes
from services.alerts.subscriptions import SubscribeResult, SubscriptionView
from services.articles import ArticleView
from services.feeds.follow import FollowedFeed

UNSUBSCRIBE_PREFIX = "unsub"
MAX_ID = 2**63 - 1  # ids are BIGINT
_DIGEST_TITLES = {"hourly": "Your hourly digest", "daily": "Your daily digest"}


def render_alert(article: ArticleView, bot_username: str) -> str:
    """One new article: title, source and date, summary, link; under 4096 characters."""
    text = "🔔 New article\n\n" + render_article_block(article, bot_username, summary_limit=1500)
    if len(text) > MAX_MESSAGE_CHARS:
        text = "🔔 New article\n\n" + render_article_block(article, bot_username, summary_limit=300)
    return text


def render_digest(articles: Sequence[ArticleView], digest: str, bot_username: str) -> str:
    """Several articles in one message; what does not fit is counted, not cut mid-tag."""
    heading = f"🗞 {_DIGEST_TITLES.get(digest, 'New articles')} ({len(articles)})"
    parts: list[str] = []
    used = len(heading) + 60
    for number, article in enumerate(articles, start=1):
        link = article.url or deep_link(bot_username, article)
        summary = (
            article.summary
            if len(article.summary) <= 200
            else article.summary[:199].rsplit(" ", 1)[0] + "…"
        )
        title = f"<b>{escape(article.title[:300])}</b>"
        block = f'{number}. <a href="{escape(link, quote=True)}">{title}</a>\n{escape(summary)}'

        if used + len(block) + 2 > MAX_MESSAGE_CHARS:
            parts.append(f"…and {len(articles) - number + 1} more. See /latest.")
            break
        parts.append(block)
        used += len(block) + 2
    return heading + "\n\n" + "\n\n".join(parts)


def describe_subscription(subscription: SubscriptionView) -> str:
    if subscription.include:
        what = "articles mentioning " + " or ".join(
            f"<b>{escape(w)}</b>" for w in subscription.include
        )
    else:
        what = "every new article"
    if subscription.source:
        what += f" from <b>{escape(' '.join(subscription.source))}</b>"
    if subscription.exclude:
        what += ", except those mentioning " + " or ".join(
            f"<b>{escape(w)}</b>" for w in subscription.exclude
        )
    return what


def render_subscribed(result: SubscribeResult, *, where: str = "", handle: str = "") -> str:
    """The answer to /subscribe; ``where`` names a chat managed from elsewhere (HTML)."""
    subscription = result.subscription
    if subscription is None:
        # A refusal of only blanks would be an empty message, which Telegram refuses.
        return escape((result.refusal or "").strip() or "That did not work.")
    subscribed = f"Subscribed {where}" if where else "Subscribed"
    text = f"✅ {subscribed} (#{subscription.id}): {describe_subscription(subscription)}."
    if result.corrections:
        readings = ", ".join(
            f"“{escape(typed)}” as “{escape(meant)}”" for typed, meant in result.corrections
        )
        text += f"\nI read {readings}."
    return text + f"\nSee /subscriptions {escape(handle)}to list or remove them."


def render_subscriptions(
    subscriptions: Sequence[SubscriptionView],
    prefs: DeliveryPrefs,
    *,
    where: str = "this chat",
    handle: str = "",
    buttons: bool = True,
    follows: Sequence[FollowedFeed] = (),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A chat's subscriptions, followed feeds and settings; ``handle`` names a chat managed
    from elsewhere."""
    named = escape(handle)
    if not subscriptions and not follows:
        return (
            f"{where[0].upper()}{where[1:]} has no subscriptions. Send /subscribe {named}"
            f"for every new article, or /subscribe {named}<i>words</i> for articles "
            "mentioning any of them.",
            None,
        )
    lines = [f"🔔 Subscriptions of {where}:"]
    footer = ["", render_settings(prefs)]
    if not buttons:
        footer.append(f"Remove one with <code>/unsubscribe {named}ID</code>.")
    room = MAX_MESSAGE_CHARS - 100 - sum(len(line) + 1 for line in [*lines, *footer])
    followed = render_follows_block(follows, room // 2 if subscriptions else room)
    footer = followed + footer
    room -= sum(len(line) + 1 for line in followed)
    for number, subscription in enumerate(subscriptions[:50]):
        line = f"#{subscription.id}: {describe_subscription(subscription)}"
        if len(line) + 1 > room:  # never cut a line: a cut tag is a refused message
            more = " (buttons below)" if buttons else ""
            lines.append(f"…and {len(subscriptions[:50]) - number} more{more}.")
            break
        lines.append(line)
        room -= len(line) + 1
    lines += footer
    if not buttons:
        return "\n".join(lines), None
    keyboard = [
        [InlineKeyboardButton(f"Unsubscribe #{s.id}", callback_data=f"{UNSUBSCRIBE_PREFIX}:{s.id}")]
        for s in subscriptions[:50]
    ]
    keyboard += unfollow_buttons(follows)
    return "\n".join(lines), InlineKeyboardMarkup(keyboard)


def render_settings(prefs: DeliveryPrefs) -> str:
    digest = {
        "off": "one message per article",
        "hourly": "an hourly digest",
        "daily": "a daily digest",
    }
    quiet = (
        f"quiet {format_minutes(prefs.quiet_start)}–{format_minutes(prefs.quiet_end)}"
        if prefs.quiet_start is not None and prefs.quiet_end is not None
        else "no quiet hours"
    )
    mode = digest.get(prefs.digest, prefs.digest)
    return f"Delivery: {mode}, {quiet}, time zone {escape(prefs.timezone)}."


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
        return (
            "You manage no channels through me yet. Tap “Connect a channel” below, or send "
            "<code>/subscribe @yourchannel words</code> for a channel where I am an "
            "administrator who may post."
        )
    blocks: list[str] = []
    for chat in chats[:20]:
        handle = f"@{chat.username}" if chat.username else str(chat.id)
        title = escape(chat.title or handle)
        heading = f"📣 <b>{title}</b> ({escape(handle)})"
        if not chat.active:
            heading += " — paused: I may not post there"
        lines = [heading]
        lines += [f"  #{s.id}: {describe_subscription(s)}" for s in chat.subscriptions[:20]]
        lines += [f"  {describe_follow(f)}" for f in chat.follows[:20]]
        if not chat.subscriptions and not chat.follows:
            lines.append("  no subscriptions")
        blocks.append("\n".join(lines))
    help_text = (
        "Manage one with <code>/subscribe @channel words</code>, "
        "<code>/subscriptions @channel</code>, <code>/unsubscribe @channel ID</code>."
    )
    text = "\n\n".join(blocks) + "\n\n" + help_text
    if len(text) > MAX_MESSAGE_CHARS:
        text = (
            text[: MAX_MESSAGE_CHARS - len(help_text) - 3].rsplit("\n", 1)[0] + "\n…\n" + help_text
        )
    return text
