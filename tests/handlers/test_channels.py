"""Channels: commands posted in them, managed from a private chat, connected, removed.

Through the real Application and the fake Bot API, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers.channels import ANSWER_SECONDS, CONNECT_LABEL
from services.alerts.schedule import DeliveryPrefs
from services.alerts.subscriptions import SubscriptionView
from services.parsing import RawArticle

# Test modules on other branches import these two fixtures from here; they live in conftest.
from tests.conftest import database_url as database_url
from tests.conftest import postgres_database as postgres_database
from tests.handlers.harness import BotHarness, alert_rig, running_bot
from tests.helpers.botapi import BOT_ID
from tests.helpers.tg_objects import channel_admin_rights

CHANNEL = -1002000000001
OTHER_CHANNEL = -1002000000002
PUBLIC_GROUP = -1002000000003
OWNER = 701  # created the channel
EDITOR = 702  # an administrator who may post
MODERATOR = 703  # an administrator who may not post
READER = 704
STRANGER = 705


@pytest.fixture
async def bot(tmp_path: Path, database_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False, database_url=database_url) as harness:
        api = harness.api
        api.set_chat(CHANNEL, "channel", title="World <News>", username="mychannel")
        api.set_chat(OTHER_CHANNEL, "channel", title="Other", username="otherchannel")
        api.set_chat(PUBLIC_GROUP, "supergroup", title="Readers", username="publicgroup")
        for chat_id in (CHANNEL, OTHER_CHANNEL, PUBLIC_GROUP):
            api.set_admins(chat_id, [EDITOR, MODERATOR, BOT_ID], creator=OWNER)
        api.set_rights(CHANNEL, MODERATOR, can_post_messages=False)
        api.set_member_status(PUBLIC_GROUP, BOT_ID, "member")
        yield harness


async def subscriptions_of(bot: BotHarness, chat_id: int) -> list[SubscriptionView]:
    return await bot.services.subscriptions.list_for_chat(chat_id)


async def active(bot: BotHarness, chat_id: int) -> bool:
    return (await bot.services.subscriptions.settings(chat_id)).active


async def private(bot: BotHarness, text: str, user_id: int = OWNER) -> str:
    """Send a command in user_id's private chat; the text of the one reply, sent there."""
    before = len(bot.replies())
    await bot.send(bot.api.updates.message_update(text, chat_id=user_id, user_id=user_id))
    replies = bot.replies()[before:]
    assert [r.params["chat_id"] for r in replies] == [user_id], [r.params for r in replies]
    return str(replies[0].params["text"])


async def in_channel(bot: BotHarness, text: str, chat_id: int = CHANNEL) -> tuple[str, int, int]:
    """Post text in the channel; (the bot's one answer there, its id, the post's id)."""
    before = len(bot.replies())
    update = bot.api.post_in_channel(text, chat_id)
    await bot.send(update)
    replies = bot.replies()[before:]
    assert [r.params["chat_id"] for r in replies] == [chat_id], [r.params for r in replies]
    answer = bot.api.sent_messages(chat_id)[-1]
    return (
        str(replies[0].params["text"]),
        int(answer["message_id"]),
        update["channel_post"]["message_id"],
    )


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


# -- commands posted in a channel ----------------------------------------------------------------


async def test_a_subscribe_posted_in_a_channel_subscribes_it_and_tidies_up(
    bot: BotHarness,
) -> None:
    text, answer_id, post_id = await in_channel(bot, "/subscribe iran -sport")

    (subscription,) = await subscriptions_of(bot, CHANNEL)
    assert (subscription.include, subscription.exclude) == (("iran",), ("sport",))
    assert text.startswith(f"✅ Subscribed (#{subscription.id}): articles mentioning <b>iran</b>")
    # The command post is gone at once; the answer is deleted by a job a minute later.
    assert bot.api.message(CHANNEL, post_id) is None
    assert bot.api.message(CHANNEL, answer_id) is not None
    job_queue = bot.app.job_queue
    assert job_queue is not None
    (job,) = job_queue.get_jobs_by_name(f"delete-answer:{CHANNEL}:{answer_id}")
    assert job.job.trigger.run_date > datetime.now(UTC) + timedelta(seconds=ANSWER_SECONDS / 2)
    assert job.data == (CHANNEL, answer_id)
    await job.run(bot.app)
    assert bot.api.message(CHANNEL, answer_id) is None


