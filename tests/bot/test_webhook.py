"""Webhook mode in-process: the real Application behind the real HTTP server, fake Bot API."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from telegram import Update
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.app import LOG_CONTEXT_GROUP
from bot.settings import Secret, Settings, SettingsError
from bot.webhook import ALLOWED_UPDATES, BotServer
from handlers import LANGUAGE_GROUP
from services.alerts.matcher import CURSOR as MATCHER_CURSOR
from services.alerts.matcher import NEW_CURSOR
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from storage.models import Cursor, OutboxMessage
from tests.conftest import FixedClock
from tests.helpers.botapi import FakeBotApi
from tests.helpers.fake_request import FakeRequest, split_bot_url
from tests.helpers.http_checks import metric
from tests.helpers.webhook_delivery import WebhookDelivery

TOKEN = "123456:TEST-token-never-logged"
SECRET = "s3cret_token-for-tests"
WEBHOOK_URL = "https://bot.example.org/telegram/hook"


class HeldRequest(FakeRequest):
    """FakeRequest that holds every sendMessage until release() (to catch a request mid-way)."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(api)
        self.waiting = 0
        self._open = asyncio.Event()
        self._open.set()
        self._changed = asyncio.Condition()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def held(self, count: int = 1) -> None:
        """Wait until `count` sendMessage calls are being held."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.waiting >= count)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if split_bot_url(url)[1] == "sendMessage":
            async with self._changed:
                self.waiting += 1
                self._changed.notify_all()
            await self._open.wait()
            self.waiting -= 1
        return await super().do_request(url, method, request_data)


def bot_db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


def webhook_settings(tmp_path: Path, **changes: Any) -> Settings:
    settings = Settings(
        database_url=bot_db(tmp_path),
        telegram_bot_token=Secret(TOKEN),
        search_index_dir=tmp_path / "index",
        webhook_url=WEBHOOK_URL,
        webhook_secret=Secret(SECRET),
        webhook_max_connections=7,
        http_port=0,  # any free port
        # These tests send one chat's updates back to back; the throttle has tests of its own.
        command_burst=0,
    )
    return replace(settings, **changes)


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi(token=TOKEN)


@pytest.fixture
def request_(api: FakeBotApi) -> HeldRequest:
    return HeldRequest(api)


@pytest.fixture
async def server(
    tmp_path: Path, request_: HeldRequest, clock: FixedClock
) -> AsyncIterator[BotServer]:
    bot = BotServer(webhook_settings(tmp_path), request=request_, clock=clock)
    await bot.start()
    try:
        yield bot
    finally:
        request_.release()
        await bot.stop()


def base(server: BotServer) -> str:
    return f"http://127.0.0.1:{server.http.port}"


def delivery(server: BotServer, secret: str | None = SECRET) -> WebhookDelivery:
    return WebhookDelivery(f"{base(server)}/telegram/hook", secret)


async def get(server: BotServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(base(server) + path) as response:
        return response.status, await response.text()


async def test_sets_the_webhook_once_and_never_deletes_it(
    tmp_path: Path, api: FakeBotApi, clock: FixedClock
) -> None:
    bot = BotServer(webhook_settings(tmp_path), request=FakeRequest(api), clock=clock)
    await bot.start()
    await bot.stop()
    (call,) = api.calls_to("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert call.params["max_connections"] == 7
    assert "drop_pending_updates" not in call.params
    assert api.calls_to("deleteWebhook") == []
    assert api.calls_to("getUpdates") == []


async def test_a_wrong_or_missing_secret_is_refused_and_not_handled(
    server: BotServer, api: FakeBotApi
) -> None:
    for secret in (None, "wrong", SECRET[:-1], SECRET + "x"):
        update = api.updates.message_update("/help", chat_id=501, user_id=501)
        statuses = await delivery(server, secret).deliver([update])
        assert statuses == {update["update_id"]: 401}
    _, text = await get(server, "/metrics")
    assert metric(text, "newsbot_updates_total", type="message") == 0
    assert api.calls_to("sendMessage") == []


async def test_bad_bodies_get_400(server: BotServer) -> None:
    url = f"{base(server)}/telegram/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        for body in (b"{not json", b"[1, 2]", b'{"message": {}}'):
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 400
        async with session.get(url) as response:
            assert response.status == 405


async def test_an_update_is_acknowledged_only_after_its_reply_went_out(
    server: BotServer, api: FakeBotApi, request_: HeldRequest
) -> None:
    request_.hold()
    update = api.updates.message_update("/help", chat_id=502, user_id=502)
    posting = asyncio.create_task(delivery(server).deliver([update]))
    await request_.held()  # the handler is sending its reply, held by the fake
    await asyncio.sleep(0.2)
    assert not posting.done(), "the webhook answered before the update was handled"
    request_.release()
    assert await posting == {update["update_id"]: 200}
    assert [c.params["chat_id"] for c in api.calls_to("sendMessage")] == [502]


async def test_each_chat_gets_its_answers_in_order_while_chats_go_side_by_side(
    server: BotServer, api: FakeBotApi, request_: HeldRequest
) -> None:
    chats = (601, 602, 603)
    updates = [
        api.updates.message_update(f"zq{chat}w{n}", chat_id=chat, user_id=chat)
        for n in range(5)
        for chat in chats
    ]
    # Hold replies until every chat has one update in hand: chats are handled side by side.
    request_.hold()
    posting = asyncio.create_task(delivery(server).deliver(updates))
    await request_.held(len(chats))
    request_.release()
    statuses = await posting
    assert set(statuses.values()) == {200}
    for chat in chats:
        texts = [m["text"] for m in api.sent_messages(chat)]
        assert [re.search(r"zq\d+w(\d)", t).group(1) for t in texts] == list("01234"), texts  # type: ignore[union-attr]


async def test_health_readiness_and_metrics(server: BotServer, api: FakeBotApi) -> None:
    assert await get(server, "/healthz") == (200, "ok\n")
    assert await get(server, "/readyz") == (200, "ok\n")
    api.fail_next("sendMessage", 503, error_code=429, description="Flood", retry_after=1)
    updates = [
        api.updates.message_update("/help", chat_id=503, user_id=503),
        api.updates.message_update("secret words of a user", chat_id=504, user_id=504),
    ]
    await delivery(server).deliver(updates)
    status, text = await get(server, "/metrics")
    assert status == 200
    assert metric(text, "newsbot_updates_total", type="message") == 2
    assert metric(text, "newsbot_update_handling_seconds_count", type="message") == 2
    sends = api.calls_to("sendMessage")
    ok = [c for c in sends if c.error_code is None]
    assert [c.error_code for c in sends if c.error_code is not None] == [429]
    assert metric(text, "newsbot_bot_api_calls_total", method="sendMessage", outcome="ok") == len(
        ok
    )
    assert (
        metric(text, "newsbot_bot_api_calls_total", method="sendMessage", outcome="rate_limited")
        == 1
    )
    assert metric(text, "newsbot_bot_api_calls_total", method="setWebhook", outcome="ok") == 1
    assert metric(text, "newsbot_bot_api_call_seconds_count", method="sendMessage") == len(sends)
    assert metric(text, "newsbot_search_seconds_count") == 1
    assert metric(text, "newsbot_alerts", state="pending") == 0
    assert "newsbot_alert_outbox_backlog 0.0" in text
    assert "newsbot_index_lag_events 0.0" in text
    # This replica runs the alert sender (ALERTS_IN_BOT): its in-flight count is exported.
    assert "newsbot_alert_sends_in_flight 0.0" in text
    assert metric(text, "newsbot_alert_sends_in_flight_limit") == 16  # ALERT_MAX_IN_FLIGHT
    assert "newsbot_feed_polls_total" in text or "newsbot_feed_polls" in text
    labels = " ".join(re.findall(r"\{[^}]*\}", text))
    for private in ("503", "504", "secret words"):
        assert private not in labels
    assert TOKEN.split(":")[1] not in text


async def test_stop_refuses_new_updates_and_finishes_the_one_in_hand(
    tmp_path: Path, api: FakeBotApi, request_: HeldRequest, clock: FixedClock
) -> None:
    bot = BotServer(webhook_settings(tmp_path), request=request_, clock=clock)
    await bot.start()
    hook = delivery(bot)
    request_.hold()
    in_hand = api.updates.message_update("/help", chat_id=505, user_id=505)
    posting = asyncio.create_task(hook.deliver([in_hand]))
    await request_.held()
    stopping = asyncio.create_task(bot.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    late = api.updates.message_update("/help", chat_id=506, user_id=506)
    with pytest.raises(aiohttp.ClientConnectionError):
        await hook.deliver([late])
    request_.release()
    assert await posting == {in_hand["update_id"]: 200}
    await stopping
    assert [c.params["chat_id"] for c in api.calls_to("sendMessage")] == [505]
    assert api.calls_to("deleteWebhook") == []


async def test_polling_mode_serves_health_and_metrics_on_http_port(
    tmp_path: Path, api: FakeBotApi, clock: FixedClock
) -> None:
    settings = webhook_settings(tmp_path, webhook_url=None, webhook_secret=None)
    bot = BotServer(
        settings, request=FakeRequest(api), get_updates_request=FakeRequest(api), clock=clock
    )
    await bot.start()
    try:
        await api.wait_for_poll(within=10)
        api.push_update(api.updates.message_update("/help", chat_id=507, user_id=507))
        await api.wait_for_calls("sendMessage", within=10)
        assert await get(bot, "/readyz") == (200, "ok\n")
        _, text = await get(bot, "/metrics")
        assert metric(text, "newsbot_updates_total", type="message") == 1
        status, _ = await get(bot, "/telegram/hook")
        assert status == 404  # no webhook route in polling mode
    finally:
        await bot.stop()
    assert api.calls_to("setWebhook") == []


async def test_a_port_in_use_is_a_clear_refusal(tmp_path: Path, api: FakeBotApi) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = BotServer(webhook_settings(tmp_path, http_port=port), request=FakeRequest(api))
        with pytest.raises(SettingsError, match=f"cannot listen on 127.0.0.1:{port}"):
            await bot.start()
        await bot.stop()
    assert api.calls_to("setWebhook") == []


async def matcher_started(database_url: str, within: float = 30.0) -> None:
    engine = create_engine(database_url)
    try:
        for _ in range(int(within / 0.05)):
            async with create_session_factory(engine)() as session:
                position = await session.scalar(
                    select(Cursor.position).where(Cursor.name == MATCHER_CURSOR)
                )
            if position is not None and position != NEW_CURSOR:
                return
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"the alert matcher did not start within {within} s")


async def test_stop_finishes_the_alert_in_flight(
    tmp_path: Path, api: FakeBotApi, request_: HeldRequest, clock: FixedClock
) -> None:
    bot = BotServer(webhook_settings(tmp_path), request=request_, clock=clock)
    await bot.start()
    subscribe = api.updates.message_update("/subscribe harbour", chat_id=530, user_id=530)
    assert await delivery(bot).deliver([subscribe]) == {subscribe["update_id"]: 200}
    clock.now += timedelta(seconds=1)  # the confirmation counts against the chat's 1 a second
    services = bot.application.bot_data.services
    assert services is not None
    # A new installation alerts about articles stored after its matcher's first look: wait
    # for that look, or the article below may be taken for part of the existing archive.
    await matcher_started(bot_db(tmp_path))
    request_.hold()
    article = RawArticle("Harbour reopens after storm", "Ships sail again. Crews cheer.")
    await services.ingest.ingest([(article, "test")])
    await request_.held()  # the alert loop is sending it
    stopping = asyncio.create_task(bot.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    request_.release()
    await stopping
    (_, alert) = api.sent_messages(530)
    assert "Harbour reopens after storm" in alert["text"]
    engine = create_engine(bot_db(tmp_path))
    async with create_session_factory(engine)() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    await engine.dispose()
    assert statuses == ["sent"]


async def test_allowed_updates_are_the_types_some_handler_takes(
    tmp_path: Path, api: FakeBotApi
) -> None:
    """setWebhook's allowed_updates: asking for fewer would lose updates, more would waste."""
    app = BotServer(webhook_settings(tmp_path), request=FakeRequest(api)).application
    await app.bot.initialize()  # commands are matched against the bot's username
    updates = api.updates
    message = updates.message_update("/help", chat_id=540, user_id=540)["message"]
    channel_post = {**updates.message_update("/help", chat_id=-1005400)["message"]}
    channel_post["chat"] = {"id": -1005400, "type": "channel", "title": "News"}
    channel_post.pop("from", None)
    member = updates.my_chat_member_update(-541, "left", "member")["my_chat_member"]
    samples = {
        "message": message,
        "edited_message": {**message, "edit_date": message["date"] + 1},
        "channel_post": channel_post,
        "edited_channel_post": {**channel_post, "edit_date": channel_post["date"] + 1},
        "callback_query": updates.callback_query_update("pg:1:5", 1, chat_id=540)["callback_query"],
        "inline_query": updates.inline_query_update("harbour")["inline_query"],
        "my_chat_member": member,
        "chat_member": member,
    }
    # The log-context and language groups take every update only to name it in log lines
    # and to choose its language.
    early = {LOG_CONTEXT_GROUP, LANGUAGE_GROUP}
    handlers = [h for g, group in app.handlers.items() if g not in early for h in group]
    taken = {
        kind
        for kind, payload in samples.items()
        if any(
            h.check_update(Update.de_json({"update_id": 1, kind: payload}, app.bot))
            for h in handlers
        )
    }
    await app.bot.shutdown()
    assert taken == set(ALLOWED_UPDATES)
