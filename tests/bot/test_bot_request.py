"""The Bot API transport over real HTTP: many requests at once across its small pools."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.request import BotApiRequest, SpreadTransport
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

TOKEN = "123456:TEST-token-never-logged"


async def test_many_sends_at_once_all_go_through_small_pools() -> None:
    api = FakeBotApi()
    api.set_latency(0.05)  # so that they overlap
    transport = SpreadTransport(40, per_pool=8)
    request = BotApiRequest(40, httpx_kwargs={"transport": transport})
    async with FakeBotApiServer(api) as server:
        async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
            chats = range(1, 121)
            await asyncio.gather(*(bot.send_message(chat, f"to {chat}") for chat in chats))
            # Five pools of eight: the 40 at once were spread over all of them.
            assert transport.in_flight == (0,) * 5  # every answer was read and counted back
        # Shut down and started again (as python-telegram-bot may): fresh pools, still working.
        async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
            await bot.send_message(7, "again")
    assert all(len(api.sent_messages(chat)) == 1 for chat in chats if chat != 7)
    assert [m["text"] for m in api.sent_messages(7)] == ["to 7", "again"]


async def test_a_pool_never_holds_more_than_its_share() -> None:
    api = FakeBotApi()
    api.set_latency(0.05)
    transport = SpreadTransport(16, per_pool=8)
    peaks = [0, 0]
    async with (
        FakeBotApiServer(api) as server,
        Bot(
            TOKEN,
            base_url=server.base_url,
            request=BotApiRequest(16, httpx_kwargs={"transport": transport}),
        ) as bot,
    ):

        async def send(chat: int) -> None:
            task = asyncio.create_task(bot.send_message(chat, "hi"))
            while not task.done():
                if busy := transport.in_flight:
                    peaks[:] = [max(p, b) for p, b in zip(peaks, busy, strict=True)]
                await asyncio.sleep(0.005)
            await task

        await asyncio.gather(*(send(chat) for chat in range(1, 17)))
    assert peaks == [8, 8]
