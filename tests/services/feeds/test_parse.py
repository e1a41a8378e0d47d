"""parse_feed: RSS and Atom quirks into raw articles; what is unusable is a problem, not a crash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.feeds.parse import FeedEntry, ParsedFeed, parse_feed
from services.parsing import RawArticle

BASE = "https://news.example/feeds/world.xml"
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)

RSS2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>The Harbour Gazette &#8211; World</title>
  <link>https://news.example/</link>
  <description>News from the coast</description>
  <atom:link href="https://news.example/feeds/world.xml" rel="self" type="application/rss+xml"/>
  <item>
    <title><![CDATA[Lighthouse <em>saved</em> after 10-year fight]]></title>
    <link>/2024/05/14/lighthouse?utm_source=rss</link>
    <guid isPermaLink="false">gazette-8841</guid>
    <dc:creator>Mara Olsen</dc:creator>
    <category>Local</category>
    <pubDate>Tue, 14 May 2024 09:30:00 +0200</pubDate>
    <description><![CDATA[The harbour board votes to rebuild the tower [&#8230;]]]></description>
    <content:encoded><![CDATA[
      <h1>Lighthouse saved after 10-year fight</h1>
      <p>The harbour board voted on Tuesday to rebuild the old lighthouse, ending a
         dispute that had split the town for more than a decade.</p>
      <figure><img src="/img/tower.jpg" alt=""><figcaption>The tower in 2019.</figcaption></figure>
      <p>Engineers said the granite tower could be restored for roughly half the cost of
         a new steel beacon.<br/>Work starts in spring.</p>
      <script>trackView(8841)</script>
      <ul><li>Cost: 2.1m</li><li>Duration: 18 months</li></ul>
      <p>The post <a href="https://news.example/lh">Lighthouse saved</a> appeared first on
         <a href="https://news.example">The Harbour Gazette</a>.</p>
    ]]></content:encoded>
    <enclosure url="https://news.example/audio/8841.mp3" length="1000" type="audio/mpeg"/>
  </item>
  <item>
    <title>Ferry timetable changes &amp;amp; new summer routes</title>
    <link>https://news.example/2024/05/13/ferry</link>
    <guid>https://news.example/2024/05/13/ferry</guid>
    <pubDate>Mon, 13 May 2024 17:05:00 GMT</pubDate>
    <description>&lt;p&gt;The ferry company announced three new routes.&lt;/p&gt;
      &lt;p&gt;Tickets go on sale next week.&lt;/p&gt;</description>
  </item>
</channel>
</rss>"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://valley.example/">
    <title>Valley Courier</title>
    <link>https://valley.example/</link>
    <description>Headlines</description>
    <items><rdf:Seq>
      <rdf:li rdf:resource="https://valley.example/a/1"/>
      <rdf:li rdf:resource="https://valley.example/a/2"/>
    </rdf:Seq></items>
  </channel>
  <item rdf:about="https://valley.example/a/1">
    <title>Bridge reopens after repairs</title>
    <link>https://valley.example/a/1</link>
    <description>The old stone bridge reopened to traffic on Friday.</description>
    <dc:date>2024-03-01T12:00:00+01:00</dc:date>
  </item>
  <item rdf:about="https://valley.example/a/2">
    <title>School wins robotics prize</title>
    <link>https://valley.example/a/2</link>
    <description>Pupils built a robot that sorts recycling.</description>
  </item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/notes/">
  <title type="html">Field &lt;em&gt;Notes&lt;/em&gt;</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-05-02T08:00:00Z</updated>
  <link rel="self" href="feed.atom"/>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Birds <b>return</b></div></title>
    <id>tag:blog.example,2024:1</id>
    <link rel="alternate" type="text/html" href="2024/birds"/>
    <link rel="enclosure" href="birds.mp3"/>
    <updated>2024-05-02T08:00:00+02:00</updated>
    <summary>Swallows are back.</summary>
    <content type="html">&lt;p&gt;Swallows are back in the valley, a week earlier than last
      year.&lt;/p&gt;&lt;p&gt;See &lt;a href="photos/1"&gt;the photos&lt;/a&gt; for
      more.&lt;/p&gt;</content>
  </entry>
  <entry xml:base="https://mirror.example/deep/dir/">
    <title>Plain text entry</title>
    <id>tag:blog.example,2024:2</id>
    <link href="../post?id=2"/>
    <published>2024-04-30T10:00:00-05:00</published>
    <updated>2024-05-01T10:00:00Z</updated>
    <content type="text">First paragraph of plain text.

Second paragraph, with &lt;b&gt;literal&lt;/b&gt; brackets.</content>
  </entry>
</feed>"""


