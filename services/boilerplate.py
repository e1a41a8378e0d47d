"""Removing the parts of a scraped article body that are not the story."""

from __future__ import annotations

import re

from services.sentences import SENTENCE_CLOSERS, split_paragraphs

# Prompts and link lines are short paragraphs of their own; a longer one is story text.
_MAX_PROMPT_CHARS = 200
# A closing appeal is a few paragraphs at the end; more than this is probably story.
_MAX_APPEAL_PARAGRAPHS = 12
_MAX_APPEAL_CHARS = 3000

_LINK_DASH = r"\s*(?:$|[:\-\u2013—»\u203a>|])"
_NETWORKS = r"(?:twitter|facebook|x|instagram|linkedin|tiktok|youtube|threads|bluesky|whatsapp)"
_PROMPT = re.compile(
    rf"""(?:
        read\ more(?:{_LINK_DASH}|\ (?:about|on|from|at|here)\b)
      | related(?:\ (?:stories|articles|content|coverage|links|topics))?{_LINK_DASH}
      | (?:see\ also|also\ read|more\ on\ this\ story|recommended){_LINK_DASH}
      | you\ (?:may|might)\ also\ (?:like|be\ interested)\b
      | subscribe\ to\b | sign\ up\ (?:for|to)\b
      | support\ (?:our|independent|quality)\ journalism\b
      | (?:sign\ up|subscribe)\b.*\b(?:newsletter|inbox|e-?mail|updates|alerts|now|today|free)\b
      | (?:get|receive)\b.*\b(?:our\ newsletter|in\ your\ inbox)\b
      | follow\ us\b | follow\b.{{0,40}}?\bon\ {_NETWORKS}\b | (?:like|find)\ us\ on\b
      | share\ (?:this\ (?:article|story|post|page)|on\ (?:{_NETWORKS}|e-?mail))\b
      | tweet\ this\b | (?:click|tap)\ here\b
      | © | \(c\)\ \d{{4}} | copyright\ (?:©\ |\(c\)\ )?\d{{4}} | copyright\b.*\ball\ rights\b
      | all\ rights\ reserved\b
      | (?:advertisement|advertising|sponsored\ content)\s*$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_APPEAL_START = re.compile(
    r"""(?:
        an?\ (?:personal\ )?(?:message|note|letter|word)\ from\ (?:our|the)\b
      | support\ (?:our|independent|quality|local|nonprofit|non-profit)\b
      | before\ you\ go\b | we\ need\ your\ (?:help|support)\b | thank\ you\ for\ reading\b
      | (?:please\ )?(?:consider\ )?(?:donate|donating|make\ a\ donation)\b
      | become\ a\ (?:member|supporter|subscriber|patron)\b
      | i\ hope\ you\ (?:enjoyed|appreciated|found)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Words of a fundraising appeal; "member" alone is too common in politics to count.
_APPEAL_WORDS = re.compile(
    r"""\b(?:donat\w* | paywall | journalism | nonprofit | non-profit | readers\ like\ you
      | subscri\w* | contribution | support\ (?:us|our|the\ \w+['\u2019]s|independent|quality|this)
      | become\ a\ (?:member|supporter|subscriber|patron))\b""",
    re.IGNORECASE | re.VERBOSE,
)
# A heading: a short line without closing punctuation ("A message from our publisher").
_HEADING_CHARS = 100


def strip_boilerplate(body: str) -> str:
    """Drop appeals, link lines, newsletter/social prompts and copyright lines from a body."""
    paragraphs = split_paragraphs(body)
    paragraphs = paragraphs[: _appeal_start(paragraphs)]
    return "\n\n".join(
        p for p in paragraphs if not (len(p) <= _MAX_PROMPT_CHARS and _PROMPT.match(p))
    )


def _appeal_start(paragraphs: list[str]) -> int:
    """Index where a closing appeal begins, or len(paragraphs) when there is none."""
    first = max(1, len(paragraphs) - _MAX_APPEAL_PARAGRAPHS)
    for index in range(first, len(paragraphs)):
        head = paragraphs[index]
        if len(head) > _MAX_PROMPT_CHARS or not _APPEAL_START.match(head):
            continue
        heading = len(head) <= _HEADING_CHARS and not head.endswith(SENTENCE_CLOSERS)
        if not (heading or _APPEAL_WORDS.search(head)):
            continue
        rest = paragraphs[index + 1 :]
        if len(head) + sum(map(len, rest)) > _MAX_APPEAL_CHARS:
            continue
        # Only cut when the block reads as an appeal, not when a story says "before you go".
        hits = sum(1 for p in rest if _APPEAL_WORDS.search(p))
        if hits >= min(2, len(rest)) and (rest or _APPEAL_WORDS.search(head)):
            return index
    return len(paragraphs)
