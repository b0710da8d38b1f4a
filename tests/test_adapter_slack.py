"""The Slack adapter, checked with slack_sdk's Block Kit models and Slack's documented limits.

Each block must parse, validate and round-trip unchanged (slack_sdk drops unknown keys quietly,
so the round trip is what catches them); user text must stay escaped so it can never ping a
channel or mention someone; and the webhook URL must only ever be named, never carried.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.models.blocks import Block

from msp_server.adapters.base import CredentialRef, HookEvent, HttpPayload
from msp_server.adapters.slack import (
    BLOCKS_MAX,
    CREDENTIAL,
    ELLIPSIS,
    FALLBACK_MAX,
    FIELD_MAX,
    FIELDS_MAX,
    HEADER_MAX,
    SECTION_TEXT_MAX,
    SlackAdapter,
    SlackConfig,
    fit,
    units,
)
from tests.adapter_events import INJECTION_CORPUS, scripted_events

ALL_HOOKS = [
    "progress_updated",
    "decision_recorded",
    "blocker_recorded",
    "blocker_resolved",
    "entity_recorded",
]
HOSTILE = "<!channel> hey <!here> <@U024BE7LH> <#C024BE7LR> <https://evil.example|click me> & co"


def adapter(**config: Any) -> SlackAdapter:
    return SlackAdapter(SlackConfig.model_validate(config))


def run(slack: SlackAdapter, events: list[HookEvent]) -> list[tuple[str, HttpPayload]]:
    out = []
    for event in events:
        hook = getattr(slack, event.hook, None)
        for payload in hook(event) if hook else []:
            assert isinstance(payload, HttpPayload)
            out.append((event.hook, payload))
    return out


def texts(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every text Slack renders, with where it sits: (kind, text)."""
    yield "fallback", body["text"]
    for block in body["blocks"]:
        if block["type"] == "header":
            yield "header", block["text"]["text"]
        elif block["type"] == "section":
            if "text" in block:
                yield "section", block["text"]["text"]
            for field in block.get("fields", []):
                yield "field", field["text"]
        elif block["type"] == "context":
            for element in block["elements"]:
                yield "context", element["text"]


LIMITS = {
    "fallback": FALLBACK_MAX,
    "header": HEADER_MAX,
    "section": SECTION_TEXT_MAX,
    "field": FIELD_MAX,
    "context": SECTION_TEXT_MAX,
}


@pytest.mark.parametrize("text", [*INJECTION_CORPUS, HOSTILE], ids=lambda t: repr(t[:20]))
def test_blocks_are_valid_block_kit(text: str) -> None:
    payloads = run(adapter(notifyOn=ALL_HOOKS), scripted_events(text))
    assert [hook for hook, _ in payloads] == [
        "session_started",
        *ALL_HOOKS,
        "session_ended",
    ]
    for hook, payload in payloads:
        body = payload.json_body
        assert 1 <= len(body["blocks"]) <= BLOCKS_MAX
        for block_dict in body["blocks"]:
            block = Block.parse(block_dict)
            assert block is not None, hook
            block.validate_json()
            assert block.to_dict() == block_dict, f"{hook}: lost or changed keys"


@pytest.mark.parametrize("text", [*INJECTION_CORPUS, HOSTILE], ids=lambda t: repr(t[:20]))
def test_every_text_is_within_slacks_limits(text: str) -> None:
    for hook, payload in run(adapter(notifyOn=ALL_HOOKS), scripted_events(text)):
        for block in payload.json_body["blocks"]:
            assert len(block.get("fields", [])) <= FIELDS_MAX
        for kind, shown in texts(payload.json_body):
            assert shown, f"{hook} {kind}: Slack rejects empty text"
            assert units(shown) <= LIMITS[kind], f"{hook} {kind}: {units(shown)} units"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    long = "x" * 5000
    payloads = dict(run(adapter(), scripted_events(long)))
    body = payloads["session_ended"].json_body
    summary = body["blocks"][2]["text"]["text"]
    assert summary == "*Summary*\n" + "Summary: " + "x" * (SECTION_TEXT_MAX - 20) + ELLIPSIS
    assert units(summary) == SECTION_TEXT_MAX
    assert body["text"].endswith(ELLIPSIS) and units(body["text"]) == FALLBACK_MAX


def test_cutting_never_splits_an_entity_or_a_surrogate_pair() -> None:
    assert fit("a" * 9 + "&b", 11) == "a" * 9 + ELLIPSIS  # '&amp;' does not fit whole: dropped
    assert fit("a" * 4 + "&", 10) == "a" * 4 + "&amp;"
    assert fit("🚀" * 10, 5) == "🚀🚀" + ELLIPSIS  # each rocket is two UTF-16 units
    assert fit("short", 150) == "short"


