"""A custom MSP adapter: post a small JSON message to any webhook (Discord, Teams, n8n, ...).

Walkthrough in docs/adapters.md. Register it in `.msp/config.json`:

    {"integrations": {"webhook": {
        "enabled": true,
        "module": "webhook_adapter:WebhookAdapter",
        "config": {"notifyOn": ["session_ended", "decision_recorded"]}}}}

and store the webhook URL (a secret: anyone holding it can post) with
`msp credentials set webhook-url`.

Where a stored payload goes is decided again at send time by `Adapter.destination`: the default
accepts a URL only when it is a credential listed in `credentials` (as here) or has the origin
of a URL in this adapter's config, and never lends the built-in credentials (linear-api-key,
slack-webhook, jira-api-token, neo4j-password) to a custom adapter.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    BlockerRecorded,
    CredentialRef,
    DecisionRecorded,
    HookEvent,
    HttpPayload,
    SessionEnded,
    SessionStarted,
)

Notify = Literal["session_started", "session_ended", "decision_recorded", "blocker_recorded"]


class WebhookConfig(AdapterConfig):
    """Every key is validated; an unknown or mistyped key is reported with its path."""

    notify_on: list[Notify] = Field(default_factory=lambda: list[Notify](["session_ended"]))
    max_text: int = Field(default=500, ge=20, le=4000)


class WebhookAdapter(Adapter[WebhookConfig]):
    name: ClassVar[str] = "webhook"
    Config: ClassVar[type[AdapterConfig]] = WebhookConfig
    credentials: ClassVar[tuple[str, ...]] = ("webhook-url",)

    def _post(self, event: HookEvent, text: str) -> list[HttpPayload]:
        config = self.config
        if event.hook not in config.notify_on:
            return []
        if len(text) > config.max_text:
            text = text[: config.max_text - 1] + "…"
        session = event.session
        return [
            HttpPayload(
                title=f"Webhook: {event.hook}",
                url=CredentialRef(credential="webhook-url"),
                json={
                    "event": event.hook,
                    "project": event.project,
                    "session": session.id if session else None,
                    "text": text,  # user text travels as a JSON value, never as markup
                },
            )
        ]

    # Each hook gets its own event class: what the hook is about is always there.

    def session_started(self, event: SessionStarted) -> list[HttpPayload]:
        return self._post(event, f"Started: {event.session.goal or 'no goal set'}")

    def decision_recorded(self, event: DecisionRecorded) -> list[HttpPayload]:
        return self._post(event, f"Decided: {event.decision.content}")

    def blocker_recorded(self, event: BlockerRecorded) -> list[HttpPayload]:
        return self._post(event, f"Blocked: {event.blocker.description}")

    def session_ended(self, event: SessionEnded) -> list[HttpPayload]:
        session = event.session
        progress = f"{session.start_progress}% → {session.end_progress}%"
        return self._post(event, f"Ended ({progress}): {session.summary or 'no summary'}")
