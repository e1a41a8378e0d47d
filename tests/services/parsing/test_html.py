"""HTML pages: metadata from the head, only the story's paragraphs in the body."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.parsing import RawArticle, Rejected, parse_file

STORY = [
    "The harbour board voted on Tuesday to rebuild the old lighthouse, ending a dispute "
    "that had split the town for more than a decade.",
    "Engineers said the granite tower, damaged in the winter storms of 2019, could be "
    "restored for roughly half the cost of a new steel beacon.",
    "\u201cIt is the first thing sailors see,\u201d said Mara Olsen, who chairs the board. "
    "\u201cWe could not let it fall into the sea.\u201d",
    "Work is expected to start in the spring and take eighteen months.",
]

NEWS_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Town votes to save lighthouse | The Coastal Gazette</title>
  <meta property="og:title"
        content="Town votes to save its lighthouse &amp; harbour wall | The Coastal Gazette">
  <meta property="og:site_name" content="The Coastal Gazette">
  <meta property="og:url" content="https://coastal.example/news/lighthouse?utm_source=fb">
  <meta property="og:description" content="  A long dispute   ends with a vote. ">
  <meta property="article:published_time" content="2024-05-14T09:30:00+02:00">
  <link rel="canonical" href="https://coastal.example/news/lighthouse">
  <style>p {{ color: red }}</style>
  <script>var tracking = "<p>not text</p>";</script>
  <script type="application/ld+json">
    {{"@type": "NewsArticle", "datePublished": "2020-01-01"}}</script>
</head>
<body>
  <div id="cookie-banner"><p>We use cookies to improve your experience on our website.</p>
    <button>Accept all</button></div>
  <header class="site-header"><a href="/">The Coastal Gazette</a>
    <nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
  </header>
  <div class="ad-slot leaderboard">
    <p>Advertisement: the best holiday cottages on the coast, book now.</p></div>
  <main>
    <article>
      <header><h1>Town votes to save its lighthouse</h1>
        <p class="byline">By Jo Reporter, harbour correspondent, 14 May 2024</p>
        <time datetime="2023-01-01T00:00:00Z">Old date</time></header>
      <div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
      <div class="article-body">
        <p>{STORY[0]}</p>
        <p>{STORY[1].replace("granite tower", "<em>granite</em>&nbsp;tower")}</p>
        <div class="promo-box">
          <p>Subscribe to our newsletter for daily updates from the coast!</p></div>
        <h2>What happens next</h2>
        <p>{STORY[2]}</p>
        <figure><img src="l.jpg">
          <figcaption>The lighthouse at dusk, photographed last year.</figcaption></figure>
        <p>{STORY[3]}</p>
        <p><a href="/news/pier">Read more: pier repairs delayed again by council</a></p>
      </div>
      <section class="related-articles"><h3>Related</h3><ul>
        <li><a href="/a">Harbour fees to rise next year, council confirms</a></li>
        <li><a href="/b">Storm damage bill tops two million pounds</a></li></ul></section>
      <div id="comments"><p>Great news, long overdue in my opinion, well done to everyone!</p></div>
      <ol class="commentlist"><li><p>Second comment saying much the same thing again.</p></li></ol>
    </article>
  </main>
  <aside class="sidebar"><h3>Most read</h3>
    <p>Some other story that is very popular this week, apparently.</p></aside>
  <div class="newsletter-signup">
    <form><p>Get the Gazette in your inbox every morning of the week.</p>
    <input type="email"></form></div>
  <footer><p>Copyright 2024 The Coastal Gazette. All rights reserved worldwide.</p></footer>
  <script>document.write("<p>late script paragraph</p>")</script>
</body>
</html>
"""


def _parse(tmp_path: Path, html: str, name: str = "page.html") -> RawArticle | Rejected:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    items = list(parse_file(path))
    assert len(items) == 1
    return items[0]


def test_news_page_keeps_only_the_story(tmp_path: Path) -> None:
    article = _parse(tmp_path, NEWS_PAGE)

    assert isinstance(article, RawArticle)
    paragraphs = article.body.split("\n\n")
    assert paragraphs == [STORY[0], STORY[1], "What happens next", STORY[2], STORY[3]]


