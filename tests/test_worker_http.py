"""`newsbot worker` with HTTP_PORT: health, readiness and metrics of an alert worker."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.helpers.http_checks import free_port, http_get, metric, wait_until

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "987654:E2E-worker-token"


def test_worker_serves_health_and_metrics(tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN)
    port = free_port()
    with FakeBotApiServer(api) as server:
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "HTTP_PORT": str(port),
            "PYTHONPATH": str(ROOT),
        }
        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"], env=env, stdout=log, stderr=log
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: http_get(base + "/readyz")[0] == 200, 60, "the worker")
            assert http_get(base + "/healthz") == (200, "ok\n")

            def got_me() -> bool:  # the server is up before the worker asks Telegram who it is
                text = http_get(base + "/metrics")[1]
                return metric(text, "newsbot_bot_api_calls_total", method="getMe", outcome="ok") > 0

            wait_until(got_me, 30, "getMe through the metered transport")
            status, text = http_get(base + "/metrics")
            assert status == 200
            assert metric(text, "newsbot_bot_api_calls_total", method="getMe", outcome="ok") == 1
            assert "newsbot_alert_outbox_backlog 0.0" in text
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=10) == 0, log_path.read_text()[-3000:]
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert http_get(base + "/healthz")[0] == 0  # the server is gone with the process
    assert TOKEN not in log_path.read_text()
