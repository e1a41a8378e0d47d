"""WEBHOOK_URL, WEBHOOK_SECRET, HTTP_LISTEN and HTTP_PORT: defaults and clear refusals."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import Secret, Settings, SettingsError

HOOK = {"WEBHOOK_URL": "https://bot.example.org/tg/hook", "WEBHOOK_SECRET": "abc_DEF-123"}


def test_polling_by_default_with_no_server() -> None:
    settings = Settings.from_env({})
    assert not settings.webhook_mode
    assert settings.server_port() is None
    assert settings.http_listen == "127.0.0.1"


def test_polling_with_http_port_serves_health() -> None:
    settings = Settings.from_env({"HTTP_PORT": "9100", "HTTP_LISTEN": "0.0.0.0"})
    assert (settings.webhook_mode, settings.server_port(), settings.http_listen) == (
        False,
        9100,
        "0.0.0.0",
    )


def test_webhook_mode_defaults() -> None:
    settings = Settings.from_env(HOOK)
    assert settings.webhook_mode
    assert settings.server_port() == 8080
    assert settings.webhook_path() == "/tg/hook"
    assert settings.webhook_secret == Secret("abc_DEF-123")
    assert settings.webhook_max_connections == 40
    assert "abc_DEF" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_URL": HOOK["WEBHOOK_URL"]}, "WEBHOOK_SECRET is not set"),
        ({**HOOK, "WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET must be 1-256 characters"),
        ({**HOOK, "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET must be 1-256 characters"),
        ({**HOOK, "WEBHOOK_SECRET": "ключ"}, "WEBHOOK_SECRET must be 1-256 characters"),
        ({**HOOK, "WEBHOOK_URL": "http://bot.example.org/tg"}, "WEBHOOK_URL must be an https"),
        ({**HOOK, "WEBHOOK_URL": "https:///nohost"}, "WEBHOOK_URL must be an https"),
        ({**HOOK, "WEBHOOK_URL": "https://b.example/metrics"}, "must not be /metrics"),
        ({**HOOK, "HTTP_PORT": "http"}, "HTTP_PORT must be a whole number from 1 to 65535"),
        ({**HOOK, "HTTP_PORT": "70000"}, "HTTP_PORT must be a whole number from 1 to 65535"),
        ({**HOOK, "WEBHOOK_MAX_CONNECTIONS": "0"}, "WEBHOOK_MAX_CONNECTIONS must be"),
    ],
)
def test_refusals_say_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        Settings.from_env(env)
    secret = env.get("WEBHOOK_SECRET", "")
    if len(secret) > 3:
        assert secret not in str(caught.value)  # a wrong secret is still a secret


def test_the_command_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("WEBHOOK_URL", HOOK["WEBHOOK_URL"])
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    assert main(["run"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("newsbot: WEBHOOK_SECRET is not set")
