"""One typed settings object, read from the environment once, at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///newsbot.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DEFAULT_HTTP_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_HTTP_PORT = 8080
# Telegram's own default; it opens at most this many connections to deliver updates.
DEFAULT_WEBHOOK_MAX_CONNECTIONS = 40
# What Telegram accepts as a webhook secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SERVER_PATHS = ("/healthz", "/readyz", "/metrics")

# Telegram's overall limits for one bot, without and with paid broadcasts.
TELEGRAM_PER_SECOND = 30
PAID_BROADCAST_PER_SECOND = 1000
MAX_IN_FLIGHT = 200


class SettingsError(ValueError):
    """The environment does not describe a runnable bot; the message says what to set."""


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    telegram_bot_token: Secret | None = None
    # For a self-hosted Bot API server; the library appends the token to these.
    telegram_api_base_url: str | None = None
    telegram_api_base_file_url: str | None = None
    search_index_dir: Path | None = None
    admin_user_ids: frozenset[int] = field(default_factory=frozenset)
    # None: INFO for `run` and `worker`, WARNING for the one-shot commands (quiet by default).
    log_level: str | None = None
    log_format: str = "text"  # or "json": one JSON object per line
    # Seconds each Bot API call may take (python-telegram-bot's default is 5).
    telegram_timeout: float = 5.0
    # Alerts: whether `newsbot run` also matches and sends them (off when a separate
    # `newsbot worker` does), and the overall send rate (Telegram allows about 30/s).
    alerts_in_bot: bool = True
    alert_rate_per_second: float = 29.0
    # Sends in flight at once, each holding its slot from its "sending" commit to its "sent"
    # one: at 250 ms per Bot API round trip the fan-out bench used 15 of 16 (all 12 of 12).
    alert_max_in_flight: int = 16
    # Paid broadcasts (enabled with @BotFather, paid in Telegram Stars) lift the overall
    # ceiling to 1000/s; per-chat and per-group limits stay.
    alert_paid_broadcast: bool = False
    feed_allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    # Feeds polled at once by each process that polls feeds (a hanging one holds a slot
    # for its 20 s timeout, so this is what keeps slow sites from starving the rest).
    feed_concurrency: int = 64
    # Processes that parse feeds and clean their entries for a polling process (0: in it).
    feed_parse_processes: int = 0
    # Feeds each chat may follow with /follow.
    follow_limit: int = 20
    # Per-sender throttle: this many commands back to back, then one per interval (burst 0: off).
    command_burst: int = 2
    command_interval_seconds: float = 1.0
    # Webhook mode (WEBHOOK_URL set) and the one HTTP server (webhook, health, metrics).
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    webhook_max_connections: int = DEFAULT_WEBHOOK_MAX_CONNECTIONS
    http_listen: str = DEFAULT_HTTP_LISTEN
    http_port: int | None = None  # None: 8080 in webhook mode, no server in polling mode

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        index_dir = env.get("SEARCH_INDEX_DIR", "").strip()
        paid = _parse_bool(env.get("ALERT_PAID_BROADCAST", "false"), "ALERT_PAID_BROADCAST")
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            telegram_bot_token=Secret(token) if token else None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or None,
            telegram_api_base_file_url=env.get("TELEGRAM_API_BASE_FILE_URL", "").strip() or None,
            search_index_dir=Path(index_dir) if index_dir else None,
            admin_user_ids=_parse_ids(env.get("ADMIN_USER_IDS", ""), "ADMIN_USER_IDS"),
            log_level=_parse_level(env.get("LOG_LEVEL", "")),
            log_format=_parse_choice(env.get("LOG_FORMAT", ""), "LOG_FORMAT", LOG_FORMATS),
            telegram_timeout=_parse_seconds(env.get("TELEGRAM_TIMEOUT", ""), "TELEGRAM_TIMEOUT"),
            alerts_in_bot=_parse_bool(env.get("ALERTS_IN_BOT", "true"), "ALERTS_IN_BOT"),
            alert_rate_per_second=_parse_rate(env.get("ALERT_RATE_PER_SECOND", "29"), paid),
            alert_max_in_flight=_whole_number(env, "ALERT_MAX_IN_FLIGHT", 1, MAX_IN_FLIGHT, 16),
            alert_paid_broadcast=paid,
            feed_allowed_hosts=frozenset(
                h.strip().lower() for h in env.get("FEED_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            feed_concurrency=_whole_number(env, "FEED_CONCURRENCY", 1, MAX_FEED_CONCURRENCY, 64),
            feed_parse_processes=_whole_number(
                env, "FEED_PARSE_PROCESSES", 0, MAX_FEED_PARSE_PROCESSES, 0
            ),
            follow_limit=_whole_number(env, "FOLLOW_LIMIT", 1, MAX_FOLLOW_LIMIT, 20),
            command_burst=_whole_number(env, "COMMAND_BURST", 0, MAX_COMMAND_BURST, 2),
            command_interval_seconds=_parse_number(
                env.get("COMMAND_INTERVAL_SECONDS", "1"), "COMMAND_INTERVAL_SECONDS"
            ),
            **_http_settings(env),
        )

    def require_token(self) -> Secret:
        if self.telegram_bot_token is None:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: "
                "export the token @BotFather gave you and start again."
            )
        return self.telegram_bot_token

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    def server_port(self) -> int | None:
        """The HTTP server's port, or None when this process serves no HTTP at all."""
        if self.http_port is not None:
            return self.http_port
        return DEFAULT_WEBHOOK_HTTP_PORT if self.webhook_mode else None

    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the HTTP server takes Telegram's updates."""
        return urlsplit(self.webhook_url or "").path or "/"

    def index_path(self) -> Path:
        """Where this process keeps its search index (beside a SQLite file by default)."""
        if self.search_index_dir is not None:
            return self.search_index_dir
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :] + ".index")
        return Path("newsbot-index")


