"""Which subscriptions a new article matches: an inverted index from stems to subscriptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.alerts.keywords import stem, stems_of
from storage.text import tokens


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    id: int
    chat_id: int
    topic: int
    include: tuple[str, ...]  # folded words (already corrected at subscribe time)
    exclude: tuple[str, ...]
    since: datetime  # articles stored before the subscription are not its business
    source: tuple[str, ...] = ()  # folded words the article's source must all have


@dataclass(frozen=True, slots=True)
class Recipient:
    chat_id: int
    topic: int


class SubscriptionIndex:
    """Built once per set of subscriptions; matching an article is a few set look-ups."""

    def __init__(self, rules: Iterable[SubscriptionRule]) -> None:
        self._by_stem: dict[str, list[SubscriptionRule]] = defaultdict(list)
        self._everything: list[SubscriptionRule] = []
        self._excluded: dict[int, frozenset[str]] = {}
        self.size = 0
        for rule in rules:
            self.size += 1
            if rule.exclude:
                self._excluded[rule.id] = frozenset(stem(word) for word in rule.exclude)
            if not rule.include:
                self._everything.append(rule)
            for word_stem in {stem(word) for word in rule.include}:
                self._by_stem[word_stem].append(rule)

    def recipients(
        self, title: str, text: str, stored_at: datetime, source: str | None = None
    ) -> list[Recipient]:
        """Every (chat, topic) whose subscriptions match the article, each once."""
        article_stems = stems_of(f"{title}\n{text}")
        source_words = frozenset(tokens(source or ""))
        matched: dict[int, SubscriptionRule] = {rule.id: rule for rule in self._everything}
        for word_stem in article_stems & self._by_stem.keys():
            for rule in self._by_stem[word_stem]:
                matched[rule.id] = rule
        found: dict[tuple[int, int], Recipient] = {}
        for rule in matched.values():
            if rule.since > stored_at or not source_words.issuperset(rule.source):
                continue
            excluded = self._excluded.get(rule.id)
            if excluded and not excluded.isdisjoint(article_stems):
                continue
            found.setdefault((rule.chat_id, rule.topic), Recipient(rule.chat_id, rule.topic))
        return list(found.values())