async def test_every_management_command_works_in_a_channel(bot: BotHarness) -> None:
    await in_channel(bot, "/subscribe")
    await in_channel(bot, "/subscribe@newsbot_test_bot obama")
    first, second = await subscriptions_of(bot, CHANNEL)

    listing, _, _ = await in_channel(bot, "/subscriptions")
    assert f"#{first.id}: every new article" in listing
    assert f"#{second.id}: articles mentioning <b>obama</b>" in listing

    assert (await in_channel(bot, f"/unsubscribe {first.id}"))[0] == "Removed 1 subscription."
    assert await subscriptions_of(bot, CHANNEL) == [second]

    await in_channel(bot, "/digest daily")
    await in_channel(bot, "/quiet 22:00-07:00")
    text, _, _ = await in_channel(bot, "/timezone Europe/Berlin")
    assert text == ("Delivery: a daily digest, quiet 22:00–07:00, time zone Europe/Berlin.")
    prefs = (await bot.services.subscriptions.settings(CHANNEL)).prefs
    assert prefs == DeliveryPrefs("daily", 22 * 60, 7 * 60, "Europe/Berlin")
    # Every post and every answer was tidied: seven posts deleted, seven deletions scheduled.
    deleted = [c.params["message_id"] for c in bot.replies("deleteMessage")]
    assert len(deleted) == 7
    job_queue = bot.app.job_queue
    assert job_queue is not None
    assert len([j for j in job_queue.jobs() if j.name and j.name.startswith("delete-answer")]) == 7


async def test_a_bad_command_in_a_channel_gets_a_short_lived_usage(bot: BotHarness) -> None:
    text, answer_id, post_id = await in_channel(bot, "/unsubscribe soon")
    assert text.startswith("Usage: <code>/unsubscribe ID</code>")
    assert bot.api.message(CHANNEL, post_id) is None
    job_queue = bot.app.job_queue
    assert job_queue is not None
    assert job_queue.get_jobs_by_name(f"delete-answer:{CHANNEL}:{answer_id}")


async def test_ordinary_posts_and_other_commands_in_a_channel_are_left_alone(
    bot: BotHarness,
) -> None:
    for text in ("Breaking: the news", "/search iran", "/channels", "/subscribe_me"):
        await bot.send(bot.api.post_in_channel(text, CHANNEL))
    assert bot.replies() == []
    assert bot.replies("deleteMessage") == []
    assert await subscriptions_of(bot, CHANNEL) == []


