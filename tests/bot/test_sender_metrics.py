"""The alert sender's in-flight count, as Prometheus reads it."""

from __future__ import annotations

from prometheus_client import generate_latest

from bot.metrics import Metrics
from services.alerts.stats import DeliveryStats
from tests.helpers.http_checks import metric


def scrape(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_sends_in_flight_are_read_at_each_scrape() -> None:
    metrics, stats = Metrics(), DeliveryStats(max_in_flight=12)
    metrics.watch_sender(stats)
    assert metric(scrape(metrics), "newsbot_alert_sends_in_flight") == 0
    assert metric(scrape(metrics), "newsbot_alert_sends_in_flight_limit") == 12

    stats.request_started()
    stats.request_started()
    assert metric(scrape(metrics), "newsbot_alert_sends_in_flight") == 2

    stats.request_finished(0.1, "sent")
    assert metric(scrape(metrics), "newsbot_alert_sends_in_flight") == 1
