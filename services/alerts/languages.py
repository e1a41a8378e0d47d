"""An article's language, and its words reduced to stems in that language.

The language comes from py3langid (langid.py's naive Bayes model, a few megabytes shipped
inside the package; nothing is downloaded), restricted to the languages we can stem plus a
few that own a script, and asked about a bounded sample of the article, so that a long body
costs no more than a short one (lingua, tried first, took 5-10 ms an article here).
Stems come from the Snowball stemmers
(PyStemmer) of that language; Snowball has no Ukrainian, so Ukrainian words are reduced to
their dictionary form by simplemma instead. English keeps newsbot's own light stemmer
(``keywords.stem``), which never shortens "news" to "new"; so does text in no language found.

Both sides of a match go through the same reduction in the article's language: a keyword
and an article word that are spelt alike always meet, whatever language is detected; the
detector only decides which inflections meet too.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable

import simplemma
import Stemmer
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from services.alerts.keywords import stem as light_stem
from storage.text import tokens

# Characters of an article the detector reads: its title and the start of its text.
SAMPLE_CHARS = 300
# The Snowball algorithm for each language the detector can tell, by ISO 639-1 code.
_SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
_LEMMATISED = frozenset({"uk"})
ENGLISH = "en"
LANGUAGES = frozenset(_SNOWBALL) | _LEMMATISED | {ENGLISH}
# Told apart too, so that their text is not taken for a language we would stem it in.
# (Not Bulgarian or Belarusian: short Russian titles were taken for them.)
_OTHERS = frozenset({"zh", "ja", "ko", "th", "he", "zxx"})

Reducer = Callable[[list[str]], list[str]]


class Languages:
    """Detects articles' languages and reduces words in them; the model loads on first use.

    Not thread-safe (the stemmers are not): one instance per thread.
    """

    def __init__(self) -> None:
        self._reducers: dict[str | None, Reducer] = {}

    def detect(self, title: str, text: str = "") -> str | None:
        """The ISO 639-1 code of the language a text is written in (None: none we stem)."""
        code, _score = _detector().classify(f"{title}\n{text[:SAMPLE_CHARS]}")
        return code if code in LANGUAGES else None

    def reducer(self, code: str | None) -> Reducer:
        """What reduces folded words to their stems in this language (None: unknown)."""
        reducer = self._reducers.get(code)
        if reducer is None:
            reducer = self._reducers[code] = _make_reducer(code)
        return reducer


# functools.cache does not hold a second caller back while the first is loading: the alert
# loop's warm-up thread and a first article matched meanwhile would each load the model.
_LOADING = threading.Lock()


def _detector() -> LanguageIdentifier:
    """The detector, loaded once per process on first use (about a second of CPU).

    Read-only data, like simplemma's dictionaries, which it caches the same way: the alert
    matcher builds a new SubscriptionIndex whenever subscriptions change, and each must not
    load the model again.
    """
    with _LOADING:
        return _loaded_detector()


@functools.cache
def _loaded_detector() -> LanguageIdentifier:
    detector = LanguageIdentifier.from_model_file(MODEL_FILE)
    detector.set_languages(sorted((LANGUAGES | _OTHERS) & set(detector.labels)))
    return detector


def warm_up() -> None:
    """Load the detector and the dictionaries now (about 1.5 s of CPU), so that the first
    article matched after a start does not hold the event loop for that long; meant for
    ``asyncio.to_thread`` before the matcher's first pass."""
    _detector()
    for code in _LEMMATISED:
        simplemma.lemmatize("a", lang=code)


def _make_reducer(code: str | None) -> Reducer:
    if code in _SNOWBALL:
        return Stemmer.Stemmer(_SNOWBALL[code]).stemWords  # type: ignore[no-any-return]
    if code in _LEMMATISED:
        language = code

        def lemmas(words: list[str]) -> list[str]:
            return [simplemma.lemmatize(word, lang=language).lower() for word in words]

        return lemmas
    return _light_stems


def _light_stems(words: list[str]) -> list[str]:
    return [light_stem(word) for word in words]


class KeywordMatcher:
    """Which of a set of subscription keywords an article holds, in the article's language.

    A keyword of one term matches an article word with the same stem in the article's
    language. A keyword the search tokeniser splits into several terms (a Chinese, Japanese
    or Korean word, a run of Thai) matches an article holding all of those terms, the way a
    search for it finds the article. Cost per article: tokenising it, one language guess on
    a bounded sample, one stem per distinct article word, and set look-ups.
    """

    def __init__(self, keywords: Iterable[str], languages: Languages | None = None) -> None:
        self._languages = languages or Languages()
        self._single: dict[str, list[str]] = {}  # its one term -> the keywords
        self._by_first_term: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for keyword in dict.fromkeys(keywords):
            terms = tokens(keyword)
            if len(terms) == 1:
                self._single.setdefault(terms[0], []).append(keyword)
            elif terms:
                self._by_first_term.setdefault(terms[0], []).append((keyword, frozenset(terms)))
        self._by_stem: dict[str | None, dict[str, list[str]]] = {}

    def found_in(self, title: str, text: str) -> set[str]:
        """The keywords the article holds."""
        terms = set(tokens(f"{title}\n{text}"))
        found: set[str] = set()
        if self._single and terms:
            code = self._languages.detect(title, text)
            table = self._stems_in(code)
            for word_stem in set(self._languages.reducer(code)(list(terms))) & table.keys():
                found.update(table[word_stem])
        for term in terms & self._by_first_term.keys():
            found.update(k for k, needed in self._by_first_term[term] if needed <= terms)
        return found

    def _stems_in(self, code: str | None) -> dict[str, list[str]]:
        """Keywords by their stem in a language, worked out on the first article in it."""
        table = self._by_stem.get(code)
        if table is None:
            table = self._by_stem[code] = {}
            single = list(self._single)
            for term, word_stem in zip(single, self._languages.reducer(code)(single), strict=True):
                table.setdefault(word_stem, []).extend(self._single[term])
        return table
