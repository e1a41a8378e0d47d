"""Which subscriptions a new article matches: an inverted index from keywords to subscriptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.alerts.languages import KeywordMatcher, Languages
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

    def __init__(
        self, rules: Iterable[SubscriptionRule], languages: Languages | None = None
    ) -> None:
        self._by_word: dict[str, list[SubscriptionRule]] = defaultdict(list)
        self._everything: list[SubscriptionRule] = []
        self._excluded: dict[int, frozenset[str]] = {}
        self.size = 0
        for rule in rules:
            self.size += 1
            if rule.exclude:
                self._excluded[rule.id] = frozenset(rule.exclude)
            if not rule.include:
                self._everything.append(rule)
            for word in dict.fromkeys(rule.include):
                self._by_word[word].append(rule)
        excluded = (word for words in self._excluded.values() for word in words)
        # Inflections are matched in the article's language (services.alerts.languages).
        self._keywords = KeywordMatcher([*self._by_word, *excluded], languages)

    def recipients(
        self, title: str, text: str, stored_at: datetime, source: str | None = None
    ) -> list[Recipient]:
        """Every (chat, topic) whose subscriptions match the article, each once."""
        article_words = self._keywords.found_in(title, text)
        source_words = frozenset(tokens(source or ""))
        matched: dict[int, SubscriptionRule] = {rule.id: rule for rule in self._everything}
        for word in article_words & self._by_word.keys():
            for rule in self._by_word[word]:
                matched[rule.id] = rule
        found: dict[tuple[int, int], Recipient] = {}
        for rule in matched.values():
            if rule.since > stored_at or not source_words.issuperset(rule.source):
                continue
            excluded = self._excluded.get(rule.id)
            if excluded and not excluded.isdisjoint(article_words):
                continue
            found.setdefault((rule.chat_id, rule.topic), Recipient(rule.chat_id, rule.topic))
        return list(found.values())
