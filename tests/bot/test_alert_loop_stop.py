"""The alert loop stops at once while the language models are still loading.

Loading them takes 1.5 s of CPU, several seconds on a busy machine: a worker stopped in its
first seconds waited all of that out (and the process then waited for the loading thread),
and so missed its 10 s exit (tests/test_worker_http.py failed so under load).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot

from bot.alerts import AlertLoop
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.sender import TelegramAlertSender
from tests.helpers.botapi import FakeBotApi
from tests.helpers.fake_request import FakeRequest
from tests.helpers.sqlite_template import copy_migrated_sqlite

TOKEN = "123456:TEST-token-never-logged"


class HeldLoading:
    """Stands in for the models' loading: it starts, then waits for ``release``."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self) -> None:
        self.started.set()
        self.release.wait(60)
        self.finished.set()


@pytest.fixture
def loading(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldLoading]:
    held = HeldLoading()
    monkeypatch.setattr("bot.alerts.warm_up_languages", held)
    yield held
    held.release.set()  # the thread ends with the test


async def test_stopping_while_the_models_load_does_not_wait_for_them(
    tmp_path: Path, loading: HeldLoading
) -> None:
    database = copy_migrated_sqlite(tmp_path / "bot.db")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}", search_index_dir=tmp_path / "index"
    )
    runtime = await Runtime.open(settings)
    bot = Bot(TOKEN, request=FakeRequest(FakeBotApi()))
    alerts = AlertLoop(runtime, TelegramAlertSender(bot), settings, clock=lambda: datetime.now(UTC))
    try:
        alerts.start()
        assert await asyncio.to_thread(loading.started.wait, 30), "the loading never began"
        # Only a hang guard: the old loop could not stop before the loading was released.
        await asyncio.wait_for(alerts.stop(), 30)
        assert not loading.finished.is_set()  # stopped with the loading still under way
    finally:
        loading.release.set()
        await runtime.close()
