"""The alert sender's settings: in-flight sends, the rate, paid broadcasts."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_keep_thirty_a_second_up_to_a_slow_round_trip() -> None:
    settings = Settings.from_env({})
    assert settings.alert_rate_per_second == 29
    # n sends in flight, each 250 ms: at most n / 0.25 a second; 30 needs n >= 7.5.
    assert settings.alert_max_in_flight / 0.25 >= 30
    assert settings.alert_paid_broadcast is False


def test_paid_broadcasts_allow_up_to_a_thousand_a_second() -> None:
    settings = Settings.from_env({"ALERT_PAID_BROADCAST": "true", "ALERT_RATE_PER_SECOND": "1000"})
    assert (settings.alert_paid_broadcast, settings.alert_rate_per_second) == (True, 1000)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ALERT_RATE_PER_SECOND": "1000"}, "at most 30 (up to 1000 with ALERT_PAID_BROADCAST"),
        ({"ALERT_PAID_BROADCAST": "yes", "ALERT_RATE_PER_SECOND": "1001"}, "at most 1000"),
        ({"ALERT_PAID_BROADCAST": "maybe"}, "ALERT_PAID_BROADCAST must be true or false"),
        ({"ALERT_MAX_IN_FLIGHT": "0"}, "ALERT_MAX_IN_FLIGHT must be a whole number from 1"),
        ({"ALERT_MAX_IN_FLIGHT": "ten"}, "not 'ten'"),
    ],
)
def test_bad_values_are_refused_with_what_to_set(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert says in str(raised.value)


def test_in_flight_is_read() -> None:
    assert Settings.from_env({"ALERT_MAX_IN_FLIGHT": "3"}).alert_max_in_flight == 3
