"""A transport-agnostic stand-in for Telegram's Bot API, answering with Telegram's exact JSON.

Transports: tests.helpers.fake_request.FakeRequest (in-process, for python-telegram-bot) and
tests.helpers.botapi_server.FakeBotApiServer (real HTTP on 127.0.0.1, for subprocesses).
State is guarded by a lock so an HTTP server thread and the test thread can share one instance.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tests.helpers.botapi_files import (
    MAX_UPLOAD_BYTES,
    FileStore,
    SentDocument,
    UploadedFile,
    validate_caption,
)
from tests.helpers.botapi_rules import (
    BLOCKED_BY_USER,
    CHAT_NOT_FOUND,
    GROUP_UPGRADED,
    MAX_CALLBACK_ANSWER_LENGTH,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    ApiResponse,
    bad_request,
    normalize_params,
    validate_commands,
    validate_inline_results,
    validate_reply_markup,
    validate_text,
)
from tests.helpers.rate_limits import RateLimits, SendRateLimiter
from tests.helpers.telegram_html import ParsedText
from tests.helpers.tg_objects import (
    JSON,
    ChatType,
    MemberStatus,
    channel_admin_rights,
    chat_json,
    chat_member_json,
    full_chat_json,
    user_json,
)
from tests.helpers.update_queue import UpdateQueue, update_kind
from tests.helpers.updates import UpdateFactory, command_entities

__all__ = [
    "BLOCKED_BY_USER",
    "GROUP_UPGRADED",
    "ApiCall",
    "ApiError",
    "ApiResponse",
    "Exchange",
    "FakeBotApi",
    "Fault",
    "RateLimits",
    "SentDocument",
    "UploadedFile",
]

BOT_ID = 12345
BOT_USERNAME = "newsbot_test_bot"
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

ChatKey = int | str


@dataclass(frozen=True)
class ApiCall:
    """One request as the fake received it (params decoded) and when; error_code if it failed."""

    method: str
    params: dict[str, Any]
    at: float
    error_code: int | None = None


@dataclass(frozen=True)
class Fault:
    """What a transport does to a call besides answering it (see FakeBotApi.add_fault).

    answer_after: the call is handled (a message is delivered) at once, its answer held back
    this many seconds (a slow Telegram). garbage: handled, then answered with a 200 whose body
    is not JSON. drop: handled, then the connection is closed without an answer. refuse: not
    handled at all; the client cannot connect (over HTTP: the connection closes first).
    """

    answer_after: float = 0.0
    garbage: bool = False
    drop: bool = False
    refuse: bool = False


NO_FAULT = Fault()
# What "deliver but answer garbage" answers: a reply cut off in the middle.
GARBAGE = b'{"ok":true,"result":{"message_id":'


@dataclass(frozen=True)
class Exchange:
    """One call as a transport should play it: the answer (None if refused) and the fault."""

    response: ApiResponse | None
    fault: Fault


@dataclass
class _FaultRule:
    method: str  # lower-cased
    chat_id: ChatKey | None
    fault: Fault
    times: int | None  # None: every matching call


@dataclass(frozen=True)
class _ScriptedFailure:
    method: str  # lower-cased
    chat_id: ChatKey | None
    error: ApiError


class FakeBotApi:
    """Telegram's Bot API in memory: getUpdates queue, recorded calls, validation, failures."""

    def __init__(
        self,
        *,
        token: str | None = None,
        enforce_limits: bool = False,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.strict_html = strict_html
        self.calls: list[ApiCall] = []
        self.rate_limited = 0
        self.me: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "NewsBot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._limiter = SendRateLimiter(limits or RateLimits(), clock)
        self._update_queue = UpdateQueue()
        self._webhook_url = ""
        self._webhook: JSON = {}  # what the last setWebhook asked for besides the URL
        self.webhook_secret: str | None = None
        self._message_ids: defaultdict[ChatKey, Iterator[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._messages: dict[tuple[ChatKey, int], JSON] = {}
        self._deleted_by_users: set[tuple[ChatKey, int]] = set()
        self._sent: list[JSON] = []
        self._documents: list[SentDocument] = []
        self.files = FileStore()
        self._chats: dict[ChatKey, JSON] = {}
        self._statuses: dict[ChatKey, dict[int, MemberStatus]] = {}
        self._anonymous: dict[ChatKey, set[int]] = {}
        self._rights: dict[ChatKey, dict[int, dict[str, bool]]] = {}
        self._failures: list[_ScriptedFailure] = []
        self._delays: list[tuple[str, float]] = []  # (method lower-cased, seconds)
        self._faults: list[_FaultRule] = []
        self._latency: dict[str, float] = {}  # lower-cased method, or "" for every method
        self._unreachable: dict[ChatKey, ApiError] = {}
        self._answered: set[str] = set()
        self._commands: dict[str, list[JSON]] = {}
        self.updates = UpdateFactory(
            bot_user=self.bot_user, next_message_id=self._next_message_id, wall_clock=wall_clock
        )
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": lambda _: dict(self.me),
            "logout": lambda _: True,
            "close": lambda _: True,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "getfile": lambda params: self.files.get_file(params.get("file_id")),
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchat": self._get_chat,
            "leavechat": self._leave_chat,
        }

    # -- configuration ---------------------------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The bot as a plain User object (what appears in `from` of its messages)."""
        return {key: self.me[key] for key in ("id", "is_bot", "first_name", "username")}

    def set_chat(
        self,
        chat_id: int,
        chat_type: ChatType | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> None:
        """Declare a chat; unknown chats are inferred from the id (>0 private, -100… supergroup)."""
        with self._lock:
            self._chats[chat_id] = chat_json(
                chat_id, chat_type, title=title, username=username, is_forum=is_forum
            )

    def set_admins(
        self,
        chat_id: int,
        user_ids: Collection[int],
        *,
        creator: int | None = None,
        anonymous: Collection[int] = (),
    ) -> None:
        """Make user_ids the chat's administrators (creator as owner); others become members."""
        with self._lock:
            statuses: dict[int, MemberStatus] = dict.fromkeys(user_ids, "administrator")
            if creator is not None:
                statuses[creator] = "creator"
            self._statuses[chat_id] = statuses
            self._anonymous[chat_id] = set(anonymous)

    def set_member_status(self, chat_id: int, user_id: int, status: MemberStatus) -> None:
        """Give one user a getChatMember status (e.g. "left", "kicked", "restricted")."""
        with self._lock:
            self._statuses.setdefault(chat_id, {})[user_id] = status

    def set_rights(self, chat_id: int, user_id: int, **rights: bool) -> None:
        """Set ChatMember fields of one user (e.g. can_post_messages=False for a channel
        administrator who may not post; channel administrators may post by default)."""
        with self._lock:
            self._rights.setdefault(chat_id, {}).setdefault(user_id, {}).update(rights)

    def post_in_channel(
        self,
        text: str,
        chat_id: int,
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """A `channel_post` update, known to the fake as Telegram would know the post."""
        with self._lock:
            self._chats.setdefault(
                chat_id, chat_json(chat_id, "channel", title=title, username=username)
            )
            chat = dict(self._chats[chat_id])
        update = self.updates.channel_post_update(text, chat)
        post = update["channel_post"]
        with self._lock:
            self._messages[(chat_id, post["message_id"])] = copy.deepcopy(post)
        return update

    def fail_next(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of method (to chat_id, if given) fail with this error."""
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        failure = _ScriptedFailure(
            method.lower(), chat_id, ApiError(error_code, description, parameters)
        )
        with self._lock:
            self._failures.extend([failure] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Make the next `times` calls of method wait `seconds` before answering (a slow API)."""
        with self._lock:
            self._delays.extend([(method.lower(), seconds)] * times)

    def _take_delay(self, key: str) -> float:
        with self._lock:
            for index, (method, seconds) in enumerate(self._delays):
                if method == key:
                    del self._delays[index]
                    return seconds
        return 0.0

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Every call (of method, if given) takes this long: half on the way to the server
        (before it is handled), half on the way back, as a network round trip does."""
        with self._lock:
            self._latency[(method or "").lower()] = seconds

    def latency_for(self, method: str) -> float:
        with self._lock:
            return self._latency.get(method.lower(), self._latency.get("", 0.0))

    def add_fault(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        times: int | None = None,
        answer_after: float = 0.0,
        garbage: bool = False,
        drop: bool = False,
        refuse: bool = False,
    ) -> None:
        """Play a Fault on the next `times` calls of method (to chat_id), or on all of them."""
        fault = Fault(answer_after, garbage, drop, refuse)
        with self._lock:
            self._faults.append(_FaultRule(method.lower(), chat_id, fault, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, params: Mapping[str, Any]) -> Fault:
        """The fault for this call (used up if it was counted), or NO_FAULT."""
        decoded = normalize_params(params)
        with self._lock:
            for rule in self._faults:
                if rule.method == method.lower() and rule.chat_id in (
                    None,
                    decoded.get("chat_id"),
                ):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._faults.remove(rule)
                    return rule.fault
        return NO_FAULT

    async def exchange(
        self, method: str, params: Mapping[str, Any], *, token: str | None = None
    ) -> Exchange:
        """handle() with the configured latency and faults, for a transport to play out."""
        fault = self.take_fault(method, params)
        if fault.refuse:
            return Exchange(None, fault)
        half = self.latency_for(method) / 2
        if half:
            await asyncio.sleep(half)
        response = await self.handle(method, params, token=token)
        if half + fault.answer_after:
            await asyncio.sleep(half + fault.answer_after)
        return Exchange(response, fault)

    def block(self, chat_id: int, description: str = BLOCKED_BY_USER) -> None:
        """From now on sends and edits to chat_id fail with 403 (until unblock)."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(403, description)

    def unblock(self, chat_id: int) -> None:
        """Undo block() or migrate() for chat_id."""
        with self._lock:
            self._unreachable.pop(chat_id, None)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """From now on sends to the old group fail with 400 + parameters.migrate_to_chat_id."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(
                400, GROUP_UPGRADED, {"migrate_to_chat_id": new_chat_id}
            )
            self._chats.setdefault(new_chat_id, chat_json(new_chat_id, "supergroup"))

    # -- updates ---------------------------------------------------------------------------

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an Update dict for getUpdates (waking long polls); returns its update_id."""
        update_id = self._update_queue.push(update)
        with self._lock:
            self._observe(update)
        return update_id

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        return self._update_queue.pending()

    def active_polls(self) -> int:
        """How many getUpdates long polls are waiting right now."""
        return self._update_queue.active_polls()

    def release_pollers(self) -> None:
        """Make every waiting long poll answer now (used when a server shuts down)."""
        self._update_queue.release()

    def _observe(self, update: Mapping[str, Any]) -> None:
        """Learn chats and the bot's own messages from an update, as Telegram would know them."""
        payload = update[update_kind(update)]
        message = payload.get("message") if "data" in payload else payload
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return
        chat = message["chat"]
        self._chats.setdefault(chat["id"], dict(chat))
        if "migrate_to_chat_id" in message:
            self.migrate(chat["id"], message["migrate_to_chat_id"])
        if message.get("from", {}).get("id") == self.me["id"] and "message_id" in message:
            self._messages.setdefault((chat["id"], message["message_id"]), copy.deepcopy(message))

    # -- documents users send ------------------------------------------------------------------

    def register_document(
        self,
        content: bytes,
        file_name: str | None = "feeds.opml",
        *,
        mime_type: str | None = "text/x-opml",
        declared_size: int | Literal["real"] | None = "real",
    ) -> JSON:
        """A file a user uploaded, as its Document object (for document_update).

        declared_size: "real" gives the real file_size, an int another one (a client may
        lie), None leaves it out (it is optional in the Bot API).
        """
        size = len(content) if declared_size == "real" else declared_size
        with self._lock:
            return self.files.add(
                content, file_name=file_name, mime_type=mime_type, declared_size=size
            )

    def document_update(
        self, document: Mapping[str, Any], *, caption: str | None = None, **kwargs: Any
    ) -> JSON:
        """A message carrying a document; a caption's leading /command gets its entity."""
        update = self.updates.media_message_update({"document": dict(document)}, **kwargs)
        message = update.get("message") or update["edited_message"]
        if caption is not None:
            message["caption"] = caption
            entities = command_entities(caption)
            if entities:
                message["caption_entities"] = entities
        return update

    def post_document_in_channel(
        self, document: Mapping[str, Any], chat_id: int, *, caption: str | None = None
    ) -> JSON:
        """A `channel_post` with a document (and a caption), as post_in_channel for text."""
        update = self.post_in_channel("", chat_id)
        post = update["channel_post"]
        del post["text"]
        post.pop("entities", None)
        post["document"] = dict(document)
        if caption is not None:
            post["caption"] = caption
            entities = command_entities(caption)
            if entities:
                post["caption_entities"] = entities
        with self._lock:
            self._messages[(chat_id, post["message_id"])] = copy.deepcopy(post)
        return update

    def download(self, token: str | None, file_path: str) -> ApiResponse | bytes:
        """GET /file/bot<token>/<file_path>: the bytes, or Telegram's 404/401 answer."""
        if not self.check_token(token):
            return ApiError(401, "Unauthorized").response()
        with self._lock:
            self.calls.append(ApiCall("download", {"file_path": file_path}, self._clock()))
            found = self.files.download(file_path)
        if found is None:
            return ApiError(404, "Not Found").response()
        return found

    def sent_documents(self, chat_id: int | str | None = None) -> list[SentDocument]:
        """Documents sendDocument delivered, optionally only to chat_id."""
        with self._lock:
            return [d for d in self._documents if chat_id is None or d.chat_id == chat_id]

    # -- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive), oldest first."""
        with self._lock:
            return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSON]:
        """Messages sendMessage delivered (as returned then), optionally only to chat_id."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._sent
                if chat_id is None or m["chat"]["id"] == chat_id
            ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """A bot message's current state (after edits), or None if the fake never saw it."""
        with self._lock:
            found = self._messages.get((chat_id, message_id))
            return copy.deepcopy(found) if found is not None else None

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command list setMyCommands stored for scope and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def _matching_calls(
        self, method: str, predicate: Callable[[ApiCall], bool] | None
    ) -> list[ApiCall]:
        return [c for c in self.calls_to(method) if predicate is None or predicate(c)]

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        within: float = 5.0,
    ) -> list[ApiCall]:
        """Wait until `count` calls of method (matching predicate) were made; return them."""
        deadline = time.monotonic() + within
        while len(found := self._matching_calls(method, predicate)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(self._timeout_message(method, count, len(found)))
            await asyncio.sleep(0.005)  # polling keeps this safe across the server thread
        return found[:count]

    async def wait_for_poll(self, *, within: float = 5.0) -> None:
        """Wait until a getUpdates long poll is waiting (the bot has started polling)."""
        deadline = time.monotonic() + within
        while self.active_polls() == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no long poll within {within}s")
            await asyncio.sleep(0.005)

    def wait_for_calls_blocking(
        self,
        method: str,
        count: int = 1,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        within: float = 5.0,
    ) -> list[ApiCall]:
        """wait_for_calls for synchronous tests (e.g. around a subprocess)."""
        deadline = time.monotonic() + within
        while len(found := self._matching_calls(method, predicate)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(self._timeout_message(method, count, len(found)))
            time.sleep(0.005)
        return found[:count]

    def _timeout_message(self, method: str, count: int, got: int) -> str:
        with self._lock:
            recent = [c.method for c in self.calls[-10:]]
        return f"wanted {count} {method} call(s), got {got}; last calls: {recent}"

    # -- dispatch ------------------------------------------------------------------------------

    def check_token(self, token: str | None) -> bool:
        """Whether a request's token is accepted (any token when none was configured)."""
        return self.token is None or token == self.token

    async def handle(
        self, method: str, params: Mapping[str, Any], *, token: str | None = None
    ) -> ApiResponse:
        """Answer one Bot API request; string values (form encoding) are decoded first."""
        at = self._clock()
        decoded = normalize_params(params)
        key = method.lower()
        delay = self._take_delay(key)
        if delay:
            await asyncio.sleep(delay)  # a client that gives up first cancels this request
        if not self.check_token(token):
            response = ApiError(401, "Unauthorized").response()
        elif key == "getupdates":
            response = await self._get_updates(decoded)
        else:
            response = self._dispatch(key, decoded)
        with self._lock:
            error_code = None if response.ok else response.status
            self.calls.append(ApiCall(method, decoded, at, error_code))
        return response

    def _dispatch(self, key: str, params: dict[str, Any]) -> ApiResponse:
        handler = self._handlers.get(key)
        if handler is None:
            return ApiError(404, "Not Found: method not found").response()
        with self._lock:
            try:
                self._raise_scripted(key, params)
                result = handler(params)
            except ApiError as error:
                return error.response()
        return ApiResponse(200, {"ok": True, "result": result})

    def _raise_scripted(self, key: str, params: Mapping[str, Any]) -> None:
        for index, failure in enumerate(self._failures):
            if failure.method == key and failure.chat_id in (None, params.get("chat_id")):
                del self._failures[index]
                raise failure.error

    # -- getUpdates ----------------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any]) -> ApiResponse:
        try:
            with self._lock:
                self._raise_scripted("getupdates", params)
                if self._webhook_url:
                    raise ApiError(409, _WEBHOOK_ACTIVE)
            updates = await self._update_queue.poll(params)
        except ApiError as error:
            return error.response()
        return ApiResponse(200, {"ok": True, "result": updates})

    # -- chats and members ---------------------------------------------------------------------

    def _chat_id(self, params: Mapping[str, Any]) -> ChatKey:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for known in self._chats.values():
                if known.get("username", "").lower() == chat_id[1:].lower():
                    return int(known["id"])
        raise ApiError(400, CHAT_NOT_FOUND)

    def _chat(self, chat_id: ChatKey) -> JSON:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if isinstance(chat_id, int):
            return chat_json(chat_id)
        raise ApiError(400, CHAT_NOT_FOUND)

    def _check_reachable(self, chat_id: ChatKey) -> None:
        error = self._unreachable.get(chat_id)
        if error is not None:
            raise ApiError(error.error_code, error.description, error.parameters)

    def _status(self, chat_id: ChatKey, user_id: int) -> MemberStatus:
        return self._statuses.get(chat_id, {}).get(user_id, "member")

    def _member(self, chat_id: ChatKey, user_id: int) -> JSON:
        user = self.bot_user if user_id == self.me["id"] else user_json(user_id)
        anonymous = user_id in self._anonymous.get(chat_id, set())
        status = self._status(chat_id, user_id)
        rights: dict[str, bool] = {}
        if status == "administrator" and self._chat(chat_id)["type"] == "channel":
            rights = channel_admin_rights()
        rights.update(self._rights.get(chat_id, {}).get(user_id, {}))
        return chat_member_json(user, status, is_anonymous=anonymous, rights=rights)

    def _get_chat(self, params: dict[str, Any]) -> JSON:
        return full_chat_json(self._chat(self._chat_id(params)))

    def _get_chat_member(self, params: dict[str, Any]) -> JSON:
        chat_id = self._chat_id(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        return self._member(chat_id, user_id)

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[JSON]:
        chat_id = self._chat_id(params)
        if self._chat(chat_id)["type"] == "private":
            raise bad_request("there are no administrators in the private chat")
        statuses = self._statuses.get(chat_id, {})
        # Telegram lists the owner first.
        ordered = sorted(
            (uid for uid, status in statuses.items() if status in ("creator", "administrator")),
            key=lambda uid: statuses[uid] != "creator",
        )
        return [self._member(chat_id, uid) for uid in ordered]

    def _leave_chat(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        chat_type = self._chat(chat_id)["type"]
        if chat_type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        self._unreachable[chat_id] = ApiError(
            403, f"Forbidden: bot is not a member of the {chat_type} chat"
        )
        return True

    # -- messages ------------------------------------------------------------------------------

    def _next_message_id(self, chat_id: ChatKey) -> int:
        with self._lock:
            return next(self._message_ids[chat_id])

    def _text(self, params: Mapping[str, Any]) -> ParsedText:
        return validate_text(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            strict_html=self.strict_html,
        )

    def _send_message(self, params: dict[str, Any]) -> JSON:
        chat_id = self._chat_id(params)
        chat = self._chat(chat_id)
        self._check_reachable(chat_id)
        parsed = self._text(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        self._pace(chat_id)
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": chat,
            "date": int(self._wall_clock()),
        }
        thread_id = params.get("message_thread_id")
        if isinstance(thread_id, int) and chat.get("is_forum"):
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        self._set_content(message, parsed, markup)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        self._messages[(chat_id, message["message_id"])] = message
        self._sent.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _pace(self, chat_id: ChatKey) -> None:
        """With enforce_limits: 429 with retry_after for a send over Telegram's limits."""
        if not self.enforce_limits:
            return
        is_group = isinstance(chat_id, int) and chat_id < 0
        retry_after = self._limiter.acquire(chat_id, is_group=is_group)
        if retry_after is not None:
            self.rate_limited += 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    def _send_document(self, params: dict[str, Any]) -> JSON:
        """sendDocument: a multipart upload, or the file_id of a file Telegram holds."""
        chat_id = self._chat_id(params)
        chat = self._chat(chat_id)
        self._check_reachable(chat_id)
        given = params.get("document")
        if isinstance(given, UploadedFile):
            if not given.content:
                raise bad_request("file must be non-empty")
            if len(given.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            document = self.files.add(
                given.content,
                file_name=given.file_name,
                mime_type=given.mime_type,
                declared_size=len(given.content),
            )
        elif self.files.known(given):
            document = self.files.document_json(str(given))
        elif isinstance(given, str) and given.startswith(("http://", "https://")):
            raise bad_request("wrong HTTP URL specified")  # the fake fetches nothing
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = validate_caption(params.get("caption"), params.get("parse_mode"))
        markup = validate_reply_markup(params.get("reply_markup"))
        self._pace(chat_id)
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": chat,
            "date": int(self._wall_clock()),
            "document": document,
        }
        thread_id = params.get("message_thread_id")
        if isinstance(thread_id, int) and chat.get("is_forum"):
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if caption is not None:
            message["caption"] = caption.text
            if caption.entities:
                message["caption_entities"] = [dict(e) for e in caption.entities]
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._documents.append(
            SentDocument(
                chat_id,
                str(document.get("file_name", "")),
                self.files.content(document["file_id"]),
                document.get("mime_type"),
                caption.text if caption is not None else None,
                tuple(dict(e) for e in caption.entities) if caption is not None else (),
                copy.deepcopy(message),
            )
        )
        return copy.deepcopy(message)

    @staticmethod
    def _set_content(message: JSON, parsed: ParsedText | None, markup: JSON | None) -> None:
        if parsed is not None:
            message["text"] = parsed.text
            message.pop("entities", None)
            if parsed.entities:
                message["entities"] = [dict(e) for e in parsed.entities]
        # An edit without reply_markup removes the inline keyboard, as on Telegram.
        message.pop("reply_markup", None)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup

    def _edit(self, params: dict[str, Any], parsed: ParsedText | None) -> JSON | bool:
        markup = validate_reply_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return True
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        key = (chat_id, params["message_id"])
        if key in self._deleted_by_users:
            raise bad_request("message to edit not found")
        # Messages the fake never saw (built straight into an Update) are edited permissively.
        current = self._messages.get(key) or {
            "message_id": params["message_id"],
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(self._wall_clock()),
        }
        edited = copy.deepcopy(current)
        self._set_content(edited, parsed, markup)
        content = ("text", "entities", "reply_markup")
        if all(edited.get(k) == current.get(k) for k in content) and key in self._messages:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        edited["edit_date"] = int(self._wall_clock())
        self._messages[key] = edited
        return copy.deepcopy(edited)

    def _edit_message_text(self, params: dict[str, Any]) -> JSON | bool:
        return self._edit(params, self._text(params))

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> JSON | bool:
        return self._edit(params, None)

    def delete_as_user(self, chat_id: int, message_id: int) -> None:
        """A user deletes one of the bot's messages (its buttons may still be tapped in flight)."""
        self._messages.pop((chat_id, message_id), None)
        self._deleted_by_users.add((chat_id, message_id))

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        if self._messages.pop((chat_id, params.get("message_id", 0)), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # -- queries -------------------------------------------------------------------------------

    def _take_query(self, query_id: Any) -> None:
        if not isinstance(query_id, str) or not query_id or query_id in self._answered:
            raise ApiError(400, QUERY_TOO_OLD)
        self._answered.add(query_id)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        text = params.get("text", "")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._take_query(params.get("callback_query_id"))
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        validate_inline_results(
            params.get("results"), params.get("next_offset"), strict_html=self.strict_html
        )
        self._take_query(params.get("inline_query_id"))
        return True

    # -- commands and webhook -------------------------------------------------------------------

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = validate_commands(params.get("commands"))
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._update_queue.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url", "")
        if not isinstance(url, str):
            raise bad_request("bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and not (
            isinstance(secret, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)
        ):
            raise bad_request("secret token contains unallowed characters")
        self._webhook_url = url
        self._webhook = {
            key: params[key] for key in ("max_connections", "allowed_updates") if key in params
        }
        self.webhook_secret = secret
        if params.get("drop_pending_updates") is True:
            self._update_queue.clear()
        return True

    def _get_webhook_info(self, _: dict[str, Any]) -> JSON:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._update_queue.pending()),
            **copy.deepcopy(self._webhook),
        }
