"""/subscribe, /subscriptions, /unsubscribe, chat settings and chat changes, through Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from handlers.permissions import ADMINS_ONLY
from services.alerts.schedule import DeliveryPrefs
from services.alerts.subscriptions import SubscriptionView
from services.parsing import RawArticle
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.tg_objects import MemberStatus, chat_json

PRIVATE = 501
GROUP = -4000001001
SUPERGROUP = -1001000002002
ADMIN = 601
MEMBER = 602


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False) as harness:
        harness.api.set_admins(GROUP, [ADMIN])
        harness.api.set_admins(SUPERGROUP, [ADMIN])
        yield harness


async def subscriptions_of(bot: BotHarness, chat_id: int) -> list[SubscriptionView]:
    return await bot.services.subscriptions.list_for_chat(chat_id)


async def prefs_of(bot: BotHarness, chat_id: int) -> DeliveryPrefs:
    return (await bot.services.subscriptions.settings(chat_id)).prefs


async def command(
    bot: BotHarness, text: str, chat_id: int = PRIVATE, user_id: int | None = None, **extra: Any
) -> str:
    """Send a command; return the text of the one reply it got."""
    before = len(bot.replies())
    sender = user_id if user_id is not None else (chat_id if chat_id > 0 else ADMIN)
    await bot.send(bot.api.updates.message_update(text, chat_id=chat_id, user_id=sender, **extra))
    replies = bot.replies()[before:]
    assert len(replies) == 1, [r.params for r in replies]
    assert replies[0].params["chat_id"] == chat_id
    return str(replies[0].params["text"])


# -- /subscribe ---------------------------------------------------------------------------------


async def test_subscribe_to_everything_in_a_private_chat(bot: BotHarness) -> None:
    text = await command(bot, "/subscribe")
    (subscription,) = await subscriptions_of(bot, PRIVATE)
    assert (subscription.include, subscription.exclude, subscription.topic) == ((), (), 0)
    assert text == (
        f"✅ Subscribed (#{subscription.id}): every new article.\n"
        "See /subscriptions to list or remove them."
    )
    assert bot.replies()[-1].params["parse_mode"] == "HTML"


async def test_subscribe_to_keywords_with_an_exclusion(bot: BotHarness) -> None:
    text = await command(bot, "/subscribe Obama IRAN -sport")
    (subscription,) = await subscriptions_of(bot, PRIVATE)
    assert subscription.include == ("obama", "iran")
    assert subscription.exclude == ("sport",)
    assert subscription.query == "Obama IRAN -sport"
    assert text.startswith(
        f"✅ Subscribed (#{subscription.id}): articles mentioning <b>obama</b> or <b>iran</b>, "
        "except those mentioning <b>sport</b>."
    )
    assert "I read" not in text


async def test_the_same_subscription_twice_is_stored_once(bot: BotHarness) -> None:
    await command(bot, "/subscribe iran obama")
    await command(bot, "/subscribe  iran   obama")
    assert len(await subscriptions_of(bot, PRIVATE)) == 1


async def test_keyword_typos_are_read_as_words_the_archive_knows(bot: BotHarness) -> None:
    await bot.load(
        RawArticle(
            title="Parliament debates the pension reform",
            body="The pension reform reached parliament today. Ministers defended the plan.",
        )
    )
    text = await command(bot, "/subscribe pensoin parliment")
    (subscription,) = await subscriptions_of(bot, PRIVATE)
    assert subscription.include == ("pension", "parliament")
    assert "I read “pensoin” as “pension” and “parliment” as “parliament”." in text


async def test_keywords_without_letters_are_refused(bot: BotHarness) -> None:
    text = await command(bot, "/subscribe !!! ---")
    assert "no letters or digits" in text
    assert await subscriptions_of(bot, PRIVATE) == []


async def test_a_group_member_may_not_subscribe_the_group(bot: BotHarness) -> None:
    text = await command(bot, "/subscribe iran", GROUP, MEMBER, chat_type="group")
    assert text == ADMINS_ONLY
    assert await subscriptions_of(bot, GROUP) == []
    assert (await bot.services.subscriptions.settings(GROUP)).active  # no chat row either


async def test_a_group_administrator_may_subscribe_the_group(bot: BotHarness) -> None:
    text = await command(bot, "/subscribe iran", GROUP, ADMIN, chat_type="group")
    (subscription,) = await subscriptions_of(bot, GROUP)
    assert subscription.include == ("iran",)
    assert text.startswith(f"✅ Subscribed (#{subscription.id})")


async def test_the_group_owner_may_subscribe_the_group(bot: BotHarness) -> None:
    bot.api.set_admins(GROUP, [], creator=ADMIN + 1)
    await command(bot, "/subscribe", GROUP, ADMIN + 1, chat_type="group")
    assert len(await subscriptions_of(bot, GROUP)) == 1


async def test_an_anonymous_administrator_posting_as_the_group_may_subscribe(
    bot: BotHarness,
) -> None:
    await command(bot, "/subscribe iran", SUPERGROUP, MEMBER, anonymous_admin=True)
    (subscription,) = await subscriptions_of(bot, SUPERGROUP)
    assert subscription.include == ("iran",)
    assert bot.api.calls_to("getChatMember") == []  # the group itself needs no look-up


async def test_a_linked_channel_posting_in_the_group_may_not_subscribe(bot: BotHarness) -> None:
    channel = chat_json(-1009999999999, "channel")
    text = await command(bot, "/subscribe", SUPERGROUP, MEMBER, sender_chat=channel)
    assert text == ADMINS_ONLY
    assert await subscriptions_of(bot, SUPERGROUP) == []


async def test_subscribe_in_a_forum_topic_stores_the_topic(bot: BotHarness) -> None:
    await command(bot, "/subscribe", SUPERGROUP, ADMIN, message_thread_id=7, is_topic_message=True)
    (subscription,) = await subscriptions_of(bot, SUPERGROUP)
    assert subscription.topic == 7
    assert bot.replies()[-1].params["message_thread_id"] == 7  # the answer stays in the topic


async def test_a_reply_thread_outside_forum_topics_is_not_a_topic(bot: BotHarness) -> None:
    # Replies in ordinary groups carry message_thread_id too, without is_topic_message.
    await command(bot, "/subscribe", SUPERGROUP, ADMIN, message_thread_id=42)
    (subscription,) = await subscriptions_of(bot, SUPERGROUP)
    assert subscription.topic == 0


# -- /subscriptions and the Unsubscribe buttons --------------------------------------------------


async def _listing(bot: BotHarness, chat_id: int, user_id: int) -> tuple[str, list[str], int]:
    """/subscriptions: its text, its buttons' callback data, and its message id."""
    text = await command(bot, "/subscriptions", chat_id, user_id)
    markup = bot.replies()[-1].params.get("reply_markup") or {"inline_keyboard": []}
    data = [button["callback_data"] for row in markup["inline_keyboard"] for button in row]
    message_id = bot.api.sent_messages(chat_id)[-1]["message_id"]
    return text, data, int(message_id)


