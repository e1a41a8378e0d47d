"""Thin Telegram adapters: parse the update, call a service, render the answer."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from handlers.articles import cmd_article, cmd_help, cmd_latest, cmd_start
from handlers.errors import on_error
from handlers.inline import on_inline_query
from handlers.search import cmd_search, on_page, on_text, on_unknown_button

COMMANDS = (
    BotCommand("search", "Find articles (typos are fine)"),
    BotCommand("latest", "The newest articles"),
    BotCommand("article", "Show one article by its ID"),
    BotCommand("help", "What this bot does"),
)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler to the application."""
    application.add_handler(CommandHandler("start", cmd_start))
    application.add_handler(CommandHandler("help", cmd_help))
    application.add_handler(CommandHandler("search", cmd_search))
    application.add_handler(CommandHandler("latest", cmd_latest))
    application.add_handler(CommandHandler("article", cmd_article))
    application.add_handler(CallbackQueryHandler(on_page, pattern=r"^pg:"))
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    application.add_handler(InlineQueryHandler(on_inline_query))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text)
    )
    application.add_error_handler(on_error)
