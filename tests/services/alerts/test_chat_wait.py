"""chat_wait: how long one more message to a chat must wait, from its recent sends."""

from __future__ import annotations

import pytest

from services.alerts.ratelimit import chat_wait

NOW = 1_000_000.0


def test_a_private_chat_waits_out_the_second_since_its_last_message() -> None:
    assert chat_wait(42, [NOW - 0.25], NOW) == pytest.approx(0.75)
    assert chat_wait(42, [NOW - 1.5], NOW) == 0.0
    assert chat_wait(42, [], NOW) == 0.0


def test_a_group_waits_for_the_oldest_of_its_last_twenty_in_a_minute_to_age_out() -> None:
    stamps = [NOW - 50 + i for i in range(20)]  # 20 in the last 50 s, the last one 31 s ago
    assert chat_wait(-100, stamps, NOW) == pytest.approx(10.0)
    assert chat_wait(-100, stamps[1:], NOW) == 0.0  # 19: room for one more
    # A private chat only has the one-a-second limit.
    assert chat_wait(42, stamps, NOW) == 0.0


def test_stamps_from_a_clock_running_ahead_never_hold_a_chat_past_the_limits_span() -> None:
    # Another replica's clock is an hour ahead: its stamps count as "just now".
    assert chat_wait(42, [NOW + 3600], NOW) == pytest.approx(1.0)
    ahead = [NOW + 3600 + i for i in range(20)]
    assert chat_wait(-100, ahead, NOW) == pytest.approx(60.0)
