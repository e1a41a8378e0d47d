"""The send-rate token bucket: Telegram's 30 messages a second, and no slower than asked."""

from __future__ import annotations

from services.alerts.ratelimit import SEND_BURST, SendWindow, TokenBucket


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


class JitterClock(LateClock):
    def __init__(self) -> None:
        super().__init__(0.0)


async def paced_arrivals(
    trips: list[tuple[float, float]], *, window_limit: int | None
) -> list[float]:
    """Send one message per (round trip, share of it before the server counts the message)."""
    clock = JitterClock()
    bucket = TokenBucket(29, burst=SEND_BURST, clock=clock, sleep=clock.sleep)
    window = SendWindow(window_limit, clock=clock, sleep=clock.sleep) if window_limit else None
    arrivals = []
    for delay, arrives_after in trips:
        await bucket.acquire()
        started = await window.start() if window is not None else clock.now
        clock.now += delay * arrives_after
        arrivals.append(clock.now)
        clock.now += delay * (1 - arrives_after)
        if window is not None:
            window.finish(started)
    return arrivals


def busiest_second(arrivals: list[float]) -> int:
    return max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)


async def test_send_window_bounds_arrivals_whatever_the_network_jitter() -> None:
    # Now and then a request crawls to the server and its answer comes straight back (in the
    # 1 ms the way back always takes: each way takes at least half the quickest round trip).
    trips = [(0.2, 0.995) if i % 40 == 0 else (0.002, 0.5) for i in range(400)]
    bucket_only = await paced_arrivals(trips, window_limit=None)
    windowed = await paced_arrivals(trips, window_limit=30)
    assert busiest_second(bucket_only) > 30  # why the window exists
    assert busiest_second(windowed) <= 30

    def rate(arrivals: list[float]) -> float:
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

    assert rate(windowed) > 0.97 * rate(bucket_only)  # and it costs next to nothing


async def test_send_window_counts_sends_in_flight() -> None:
    clock = JitterClock()
    window = SendWindow(2, clock=clock, sleep=clock.sleep)
    first = await window.start()
    await window.start()
    waited_from = clock.now
    window.finish(first)  # one answered at t=0: room again at t=1
    await window.start()
    assert clock.now - waited_from >= 1.0


async def test_a_steady_round_trip_costs_the_window_nothing() -> None:
    # 250 ms to Telegram and back, every time: counting each send until a second after its
    # answer would allow 30 / 1.25 = 24 a second; from its start, 29 as the bucket asks.
    trips = [(0.25, 0.5)] * 300
    clock = JitterClock()
    bucket = TokenBucket(29, burst=SEND_BURST, clock=clock, sleep=clock.sleep)
    window = SendWindow(30, clock=clock, sleep=clock.sleep)
    in_flight: list[tuple[float, float]] = []  # (answer time, start) of sends under way
    arrivals = []
    for delay, share in trips:
        await bucket.acquire()
        for answer, began in [f for f in in_flight if f[0] <= clock.now]:
            window.finish(began)
            in_flight.remove((answer, began))
        began = await window.start()
        arrivals.append(clock.now + delay * share)
        in_flight.append((clock.now + delay, began))
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate > 28.5
    assert busiest_second(arrivals) <= 30


async def arrivals_after_a_slow_start(*, measured_from_request: bool) -> list[float]:
    """The sender's steps: room in the window, then the "sending" commit (slow while the
    database is busy, as after a restart), then the request (125 ms each way)."""
    clock = JitterClock()
    bucket = TokenBucket(29, burst=SEND_BURST, clock=clock, sleep=clock.sleep)
    window = SendWindow(30, clock=clock, sleep=clock.sleep)
    in_flight: list[tuple[float, float, float]] = []  # (answer time, start, request left)
    arrivals = []
    for n in range(400):
        await bucket.acquire()
        for answer, began, left in sorted(f for f in in_flight if f[0] <= clock.now):
            window.finish(began, left if measured_from_request else None)
            in_flight.remove((answer, began, left))
        began = await window.start()
        commit = 0.08 if n < 150 else 0.001  # the database gets quick again
        left = clock.now + commit
        arrivals.append(left + 0.125)
        in_flight.append((left + 0.25, began, left))
    return arrivals


async def test_the_window_measures_round_trips_from_the_request_not_from_its_start() -> None:
    # A round trip measured from the window's start includes the commit before the request:
    # while every commit is slow, the quickest "round trip" is longer than the network's,
    # too much is taken off, and once commits are quick again a second holds 31 arrivals.
    assert busiest_second(await arrivals_after_a_slow_start(measured_from_request=False)) > 30
    assert busiest_second(await arrivals_after_a_slow_start(measured_from_request=True)) <= 30
