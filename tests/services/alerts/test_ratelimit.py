"""The send-rate token bucket: Telegram's 30 messages a second, and no slower than asked."""

from __future__ import annotations

from services.alerts.ratelimit import SEND_BURST, TokenBucket


class LateClock:
    """A clock whose sleeps wake a little late, as the event loop's do."""

    def __init__(self, overshoot: float) -> None:
        self.now = 0.0
        self.overshoot = overshoot

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.overshoot


async def acquire_times(count: int, *, overshoot: float, work: float) -> list[float]:
    clock = LateClock(overshoot)
    bucket = TokenBucket(29, burst=SEND_BURST, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(count):
        await bucket.acquire()
        times.append(clock.now)
        clock.now += work  # the send itself
    return times


async def test_late_wake_ups_do_not_slow_the_sender_below_its_rate() -> None:
    times = await acquire_times(291, overshoot=0.0012, work=0.008)
    assert 290 / (times[-1] - times[0]) > 28.9  # a cap of one token gives 28.0


async def test_no_second_holds_more_than_thirty_sends() -> None:
    for overshoot, work in ((1e-6, 0.0), (0.0012, 0.008), (0.004, 0.03)):
        times = await acquire_times(300, overshoot=overshoot, work=work)
        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert busiest <= 30, (overshoot, work, busiest)
