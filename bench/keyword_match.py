"""What matching an article against keyword subscriptions costs, next to the English-only matcher.

Usage: python -m bench.keyword_match [--articles 2000] [--subscriptions 10000]

Builds one ``SubscriptionIndex`` (services.alerts.matching) over N keyword subscriptions
(1-3 words each from wordfreq's English list, plus the multi-script set's words), then matches
synthetic English articles (bench/corpus.py, news-length bodies) and bench/multiscript.py's
articles, as the alert matcher does (title, then summary and body). The baseline, run in the
same process on the same articles, is the matcher before languages: the light English stem
of every article word looked up in a stem -> subscriptions table. The one-off cost of the
first article (py3langid's model, a Snowball stemmer, simplemma's Ukrainian dictionary) is
reported apart.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus as synthetic  # noqa: E402
from bench.multiscript import ARTICLES  # noqa: E402
from services.alerts.keywords import parse_keywords, stem  # noqa: E402
from services.alerts.matching import Recipient, SubscriptionIndex, SubscriptionRule  # noqa: E402
from storage.text import tokens, words  # noqa: E402

THEN = datetime(2026, 1, 1, tzinfo=UTC)
NOW = THEN + timedelta(days=1)


def english_only(rules: Sequence[SubscriptionRule]) -> Callable[[str, str], int]:
    """The matcher as it was (SubscriptionIndex.recipients before languages, less sources):
    English stems of the article against stems of the keywords, then each matched rule's
    checks and its recipient."""
    by_stem: dict[str, list[SubscriptionRule]] = {}
    for rule in rules:
        for word in {stem(w) for w in rule.include}:
            by_stem.setdefault(word, []).append(rule)

    def match(title: str, text: str) -> int:
        stems = frozenset(stem(t) for t in tokens(f"{title}\n{text}"))
        matched = {rule.id: rule for s in stems & by_stem.keys() for rule in by_stem[s]}
        found: dict[tuple[int, int], Recipient] = {}
        for rule in matched.values():
            if rule.since > NOW or not frozenset().issuperset(rule.source):
                continue
            found.setdefault((rule.chat_id, rule.topic), Recipient(rule.chat_id, rule.topic))
        return len(found)

    return match


def timed(match: Callable[[str, str], int], articles: Sequence[tuple[str, str]]) -> list[float]:
    spent = []
    for title, text in articles:
        started = time.perf_counter()
        match(title, text)
        spent.append((time.perf_counter() - started) * 1e6)
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    args = parser.parse_args()
    vocabulary = synthetic.Vocabulary.load()
    rng = random.Random(5)
    script_words = [w for a in ARTICLES for w in words(a.title)]
    rules = []
    for i in range(args.subscriptions):
        typed = " ".join(vocabulary.content_words(rng, rng.randint(1, 3)))
        if i % 10 == 0:
            typed += " " + rng.choice(script_words)
        rules.append(SubscriptionRule(i, i, 0, parse_keywords(typed).include, (), THEN))
    english = [
        (str(a["title"]), str(a["body"]))
        for a in synthetic.articles(vocabulary, args.articles, seed=3)
    ]
    scripts = [(a.title, a.body) for a in ARTICLES]

    index = SubscriptionIndex(rules)
    matcher = index._keywords  # the step that changed: which keywords an article holds
    started = time.perf_counter()
    for title, body in scripts:  # every language's first article: the one-off loads
        index.recipients(title, body, NOW)
    first_use = time.perf_counter() - started
    ours_en = timed(lambda t, b: len(index.recipients(t, b, NOW)), english)
    ours_scripts = timed(lambda t, b: len(index.recipients(t, b, NOW)), scripts * 20)
    keywords_en = timed(lambda t, b: len(matcher.found_in(t, b)), english)
    detect_en = timed(lambda t, b: len(matcher._languages.detect(t, b) or ""), english)
    baseline = english_only(rules)
    base_en = timed(baseline, english)
    base_scripts = timed(baseline, scripts * 20)

    chars = statistics.mean(len(t) + len(b) for t, b in english)
    print(
        f"{args.subscriptions} subscriptions; {len(english)} English articles "
        f"(mean {chars:.0f} chars), {len(scripts)} multi-script articles x 20"
    )
    print(f"first articles in each language (model and dictionary loads): {first_use:.2f} s")
    header = f"{'articles':<16}{'matcher':<24}{'mean us':>9}{'p50 us':>9}{'p99 us':>9}"
    print(header)
    print("-" * len(header))
    for label, ours, base in (
        ("English", ours_en, base_en),
        ("multi-script", ours_scripts, base_scripts),
    ):
        for name, spent in (("languages (newsbot)", ours), ("English-only (before)", base)):
            spent = sorted(spent)
            print(
                f"{label:<16}{name:<24}{statistics.mean(spent):>9.0f}"
                f"{statistics.median(spent):>9.0f}{spent[int(0.99 * (len(spent) - 1))]:>9.0f}"
            )
        print(
            f"{'':<16}{'ratio newsbot/before':<24}"
            f"{statistics.mean(ours) / statistics.mean(base):>9.2f}"
            f"{statistics.median(ours) / statistics.median(base):>9.2f}"
        )
    for name, spent in (("keywords found", keywords_en), ("of which language", detect_en)):
        spent = sorted(spent)
        print(
            f"{'English':<16}{name:<24}{statistics.mean(spent):>9.0f}"
            f"{statistics.median(spent):>9.0f}{spent[int(0.99 * (len(spent) - 1))]:>9.0f}"
        )
    matched = statistics.mean(len(index.recipients(t, b, NOW)) for t, b in english[:200])
    print(f"(recipients per English article: {matched:.0f} on average)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
