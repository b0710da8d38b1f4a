"""Retry policy: what an outcome means, how long to wait, how fast to send, what to hide.

Kept free of I/O so the rules are easy to read and test: exponential backoff with full jitter
and a cap (AWS's "full jitter": sleep a random time between 0 and min(cap, base * 2^n)),
Retry-After honoured on 429 and 503, and a token bucket per target.
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, urlsplit

# Statuses worth another try: timeouts, throttling and server-side failures.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_AFTER_MAX = 6 * 3600.0  # a garbage Retry-After never parks a payload for days

# Requests per second and burst per integration, respecting each service's published limits:
# Linear allows 5,000 requests/hour per API key (1.25/s + a burst of 10 stays below it); Slack
# incoming webhooks allow 1 message per second per webhook; Jira Cloud's limits are cost based
# and per issue for writes, so a cautious 2/s. Databases and files are local: generous.
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "linear": (1.25, 10),
    "slack": (1.0, 1),
    "jira": (2.0, 5),
    "neo4j": (50.0, 50),
    "obsidian": (1000.0, 1000),
}
CUSTOM_RATE: tuple[float, int] = (1.0, 5)
# Plain http, bolt:// and redis:// (a secret in clear) only to this machine.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
NAME_SHOWN_MAX = 64

OutcomeKind = Literal["sent", "retry", "dead"]


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt."""

    kind: OutcomeKind
    detail: str | None = None  # the error (retry/dead) or a note (sent)
    retry_after: float | None = None  # seconds, when the target said so
    pause_target: bool = False  # a 429: hold the whole target, not just this payload


class DeliveryFailure(Exception):
    """Raised by a sender; `retryable` decides between another attempt and the dead letter."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        pause: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.pause = pause


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; attempt counts from 1."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return float(rand() * ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def classify_status(status: int) -> bool | None:
    """True: retry; False: dead at once; None: success."""
    if 200 <= status < 300:
        return None
    return status in RETRYABLE_STATUSES or status >= 500


class TokenBucket:
    """Per-target pacing inside one process: `rate` tokens per second, at most `burst`."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()
        self.paused_until = 0.0

    def _refill(self) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        now = self._refill()
        pause = max(self.paused_until - now, 0.0)
        need = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        return max(pause, need)

    def take(self) -> None:
        self._refill()
        self.tokens -= 1

    def pause(self, seconds: float) -> None:
        """A 429 with Retry-After holds every payload of the target, not just one."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)


# --- redaction -------------------------------------------------------------------------------

REDACTED = "[redacted]"


def secret_forms(secret: str) -> set[str]:
    """A secret as it may be echoed back: raw, URL-encoded, base64 (alone and in basic auth
    pairs is handled by the caller adding the pair), and for a URL its path and query."""
    forms = {secret, quote(secret, safe=""), quote(secret)}
    forms.add(base64.b64encode(secret.encode()).decode())
    if re.match(r"^[a-z][a-z0-9+.-]*://", secret, re.I):
        parts = urlsplit(secret)
        for piece in (parts.path, parts.query, parts.netloc + parts.path):
            if len(piece) >= 8:
                forms.add(piece)
    return {f for f in forms if len(f) >= 4}


PARTIAL_MIN = 4  # a secret's fragment this long at either end of a text is redacted too


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known form of every secret; longest first so none leaves a fragment.
    A text that ends with the start of a secret (or starts with its end) was cut through it,
    by the server or on the way: that fragment goes too."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    for form in forms:
        for size in range(min(len(form) - 1, len(text)), PARTIAL_MIN - 1, -1):
            if text.endswith(form[:size]):
                text = text[:-size] + REDACTED
                break
        for size in range(min(len(form) - 1, len(text)), PARTIAL_MIN - 1, -1):
            if text.startswith(form[-size:]):
                text = REDACTED + text[size:]
                break
    return text


def short(text: str, limit: int = 500) -> str:
    """Error texts are stored and shown: keep them to a readable size."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Terminal control sequences in remote text: OSC (e.g. OSC 52 writes the clipboard), DCS/SOS/
# PM/APC strings, CSI sequences, and any other ESC sequence; 7-bit and 8-bit (C1) forms.
_ESCAPES = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
)
# What is left of C0/C1 controls, DEL, and bidi overrides that reorder what a reader sees.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Remote text made safe to store and print: escape sequences removed, line breaks and
    tabs become spaces, every other control character is dropped."""
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub(lambda m: " " if m.group() in "\t\n\r" else "", text)


def shown_name(name: object) -> str:
    """A stored integration name as it may be shown: printable and bounded (it is data, shown
    but never obeyed)."""
    return strip_controls(str(name))[:NAME_SHOWN_MAX]


def remote_text(text: str, secrets: Iterable[str], limit: int = 500) -> str:
    """The one order for text from a server: strip controls, redact the whole text, then cut
    (cutting first could leave a prefix of a secret that redaction no longer recognises)."""
    return short(redact(strip_controls(text), secrets), limit)
