"""A scripted AlertSender for delivery tests: records sends, answers what it is told."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.alerts.delivery import Outcome, SendResult
from services.articles import ArticleView


@dataclass
class Sent:
    chat_id: int
    topic: int
    article_ids: list[int]
    digest: str


@dataclass
class ScriptedSender:
    sent: list[Sent] = field(default_factory=list)
    attempts: list[Sent] = field(default_factory=list)
    script: deque[SendResult] = field(default_factory=deque)

    def then(self, *results: SendResult) -> ScriptedSender:
        self.script.extend(results)
        return self

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        attempt = Sent(chat_id, topic, [a.id for a in articles], digest)
        self.attempts.append(attempt)
        result = self.script.popleft() if self.script else SendResult(Outcome.SENT)
        if result.outcome is Outcome.SENT:
            self.sent.append(attempt)
        return result
