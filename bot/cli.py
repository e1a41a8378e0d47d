"""The ``newsbot`` command: run the bot, load articles, search and summarise from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.logs import configure_logging
from bot.opml_cli import export_opml, import_opml
from bot.runtime import Runtime, utc_now
from bot.settings import Settings, SettingsError
from services.ingest import IngestInterrupted, IngestReport, IngestService
from services.parsing import RawArticle, Rejected, parse_file
from services.search import SearchHit
from services.summarize import summarize
from storage.db import describe, storage_fault

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_STORAGE = 1
# What an operator can do about each kind of database fault (see storage.db.storage_fault).
_FAULT_ADVICE = {
    "full": "the disk holding the database is full: free some space and run it again",
    "unreachable": "the database cannot be reached: check that it is running and DATABASE_URL",
    "busy": "the database stayed locked by another process: try again once it is done",
}
VERBOSITY = ("INFO", "DEBUG")  # -v, -vv
PARALLEL_INGEST_BYTES = 2_000_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        token = settings.telegram_bot_token
        configure_logging(
            log_level(settings, args), [token.reveal()] if token else [], fmt=settings.log_format
        )
        return int(args.handler(settings, args))
    except SettingsError as error:  # TokenRefused included: the message says what to do
        _fatal(str(error), settings)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a database fault is the operator's to fix, not a bug
        fault = storage_fault(error)
        if fault is None:
            raise
        _fatal(f"{_FAULT_ADVICE[fault]} ({describe(error)})", settings)
        return EXIT_STORAGE


def _fatal(message: str, settings: Settings | None) -> None:
    """The one line a failed command ends with: a JSON log line when the logs are JSON."""
    if settings is not None and settings.log_format == "json":
        logging.getLogger("bot.cli").error(message)
    else:
        print(f"newsbot: {message}", file=sys.stderr)


def log_level(settings: Settings, args: argparse.Namespace) -> str:
    """-v / -vv win, then LOG_LEVEL; else INFO for the services, WARNING for one-shot commands."""
    verbose = getattr(args, "verbose", 0)  # absent unless -v was given
    if verbose:
        return VERBOSITY[min(verbose, len(VERBOSITY)) - 1]
    if settings.log_level:
        return settings.log_level
    return "INFO" if args.service else "WARNING"


def _parser() -> argparse.ArgumentParser:
    verbosity = argparse.ArgumentParser(add_help=False)
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log more: -v for INFO, -vv for DEBUG (or set LOG_LEVEL)",
    )
    parser = argparse.ArgumentParser(prog="newsbot", description=__doc__, parents=[verbosity])
    # Not verbose=0 here: set_defaults would reach the -v action the sub-commands share.
    parser.set_defaults(service=False)
    commands = _Commands(parser.add_subparsers(required=True, metavar="COMMAND"), verbosity)

    run = commands.add_parser("run", help="run the bot (long polling, or webhook: WEBHOOK_URL)")
    run.set_defaults(handler=_run, service=True)

    ingest = commands.add_parser("ingest", help="load articles from files")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.set_defaults(handler=_ingest)

    summarize_cmd = commands.add_parser("summarize", help="print the summary of article files")
    summarize_cmd.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    summarize_cmd.set_defaults(handler=_summarize)

    search = commands.add_parser("search", help="search stored articles")
    search.add_argument("query", help="the query, or - to read one query per line from stdin")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=_search)

    reindex = commands.add_parser("reindex", help="rebuild the search index from the database")
    reindex.set_defaults(handler=_reindex)

    worker = commands.add_parser("worker", help="match and send alerts and poll feeds, no chat")
    worker.set_defaults(handler=_worker, service=True)

    feeds = commands.add_parser("feeds", help="manage RSS/Atom feeds")
    feed_commands = _Commands(feeds.add_subparsers(required=True, metavar="ACTION"), verbosity)
    add = feed_commands.add_parser("add", help="add a feed")
    add.add_argument("url")
    add.add_argument("--interval", type=int, default=10, metavar="MINUTES")
    add.set_defaults(handler=_feeds, action="add")
    listing = feed_commands.add_parser("list", help="list feeds")
    listing.set_defaults(handler=_feeds, action="list")
    remove = feed_commands.add_parser("remove", help="remove a feed")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=_feeds, action="remove")
    poll = feed_commands.add_parser("poll", help="poll now and report")
    poll.add_argument("id", type=int, nargs="?")
    poll.set_defaults(handler=_feeds, action="poll")
    export = feed_commands.add_parser("export", help="print every feed as OPML 2.0")
    export.set_defaults(handler=_feeds, action="export")
    import_cmd = feed_commands.add_parser("import", help="add the feeds of an OPML file")
    import_cmd.add_argument("file", type=Path, metavar="FILE.opml")
    import_cmd.add_argument("--interval", type=int, default=10, metavar="MINUTES")
    import_cmd.set_defaults(handler=_feeds, action="import")
    return parser


class _Commands:
    """Sub-commands that also take -v after their name (``newsbot search -v ...``)."""

    def __init__(
        self, actions: argparse._SubParsersAction[argparse.ArgumentParser], *parents: Any
    ) -> None:
        self._actions = actions
        self._parents = list(parents)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self._actions.add_parser(name, parents=self._parents, **kwargs)


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from telegram.error import TelegramError

    from bot.serve import run_bot

    try:
        if settings.webhook_mode or settings.http_port is not None:
            # Webhook mode, or polling with /healthz, /readyz and /metrics on HTTP_PORT.
            from bot.webhook import run_webhook

            return run_webhook(settings)
        return run_bot(settings)
    except TelegramError as error:  # none expected: start-up retries network errors itself
        _fatal(f"Telegram refused to start the bot: {error.message}", settings)
        return EXIT_FAILURE


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.worker import run_worker

    return asyncio.run(run_worker(settings))


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_feeds_async(settings, args, sys.stdout))


async def _feeds_async(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    runtime = await Runtime.open(settings, catch_up=False)
    feeds = runtime.services.feeds
    try:
        if args.action == "add":
            interval = timedelta(minutes=max(1, args.interval))
            result = await feeds.add(args.url, interval)
            if result.feed is None:
                print(f"refused: {result.refusal}", file=out)
                return 1
            verb = "added" if result.created else "already there as"
            print(f"{verb} feed {result.feed.id}: {result.feed.url}", file=out)
        elif args.action == "list":
            for feed in await feeds.list_feeds():
                state = "active" if feed.active else "stopped"
                error = f"  last error: {feed.last_error}" if feed.last_error else ""
                print(
                    f"{feed.id}\t{state}\t{feed.interval_seconds // 60} min\t{feed.url}{error}",
                    file=out,
                )
        elif args.action == "export":
            out.write(await export_opml(feeds, utc_now()))
        elif args.action == "import":
            interval = timedelta(minutes=max(1, args.interval))
            return await import_opml(feeds, args.file, interval, out)
        elif args.action == "remove":
            if not await feeds.remove(args.id):
                print(f"no feed {args.id}", file=out)
                return 1
            print(f"removed feed {args.id}", file=out)
        else:
            reports = await feeds.poll(args.id)
            if not reports:
                print("no such feed" if args.id else "no feeds", file=out)
                return 1
            for report in reports:
                if report.status in ("error", "busy"):
                    print(
                        f"{report.feed_id} {report.url}: {report.status}: {report.error}", file=out
                    )
                else:
                    print(
                        f"{report.feed_id} {report.url}: {report.status}, stored {report.added}, "
                        f"updated {report.updated}, skipped {report.skipped}",
                        file=out,
                    )
                for problem in report.problems:
                    print(f"    {problem}", file=out)
            await runtime.follower.catch_up()
    finally:
        await runtime.close()
    return 0


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _parsed(paths: Sequence[Path]) -> Iterator[tuple[RawArticle | Rejected, str]]:
    for path in _files(paths):
        if not path.exists():
            yield Rejected(str(path), "no such file"), str(path)
            continue
        for item in parse_file(path):
            yield item, str(path)


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_ingest_async(settings, args.paths, sys.stdout, sys.stderr))


async def _ingest_async(settings: Settings, paths: Sequence[Path], out: TextIO, err: TextIO) -> int:
    runtime = await Runtime.open(settings, catch_up=False)
    started = time.monotonic()
    show_progress = err.isatty()
    files = list(_files(paths))
    big = sum(p.stat().st_size for p in files if p.exists()) > PARALLEL_INGEST_BYTES
    # Cleaning and summarising is CPU-bound: spread large loads over every core.
    pool = ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) if big else None
    ingest = IngestService(runtime.sessions, clock=utc_now, executor=pool)

    def progress(report: IngestReport) -> None:
        if show_progress:
            rate = report.seen / max(time.monotonic() - started, 1e-6)
            err.write(f"\r{report.seen:,} articles processed ({rate:,.0f}/s)")
            err.flush()

    try:
        try:
            report = await ingest.ingest(_parsed(files), on_progress=progress)
        except IngestInterrupted as stopped:
            if show_progress:
                err.write("\n")
            _explain_interrupted(stopped, err)
            return EXIT_STORAGE
        if show_progress:
            err.write("\n")
        sync = await runtime.follower.catch_up()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        await runtime.close()
    elapsed = time.monotonic() - started
    print(
        f"added {report.added}, updated {report.updated}, skipped {report.skipped}, "
        f"rejected {len(report.rejected)} in {elapsed:.1f}s",
        file=out,
    )
    for rejected in report.rejected:
        print(f"rejected {rejected.location}: {rejected.reason}", file=out)
    if sync.busy:
        print("the running bot will index the new articles within a second", file=out)
    return 0 if report.seen else 1


def _explain_interrupted(stopped: IngestInterrupted, err: TextIO) -> None:
    done = stopped.report
    print(
        f"newsbot: stopped: {_FAULT_ADVICE[stopped.fault]} ({stopped.detail}).\n"
        f"Stored before that: added {done.added}, updated {done.updated}, "
        f"skipped {done.skipped}; the batch being written when it happened was not kept.\n"
        "Running the same command again is safe: what is stored already is skipped.",
        file=err,
    )


def _summarize(_settings: Settings, args: argparse.Namespace) -> int:
    status = 0
    for path in _files(args.paths):
        as_jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        for item in parse_file(path):
            if isinstance(item, Rejected):
                print(f"newsbot: {item.location}: {item.reason}", file=sys.stderr)
                status = 1
                continue
            summary = summarize(item.title, item.body)
            if as_jsonl:
                print(json.dumps({"id": item.external_id, "summary": summary}, ensure_ascii=False))
            else:
                print(summary)
    return status


def _search(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_search_async(settings, args.query, args.limit, args.json, sys.stdin))


async def _search_async(
    settings: Settings, query: str, limit: int, as_json: bool, stdin: TextIO
) -> int:
    runtime = await Runtime.open(settings)
    try:
        if query == "-":
            for line in stdin:
                page = await runtime.services.search.search(line.strip(), limit=limit)
                print(json.dumps([_hit_json(h) for h in page.hits], ensure_ascii=False), flush=True)
            return 0
        page = await runtime.services.search.search(query, limit=limit)
    finally:
        await runtime.close()
    if as_json:
        print(json.dumps([_hit_json(h) for h in page.hits], ensure_ascii=False, indent=2))
    elif not page.hits:
        print("no results")
    for number, hit in enumerate(page.hits if not as_json else [], start=1):
        article = hit.article
        print(f"{number}. [{article.public_id}] {article.title}  (score {hit.score:.3f})")
        print(f"   {article.summary}")
        if article.url:
            print(f"   {article.url}")
    return 0


def _hit_json(hit: SearchHit) -> dict[str, object]:
    article = hit.article
    return {
        "id": article.public_id,
        "title": article.title,
        "url": article.url,
        "summary": article.summary,
        "published": article.published_at.isoformat() if article.published_at else None,
        "score": hit.score,
    }


def _reindex(settings: Settings, _args: argparse.Namespace) -> int:
    async def rebuild() -> int:
        runtime = await Runtime.open(settings, catch_up=False)
        try:
            return await runtime.follower.rebuild(progress)
        finally:
            await runtime.close()

    def progress(count: int) -> None:
        if sys.stderr.isatty():  # a progress line is for a person watching, not for a log
            print(f"\r{count:,} articles indexed", end="", file=sys.stderr, flush=True)

    count = asyncio.run(rebuild())
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"indexed {count} articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