def test_news_page_metadata(tmp_path: Path) -> None:
    article = _parse(tmp_path, NEWS_PAGE)

    assert isinstance(article, RawArticle)
    # og:title wins over <title>; the " | site name" suffix goes, the entity is decoded.
    assert article.title == "Town votes to save its lighthouse & harbour wall"
    assert article.url == "https://coastal.example/news/lighthouse"  # canonical before og:url
    assert article.source == "The Coastal Gazette"
    assert article.published_at == datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
    assert article.summary == "A long dispute ends with a vote."
    assert article.external_id is None


LONG = [
    "The museum reopened its east wing on Saturday after a three-year renovation, "
    "with new galleries for maps, clocks and ship models.",
    "Curators said attendance on the first day was double their forecast, "
    "and queues stretched along the river path until the evening.",
    "The wing had been closed since a roof leak damaged part of the collection, "
    "most of which has now been restored.",
]


def test_page_without_article_tag_uses_the_densest_block(tmp_path: Path) -> None:
    story = "".join(f"<p>{text}</p>" for text in LONG)
    page = f"""<html><head><title>Museum wing reopens</title></head><body>
      <div class="wrap">
        <div class="col-left">
          <p><a href="/1">Five things to do this weekend in the old town</a></p>
          <p><a href="/2">Council announces new cycle lanes for the ring road</a></p>
          <p>Short teaser.</p>
        </div>
        <div class="col-mid"><div class="x1">{story}</div></div>
        <div class="col-right"><p>Weather: sunny spells with a light breeze from the west.</p></div>
      </div></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.title == "Museum wing reopens"
    assert article.body == "\n\n".join(LONG)


def test_small_teaser_article_loses_to_a_denser_story_block(tmp_path: Path) -> None:
    story = "".join(f"<p>{text}</p>" for text in LONG)
    page = f"""<html><head><title>Museum</title></head><body>
      <div id="story">{story}</div>
      <article class="card"><p>Elsewhere: a short teaser for another piece.</p></article>
      </body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == "\n\n".join(LONG)


def test_content_class_with_a_boilerplate_word_is_kept(tmp_path: Path) -> None:
    page = f"""<html><head><title>Museum</title></head><body><article>
      <div class="article-body has-related-links"><p>{LONG[0]}</p><p>{LONG[1]}</p></div>
      <div class="article-related">
        <p><a href="/r">Another museum story that you may like</a></p></div>
      </article></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == f"{LONG[0]}\n\n{LONG[1]}"


def test_item_prop_article_body_and_list_items(tmp_path: Path) -> None:
    page = f"""<html><head><title>Museum</title></head><body>
      <div itemprop="articleBody"><p>{LONG[0]}</p>
        <ul><li>Maps from the <b>1700s</b></li><li><p>Clocks</p><p>and watches</p></li></ul>
      </div><div><p>{LONG[1]}</p><p>{LONG[2]}</p></div></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body.split("\n\n") == [LONG[0], "Maps from the 1700s", "Clocks", "and watches"]


