"""The words of /export and /import (HTML, translatable); pure functions of service results."""

from __future__ import annotations

from html import escape

from handlers.i18n import _, bidi, ngettext
from services.feeds.follow import FollowResult, FollowStatus, Refusal
from services.feeds.opml import MAX_OPML_BYTES, OpmlProblem
from services.feeds.opml_follow import ImportReport, OpmlImport

# A line per outline, while they fit in one message (4096 characters, with room left for
# the closing lines); the rest are summed up in one line.
LIST_BUDGET = 3600
MAX_LISTED = 40
MAX_SHOWN_URL = 120
MAX_SHOWN_TITLE = 60


def where_text(title: str | None, remote: bool) -> str:
    """How an answer names the chat it acts on (HTML): the chat itself, or a remote one."""
    if not remote or not title:
        return _("this chat")
    return f"<b>{bidi(escape(title))}</b>"


def render_export_caption(count: int, where: str) -> str:
    return ngettext(
        "📤 {count} feed followed by {where}, as OPML. Send the file back with the caption "
        "/import to follow it elsewhere.",
        "📤 {count} feeds followed by {where}, as OPML. Send the file back with the caption "
        "/import to follow them elsewhere.",
        count,
    ).format(count=count, where=where)


def render_nothing_to_export(where: str, handle: str) -> str:
    return _(
        "{where} follows no feeds, so there is nothing to export. Follow one with "
        "<code>/follow {handle}URL</code>."
    ).format(where=_capitalised(where), handle=escape(handle))


def render_import_usage(handle: str = "") -> str:
    return _(
        "To follow the feeds of an OPML file (the export of another feed reader), send me the "
        "<b>.opml</b> file with the caption <code>/import {handle}</code>, or reply to the file "
        "with <code>/import {handle}</code>."
    ).format(handle=escape(handle.strip()))


def render_not_opml_file(file_name: str | None) -> str:
    return _(
        "{name} does not look like an OPML file. Send the <b>.opml</b> file your feed reader "
        "exported, with the caption /import."
    ).format(name=f"<b>{bidi(escape(file_name))}</b>" if file_name else _("That file"))


def render_too_large() -> str:
    return _("That file is too large: an OPML feed list may be up to {size} MB.").format(
        size=MAX_OPML_BYTES // 1_000_000
    )


def render_download_failed() -> str:
    return _("I could not download that file from Telegram. Please send it again.")


def render_problem(problem: OpmlProblem) -> str:
    """Why a file was not read, politely; the parser's details are for operators, not users."""
    reasons = {
        "too_large": render_too_large(),
        "empty": _("That file is empty."),
        "not_xml": _("That file is not an OPML feed list (it is not even XML)."),
        "entities": _("That file declares XML entities, which I refuse for safety."),
        "not_opml": _("That file is XML, but not an OPML feed list."),
        "too_deep": _("That file nests its categories too deeply to be a feed list."),
    }
    return reasons[problem.kind] + " " + _("Nothing was changed.")


def render_no_outlines() -> str:
    return _("That OPML file names no feeds (no outline has an xmlUrl). Nothing was changed.")


def render_imported(imported: OpmlImport, where: str, handle: str) -> str:
    """The answer to /import: why the file was not read, or what became of its feeds."""
    if imported.problem is not None:
        return render_problem(imported.problem)
    if not imported.report.outlines:
        return render_no_outlines()
    return render_import(imported.report, where, handle)


def render_import(report: ImportReport, where: str, handle: str) -> str:
    """The per-feed summary of an import, within one message."""
    added = report.count(FollowStatus.ADDED)
    already = report.count(FollowStatus.ALREADY)
    others = len(report.outlines) - added - already
    lines = [
        _("📥 Import into {where}: {added}, {already}, {others}.").format(
            where=where,
            added=ngettext("{n} feed followed", "{n} feeds followed", added).format(n=added),
            already=ngettext("{n} already followed", "{n} already followed", already).format(
                n=already
            ),
            others=ngettext("{n} not followed", "{n} not followed", others).format(n=others),
        ),
        "",
    ]
    used = sum(len(line) + 1 for line in lines)
    listed = 0
    for item in report.outlines:
        line = _outcome(item.result, bidi(_label(item.outline.title, item.outline.xml_url)))
        if listed == MAX_LISTED or used + len(line) > LIST_BUDGET:
            break
        lines.append(line)
        used += len(line) + 1
        listed += 1
    hidden = len(report.outlines) - listed
    if hidden > 0:
        lines.append(
            ngettext("…and {n} more outline.", "…and {n} more outlines.", hidden).format(n=hidden)
        )
    if report.not_read:
        lines.append(
            ngettext(
                "{n} more outline was not read: one import takes the first {max}.",
                "{n} more outlines were not read: one import takes the first {max}.",
                report.not_read,
            ).format(n=report.not_read, max=len(report.outlines))
        )
    if report.count(FollowStatus.LIMIT):
        lines.append(
            _(
                "A chat may follow up to {limit} feeds; see /subscriptions {handle}to remove some."
            ).format(limit=report.limit, handle=escape(handle))
        )
    return "\n".join(lines)


def _label(title: str | None, url: str) -> str:
    """An outline as the answer names it: its title and address, both shortened (HTML)."""
    shown = escape(_shortened(url, MAX_SHOWN_URL))
    if not title or title == url:
        return shown
    return f"{escape(_shortened(title, MAX_SHOWN_TITLE))} — {shown}"


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _outcome(result: FollowResult, feed: str) -> str:
    """The line for one outline; ``feed`` names it (HTML)."""
    if result.status == FollowStatus.ADDED:
        return "✅ " + feed
    if result.status == FollowStatus.ALREADY:
        return "☑️ " + _("{feed}: already followed").format(feed=feed)
    if result.status == FollowStatus.LIMIT:
        return "⏸ " + _("{feed}: not followed, the limit of {limit} feeds is reached").format(
            feed=feed, limit=result.limit
        )
    if result.refusal == Refusal.ADDRESS and result.detail:
        # The guard's reason ("192.168.1.1 is a private address") is in English.
        return "⛔ " + _("{feed}: refused, that address may not be fetched ({reason})").format(
            feed=feed, reason=bidi(escape(_shortened(result.detail, MAX_SHOWN_URL)))
        )
    if result.refusal == Refusal.ADDRESS:
        return "⛔ " + _("{feed}: refused, that address may not be fetched").format(feed=feed)
    return "⛔ " + _("{feed}: not followed").format(feed=feed)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text and not text.startswith("<") else text
