"""Marker comments (`# DECISION: …`, `// BLOCKER(high, external): …`) and what they record.

A marker's options say what the CLI's flags would: `DECISION(high, architecture):` is impact
high and category architecture; `BLOCKER(high, external):` severity high, category external.
A decision's "… because …" is split into its rationale the way the CLI's auto-detection does.
Whatever is taken from a default is said so in the action's title: nothing is recorded that the
title did not show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from msp_server.core.detect import split_rationale

LEVELS = ("low", "medium", "high")
BLOCKER_CATEGORIES = ("technical", "external", "resource")
_CATEGORY = re.compile(r"^[\w][\w .&/-]{0,59}$")

# A comment opener, then (anywhere after it) MARKER[(options)]: text, minus a closing */ or -->.
# Searched in two linear steps, not as one pattern: `opener.*?MARKER` retried from every opener
# is quadratic in the line (a minified line of `;`s took seconds per hover).
_OPENER_RE = re.compile(r"#|//|/\*|<!--|--|;|%|^\s*\*")
_KEYWORD_RE = re.compile(
    r"\b(?P<marker>DECISION|BLOCKER|BLOCKED|TODO\(msp\))"
    r"(?:\((?P<options>[^()\n]{0,80})\))?:"
)
_CLOSERS = ("*/", "-->")


@dataclass(frozen=True)
class _Found:
    marker: str
    options: str | None
    text: str


def _search(line: str) -> _Found | None:
    """The first marker after the line's first comment opener (what `opener.*?MARKER: text`
    would find), with the text's closing `*/` or `-->` and surrounding spaces removed."""
    opener = _OPENER_RE.search(line)
    if opener is None:
        return None
    keyword = _KEYWORD_RE.search(line, opener.end())
    if keyword is None:
        return None
    text = line[keyword.end() :].strip()
    for closer in _CLOSERS:
        if text.endswith(closer):
            text = text[: -len(closer)].rstrip()
            break
    return _Found(keyword.group("marker"), keyword.group("options"), text)


_VERBS = {"DECISION": "decide", "BLOCKER": "block", "BLOCKED": "block", "TODO(msp)": "update"}
KINDS = {"decide": "decision", "block": "blocker", "update": "update"}
TITLE_TEXT_MAX = 48


@dataclass(frozen=True)
class Marker:
    """What one marker line records: the verb, its arguments (without the `(path:line)` that
    the code action appends to the text) and the words for the action's title."""

    verb: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return KINDS[self.verb]

    def recorded_text(self, where: str) -> str:
        """The record's text as stored: the marker's text and where it came from."""
        return f"{self.text} ({where})"

    def arguments(self, where: str) -> dict[str, Any]:
        return {**self.fields, "text": self.recorded_text(where)}

    def title(self) -> str:
        shown = self.text if len(self.text) <= TITLE_TEXT_MAX else self.text[:47] + "…"
        extra = f" ({', '.join(self.details)})" if self.details else ""
        return f"MSP: Record {self.kind} “{shown}”{extra}"


def parse(line: str) -> Marker | None:
    """The marker on this line, or None (no marker, or no text after it)."""
    match = _search(line)
    if match is None or not match.text:
        return None
    verb = _VERBS[match.marker]
    options = [o.strip() for o in (match.options or "").split(",") if o.strip()]
    text = match.text
    if verb == "decide":
        return _decision(text, options)
    if verb == "block":
        return _blocker(text, options)
    return Marker("update", text, ignored=tuple(options))


def _decision(text: str, options: list[str]) -> Marker:
    content, rationale = split_rationale(text)
    fields: dict[str, Any] = {}
    details: list[str] = []
    ignored: list[str] = []
    for option in options:
        if option.lower() in LEVELS and "impact" not in fields:
            fields["impact"] = option.lower()
        elif _CATEGORY.match(option) and "category" not in fields:
            fields["category"] = option
        else:
            ignored.append(option)
    details.append(f"impact {fields['impact']}" if "impact" in fields else "default impact medium")
    if "category" in fields:
        details.append(str(fields["category"]))
    if rationale:
        fields["rationale"] = rationale
        details.append("with its rationale")
    return Marker("decide", content or text, fields, tuple(details), tuple(ignored))


def _blocker(text: str, options: list[str]) -> Marker:
    fields: dict[str, Any] = {}
    ignored: list[str] = []
    for option in options:
        word = option.lower()
        if word in LEVELS and "severity" not in fields:
            fields["severity"] = word
        elif word in BLOCKER_CATEGORIES and "category" not in fields:
            fields["category"] = word
        else:
            ignored.append(option)
    details = (
        f"severity {fields['severity']}" if "severity" in fields else "default severity medium",
        str(fields.get("category", "technical")),
    )
    return Marker("block", text, fields, details, tuple(ignored))