async def test_a_bot_that_may_not_delete_posts_still_answers(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail_next(
        "deleteMessage", error_code=400, description="Bad Request: message can't be deleted"
    )
    text, _, post_id = await in_channel(bot, "/subscribe")
    assert text.startswith("✅ Subscribed")
    assert bot.api.message(CHANNEL, post_id) is not None  # the post stays
    assert len(await subscriptions_of(bot, CHANNEL)) == 1
    no_errors_logged(caplog)


async def test_an_answer_deleted_by_hand_first_is_no_error(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    _, answer_id, _ = await in_channel(bot, "/subscriptions")
    await bot.app.bot.delete_message(CHANNEL, answer_id)
    job_queue = bot.app.job_queue
    assert job_queue is not None
    (job,) = job_queue.get_jobs_by_name(f"delete-answer:{CHANNEL}:{answer_id}")
    await job.run(bot.app)
    failed = [c for c in bot.api.calls_to("deleteMessage") if c.error_code is not None]
    assert len(failed) == 1
    no_errors_logged(caplog)


# -- managing a channel from a private chat ------------------------------------------------------


async def test_the_owner_subscribes_a_channel_from_a_private_chat(bot: BotHarness) -> None:
    text = await private(bot, "/subscribe @mychannel iran -sport")

    (subscription,) = await subscriptions_of(bot, CHANNEL)
    assert (subscription.include, subscription.exclude) == (("iran",), ("sport",))
    assert subscription.query == "iran -sport"
    assert await subscriptions_of(bot, OWNER) == []
    assert text.startswith(
        f"✅ Subscribed <b>World &lt;News&gt;</b> (#{subscription.id}): articles mentioning"
    )
    assert "See /subscriptions @mychannel to list or remove them." in text
    assert bot.api.sent_messages(CHANNEL) == []  # the channel's readers see nothing of it
    checked = [(c.params["chat_id"], c.params["user_id"]) for c in bot.replies("getChatMember")]
    assert checked == [(CHANNEL, OWNER), (CHANNEL, BOT_ID)]


@pytest.mark.parametrize("user_id", [OWNER, EDITOR])
async def test_a_channel_is_named_by_username_or_id(bot: BotHarness, user_id: int) -> None:
    await private(bot, "/subscribe @MyChannel", user_id)
    await private(bot, f"/subscribe {CHANNEL} obama", user_id)
    first, second = await subscriptions_of(bot, CHANNEL)

    listing = await private(bot, f"/subscriptions {CHANNEL}", user_id)
    assert listing.startswith("🔔 Subscriptions of <b>World &lt;News&gt;</b>:")
    assert f"#{second.id}: articles mentioning <b>obama</b>" in listing
    assert "Remove one with <code>/unsubscribe @mychannel ID</code>." in listing
    assert "reply_markup" not in bot.replies()[-1].params  # buttons would act on this chat

    assert await private(bot, f"/unsubscribe @mychannel {first.id}", user_id) == (
        "Removed 1 subscription."
    )
    assert await subscriptions_of(bot, CHANNEL) == [second]


async def test_private_commands_without_a_chat_name_stay_private(bot: BotHarness) -> None:
    await private(bot, "/subscribe -sport -2024")
    (mine,) = await subscriptions_of(bot, OWNER)
    assert mine.exclude == ("sport", "2024")
    assert await private(bot, f"/unsubscribe {mine.id}") == "Removed 1 subscription."
    assert bot.replies("getChat") == []


CHANNEL_REFUSAL = (
    "Only an administrator of <b>World &lt;News&gt;</b> who may post messages can "
    "manage its subscriptions."
)


@pytest.mark.parametrize(
    "command",
    [
        "/subscribe @mychannel iran",
        "/subscriptions @mychannel",
        "/unsubscribe @mychannel all",
        "/digest @mychannel daily",
        "/quiet @mychannel 22:00-07:00",
        "/timezone @mychannel Asia/Tokyo",
    ],
)
async def test_an_administrator_who_may_not_post_manages_nothing(
    bot: BotHarness, command: str
) -> None:
    await bot.send(bot.api.post_in_channel("/subscribe", CHANNEL))
    before = await subscriptions_of(bot, CHANNEL)

    assert await private(bot, command, MODERATOR) == CHANNEL_REFUSAL

    assert await subscriptions_of(bot, CHANNEL) == before
    assert (await bot.services.subscriptions.settings(CHANNEL)).prefs == DeliveryPrefs()
    assert await bot.services.channels.managed_by(MODERATOR) == []


@pytest.mark.parametrize(("user_id", "status"), [(READER, "member"), (STRANGER, "left")])
async def test_readers_and_strangers_manage_nothing(
    bot: BotHarness, user_id: int, status: Any
) -> None:
    bot.api.set_member_status(CHANNEL, user_id, status)
    assert await private(bot, "/subscribe @mychannel iran", user_id) == CHANNEL_REFUSAL
    assert await private(bot, f"/unsubscribe {CHANNEL} all", user_id) == CHANNEL_REFUSAL
    assert await subscriptions_of(bot, CHANNEL) == []


@pytest.mark.parametrize(
    ("status", "rights"),
    [("administrator", {"can_post_messages": False}), ("left", {}), ("kicked", {})],
)
async def test_nothing_changes_in_a_channel_the_bot_may_not_post_in(
    bot: BotHarness, status: Any, rights: dict[str, bool]
) -> None:
    bot.api.set_member_status(CHANNEL, BOT_ID, status)
    if rights:
        bot.api.set_rights(CHANNEL, BOT_ID, **rights)
    text = await private(bot, "/subscribe @mychannel iran")
    assert text == (
        "I can't post in <b>World &lt;News&gt;</b>. Make me an administrator with the right "
        "to post messages there, then try again."
    )
    assert await subscriptions_of(bot, CHANNEL) == []


async def test_an_unknown_chat_is_refused_clearly(bot: BotHarness) -> None:
    text = await private(bot, "/subscribe @nosuchchannel iran")
    assert text == (
        "I can't find @nosuchchannel. Add me to it first (in a channel: as an administrator "
        "who may post messages), then try again."
    )
    assert await subscriptions_of(bot, OWNER) == []


async def test_rights_are_checked_again_at_every_change(bot: BotHarness) -> None:
    await private(bot, "/subscribe @mychannel iran", EDITOR)
    (subscription,) = await subscriptions_of(bot, CHANNEL)
    bot.api.set_member_status(CHANNEL, EDITOR, "member")  # demoted since

    text = await private(bot, f"/unsubscribe @mychannel {subscription.id}", EDITOR)
    assert text.startswith("Only an administrator of <b>World &lt;News&gt;</b>")
    assert await subscriptions_of(bot, CHANNEL) == [subscription]


async def test_delivery_settings_of_a_channel_from_a_private_chat(bot: BotHarness) -> None:
    await private(bot, "/digest @mychannel hourly")
    await private(bot, "/quiet @mychannel 23:00-06:30")
    text = await private(bot, "/timezone @mychannel Asia/Tokyo")
    assert text == (
        "<b>World &lt;News&gt;</b>: Delivery: an hourly digest, quiet 23:00–06:30, "
        "time zone Asia/Tokyo."
    )
    assert (await bot.services.subscriptions.settings(CHANNEL)).prefs == DeliveryPrefs(
        "hourly", 23 * 60, 6 * 60 + 30, "Asia/Tokyo"
    )
    assert (await bot.services.subscriptions.settings(OWNER)).prefs == DeliveryPrefs()
    usage = await private(bot, "/digest @mychannel weekly")
    assert usage == "Usage: <code>/digest @mychannel off|hourly|daily</code>"


async def test_an_unknown_subscription_id_names_the_channel(bot: BotHarness) -> None:
    text = await private(bot, "/unsubscribe @mychannel 999")
    assert text == (
        "No such subscription in <b>World &lt;News&gt;</b>. See /subscriptions @mychannel."
    )


async def test_a_public_group_is_managed_the_same_way(bot: BotHarness) -> None:
    text = await private(bot, "/subscribe @publicgroup iran", EDITOR)
    (subscription,) = await subscriptions_of(bot, PUBLIC_GROUP)
    assert text.startswith(f"✅ Subscribed <b>Readers</b> (#{subscription.id})")
    refusal = await private(bot, "/subscribe @publicgroup obama", READER)
    assert refusal == "Only an administrator of <b>Readers</b> can manage its subscriptions."
    assert await subscriptions_of(bot, PUBLIC_GROUP) == [subscription]


# -- /channels and "Connect a channel" -----------------------------------------------------------


async def test_channels_offers_to_connect_one(bot: BotHarness) -> None:
    text = await private(bot, "/channels", EDITOR)
    assert text.startswith("You manage no channels through me yet.")
    markup = bot.replies()[-1].params["reply_markup"]
    ((button,),) = markup["keyboard"]
    assert button["text"] == CONNECT_LABEL
    request = button["request_chat"]
    assert request["chat_is_channel"] is True
    assert request["bot_administrator_rights"]["can_post_messages"] is True
    assert request["user_administrator_rights"]["can_post_messages"] is True
    assert markup["one_time_keyboard"] is True


async def test_channels_lists_each_managed_channel_with_its_subscriptions(
    bot: BotHarness,
) -> None:
    await private(bot, "/subscribe @mychannel iran", EDITOR)
    bot.clock.now += timedelta(minutes=1)  # listed in the order they were connected
    await private(bot, "/subscribe @otherchannel", EDITOR)
    await private(bot, "/subscribe @otherchannel obama", OWNER)
    (iran,) = await subscriptions_of(bot, CHANNEL)
    everything, obama = await subscriptions_of(bot, OTHER_CHANNEL)

    text = await private(bot, "/channels", EDITOR)

    assert text.startswith(
        "📣 <b>World &lt;News&gt;</b> (@mychannel)\n"
        f"  #{iran.id}: articles mentioning <b>iran</b>\n\n"
        "📣 <b>Other</b> (@otherchannel)\n"
        f"  #{everything.id}: every new article\n"
        f"  #{obama.id}: articles mentioning <b>obama</b>\n\n"
    )
    assert "<code>/unsubscribe @channel ID</code>" in text
    owner_view = await private(bot, "/channels", OWNER)
    assert "Other" in owner_view and "World" not in owner_view


async def test_a_shared_channel_is_manageable_at_once(bot: BotHarness) -> None:
    before = len(bot.replies())
    await bot.send(
        bot.api.updates.chat_shared_update(CHANNEL, user_id=EDITOR, title="World <News>")
    )
    (reply,) = bot.replies()[before:]
    assert reply.params["chat_id"] == EDITOR
    assert reply.params["text"] == (
        "✅ <b>World &lt;News&gt;</b> is connected. Subscribe it with "
        "<code>/subscribe @mychannel words</code>; see it with /channels."
    )
    assert reply.params["reply_markup"] == {"remove_keyboard": True}
    (managed,) = await bot.services.channels.managed_by(EDITOR)
    assert (managed.id, managed.username, managed.subscriptions) == (CHANNEL, "mychannel", ())
    listing = await private(bot, "/channels", EDITOR)
    assert "📣 <b>World &lt;News&gt;</b> (@mychannel)\n  no subscriptions" in listing


async def test_sharing_a_channel_the_bot_may_not_post_in_is_refused(bot: BotHarness) -> None:
    bot.api.set_rights(CHANNEL, BOT_ID, can_post_messages=False)
    before = len(bot.replies())
    await bot.send(bot.api.updates.chat_shared_update(CHANNEL, user_id=EDITOR))
    (reply,) = bot.replies()[before:]
    assert str(reply.params["text"]).startswith("I can't post in <b>World &lt;News&gt;</b>.")
    assert await bot.services.channels.managed_by(EDITOR) == []


async def test_channels_is_for_private_chats(bot: BotHarness) -> None:
    before = len(bot.replies())
    await bot.send(
        bot.api.updates.message_update("/channels", chat_id=PUBLIC_GROUP, user_id=EDITOR)
    )
    (reply,) = bot.replies()[before:]
    assert reply.params["text"] == "Send /channels to me in a private chat."


# -- the bot removed, demoted, added back --------------------------------------------------------


def membership(
    bot: BotHarness, old: Any, new: Any, *, may_post: bool | None = None
) -> dict[str, Any]:
    rights = channel_admin_rights(can_post_messages=may_post) if may_post is not None else None
    return bot.api.updates.my_chat_member_update(
        CHANNEL, old, new, user_id=OWNER, chat_type="channel", rights=rights, title="World <News>"
    )


async def test_demoting_the_bot_pauses_the_channel_and_tells_who_connected_it(
    bot: BotHarness,
) -> None:
    await private(bot, "/subscribe @mychannel iran", EDITOR)
    await private(bot, "/subscribe @mychannel obama", OWNER)
    before = len(bot.replies())

    await bot.send(membership(bot, "administrator", "administrator", may_post=False))

    assert not await active(bot, CHANNEL)
    assert len(await subscriptions_of(bot, CHANNEL)) == 2  # paused, not forgotten
    (notice,) = bot.replies()[before:]
    assert notice.params["chat_id"] == EDITOR  # who connected it, not who came later
    assert notice.params["text"] == (
        "⏸ I can no longer post in <b>World &lt;News&gt;</b>, so its 2 subscriptions are "
        "paused. Make me an administrator who may post messages there again and they resume."
    )
    assert bot.api.sent_messages(CHANNEL) == []

    await bot.send(membership(bot, "administrator", "administrator", may_post=True))

    assert await active(bot, CHANNEL)
    resumed = bot.replies()[-1]
    assert resumed.params["chat_id"] == EDITOR
    assert "again: its 2 subscriptions are back on" in str(resumed.params["text"])
    listing = await private(bot, "/channels", EDITOR)
    assert "paused" not in listing


@pytest.mark.parametrize("gone", ["left", "kicked"])
async def test_removing_the_bot_pauses_the_channel_once(bot: BotHarness, gone: Any) -> None:
    await private(bot, "/subscribe @mychannel", EDITOR)
    before = len(bot.replies())
    await bot.send(membership(bot, "administrator", gone))
    await bot.send(membership(bot, "administrator", gone))  # Telegram may repeat itself
    assert not await active(bot, CHANNEL)
    assert [r.params["chat_id"] for r in bot.replies()[before:]] == [EDITOR]
    listing = await private(bot, "/channels", EDITOR)
    assert "(@mychannel) — paused: I may not post there" in listing

    await bot.send(membership(bot, gone, "administrator", may_post=True))
    assert await active(bot, CHANNEL)


async def test_a_channel_nobody_connected_pauses_quietly(bot: BotHarness) -> None:
    await in_channel(bot, "/subscribe")
    before = len(bot.replies())
    await bot.send(membership(bot, "administrator", "left"))
    assert not await active(bot, CHANNEL)
    assert bot.replies()[before:] == []


async def test_a_connector_who_blocked_the_bot_is_no_error(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await private(bot, "/subscribe @mychannel", EDITOR)
    bot.api.block(EDITOR)
    await bot.send(membership(bot, "administrator", "left"))
    assert not await active(bot, CHANNEL)
    no_errors_logged(caplog)


async def test_managing_again_resumes_a_paused_channel(bot: BotHarness) -> None:
    await private(bot, "/subscribe @mychannel", EDITOR)
    await bot.send(membership(bot, "administrator", "left"))
    assert not await active(bot, CHANNEL)
    # The bot is an administrator there again (the update was lost): a checked command says so.
    await private(bot, "/subscriptions @mychannel", EDITOR)
    assert await active(bot, CHANNEL)


# -- alerts go to the channel --------------------------------------------------------------------


async def test_alerts_of_a_channel_managed_in_private_go_to_the_channel(
    bot: BotHarness, database_url: str
) -> None:
    async with alert_rig(bot, database_url) as rig:
        matcher, worker = rig.matcher, rig.worker
        assert await matcher.run_once() == 0  # from now on, new articles alert
        await private(bot, "/subscribe @mychannel harbour", EDITOR)
        await bot.load(RawArticle(title="Harbour strike", body="Dockers walked out today."))
        await bot.load(RawArticle(title="Election news", body="The vote was counted today."))

        await matcher.run_once()
        assert await worker.deliver_once() == 1

        (alert,) = bot.api.sent_messages(CHANNEL)
        assert alert["text"].startswith("🔔 New article\n\nHarbour strike")
        assert bot.api.sent_messages(EDITOR)[-1]["text"].startswith("✅ Subscribed")

        await bot.send(membership(bot, "administrator", "left"))
        await bot.load(RawArticle(title="Harbour reopens", body="Ships came back today."))
        await matcher.run_once()
        assert await worker.deliver_once() == 0
        assert len(bot.api.sent_messages(CHANNEL)) == 1  # nothing to a chat it may not post in


async def test_an_unsubscribe_button_in_a_channel_needs_the_right_to_post(
    bot: BotHarness,
) -> None:
    await in_channel(bot, "/subscribe")
    (subscription,) = await subscriptions_of(bot, CHANNEL)
    _, answer_id, _ = await in_channel(bot, "/subscriptions")
    data = f"unsub:{subscription.id}"

    press = bot.api.updates.callback_query_update
    await bot.send(press(data, answer_id, CHANNEL, MODERATOR, chat_type="channel"))
    assert await subscriptions_of(bot, CHANNEL) == [subscription]

    await bot.send(press(data, answer_id, CHANNEL, EDITOR, chat_type="channel"))
    assert await subscriptions_of(bot, CHANNEL) == []
    answers = [c.params["text"] for c in bot.replies("answerCallbackQuery")]
    assert answers[-1] == "Unsubscribed."


# -- /subscribe source:NAME ----------------------------------------------------------------------


async def test_a_subscription_limited_to_one_source(bot: BotHarness, database_url: str) -> None:
    async with alert_rig(bot, database_url) as rig:
        matcher, worker = rig.matcher, rig.worker
        assert await matcher.run_once() == 0
        text = await private(bot, "/subscribe @mychannel source:BBC harbour", EDITOR)
        (subscription,) = await subscriptions_of(bot, CHANNEL)
        assert (subscription.include, subscription.source) == (("harbour",), ("bbc",))
        assert "articles mentioning <b>harbour</b> from <b>bbc</b>." in text
        assert await private(bot, "/subscribe @mychannel harbour source:bbc", EDITOR) == text
        await bot.load(
            RawArticle(title="Harbour strike", body="Dockers walked out.", source="BBC News"),
            RawArticle(title="Harbour reopens", body="Ships came back.", source="Reuters"),
            RawArticle(title="Election night", body="The vote was counted.", source="BBC News"),
        )
        await matcher.run_once()
        assert await worker.deliver_once() == 1
        (alert,) = bot.api.sent_messages(CHANNEL)
        assert alert["text"].startswith("🔔 New article\n\nHarbour strike")


async def test_source_without_a_name_is_refused(bot: BotHarness) -> None:
    text = await private(bot, "/subscribe source: iran")
    assert text == "Name a source after source:, e.g. source:bbc"
    assert await subscriptions_of(bot, OWNER) == []
