"""A synthetic news-like corpus and typo'd queries with known targets, for benchmarks.

Words are drawn from wordfreq's large English list (about 290,000 alphabetic words) with
their real Zipf frequencies, plus invented names and numbers, so term statistics look like
news: a few very common words, a long tail of rare ones. Deterministic for a given seed, and
the first N articles of a larger corpus are the corpus of N articles.

Queries have known targets. Title queries are 2-4 words of the target's title that appear
together in no other title (a query several titles answer equally has no right answer),
then changed in one way per kind: 1-2 typos of one kind (dropped, doubled, swapped or
neighbouring-key letter), shuffled word order, an unfinished last word, or all of these at
once (``typo_mixed``). Typos go to words of 4+ letters (a 3-letter word with a typo is
mostly another word), and one word takes two only from 7 letters, as the index allows.
Body queries are 3 of the 12 longest body words that are not in the title.

Usage: python -m bench.corpus N OUT.jsonl [--queries Q.jsonl --query-count 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Iterator, Sequence
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
TITLE_KINDS = (
    *(f"typo_{kind}" for kind in TYPO_KINDS),
    "title_shuffled",
    "title_unfinished",
    "typo_mixed",
)
QUERY_KINDS = (*TITLE_KINDS, "body_keywords")
MIN_TYPO_LETTERS = 4
TWO_TYPO_LETTERS = 7
MIN_PREFIX_LETTERS = 4


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
    """One typo of the given kind; the word comes back unchanged when it cannot take one."""
    if kind == "dropped" and len(word) > 1:
        i = rng.randrange(len(word))
        return word[:i] + word[i + 1 :]
    if kind == "doubled" and word:
        i = rng.randrange(len(word))
        return word[:i] + word[i] + word[i:]
    if kind == "swapped":
        spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
        if spots:
            i = rng.choice(spots)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "neighbour":
        spots = [i for i, letter in enumerate(word) if letter in NEIGHBOURS]
        if spots:
            i = rng.choice(spots)
            return word[:i] + rng.choice(NEIGHBOURS[word[i]]) + word[i + 1 :]
    return word


def _typoable(word: str) -> bool:
    return len(word) >= MIN_TYPO_LETTERS and word.isalnum()


def _add_typos(words: list[str], kinds: Sequence[str], rng: random.Random) -> bool:
    """Put one typo of each kind into the words; False when they cannot take them all."""
    hit: list[int] = []
    for kind in kinds:
        spots = [
            i
            for i, w in enumerate(words)
            if _typoable(w) and (i not in hit or len(w) >= TWO_TYPO_LETTERS) and hit.count(i) < 2
        ]
        if not spots:
            return False
        i = rng.choice(spots)
        changed = typo(words[i], rng, kind)
        if changed == words[i]:
            return False
        words[i] = changed
        hit.append(i)
    return True


def _unfinish(words: list[str], rng: random.Random) -> bool:
    """Move a long word to the end and cut it, as if still being typed."""
    long = [i for i, w in enumerate(words) if len(w) >= MIN_PREFIX_LETTERS + 2 and w.isalpha()]
    if not long:
        return False
    word = words.pop(rng.choice(long))
    words.append(word[: rng.randint(MIN_PREFIX_LETTERS, len(word) - 2)])
    return True


def _shuffle(words: list[str], rng: random.Random) -> bool:
    if len(set(words)) < 2:
        return False
    original = list(words)
    while words == original:
        rng.shuffle(words)
    return True


def title_words(title: str) -> list[str]:
    """The words of a title a query may use: lowercased, without stopwords."""
    return [w for w in title.lower().split() if w not in STOPWORDS]


def title_query(title: str, kind: str, rng: random.Random) -> tuple[str, str] | None:
    """A (query, clean query) pair of the given kind for a title, or None if it cannot."""
    available = title_words(title)
    if len(set(available)) < 2:
        return None
    picked = sorted(rng.sample(range(len(available)), min(len(available), rng.randint(2, 4))))
    clean = [available[i] for i in picked]
    words = list(clean)
    if kind.startswith("typo_") and kind != "typo_mixed":
        ok = _add_typos(words, [kind[5:]] * rng.randint(1, 2), rng)
    elif kind == "title_shuffled":
        ok = _shuffle(words, rng)
    elif kind == "title_unfinished":
        ok = _unfinish(words, rng)
    else:  # typo_mixed: two typos of any kinds, any order, maybe an unfinished word
        ok = _shuffle(words, rng) and _add_typos(words, rng.choices(TYPO_KINDS, k=2), rng)
        if ok and rng.random() < 0.5:
            _unfinish(words, rng)
    return (" ".join(words), " ".join(clean)) if ok else None


def body_query(article: dict[str, object], rng: random.Random) -> str | None:
    """Three of the longest body words that are not in the title."""
    title = set(title_words(str(article["title"])))
    body_words = {w.strip(".,").lower() for w in str(article["body"]).split()}
    rare = sorted(body_words - title - STOPWORDS, key=lambda w: (len(w), w))[-12:]
    return " ".join(rng.sample(rare, 3)) if len(rare) >= 3 else None


def ambiguous(queries: Sequence[dict[str, object]], titles: Iterable[str]) -> set[str]:
    """The ids of title queries whose clean words appear together in more than one title."""
    by_first: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for query in queries:
        if "clean_query" in query:
            words = str(query["clean_query"]).split()
            by_first.setdefault(words[0], []).append((str(query["qid"]), frozenset(words)))
    counts: dict[str, int] = {}
    for title in titles:
        present = set(title_words(title))
        for word in present & by_first.keys():
            for qid, wanted in by_first[word]:
                if wanted <= present:
                    counts[qid] = counts.get(qid, 0) + 1
    return {qid for qid, n in counts.items() if n > 1}


def queries(
    corpus: Sequence[dict[str, object]],
    count: int,
    seed: int = 13,
    titles: Sequence[str] | None = None,
) -> list[dict[str, object]]:
    """About ``count`` queries with their targets, drawn from ``corpus``, kinds in turn.

    ``titles`` are every title of the corpus (default: those of ``corpus``); title queries
    that several of them answer equally are left out.
    """
    rng = random.Random(seed)
    made: list[dict[str, object]] = []
    for q in range(count):
        kind = QUERY_KINDS[q % len(QUERY_KINDS)]
        for _attempt in range(20):
            target = rng.choice(corpus)
            query: dict[str, object] = {"qid": f"s{q}", "type": kind}
            if kind == "body_keywords":
                text = body_query(target, rng)
                if text is None:
                    continue
                query["query"] = text
            else:
                pair = title_query(str(target["title"]), kind, rng)
                if pair is None:
                    continue
                query["query"], query["clean_query"] = pair
            query["relevant_ids"] = [target["id"]]
            made.append(query)
            break
    every_title = titles if titles is not None else [str(a["title"]) for a in corpus]
    dropped = ambiguous(made, every_title)
    return [query for query in made if query["qid"] not in dropped]


def main() -> int:
    parser = argparse.ArgumentParser(description="write a synthetic corpus as JSON Lines")
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--query-count", type=int, default=1000)
    args = parser.parse_args()
    vocabulary = Vocabulary.load()
    step = max(1, args.count // 20_000)
    kept: list[dict[str, object]] = []
    titles: list[str] = []
    with args.out.open("w") as out:
        for i, article in enumerate(articles(vocabulary, args.count)):
            out.write(json.dumps(article) + "\n")
            titles.append(str(article["title"]))
            if args.queries and i % step == 0:
                kept.append(article)
    if args.queries:
        with args.queries.open("w") as out:
            for query in queries(kept, args.query_count, titles=titles):
                out.write(json.dumps(query) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