async def test_anyone_may_list_a_groups_subscriptions_with_a_button_each(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    await command(bot, "/subscribe iran -sport", GROUP, ADMIN, chat_type="group")
    first, second = await subscriptions_of(bot, GROUP)

    text, data, _ = await _listing(bot, GROUP, MEMBER)

    assert f"#{first.id}: every new article" in text
    assert f"#{second.id}: articles mentioning <b>iran</b>, except those mentioning" in text
    assert "Delivery: one message per article, no quiet hours, time zone UTC." in text
    markup = bot.replies()[-1].params["reply_markup"]
    labels = [button["text"] for row in markup["inline_keyboard"] for button in row]
    assert labels == [f"Unsubscribe #{first.id}", f"Unsubscribe #{second.id}"]
    assert all(len(d.encode()) <= 64 for d in data)


async def test_listing_an_empty_chat_explains_how_to_subscribe(bot: BotHarness) -> None:
    text, data, _ = await _listing(bot, PRIVATE, PRIVATE)
    assert "no subscriptions" in text and "/subscribe" in text
    assert data == []


async def test_the_unsubscribe_button_removes_one_and_updates_the_list(bot: BotHarness) -> None:
    await command(bot, "/subscribe")
    await command(bot, "/subscribe iran")
    first, second = await subscriptions_of(bot, PRIVATE)
    _, data, message_id = await _listing(bot, PRIVATE, PRIVATE)

    await bot.send(bot.api.updates.callback_query_update(data[0], message_id, PRIVATE, PRIVATE))

    assert await subscriptions_of(bot, PRIVATE) == [second]
    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params["text"] == "Unsubscribed."
    (edit,) = bot.replies("editMessageText")
    assert f"#{first.id}" not in edit.params["text"] and f"#{second.id}" in edit.params["text"]
    buttons = edit.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in buttons for b in row] == [f"Unsubscribe #{second.id}"]


