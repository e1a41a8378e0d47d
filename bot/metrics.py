"""Prometheus metrics of one process, and the hooks that feed them.

Every label has a bounded set of values (update types, Bot API method names, outcomes):
never a chat id, a user id or anything a user typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from telegram import Update
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.ext import SimpleUpdateProcessor
from telegram.request import BaseRequest, RequestData

from services.alerts.stats import DeliveryStats
from storage.stats import OutboxStats

# Seconds: handlers and Bot API calls take milliseconds to a few seconds; 60 s is a hung one.
TIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Bot API method names are short camelCase words; anything else is not a method we call.
_METHOD_NAME = re.compile(r"[A-Za-z]{1,40}")


class Metrics:
    """The process's metrics, in a registry of their own (no module-level state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("newsbot_updates", "Updates handled, by type", ["type"], registry=r)
        self.update_seconds = Histogram(
            "newsbot_update_handling_seconds",
            "Time to handle one update, by type",
            ["type"],
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self.api_calls = Counter(
            "newsbot_bot_api_calls",
            "Bot API calls by method and outcome (ok, rate_limited, client_error, ...)",
            ["method", "outcome"],
            registry=r,
        )
        self.api_seconds = Histogram(
            "newsbot_bot_api_call_seconds",
            "Bot API call time, by method",
            ["method"],
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self._api_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self.feed_polls = Counter(
            "newsbot_feed_polls", "Feed polls by this process, by outcome", ["outcome"], registry=r
        )
        self.search_seconds = Histogram(
            "newsbot_search_seconds", "Time to rank one search", buckets=TIME_BUCKETS, registry=r
        )
        self.index_lag = Gauge(
            "newsbot_index_lag_events",
            "Article events stored but not yet in this process's search index",
            registry=r,
        )
        # Read from the shared outbox at scrape time: the same on every replica.
        self.alerts = Gauge(
            "newsbot_alerts",
            "Alerts in the shared outbox by state (pending, sent, failed, dropped)",
            ["state"],
            registry=r,
        )
        self.alert_retries = Gauge(
            "newsbot_alert_retries",
            "Failed send attempts recorded in the shared outbox (each retried or given up)",
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "newsbot_alert_outbox_backlog",
            "Pending alerts already due in the shared outbox",
            registry=r,
        )
        # This process's own alert sender (zero where it is not the leader).
        self.alert_sends_in_flight = Gauge(
            "newsbot_alert_sends_in_flight",
            "Alert sends of this process waiting for Telegram's answer now",
            registry=r,
        )
        self.alert_send_limit = Gauge(
            "newsbot_alert_sends_in_flight_limit",
            "ALERT_MAX_IN_FLIGHT: how many alert sends may wait for Telegram at once",
            registry=r,
        )
        self.up_since = Gauge(
            "newsbot_start_time_seconds", "When this process started (Unix time)", registry=r
        )
        self.up_since.set_to_current_time()

    def watch_sender(self, stats: DeliveryStats) -> None:
        """Export the alert sender's in-flight count, read whenever Prometheus scrapes."""
        self.alert_sends_in_flight.set_function(lambda: stats.in_flight)
        self.alert_send_limit.set(stats.max_in_flight)

    def update_handled(self, kind: str, seconds: float) -> None:
        self.updates.labels(kind).inc()
        self.update_seconds.labels(kind).observe(seconds)

    def api_called(self, method: str, outcome: str, seconds: float) -> None:
        # The labelled series looked up once (prometheus_client's labels() validates and
        # locks on every call: 1% of a paid broadcast's CPU). Bounded: method names and
        # outcomes are a fixed set (see MeteredRequest).
        series = self._api_series.get((method, outcome))
        if series is None:
            series = self.api_calls.labels(method, outcome), self.api_seconds.labels(method)
            self._api_series[method, outcome] = series
        series[0].inc()
        series[1].observe(seconds)

    def feed_polled(self, outcome: str) -> None:
        self.feed_polls.labels(outcome if outcome.isidentifier() else "other").inc()

    def search_timed(self, seconds: float) -> None:
        self.search_seconds.observe(seconds)

    def outbox_read(self, stats: OutboxStats) -> None:
        # Every state the outbox holds (a bounded set the code defines), the usual ones at 0.
        for state, count in stats.by_state.items():
            self.alerts.labels(state).set(count)
        self.alert_retries.set(stats.retries)
        self.outbox_backlog.set(stats.backlog)


def update_type(update: object) -> str:
    """The kind of an update (message, callback_query, ...): one of Update.ALL_TYPES."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def api_outcome(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status in (401, 403, 404, 409):
        return {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}[status]
    return "client_error" if 400 <= status < 500 else "server_error"


class TimedUpdateProcessor(SimpleUpdateProcessor):
    """PTB's own bounded concurrency, timing each update it hands to the handlers."""

    def __init__(self, max_concurrent_updates: int, metrics: Metrics) -> None:
        super().__init__(max_concurrent_updates)
        self._metrics = metrics

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        try:
            await coroutine
        finally:
            self._metrics.update_handled(update_type(update), time.perf_counter() - started)


class MeteredRequest(BaseRequest):
    """Wraps the bot's HTTP transport to count and time every Bot API call.

    The URL carries the bot token: only its last segment (the method name) becomes a label.
    """

    __slots__ = ("_inner", "_metrics")

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        # PTB parses the answer with the wrapper's method: the transport's own must decide
        # (BotApiRequest's logs one line for an answer that is not JSON, PTB's a traceback).
        return self._inner.parse_json_payload(payload)

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        name = name if _METHOD_NAME.fullmatch(name) else "other"
        started = time.perf_counter()
        outcome = "error"
        try:
            status, body = await self._inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
            outcome = api_outcome(status)
            return status, body
        except TimedOut:
            outcome = "timed_out"  # it may still have been delivered
            raise
        except NetworkError:
            outcome = "network_error"
            raise
        finally:
            self._metrics.api_called(name, outcome, time.perf_counter() - started)
