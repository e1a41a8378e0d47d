"""The HTTP transport to the Bot API: python-telegram-bot's own, quieter about bad answers."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from handlers.delivery_errors import INVALID_RESPONSE

log = logging.getLogger(__name__)


class BotApiRequest(HTTPXRequest):
    """HTTPXRequest, but an answer that is not JSON is no traceback in the log: the caller
    treats it as "may have been delivered" and says so itself, in one line (the error
    handler for replies, the alert sender for alerts)."""

    __slots__ = ()

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            parsed: dict[str, Any] = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            log.debug("the Bot API answered %d bytes that are not JSON", len(payload))
            raise TelegramError(INVALID_RESPONSE) from None
        return parsed
