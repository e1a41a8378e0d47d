"""Catch a bot token in any log line a test produces.

Every telegram.Bot built during the test registers its token; every record that reaches the
root logger at INFO or above (the level `newsbot run` logs at, with the same third-party
loggers quieted) is formatted, traceback included, and searched for those tokens. Records are
checked before the product's RedactingFilter would run, so redaction is a second line of
defence, never the reason a test passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import telegram

from bot.logs import QUIET_UNLESS_DEBUG, quiet_noisy_loggers


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class TokenScanner:
    """Collects tokens and log lines; leaks() names the lines that show a token."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.tokens: set[str] = set()
        self._handler = _Collect()
        self._logger = logger or logging.getLogger()  # the root logger sees every line

    @property
    def lines(self) -> list[str]:
        return self._handler.lines

    def leaks(self) -> list[str]:
        return [line for line in self.lines if any(t in line for t in self.tokens)]

    @contextmanager
    def watching(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        original_init = telegram.Bot.__init__
        tokens = self.tokens

        def recording_init(bot: telegram.Bot, *args: Any, **kwargs: Any) -> None:
            token = kwargs.get("token", args[0] if args else None)
            if token:
                tokens.add(str(token))
            original_init(bot, *args, **kwargs)

        monkeypatch.setattr(telegram.Bot, "__init__", recording_init)
        watched = self._logger
        names = (watched.name, "httpx", "httpcore", *QUIET_UNLESS_DEBUG)
        saved = {name: logging.getLogger(name).level for name in names}
        watched.addHandler(self._handler)
        if watched.getEffectiveLevel() > logging.INFO:
            watched.setLevel(logging.INFO)
        quiet_noisy_loggers(logging.INFO)
        try:
            yield
        finally:
            watched.removeHandler(self._handler)
            for name, level in saved.items():
                logging.getLogger(name).setLevel(level)
