"""Shared pieces of the alert benchmarks: a synthetic news world, a database, a worker.

Articles and subscriptions are generated here (no corpus text): articles are "about" a few
named things (countries, institutions, invented people and places) amid everyday news
prose; keyword subscriptions name some of those things, so each article reaches a
realistic few dozen chats and the total fan-out stays measurable.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, pairwise
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from services.alerts.matching import SubscriptionIndex, SubscriptionRule  # noqa: E402
from services.alerts.subscriptions import ChatRef, SubscriptionService  # noqa: E402
from storage.db import create_engine, create_session_factory, migrate  # noqa: E402
from tests.helpers.botapi import ApiCall, FakeBotApi, RateLimits  # noqa: E402

TOKEN = "424242:BENCH-token"
# Named things news is about: the words keyword subscriptions use.
_REAL_TOPICS = (
    "iran iraq syria israel gaza ukraine russia china japan india pakistan afghanistan brazil"
    " mexico canada germany france italy spain greece turkey egypt nigeria kenya ethiopia"
    " australia scotland wales ireland london paris berlin moscow beijing washington tokyo"
    " nato un eu opec nasa fifa uefa imf who brexit obama trump merkel putin macron modi"
    " inflation recession unemployment interest mortgage pension budget tax tariff"
    " election referendum parliament senate congress minister president chancellor"
    " police court trial prison murder fraud terrorism protest strike refugee migrant"
    " hospital cancer vaccine virus ebola obesity dementia nhs doctor nurse"
    " climate flood drought hurricane earthquake wildfire emissions solar nuclear oil gas"
    " bank bitcoin shares stocks apple google amazon microsoft facebook tesla samsung"
    " football tennis cricket rugby olympics chelsea arsenal liverpool barcelona madrid"
    " film music album oscar festival museum netflix television theatre novel"
    " smartphone robot drone satellite rocket hacker cyber privacy broadband"
)
_SYLLABLES = "ka ro mi ten bri dal vo sen tar lo pen gra mu zel fi nor ha vey lin cor bas ti"
# Everyday news prose around the named things (never used as subscription keywords).
_PROSE = (
    "the a of to in and said on for that with was is by it at from has have are were will"
    " would could after before over about more than new year years last week day people"
    " officials government report told statement according local national country city"
    " week month early later during while also but not their its which who been this"
    " plans group public million billion percent figures data number rise fall expected"
    " announced warned added called described described latest news leaders spokesman"
    " area region meeting talks deal agreement decision issue case support increase"
)


@dataclass(frozen=True, slots=True)
class World:
    """The topics news is about, with how often each comes up (a mild Zipf law)."""

    topics: list[str]
    cumulative: list[float]

    @classmethod
    def build(cls, seed: int = 7, invented: int = 1500) -> World:
        rng = random.Random(seed)
        real = list(dict.fromkeys(_REAL_TOPICS.split()))
        names: set[str] = set()
        while len(names) < invented:
            syllables = rng.choices(_SYLLABLES.split(), k=rng.randint(2, 4))
            names.add("".join(syllables))
        tail = sorted(names - set(real))
        rng.shuffle(real)
        rng.shuffle(tail)
        # Real names are the most talked-about; invented people and places are the long tail.
        topics = real + tail
        weights = [1 / (rank + 1) ** 0.35 for rank in range(len(topics))]
        return cls(topics, list(accumulate(weights)))

    def pick(self, rng: random.Random, k: int) -> list[str]:
        chosen: list[str] = []
        while len(chosen) < k:
            word = rng.choices(self.topics, cum_weights=self.cumulative)[0]
            if word not in chosen:
                chosen.append(word)
        return chosen


def _sentence(rng: random.Random, topic_words: Sequence[str]) -> str:
    words = rng.choices(_PROSE.split(), k=rng.randint(9, 18))
    for word in topic_words:
        # Inflected now and then: subscriptions must meet "elections" as "election".
        words.insert(rng.randrange(len(words) + 1), word + ("s" if rng.random() < 0.2 else ""))
    return " ".join(words).capitalize() + "."


def make_articles(world: World, count: int, *, seed: int, prefix: str) -> list[dict[str, Any]]:
    """JSON Lines records (``newsbot ingest`` format), each about three or four topics."""
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    records = []
    for n in range(count):
        about = world.pick(rng, rng.randint(3, 4))
        title = _sentence(rng, about[:2]).rstrip(".")[:120]
        paragraphs = []
        for _ in range(rng.randint(4, 6)):
            sentences = [
                _sentence(rng, [rng.choice(about)] if rng.random() < 0.6 else [])
                for _ in range(rng.randint(2, 4))
            ]
            paragraphs.append(" ".join(sentences))
        records.append(
            {
                "id": f"{prefix}-{n:04d}",
                "title": title,
                "body": "\n\n".join(paragraphs),
                "url": f"https://news.example/{prefix}/{n}",
                "source": "Bench Wire",
                "published": now,
            }
        )
    return records


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    return path


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat: ChatRef
    query: str  # what the chat typed after /subscribe ("" = everything)


def make_subscribers(
    world: World,
    count: int,
    *,
    seed: int,
    everything_share: float,
    group_share: float = 0.3,
    first_id: int = 1,
) -> list[Subscriber]:
    """Chats (private ids > 0, group ids < 0) with one subscription each."""
    rng = random.Random(seed)
    subscribers = []
    for n in range(count):
        if rng.random() < group_share:
            supergroup = rng.random() < 0.7
            chat_id = -(1_000_000_000_000 + first_id + n) if supergroup else -(first_id + n)
            chat = ChatRef(chat_id, "supergroup" if supergroup else "group", f"Group {n}")
        else:
            chat = ChatRef(first_id + n, "private")
        if rng.random() < everything_share:
            query = ""
        else:
            words = world.pick(rng, rng.choice((1, 1, 2, 2, 3)))
            if rng.random() < 0.1:
                words.append("-" + world.pick(rng, 1)[0])
            query = " ".join(words)
        subscribers.append(Subscriber(chat, query))
    return subscribers


class _KnowsEveryWord:
    """The archive's vocabulary, for a bench whose keywords are all spelled right."""

    def document_frequency(self, term: str) -> int:
        return 1

    def closest_term(self, word: str) -> str | None:
        return word


