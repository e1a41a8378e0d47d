"""Builders for the Bot API JSON objects (User, Chat, ChatMember, ...) shared by the fakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

JSON = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]

DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -4000001001
DEFAULT_SUPERGROUP_ID = -1001000001001
# The service accounts Telegram puts in `from` for anonymous admins and linked-channel posts.
GROUP_ANONYMOUS_BOT_ID = 1087968824
CHANNEL_BOT_ID = 136817688

# Supergroup and channel ids are -100 followed by the 10+ digit peer id.
_SUPERGROUP_ID_LIMIT = -1_000_000_000_000


def user_json(
    user_id: int,
    *,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
) -> JSON:
    """A human User object with stable names derived from the id."""
    user: JSON = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name or f"User{user_id}",
        "username": username or f"user{user_id}",
    }
    if language_code is not None:
        user["language_code"] = language_code
    return user


def service_bot_json(user_id: int) -> JSON:
    """The GroupAnonymousBot / Channel_Bot User objects."""
    if user_id == GROUP_ANONYMOUS_BOT_ID:
        return {
            "id": user_id,
            "is_bot": True,
            "first_name": "Group",
            "username": "GroupAnonymousBot",
        }
    return {"id": user_id, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}


def infer_chat_type(chat_id: int) -> ChatType:
    """The chat type Telegram's id ranges imply (channel ids look like supergroup ids)."""
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= _SUPERGROUP_ID_LIMIT else "group"


def chat_json(
    chat_id: int,
    chat_type: ChatType | None = None,
    *,
    title: str | None = None,
    username: str | None = None,
    is_forum: bool = False,
) -> JSON:
    """A Chat object; private chats mirror user_json's names."""
    kind = chat_type or infer_chat_type(chat_id)
    chat: JSON = {"id": chat_id, "type": kind}
    if kind == "private":
        chat["first_name"] = f"User{chat_id}"
        chat["username"] = username or f"user{chat_id}"
        return chat
    chat["title"] = title or f"{kind.capitalize()} {abs(chat_id)}"
    if username:
        chat["username"] = username
    if is_forum:
        chat["is_forum"] = True
    return chat


def full_chat_json(chat: JSON) -> JSON:
    """The ChatFullInfo getChat returns for a Chat object."""
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def chat_member_json(
    user: JSON,
    status: MemberStatus,
    *,
    is_anonymous: bool = False,
    rights: Mapping[str, bool] | None = None,
) -> JSON:
    """A ChatMember object with every field its status requires.

    rights: fields set over the status's defaults (a channel administrator's
    can_post_messages, a restricted member's can_send_messages, ...).
    """
    member = _member_json(user, status, is_anonymous=is_anonymous)
    member.update(rights or {})
    return member


def channel_admin_rights(*, can_post_messages: bool = True) -> dict[str, bool]:
    """The rights only channel administrators have (what a channel's admin JSON adds)."""
    return {
        "can_post_messages": can_post_messages,
        "can_edit_messages": can_post_messages,
    }


def _member_json(user: JSON, status: MemberStatus, *, is_anonymous: bool) -> JSON:
    member: JSON = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = is_anonymous
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=is_anonymous,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
        )
    elif status == "restricted":
        member.update(
            is_member=True,
            can_send_messages=False,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_manage_topics=False,
            can_edit_tag=False,
            can_react_to_messages=False,
            until_date=0,
        )
    elif status == "kicked":
        member["until_date"] = 0
    return member
