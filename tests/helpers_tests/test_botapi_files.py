"""Documents both ways through the fake, seen by an unmodified python-telegram-bot Bot over
either transport: sendDocument uploads, getFile and the file download."""

from __future__ import annotations

import io

import pytest
import telegram
from telegram import Update
from telegram.error import BadRequest, InvalidToken

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_files import MAX_CAPTION_LENGTH, MAX_DOWNLOAD_BYTES
from tests.helpers.fake_request import FakeRequest

USER = 4242
CHANNEL = -1002000000099


async def test_send_document_records_name_bytes_and_caption(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    content = b"<?xml version='1.0'?><opml version='2.0'/>\n" + bytes(range(256))
    message = await bot.send_document(
        USER,
        io.BytesIO(content),
        filename="feeds.opml",
        caption="<b>Your</b> feeds &amp; more",
        parse_mode="HTML",
    )

    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("feeds.opml", len(content))
    assert message.caption == "Your feeds & more"
    assert [(e.type, e.offset, e.length) for e in message.caption_entities] == [("bold", 0, 4)]
    (sent,) = api.sent_documents(USER)
    assert (sent.file_name, sent.content, sent.caption) == (
        "feeds.opml",
        content,
        "Your feeds & more",
    )
    assert sent.message["message_id"] == message.message_id
    assert api.sent_messages() == []

    # The file it sent can be fetched back, and sent again by its id.
    again = await bot.send_document(CHANNEL, message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    assert api.sent_documents(CHANNEL)[0].content == content
    fetched = await bot.get_file(message.document.file_id)
    assert bytes(await fetched.download_as_bytearray()) == content


async def test_send_document_refuses_what_telegram_refuses(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await bot.send_document(USER, b"", filename="empty.opml")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(
            USER, b"x", filename="a.txt", caption="c" * (MAX_CAPTION_LENGTH + 1)
        )
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(USER, "no-such-file-id")
    assert api.sent_documents() == []


async def test_a_users_document_is_downloaded_through_get_file(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    content = b"<opml><body><outline xmlUrl='https://a.example/'/></body></opml>"
    document = api.register_document(content, "mine.opml")
    update = Update.de_json(
        api.document_update(document, caption="/import", chat_id=USER, user_id=USER), bot
    )

    message = update.effective_message
    assert message is not None and message.document is not None
    assert message.caption == "/import"
    assert [(e.type, e.offset, e.length) for e in message.caption_entities] == [
        ("bot_command", 0, 7)
    ]
    assert (message.document.file_name, message.document.file_size) == ("mine.opml", len(content))
    file = await message.document.get_file()
    assert file.file_size == len(content)
    assert file.file_path is not None and file.file_path.endswith(".opml")
    assert bytes(await file.download_as_bytearray()) == content
    buffer = io.BytesIO()
    await file.download_to_memory(buffer)
    assert buffer.getvalue() == content
    assert [c.params["file_path"] for c in api.calls_to("download")] == [
        file.file_path.rpartition("/file/bot")[2].partition("/")[2]
    ] * 2


async def test_a_document_posted_in_a_channel(bot: telegram.Bot, api: FakeBotApi) -> None:
    document = api.register_document(b"<opml/>", "c.opml", declared_size=None)
    update = Update.de_json(api.post_document_in_channel(document, CHANNEL, caption="/import"), bot)
    assert update.channel_post is not None and update.channel_post.document is not None
    assert update.channel_post.document.file_size is None  # optional in the Bot API
    assert update.channel_post.text is None
    assert update.channel_post.caption == "/import"


async def test_get_file_refuses_unknown_ids_and_files_over_20_mb(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")
    big = api.register_document(b"\0" * (MAX_DOWNLOAD_BYTES + 1), "big.opml")
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big["file_id"])


async def test_downloads_need_the_bots_token() -> None:
    api = FakeBotApi(token="1:RIGHT")
    document = api.register_document(b"secret", "s.opml")
    async with telegram.Bot("1:RIGHT", request=FakeRequest(api)) as right:
        file = await right.get_file(document["file_id"])
    assert file.file_path is not None
    wrong_url = file.file_path.replace("/file/bot1:RIGHT/", "/file/bot1:WRONG/")
    with pytest.raises(InvalidToken):
        await FakeRequest(api).retrieve(wrong_url)
    assert await FakeRequest(api).retrieve(file.file_path) == b"secret"
