"""FakeBotApi's own semantics, checked on the raw JSON it answers with."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.helpers.botapi import BLOCKED_BY_USER, FakeBotApi
from tests.helpers.rate_limits import ManualClock, RateLimits


async def ok(api: FakeBotApi, method: str, **params: Any) -> Any:
    response = await api.handle(method, params)
    assert response.status == 200, response.body
    assert response.body["ok"] is True
    return response.body["result"]


async def test_unknown_method_is_telegrams_404(api: FakeBotApi) -> None:
    response = await api.handle("sendTelepathy", {})
    assert response.status == 404
    assert response.body == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert api.calls[-1].method == "sendTelepathy"
    assert api.calls[-1].error_code == 404


async def test_method_names_are_case_insensitive_and_calls_recorded(api: FakeBotApi) -> None:
    me = await ok(api, "GETME")
    assert me["username"] == "newsbot_test_bot"
    assert me["supports_inline_queries"] is True
    await ok(api, "sendMessage", chat_id="42", text="hi")
    call = api.calls_to("sendmessage")[0]
    assert call.params == {"chat_id": 42, "text": "hi"}
    assert call.error_code is None


async def test_form_encoded_values_are_decoded_per_parameter(api: FakeBotApi) -> None:
    result = await ok(
        api,
        "sendMessage",
        chat_id="-1001000000042",
        text="123",
        disable_notification="true",
        reply_markup='{"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}',
    )
    assert result["text"] == "123"
    assert result["chat"]["type"] == "supergroup"
    assert result["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "1"
    assert api.calls[-1].params["disable_notification"] is True


async def test_wrong_token_is_unauthorized() -> None:
    api = FakeBotApi(token="1:good")
    response = await api.handle("getMe", {}, token="1:bad")
    assert response.body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert (await api.handle("getMe", {}, token="1:good")).ok


async def test_send_message_ids_increase_per_chat(api: FakeBotApi) -> None:
    first = await ok(api, "sendMessage", chat_id=1, text="a")
    second = await ok(api, "sendMessage", chat_id=1, text="b")
    other = await ok(api, "sendMessage", chat_id=2, text="c")
    assert (first["message_id"], second["message_id"], other["message_id"]) == (1, 2, 1)
    assert [m["text"] for m in api.sent_messages(1)] == ["a", "b"]


async def test_user_message_ids_share_the_chat_sequence(api: FakeBotApi) -> None:
    update = api.updates.message_update("hello", user_id=5)
    sent = await ok(api, "sendMessage", chat_id=5, text="reply")
    assert sent["message_id"] == update["message"]["message_id"] + 1


# -- getUpdates ------------------------------------------------------------------------------


async def test_offset_confirms_earlier_updates(api: FakeBotApi) -> None:
    ids = [api.push_update(api.updates.message_update(f"m{i}")) for i in range(3)]
    assert [u["update_id"] for u in await ok(api, "getUpdates")] == ids
    assert [u["update_id"] for u in await ok(api, "getUpdates", offset=ids[1])] == ids[1:]
    # Confirmed updates are forgotten even when a later call asks without an offset.
    assert [u["update_id"] for u in await ok(api, "getUpdates")] == ids[1:]
    assert await ok(api, "getUpdates", offset=ids[2] + 1) == []
    assert api.pending_updates() == []


async def test_negative_offset_and_limit(api: FakeBotApi) -> None:
    ids = [api.push_update(api.updates.message_update(f"m{i}")) for i in range(5)]
    assert [u["update_id"] for u in await ok(api, "getUpdates", offset=-2)] == ids[3:]
    assert [u["update_id"] for u in await ok(api, "getUpdates", limit=1)] == ids[3:4]


async def test_update_ids_must_increase(api: FakeBotApi) -> None:
    update = api.updates.message_update("x")
    api.push_update(update)
    with pytest.raises(ValueError, match="not above"):
        api.push_update(update)


async def test_default_allowed_updates_withhold_chat_member(api: FakeBotApi) -> None:
    api.push_update({"update_id": 1, "chat_member": {}})
    api.push_update({"update_id": 2, "my_chat_member": {}})
    assert [u["update_id"] for u in await ok(api, "getUpdates")] == [2]
    api.push_update({"update_id": 3, "message": {}})
    api.push_update({"update_id": 4, "chat_member": {}})
    got = await ok(api, "getUpdates", offset=3, allowed_updates='["chat_member"]')
    assert [u["update_id"] for u in got] == [4]


async def test_long_poll_returns_early_when_an_update_arrives(api: FakeBotApi) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.1)
        api.push_update(api.updates.message_update("/start"))

    started = time.monotonic()
    pusher = asyncio.create_task(push_later())
    updates = await ok(api, "getUpdates", timeout="10")
    await pusher
    assert [u["message"]["text"] for u in updates] == ["/start"]
    assert time.monotonic() - started < 2


async def test_long_poll_times_out_empty(api: FakeBotApi) -> None:
    started = time.monotonic()
    assert await ok(api, "getUpdates", timeout=0.2) == []
    assert 0.15 < time.monotonic() - started < 2


async def test_newer_poll_terminates_older_with_conflict(api: FakeBotApi) -> None:
    older = asyncio.create_task(api.handle("getUpdates", {"timeout": 10}))
    await asyncio.sleep(0.05)
    newer = await api.handle("getUpdates", {"timeout": 0})
    response = await asyncio.wait_for(older, 2)
    assert newer.ok
    assert response.status == 409
    assert response.body["description"].startswith("Conflict: terminated by other getUpdates")


async def test_webhook_blocks_polling_and_delete_drops_pending(api: FakeBotApi) -> None:
    api.push_update(api.updates.message_update("x"))
    await ok(api, "setWebhook", url="https://example.test/hook")
    assert (await api.handle("getUpdates", {})).status == 409
    await ok(api, "deleteWebhook", drop_pending_updates="true")
    assert await ok(api, "getUpdates") == []


# -- validation and failures -----------------------------------------------------------------


async def test_scripted_failures_have_telegrams_exact_shapes(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", 7, error_code=403, description=BLOCKED_BY_USER)
    api.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 5", retry_after=5
    )
    # Not chat 7 -> the untargeted 429 matches first.
    limited = await api.handle("sendMessage", {"chat_id": 8, "text": "x"})
    blocked = await api.handle("sendMessage", {"chat_id": 7, "text": "x"})
    assert limited.status == 429
    assert limited.body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 5",
        "parameters": {"retry_after": 5},
    }
    assert blocked.body == {"ok": False, "error_code": 403, "description": BLOCKED_BY_USER}
    assert (await api.handle("sendMessage", {"chat_id": 7, "text": "x"})).ok


async def test_block_and_migrate_persist(api: FakeBotApi) -> None:
    api.block(7)
    api.migrate(-4001, -1001234567890)
    for _ in range(2):
        assert (await api.handle("sendMessage", {"chat_id": 7, "text": "x"})).status == 403
        migrated = await api.handle("sendMessage", {"chat_id": -4001, "text": "x"})
        assert migrated.body["parameters"] == {"migrate_to_chat_id": -1001234567890}
    api.unblock(7)
    assert (await api.handle("sendMessage", {"chat_id": 7, "text": "x"})).ok


async def test_pushed_migration_message_migrates_the_group(api: FakeBotApi) -> None:
    api.push_update(api.updates.message_update("", chat_id=-4002, migrate_to_chat_id=-1009))
    response = await api.handle("sendMessage", {"chat_id": -4002, "text": "x"})
    assert response.body["description"] == (
        "Bad Request: group chat was upgraded to a supergroup chat"
    )


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": 1}, "Bad Request: message text is empty"),
        ({"chat_id": 1, "text": "  "}, "Bad Request: message text is empty"),
        ({"chat_id": 1, "text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"chat_id": 1, "text": "x", "parse_mode": "BBCode"},
            "Bad Request: unsupported parse_mode",
        ),
        ({"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found"),
        (
            {"chat_id": 1, "text": "x", "reply_markup": "{not json"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (
            {
                "chat_id": 1,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": ""}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_send_message_validation(
    api: FakeBotApi, params: dict[str, Any], description: str
) -> None:
    response = await api.handle("sendMessage", params)
    assert response.body == {"ok": False, "error_code": 400, "description": description}


async def test_length_is_measured_after_html_parsing(api: FakeBotApi) -> None:
    text = "<b>" + "&amp;" * 4096 + "</b>"
    result = await ok(api, "sendMessage", chat_id=1, text=text, parse_mode="HTML")
    assert result["text"] == "&" * 4096
    assert result["entities"] == [{"type": "bold", "offset": 0, "length": 4096}]


async def test_non_strict_html_accepts_bare_ampersand() -> None:
    api = FakeBotApi(strict_html=False)
    result = await ok(api, "sendMessage", chat_id=1, text="Q&A", parse_mode="HTML")
    assert result["text"] == "Q&A"


async def test_edits_track_content_and_reject_no_op(api: FakeBotApi) -> None:
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}
    sent = await ok(api, "sendMessage", chat_id=1, text="v1", reply_markup=markup)
    key = {"chat_id": 1, "message_id": sent["message_id"]}
    same = await api.handle("editMessageText", {**key, "text": "v1", "reply_markup": markup})
    assert same.status == 400
    assert same.body["description"].startswith("Bad Request: message is not modified")
    edited = await ok(api, "editMessageText", **key, text="<i>v2</i>", parse_mode="HTML")
    assert edited["text"] == "v2"
    assert "reply_markup" not in edited  # omitted reply_markup removes the keyboard
    assert "edit_date" in edited
    assert api.message(1, sent["message_id"]) == edited
    assert (await api.handle("editMessageReplyMarkup", key)).status == 400
    assert await ok(api, "editMessageText", inline_message_id="abc", text="x") is True


async def test_callback_queries_can_be_answered_once(api: FakeBotApi) -> None:
    update = api.updates.callback_query_update("page:2", message_id=3, chat_id=1)
    query_id = update["callback_query"]["id"]
    assert await ok(api, "answerCallbackQuery", callback_query_id=query_id, text="ok") is True
    again = await api.handle("answerCallbackQuery", {"callback_query_id": query_id})
    assert again.body["description"] == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_callback_messages_from_pushed_updates_are_known(api: FakeBotApi) -> None:
    api.push_update(api.updates.callback_query_update("x", 3, 1, message_text="Pick"))
    response = await api.handle("editMessageText", {"chat_id": 1, "message_id": 3, "text": "Pick"})
    assert response.status == 400


def article(result_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "article",
        "id": result_id,
        "title": "t",
        "input_message_content": {"message_text": text, "parse_mode": "HTML"},
    }


@pytest.mark.parametrize(
    ("results", "description"),
    [
        ([article(str(i), "x") for i in range(51)], "Bad Request: RESULTS_TOO_MUCH"),
        ([article("1", "x"), article("1", "y")], "Bad Request: RESULT_ID_DUPLICATE"),
        ([article("x" * 65, "x")], "Bad Request: RESULT_ID_INVALID"),
        (
            [article("1", "<b>x")],
            "Bad Request: can't parse entities: Can't find end tag "
            'corresponding to start tag "b"',
        ),
        ([article("1", "y" * 4097)], "Bad Request: message is too long"),
    ],
)
async def test_inline_results_validation(
    api: FakeBotApi, results: list[dict[str, Any]], description: str
) -> None:
    query_id = api.updates.inline_query_update("q")["inline_query"]["id"]
    response = await api.handle(
        "answerInlineQuery", {"inline_query_id": query_id, "results": results}
    )
    assert response.body["description"] == description
    fifty = [article(str(i), "x") for i in range(50)]
    assert (
        await api.handle("answerInlineQuery", {"inline_query_id": query_id, "results": fifty})
    ).ok


# -- rate limits -------------------------------------------------------------------------------


def limited_api() -> tuple[FakeBotApi, ManualClock]:
    clock = ManualClock()
    return FakeBotApi(enforce_limits=True, clock=clock), clock


async def send(api: FakeBotApi, chat_id: int) -> int:
    response = await api.handle("sendMessage", {"chat_id": chat_id, "text": "x"})
    return int(response.body.get("parameters", {}).get("retry_after", 0))


async def test_limits_are_off_by_default(api: FakeBotApi) -> None:
    assert [await send(api, 1) for _ in range(100)] == [0] * 100
    assert api.rate_limited == 0


async def test_one_message_per_second_per_chat() -> None:
    api, clock = limited_api()
    assert await send(api, 1) == 0
    assert await send(api, 1) == 1
    assert await send(api, 2) == 0
    clock.advance(1.0)
    assert await send(api, 1) == 0
    assert api.rate_limited == 1
    assert api.calls[1].error_code == 429


async def test_thirty_messages_per_second_overall() -> None:
    api, clock = limited_api()
    assert [await send(api, chat) for chat in range(1, 31)] == [0] * 30
    assert await send(api, 31) == 1
    clock.advance(0.5)
    assert await send(api, 31) == 1  # the window slides: still 30 sends in the last second
    clock.advance(0.5)
    assert await send(api, 31) == 0


async def test_twenty_messages_per_minute_per_group() -> None:
    api, clock = limited_api()
    for _ in range(20):
        assert await send(api, -4001) == 0
        clock.advance(1.0)
    # First send at t=0, now t=20: room appears at t=60.
    assert await send(api, -4001) == 40
    clock.advance(40.0)
    assert await send(api, -4001) == 0


async def test_private_chats_have_no_per_minute_cap() -> None:
    api, clock = limited_api()
    for _ in range(30):
        assert await send(api, 4001) == 0
        clock.advance(1.0)


async def test_custom_limits() -> None:
    clock = ManualClock()
    api = FakeBotApi(enforce_limits=True, clock=clock, limits=RateLimits(chat_per_second=3))
    assert [await send(api, 1) for _ in range(4)] == [0, 0, 0, 1]
