"""FakeBotApiServer: request encodings, tokens, thread mode and shutdown with pending polls."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import telegram
from telegram.error import InvalidToken

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_files import UploadedFile
from tests.helpers.botapi_server import FakeBotApiServer

TOKEN = "123:ABC"


async def test_accepts_json_form_multipart_and_query_encodings(api: FakeBotApi) -> None:
    async with FakeBotApiServer(api) as server, httpx.AsyncClient() as client:
        url = f"{server.base_url}{TOKEN}/sendMessage"
        as_json = await client.post(url, json={"chat_id": 1, "text": "json"})
        as_form = await client.post(url, data={"chat_id": "2", "text": "form"})
        as_multipart = await client.post(
            url, data={"chat_id": "3", "text": "multipart"}, files={"photo": ("a.jpg", b"\xff")}
        )
        as_query = await client.get(url, params={"chat_id": "4", "text": "query"})
    for response in (as_json, as_form, as_multipart, as_query):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
    assert [(m["chat"]["id"], m["text"]) for m in api.sent_messages()] == [
        (1, "json"),
        (2, "form"),
        (3, "multipart"),
        (4, "query"),
    ]
    assert api.calls[2].params["photo"] == UploadedFile("a.jpg", b"\xff", "image/jpeg")


async def test_error_status_and_body_on_the_wire(api: FakeBotApi) -> None:
    async with FakeBotApiServer(api) as server, httpx.AsyncClient() as client:
        response = await client.post(f"{server.base_url}{TOKEN}/sendMessage", data={"text": "x"})
        unknown = await client.post(f"{server.base_url}{TOKEN}/noSuchMethod")
        bad_json = await client.post(
            f"{server.base_url}{TOKEN}/getMe",
            content=b"[1",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is empty",
    }
    assert unknown.status_code == 404
    assert bad_json.status_code == 400


async def test_wrong_token_raises_invalid_token() -> None:
    api = FakeBotApi(token=TOKEN)
    async with FakeBotApiServer(api) as server:
        async with telegram.Bot(TOKEN, base_url=server.base_url) as bot:
            assert (await bot.get_me()).id == 12345
        with pytest.raises(InvalidToken):  # raised by Bot.initialize's getMe
            async with telegram.Bot("999:WRONG", base_url=server.base_url):
                pass


async def test_stop_answers_pending_long_polls(api: FakeBotApi) -> None:
    server = FakeBotApiServer(api)
    await server.start()
    async with httpx.AsyncClient(timeout=30) as client:
        poll = asyncio.create_task(
            client.post(f"{server.base_url}{TOKEN}/getUpdates", data={"timeout": "30"})
        )
        await api.wait_for_poll()
        started = time.monotonic()
        await server.stop()
        response = await poll
    assert time.monotonic() - started < 3
    assert response.json() == {"ok": True, "result": []}
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_thread_mode_serves_blocking_clients(api: FakeBotApi) -> None:
    with FakeBotApiServer(api) as server:
        base_url = server.base_url
        me = httpx.post(f"{base_url}{TOKEN}/getMe").json()
        api.push_update(api.updates.message_update("/start"))
        updates = httpx.post(f"{base_url}{TOKEN}/getUpdates", data={"timeout": "1"}).json()
        httpx.post(f"{base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "hi"})
        [call] = api.wait_for_calls_blocking("sendMessage", within=5)
    assert me["result"]["username"] == "newsbot_test_bot"
    assert updates["result"][0]["message"]["text"] == "/start"
    assert call.params == {"chat_id": 5, "text": "hi"}
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{base_url}{TOKEN}/getMe")


async def test_push_from_another_thread_wakes_long_poll(api: FakeBotApi) -> None:
    with FakeBotApiServer(api) as server:  # the server's loop runs in its own thread
        async with telegram.Bot(TOKEN, base_url=server.base_url) as bot:

            async def push_later() -> None:
                await asyncio.sleep(0.2)
                api.push_update(api.updates.message_update("wake up"))

            started = time.monotonic()
            pusher = asyncio.create_task(push_later())
            updates = await bot.get_updates(timeout=10)
            await pusher
    assert time.monotonic() - started < 3
    assert [u.effective_message.text for u in updates if u.effective_message] == ["wake up"]


_CHILD_BOT = """
import os
from telegram.ext import ApplicationBuilder, CommandHandler

async def start(update, context):
    await update.effective_message.reply_text("pong")

app = ApplicationBuilder().token("123:ABC").base_url(os.environ["TELEGRAM_API_BASE_URL"]).build()
app.add_handler(CommandHandler("start", start))
app.run_polling(timeout=1, poll_interval=0)
"""


def test_subprocess_bot_polls_the_threaded_server(api: FakeBotApi) -> None:
    with FakeBotApiServer(api) as server:
        env = {**os.environ, "TELEGRAM_API_BASE_URL": server.base_url}
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_BOT], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            api.push_update(api.updates.message_update("/start", user_id=31))
            [reply] = api.wait_for_calls_blocking("sendMessage", within=20)
            child.send_signal(signal.SIGINT)  # run_polling's graceful shutdown
            _, stderr = child.communicate(timeout=20)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
    assert child.returncode == 0, stderr
    assert reply.params == {"chat_id": 31, "text": "pong"}
    assert api.pending_updates() == []