def rss(items: str, *, title: str = "Test Feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


def parse(body: bytes, **options: object) -> ParsedFeed:
    return parse_feed(body, base_url=BASE, now=NOW, **options)  # type: ignore[arg-type]


def only(feed: ParsedFeed) -> FeedEntry:
    assert len(feed.entries) == 1, feed
    return feed.entries[0]


# --- the three formats -------------------------------------------------------------------


def test_rss2_with_content_encoded() -> None:
    feed = parse(RSS2)
    assert feed.title == "The Harbour Gazette \u2013 World"
    assert feed.problems == []
    first, second = feed.entries
    assert first == FeedEntry(
        "gazette-8841",
        RawArticle(
            title="Lighthouse saved after 10-year fight",
            body=(  # without the repeated headline, caption, script and "The post ..." line
                "The harbour board voted on Tuesday to rebuild the old lighthouse, ending a "
                "dispute that had split the town for more than a decade.\n\n"
                "Engineers said the granite tower could be restored for roughly half the cost "
                "of a new steel beacon. Work starts in spring.\n\n"
                "Cost: 2.1m\n\nDuration: 18 months"
            ),
            url="https://news.example/2024/05/14/lighthouse?utm_source=rss",
            source="The Harbour Gazette \u2013 World",
            published_at=datetime(2024, 5, 14, 7, 30, tzinfo=UTC),
            summary=None,
            external_id=None,
        ),
    )
    assert second.guid == "https://news.example/2024/05/13/ferry"
    assert second.article.title == "Ferry timetable changes & new summer routes"
    assert second.article.body == (
        "The ferry company announced three new routes.\n\nTickets go on sale next week."
    )
    assert second.article.published_at == datetime(2024, 5, 13, 17, 5, tzinfo=UTC)


def test_rss1_rdf() -> None:
    feed = parse(RDF)
    assert (feed.title, feed.problems) == ("Valley Courier", [])
    first, second = feed.entries
    assert first.guid == "https://valley.example/a/1"  # rdf:about
    assert first.article == RawArticle(
        title="Bridge reopens after repairs",
        body="The old stone bridge reopened to traffic on Friday.",
        url="https://valley.example/a/1",
        source="Valley Courier",
        published_at=datetime(2024, 3, 1, 11, 0, tzinfo=UTC),  # dc:date
    )
    assert second.article.published_at is None


def test_rss_091_without_guids_or_dates() -> None:
    body = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old Feed</title>
      <link>https://old.example/</link><description>d</description><language>en</language>
      <item><title>First</title><link>https://OLD.example/a?utm_medium=rss#top</link>
        <description>One.</description></item>
      <item><title>Second</title><link>https://old.example/b</link>
        <description>Two.</description></item></channel></rss>"""
    feed = parse(body)
    assert feed.problems == []
    # Without a guid the canonical link stands in, so tracking parameters do not matter.
    assert [e.guid for e in feed.entries] == ["https://old.example/a", "https://old.example/b"]
    assert [e.article.url for e in feed.entries] == [
        "https://OLD.example/a?utm_medium=rss#top",
        "https://old.example/b",
    ]
    assert [e.article.published_at for e in feed.entries] == [None, None]


def test_atom_with_xml_base_and_relative_links() -> None:
    feed = parse(ATOM)
    assert (feed.title, feed.problems) == ("Field Notes", [])
    birds, plain = feed.entries
    assert birds.guid == "tag:blog.example,2024:1"
    assert birds.article.title == "Birds return"
    assert birds.article.url == "https://blog.example/notes/2024/birds"
    assert birds.article.body == (
        "Swallows are back in the valley, a week earlier than last year.\n\n"
        "See the photos for more."
    )  # the content, fuller than the summary
    assert birds.article.published_at == datetime(2024, 5, 2, 6, 0, tzinfo=UTC)  # updated
    assert birds.article.source == "Field Notes"
    assert plain.article.url == "https://mirror.example/deep/post?id=2"  # entry's own base
    assert plain.article.body == (
        "First paragraph of plain text.\n\nSecond paragraph, with <b>literal</b> brackets."
    )
    assert plain.article.published_at == datetime(2024, 4, 30, 15, 0, tzinfo=UTC)  # published


def test_relative_links_without_xml_base_resolve_against_the_feed_url() -> None:
    items = (
        "<item><title>A</title><link>../story/1</link><description>x</description></item>"
        "<item><title>B</title><link>javascript:alert(1)</link><description>x</description>"
        "</item><item><title>C</title><link>mailto:desk@news.example</link>"
        "<description>x</description></item>"
    )
    feed = parse(rss(items))
    assert [e.article.url for e in feed.entries] == ["https://news.example/story/1", None, None]


def test_the_source_given_wins_over_the_feed_title() -> None:
    feed = parse(RDF, source="Courier (valley)")
    assert {e.article.source for e in feed.entries} == {"Courier (valley)"}
    assert feed.title == "Valley Courier"


def test_a_feed_without_a_title_gives_no_source() -> None:
    feed = parse(rss("<item><title>A</title><description>x</description></item>", title=""))
    assert feed.title is None and only(feed).article.source is None


# --- titles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title_xml", "expected"),
    [
        ("<![CDATA[Tom &amp; Jerry <b>win</b>]]>", "Tom & Jerry win"),
        ("Tom &amp;amp; Jerry &lt;b&gt;win&lt;/b&gt;", "Tom & Jerry win"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),  # escaped twice by the publisher
        ("AT&amp;T and Q&amp;A", "AT&T and Q&A"),
        ("Caf&#233; &#x2014; re-opened", "Café — re-opened"),
        ("<![CDATA[  Spaced\n\t out  ]]>", "Spaced out"),
        ("<![CDATA[Scores: 3 < 5 and 7 > 2]]>", "Scores: 3 < 5 and 7 > 2"),
        ("<![CDATA[<p>Block</p> <span>title</span>]]>", "Block title"),
    ],
)
def test_titles_lose_markup_and_entities(title_xml: str, expected: str) -> None:
    feed = parse(rss(f"<item><title>{title_xml}</title><description>x</description></item>"))
    assert only(feed).article.title == expected


def test_an_entry_without_a_title_takes_the_first_sentence_of_its_body() -> None:
    items = (
        "<item><guid>1</guid><description>&lt;p&gt;Mr. Olsen opened the new pier on Monday. "
        "Hundreds came.&lt;/p&gt;&lt;p&gt;More later.&lt;/p&gt;</description></item>"
        f"<item><guid>2</guid><description>{'word ' * 80}</description></item>"
    )
    short, long = parse(rss(items)).entries
    assert short.article.title == "Mr. Olsen opened the new pier on Monday."
    assert len(long.article.title) <= 150 and long.article.title.endswith("\u2026")


def test_an_entry_with_neither_title_nor_text_is_reported_and_skipped() -> None:
    items = (
        "<item><guid>empty</guid><link>https://news.example/x</link></item>"
        "<item><title>  </title><description><![CDATA[<script>x()</script>]]></description></item>"
        "<item><title>Kept</title><description>x</description></item>"
    )
    feed = parse(rss(items))
    assert [e.article.title for e in feed.entries] == ["Kept"]
    assert feed.problems == [
        "entry 1: no title and no text; skipped",
        "entry 2: no title and no text; skipped",
    ]


def test_a_title_only_entry_is_kept_with_an_empty_body() -> None:
    entry = only(parse(rss("<item><title>Just a headline</title><guid>g</guid></item>")))
    assert (entry.article.title, entry.article.body) == ("Just a headline", "")


# --- bodies --------------------------------------------------------------------------------


def test_the_fullest_text_is_the_body() -> None:
    long = "&lt;p&gt;A longer description, with two clauses.&lt;/p&gt;"
    items = (
        '<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>T</title>'
        f"<description>{long}</description>"
        "<content:encoded>&lt;p&gt;Short.&lt;/p&gt;</content:encoded></item>"
    )
    assert only(parse(rss(items))).article.body == "A longer description, with two clauses."


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("One<br>two<br/><br />Three", "One two\n\nThree"),
        ("<div>Block one</div><div>Block <i>two</i></div>tail", "Block one\n\nBlock two\n\ntail"),
        (
            "<p>Kept.</p><style>p{}</style><iframe>x</iframe><noscript>y</noscript><p>Too.</p>",
            "Kept.\n\nToo.",
        ),
        # No readability-style scoring: a short first paragraph is story too.
        (
            "<p>Short intro.</p><div><p>" + "Long " * 60 + "</p></div>",
            "Short intro.\n\n" + "Long " * 59 + "Long",
        ),
        ("<p>Story.</p><p>Continue reading...</p>", "Story."),
        ("<p>Story.</p><p><a href='x'>Read more &#187;</a></p>", "Story."),
        ("<p>The first lines of a story [&#8230;]</p>", "The first lines of a story"),
        ("<p>Café &amp; bar &lt;3</p>", "Café & bar <3"),
        ("<p>Text with \x00 junk\u200b chars</p>", "Text with junk chars"),
        ("<img src='x.png'>", ""),
    ],
)  # fmt: skip
def test_html_bodies_become_paragraphs(html: str, expected: str) -> None:
    cdata = f"<![CDATA[{html}]]>"
    entry = parse(rss(f"<item><title>T</title><description>{cdata}</description></item>"))
    assert only(entry).article.body == expected


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ("", None),
        ("<pubDate>not a date</pubDate>", None),
        ("<pubDate>Mon, 20 May 2024 08:00:00 -0400</pubDate>", datetime(2024, 5, 20, 12, 0)),
        ("<dc:date>2024-05-20T14:00:00+02:00</dc:date>", datetime(2024, 5, 20, 12, 0)),
        ("<pubDate>2024-05-19</pubDate>", datetime(2024, 5, 19)),
        # Up to a day ahead is clock skew; further is a wrong date.
        ("<pubDate>Tue, 21 May 2024 11:00:00 GMT</pubDate>", datetime(2024, 5, 21, 11, 0)),
        ("<pubDate>Tue, 21 May 2024 13:00:00 GMT</pubDate>", None),
        ("<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>", None),
        (
            "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate><dc:date>2024-05-01</dc:date>",
            datetime(2024, 5, 1),
        ),
    ],
)
def test_dates_are_aware_utc_or_none(dates: str, expected: datetime | None) -> None:
    entry = only(parse(rss(f"<item><title>T</title><description>x</description>{dates}</item>")))
    assert entry.article.published_at == (expected and expected.replace(tzinfo=UTC))


# --- guids ---------------------------------------------------------------------------------


def test_duplicate_guids_keep_the_first_and_are_reported() -> None:
    items = (
        '<item><title>First</title><guid isPermaLink="false">same</guid>'
        "<description>x</description></item>"
        '<item><title>Other</title><guid isPermaLink="false">other</guid>'
        "<description>x</description></item>"
        '<item><title>Again</title><guid isPermaLink="false">same</guid>'
        "<description>y</description></item>"
        "<item><title>A</title><link>https://news.example/a?utm_source=x</link>"
        "<description>x</description></item>"
        "<item><title>B</title><link>https://news.example/a</link><description>x</description>"
        "</item>"
    )
    feed = parse(rss(items))
    assert [e.article.title for e in feed.entries] == ["First", "Other", "A"]
    assert feed.problems == [
        "entry 3: duplicate guid 'same'; kept the first",
        "entry 5: duplicate guid 'https://news.example/a'; kept the first",
    ]


def test_without_guid_or_link_the_guid_is_a_hash_of_title_and_summary() -> None:
    items = (
        "<item><title>Same</title><description>Text one.</description></item>"
        "<item><title>Same</title><description>Text two.</description></item>"
    )
    one, two = parse(rss(items)).entries
    assert one.guid == "sha256:" + hashlib.sha256(b"Same\nText one.").hexdigest()
    assert two.guid != one.guid
    assert parse(rss(items)).entries[0].guid == one.guid  # stable from poll to poll


def test_a_huge_guid_is_replaced_by_its_hash() -> None:
    guid = "g" * 2000
    xml = f'<item><title>T</title><guid isPermaLink="false">{guid}</guid></item>'
    entry = only(parse(rss(xml)))
    assert entry.guid == "sha256:" + hashlib.sha256(guid.encode()).hexdigest()


# --- encodings -----------------------------------------------------------------------------


def test_declared_and_undeclared_encodings() -> None:
    latin = rss("<item><title>Caf\u00e9 na\u00efve</title><guid>1</guid></item>")
    latin = latin.replace(b"utf-8", b"iso-8859-1").decode().encode("iso-8859-1")
    assert only(parse(latin)).article.title == "Caf\u00e9 na\u00efve"
    bare = b'<rss version="2.0"><channel><title>\xc3\x9cber</title><item><title>Gr\xc3\xbc\xc3\x9fe'
    bare += b"</title><guid>1</guid></item></channel></rss>"  # no declaration: UTF-8
    feed = parse(bare)
    assert (feed.title, only(feed).article.title) == ("\u00dcber", "Gr\u00fc\u00dfe")


# --- broken input --------------------------------------------------------------------------


def test_a_truncated_feed_keeps_its_readable_entries_and_says_so() -> None:
    whole = rss(
        "<item><title>Complete</title><guid>1</guid><description>Fine.</description></item>"
        "<item><title>Cut</title><guid>2</guid><description>Half a sent"
    )
    feed = parse(whole[: whole.index(b"Half a sent") + 11])
    assert [e.article.title for e in feed.entries][:1] == ["Complete"]
    assert feed.problems[0].startswith("the feed is not well-formed (")
    assert feed.problems[0].endswith("); read leniently")
    assert feed.kind == "feed"  # flawed, but a feed: /follow follows it, never searches it


def test_an_undefined_entity_keeps_the_entries_and_reports_it() -> None:
    feed = parse(rss("<item><title>Caf&eacute; opens</title><guid>1</guid></item>"))
    # A permalink guid that looks relative is resolved like a link (by feedparser).
    assert [e.guid for e in feed.entries] == ["https://news.example/feeds/1"]
    assert feed.problems == [
        "the feed is not well-formed (undefined entity at line 1); read leniently"
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not a feed: the response is empty"),
        (b"  \n\t ", "not a feed: the response is empty"),
        (
            b"<!DOCTYPE html><html><head><title>News</title>"
            b'<link rel="alternate" type="application/rss+xml" href="/feed"></head>'
            b"<body><h1>News</h1><p>Welcome</p></body></html>",
            "not a feed: it is an HTML page (the site's address rather than its feed's?)",
        ),
        (
            b"\xef\xbb\xbf\n<html><body><item><title>x</title></item></body></html>",
            "not a feed: it is an HTML page (the site's address rather than its feed's?)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff", "not a feed: not well-formed"),
        (b'{"items": [{"title": "json"}]}', "not a feed: "),
        (b"<?xml version='1.0'?><root><item>1</item></root>", "not a feed: no RSS or Atom"),
        (b"<rss version='2.0'><channel><title>Cut", "not a feed: "),
    ],
)
def test_what_is_not_a_feed_is_reported_without_entries(body: bytes, problem: str) -> None:
    feed = parse(body)
    assert (feed.title, feed.entries, feed.kind) == (None, [], "not_a_feed")
    assert len(feed.problems) == 1 and feed.problems[0].startswith(problem), feed.problems


def test_a_body_naming_a_local_file_is_never_opened(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(RDF)
    feed = parse(str(secret).encode())
    assert feed.entries == [] and feed.kind == "not_a_feed"
    assert feed.problems[0].startswith("not a feed:")


def test_an_empty_but_valid_feed_has_no_entries_and_no_problems() -> None:
    assert parse(rss("", title="Quiet")) == ParsedFeed(
        "Quiet", [], [], "https://news.example/", kind="feed"
    )


# --- the feed's own site ------------------------------------------------------------------


def atom_links(*links: str) -> bytes:
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:base="https://blog.example/notes/"><title>Notes</title>'
        f"{''.join(links)}</feed>"
    ).encode()


def test_the_site_is_the_rss_channel_link_or_the_atom_alternate_link() -> None:
    assert parse(RSS2).site_url == "https://news.example/"
    assert parse(ATOM).site_url is None  # only a rel="self" link: that is the feed itself
    alternate = atom_links(
        '<link rel="self" href="feed.atom"/>', '<link rel="alternate" type="text/html" href="./"/>'
    )
    assert parse(alternate).site_url == "https://blog.example/notes/"  # against xml:base
    assert parse(atom_links('<link href="/about"/>')).site_url == "https://blog.example/about"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "mailto:desk@news.example",
        "https://news.example/" + "p" * 2100,  # longer than the feeds table keeps: dropped
        "",
    ],
)
def test_a_site_link_that_is_no_web_address_or_too_long_is_not_kept(link: str) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>{link}</link></channel></rss>"
    ).encode()
    feed = parse(body)
    assert (feed.title, feed.site_url) == ("T", None)
