"""The words of /export and /import: escaped, within one message, one line per outline."""

from __future__ import annotations

from handlers.render_opml import (
    render_export_caption,
    render_import,
    render_nothing_to_export,
    where_text,
)
from services.feeds.follow import FollowedFeed, FollowResult, FollowStatus, Refusal
from services.feeds.opml import OpmlOutline
from services.feeds.opml_follow import ImportedOutline, ImportReport
from tests.helpers.telegram_html import parse_html


def _followed(url: str) -> FollowedFeed:
    return FollowedFeed(1, 1, url, None, 0, "", (), (), True)


def _report(*items: tuple[OpmlOutline, FollowResult], not_read: int = 0) -> ImportReport:
    return ImportReport(tuple(ImportedOutline(o, r) for o, r in items), not_read, 20)


def test_titles_addresses_and_reasons_are_escaped() -> None:
    outline = OpmlOutline("http://a.example/?x=<1>&y", "<script> & co", None)
    refused = FollowResult(
        FollowStatus.REFUSED, refusal=Refusal.ADDRESS, detail="<host> is a private address"
    )
    text = render_import(_report((outline, refused)), where_text("A & <B>", True), "@ab ")

    parsed = parse_html(text)  # Telegram would take it: every tag closed, every & escaped
    assert parsed.text.splitlines() == [
        "📥 Import into A & <B>: 0 feeds followed, 0 already followed, 1 not followed.",
        "",
        "⛔ <script> & co — http://a.example/?x=<1>&y: refused, that address may not be "
        "fetched (<host> is a private address)",
    ]


def test_a_long_list_fits_one_message_and_says_how_many_it_left_out() -> None:
    long_title = "T" * 500
    items = [
        (
            OpmlOutline(f"https://feeds.example/{n}/" + "p" * 300, long_title, None),
            FollowResult(FollowStatus.ADDED, _followed(f"https://feeds.example/{n}/")),
        )
        for n in range(100)
    ]
    text = render_import(_report(*items, not_read=7), where_text(None, False), "")

    parsed = parse_html(text)
    assert len(parsed.text) <= 4096
    lines = parsed.text.splitlines()
    listed = [line for line in lines if line.startswith("✅")]
    assert 0 < len(listed) < 100
    assert all(len(line) < 200 for line in listed)  # titles and addresses shortened
    assert f"…and {100 - len(listed)} more outlines." in lines
    assert lines[-1] == "7 more outlines were not read: one import takes the first 100."


def test_the_limit_line_names_the_limit_and_where_to_make_room() -> None:
    outline = OpmlOutline("https://a.example/rss", None, None)
    text = render_import(
        _report((outline, FollowResult(FollowStatus.LIMIT, limit=20))),
        where_text("Mine", True),
        "@mine ",
    )
    assert "⏸ https://a.example/rss: not followed, the limit of 20 feeds is reached" in text
    assert text.endswith("see /subscriptions @mine to remove some.")


def test_export_texts() -> None:
    assert render_export_caption(1, "this chat").startswith("📤 1 feed followed by this chat")
    assert "follow it elsewhere" in render_export_caption(1, "this chat")
    assert "follow them elsewhere" in render_export_caption(2, "this chat")
    assert render_nothing_to_export(where_text("X", True), "@x ").startswith(
        "<b>X</b> follows no feeds"
    )
    assert "<code>/follow @x URL</code>" in render_nothing_to_export("this chat", "@x ")
