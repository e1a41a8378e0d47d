"""/follow's renderers: valid Telegram HTML of at most 4096 characters, buttons under 64 bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.render_alerts import parse_unsubscribe_callback, render_channels, render_subscriptions
from handlers.render_follow import (
    choice_keyboard,
    parse_choice_callback,
    parse_follow_id,
    parse_unfollow_callback,
    render_followed,
    render_refusal,
    render_unfollowed,
)
from services.alerts.channels import ManagedChat
from services.feeds.discover import FeedCandidate
from services.feeds.follow import FollowedFeed, FollowResult, FollowStatus, Refusal
from tests.fuzz.strategies import (
    assert_valid_callback_data,
    assert_valid_message,
    long_text,
    odd_text,
)
from tests.fuzz.test_render_fuzz import prefs, subscription_views

ids = st.integers(min_value=1, max_value=10**18 - 1)
texts = st.one_of(odd_text, long_text)
follows = st.builds(
    FollowedFeed,
    id=ids,
    feed_id=ids,
    url=texts,
    title=st.one_of(st.none(), texts),
    topic=st.integers(min_value=0, max_value=2**31),
    query=odd_text,
    include=st.lists(st.one_of(odd_text.filter(bool), long_text), max_size=20).map(tuple),
    exclude=st.lists(st.one_of(odd_text.filter(bool), long_text), max_size=20).map(tuple),
    active=st.booleans(),
)
candidates = st.builds(FeedCandidate, url=texts, title=st.one_of(st.none(), texts))
results = st.one_of(
    st.builds(
        FollowResult,
        status=st.sampled_from([FollowStatus.ADDED, FollowStatus.ALREADY]),
        followed=follows,
    ),
    st.builds(FollowResult, status=st.just(FollowStatus.LIMIT), limit=st.integers(1, 1000)),
    st.builds(
        FollowResult,
        status=st.just(FollowStatus.REFUSED),
        refusal=st.sampled_from(list(Refusal)),
        detail=st.one_of(st.none(), texts),
    ),
    st.builds(
        FollowResult,
        status=st.just(FollowStatus.CHOOSE),
        candidates=st.lists(candidates, min_size=2, max_size=8).map(tuple),
        choice_id=ids,
    ),
)
wheres = st.one_of(st.just("this chat"), texts.map(lambda t: f"<b>{t[:300]}</b>"))


@given(results, st.sampled_from(["this chat", "<b>World &lt;News&gt;</b>"]), odd_text)
def test_every_follow_answer(result: FollowResult, where: str, handle: str) -> None:
    text, keyboard = render_followed(result, where=where, handle=handle)
    assert_valid_message(text)
    for row in keyboard.inline_keyboard if keyboard else ():
        for button in row:
            assert isinstance(button.callback_data, str)
            assert_valid_callback_data(button.callback_data)
            assert parse_choice_callback(button.callback_data) is not None


@given(st.lists(subscription_views, max_size=60), st.lists(follows, max_size=30), prefs)
def test_the_subscription_list_with_followed_feeds(
    subscriptions: list[object], followed: list[FollowedFeed], chat: object
) -> None:
    text, keyboard = render_subscriptions(subscriptions, chat, follows=followed)  # type: ignore[arg-type]
    assert_valid_message(text)
    for row in keyboard.inline_keyboard if keyboard else ():
        for button in row:
            assert isinstance(button.callback_data, str)
            assert_valid_callback_data(button.callback_data)
            data = button.callback_data
            assert (parse_unsubscribe_callback(data) is None) != (
                parse_unfollow_callback(data) is None
            )


@given(st.lists(follows, max_size=30))
def test_channels_with_followed_feeds(followed: list[FollowedFeed]) -> None:
    chat = ManagedChat(-1001, "channel", "News", "news", True, None, (), tuple(followed))
    assert_valid_message(render_channels([chat]))


@given(st.integers(min_value=0, max_value=5), odd_text)
def test_unfollow_and_refusal_answers(removed: int, detail: str) -> None:
    assert_valid_message(render_unfollowed(removed, "this chat", "@news "))
    for refusal in Refusal:
        assert_valid_message(render_refusal(refusal, detail))


@given(ids, st.lists(candidates, min_size=1, max_size=8))
def test_choice_buttons_round_trip(choice_id: int, offered: list[FeedCandidate]) -> None:
    keyboard = choice_keyboard(choice_id, offered)
    for index, (button,) in enumerate(keyboard.inline_keyboard):
        assert isinstance(button.callback_data, str)
        assert_valid_callback_data(button.callback_data)
        assert parse_choice_callback(button.callback_data) == (choice_id, index)


@given(st.text(max_size=100))
def test_forged_follow_data_is_refused_or_read_without_error(data: str) -> None:
    choice = parse_choice_callback(data)
    assert choice is None or (choice[0] >= 0 and 0 <= choice[1] <= 99)
    unfollow = parse_unfollow_callback(data)
    assert unfollow is None or unfollow >= 0
    follow_id = parse_follow_id(data)
    assert follow_id is None or follow_id >= 0
