"""Pure rendering: service results to Telegram HTML and keyboards. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from babel.lists import format_list
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import N_, _, bidi, current_language, format_day, format_number
from services.articles import ArticleView
from services.search import SearchPage

MAX_MESSAGE_CHARS = 4096
MAX_CALLBACK_BYTES = 64
# Room kept for the header and the "query was shortened" note around the hits.
_HEADER_BUDGET = 400
_ELLIPSIS = "…"
# Longer links are sent as the bot's own deep link; longer ids as the numeric id (which
# /article accepts as well): nobody types a 500-character id, and it would crowd the card.
_MAX_URL_CHARS = 2048
_MAX_SHOWN_ID_CHARS = 64
PAGE_CALLBACK_PREFIX = "pg"
_PAGE_DATA = re.compile(r"pg:([0-9]{1,19}):([0-9]{1,4})")
_MAX_ID = 2**63 - 1  # session ids are BIGINT


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def render_readings(corrections: Sequence[tuple[str, str]]) -> str:
    """How typo'd keywords were read (HTML), as /subscribe and /follow say; "" for none."""
    if not corrections:
        return ""
    readings = format_list(
        [
            _("“{typed}” as “{meant}”").format(typed=bidi(escape(typed)), meant=bidi(escape(meant)))
            for typed, meant in corrections
        ],
        locale=current_language(),
    )
    return _("I read {readings}.").format(readings=readings)


def deep_link(bot_username: str, article: ArticleView) -> str:
    """A t.me link that opens the article in the bot (start payloads allow [A-Za-z0-9_-])."""
    return f"https://t.me/{bot_username}?start=a_{article.id}"


def _meta_line(article: ArticleView) -> str:
    parts = []
    if article.source:
        parts.append(bidi(_shorten(article.source, 100)))
    when = article.published_at or article.sort_at
    parts.append(format_day(when))  # in the chat's language and time zone
    return " · ".join(parts)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut + _ELLIPSIS


def _link(article: ArticleView, bot_username: str) -> str:
    if article.url and len(article.url) <= _MAX_URL_CHARS:
        label = _("Read the article")
        return f'<a href="{escape(article.url, quote=True)}">{label}</a>'
    label = _("Open in the bot")
    return f'<a href="{escape(deep_link(bot_username, article), quote=True)}">{label}</a>'


def render_article_block(
    article: ArticleView, bot_username: str, *, number: int | None = None, summary_limit: int = 600
) -> str:
    """One article: bold title, source and date, summary, link."""
    prefix = f"{number}. " if number is not None else ""
    title = bidi(escape(_shorten(article.title, 300)))
    lines = [f"<b>{prefix}{title}</b>", f"<i>{escape(_meta_line(article))}</i>"]
    summary = _shorten(article.summary, summary_limit)
    if summary:
        lines.append(escape(summary))
    lines.append(_link(article, bot_username))
    shown_id = article.public_id
    if len(shown_id) > _MAX_SHOWN_ID_CHARS:
        shown_id = str(article.id)
    id_line = _("ID: {id}").format(id=f"<code>{bidi(escape(shown_id))}</code>")
    lines.append(id_line)
    return "\n".join(lines)


def render_article(article: ArticleView, bot_username: str) -> str:
    """The full card of one article (/article, deep links, inline results)."""
    return render_article_block(article, bot_username, summary_limit=1500)


def render_results(page: SearchPage, bot_username: str, session_id: int | None) -> Rendered:
    """A page of search results with Previous/Next buttons, never over 4096 characters."""
    if not page.hits:
        return Rendered(render_no_results(page.query.text))
    first = page.offset + 1
    last = page.offset + len(page.hits)
    header = _("🔎 Results {first}–{last} for “{query}”").format(
        first=format_number(first),
        last=format_number(last),
        query=bidi(escape(_shorten(page.query.text, 120))),
    )
    if page.query.truncated:
        header += "\n<i>" + _("Your query was long, so only its beginning was searched.") + "</i>"
    budget = (MAX_MESSAGE_CHARS - _HEADER_BUDGET) // len(page.hits)
    summary_limit = 600
    while True:
        blocks = [
            render_article_block(
                hit.article, bot_username, number=first + i, summary_limit=summary_limit
            )
            for i, hit in enumerate(page.hits)
        ]
        if all(len(block) <= budget for block in blocks) or summary_limit <= 60:
            break
        summary_limit //= 2
    text = header + "\n\n" + "\n\n".join(blocks)
    if len(text) > MAX_MESSAGE_CHARS:  # only with absurdly long titles or links
        text = header + "\n\n" + "\n\n".join(blocks[:1])
    return Rendered(text, _paging_keyboard(page, session_id))


