"""Two `newsbot run` replicas in webhook mode behind a real nginx, against the fake Bot API.

nginx runs the shipped deploy/nginx.conf, with only what a test must change: plain HTTP on
a free port instead of TLS on 443, and the two replicas' ports in the upstream.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.helpers.http_checks import free_port, http_get, metric, wait_until
from tests.helpers.webhook_delivery import WebhookDelivery

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.path.exists(p)), None
)
TOKEN = "987654:E2E-replicas-token"
SECRET = "replica-secret_0123456789"
WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_URL = f"https://bot.example.org{WEBHOOK_PATH}"

if NGINX is None and os.environ.get("CI"):
    # .ci/run installs nginx: in CI its absence is a broken set-up, not a reason to skip.
    raise RuntimeError("nginx is missing in CI: .ci/run should have installed it")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (apt-get install -y nginx; CI installs it)"
    ),
]


def nginx_site(listen_port: int, replica_ports: list[int]) -> str:
    """deploy/nginx.conf with plain HTTP on listen_port and these replicas upstream."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site, tls_lines = re.subn(r"^\s*(listen|ssl_\w+)\s[^\n]*;\n", "", site, flags=re.MULTILINE)
    assert tls_lines >= 3, "deploy/nginx.conf no longer has the listen/ssl lines this expects"
    site = site.replace(
        "server_name bot.example.org;",
        f"server_name bot.example.org;\n    listen 127.0.0.1:{listen_port};",
    )
    site = re.sub(r"^\s*access_log [^\n]*;\n", "", site, flags=re.MULTILINE)
    upstream = re.search(r"^(\s*)server 127\.0\.0\.1:\d+( [^\n]*);\n", site, re.MULTILINE)
    assert upstream is not None, "deploy/nginx.conf has no upstream server line"
    indent, options = upstream.groups()
    servers = "".join(f"{indent}server 127.0.0.1:{p}{options};\n" for p in replica_ports)
    site = re.sub(r"(?:^\s*server 127\.0\.0\.1:\d+[^\n]*\n)+", servers, site, flags=re.MULTILINE)
    assert WEBHOOK_PATH in site
    return site


class Nginx:
    def __init__(self, workdir: Path, listen_port: int, replica_ports: list[int]) -> None:
        assert NGINX is not None
        self.port = listen_port
        workdir.mkdir()
        (workdir / "newsbot.conf").write_text(nginx_site(listen_port, replica_ports))
        temp = "\n".join(
            f"    {kind}_temp_path {workdir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (workdir / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {workdir / 'nginx.pid'};\n"
            f"error_log {workdir / 'error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n    access_log {workdir / 'access.log'};\n{temp}\n"
            f"    include {workdir / 'newsbot.conf'};\n}}\n"
        )
        self.command = [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf")]
        self.command += ["-e", str(workdir / "error.log")]
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.command, "-t"], capture_output=True, text=True, timeout=30)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Replica:
    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        replica_env = {
            **env,
            "HTTP_PORT": str(port),
            "SEARCH_INDEX_DIR": str(log_path.parent / f"index-{port}"),
        }
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=replica_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]
        return http_get(self.base + "/readyz")[0] == 200

    def updates_handled(self) -> float:
        return metric(http_get(self.base + "/metrics")[1], "newsbot_updates_total", type="message")

    def webhook(self) -> WebhookDelivery:
        return WebhookDelivery(self.base + WEBHOOK_PATH, SECRET)

    def terminate(self) -> int:
        """SIGTERM, then the exit code (the contract: exit within 10 s)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def newsbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[str]:
    """One database for every replica: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
        return
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    name = f"replicas_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "WEBHOOK_URL": WEBHOOK_URL,
        "WEBHOOK_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi(token=TOKEN)


def test_shipped_nginx_config_is_valid(tmp_path: Path) -> None:
    nginx = Nginx(tmp_path / "nginx", free_port(), [free_port(), free_port()])
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr


