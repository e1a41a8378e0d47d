"""Documents in the fake Bot API, both ways: what the bot uploads (sendDocument, multipart) and
what users send it (a Document in an update, getFile, then a GET of /file/bot<token>/<path>).

Limits as Telegram's: uploads of 1 byte to 50 MB, captions of 0-1024 characters after
entity parsing, getFile only for files up to 20 MB. File ids are opaque strings the fake
makes; a file's bytes are served only under the token the fake was given (any token when
it has none), as Telegram does.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from tests.helpers.botapi_rules import ApiError, bad_request
from tests.helpers.telegram_html import EntityParseError, ParsedText, parse_html
from tests.helpers.tg_objects import JSON

MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
FILE_TOO_BIG = "Bad Request: file is too big"
INVALID_FILE_ID = "Bad Request: invalid file_id"


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part as a transport received it."""

    file_name: str
    content: bytes
    mime_type: str | None = None


@dataclass(frozen=True)
class SentDocument:
    """A document the bot sent: where, the file's name and bytes, and its caption (parsed)."""

    chat_id: int | str
    file_name: str
    content: bytes
    mime_type: str | None
    caption: str | None
    caption_entities: tuple[JSON, ...]
    message: JSON


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    content: bytes
    declared_size: int | None
    file_path: str | None = None


def uploaded(value: Any) -> UploadedFile:
    """The file of a multipart part given as PTB's field tuple (name, bytes or handle, type)."""
    file_name, content, mime_type = value
    data = content if isinstance(content, bytes) else content.read()
    return UploadedFile(str(file_name or "file"), bytes(data), mime_type)


def validate_caption(caption: Any, parse_mode: Any) -> ParsedText | None:
    """A caption as sendDocument reads it: optional, 0-1024 characters after parsing."""
    if caption is None or caption == "":
        return None
    if not isinstance(caption, str):
        raise bad_request("can't parse caption")
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        try:
            parsed = parse_html(caption)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        parsed = ParsedText(caption, ())
    if len(parsed.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return parsed


class FileStore:
    """Files Telegram holds: registered by a test (a user's upload) or sent by the bot."""

    def __init__(self) -> None:
        self._files: dict[str, _StoredFile] = {}
        self._by_path: dict[str, _StoredFile] = {}
        self._numbers = itertools.count(1)

    def add(
        self,
        content: bytes,
        *,
        file_name: str | None,
        mime_type: str | None,
        declared_size: int | None,
    ) -> JSON:
        """Store a file; its Document object (file_size as declared, absent when None)."""
        number = next(self._numbers)
        stored = _StoredFile(
            file_id=f"BQACAgIAAx0C{number:06d}{secrets.token_hex(8)}",
            file_unique_id=f"AgAD{number:06d}",
            file_name=file_name,
            mime_type=mime_type,
            content=bytes(content),
            declared_size=declared_size,
        )
        self._files[stored.file_id] = stored
        return self.document_json(stored.file_id)

    def document_json(self, file_id: str) -> JSON:
        stored = self._files[file_id]
        document: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name is not None:
            document["file_name"] = stored.file_name
        if stored.mime_type is not None:
            document["mime_type"] = stored.mime_type
        if stored.declared_size is not None:
            document["file_size"] = stored.declared_size
        return document

    def known(self, file_id: Any) -> bool:
        return isinstance(file_id, str) and file_id in self._files

    def get_file(self, file_id: Any) -> JSON:
        """getFile: the File object with a download path, valid as long as the fake lives."""
        if not isinstance(file_id, str) or file_id not in self._files:
            raise ApiError(400, INVALID_FILE_ID)
        stored = self._files[file_id]
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, FILE_TOO_BIG)
        if stored.file_path is None:
            suffix = (stored.file_name or "").rpartition(".")[2]
            number = len(self._by_path)
            stored.file_path = f"documents/file_{number}" + (f".{suffix}" if suffix else "")
            self._by_path[stored.file_path] = stored
        result: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
        return result

    def download(self, file_path: str) -> bytes | None:
        stored = self._by_path.get(file_path)
        return stored.content if stored is not None else None

    def content(self, file_id: str) -> bytes:
        return self._files[file_id].content
