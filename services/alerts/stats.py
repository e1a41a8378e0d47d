"""What the alert sender is doing, for the log now and a metrics layer later."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

# Upper bounds (seconds) of the Bot API latency histogram, Prometheus style (``le``).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, math.inf)


@dataclass(slots=True)
class DeliveryStats:
    """Counters a reader may look at any time; only the sender writes them.

    ``latency_counts[i]`` counts Bot API calls that took at most ``LATENCY_BUCKETS[i]``
    seconds and more than the bound before it (not cumulative).
    """

    max_in_flight: int
    in_flight: int = 0
    peak_in_flight: int = 0  # since the last summary
    outcomes: Counter[str] = field(default_factory=Counter)
    latency_counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_sum: float = 0.0

    def request_started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def request_finished(self, seconds: float, outcome: str) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.outcomes[outcome] += 1
        self.latency_sum += seconds
        for index, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_counts[index] += 1
                break

    @property
    def requests(self) -> int:
        return sum(self.latency_counts)

    def latency_quantile(self, q: float) -> float:
        """The bucket bound below which a share ``q`` of the calls fell (0 with no calls)."""
        total = self.requests
        if total == 0:
            return 0.0
        seen = 0
        for bound, count in zip(LATENCY_BUCKETS, self.latency_counts, strict=True):
            seen += count
            if seen >= q * total:
                return bound
        return math.inf

    def summary(self) -> str:
        """One log line; starts a new peak-in-flight period."""
        outcomes = ", ".join(f"{name} {n}" for name, n in sorted(self.outcomes.items()))
        mean = self.latency_sum / self.requests if self.requests else 0.0
        line = (
            f"alert sender: {self.requests} Bot API calls ({outcomes or 'none'}); latency mean "
            f"{mean * 1000:.0f} ms, p50 <= {_bound(self.latency_quantile(0.5))}, p95 <= "
            f"{_bound(self.latency_quantile(0.95))}; in flight now {self.in_flight}, at most "
            f"{self.peak_in_flight} of {self.max_in_flight} since the last report"
        )
        self.peak_in_flight = self.in_flight
        return line


def _bound(seconds: float) -> str:
    return "inf" if math.isinf(seconds) else f"{seconds * 1000:.0f} ms"
