"""Telegram's request decoding, error shapes and validation rules, used by FakeBotApi."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.helpers.telegram_html import EntityParseError, ParsedText, parse_html
from tests.helpers.tg_objects import JSON

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50
MAX_CALLBACK_ANSWER_LENGTH = 200

BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"
GROUP_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
CHAT_NOT_FOUND = "Bad Request: chat not found"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# Form-encoded requests carry every value as a string; these say how Telegram reads them back.
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "message_thread_id",
        "cache_time",
        "until_date",
        "reply_to_message_id",
        "max_connections",
    }
)
_NUMBER_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "only_if_banned",
        "revoke_messages",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "button",
        "media",
        "permissions",
    }
)
_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP status plus the Bot API JSON body."""

    status: int
    body: JSON

    @property
    def ok(self) -> bool:
        """Whether Telegram would report success."""
        return bool(self.body.get("ok"))

    def payload(self) -> bytes:
        """The UTF-8 JSON body as sent on the wire."""
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


class ApiError(Exception):
    """A Bot API error; response() gives the exact JSON Telegram sends."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters: JSON = dict(parameters or {})

    def response(self) -> ApiResponse:
        """The error as Telegram's {"ok": false, ...} body with the matching HTTP status."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return ApiResponse(self.error_code, body)


def bad_request(reason: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def _decode(name: str, value: str) -> Any:
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value  # left as str so the validator reports Telegram's parse error
    if name in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _NUMBER_PARAMS:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if name in _BOOL_PARAMS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def normalize_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode string-encoded request values the way Telegram types each known parameter."""
    return {
        name: _decode(name, value) if isinstance(value, str) else value
        for name, value in raw.items()
        if value is not None
    }


def validate_text(
    text: Any, parse_mode: Any, entities: Any, *, strict_html: bool = True
) -> ParsedText:
    """Parse a message text like sendMessage does: 1..4096 characters after entity parsing."""
    if not isinstance(text, str):
        raise bad_request("message text is empty")
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            parsed = parse_html(text, strict_ampersand=strict_html)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode in ("", "markdown", "markdownv2"):
        # Markdown is not modelled: its text is measured raw, which over-counts the markup.
        given = entities if isinstance(entities, list) and not mode else []
        parsed = ParsedText(text, tuple(e for e in given if isinstance(e, dict)))
    else:
        raise bad_request("unsupported parse_mode")
    if not parsed.text.strip():
        raise bad_request("message text is empty")
    if len(parsed.text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return parsed


def validate_reply_markup(markup: Any) -> JSON | None:
    """Check a reply_markup object; inline buttons need an action and 1-64 bytes callback_data."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            _validate_inline_button(button)
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    if not _INLINE_BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= (
            MAX_CALLBACK_DATA_BYTES
        ):
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not button["url"]:
        raise bad_request("BUTTON_URL_INVALID")


def validate_inline_results(results: Any, next_offset: Any, *, strict_html: bool = True) -> None:
    """Check answerInlineQuery results: at most 50, unique ids, valid message texts and markup."""
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("type"), str):
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            validate_text(
                content["message_text"],
                content.get("parse_mode"),
                content.get("entities"),
                strict_html=strict_html,
            )
        elif result["type"] == "article":
            raise bad_request("MESSAGE_EMPTY")
        validate_reply_markup(result.get("reply_markup"))
    if isinstance(next_offset, str) and len(next_offset.encode("utf-8")) > 64:
        raise bad_request("NEXT_OFFSET_INVALID")


def validate_commands(commands: Any) -> list[JSON]:
    """Check setMyCommands' list: at most 100 commands, [a-z0-9_]{1,32}, 1-256 char descriptions."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = command.get("command")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]