def test_hidden_elements_are_dropped(tmp_path: Path) -> None:
    page = f"""<html><head><title>Museum</title></head><body><article>
      <p>{LONG[0]}</p>
      <p hidden>Hidden paragraph that should never be shown to anyone.</p>
      <p style="display: none">Invisible paragraph kept for screen scrapers.</p>
      <p aria-hidden="true">Decorative paragraph that assistive tech skips.</p>
      </article></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == LONG[0]


def test_text_without_paragraph_markup_is_split_at_line_breaks(tmp_path: Path) -> None:
    page = f"<html><head><title>Museum</title></head><body><div>{LONG[0]}<br><br>{LONG[1]}</div>"

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == f"{LONG[0]}\n\n{LONG[1]}"


@pytest.mark.parametrize(
    ("head", "body_start", "expected"),
    [
        # No og:title: the article's <h1> comes before <title>.
        (
            "<title>Site title</title>",
            "<article><h1>Museum  wing\nreopens</h1>",
            "Museum wing reopens",
        ),
        # " - Site" suffix stripped only when it is the og:site_name.
        (
            '<meta property="og:site_name" content="City Post">'
            "<title>Museum reopens - City Post</title>",
            "<article>",
            "Museum reopens",
        ),
        (
            '<meta property="og:site_name" content="City Post">'
            "<title>City Post | Museum reopens</title>",
            "<article>",
            "Museum reopens",
        ),
        (
            "<title>Museum reopens - Other Paper</title>",
            "<article>",
            "Museum reopens - Other Paper",
        ),
        # Case-insensitive, even where case folding changes lengths ("\u00df" -> "ss").
        (
            '<meta property="og:site_name" content="Die Stra\u00dfe">'
            "<title>Museum reopens \u2014 DIE STRA\u00dfE</title>",
            "<article>",
            "Museum reopens",
        ),
        (
            '<meta property="og:site_name" content="Die Strasse">'
            "<title>Museum reopens \u2014 Die Stra\u00dfe</title>",
            "<article>",
            "Museum reopens \u2014 Die Stra\u00dfe",
        ),
        # RDFa: several names in one property attribute.
        (
            '<meta property="twitter:title og:title" content="Both names">',
            "<article>",
            "Both names",
        ),
        # Tags in text are text: the entity-escaped "<b>" stays literal.
        ("<title>Museum &lt;b&gt;reopens&lt;/b&gt;</title>", "<article>", "Museum <b>reopens</b>"),
        # JSON-LD headline when there is no title tag and no heading.
        (
            '<script type="application/ld+json">[{"@graph": [{"headline": "From LD"}]}]</script>',
            "<article>",
            "From LD",
        ),
    ],
)
def test_title_sources(tmp_path: Path, head: str, body_start: str, expected: str) -> None:
    page = f"<html><head>{head}</head><body>{body_start}<p>{LONG[0]}</p></article></body></html>"

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.title == expected
    assert article.body == LONG[0]


@pytest.mark.parametrize(
    ("head", "body_extra", "expected"),
    [
        ("", '<time datetime="2024-02-03">3 Feb</time>', datetime(2024, 2, 3, tzinfo=UTC)),
        # The article's own <time> beats one in the page chrome that comes first.
        (
            "",
            '</article><div class="clock"><time datetime="2031-01-01">now</time></div><article>'
            '<time datetime="2024-02-03T05:00:00-05:00">3 Feb</time>',
            datetime(2024, 2, 3, 10, tzinfo=UTC),
        ),
        (
            '<script type="application/ld+json">{"@graph": [{"@type": "WebPage"}, '
            '{"@type": "NewsArticle", "datePublished": "2024-02-03T10:00:00Z"}]}</script>',
            "",
            datetime(2024, 2, 3, 10, tzinfo=UTC),
        ),
        ('<script type="application/ld+json">{not json</script>', "", None),
        ('<meta property="article:published_time" content="soon">', "", None),
    ],
)
def test_published_sources(
    tmp_path: Path, head: str, body_extra: str, expected: datetime | None
) -> None:
    page = f"<html><head><title>T</title>{head}</head><body><article>{body_extra}<p>{LONG[0]}</p>"

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.published_at == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<link rel="canonical" href="/relative/path"><meta property="og:url" content="https://x.example/a">',
            "https://x.example/a",
        ),
        ('<link rel="Canonical Alternate" href="https://x.example/c">', "https://x.example/c"),
        ('<link rel="canonical" href="javascript:alert(1)">', None),
        ("", None),
    ],
)
def test_url_sources(tmp_path: Path, head: str, expected: str | None) -> None:
    page = f"<html><head><title>T</title>{head}</head><body><p>{LONG[0]}</p></body></html>"

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.url == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty file"),
        ("   \n  ", "empty file"),
        ("<!-- nothing but a comment -->", "not an HTML page"),
        (
            "<html><head><title>Links</title></head><body>"
            "<p><a href='/a'>Only links to other stories live on this page</a></p>",
            "no article text",
        ),
        (
            "<html><head><title>Only chrome</title></head><body><nav><p>Home and news</p></nav>",
            "no article text",
        ),
        (
            "<html><body><p>A paragraph with no title anywhere on the page at all.</p>",
            "no title",
        ),
    ],
)
def test_pages_without_an_article_are_rejected(tmp_path: Path, content: str, reason: str) -> None:
    result = _parse(tmp_path, content, "bad.htm")

    assert isinstance(result, Rejected)
    assert result.location == str(tmp_path / "bad.htm")
    assert reason in result.reason


def test_windows_1252_page_with_declared_charset(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Caf\u00e9 \u201cprices\u201d rise</title></head>"
        "<body><p>The caf\u00e9 on the corner raised its prices by \u20ac1 this week.</p>"
    )
    path = tmp_path / "legacy.html"
    path.write_bytes(page.encode("cp1252"))

    [article] = parse_file(path)

    assert isinstance(article, RawArticle)
    assert article.title == "Caf\u00e9 \u201cprices\u201d rise"
    assert "\u20ac1" in article.body


def test_utf8_page_mislabelled_as_latin1_is_read_as_utf8(tmp_path: Path) -> None:
    page = (
        '<?xml version="1.0" encoding="iso-8859-1"?><html><head><meta charset="iso-8859-1">'
        "<title>Z\u00fcrich \u2014 \u6771\u4eac</title></head>"
        f"<body><p>{LONG[0]}</p></body></html>"
    )
    path = tmp_path / "mislabelled.html"
    path.write_bytes(page.encode("utf-8"))

    [article] = parse_file(path)

    assert isinstance(article, RawArticle)
    assert article.title == "Z\u00fcrich \u2014 \u6771\u4eac"


def test_layout_wrapper_named_after_its_sidebar_is_kept(tmp_path: Path) -> None:
    story = "".join(f"<p>{text}</p>" for text in LONG)
    page = f"""<html><head><title>Museum</title></head><body>
      <div class="layout two-col-with-sidebar">
        <div class="col">{story}</div>
        <div class="sidebar"><p>Sidebar text that is long enough to be scored as prose.</p></div>
      </div></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == "\n\n".join(LONG)


