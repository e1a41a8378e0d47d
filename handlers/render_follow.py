"""Pure rendering of /follow's answers, the feed choice buttons and followed feeds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import _, bidi, ngettext
from handlers.render import MAX_CALLBACK_BYTES, render_readings
from services.feeds.discover import FeedCandidate
from services.feeds.follow import FollowedFeed, FollowResult, FollowStatus, Refusal

CHOICE_PREFIX = "fw"
# "fw:<choice id>:<candidate index>": at most 3 + 19 + 1 + 2 bytes, far under 64.
_CHOICE_DATA = re.compile(r"fw:([0-9]{1,19}):([0-9]{1,2})")
# A followed feed's id as users see and type it: "f3" (keyword subscriptions are plain "3").
_FOLLOW_ID = re.compile(r"#?f([0-9]{1,18})", re.IGNORECASE)
UNFOLLOW_DATA_PREFIX = "unsub:f"
_UNFOLLOW_DATA = re.compile(r"unsub:f([0-9]{1,18})")
_LABEL_CHARS = 60
# Shown lengths (before escaping, which may grow them up to sixfold): a followed feed's line
# stays well under a message's 4096 characters whatever its title, address and words.
_SHOWN_NAME_CHARS = 150
_SHOWN_WORDS_CHARS = 150


def follow_handle(follow_id: int) -> str:
    return f"f{follow_id}"


def parse_follow_id(argument: str) -> int | None:
    """``f3`` (or ``#f3``) -> 3; None for anything else."""
    found = _FOLLOW_ID.fullmatch(argument.strip())
    return int(found.group(1)) if found else None


def parse_unfollow_callback(data: str) -> int | None:
    found = _UNFOLLOW_DATA.fullmatch(data)
    return int(found.group(1)) if found else None


def parse_choice_callback(data: str) -> tuple[int, int] | None:
    """``fw:12:1`` -> (choice 12, candidate 1); None for anything else (forged, too long)."""
    found = _CHOICE_DATA.fullmatch(data)
    if found is None or int(found.group(1)) > 2**63 - 1:
        return None
    return int(found.group(1)), int(found.group(2))


def _shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (runs of blanks and line breaks are one space)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def feed_name(title: str | None, url: str) -> str:
    """A feed as shown (HTML): its title, else its address (isolated in right-to-left text)."""
    return bidi(escape(_shorten(title or url, _SHOWN_NAME_CHARS)))


def _words(words: tuple[str, ...]) -> str:
    shown = _shorten(" ".join(words), _SHOWN_WORDS_CHARS)
    return " ".join(f"<b>{bidi(escape(word))}</b>" for word in shown.split())


def describe_words(follow: FollowedFeed) -> str:
    """The words a follow filters by (HTML), "" when it takes every entry."""
    parts = []
    if follow.include:
        parts.append(_("entries mentioning {words}").format(words=_words(follow.include)))
    if follow.exclude:
        parts.append(_("except those mentioning {words}").format(words=_words(follow.exclude)))
    return ", ".join(parts)


def describe_follow(follow: FollowedFeed) -> str:
    """One followed feed (HTML): ``f3: <b>Title</b> (url), entries mentioning …``."""
    line = f"{follow_handle(follow.id)}: <b>{feed_name(follow.title, follow.url)}</b>"
    if follow.title:
        line += f" ({bidi(escape(_shorten(follow.url, _SHOWN_NAME_CHARS)))})"
    if words := describe_words(follow):
        line += ", " + words
    if not follow.active:
        line += " — " + _("not polled right now (too many errors)")
    return line


def render_followed(
    result: FollowResult, *, where: str, handle: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The answer to /follow or to a feed choice button; ``where`` names the chat (HTML)."""
    followed = result.followed
    see = _("See /subscriptions {handle}to list or remove them.").format(handle=_handle(handle))
    if result.status == FollowStatus.ADDED and followed is not None:
        text = _("✅ {where} now follows {feed} ({id}).").format(
            where=where[:1].upper() + where[1:],
            feed=f"<b>{feed_name(followed.title, followed.url)}</b>",
            id=bidi(follow_handle(followed.id)),
        )
        if words := describe_words(followed):
            text += "\n" + _("Only {words}.").format(words=words)
        if readings := render_readings(result.corrections):
            text += "\n" + readings
        text += "\n" + _("What it holds now is not announced; new entries are.")
        return text + "\n" + see, None
    if result.status == FollowStatus.ALREADY and followed is not None:
        text = _("{where} already follows {feed} ({id}).").format(
            where=where[:1].upper() + where[1:],
            feed=f"<b>{feed_name(followed.title, followed.url)}</b>",
            id=bidi(follow_handle(followed.id)),
        )
        return text + "\n" + see, None
    if result.status == FollowStatus.LIMIT:
        text = ngettext(
            "{where} already follows {n} feed, the most a chat may.",
            "{where} already follows {n} feeds, the most a chat may.",
            result.limit,
        ).format(where=where[:1].upper() + where[1:], n=result.limit)
        return text + " " + _("Remove one first.") + "\n" + see, None
    if result.status == FollowStatus.CHOOSE and result.choice_id is not None:
        return _("That page names several feeds. Which one should {where} follow?").format(
            where=where
        ), choice_keyboard(result.choice_id, result.candidates)
    return render_refusal(result.refusal, result.detail), None


def render_refusal(refusal: Refusal | None, detail: str | None) -> str:
    reason = bidi(escape(_shorten(detail or "", 300)))  # a redirect's reason names its whole URL
    if refusal == Refusal.WORDS:
        return _("Those words have no letters or digits in them.")
    if refusal == Refusal.ADDRESS:
        return _("I can't follow that address: {reason}.").format(reason=reason)
    if refusal == Refusal.UNREACHABLE:
        return _("I couldn't read that address: {reason}. Check it and try again.").format(
            reason=reason
        )
    if refusal == Refusal.NOT_A_FEED:
        return _(
            "That is neither an RSS or Atom feed nor a page that names one. "
            "Send the address of the feed itself."
        )
    return _("That choice is no longer available. Send /follow again.")


def choice_keyboard(choice_id: int, candidates: Sequence[FeedCandidate]) -> InlineKeyboardMarkup:
    rows = []
    for index, candidate in enumerate(candidates):
        data = f"{CHOICE_PREFIX}:{choice_id}:{index}"
        assert len(data.encode()) <= MAX_CALLBACK_BYTES
        label = _shorten(candidate.title or candidate.url, _LABEL_CHARS)
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    return InlineKeyboardMarkup(rows)


def _handle(handle: str) -> str:
    """A chat's @name or id as typed in a command ("" for this chat), isolated in RTL."""
    return bidi(escape(handle.strip())) + " " if handle.strip() else ""


def render_follow_usage(handle: str = "") -> str:
    named = _handle(handle)
    return _(
        "Usage: <code>/follow {handle}URL</code> or "
        "<code>/follow {handle}URL words -excluded</code> — a feed, or a page that names one."
    ).format(handle=named)


def render_follows_block(follows: Sequence[FollowedFeed], room: int) -> list[str]:
    """The lines listing followed feeds within ``room`` characters (never cut mid-tag)."""
    if not follows:
        return []
    lines = ["", _("📡 Followed feeds:")]
    room -= sum(len(line) + 1 for line in lines)
    for number, follow in enumerate(follows):
        line = describe_follow(follow)
        if len(line) + 1 > room:
            lines.append(
                ngettext("…and {n} more.", "…and {n} more.", len(follows) - number).format(
                    n=len(follows) - number
                )
            )
            break
        lines.append(line)
        room -= len(line) + 1
    return lines


def unfollow_buttons(follows: Sequence[FollowedFeed]) -> list[list[InlineKeyboardButton]]:
    return [
        [
            InlineKeyboardButton(
                _("Unsubscribe {id}").format(id=follow_handle(f.id)),
                callback_data=f"{UNFOLLOW_DATA_PREFIX}{f.id}",
            )
        ]
        for f in follows[:50]
    ]


def render_unfollowed(removed: int, where: str, handle: str = "") -> str:
    """The answer to ``/unsubscribe f3``; ``where`` names a chat managed from elsewhere
    (HTML, as Target.where: "" for this chat, whose sentences are translated whole)."""
    if removed and where:
        return _("Unsubscribed: {where} no longer follows that feed.").format(where=where)
    if removed:
        return _("Unsubscribed: this chat no longer follows that feed.")
    if where:
        return _("No such followed feed in {where}. See /subscriptions {handle}.").format(
            where=where, handle=bidi(escape(handle.strip()))
        )
    return _("No such followed feed in this chat. See /subscriptions.")
