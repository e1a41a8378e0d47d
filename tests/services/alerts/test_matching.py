from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.alerts.matching import Recipient, SubscriptionIndex, SubscriptionRule

THEN = datetime(2026, 11, 1, tzinfo=UTC)
NOW = THEN + timedelta(days=1)


def rule(
    i: int, include: str = "", exclude: str = "", chat: int | None = None, topic: int = 0
) -> SubscriptionRule:
    return SubscriptionRule(
        i,
        chat if chat is not None else i,
        topic,
        tuple(include.split()),
        tuple(exclude.split()),
        THEN,
    )


def chats(found: list[Recipient]) -> set[int]:
    return {r.chat_id for r in found}


def test_any_keyword_matches_through_inflections() -> None:
    index = SubscriptionIndex([rule(1, "obama iran"), rule(2, "election"), rule(3, "football")])
    found = index.recipients("Elections in Iran", "Voters went to the polls.", NOW)
    assert chats(found) == {1, 2}


def test_exclusions_and_everything_subscriptions() -> None:
    index = SubscriptionIndex([rule(1, exclude="sport"), rule(2, "iran", "sports"), rule(3)])
    sport = index.recipients("Iran beat Qatar", "A sports match in Doha.", NOW)
    assert chats(sport) == {3}
    politics = index.recipients("Iran talks", "Diplomats met.", NOW)
    assert chats(politics) == {1, 2, 3}


def test_a_chat_and_topic_is_listed_once_even_with_several_matching_subscriptions() -> None:
    index = SubscriptionIndex(
        [rule(1, "iran", chat=9), rule(2, "nuclear", chat=9), rule(3, "iran", chat=9, topic=4)]
    )
    found = index.recipients("Iran nuclear deal", "", NOW)
    assert sorted((r.chat_id, r.topic) for r in found) == [(9, 0), (9, 4)]


def test_articles_stored_before_a_subscription_are_not_its_business() -> None:
    late = SubscriptionRule(1, 1, 0, (), (), NOW + timedelta(hours=1))
    assert SubscriptionIndex([late]).recipients("Anything", "", NOW) == []


def test_ten_thousand_keyword_subscriptions_match_correctly() -> None:
    rng = random.Random(5)
    words = [f"word{i}" for i in range(3000)]
    rules = [rule(i, " ".join(rng.sample(words, 3))) for i in range(10_000)]
    index = SubscriptionIndex(rules)
    article_words = set(rng.sample(words, 150))
    found = chats(index.recipients("Title", " ".join(sorted(article_words)), NOW))
    expected = {r.chat_id for r in rules if article_words & set(r.include)}
    assert found == expected and expected
