"""The alert sender's own HTTP/1.1 transport (bot/alert_http.py), over real sockets: the same
bytes on the wire as python-telegram-bot's httpx transport, answers of every framing read,
connections kept and reused, and each failure raised as HTTPXRequest raises it, so that
delivery_errors.fate_of still tells "never left" from "may have arrived"."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.alert_http import AlertRequest, form_encoded
from bot.request import BotApiRequest
from handlers.delivery_errors import Fate, fate_of
from handlers.sender import TelegramAlertSender
from services.alerts.delivery import Outcome
from services.articles import ArticleView
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

TOKEN = "123456:TEST-token-never-logged"
MESSAGE = b'{"ok":true,"result":{"message_id":7}}'
# An answer script: given the connection's streams, reads a request and writes what it likes.
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def ok(body: bytes = MESSAGE, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One whole request (head and Content-Length body), as it came."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


class RawServer:
    """A TCP server on 127.0.0.1 running ``script`` for each connection; keeps what came."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def answering(*answers: bytes, then_close: bool = False) -> RawServer:
    """A server answering each request on a connection with the next of ``answers``, in
    turn (with ``then_close``, closing the connection after the last)."""
    server: RawServer

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            for answer in answers:
                server.requests.append(await read_request(reader))
                writer.write(answer)
                await writer.drain()
            if then_close:
                return

    server = RawServer(script)
    return server


def params(text: str = "Harbour strike & <b>day 1</b> — quay ünïcode?") -> RequestData:
    return RequestData(
        [
            RequestParameter("chat_id", "701", None),
            RequestParameter("text", text, None),
            RequestParameter("parse_mode", "HTML", None),
            RequestParameter("link_preview_options", json.dumps({"is_disabled": False}), None),
        ]
    )


@given(st.dictionaries(st.text(), st.text()))
def test_the_form_encoding_is_urllibs(parameters: dict[str, str]) -> None:
    assert form_encoded(parameters) == urlencode(parameters).encode()


@given(st.lists(st.dictionaries(st.text(), st.text(min_size=60)), max_size=5))
def test_long_values_kept_from_one_request_encode_the_next_the_same(
    requests: list[dict[str, str]],
) -> None:
    memo: dict[str, bytes] = {}
    for parameters in requests:
        assert form_encoded(parameters, memo) == urlencode(parameters).encode()


@pytest.fixture
async def request_() -> AsyncIterator[AlertRequest]:
    request = AlertRequest(4, connect_timeout=5, read_timeout=5, write_timeout=5)
    async with request:
        yield request


async def test_the_bytes_sent_are_httpx_s_but_for_the_headers_it_adds() -> None:
    async with answering(ok()) as server:
        async with BotApiRequest(4) as httpx_request:
            await httpx_request.post(server.url, params())
        async with AlertRequest(4) as ours:
            await ours.post(server.url, params())
    theirs, mine = (request.split(b"\r\n\r\n", 1) for request in server.requests)
    assert mine[1] == theirs[1]  # the form-encoded body, byte for byte

    def headers(head: bytes) -> dict[bytes, bytes]:
        lines = head.split(b"\r\n")
        assert lines[0] == f"POST /bot{TOKEN}/sendMessage HTTP/1.1".encode()
        return {k.lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}

    theirs_h, mine_h = headers(theirs[0]), headers(mine[0])
    for name in (b"host", b"user-agent", b"content-type", b"content-length", b"accept"):
        assert mine_h[name] == theirs_h[name]
    # httpx adds these two; neither changes what Telegram does with the request.
    assert set(theirs_h) - set(mine_h) <= {b"accept-encoding", b"connection"}


async def test_one_connection_serves_request_after_request(request_: AlertRequest) -> None:
    async with answering(ok()) as server:
        for _ in range(5):
            assert await request_.post(server.url, params()) == {"message_id": 7}
    assert server.connections == 1
    assert len(server.requests) == 5


@pytest.mark.parametrize(
    "answer",
    [
        # chunked, with an extension and a trailer
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;x=y\r\n"
        + MESSAGE[:5]
        + b"\r\n"
        + f"{len(MESSAGE) - 5:x}\r\n".encode()
        + MESSAGE[5:]
        + b"\r\n0\r\nX-Trailer: 1\r\n\r\n",
        # an interim answer first
        b"HTTP/1.1 100 Continue\r\n\r\n" + ok(),
        # HTTP/1.0, no length: the body runs to the connection's end
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + MESSAGE,
        ok(extra="Connection: close\r\n"),
    ],
    ids=["chunked", "100-continue", "until-closed", "connection-close"],
)
async def test_answers_of_any_framing_are_read(request_: AlertRequest, answer: bytes) -> None:
    keeps = b"chunked" in answer or b"Continue" in answer
    async with answering(answer, then_close=not keeps) as server:
        for _ in range(3):
            assert await request_.post(server.url, params()) == {"message_id": 7}
    # Kept when the answer allows it; otherwise a new connection for each request.
    assert server.connections == (1 if keeps else 3)


async def test_an_answer_in_pieces_is_put_together(request_: AlertRequest) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for byte in ok():
            writer.write(bytes([byte]))
            await writer.drain()
        await reader.read()

    async with RawServer(script) as server:
        assert await request_.post(server.url, params()) == {"message_id": 7}


