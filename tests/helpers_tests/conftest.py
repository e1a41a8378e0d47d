"""Fixtures: a FakeBotApi and a real telegram.Bot talking to it over either transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.helpers.fake_request import FakeRequest

TOKEN = "123:ABC"


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture(params=["fake_request", "http"])
async def bot(request: pytest.FixtureRequest, api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    """A real Bot wired to the fake in-process (FakeRequest) or over HTTP (FakeBotApiServer)."""
    if request.param == "fake_request":
        async with telegram.Bot(
            TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api)
        ) as in_process:
            yield in_process
        return
    async with (
        FakeBotApiServer(api) as server,
        telegram.Bot(
            TOKEN, base_url=server.base_url, base_file_url=server.base_file_url
        ) as over_http,
    ):
        yield over_http
