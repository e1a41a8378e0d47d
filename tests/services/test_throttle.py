from __future__ import annotations

import pytest

from services.throttle import CommandThrottle, ThrottlePolicy, Verdict
from tests.helpers.rate_limits import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def verdicts(throttle: CommandThrottle, sender: int, count: int) -> list[Verdict]:
    return [throttle.check(sender).verdict for _ in range(count)]


def test_a_burst_is_admitted_then_one_warning_then_refusals(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=2, interval=1.0), clock)
    assert verdicts(throttle, 7, 5) == [
        Verdict.ADMIT,
        Verdict.ADMIT,
        Verdict.WARN,
        Verdict.REFUSE,
        Verdict.REFUSE,
    ]


def test_refusal_says_when_the_next_token_comes(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=1, interval=2.0), clock)
    throttle.check(7)
    clock.advance(0.5)
    warned = throttle.check(7)  # the notice it pays for is a message too: a token borrowed
    assert warned.verdict is Verdict.WARN and warned.retry_in == pytest.approx(3.5)
    clock.advance(1.0)
    assert throttle.check(7).retry_in == pytest.approx(2.5)
    clock.advance(2.5)
    assert throttle.check(7).admitted


def test_a_steady_sender_at_the_allowed_pace_is_never_refused(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=1, interval=1.0), clock)
    for _ in range(100):
        assert throttle.check(7).admitted
        clock.advance(1.0)


def test_during_a_long_flood_the_warning_is_given_once(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=2, interval=1.0), clock)
    seen = []
    for _ in range(300):  # ten a second for 30 s
        seen.append(throttle.check(7).verdict)
        clock.advance(0.1)
    assert seen.count(Verdict.WARN) == 1
    # Messages to the chat (answers and the notice): the burst, then one a second.
    assert seen.count(Verdict.ADMIT) + seen.count(Verdict.WARN) == 2 + 29


def test_the_warning_comes_again_after_the_sender_calmed_down(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=2, interval=1.0), clock)
    assert Verdict.WARN in verdicts(throttle, 7, 4)
    clock.advance(3.0)  # the bucket is full again (it had lent the notice a token)
    assert verdicts(throttle, 7, 3) == [Verdict.ADMIT, Verdict.ADMIT, Verdict.WARN]


def test_senders_have_buckets_of_their_own(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=1, interval=1.0), clock)
    verdicts(throttle, 7, 10)
    assert throttle.check(8).admitted


def test_a_disabled_policy_admits_everything(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=0), clock)
    assert set(verdicts(throttle, 7, 50)) == {Verdict.ADMIT}


def test_many_senders_do_not_grow_memory_without_bound(clock: ManualClock) -> None:
    throttle = CommandThrottle(ThrottlePolicy(burst=1, interval=1.0), clock)
    for sender in range(25_000):
        throttle.check(sender)
        clock.advance(0.001)  # each bucket refills a second after its sender's command
    assert len(throttle._buckets) <= 11_000
    assert not throttle.check(24_999).admitted  # recent senders are still remembered