async def subscribe_all(
    sessions: async_sessionmaker[AsyncSession], subscribers: Sequence[Subscriber]
) -> None:
    """Through the real SubscriptionService, one /subscribe at a time."""
    service = SubscriptionService(sessions, _KnowsEveryWord(), clock=lambda: datetime.now(UTC))
    for user, subscriber in enumerate(subscribers, start=1):
        result = await service.subscribe(subscriber.chat, 0, subscriber.query, user)
        if result.subscription is None:
            raise RuntimeError(f"subscribe refused: {result.refusal}")


def expected_recipients(
    subscribers: Sequence[Subscriber], articles: Sequence[dict[str, Any]]
) -> set[tuple[int, str]]:
    """(chat, article id) pairs the subscriptions call for, computed in the bench process."""
    from services.alerts.keywords import parse_keywords

    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    rules = []
    for n, subscriber in enumerate(subscribers):
        keywords = parse_keywords(subscriber.query)
        rules.append(
            SubscriptionRule(n, subscriber.chat.id, 0, keywords.include, keywords.exclude, epoch)
        )
    index = SubscriptionIndex(rules)
    expected = set()
    for article in articles:
        # The worker matches title, summary and story; the summary is drawn from the story.
        for recipient in index.recipients(article["title"], article["body"], epoch):
            expected.add((recipient.chat_id, article["id"]))
    return expected


# -- the database --------------------------------------------------------------------------


class Database:
    """A fresh SQLite file, or a fresh database on the PostgreSQL server given."""

    def __init__(self, workdir: Path, server_url: str | None) -> None:
        self._server_url = server_url
        self._pg_name: str | None = None
        if server_url is None:
            self.url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        else:
            self._pg_name = f"newsbot_bench_{uuid.uuid4().hex[:10]}"
            self.url = re.sub(r"/[^/]*$", f"/{self._pg_name}", server_url)

    @property
    def kind(self) -> str:
        return "SQLite" if self._pg_name is None else f"PostgreSQL ({self._pg_name})"

    async def create(self) -> None:
        if self._pg_name is not None and self._server_url is not None:
            admin = create_engine(self._server_url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{self._pg_name}"'))
            await admin.dispose()
        engine = create_engine(self.url)
        await migrate(engine)
        await engine.dispose()

    async def drop(self) -> None:
        if self._pg_name is not None and self._server_url is not None:
            admin = create_engine(self._server_url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
                )
            await admin.dispose()

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return create_session_factory(create_engine(self.url))


async def scalar(sessions: async_sessionmaker[AsyncSession], sql: str) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql))).scalar()


async def rows(sessions: async_sessionmaker[AsyncSession], sql: str) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text(sql))).all())


# -- the worker process and the Bot API stand-in ---------------------------------------------


class Worker:
    """``newsbot worker`` as a child process, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        self._log = self._log_path.open("ab")
        self.started_at = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def stop(self) -> int:
        """SIGTERM, and wait for a clean exit."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.signal(signal.SIGTERM)
        return self.wait(60)


