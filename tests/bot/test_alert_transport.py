"""Which transport the alert sender's sendMessage takes: its own, or httpx behind a proxy."""

from __future__ import annotations

import pytest

from bot.alert_http import AlertRequest, reaches_directly
from bot.request import BotApiRequest
from bot.settings import Settings
from bot.worker import make_alert_request

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def no_proxy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_alerts_take_the_lean_transport() -> None:
    assert reaches_directly("https://api.telegram.org/bot")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert isinstance(make_alert_request(settings), AlertRequest)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_behind_a_proxy_alerts_go_through_httpx_like_every_other_call(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy.internal:3128")
    assert not reaches_directly("https://api.telegram.org/bot")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert isinstance(make_alert_request(settings), BotApiRequest)


def test_a_proxy_for_the_other_scheme_or_a_host_it_exempts_is_passed_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert reaches_directly("https://api.telegram.org/bot")  # only plain http goes through it
    assert not reaches_directly("http://127.0.0.1:8081/bot")  # a local Bot API server
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert reaches_directly("http://127.0.0.1:8081/bot")
