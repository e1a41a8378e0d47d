"""Thin Telegram adapters: parse the update, call a service, render the answer."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from handlers.articles import cmd_article, cmd_help, cmd_latest, cmd_start
from handlers.errors import on_error
from handlers.feeds import cmd_addfeed, cmd_feeds, cmd_removefeed
from handlers.inline import on_inline_query
from handlers.search import cmd_search, on_page, on_text, on_unknown_button
from handlers.subscriptions import (
    cmd_digest,
    cmd_quiet,
    cmd_subscribe,
    cmd_subscriptions,
    cmd_timezone,
    cmd_unsubscribe,
    on_migration,
    on_my_chat_member,
    on_unsubscribe_button,
)

COMMANDS = (
    BotCommand("search", "Find articles (typos are fine)"),
    BotCommand("latest", "The newest articles"),
    BotCommand("article", "Show one article by its ID"),
    BotCommand("subscribe", "Alerts for new articles, optionally by keywords"),
    BotCommand("subscriptions", "This chat's subscriptions"),
    BotCommand("unsubscribe", "Stop a subscription (ID or all)"),
    BotCommand("digest", "One message per article, or an hourly/daily digest"),
    BotCommand("quiet", "Hold alerts during quiet hours, e.g. 22:00-07:00"),
    BotCommand("timezone", "This chat's time zone, e.g. Europe/Berlin"),
    BotCommand("help", "What this bot does"),
)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler to the application."""
    application.add_handler(CommandHandler("start", cmd_start))
    application.add_handler(CommandHandler("help", cmd_help))
    application.add_handler(CommandHandler("search", cmd_search))
    application.add_handler(CommandHandler("latest", cmd_latest))
    application.add_handler(CommandHandler("article", cmd_article))
    application.add_handler(CommandHandler("subscribe", cmd_subscribe))
    application.add_handler(CommandHandler("subscriptions", cmd_subscriptions))
    application.add_handler(CommandHandler("unsubscribe", cmd_unsubscribe))
    application.add_handler(CommandHandler("digest", cmd_digest))
    application.add_handler(CommandHandler("quiet", cmd_quiet))
    application.add_handler(CommandHandler("timezone", cmd_timezone))
    application.add_handler(CommandHandler("feeds", cmd_feeds))
    application.add_handler(CommandHandler("addfeed", cmd_addfeed))
    application.add_handler(CommandHandler("removefeed", cmd_removefeed))
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migration))
    application.add_handler(CallbackQueryHandler(on_page, pattern=r"^pg:"))
    application.add_handler(CallbackQueryHandler(on_unsubscribe_button, pattern=r"^unsub:"))
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    application.add_handler(InlineQueryHandler(on_inline_query))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text)
    )
    application.add_error_handler(on_error)
