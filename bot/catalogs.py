"""Re-extract, update and compile the bot's translation catalogs with Babel, in one command.

    python -m bot.catalogs            # extract newsbot.pot, update every .po, compile every .mo
    python -m bot.catalogs --check    # exit 1 if a .pot, .po or .mo is out of date (CI)
    python -m bot.catalogs --init xx  # start a catalog for a new language

Catalogs live inside the ``handlers`` package (handlers/locales/<code>/LC_MESSAGES/), so
``pip install`` ships them. The compiled .mo files are committed: a checkout or a wheel
speaks every language without a build step; ``--check`` (and a test) keep them current.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from handlers.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_ROOT = LOCALE_DIR.parent.parent  # the directory that holds handlers/ and bot/
# User-facing text lives in handlers/ (and the few bot/ lines that reach a chat).
SOURCES = ("handlers", "bot")
POT = LOCALE_DIR / f"{DOMAIN}.pot"
# A fixed date in the template: re-extracting unchanged sources changes no file.
_EPOCH = datetime(2026, 1, 1)


def extract() -> Catalog:
    """Every translatable string in the sources, with where it is used."""
    template = Catalog(
        project="newsbot",
        version="0.1.0",
        msgid_bugs_address="",
        creation_date=_EPOCH,
        revision_date=_EPOCH,
        fuzzy=False,
    )
    for source in SOURCES:
        directory = PACKAGE_ROOT / source
        for filename, lineno, message, comments, context in extract_from_dir(
            directory,
            method_map=[("**.py", "python")],
            keywords=DEFAULT_KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            template.add(
                message,
                None,
                [(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    # No line numbers: a line added above a string changes no catalog (and merges stay sane).
    write_po(out, catalog, width=100, include_lineno=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _read(path: Path, code: str) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=code, domain=DOMAIN)


def build(*, write: bool) -> list[Path]:
    """Extract, update and compile; the files that changed (or would change)."""
    changed: list[Path] = []

    def put(path: Path, data: bytes) -> None:
        if path.exists() and path.read_bytes() == data:
            return
        changed.append(path)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    template = extract()
    put(POT, _po_bytes(template))
    for code in LANGUAGES:
        if code == "en":  # the msgids are English
            continue
        path = po_path(code)
        if not path.exists():
            continue
        catalog = _read(path, code)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        put(path, _po_bytes(catalog))
        put(path.with_suffix(".mo"), _mo_bytes(catalog))
    return changed


def init(code: str) -> Path:
    """A new, empty catalog for ``code`` from the template."""
    path = po_path(code)
    if path.exists():
        raise SystemExit(f"{path} exists already")
    catalog = Catalog(locale=code, domain=DOMAIN, project="newsbot", version="0.1.0", fuzzy=False)
    catalog.update(extract())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_po_bytes(catalog))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.catalogs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; fail if stale")
    parser.add_argument("--init", metavar="CODE", help="start a catalog for a new language")
    args = parser.parse_args(argv)
    if args.init:
        print(f"created {init(args.init)}; add {args.init!r} to LANGUAGES in handlers/i18n.py")
        return 0
    changed = build(write=not args.check)
    for path in changed:
        print(("stale: " if args.check else "wrote: ") + str(path.relative_to(PACKAGE_ROOT)))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
