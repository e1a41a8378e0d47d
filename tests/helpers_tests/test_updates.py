"""UpdateFactory output parses into python-telegram-bot objects with no unknown fields."""

from __future__ import annotations

import pytest
import telegram
from telegram import ChatMemberAdministrator, ChatMemberBanned, Update

from tests.helpers.tg_objects import GROUP_ANONYMOUS_BOT_ID, MemberStatus
from tests.helpers.updates import UpdateFactory, command_entities


@pytest.fixture
def bot() -> telegram.Bot:
    return telegram.Bot("123:ABC")


@pytest.fixture
def factory() -> UpdateFactory:
    return UpdateFactory()


def test_update_ids_and_message_ids_increase(factory: UpdateFactory) -> None:
    first = factory.message_update("a")
    second = factory.message_update("b")
    other_chat = factory.message_update("c", user_id=2)
    assert second["update_id"] == first["update_id"] + 1
    assert second["message"]["message_id"] == first["message"]["message_id"] + 1
    assert other_chat["message"]["message_id"] == 1


@pytest.mark.parametrize(
    ("text", "length"),
    [("/start", 6), ("/search rates", 7), ("/start@newsbot_test_bot x", 23), ("hi /start", 0)],
)
def test_leading_command_entity(text: str, length: int) -> None:
    expected = [{"type": "bot_command", "offset": 0, "length": length}] if length else []
    assert command_entities(text) == expected


def test_private_command_parses(factory: UpdateFactory, bot: telegram.Bot) -> None:
    update = Update.de_json(factory.message_update("/start", user_id=5), bot)
    message = update.effective_message
    assert message is not None
    assert update.effective_chat is not None
    assert update.effective_chat.type == "private"
    assert update.effective_chat.id == 5
    assert message.parse_entities([telegram.MessageEntity.BOT_COMMAND]) != {}
    for obj in (update, message, message.chat, message.from_user):
        assert obj is not None
        assert obj.api_kwargs == {}


def test_group_chat_types_follow_the_id(factory: UpdateFactory, bot: telegram.Bot) -> None:
    group = Update.de_json(factory.message_update("x", chat_type="group"), bot)
    supergroup = Update.de_json(factory.message_update("x", chat_id=-1001234567890), bot)
    assert group.effective_chat is not None
    assert group.effective_chat.type == "group"
    assert supergroup.effective_chat is not None
    assert supergroup.effective_chat.type == "supergroup"


def test_anonymous_admin_and_topics(factory: UpdateFactory, bot: telegram.Bot) -> None:
    raw = factory.message_update(
        "/alerts",
        chat_type="supergroup",
        anonymous_admin=True,
        message_thread_id=17,
        is_topic_message=True,
    )
    message = Update.de_json(raw, bot).effective_message
    assert message is not None
    assert message.from_user is not None
    assert message.sender_chat == message.chat
    assert message.from_user.id == GROUP_ANONYMOUS_BOT_ID
    assert message.message_thread_id == 17
    assert message.is_topic_message
    assert message.chat.is_forum


def test_migration_service_message(factory: UpdateFactory, bot: telegram.Bot) -> None:
    raw = factory.message_update("", chat_id=-4001, migrate_to_chat_id=-1001234567890)
    message = Update.de_json(raw, bot).effective_message
    assert message is not None
    assert message.migrate_to_chat_id == -1001234567890
    assert message.text is None
    with pytest.raises(ValueError, match="no text"):
        factory.message_update("text", migrate_to_chat_id=-1)


def test_callback_and_inline_queries(factory: UpdateFactory, bot: telegram.Bot) -> None:
    callback = Update.de_json(factory.callback_query_update("page:2", 3, -4001, 7), bot)
    inline = Update.de_json(factory.inline_query_update("rates", offset="10", user_id=7), bot)
    assert callback.callback_query is not None
    assert inline.inline_query is not None
    assert callback.callback_query.data == "page:2"
    assert callback.callback_query.message is not None
    assert callback.callback_query.message.message_id == 3
    assert callback.callback_query.api_kwargs == {}
    assert (inline.inline_query.query, inline.inline_query.offset) == ("rates", "10")
    assert callback.callback_query.id != inline.inline_query.id


def test_my_chat_member_statuses(factory: UpdateFactory, bot: telegram.Bot) -> None:
    promoted = Update.de_json(factory.my_chat_member_update(-4001, "member", "administrator"), bot)
    blocked = Update.de_json(factory.my_chat_member_update(5, "member", "kicked"), bot)
    assert promoted.my_chat_member is not None
    assert blocked.my_chat_member is not None
    assert isinstance(promoted.my_chat_member.new_chat_member, ChatMemberAdministrator)
    assert promoted.my_chat_member.new_chat_member.api_kwargs == {}
    assert promoted.my_chat_member.new_chat_member.user.id == 12345
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)
    assert blocked.my_chat_member.from_user.id == 5  # only the user can block the bot


@pytest.mark.parametrize(
    "status", ["creator", "administrator", "member", "restricted", "left", "kicked"]
)
def test_every_member_status_is_complete(
    factory: UpdateFactory, bot: telegram.Bot, status: MemberStatus
) -> None:
    update = Update.de_json(factory.my_chat_member_update(-4001, "left", status), bot)
    assert update.my_chat_member is not None
    member = update.my_chat_member.new_chat_member
    assert member.status == status
    assert member.api_kwargs == {}
