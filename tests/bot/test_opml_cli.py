"""``newsbot feeds export`` and ``newsbot feeds import``: in-process on SQLite and PostgreSQL,
and once as the real command."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from bot.cli import _feeds_async, main
from bot.settings import Settings
from services.feeds.opml import MAX_OPML_BYTES, OpmlDocument, parse_opml

# Public literal addresses need no DNS; the .example hosts are let through by the settings.
OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>From another reader</title></head><body>
  <outline text="World">
    <outline type="rss" text="Wire" xmlUrl="https://wire.example/rss"/>
    <outline type="rss" text="Wire again" xmlUrl="https://WIRE.example/rss"/>
  </outline>
  <outline type="rss" text="By address" xmlUrl="http://93.184.216.34/feed.xml"/>
  <outline type="rss" text="Router" xmlUrl="http://192.168.1.1/rss"/>
  <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
  <outline type="rss" text="Sneaky" xmlUrl="http://wire.example@127.0.0.1/"/>
</body></opml>"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        search_index_dir=tmp_path / "idx",
        feed_allowed_hosts=frozenset({"wire.example", "blog.example"}),
    )


async def feeds(settings: Settings, action: str, **options: object) -> tuple[int, str]:
    out = io.StringIO()
    args = argparse.Namespace(action=action, interval=10, **options)
    status = await _feeds_async(settings, args, out)
    return status, out.getvalue()


async def test_import_reports_each_outline_and_adds_what_the_guard_lets_through(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "feeds.opml"
    path.write_bytes(OPML)

    status, output = await feeds(settings, "import", file=path)

    assert status == 0
    lines = output.splitlines()
    # The same feed twice (its host in capitals) is the same feed row.
    assert lines[0].split(":")[0].replace("added", "already there as") == lines[1].split(":")[0]
    assert [re.sub(r"feed \d+", "feed N", line) for line in lines] == [
        "added feed N: https://wire.example/rss",
        "already there as feed N: https://wire.example/rss",
        "added feed N: http://93.184.216.34/feed.xml",
        "refused http://192.168.1.1/rss: 192.168.1.1 is a private address",
        "refused file:///etc/passwd: only http and https feed URLs are allowed",
        "refused http://wire.example@127.0.0.1/: "
        "feed URLs with a user name or password are not supported",
        f"6 feeds in {path}: added 2, already there 1, refused 3",
    ]
    _, listing = await feeds(settings, "list")
    assert [line.split("\t")[-1] for line in listing.splitlines()] == [
        "https://wire.example/rss",
        "http://93.184.216.34/feed.xml",
    ]

    again_status, again = await feeds(settings, "import", file=path)
    assert again_status == 0
    assert again.splitlines()[-1].endswith("added 0, already there 3, refused 3")


async def test_an_address_too_long_to_keep_is_refused(settings: Settings, tmp_path: Path) -> None:
    url = "https://wire.example/" + "p" * 2100
    path = tmp_path / "long.opml"
    path.write_text(f'<opml><body><outline xmlUrl="{url}"/></body></opml>')
    status, output = await feeds(settings, "import", file=path)
    assert status == 0
    assert output.splitlines()[0] == f"refused {url[:80]}…: longer than 2048 characters"
    assert (await feeds(settings, "list"))[1] == ""


async def test_export_prints_every_feed_as_opml_that_imports_elsewhere(
    settings: Settings, tmp_path: Path
) -> None:
    for url in ("https://blog.example/atom?tag=a&page=1", "https://wire.example/rss"):
        status, _ = await feeds(settings, "add", url=url)
        assert status == 0

    status, exported = await feeds(settings, "export")

    assert status == 0
    root = etree.fromstring(exported.encode())
    assert (root.tag, root.get("version"), root.findtext("head/title")) == (
        "opml",
        "2.0",
        "newsbot feeds",
    )
    assert root.findtext("head/dateCreated")
    document = parse_opml(exported.encode())
    assert isinstance(document, OpmlDocument)
    assert [o.xml_url for o in document.outlines] == [
        "https://blog.example/atom?tag=a&page=1",
        "https://wire.example/rss",
    ]
    # Another installation takes the file as it is.
    path = tmp_path / "exported.opml"
    path.write_text(exported, encoding="utf-8")
    elsewhere = replace(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'other.db'}",
        search_index_dir=tmp_path / "other-idx",
    )
    status, output = await feeds(elsewhere, "import", file=path)
    assert status == 0
    assert output.splitlines()[-1].endswith("added 2, already there 0, refused 0")


async def test_export_of_no_feeds_is_an_empty_valid_list(settings: Settings) -> None:
    status, exported = await feeds(settings, "export")
    assert status == 0
    document = parse_opml(exported.encode())
    assert isinstance(document, OpmlDocument) and document.outlines == ()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"<html><body>not a feed list</body></html>", "the file is not an OPML feed list"),
        (b"\x89PNG\r\n\x1a\n", "the file is not XML"),
        (
            b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body/></opml>',
            "the file declares XML entities, which are refused for safety",
        ),
        (b" " * (MAX_OPML_BYTES + 1), "the file is larger than 1 MB"),
    ],
)
async def test_a_file_that_cannot_be_read_fails_with_a_reason_and_adds_nothing(
    settings: Settings, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "bad.opml"
    if content is not None:
        path.write_bytes(content)

    status, output = await feeds(settings, "import", file=path)

    assert status == 1
    assert output.startswith(f"cannot read {path}: {reason}")
    assert "Traceback" not in output
    _, listing = await feeds(settings, "list")
    assert listing == ""


def test_the_parser_knows_both_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["feeds", "import", "--help"])
    assert "FILE.opml" in capsys.readouterr().out


def test_the_real_command_imports_and_exports(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        "FEED_ALLOWED_HOSTS": "wire.example",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    path = tmp_path / "feeds.opml"
    path.write_bytes(OPML)

    def newsbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "feeds", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    imported = newsbot("import", str(path))
    assert imported.returncode == 0, imported.stderr
    assert "https://wire.example/rss" in imported.stdout.splitlines()[0]
    assert "refused http://192.168.1.1/rss: 192.168.1.1 is a private address" in imported.stdout
    assert imported.stderr == ""

    exported = newsbot("export")
    assert exported.returncode == 0, exported.stderr
    document = parse_opml(exported.stdout.encode())
    assert isinstance(document, OpmlDocument)
    assert [o.xml_url for o in document.outlines] == [
        "https://wire.example/rss",
        "http://93.184.216.34/feed.xml",
    ]

    missing = newsbot("import", str(tmp_path / "missing.opml"))
    assert missing.returncode == 1
    assert "no such file" in missing.stdout
    assert "Traceback" not in missing.stderr


async def test_sites_named_by_an_import_are_exported_and_travel_on(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "sites.opml"
    path.write_text(
        '<opml version="2.0"><body>'
        '<outline type="rss" text="Wire" xmlUrl="https://wire.example/rss"'
        ' htmlUrl="https://wire.example/"/>'
        '<outline type="rss" text="Blog" xmlUrl="https://blog.example/atom"'
        ' htmlUrl="javascript:alert(1)"/>'
        '<outline type="rss" text="Bare" xmlUrl="http://93.184.216.34/feed.xml"/>'
        "</body></opml>"
    )
    assert (await feeds(settings, "import", file=path))[0] == 0

    def sites(exported: str) -> list[tuple[str, str | None]]:
        document = parse_opml(exported.encode())
        assert isinstance(document, OpmlDocument)
        return [(o.xml_url, o.html_url) for o in document.outlines]

    status, exported = await feeds(settings, "export")
    assert status == 0
    assert sites(exported) == [
        ("https://wire.example/rss", "https://wire.example/"),
        ("https://blog.example/atom", None),  # no web address: not kept
        ("http://93.184.216.34/feed.xml", None),
    ]
    path.write_text(exported, encoding="utf-8")
    elsewhere = replace(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'other.db'}",
        search_index_dir=tmp_path / "other-idx",
    )
    assert (await feeds(elsewhere, "import", file=path))[0] == 0
    assert sites((await feeds(elsewhere, "export"))[1]) == sites(exported)
