"""Builders of realistic Telegram Update dicts with increasing update ids."""

from __future__ import annotations

import copy
import itertools
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tests.helpers.tg_objects import (
    CHANNEL_BOT_ID,
    DEFAULT_GROUP_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    GROUP_ANONYMOUS_BOT_ID,
    JSON,
    ChatType,
    MemberStatus,
    chat_json,
    chat_member_json,
    infer_chat_type,
    service_bot_json,
    user_json,
)

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity Telegram attaches to a leading /command or /command@botname."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": match.end()}]


class UpdateFactory:
    """Makes Update dicts; one factory per test keeps update, message and query ids increasing."""

    def __init__(
        self,
        *,
        bot_user: Mapping[str, Any] | None = None,
        first_update_id: int = 100_000_001,
        next_message_id: Callable[[int], int] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot_user: JSON = dict(
            bot_user
            or {
                "id": 12345,
                "is_bot": True,
                "first_name": "NewsBot",
                "username": "newsbot_test_bot",
            }
        )
        self._update_ids: Iterator[int] = itertools.count(first_update_id)
        self._query_ids: Iterator[int] = itertools.count(4_000_000_000_000_000_001)
        self._per_chat: defaultdict[int, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._next_message_id = next_message_id or (lambda chat_id: next(self._per_chat[chat_id]))
        self._wall_clock = wall_clock

    def _now(self) -> int:
        return int(self._wall_clock())

    def _update(self, kind: str, payload: JSON) -> JSON:
        return {"update_id": next(self._update_ids), kind: payload}

    def message_update(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: ChatType | None = None,
        user_id: int = DEFAULT_USER_ID,
        message_id: int | None = None,
        entities: Sequence[Mapping[str, Any]] | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        sender_chat: Mapping[str, Any] | None = None,
        anonymous_admin: bool = False,
        migrate_to_chat_id: int | None = None,
        migrate_from_chat_id: int | None = None,
        chat_title: str | None = None,
        edited: bool = False,
    ) -> JSON:
        """A `message` update (or `edited_message`); entities default to the leading /command.

        anonymous_admin=True sends as the group itself (sender_chat = chat, from =
        GroupAnonymousBot); sender_chat=<channel chat> models a linked-channel post.
        migrate_to/from_chat_id build the service messages of a group->supergroup upgrade
        (then text must be "").
        """
        kind = chat_type or (infer_chat_type(chat_id) if chat_id is not None else "private")
        if chat_id is None:
            chat_id = {"private": user_id, "group": DEFAULT_GROUP_ID}.get(
                kind, DEFAULT_SUPERGROUP_ID
            )
        chat = chat_json(
            chat_id,
            kind,
            title=chat_title,
            is_forum=message_thread_id is not None and kind == "supergroup",
        )
        if anonymous_admin:
            sender_chat = chat
        sender: JSON = user_json(user_id)
        if sender_chat is not None:
            is_own_chat = sender_chat.get("id") == chat_id
            sender = service_bot_json(GROUP_ANONYMOUS_BOT_ID if is_own_chat else CHANNEL_BOT_ID)
        message: JSON = {
            "message_id": message_id if message_id is not None else self._next_message_id(chat_id),
            "from": sender,
            "chat": chat,
            "date": self._now(),
        }
        if sender_chat is not None:
            message["sender_chat"] = dict(sender_chat)
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if is_topic_message:
                message["is_topic_message"] = True
        if migrate_to_chat_id is not None or migrate_from_chat_id is not None:
            if text:
                raise ValueError("migration service messages carry no text")
            if migrate_to_chat_id is not None:
                message["migrate_to_chat_id"] = migrate_to_chat_id
            if migrate_from_chat_id is not None:
                message["migrate_from_chat_id"] = migrate_from_chat_id
        else:
            message["text"] = text
            found = command_entities(text) if entities is None else [dict(e) for e in entities]
            if found:
                message["entities"] = found
        if edited:
            message["edit_date"] = message["date"]
        return self._update("edited_message" if edited else "message", message)

    def media_message_update(
        self, content: Mapping[str, Any], *, caption: str | None = None, **kwargs: Any
    ) -> JSON:
        """A message without text: content is e.g. {"sticker": {...}} or {"location": {...}}."""
        update = self.message_update("", **kwargs)
        message = update.get("message") or update["edited_message"]
        del message["text"]
        message.update(copy.deepcopy(dict(content)))
        if caption is not None:
            message["caption"] = caption
        return update

    def callback_query_update(
        self,
        data: str,
        message_id: int,
        chat_id: int,
        user_id: int = DEFAULT_USER_ID,
        *,
        message_text: str = "Pick one",
        reply_markup: Mapping[str, Any] | None = None,
        chat_type: ChatType | None = None,
    ) -> JSON:
        """A `callback_query` update from a button under the bot's message message_id."""
        message: JSON = {
            "message_id": message_id,
            "from": dict(self._bot_user),
            "chat": chat_json(chat_id, chat_type),
            "date": self._now() - 60,
            "text": message_text,
        }
        if reply_markup is not None:
            message["reply_markup"] = dict(reply_markup)
        query: JSON = {
            "id": str(next(self._query_ids)),
            "from": user_json(user_id),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919 % 10**19),
            "data": data,
        }
        return self._update("callback_query", query)

    def inline_query_update(
        self,
        query: str,
        offset: str = "",
        user_id: int = DEFAULT_USER_ID,
        *,
        chat_type: str | None = "sender",
    ) -> JSON:
        """An `inline_query` update typed by user_id."""
        payload: JSON = {
            "id": str(next(self._query_ids)),
            "from": user_json(user_id),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            payload["chat_type"] = chat_type
        return self._update("inline_query", payload)

    def my_chat_member_update(
        self,
        chat_id: int,
        old_status: MemberStatus,
        new_status: MemberStatus,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_type: ChatType | None = None,
        rights: Mapping[str, bool] | None = None,
        title: str | None = None,
    ) -> JSON:
        """A `my_chat_member` update: user_id changed the bot's status in chat_id.

        rights: ChatMember fields of the bot's new membership (in a channel, an
        administrator's can_post_messages; see tg_objects.channel_admin_rights).
        """
        if chat_type == "private" or (chat_type is None and chat_id > 0):
            actor = user_json(chat_id)  # in private chats only the user can block the bot
        else:
            actor = user_json(user_id)
        payload: JSON = {
            "chat": chat_json(chat_id, chat_type, title=title),
            "from": actor,
            "date": self._now(),
            "old_chat_member": chat_member_json(dict(self._bot_user), old_status),
            "new_chat_member": chat_member_json(dict(self._bot_user), new_status, rights=rights),
        }
        return self._update("my_chat_member", payload)

    def channel_post_update(self, text: str, chat: Mapping[str, Any]) -> JSON:
        """A `channel_post`: no `from`, the channel itself is the sender_chat."""
        post: JSON = {
            "message_id": self._next_message_id(int(chat["id"])),
            "sender_chat": dict(chat),
            "chat": dict(chat),
            "date": self._now(),
            "text": text,
        }
        found = command_entities(text)
        if found:
            post["entities"] = found
        return self._update("channel_post", post)

    def chat_shared_update(
        self,
        shared_chat_id: int,
        *,
        user_id: int = DEFAULT_USER_ID,
        request_id: int = 1,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """The service message a KeyboardButtonRequestChat sends when the user picks a chat."""
        shared: JSON = {"request_id": request_id, "chat_id": shared_chat_id}
        if title is not None:
            shared["title"] = title
        if username is not None:
            shared["username"] = username
        message: JSON = {
            "message_id": self._next_message_id(user_id),
            "from": user_json(user_id),
            "chat": chat_json(user_id, "private"),
            "date": self._now(),
            "chat_shared": shared,
        }
        return self._update("message", message)
