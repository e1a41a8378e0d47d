"""A synthetic news-like corpus and typo'd queries with known targets, for benchmarks.

Words are drawn from wordfreq's large English list (about 290,000 alphabetic words) with
their real Zipf frequencies, plus invented names and numbers, so term statistics look like
news: a few very common words, a long tail of rare ones. Deterministic for a given seed.

Usage: python -m bench.corpus N OUT.jsonl [--queries Q.jsonl --query-count 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

_STOPWORD_TEXT = (
    "the to and of a in i is for that you it on with was as be at this have are by not"
    " but from or he his they we an will my all has had were their there what so if about"
    " which when can one out up no more been would who its she her our do said"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
TYPO_KINDS = ("dropped", "doubled", "swapped", "neighbour")
QUERY_KINDS = ("title_typo", "title_clean", "body_keywords")


def _neighbours() -> dict[str, str]:
    near: dict[str, str] = {}
    for r, row in enumerate(KEYBOARD_ROWS):
        for c, key in enumerate(row):
            keys = [row[c - 1] if c else "", row[c + 1] if c + 1 < len(row) else ""]
            for other in (r - 1, r + 1):
                if 0 <= other < len(KEYBOARD_ROWS) and c < len(KEYBOARD_ROWS[other]):
                    keys.append(KEYBOARD_ROWS[other][c])
            near[key] = "".join(keys)
    return near


NEIGHBOURS = _neighbours()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    words: list[str]
    cumulative: list[float]
    names: list[str]

    @classmethod
    def load(cls, size: int = 300_000, seed: int = 7) -> Vocabulary:
        import wordfreq

        rng = random.Random(seed)
        words = [
            w
            for w in wordfreq.top_n_list("en", size, wordlist="large")
            if w.isalpha() and w.isascii()
        ]
        weights = [wordfreq.word_frequency(w, "en", wordlist="large") or 1e-9 for w in words]
        syllables = [
            "ka",
            "lo",
            "mir",
            "an",
            "de",
            "vo",
            "tsu",
            "ra",
            "bel",
            "on",
            "grü",
            "zy",
            "ne",
            "sha",
        ]
        names = sorted(
            {
                "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
                for _ in range(40_000)
            }
        )
        return cls(words, list(accumulate(weights)), names)

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)

    def content_words(self, rng: random.Random, k: int) -> list[str]:
        found: list[str] = []
        while len(found) < k:
            found.extend(w for w in self.sample(rng, k * 2) if w not in STOPWORDS and len(w) > 2)
        return found[:k]


def articles(vocabulary: Vocabulary, count: int, seed: int = 11) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(count):
        title_words = vocabulary.content_words(rng, rng.randint(4, 8))
        if rng.random() < 0.5:
            title_words.insert(rng.randrange(len(title_words)), rng.choice(vocabulary.names))
        if rng.random() < 0.2:
            title_words.append(str(rng.randint(2, 999)) + rng.choice(["", "m", "bn", "%"]))
        paragraphs = []
        for _ in range(rng.randint(3, 6)):
            sentences = []
            for _ in range(rng.randint(2, 4)):
                words = vocabulary.sample(rng, rng.randint(8, 22))
                if rng.random() < 0.3:
                    words.insert(rng.randrange(len(words)), rng.choice(vocabulary.names))
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append(" ".join(sentences))
        yield {
            "id": f"syn-{i:07d}",
            "title": " ".join(title_words).capitalize(),
            "body": "\n\n".join(paragraphs),
            "source": rng.choice(
                ["Daily Wire Service", "Metro Herald", "Coastal Times", "Capital Post"]
            ),
            "published": (start + timedelta(minutes=i * 3)).isoformat(),
        }


def typo(word: str, rng: random.Random, kind: str) -> str:
    """One typo of the given kind (words too short for it come back unchanged)."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    if kind == "dropped":
        return word[:i] + word[i + 1 :]
    if kind == "doubled":
        return word[:i] + word[i] + word[i:]
    if kind == "swapped":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    near = NEIGHBOURS.get(word[i].lower(), "")
    return word[:i] + rng.choice(near) + word[i + 1 :] if near else word


def queries(
    corpus: list[dict[str, object]], count: int, seed: int = 13
) -> Iterator[dict[str, object]]:
    """Queries of three kinds with the article they should find."""
    rng = random.Random(seed)
    for q in range(count):
        target = rng.choice(corpus)
        kind = QUERY_KINDS[q % len(QUERY_KINDS)]
        title = [w.lower() for w in str(target["title"]).split() if w.lower() not in STOPWORDS]
        if kind == "body_keywords":
            body_words = {w.strip(".,").lower() for w in str(target["body"]).split()}
            rare = sorted(body_words - set(title) - STOPWORDS, key=lambda w: (len(w), w))[-12:]
            words = rng.sample(rare, min(3, len(rare)))
            yield {
                "qid": f"s{q}",
                "type": kind,
                "query": " ".join(words),
                "relevant_ids": [target["id"]],
            }
            continue
        words = rng.sample(title, min(len(title), rng.randint(2, 4)))
        clean = " ".join(words)
        if kind == "title_typo":
            for _ in range(rng.randint(1, 2)):
                j = rng.randrange(len(words))
                words[j] = typo(words[j], rng, rng.choice(TYPO_KINDS))
            if rng.random() < 0.3:
                rng.shuffle(words)
            if rng.random() < 0.2 and len(words[-1]) > 5:
                words[-1] = words[-1][: rng.randint(3, len(words[-1]) - 2)]  # unfinished
        yield {
            "qid": f"s{q}",
            "type": kind,
            "query": " ".join(words),
            "clean_query": clean,
            "relevant_ids": [target["id"]],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description="write a synthetic corpus as JSON Lines")
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--query-count", type=int, default=999)
    args = parser.parse_args()
    vocabulary = Vocabulary.load()
    kept: list[dict[str, object]] = []
    with args.out.open("w") as out:
        for i, article in enumerate(articles(vocabulary, args.count)):
            out.write(json.dumps(article) + "\n")
            if args.queries and i % max(1, args.count // 20_000) == 0:
                kept.append(article)
    if args.queries:
        with args.queries.open("w") as out:
            for query in queries(kept, args.query_count):
                out.write(json.dumps(query) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