@pytest.mark.parametrize("text", [*INJECTION_CORPUS, HOSTILE], ids=lambda t: repr(t[:20]))
def test_user_text_cannot_link_or_mention(text: str) -> None:
    """No raw '<' or '>' anywhere (MSP adds no links of its own), every '&' is an entity."""
    for hook, payload in run(adapter(notifyOn=ALL_HOOKS), scripted_events(text)):
        for kind, shown in texts(payload.json_body):
            assert "<" not in shown and ">" not in shown, f"{hook} {kind}"
            assert not re.search(r"&(?!amp;|lt;|gt;)", shown), f"{hook} {kind}"
        assert payload.json_body["unfurl_links"] is False
        assert "link_names" not in payload.json_body and "parse" not in payload.json_body


def test_escaped_text_reads_as_typed() -> None:
    ended = dict(run(adapter(), scripted_events(HOSTILE)))["session_ended"].json_body
    summary = ended["blocks"][2]["text"]["text"]
    assert summary == "*Summary*\n" + html.escape(f"Summary: {HOSTILE}", quote=False)
    assert html.unescape(summary) == f"*Summary*\nSummary: {HOSTILE}"


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_user_text_round_trips_where_it_fits(text: str) -> None:
    started = dict(run(adapter(), scripted_events(text)))["session_started"].json_body
    goal = next(b for b in started["blocks"] if b["type"] == "section" and "text" in b)
    shown = html.unescape(goal["text"]["text"].removeprefix("*Goal*\n"))
    expected = text if text.strip() else "(blank)"
    if units(expected) <= SECTION_TEXT_MAX - units("*Goal*\n"):
        assert shown == expected
    else:
        assert shown.endswith(ELLIPSIS) and expected.startswith(shown[:-1])


def test_the_webhook_url_is_a_credential_reference() -> None:
    for _hook, payload in run(adapter(notifyOn=ALL_HOOKS), scripted_events()):
        assert payload.url == CredentialRef(credential=CREDENTIAL)
        assert payload.auth is None
        assert payload.method == "POST"
        wire = payload.model_dump(mode="json", by_alias=True)
        assert wire["url"] == {"credential": "slack-webhook"}
        assert "hooks.slack.com" not in str(wire)
    assert SlackAdapter.credentials == ("slack-webhook",)


def test_session_start_and_end_by_default() -> None:
    payloads = run(adapter(), scripted_events("Wire the login form"))
    assert [hook for hook, _ in payloads] == ["session_started", "session_ended"]
    ended = payloads[1][1].json_body
    assert ended["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Session ended · demo"},
    }
    assert [f["text"] for f in ended["blocks"][1]["fields"]] == [
        "*Progress*\n40% → 45% (+5)",
        "*Duration*\n3h 30m",
        "*Decisions*\n1",
        "*Blockers*\n1 resolved · 0 open",
        "*Entities*\n1",
        "*Branch*\nfeature/login",
    ]
    assert ended["text"] == "MSP session ended · demo · 40% → 45%: Summary: Wire the login form"
    assert ended["blocks"][-1]["elements"][0]["text"] == "MSP session msp-2026-11-26-090000"


def test_message_options_pass_through() -> None:
    slack = adapter(channel="#dev-log", username="MSP", iconEmoji=":robot_face:")
    (_, payload), *_ = run(slack, scripted_events())
    body = payload.json_body
    assert (body["channel"], body["username"], body["icon_emoji"]) == (
        "#dev-log",
        "MSP",
        ":robot_face:",
    )


def test_output_is_deterministic() -> None:
    first = run(adapter(notifyOn=ALL_HOOKS), scripted_events("same"))
    second = run(adapter(notifyOn=ALL_HOOKS), scripted_events("same"))
    assert [p.model_dump() for _, p in first] == [p.model_dump() for _, p in second]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"channel": "<!channel>"}, "channel"),
        ({"channel": "#Has Spaces"}, "channel"),
        ({"notifyOn": ["session_ended"]}, "notifyOn"),
        ({"iconEmoji": "robot"}, "iconEmoji"),
        ({"username": "two\nlines"}, "username"),
        ({"webhookUrl": "https://hooks.slack.com/services/T/B/X"}, "webhookUrl"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SlackConfig.model_validate(config)
    assert field in str(caught.value)


def test_config_accepts_channel_ids_and_dedupes_hooks() -> None:
    config = SlackConfig.model_validate(
        {"channel": "C024BE7LR", "notifyOn": ["decision_recorded", "decision_recorded"]}
    )
    assert config.notify_on == ["decision_recorded"]
    assert SlackConfig.model_validate({}).channel is None