def test_two_replicas_behind_nginx(tmp_path: Path, env: dict[str, str], api: FakeBotApi) -> None:
    articles = tmp_path / "harbour.jsonl"
    articles.write_text(
        "".join(
            json.dumps({"id": f"h{n}", "title": f"Harbour report {n}", "body": f"Ships {n}."})
            + "\n"
            for n in range(12)
        )
    )
    # Articles to page through (replicas that start together migrate in turns anyway).
    loaded = newsbot("ingest", str(articles), env=env)
    assert loaded.returncode == 0, loaded.stderr

    with FakeBotApiServer(api) as server:
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url}
        replicas = [Replica(run_env, free_port(), tmp_path / f"replica-{n}.log") for n in range(2)]
        nginx = Nginx(tmp_path / "nginx", free_port(), [r.port for r in replicas])
        try:
            for replica in replicas:
                wait_until(replica.ready, 90, f"replica on {replica.port} to be ready")
            # Ready (database and index) comes just before setWebhook at start.
            wait_until(lambda: len(api.calls_to("setWebhook")) == 2, 30, "both setWebhook calls")
            calls = api.calls_to("setWebhook")
            assert {c.params["secret_token"] for c in calls} == {SECRET}
            assert all("drop_pending_updates" not in c.params for c in calls)

            nginx.start()
            front = f"http://127.0.0.1:{nginx.port}"
            wait_until(lambda: http_get(front + "/healthz")[0] == 200, 30, "nginx")
            assert http_get(front + "/metrics")[0] == 404  # only on each replica's own port

            # Through nginx: a wrong secret is refused; updates spread over both replicas.
            stranger = WebhookDelivery(front + WEBHOOK_PATH, "not-the-secret")
            refused = api.updates.message_update("/help", chat_id=800, user_id=800)
            assert stranger.deliver_blocking([refused]) == {refused["update_id"]: 401}
            updates = [
                api.updates.message_update("/help", chat_id=810 + n % 10, user_id=810 + n % 10)
                for n in range(30)
            ]
            statuses = WebhookDelivery(front + WEBHOOK_PATH, SECRET).deliver_blocking(updates)
            assert set(statuses.values()) == {200} and len(statuses) == 30
            replies = Counter(c.params["chat_id"] for c in api.calls_to("sendMessage"))
            assert replies == dict.fromkeys(range(810, 820), 3)  # each update answered once
            handled = [r.updates_handled() for r in replicas]
            assert sum(handled) == 30 and min(handled) > 0, handled

            # Paging: the button made by one replica works on the other.
            first, second = replicas
            search = api.updates.message_update("/search harbour", chat_id=900, user_id=900)
            assert first.webhook().deliver_blocking([search]) == {search["update_id"]: 200}
            (page,) = api.sent_messages(900)
            buttons = [b for row in page["reply_markup"]["inline_keyboard"] for b in row]
            (more,) = [b for b in buttons if "callback_data" in b]
            press = api.updates.callback_query_update(
                more["callback_data"], page["message_id"], chat_id=900, user_id=900
            )
            assert second.webhook().deliver_blocking([press]) == {press["update_id"]: 200}
            (edit,) = api.calls_to("editMessageText")
            assert edit.params["chat_id"] == 900 and "Harbour report" in edit.params["text"]

            # An article stored by another process is found by every replica.
            late = tmp_path / "late.jsonl"
            late.write_text(
                json.dumps({"id": "l1", "title": "Lighthouse restored", "body": "Lit."})
            )
            assert newsbot("ingest", str(late), env=env).returncode == 0
            for n, replica in enumerate(replicas):
                chat = 950 + n

                def finds_it(replica: Replica = replica, chat: int = chat) -> bool:
                    query = api.updates.message_update("lighthouse", chat_id=chat, user_id=chat)
                    replica.webhook().deliver_blocking([query])
                    return "Lighthouse restored" in api.sent_messages(chat)[-1]["text"]

                wait_until(finds_it, 30, f"replica on {replica.port} to find the new article")

            # One replica stops (SIGTERM, exit 0); nginx sends everything to the other.
            assert first.terminate() == 0, first.log_path.read_text()[-3000:]
            before = second.updates_handled()
            more_updates = [
                api.updates.message_update("/help", chat_id=990 + n, user_id=990 + n)
                for n in range(6)
            ]
            statuses = WebhookDelivery(front + WEBHOOK_PATH, SECRET).deliver_blocking(more_updates)
            assert set(statuses.values()) == {200}
            assert second.updates_handled() - before == 6
            assert second.terminate() == 0, second.log_path.read_text()[-3000:]
        finally:
            nginx.stop()
            for replica in replicas:
                replica.kill()
    assert api.calls_to("deleteWebhook") == []
    assert api.calls_to("getUpdates") == []
    for replica in replicas:
        log = replica.log_path.read_text()
        assert TOKEN not in log and SECRET not in log
        assert "Traceback" not in log, log[-3000:]
