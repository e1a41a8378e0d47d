"""Every message the renderers make is valid Telegram HTML of at most 4096 characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.fallback import render_unknown_command
from handlers.render import (
    page_callback,
    parse_page_callback,
    render_article,
    render_help,
    render_latest,
    render_no_results,
    render_results,
)
from handlers.render_alerts import (
    parse_unsubscribe_callback,
    render_alert,
    render_digest,
    render_settings,
    render_subscribed,
    render_subscriptions,
)
from services.alerts.schedule import DIGEST_MODES, DeliveryPrefs
from services.alerts.subscriptions import SubscribeResult, SubscriptionView
from services.query import parse_query
from services.search import SearchHit, SearchPage
from tests.fuzz.strategies import (
    article_views,
    assert_valid_callback_data,
    assert_valid_message,
    odd_text,
    words,
)

USERNAME = "newsbot_test_bot"
ids = st.integers(min_value=1, max_value=2**63 - 1)


@given(article_views())
def test_an_article_card_and_its_alert(article: object) -> None:
    assert_valid_message(render_article(article, USERNAME))  # type: ignore[arg-type]
    assert_valid_message(render_alert(article, USERNAME))  # type: ignore[arg-type]


@given(
    query=words,
    articles=st.lists(article_views(), min_size=1, max_size=5),
    offset=st.integers(min_value=0, max_value=995),
    has_more=st.booleans(),
    session_id=st.one_of(st.none(), ids),
)
def test_a_page_of_results(
    query: str, articles: list[object], offset: int, has_more: bool, session_id: int | None
) -> None:
    hits = tuple(SearchHit(a, 1.0) for a in articles)  # type: ignore[arg-type]
    page = SearchPage(parse_query(query), hits, offset, has_more)
    rendered = render_results(page, USERNAME, session_id)
    assert_valid_message(rendered.text)
    for row in rendered.keyboard.inline_keyboard if rendered.keyboard else ():
        for button in row:
            assert isinstance(button.callback_data, str)
            assert_valid_callback_data(button.callback_data)
            assert parse_page_callback(button.callback_data) is not None


@given(words)
def test_no_results(query: str) -> None:
    assert_valid_message(render_no_results(parse_query(query).text))


@given(st.lists(article_views(), max_size=20))
def test_latest(articles: list[object]) -> None:
    assert_valid_message(render_latest(articles, USERNAME))  # type: ignore[arg-type]


@given(st.lists(article_views(), min_size=1, max_size=60), st.sampled_from(DIGEST_MODES))
def test_a_digest(articles: list[object], digest: str) -> None:
    assert_valid_message(render_digest(articles, digest, USERNAME))  # type: ignore[arg-type]


subscription_views = st.builds(
    SubscriptionView,
    id=ids,
    topic=st.integers(min_value=0, max_value=2**31),
    query=odd_text,
    include=st.lists(odd_text.filter(bool), max_size=20).map(tuple),
    exclude=st.lists(odd_text.filter(bool), max_size=20).map(tuple),
)
prefs = st.builds(
    DeliveryPrefs,
    digest=st.sampled_from(DIGEST_MODES),
    quiet_start=st.one_of(st.none(), st.integers(0, 1439)),
    quiet_end=st.one_of(st.none(), st.integers(0, 1439)),
    timezone=odd_text,
)


@given(st.lists(subscription_views, max_size=60), prefs)
def test_the_subscription_list(subscriptions: list[SubscriptionView], chat: DeliveryPrefs) -> None:
    text, keyboard = render_subscriptions(subscriptions, chat)
    assert_valid_message(text)
    for row in keyboard.inline_keyboard if keyboard else ():
        for button in row:
            assert isinstance(button.callback_data, str)
            assert_valid_callback_data(button.callback_data)
            assert parse_unsubscribe_callback(button.callback_data) is not None
    assert_valid_message(render_settings(chat))


@given(
    st.one_of(
        st.builds(
            SubscribeResult,
            subscription=subscription_views,
            corrections=st.lists(st.tuples(odd_text, odd_text), max_size=20).map(tuple),
        ),
        st.builds(SubscribeResult, subscription=st.none(), refusal=st.one_of(st.none(), odd_text)),
    )
)
def test_the_subscribe_answer(result: SubscribeResult) -> None:
    assert_valid_message(render_subscribed(result))


@given(odd_text, st.one_of(st.none(), st.sampled_from(["search", "latest"])))
def test_the_unknown_command_answer(name: str, suggestion: str | None) -> None:
    assert_valid_message(render_unknown_command(name, suggestion))


@given(st.from_regex(r"[A-Za-z0-9_]{5,32}", fullmatch=True))
def test_help(username: str) -> None:
    assert_valid_message(render_help(username))


@given(ids, st.integers(min_value=0, max_value=9999))
def test_page_buttons_round_trip(session_id: int, offset: int) -> None:
    data = page_callback(session_id, offset)
    assert_valid_callback_data(data)
    assert parse_page_callback(data) == (session_id, offset)


@given(st.text(max_size=100))
def test_forged_callback_data_is_refused_or_read_without_error(data: str) -> None:
    page = parse_page_callback(data)
    assert page is None or (page[0] >= 0 and 0 <= page[1] <= 9999)
    unsubscribe = parse_unsubscribe_callback(data)
    assert unsubscribe is None or unsubscribe >= 0
