"""The input side of Telegram's per-chat rate: a flood from one sender makes few replies.

Registered in an early handler group, the gate sees every command, private message and
button tap before any handler does. Its decision is taken before its first ``await``, so
with concurrent updates the bucket is still read and written by one update at a time.
A refused search is not lost: the sender's latest one is answered when a token is free.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Chat, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from handlers.context import NewsContext
from handlers.i18n import N_, _
from services.throttle import CommandThrottle, Verdict

log = logging.getLogger(__name__)

SLOW_DOWN = N_("You are sending messages faster than I can answer, so I am skipping some.")
SLOW_DOWN_SEARCH = N_(
    "You are sending messages faster than I can answer, so I am skipping some. "
    "I will answer your latest search in a moment."
)
SLOW_DOWN_BUTTON = N_("Slow down a little, please.")

Sleep = Callable[[float], Awaitable[None]]


def sender_of(update: Update) -> int | None:
    """Whose bucket pays: a private chat, else the user (or the chat posting anonymously)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is not None and chat.type == Chat.PRIVATE:
        return chat.id
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id
    user = update.effective_user
    return user.id if user is not None else None


def _is_command(message: Message) -> bool:
    entities = message.entities
    return bool(message.text and entities and entities[0].type == "bot_command")


def _is_search(message: Message) -> bool:
    """/search or a private plain-text message: the kinds where only the latest matters."""
    text = message.text or ""
    if not _is_command(message):
        return message.chat.type == Chat.PRIVATE and bool(text)
    command = text[1 : message.entities[0].length].split("@")[0].lower()
    return command == "search"


def _costs(update: Update) -> bool:
    """Updates that make the bot answer in a chat: commands, private messages, buttons."""
    if update.callback_query is not None:
        return True
    message = update.message or update.edited_message
    if message is None:
        return False
    return message.chat.type == Chat.PRIVATE or _is_command(message)


class ThrottleGate:
    """Admits, refuses or defers updates per sender with a CommandThrottle."""

    def __init__(self, throttle: CommandThrottle, sleep: Sleep = asyncio.sleep) -> None:
        self.throttle = throttle
        self._sleep = sleep
        self._deferred: dict[int, Update] = {}  # the latest refused search per sender
        self._released: set[int] = set()  # update ids let through by a deferred replay

    async def __call__(self, update: Update, context: NewsContext) -> None:
        """The group -1 handler: return to let the update through, raise to drop it."""
        if update.update_id in self._released:
            self._released.discard(update.update_id)
            return
        sender = sender_of(update)
        if sender is None or not _costs(update):
            return
        message = update.effective_message
        search = update.callback_query is None and message is not None and _is_search(message)
        if search and sender in self._deferred:
            self._deferred[sender] = update  # one replay is already waiting: newest wins
            raise ApplicationHandlerStop
        decision = self.throttle.check(sender)
        if decision.admitted:
            return
        if search:
            self._deferred[sender] = update
            context.application.create_task(
                self._replay(context.application, sender, decision.retry_in), update=update
            )
        if decision.verdict is Verdict.WARN:
            await self._warn(update, search)
        elif update.callback_query is not None:
            await self._answer_button(update)
        raise ApplicationHandlerStop

    async def _replay(
        self, application: Application[Any, Any, Any, Any, Any, Any], sender: int, wait: float
    ) -> None:
        """When the sender's bucket has a token again, handle their latest search."""
        while True:
            await self._sleep(wait)
            decision = self.throttle.check(sender)
            if decision.admitted:
                break
            wait = decision.retry_in
        update = self._deferred.pop(sender)
        self._released.add(update.update_id)
        await application.process_update(update)

    async def _warn(self, update: Update, search: bool) -> None:
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(_(SLOW_DOWN_BUTTON))
            elif update.effective_message is not None:
                text = SLOW_DOWN_SEARCH if search else SLOW_DOWN
                await update.effective_message.reply_text(_(text), do_quote=False)
        except TelegramError:
            log.warning("could not ask a sender to slow down", exc_info=True)

    async def _answer_button(self, update: Update) -> None:
        """A tapped button spins until answered; a refused tap still gets a quiet answer."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer(_(SLOW_DOWN_BUTTON))
        except TelegramError:
            log.warning("could not answer a refused button", exc_info=True)
