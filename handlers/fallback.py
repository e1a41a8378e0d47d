"""Answers for what no other handler takes: unknown commands, and non-text private messages.

In groups the bot keeps quiet about a command unless it names this bot (``/cmd@thisbot``):
a bare ``/cmd`` there, or ``/cmd@otherbot``, is most likely meant for another bot.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from html import escape
from typing import Any

from rapidfuzz import fuzz, process
from telegram import Chat, Message, Update

from handlers.context import NewsContext
from handlers.i18n import N_, _

# fuzz.ratio of a typo to the command it meant: "serch" 91, "qiet" 89, "saerch" 83, but
# "language" to "latest" only 43: below this, suggesting a command would only confuse.
_TYPO_SCORE = 80
_MAX_SHOWN = 40  # characters of an unknown command echoed back
NOT_TEXT = N_(
    "I can only read text. Send me some words to search the news, or /help to see what I do."
)


def closest_command(name: str, known: Iterable[str]) -> str | None:
    """The known command a mistyped name most likely meant, or None."""
    match = process.extractOne(
        name.lower(), list(known), scorer=fuzz.ratio, score_cutoff=_TYPO_SCORE
    )
    return match[0] if match else None


def render_unknown_command(name: str, suggestion: str | None) -> str:
    shown = escape(name[:_MAX_SHOWN] + ("…" if len(name) > _MAX_SHOWN else ""))
    if suggestion is None:
        return _("I don't know the command /{command}. Send /help to see what I can do.").format(
            command=shown
        )
    return _(
        "I don't know the command /{command}. Did you mean /{suggestion}? "
        "Send /help to see what I can do."
    ).format(command=shown, suggestion=suggestion)


def _command_of(message: Message) -> tuple[str, str | None] | None:
    """(command, addressee) of a message starting with a bot command, e.g. ("serch", "x_bot")."""
    entities = message.entities
    text = message.text or ""
    if not entities or entities[0].type != "bot_command" or entities[0].offset != 0:
        return None
    name, _, addressee = text[1 : entities[0].length].partition("@")
    return name, addressee or None


def make_unknown_command_handler(
    known: Iterable[str],
) -> Callable[[Update, NewsContext], Coroutine[Any, Any, None]]:
    """The last command handler: a pointer to /help, with the closest command on a typo."""
    names = tuple(known)

    async def on_unknown_command(update: Update, context: NewsContext) -> None:
        message = update.effective_message
        if message is None:
            return
        parsed = _command_of(message)
        if parsed is None:
            return
        name, addressee = parsed
        bot_name = context.bot.username or ""
        mine = addressee is not None and addressee.lower() == bot_name.lower()
        if message.chat.type != Chat.PRIVATE and not mine:
            return
        shown = name if mine or addressee is None else f"{name}@{addressee}"
        suggestion = closest_command(name, names) if name else None
        await message.reply_html(render_unknown_command(shown, suggestion), do_quote=False)

    return on_unknown_command


async def on_not_text(update: Update, context: NewsContext) -> None:
    """A photo, sticker, voice note... in a private chat: say what the bot can read."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(_(NOT_TEXT), do_quote=False)
