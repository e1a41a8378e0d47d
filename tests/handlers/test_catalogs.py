"""The shipped translation catalogs: complete, not fuzzy, faithful to the English text,
with the language's plural forms, compiled and current, and inside the package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.catalogs import POT, build, po_path
from handlers.i18n import DOMAIN, LANGUAGES, _, ngettext, use_language
from tests.helpers.telegram_html import parse_html

TRANSLATED = [code for code in LANGUAGES if code != "en"]
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
_TAG = re.compile(r"</?([a-z]+)[^>]*>")
# Bidirectional isolates and marks a right-to-left translation may add around literals.
_BIDI = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f"))
ROOT = Path(__file__).resolve().parents[2]


def catalog(code: str) -> Catalog:
    with po_path(code).open("rb") as file:
        return read_po(file, locale=code, domain=DOMAIN)


def messages(code: str) -> list[Message]:
    return [m for m in catalog(code) if m.id]


def forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def test_the_template_has_the_bots_text() -> None:
    with POT.open("rb") as file:
        template = read_po(file)
    found = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    assert len(found) > 100
    assert "Read the article" in found and "🔔 New article" in found
    assert "The language I speak in this chat" in found  # a BotCommand description (N_)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(code: str) -> None:
    translated = catalog(code)
    assert not translated.fuzzy
    with POT.open("rb") as file:
        template = read_po(file)
    assert {str(m.id) for m in template if m.id} == {str(m.id) for m in translated if m.id}
    for message in messages(code):
        assert "fuzzy" not in message.flags, message.id
        assert all(form.strip() for form in forms(message)), message.id


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_plural_header_is_the_languages(code: str) -> None:
    translated = catalog(code)
    expected = get_plural(code)
    assert translated.num_plurals == expected.num_plurals
    assert translated.plural_expr == expected.plural_expr
    for message in messages(code):
        if isinstance(message.id, tuple):
            assert len(forms(message)) == expected.num_plurals, message.id


def test_russian_and_ukrainian_have_three_plural_forms() -> None:
    for code in ("ru", "uk"):
        assert catalog(code).num_plurals == 3
        with use_language(code):
            shown = {
                n: ngettext("Removed {n} subscription.", "Removed {n} subscriptions.", n)
                for n in (1, 3, 5, 21)
            }
        assert len({shown[1], shown[3], shown[5]}) == 3
        assert shown[21] == shown[1]


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_and_tags_agree_with_the_english(code: str) -> None:
    for message in messages(code):
        english = ids(message)
        for form in forms(message):
            plain = form.translate(_BIDI)
            # Every form carries the same placeholders as the English (the singular and
            # plural msgids of one message have the same ones).
            assert sorted(_PLACEHOLDER.findall(plain)) == sorted(
                _PLACEHOLDER.findall(english[-1])
            ), (message.id, form)
            assert _TAG.findall(plain) == _TAG.findall(english[-1]), (message.id, form)
            assert plain.count("\n") == english[-1].count("\n"), (message.id, form)
            assert _PLACEHOLDER.sub("", plain).count("{") == 0, (message.id, form)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_translation_formats_with_the_english_arguments(code: str) -> None:
    for message in messages(code):
        names = {name.strip("{}") for name in _PLACEHOLDER.findall(ids(message)[-1])}
        for form in forms(message):
            assert form.format(**dict.fromkeys(names, "x"))


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_translation_is_html_telegram_accepts(code: str) -> None:
    """Tags agreeing is not enough: an isolate inside "</i>" would break it."""
    for message in messages(code):
        names = {name.strip("{}") for name in _PLACEHOLDER.findall(ids(message)[-1])}
        for form in forms(message):
            parse_html(form.format(**dict.fromkeys(names, "x")))


def test_the_compiled_catalogs_are_current() -> None:
    """The committed .pot, .po and .mo files are what `python -m bot.catalogs` makes."""
    assert build(write=False) == []
    for code in TRANSLATED:
        with po_path(code).with_suffix(".mo").open("rb") as file:
            compiled = read_mo(file)
        for message in messages(code):
            found = compiled.get(message.id)
            assert found is not None, message.id
            assert forms(found) == forms(message), message.id


def test_the_persian_catalog_isolates_left_to_right_commands() -> None:
    with use_language("fa"):
        text = _("I couldn't find that article. Try /search or /latest.")
    assert "\u2066/search\u2069" in text and "\u2066/latest\u2069" in text


def test_a_language_without_a_catalog_speaks_english() -> None:
    with use_language("de"):
        assert _("Read the article") == "Read the article"


@pytest.mark.e2e
def test_the_catalogs_load_from_an_installed_wheel(tmp_path: Path) -> None:
    """A wheel (what pip installs) carries every catalog, and the bot installed from it
    speaks them, away from this checkout."""
    wheels, target, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "source"
    # Built from a copy: setuptools leaves build/ and *.egg-info where it builds.
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("bot", "handlers", "services", "storage"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("newsbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "handlers/locales/newsbot.pot" in names
    for code in TRANSLATED:
        assert f"handlers/locales/{code}/LC_MESSAGES/{DOMAIN}.mo" in names
        assert f"handlers/locales/{code}/LC_MESSAGES/{DOMAIN}.po" in names
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    script = (
        "import handlers.i18n as i\n"
        "print(i.__file__)\n"
        "with i.use_language('ru'):\n"
        "    print(i._('Read the article'))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert shown[0].startswith(str(target))
    assert shown[1] == "Читать статью"