async def test_pressing_the_button_twice_is_harmless(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await command(bot, "/subscribe")
    _, data, message_id = await _listing(bot, PRIVATE, PRIVATE)
    for _ in range(2):  # a double tap: both presses come from the same, unchanged message
        await bot.send(bot.api.updates.callback_query_update(data[0], message_id, PRIVATE, PRIVATE))
    answers = [a.params["text"] for a in bot.api.calls_to("answerCallbackQuery")]
    assert answers == ["Unsubscribed.", "That subscription was already gone."]
    assert await subscriptions_of(bot, PRIVATE) == []
    # The second edit changes nothing, which Telegram refuses; that is all that may fail.
    assert [c.method for c in bot.api.calls if c.error_code is not None] in (
        [],
        ["editMessageText"],
    )
    assert "error while handling an update" not in caplog.text


async def test_a_tap_on_a_list_the_user_then_deleted_still_unsubscribes_quietly(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await command(bot, "/subscribe")
    _, data, message_id = await _listing(bot, PRIVATE, PRIVATE)
    bot.api.delete_as_user(PRIVATE, message_id)  # gone before the tap's edit arrives
    before = len(bot.replies())

    await bot.send(bot.api.updates.callback_query_update(data[0], message_id, PRIVATE, PRIVATE))

    assert await subscriptions_of(bot, PRIVATE) == []
    assert [a.params["text"] for a in bot.api.calls_to("answerCallbackQuery")] == ["Unsubscribed."]
    (edit,) = bot.api.calls_to("editMessageText")
    assert edit.error_code == 400  # Telegram refused the edit: nothing left to show it in
    assert bot.replies()[before:] == [], "no apology follows"
    assert "error while handling an update" not in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_group_member_pressing_unsubscribe_is_refused(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    before = await subscriptions_of(bot, GROUP)
    _, data, message_id = await _listing(bot, GROUP, MEMBER)

    await bot.send(bot.api.updates.callback_query_update(data[0], message_id, GROUP, MEMBER))

    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params["text"] == ADMINS_ONLY and answer.params["show_alert"] is True
    assert bot.replies("editMessageText") == []
    assert await subscriptions_of(bot, GROUP) == before


async def test_a_group_administrator_pressing_unsubscribe_removes_it(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    _, data, message_id = await _listing(bot, GROUP, MEMBER)
    await bot.send(bot.api.updates.callback_query_update(data[0], message_id, GROUP, ADMIN))
    assert await subscriptions_of(bot, GROUP) == []
    (edit,) = bot.replies("editMessageText")
    assert "no subscriptions" in edit.params["text"]


async def test_an_unsubscribe_button_forged_in_another_chat_removes_nothing(
    bot: BotHarness,
) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    (victim,) = await subscriptions_of(bot, GROUP)
    await bot.send(bot.api.updates.callback_query_update(f"unsub:{victim.id}", 1, PRIVATE, PRIVATE))
    assert await subscriptions_of(bot, GROUP) == [victim]
    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params["text"] == "That subscription was already gone."


@pytest.mark.parametrize(
    "data",
    ["unsub:", "unsub:abc", "unsub:-1", "unsub:1:2", "unsub:１", "unsub:" + "9" * 40, "unsub:1 "],
)
async def test_garbage_unsubscribe_data_removes_nothing(bot: BotHarness, data: str) -> None:
    await command(bot, "/subscribe")
    before = await subscriptions_of(bot, PRIVATE)
    await bot.send(bot.api.updates.callback_query_update(data, 1, PRIVATE, PRIVATE))
    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params["text"] == "This button is not valid."
    assert await subscriptions_of(bot, PRIVATE) == before
    assert bot.replies("editMessageText") == []


# -- /unsubscribe ----------------------------------------------------------------------------------


async def test_unsubscribe_by_id_and_all(bot: BotHarness) -> None:
    for words in ("", "iran", "obama", "sport"):
        await command(bot, f"/subscribe {words}")
    first, second, *_ = await subscriptions_of(bot, PRIVATE)

    assert await command(bot, f"/unsubscribe {first.id}") == "Removed 1 subscription."
    assert await command(bot, f"/unsubscribe #{second.id}") == "Removed 1 subscription."
    assert await command(bot, f"/unsubscribe {first.id}") == (
        "No such subscription in this chat. See /subscriptions."
    )
    assert await command(bot, "/unsubscribe ALL") == "Removed 2 subscriptions."
    assert await subscriptions_of(bot, PRIVATE) == []


async def test_unsubscribe_cannot_reach_another_chats_subscription(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    (victim,) = await subscriptions_of(bot, GROUP)
    text = await command(bot, f"/unsubscribe {victim.id}")
    assert text.startswith("No such subscription")
    assert await subscriptions_of(bot, GROUP) == [victim]


@pytest.mark.parametrize(
    "args", ["", "abc", "-1", "1.5", "9" * 40, "１", "everything", "1,2", "1 2", "all 1"]
)
async def test_unsubscribe_with_bad_arguments_shows_usage(bot: BotHarness, args: str) -> None:
    await command(bot, "/subscribe")
    before = await subscriptions_of(bot, PRIVATE)
    text = await command(bot, f"/unsubscribe {args}".strip())
    assert text.startswith("Usage: <code>/unsubscribe ID</code>")
    assert await subscriptions_of(bot, PRIVATE) == before


async def test_a_group_member_may_not_unsubscribe_the_group(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    before = await subscriptions_of(bot, GROUP)
    assert await command(bot, "/unsubscribe all", GROUP, MEMBER, chat_type="group") == ADMINS_ONLY
    assert await subscriptions_of(bot, GROUP) == before


# -- /digest, /quiet, /timezone --------------------------------------------------------------------


async def test_digest_modes(bot: BotHarness) -> None:
    text = await command(bot, "/digest Hourly")
    assert text == "Delivery: an hourly digest, no quiet hours, time zone UTC."
    assert (await prefs_of(bot, PRIVATE)).digest == "hourly"
    await command(bot, "/digest daily")
    assert (await prefs_of(bot, PRIVATE)).digest == "daily"
    await command(bot, "/digest off")
    assert (await prefs_of(bot, PRIVATE)).digest == "off"


@pytest.mark.parametrize("args", ["", "weekly", "hourly daily", "<b>"])
async def test_digest_with_bad_arguments_changes_nothing(bot: BotHarness, args: str) -> None:
    await command(bot, "/digest hourly")
    text = await command(bot, f"/digest {args}".strip())
    assert text == "Usage: <code>/digest off|hourly|daily</code>"
    assert (await prefs_of(bot, PRIVATE)).digest == "hourly"


async def test_quiet_hours_set_and_lifted(bot: BotHarness) -> None:
    text = await command(bot, "/quiet 22:00-07:00")
    assert text == "Delivery: one message per article, quiet 22:00–07:00, time zone UTC."
    prefs = await prefs_of(bot, PRIVATE)
    assert (prefs.quiet_start, prefs.quiet_end) == (22 * 60, 7 * 60)
    await command(bot, "/quiet 23:30 - 6:15")
    prefs = await prefs_of(bot, PRIVATE)
    assert (prefs.quiet_start, prefs.quiet_end) == (23 * 60 + 30, 6 * 60 + 15)
    assert "no quiet hours" in await command(bot, "/quiet OFF")
    prefs = await prefs_of(bot, PRIVATE)
    assert (prefs.quiet_start, prefs.quiet_end) == (None, None)


@pytest.mark.parametrize(
    "args",
    ["", "22:00", "25:00-07:00", "22:00-22:00", "22:60-07:00", "ten-seven", "22:00-07:00-08"],
)
async def test_quiet_with_bad_arguments_changes_nothing(bot: BotHarness, args: str) -> None:
    await command(bot, "/quiet 22:00-07:00")
    text = await command(bot, f"/quiet {args}".strip())
    assert text.startswith("Usage: <code>/quiet 22:00-07:00</code>")
    prefs = await prefs_of(bot, PRIVATE)
    assert (prefs.quiet_start, prefs.quiet_end) == (22 * 60, 7 * 60)


async def test_timezone_is_set(bot: BotHarness) -> None:
    text = await command(bot, "/timezone Europe/Berlin")
    assert text == "Delivery: one message per article, no quiet hours, time zone Europe/Berlin."
    assert (await prefs_of(bot, PRIVATE)).timezone == "Europe/Berlin"


async def test_timezone_names_are_case_insensitive(bot: BotHarness) -> None:
    await command(bot, "/timezone america/new_york")
    assert (await prefs_of(bot, PRIVATE)).timezone == "America/New_York"


@pytest.mark.parametrize(
    "args",
    [
        "",
        "Mars/Phobos",
        "Europe",
        "Europe/",
        "../../etc/passwd",
        "/etc/localtime",
        "<b>x</b>",
        "Europe/Berlin Asia/Tokyo",
    ],
)
async def test_timezone_with_bad_arguments_changes_nothing(bot: BotHarness, args: str) -> None:
    await command(bot, "/timezone Asia/Tokyo")
    text = await command(bot, f"/timezone {args}".strip())
    assert "is not a time zone I know" in text and "<b>x" not in text
    assert (await prefs_of(bot, PRIVATE)).timezone == "Asia/Tokyo"


@pytest.mark.parametrize("text", ["/digest daily", "/quiet 22:00-07:00", "/timezone Asia/Tokyo"])
async def test_a_group_member_may_not_change_delivery(bot: BotHarness, text: str) -> None:
    assert await command(bot, text, GROUP, MEMBER, chat_type="group") == ADMINS_ONLY
    assert await prefs_of(bot, GROUP) == DeliveryPrefs()


async def test_a_group_administrator_may_change_delivery(bot: BotHarness) -> None:
    await command(bot, "/digest daily", GROUP, ADMIN, chat_type="group")
    await command(bot, "/timezone Asia/Tokyo", GROUP, ADMIN, chat_type="group")
    assert await prefs_of(bot, GROUP) == DeliveryPrefs(digest="daily", timezone="Asia/Tokyo")


# -- the bot's membership and group upgrades -------------------------------------------------------


async def active(bot: BotHarness, chat_id: int) -> bool:
    return (await bot.services.subscriptions.settings(chat_id)).active


@pytest.mark.parametrize("gone", ["kicked", "left"])
async def test_removing_the_bot_from_a_group_pauses_it_and_adding_it_resumes(
    bot: BotHarness, gone: MemberStatus
) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    await bot.send(bot.api.updates.my_chat_member_update(GROUP, "member", gone))
    assert not await active(bot, GROUP)
    assert len(await subscriptions_of(bot, GROUP)) == 1  # paused, not forgotten
    await bot.send(bot.api.updates.my_chat_member_update(GROUP, gone, "member"))
    assert await active(bot, GROUP)


async def test_blocking_the_bot_in_a_private_chat_pauses_it(bot: BotHarness) -> None:
    await command(bot, "/subscribe")
    await bot.send(bot.api.updates.my_chat_member_update(PRIVATE, "member", "kicked"))
    assert not await active(bot, PRIVATE)
    await bot.send(bot.api.updates.my_chat_member_update(PRIVATE, "kicked", "member"))
    assert await active(bot, PRIVATE)


async def test_promoting_the_bot_keeps_the_chat_active(bot: BotHarness) -> None:
    await command(bot, "/subscribe", GROUP, ADMIN, chat_type="group")
    await bot.send(bot.api.updates.my_chat_member_update(GROUP, "member", "administrator"))
    assert await active(bot, GROUP)


async def test_a_group_upgraded_to_a_supergroup_takes_its_subscriptions_along(
    bot: BotHarness,
) -> None:
    new_id = -1004000001001
    await command(bot, "/subscribe iran", GROUP, ADMIN, chat_type="group")
    await command(bot, "/digest hourly", GROUP, ADMIN, chat_type="group")
    (subscription,) = await subscriptions_of(bot, GROUP)

    await bot.send(
        bot.api.updates.message_update(
            "", chat_id=GROUP, chat_type="group", migrate_to_chat_id=new_id
        )
    )

    assert await subscriptions_of(bot, GROUP) == []
    assert await subscriptions_of(bot, new_id) == [subscription]
    assert (await prefs_of(bot, new_id)).digest == "hourly"
    assert await active(bot, new_id)


async def test_the_supergroup_side_of_an_upgrade_moves_subscriptions_too(
    bot: BotHarness,
) -> None:
    new_id = -1004000001001
    await command(bot, "/subscribe iran", GROUP, ADMIN, chat_type="group")
    (subscription,) = await subscriptions_of(bot, GROUP)
    # Telegram also posts "migrated from" in the new supergroup; either message may come first.
    await bot.send(
        bot.api.updates.message_update(
            "", chat_id=new_id, chat_type="supergroup", migrate_from_chat_id=GROUP
        )
    )
    assert await subscriptions_of(bot, new_id) == [subscription]
    await bot.send(
        bot.api.updates.message_update(
            "", chat_id=GROUP, chat_type="group", migrate_to_chat_id=new_id
        )
    )
    assert await subscriptions_of(bot, new_id) == [subscription]
    assert await subscriptions_of(bot, GROUP) == []
