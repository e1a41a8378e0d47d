"""Extractive summaries: the most central sentences of the story, in their original order."""

from __future__ import annotations

import math
import string
from collections import Counter
from types import MappingProxyType

from services.boilerplate import strip_boilerplate
from services.sentences import SENTENCE_CLOSERS, split_sentences

MAX_SENTENCES = 3
# Weights tuned on the even-numbered articles of the development corpus (bench/summary.py).
# A sentence scoring under this share of the best one stays out even when it would fit:
# it shortens the summary more than it adds.
_MIN_SHARE_OF_BEST = 0.4
# Long sentences pay a small penalty, so the summary is not just the longest sentences.
_LENGTH_PENALTY = 0.1
# News puts its point first. The corpus alone would not ask for this bonus (ROUGE-2 F1 0.534
# -> 0.519 on the tuning split), but without it an article's most "central" sentence can be a
# side remark that repeats the names and crowds out the news itself.
_LEAD_BONUS = 0.3
# Lines without closing punctuation are headings, captions or bylines rather than sentences.
_FRAGMENT_FACTOR = 0.1
ELLIPSIS = "…"
# Punctuation becomes a space, so "Iran's" gives "iran" and "s" (a stopword).
_PUNCTUATION = MappingProxyType(
    str.maketrans(dict.fromkeys(string.punctuation + "\u2018\u2019“”«»\u2013—…•·", " "))
)
# English function words: they say nothing about what a sentence is about.
_STOPWORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
        "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
        "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
        "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself",
        "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
        "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some",
        "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
        "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
        "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
        "yourselves", "s", "t", "d", "ll", "m", "re", "ve", "don", "didn", "doesn", "isn",
        "aren", "wasn", "weren", "hasn", "haven", "hadn", "won", "wouldn", "couldn",
        "shouldn",
    }
)  # fmt: skip


def summarize(title: str, body: str, *, max_chars: int = 400) -> str:
    """Pick up to three central sentences of the body (boilerplate removed) within max_chars.

    Returns "" when no story sentence is left: the title is shown beside the summary anyway,
    so it is never used as one.
    """
    sentences = split_sentences(strip_boilerplate(body))
    words = [_content_words(s) for s in sentences]
    title_words = _content_words(title)
    # A body that opens with its own headline must not offer it as a summary sentence.
    if title_words and words and words[0] == title_words:
        del sentences[0], words[0]
    if not sentences or max_chars <= 0:
        return ""
    scores = _scores(sentences, words)
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    if len(sentences[ranked[0]]) > max_chars:
        return _cut(sentences[ranked[0]], max_chars)
    chosen: list[int] = []
    used = -1  # the joining spaces number one less than the sentences
    floor = scores[ranked[0]] * _MIN_SHARE_OF_BEST
    for index in ranked:
        if scores[index] < floor:
            break
        cost = len(sentences[index]) + 1
        if used + cost <= max_chars:
            chosen.append(index)
            used += cost
            if len(chosen) == MAX_SENTENCES:
                break
    return " ".join(sentences[i] for i in sorted(chosen))


def _content_words(text: str) -> set[str]:
    return set(text.lower().translate(_PUNCTUATION).split()) - _STOPWORDS


def _scores(sentences: list[str], words: list[set[str]]) -> list[float]:
    """Centrality (how many other sentences share each word), adjusted for length and role.

    A one-step, linear-time stand-in for TextRank: the overlap with every other sentence over
    the sum of log lengths, with the other sentence's log length replaced by the mean.
    """
    frequency: Counter[str] = Counter()
    for sentence_words in words:
        frequency.update(sentence_words)
    norms = [math.log(len(w) + 1) for w in words]
    mean_norm = sum(norms) / len(norms)
    scores: list[float] = []
    lead = True
    for sentence, sentence_words, norm in zip(sentences, words, norms, strict=True):
        shared = sum(map(frequency.__getitem__, sentence_words)) - len(sentence_words)
        score = shared / (norm + mean_norm) / len(sentence) ** _LENGTH_PENALTY if shared else 0.0
        if not sentence.endswith(SENTENCE_CLOSERS):
            score *= _FRAGMENT_FACTOR
        elif lead:  # the first real sentence, after any headline or byline
            score *= 1 + _LEAD_BONUS
            lead = False
        scores.append(score)
    return scores


def _cut(sentence: str, max_chars: int) -> str:
    """Shorten to at most max_chars at a word boundary, ending with an ellipsis."""
    room = max_chars - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:max_chars]
    head = sentence[: room + 1]
    space = head.rfind(" ")
    head = head[:space] if space > 0 else head[:room]
    return head.rstrip(" ,;:-\u2013—") + ELLIPSIS
