"""Telegram's side of a webhook: POST updates with the secret token, as the Bot API does.

The Bot API sends a chat's next update only after the previous one was acknowledged with a
2xx answer, and different chats' updates side by side over up to max_connections
connections. deliver() does the same, so a test sees what a real deployment would.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from tests.helpers.update_queue import update_kind

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
JSON = dict[str, Any]


def chat_key(update: Mapping[str, Any]) -> int | str:
    """The chat an update belongs to (its sender for inline queries)."""
    payload = update[update_kind(update)]
    message = payload.get("message") if "data" in payload else payload
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        return int(message["chat"]["id"])
    sender = payload.get("from")
    return f"user:{sender['id']}" if isinstance(sender, dict) else "none"


class WebhookDelivery:
    def __init__(self, url: str, secret: str | None, *, max_connections: int = 40) -> None:
        self.url = url
        self.secret = secret
        self.max_connections = max_connections

    async def post(self, session: aiohttp.ClientSession, update: Mapping[str, Any]) -> int:
        """One delivery attempt; the HTTP status it got."""
        headers = {SECRET_HEADER: self.secret} if self.secret is not None else {}
        async with session.post(self.url, json=dict(update), headers=headers) as response:
            await response.read()
            return response.status

    async def deliver(self, updates: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """Deliver every update (per chat in order, chats side by side); update_id -> status."""
        by_chat: defaultdict[int | str, list[Mapping[str, Any]]] = defaultdict(list)
        for update in updates:
            by_chat[chat_key(update)].append(update)
        statuses: dict[int, int] = {}
        gate = asyncio.Semaphore(self.max_connections)
        connector = aiohttp.TCPConnector(limit=self.max_connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one_chat(queue: list[Mapping[str, Any]]) -> None:
                for update in queue:
                    async with gate:
                        statuses[int(update["update_id"])] = await self.post(session, update)

            await asyncio.gather(*(one_chat(queue) for queue in by_chat.values()))
        return statuses

    def deliver_blocking(self, updates: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """deliver() for synchronous tests (around subprocesses)."""
        return asyncio.run(self.deliver(updates))
