"""/import and /export against `newsbot run` as a subprocess, over real HTTP: the bot downloads
the user's file from the fake's /file/bot<token>/ endpoint and uploads its export (multipart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.feeds.opml import OpmlDocument, parse_opml
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

pytestmark = pytest.mark.e2e
TOKEN = "987654:OPML-e2e-secret"
USER = 4343
OPML = (
    b'<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>'
    b'<outline text="Wire" type="rss" xmlUrl="http://93.184.216.7/rss"/>'
    b'<outline text="Router" type="rss" xmlUrl="http://10.1.1.1/rss"/>'
    b"</body></opml>"
)


def test_import_then_export_through_the_running_bot(tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN)
    with FakeBotApiServer(api) as server:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "TELEGRAM_API_BASE_FILE_URL": server.base_file_url,
            "LOG_LEVEL": "DEBUG",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        log_path = tmp_path / "bot.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=env, stdout=log, stderr=log, text=True
            )
        try:
            api.wait_for_calls_blocking("setMyCommands", within=60)
            deadline = time.monotonic() + 30
            while api.active_polls() == 0:  # the bot is long-polling
                assert time.monotonic() < deadline, "the bot never polled"
                time.sleep(0.02)
            document = api.register_document(OPML, "mine.opml")
            api.push_update(
                api.document_update(document, caption="/import", chat_id=USER, user_id=USER)
            )
            (summary,) = api.wait_for_calls_blocking("sendMessage", within=30)
            api.push_update(api.updates.message_update("/export", chat_id=USER, user_id=USER))
            api.wait_for_calls_blocking("sendDocument", within=30)
        finally:
            process.send_signal(signal.SIGTERM)
            api.release_pollers()
            process.wait(timeout=30)

    text = summary.params["text"]
    assert "1 feed followed, 0 already followed, 1 not followed" in text
    assert "✅ Wire — http://93.184.216.7/rss" in text
    assert "10.1.1.1 is a private address" in text
    assert len(api.calls_to("download")) == 1
    (sent,) = api.sent_documents(USER)
    assert sent.file_name == "feeds.opml"
    exported = parse_opml(sent.content)
    assert isinstance(exported, OpmlDocument)
    assert [o.xml_url for o in exported.outlines] == ["http://93.184.216.7/rss"]
    log_text = log_path.read_text()
    assert TOKEN not in log_text, "the bot token leaked into the log"
    assert "Traceback" not in log_text, log_text[-2000:]
    assert process.returncode == 0, log_text[-2000:]