def test_gallery_captions_inside_the_article_are_dropped(tmp_path: Path) -> None:
    captions = "".join(
        f"<li>Photo {i}: visitors admire the restored ship models in the new east wing.</li>"
        for i in range(30)
    )
    page = f"""<html><head><title>Museum</title></head><body><article>
      <p>{LONG[0]}</p><div class="photo-gallery"><ul>{captions}</ul></div><p>{LONG[1]}</p>
      </article></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == f"{LONG[0]}\n\n{LONG[1]}"


def test_story_split_over_sections_is_kept_whole(tmp_path: Path) -> None:
    texts = [*LONG, "The east wing will stay open late on Fridays, the museum said, until autumn."]
    sections = "".join(
        f"<section class='part'><div class='inner'><h2>Part {i}</h2><p>{text}</p></div></section>"
        for i, text in enumerate(texts, 1)
    )
    page = f"""<html><head><title>Museum</title></head><body>
      <div class="teasers"><p><a href="/x">A teaser link to another story on the site</a></p></div>
      <div class="story">{sections}</div></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    expected = [paragraph for i, text in enumerate(texts, 1) for paragraph in (f"Part {i}", text)]
    assert article.body.split("\n\n") == expected


def test_divs_of_text_with_double_line_breaks_become_paragraphs(tmp_path: Path) -> None:
    page = f"""<html><head><title>Museum</title></head><body><article>
      <h1>Museum</h1>
      <div>{LONG[0]}<br><br>{LONG[1]}</div>
      <div>{LONG[2]}<br>with a single break inside.</div>
      </article></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body.split("\n\n") == [
        LONG[0],
        LONG[1],
        f"{LONG[2]} with a single break inside.",
    ]


def test_preformatted_text_keeps_its_paragraphs(tmp_path: Path) -> None:
    page = f"""<html><head><title>Notice</title></head><body>
      <pre>{LONG[0]}\n  continued on a second line.\n\n{LONG[1]}</pre></body></html>"""

    article = _parse(tmp_path, page)

    assert isinstance(article, RawArticle)
    assert article.body == f"{LONG[0]} continued on a second line.\n\n{LONG[1]}"