def worker_env(
    database_url: str, api_base_url: str, workdir: Path, **settings: str
) -> dict[str, str]:
    """The worker's environment; ``settings`` adds variables (ALERT_MAX_IN_FLIGHT="1")."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEARCH_INDEX_DIR": str(workdir / "worker-index"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api_base_url,
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        **settings,
    }


def ingest_env(database_url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEARCH_INDEX_DIR": str(workdir / "ingest-index"),
        "PYTHONPATH": str(ROOT),
    }


def stand_in(latency: float = 0.0, *, per_second: int = 30) -> FakeBotApi:
    """The Bot API stand-in with Telegram's flood limits; call times are wall-clock seconds.

    ``latency``: every call takes that long, half before the stand-in handles (and counts)
    it, half on the way back. ``per_second``: the overall limit (1000 for paid broadcasts).
    """
    api = FakeBotApi(
        token=TOKEN,
        enforce_limits=True,
        clock=time.time,
        limits=RateLimits(global_per_second=per_second),
    )
    api.set_latency(latency)
    return api


@dataclass(frozen=True, slots=True)
class Violations:
    """Telegram limits broken by accepted sends, counted from the stand-in's arrival times."""

    busiest_second: int  # most sends in any one-second window
    seconds_over: int  # sends that made some one-second window hold more than the limit
    chat_twice_in_a_second: int  # sends to a chat less than 1 s after its previous one
    group_over_20_a_minute: int  # sends that made a group's 60-s window hold more than 20

    def total(self) -> int:
        return self.seconds_over + self.chat_twice_in_a_second + self.group_over_20_a_minute

    def describe(self) -> str:
        return (
            f"busiest second {self.busiest_second}, over the limit {self.seconds_over}; "
            f"chat twice within 1 s {self.chat_twice_in_a_second}; group over 20/min "
            f"{self.group_over_20_a_minute}"
        )


def violations(sends: Sequence[Delivery], per_second: int = 30) -> Violations:
    ok = sorted((d for d in sends if d.ok), key=lambda d: d.at)
    times = [d.at for d in ok]
    busiest = over = 0
    start = 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        held = end - start + 1
        busiest = max(busiest, held)
        over += held > per_second
    by_chat: dict[int, list[float]] = {}
    for d in ok:
        by_chat.setdefault(d.chat_id, []).append(d.at)
    twice = group = 0
    for chat_id, stamps in by_chat.items():
        twice += sum(1 for a, b in pairwise(stamps) if b - a < 1.0)
        if chat_id < 0:
            first = 0
            for last, at in enumerate(stamps):
                while stamps[first] <= at - 60.0:
                    first += 1
                group += last - first + 1 > 20
    return Violations(busiest, over, twice, group)


_PUBLIC_ID = re.compile(r"ID: <code>([^<]+)</code>")


@dataclass(frozen=True, slots=True)
class Delivery:
    chat_id: int
    article: str  # the article's public id
    at: float  # wall-clock seconds the stand-in received the request
    ok: bool
    status: int | None


def deliveries(api: FakeBotApi) -> list[Delivery]:
    """Every sendMessage the stand-in received, with the chat and article it was for."""
    found = []
    for call in api.calls_to("sendMessage"):
        found.append(_delivery(call))
    return found


def _delivery(call: ApiCall) -> Delivery:
    match = _PUBLIC_ID.search(str(call.params.get("text", "")))
    return Delivery(
        int(call.params["chat_id"]),
        match.group(1) if match else "?",
        call.at,
        call.error_code is None,
        call.error_code,
    )


class DeliveryLog:
    """The stand-in's sendMessage calls, read incrementally (cheap enough to poll often)."""

    def __init__(self, api: FakeBotApi) -> None:
        self._api = api
        self._position = 0
        self.all: list[Delivery] = []

    def update(self) -> list[Delivery]:
        """The deliveries received since the last update."""
        calls = self._api.calls[self._position :]
        self._position += len(calls)
        new = [_delivery(c) for c in calls if c.method.lower() == "sendmessage"]
        self.all.extend(new)
        return new


def explain_rate_limited(sends: Sequence[Delivery]) -> list[str]:
    """For each 429: when its chat last got a message, and how busy the second before was."""
    lines = []
    for refused in (d for d in sends if d.status == 429):
        before = [d for d in sends if d.ok and d.at <= refused.at]
        same_chat = [d.at for d in before if d.chat_id == refused.chat_id]
        last = f"{refused.at - max(same_chat):.2f} s" if same_chat else "never"
        busy = sum(1 for d in before if d.at > refused.at - 1)
        lines.append(
            f"  429 for chat {refused.chat_id} ({refused.article}): its last message {last} "
            f"before; {busy} messages accepted in the second before"
        )
    return lines


def sent_count(api: FakeBotApi) -> int:
    return sum(1 for call in api.calls_to("sendMessage") if call.error_code is None)


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as path:
        yield Path(path)


async def wait_until(condition: Any, within: float, every: float = 0.1) -> bool:
    """Await ``condition()`` (sync or async) until true, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        await asyncio.sleep(every)
    return False


def machine() -> str:
    import platform

    import psutil

    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs, {memory:.0f} GiB RAM, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}"
    )
