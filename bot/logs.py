"""Logging set-up: text or JSON lines, the update being handled, and no bot token anywhere."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

REDACTED = "[REDACTED]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that talk too much at INFO. httpx logs every request URL, and Bot API URLs carry the
# token, so it stays at WARNING even at DEBUG; the others speak again at DEBUG.
ALWAYS_QUIET = ("httpx", "httpcore")
QUIET_UNLESS_DEBUG = ("alembic", "apscheduler", "telegram")


@dataclass(frozen=True, slots=True)
class UpdateIds:
    update_id: int | None
    chat_id: int | None


# The update this task is handling: python-telegram-bot handles each update in a task of its
# own (concurrent_updates), so a value set while handling one never shows on another's lines.
current_update: contextvars.ContextVar[UpdateIds | None] = contextvars.ContextVar(
    "current_update", default=None
)


class RedactingFilter(logging.Filter):
    """Replace secrets in a record's final message (arguments included) and its traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class UpdateContextFilter(logging.Filter):
    """Stamp each record with the chat and update being handled, unless it names its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_update.get()
        if ids is not None:
            if getattr(record, "update_id", None) is None:
                record.update_id = ids.update_id
            if getattr(record, "chat_id", None) is None:
                record.chat_id = ids.chat_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ chat_id, update_id, error)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("chat_id", "update_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def quiet_noisy_loggers(level: int) -> None:
    """Keep third-party chatter (and httpx's token-bearing URLs) out of an INFO log."""
    for name in ALWAYS_QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in QUIET_UNLESS_DEBUG:
        logging.getLogger(name).setLevel(logging.WARNING if level > logging.DEBUG else level)


def configure_logging(level: str, secrets: Iterable[str] = (), *, fmt: str = "text") -> None:
    """Send every log record to stderr, as text or JSON lines, with secrets replaced."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(UpdateContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers(root.level)
