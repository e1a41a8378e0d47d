"""A typed callback context: handlers reach the services as ``context.services``."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from services.container import Services


class BotData:
    """The application's shared state; ``services`` is set when the application starts."""

    def __init__(self) -> None:
        self.services: Services | None = None
        # Telegram user ids allowed to manage feeds (the ADMIN_USER_IDS setting).
        self.admin_user_ids: frozenset[int] = frozenset()


class NewsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not ready: the application has not started")
        return services