def _parse_ids(raw: str, name: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated Telegram user ids, not {part!r}"
            ) from None
    return frozenset(ids)


def _parse_bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _parse_rate(raw: str, paid_broadcast: bool) -> float:
    ceiling = PAID_BROADCAST_PER_SECOND if paid_broadcast else TELEGRAM_PER_SECOND
    try:
        rate = float(raw)
    except ValueError:
        rate = 0.0
    if not 0 < rate <= ceiling:
        hint = "" if paid_broadcast else " (up to 1000 with ALERT_PAID_BROADCAST=true)"
        raise SettingsError(
            f"ALERT_RATE_PER_SECOND must be a number above 0 and at most {ceiling}{hint}, "
            f"not {raw!r}"
        )
    return rate


def _parse_level(raw: str) -> str | None:
    level = raw.strip().upper()
    if not level:
        return None
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return level


def _parse_choice(raw: str, name: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _parse_seconds(raw: str, name: str, default: float = 5.0) -> float:
    if not raw.strip():
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise SettingsError(f"{name} must be a number of seconds above 0, at most 600, not {raw!r}")
    return seconds


MAX_FEED_CONCURRENCY = 1000


MAX_FEED_PARSE_PROCESSES = 32
MAX_FOLLOW_LIMIT = 1000
MAX_COMMAND_BURST = 3600


def _whole_number(env: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    """A bounded whole-number setting; unset or blank means the default."""
    value = _parse_int(env.get(name, ""), name, low, high, default)
    return default if value is None else value


def _parse_number(raw: str, name: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 3600:
        raise SettingsError(f"{name} must be a number from 0 to 3600, not {raw!r}")
    return number


def _http_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_MAX_CONNECTIONS, HTTP_LISTEN and HTTP_PORT."""
    url = env.get("WEBHOOK_URL", "").strip() or None
    secret = env.get("WEBHOOK_SECRET", "").strip()
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise SettingsError(
                f"WEBHOOK_URL must be an https:// URL without a query, like "
                f"https://bot.example.org/telegram, not {url!r}"
            )
        if parts.path in _SERVER_PATHS:
            raise SettingsError(f"WEBHOOK_URL's path must not be {parts.path}: the server has one")
        if not secret:
            raise SettingsError(
                "WEBHOOK_SECRET is not set: webhook mode needs a secret of 1-256 letters, "
                "digits, _ or -, e.g. from `openssl rand -hex 32`."
            )
    if secret and not _WEBHOOK_SECRET.fullmatch(secret):
        # Never echo the value: it is a secret even when it is a wrong one.
        raise SettingsError(
            f"WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -, "
            f"and the one given ({len(secret)} characters) is not."
        )
    return {
        "webhook_url": url,
        "webhook_secret": Secret(secret) if secret else None,
        "webhook_max_connections": _parse_int(
            env.get("WEBHOOK_MAX_CONNECTIONS", ""),
            "WEBHOOK_MAX_CONNECTIONS",
            1,
            100,
            DEFAULT_WEBHOOK_MAX_CONNECTIONS,
        ),
        "http_listen": env.get("HTTP_LISTEN", "").strip() or DEFAULT_HTTP_LISTEN,
        "http_port": _parse_int(env.get("HTTP_PORT", ""), "HTTP_PORT", 1, 65535, None),
    }


def _parse_int(raw: str, name: str, low: int, high: int, default: int | None) -> int | None:
    if not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return value