async def test_an_error_answer_raises_what_python_telegram_bot_raises(
    request_: AlertRequest,
) -> None:
    body = b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'
    answer = f"HTTP/1.1 400 Bad Request\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    async with answering(answer) as server:
        with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
            await request_.post(server.url, params())
        # The connection is still good for the next one.
        with pytest.raises(BadRequest):
            await request_.post(server.url, params())
    assert server.connections == 1


async def failure(request: BaseRequest, url: str) -> NetworkError:
    with pytest.raises(NetworkError) as raised:
        await request.post(url, params())
    return raised.value


async def test_nothing_listening_never_left(request_: AlertRequest) -> None:
    async with answering(ok()) as server:
        url = server.url
    error = await failure(request_, url)  # the server is gone: the port refuses
    assert fate_of(error) is Fate.NOT_SENT
    assert request_.open_connections == 0


async def close_after_reading(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
    await read_request(reader)


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"SMTP ready\r\n\r\n")
    await writer.drain()
    await reader.read()


async def half_an_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(ok()[:-5])
    await writer.drain()


@pytest.mark.parametrize(
    "script",
    [close_after_reading, garbage, half_an_answer],
    ids=["closed-unanswered", "not-http", "cut-short"],
)
async def test_a_request_out_without_a_whole_answer_may_have_arrived(
    request_: AlertRequest, script: Script
) -> None:
    async with RawServer(script) as server:
        error = await failure(request_, server.url)
    assert not isinstance(error, TimedOut)
    assert fate_of(error) is Fate.MAYBE_SENT


async def test_no_answer_in_time_may_have_arrived() -> None:
    async def silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()

    request = AlertRequest(4, read_timeout=0.1)
    async with request, RawServer(silent) as server:
        error = await failure(request, server.url)
        assert isinstance(error, TimedOut)
        assert fate_of(error) is Fate.MAYBE_SENT


async def test_a_full_pool_never_sends() -> None:
    answered = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answered.wait()
        writer.write(ok())
        await writer.drain()
        await reader.read()

    request = AlertRequest(1, pool_timeout=0.05)
    async with request, RawServer(held) as server:
        first = asyncio.create_task(request.post(server.url, params()))
        while server.connections == 0:  # noqa: ASYNC110 (the server's count, no event)
            await asyncio.sleep(0.01)
        error = await failure(request, server.url)
        assert isinstance(error, TimedOut)
        assert fate_of(error) is Fate.NOT_SENT
        answered.set()
        assert await first == {"message_id": 7}
    assert server.connections == 1


async def test_a_waiting_request_gets_the_connection_handed_back() -> None:
    async with answering(ok()) as server, AlertRequest(1, pool_timeout=None) as request:
        results = await asyncio.gather(*(request.post(server.url, params()) for _ in range(6)))
    assert results == [{"message_id": 7}] * 6
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    request_: AlertRequest,
) -> None:
    async with answering(ok(), then_close=True) as server:
        await request_.post(server.url, params())
        # Until asyncio has seen the server close it (a count of ours, no event to wait on).
        while request_.open_connections:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert await request_.post(server.url, params()) == {"message_id": 7}
    assert server.connections == 2


async def test_alerts_go_through_it_to_the_stand_in() -> None:
    api = FakeBotApi()
    api.set_latency(0.02)  # so that they overlap
    at = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    article = ArticleView(
        1, "ext-1", "Harbour strike", "Dock workers stayed out.", None, "w", at, at
    )
    async with (
        FakeBotApiServer(api) as server,
        Bot(TOKEN, base_url=server.base_url) as bot,
        AlertRequest(8) as request,
    ):
        sender = TelegramAlertSender(bot, paid_broadcast=True, request=request)
        results = await asyncio.gather(
            *(sender.send(chat, 0, [article], "off") for chat in range(10, 50))
        )
        assert {result.outcome for result in results} == {Outcome.SENT}
        assert request.open_connections <= 8
        api.block(5)
        gone = await sender.send(5, 0, [article], "off")  # Forbidden: blocked by the user
    assert gone.outcome is Outcome.CHAT_GONE
    assert all(len(api.sent_messages(chat)) == 1 for chat in range(10, 50))
    assert all(call.params["allow_paid_broadcast"] for call in api.calls_to("sendMessage"))


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, and its key (made with the openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_over_tls_the_connection_is_verified_and_kept(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    server = answering(ok())
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=served)
    port = listening.sockets[0].getsockname()[1]
    url = f"https://localhost:{port}/bot{TOKEN}/sendMessage"
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with AlertRequest(4, tls=trusting) as request:
            for _ in range(3):
                assert await request.post(url, params()) == {"message_id": 7}
        assert server.connections == 1
        assert server.requests[0].startswith(b"POST /bot")
        assert f"Host: localhost:{port}".encode() in server.requests[0]
        # Not trusted (certifi's authorities did not sign it): it never left.
        async with AlertRequest(4) as untrusting:
            error = await failure(untrusting, url)
        assert fate_of(error) is Fate.NOT_SENT
    finally:
        listening.close()
