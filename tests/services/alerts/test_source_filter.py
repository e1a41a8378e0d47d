"""``source:NAME`` subscriptions: parsing and matching."""

from __future__ import annotations

from datetime import UTC, datetime

from services.alerts.matching import Recipient, SubscriptionIndex, SubscriptionRule
from services.alerts.subscriptions import split_source

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 2, 1, tzinfo=UTC)


def test_source_is_split_off_and_folded_as_search_folds_it() -> None:
    assert split_source("source:BBC iran -sport") == ("iran -sport", ("bbc",))
    assert split_source("iran Source:Reuters.com") == ("iran", ("reuters", "com"))
    assert split_source("iran obama") == ("iran obama", None)
    assert split_source("source: iran") == ("iran", ())  # named nothing: refused upstream


def rule(rule_id: int, include: tuple[str, ...], source: tuple[str, ...]) -> SubscriptionRule:
    return SubscriptionRule(rule_id, -rule_id, 0, include, (), SINCE, source)


def test_a_source_subscription_matches_only_articles_from_that_source() -> None:
    index = SubscriptionIndex(
        [rule(1, ("iran",), ("bbc",)), rule(2, (), ("bbc", "news")), rule(3, ("iran",), ())]
    )
    title, text = "Iran talks", "Talks resumed."
    assert set(index.recipients(title, text, LATER, "BBC News")) == {
        Recipient(-1, 0),
        Recipient(-2, 0),
        Recipient(-3, 0),
    }
    assert index.recipients(title, text, LATER, "BBC") == [Recipient(-1, 0), Recipient(-3, 0)]
    assert index.recipients(title, text, LATER, "Reuters") == [Recipient(-3, 0)]
    assert index.recipients(title, text, LATER, None) == [Recipient(-3, 0)]
    assert index.recipients("Weather", "Sunny.", LATER, "BBC") == []