def _paging_keyboard(page: SearchPage, session_id: int | None) -> InlineKeyboardMarkup | None:
    if session_id is None:
        return None
    size = len(page.hits)
    buttons = []
    if page.offset > 0:
        previous = max(0, page.offset - size)
        buttons.append(
            InlineKeyboardButton(_("◀ Previous"), callback_data=page_callback(session_id, previous))
        )
    if page.has_more:
        following = page.offset + size
        buttons.append(
            InlineKeyboardButton(_("Next ▶"), callback_data=page_callback(session_id, following))
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


def page_callback(session_id: int, offset: int) -> str:
    data = f"{PAGE_CALLBACK_PREFIX}:{session_id}:{offset}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data over Telegram's 64 bytes")
    return data


def parse_page_callback(data: str) -> tuple[int, int] | None:
    """(session id, offset) from a paging button, or None for anything forged or foreign."""
    match = _PAGE_DATA.fullmatch(data)
    if match is None or int(match.group(1)) > _MAX_ID:
        return None
    return int(match.group(1)), int(match.group(2))


def render_no_results(query_text: str) -> str:
    return _(
        "No articles match “{query}”.\n"
        "Try fewer or different words, check the spelling of names, "
        "or see the newest articles with /latest."
    ).format(query=bidi(escape(_shorten(query_text, 120))))


def render_latest(articles: list[ArticleView], bot_username: str) -> str:
    if not articles:
        return _("No articles are stored yet.")
    budget = (MAX_MESSAGE_CHARS - 100) // len(articles)
    summary_limit = 300
    while True:
        blocks = [
            render_article_block(a, bot_username, number=i + 1, summary_limit=summary_limit)
            for i, a in enumerate(articles)
        ]
        if all(len(b) <= budget for b in blocks) or summary_limit <= 40:
            break
        summary_limit //= 2
    while len(blocks) > 1 and sum(len(b) + 2 for b in blocks) > MAX_MESSAGE_CHARS - 100:
        blocks.pop()  # only with absurdly long titles: fewer articles, never a cut tag
    return _("🗞 Latest articles") + "\n\n" + "\n\n".join(blocks)


# Translated where it is shown: _(SEARCH_USAGE).
SEARCH_USAGE = N_(
    "Tell me what to look for, e.g. <code>/search obama iran letter</code>.\n"
    'Typos are fine. Use <code>"exact phrase"</code>, <code>-word</code> to exclude, '
    "<code>source:bbc</code>, <code>since:2014-11-01</code> or <code>before:2015-01-01</code>."
)


def render_help(bot_username: str) -> str:
    text = _(
        "I search a news archive and answer with short summaries and links.\n\n"
        "/search <i>words</i> – find articles (typos are fine)\n"
        "/latest [<i>N</i>] – the newest articles (up to 20)\n"
        "/article <i>ID</i> – one article's summary and link\n"
        "/language – the language I speak in this chat\n"
        "/help – this message\n\n"
        "In a private chat just send words to search. In any chat type "
        "<code>{mention} words</code> to share an article."
    ).format(mention=bidi("@" + escape(bot_username)))
    return text + "\n\n" + _(SEARCH_USAGE)


# Translated where they are sent: _(SORRY).
SORRY = N_("Sorry, something went wrong on our side. Please try again in a moment.")
UNAVAILABLE = N_("Sorry, the archive is not answering right now. Please try again in a minute.")
