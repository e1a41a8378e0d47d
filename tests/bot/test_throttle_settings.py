"""The per-sender throttle's settings."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_command_burst_defaults_to_two_and_zero_turns_the_throttle_off() -> None:
    assert Settings.from_env({}).command_burst == 2
    assert Settings.from_env({"COMMAND_BURST": "0"}).command_burst == 0
    assert Settings.from_env({"COMMAND_BURST": "5"}).command_burst == 5


@pytest.mark.parametrize("raw", ["2.5", "-1", "many", "3601"])
def test_a_command_burst_that_is_not_a_whole_number_in_range_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="COMMAND_BURST must be a whole number"):
        Settings.from_env({"COMMAND_BURST": raw})
