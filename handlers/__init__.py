"""Thin Telegram adapters: parse the update, call a service, render the answer."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.articles import cmd_article, cmd_help, cmd_latest, cmd_start
from handlers.channels import cmd_channels, on_chat_shared
from handlers.errors import on_error
from handlers.fallback import make_unknown_command_handler, on_not_text
from handlers.feeds import cmd_addfeed, cmd_feeds, cmd_removefeed
from handlers.follow import cmd_follow, on_follow_choice
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _, use_language
from handlers.inline import on_inline_query
from handlers.language import choose_language, cmd_language, on_language_button
from handlers.opml import register_opml
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
from handlers.throttle import ThrottleGate

# Before the throttle (whose warnings are translated too) and every other handler: the
# update's language is chosen once, here.
LANGUAGE_GROUP = -2
# Runs before the handlers (group 0), so a refused update reaches none of them.
THROTTLE_GROUP = -1
# The command menu; descriptions are translated for each language's setMyCommands.
COMMAND_DESCRIPTIONS = (
    ("search", N_("Find articles (typos are fine)")),
    ("latest", N_("The newest articles")),
    ("article", N_("Show one article by its ID")),
    ("subscribe", N_("Alerts for new articles, optionally by keywords")),
    ("follow", N_("Follow a feed here, optionally by keywords")),
    ("subscriptions", N_("This chat's subscriptions and followed feeds")),
    ("unsubscribe", N_("Stop a subscription (ID or all)")),
    ("export", N_("The feeds this chat follows, as an OPML file")),
    ("import", N_("Follow the feeds of an OPML file")),
    ("digest", N_("One message per article, or an hourly/daily digest")),
    ("quiet", N_("Hold alerts during quiet hours, e.g. 22:00-07:00")),
    ("timezone", N_("This chat's time zone, e.g. Europe/Berlin")),
    ("channels", N_("Channels you manage through me")),
    ("language", N_("The language I speak in this chat")),
    ("help", N_("What this bot does")),
)


def commands() -> tuple[BotCommand, ...]:
    """The command menu in the current language."""
    return tuple(BotCommand(name, _(description)) for name, description in COMMAND_DESCRIPTIONS)


def translated_menus() -> list[tuple[str, tuple[BotCommand, ...]]]:
    """(Telegram language code, the command menu in it) for each translated language.

    setMyCommands takes a two-letter ISO 639-1 code: pt_BR's menu is "pt"'s.
    """
    menus = []
    for code in LANGUAGES:
        if code != DEFAULT_LANGUAGE:
            with use_language(code):
                menus.append((code.split("_", 1)[0].lower(), commands()))
    return menus


# English: the menu for every language without one of its own.
COMMANDS = tuple(BotCommand(name, description) for name, description in COMMAND_DESCRIPTIONS)

# Subscription commands posted in a channel are its administrators' (CommandHandler alone
# looks at messages only).
_ALSO_IN_CHANNELS = filters.UpdateType.MESSAGES | filters.UpdateType.CHANNEL_POST
_CHANNEL_COMMANDS = frozenset(
    {
        "subscribe",
        "subscriptions",
        "unsubscribe",
        "digest",
        "quiet",
        "timezone",
        "language",
        "follow",
    }
)


def register(
    application: Application[Any, Any, Any, Any, Any, Any], gate: ThrottleGate | None = None
) -> None:
    """Add every handler to the application; ``gate`` throttles each sender first."""
    application.add_handler(TypeHandler(Update, choose_language), group=LANGUAGE_GROUP)
    if gate is not None:
        application.add_handler(TypeHandler(Update, gate), group=THROTTLE_GROUP)
    commands = {
        "start": cmd_start,
        "help": cmd_help,
        "search": cmd_search,
        "latest": cmd_latest,
        "article": cmd_article,
        "subscribe": cmd_subscribe,
        "subscriptions": cmd_subscriptions,
        "unsubscribe": cmd_unsubscribe,
        "digest": cmd_digest,
        "quiet": cmd_quiet,
        "timezone": cmd_timezone,
        "feeds": cmd_feeds,
        "addfeed": cmd_addfeed,
        "removefeed": cmd_removefeed,
        "channels": cmd_channels,
        "language": cmd_language,
        "follow": cmd_follow,
    }
    for name, callback in commands.items():
        also = _ALSO_IN_CHANNELS if name in _CHANNEL_COMMANDS else None
        application.add_handler(CommandHandler(name, callback, filters=also))
    register_opml(application)
    application.add_handler(MessageHandler(filters.StatusUpdate.CHAT_SHARED, on_chat_shared))
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migration))
    application.add_handler(CallbackQueryHandler(on_page, pattern=r"^pg:"))
    application.add_handler(CallbackQueryHandler(on_unsubscribe_button, pattern=r"^unsub:"))
    application.add_handler(CallbackQueryHandler(on_language_button, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(on_follow_choice, pattern=r"^fw:"))
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    application.add_handler(InlineQueryHandler(on_inline_query))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text)
    )
    # After every CommandHandler, so only commands none of them took arrive here.
    application.add_handler(
        MessageHandler(
            filters.COMMAND & filters.UpdateType.MESSAGES, make_unknown_command_handler(commands)
        )
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
            & ~filters.TEXT
            & ~filters.StatusUpdate.ALL,
            on_not_text,
        )
    )
    application.add_error_handler(on_error)
