"""Redaction of secrets in what a user types (or a file contributes) before anything is stored.

Three sources, applied in this order: the exact values of the user's own credentials, built-in
rules for token formats that announce themselves (a vendor prefix, a PEM header, `user:pass@`
in a URL), then `password=`-style assignments. Each built-in rule runs only when a cheap literal
test finds its prefix, so ordinary prose costs a few substring checks. Every built-in pattern is
linear-time: a run of token characters is possessive and starts only where the previous
character could not belong to it, so no position is scanned twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from msp_server.core.errors import ConfigError

MIN_SECRET_LENGTH = 8  # shorter credential values would redact ordinary words
CREDENTIAL = "credential"


def marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


@dataclass(frozen=True)
class Redacted:
    """The text with secrets replaced, and the kinds found (empty when nothing was)."""

    text: str
    kinds: tuple[str, ...]


# --- what stays: placeholders and prose --------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"""(?ix)
    (?: <[^>]*> | \$\{[^}]*\}? | \$\(?[a-z_][a-z0-9_]*\)? | \{\{.*\}\} | %\(?[a-z_]\w*\)?[s%]?
      | [*x.•#_-]+ | none | null | nil | undefined | true | false | empty | redacted
      | \[redacted[^\]]*\]? | (?:os\.)?(?:environ|getenv|env)\b.* | process\.env\b.* )
    """
)


def _placeholder(value: str) -> bool:
    """`<token>`, `${VAR}`, `****`, `None`, an env lookup: a template, not a secret."""
    return _PLACEHOLDER.fullmatch(value) is not None


_HAS_LETTER = re.compile(r"[A-Za-z]")
_PROSE = re.compile(r"[A-Za-z]{1,15}|[A-Z][A-Z0-9]+-[0-9]+")  # a word, or an issue key


def _looks_secret(value: str) -> bool:
    """After `key:` or `key = ` (prose as often as YAML) a plain word, a number, a date, a path
    or an issue key is prose: `Token: expired` and `secret: 42` stay, `password: hunter2` goes."""
    value = value.rstrip(".!?:")
    if value.startswith(("/", "./", "~/")) or "://" in value or not _HAS_LETTER.search(value):
        return False
    return _PROSE.fullmatch(value) is None


# --- rules -------------------------------------------------------------------------------------

Span = tuple[int, int]
Locate = Callable[["re.Match[str]"], "Span | None"]


def _whole(match: re.Match[str]) -> Span | None:
    return match.span()


def _group(name: int | str) -> Locate:
    def locate(match: re.Match[str]) -> Span | None:
        return match.span(name)

    return locate


@dataclass(frozen=True)
class _Rule:
    """One kind of secret. `triggers` are literals one of which must occur (in the lower-cased
    text when `fold`) before the regex runs; `locate` says which part of a match to replace, or
    None to leave it (a placeholder)."""

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    fold: bool = False
    locate: Locate = _whole

    def wanted(self, text: str, folded: str) -> bool:
        haystack = folded if self.fold else text
        return not self.triggers or any(t in haystack for t in self.triggers)

    def apply(self, text: str, found: list[str]) -> str:
        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            span = self.locate(match)
            if span is None or span[0] >= span[1]:
                return whole
            found.append(self.kind)
            start, end = span[0] - match.start(), span[1] - match.start()
            return whole[:start] + marker(self.kind) + whole[end:]

        return self.pattern.sub(replace, text)


_B64URL = "A-Za-z0-9_-"  # the character set of most modern tokens


def _token(lead: str, body: str, chars: str = _B64URL, width: int = 0) -> str:
    """`lead` (`width` characters; a plain literal by default) then `body`, where no token
    character precedes `lead`: a token starts only once in a run (the linear-time guarantee).
    The literal comes first so the regex engine can jump to it instead of trying every
    position."""
    width = width or len(lead)
    return rf"(?:{lead})(?<![{chars}].{{{width}}}){body}"


def _url_password(match: re.Match[str]) -> Span | None:
    return None if _placeholder(match.group("pw")) else match.span("pw")


# Order matters: a block or a prefixed token is named before an assignment could claim it, and
# once replaced its marker matches nothing else (that is what makes redaction idempotent).
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        ("-----BEGIN",),
    ),
    _Rule(
        "jwt",
        re.compile(_token("eyJ", rf"[{_B64URL}]{{8,}}+\.ey[{_B64URL}]{{8,}}+\.[{_B64URL}]*+")),
        ("eyJ",),
    ),
    _Rule(
        "slack-webhook",
        re.compile(r"hooks\.slack\.com/((?:services|workflows|triggers)/[A-Za-z0-9_/-]{16,}+)"),
        ("hooks.slack.com/",),
        locate=_group(1),
    ),
    _Rule(
        "url-password",
        re.compile(r"://[^\s:/@]{1,256}:(?P<pw>[^\s/@]{1,256})@"),
        ("://",),
        locate=_url_password,
    ),
    _Rule(
        "aws-access-key",
        re.compile(
            _token("AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9]", "[A-Z0-9]{16}(?![A-Z0-9])", "A-Z0-9", 4)
        ),
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    ),
    _Rule(
        "aws-secret-key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*+[:=]\s*+[\"']?"
            r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        ("aws_secret", "awssecret"),
        fold=True,
        locate=_group(1),
    ),
    _Rule(
        "github-token",
        re.compile(_token("gh[pousr]_", "[A-Za-z0-9]{36,}+", width=4)),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Rule(
        "github-token",
        re.compile(_token("github_pat_", "[A-Za-z0-9_]{22,}+")),
        ("github_pat_",),
    ),
    _Rule(
        "gitlab-token",
        re.compile(
            _token(
                "gl",
                r"(?:pat|dt|rt|ptt|ft|imt|oas|soat|cbt|ffct|agent)-"
                rf"[{_B64URL}]{{20,}}+(?:\.[{_B64URL}]++)*+",
            )
        ),
        (
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glft-",
            "glimt-",
            "gloas-",
            "glsoat-",
            "glcbt-",
            "glffct-",
            "glagent-",
        ),
    ),
    _Rule(
        "slack-token",
        re.compile(_token("xox", "[abeprs]-[A-Za-z0-9-]{10,}+")),
        ("xox",),
    ),
    _Rule(
        "slack-token",
        re.compile(_token("xapp-", "[0-9]-[A-Za-z0-9-]{10,}+")),
        ("xapp-",),
    ),
    _Rule(
        "linear-key",
        re.compile(_token("lin_", "(?:api|oauth)_[A-Za-z0-9]{32,}+")),
        ("lin_api_", "lin_oauth_"),
    ),
    _Rule(
        "atlassian-token",
        re.compile(_token("ATATT3", "[A-Za-z0-9_=-]{32,}+")),
        ("ATATT3",),
    ),
    _Rule(
        "stripe-key",
        re.compile(_token("[spr]k_", "(?:live|test)_[A-Za-z0-9]{10,}+", width=3)),
        ("_live_", "_test_"),
    ),
    _Rule(
        "stripe-key",
        re.compile(_token("whsec_", "[A-Za-z0-9]{24,}+")),
        ("whsec_",),
    ),
    _Rule(
        "anthropic-key",
        re.compile(_token("sk-ant-", rf"[{_B64URL}]{{20,}}+")),
        ("sk-ant-",),
    ),
    _Rule(
        "openai-key",
        re.compile(
            _token(
                "sk-", rf"(?:(?:proj|svcacct|admin|None)-[{_B64URL}]{{20,}}+|[A-Za-z0-9]{{32,}}+)"
            )
        ),
        ("sk-",),
    ),
    _Rule(
        "google-api-key",
        re.compile(_token("AIza", rf"[{_B64URL}]{{35}}(?![{_B64URL}])")),
        ("AIza",),
    ),
    _Rule(
        "npm-token",
        re.compile(_token("npm_", "[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
        ("npm_",),
    ),
    _Rule(
        "pypi-token",
        re.compile(_token("pypi-AgEIcHlwaS5vcmc", rf"[{_B64URL}]{{50,}}+")),
        ("pypi-AgEI",),
    ),
)

# --- `password=hunter2`, `"api_key": "…"`, `DB_PASSWORD: …`: the key stays, the value goes. ---

ASSIGNMENT = "secret"
# Where a key name can begin (lower-case); the regex is tried only at these positions, because
# a case-insensitive alternation tried at every position costs ~100 ns a character.
_KEY_LEADS = ("pass", "secret", "token", "api", "access", "private")
_ASSIGN = re.compile(
    r"(?i)(?:password|passwd|passphrase|secret[_-]?key|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key)(?![a-z0-9_-])[\"']?\s*+(?:(?P<loose>:\s*+|=\s++)|=)"
    r"(?:\"(?P<dq>[^\"\r\n]++)\"|'(?P<sq>[^'\r\n]++)'|(?P<bare>(?!=)[^\s\"'`,;&(){}\[\]<>]++))"
)


def _assigned_value(match: re.Match[str]) -> Span | None:
    for quoted in ("dq", "sq"):
        if match.group(quoted) is not None:
            return None if _placeholder(match.group(quoted).strip()) else match.span(quoted)
    value = match.group("bare")
    if _placeholder(value) or value.startswith("$"):
        return None
    if match.group("loose") and not _looks_secret(value):
        return None
    return match.span("bare")


def _key_starts(text: str, folded: str) -> list[int]:
    """Positions where a key name may start: a lead, not inside a lower-case word
    (`mypassword` no; `DB_PASSWORD`, `dbPassword` yes)."""
    starts = set()
    for lead in _KEY_LEADS:
        at = folded.find(lead)
        while at >= 0:
            before = text[at - 1] if at else " "
            if not (before.isalpha() and before.islower() == text[at].islower()):
                starts.add(at)
            at = folded.find(lead, at + 1)
    return sorted(starts)


def _redact_assignments(text: str, found: list[str]) -> str:
    folded = text.lower()
    if len(folded) != len(text):  # a character whose lower case is longer: keep indices equal
        folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    pieces: list[str] = []
    done = 0
    for start in _key_starts(text, folded):
        if start < done:
            continue
        match = _ASSIGN.match(text, start)
        span = _assigned_value(match) if match else None
        if match is None or span is None:
            continue
        pieces += [text[done : span[0]], marker(ASSIGNMENT)]
        done = span[1]
        found.append(ASSIGNMENT)
    return "".join(pieces) + text[done:] if pieces else text


KINDS: tuple[str, ...] = (CREDENTIAL, *dict.fromkeys(r.kind for r in _RULES), ASSIGNMENT)


class Redactor:
    """Built once per configuration; `redact` is safe to call from any thread."""

    def __init__(
        self,
        extra_rules: Sequence[tuple[str, str]] = (),
        known_secrets: Iterable[str] = (),
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._secrets = _usable_secrets(known_secrets)
        self._extra = tuple(_extra_rule(n, name, p) for n, (name, p) in enumerate(extra_rules))

    def redact(self, text: str) -> Redacted:
        if not self.enabled or not text:
            return Redacted(text, ())
        found: list[str] = []
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, marker(CREDENTIAL))
                found.append(CREDENTIAL)
        folded = text.lower()
        for rule in (*_RULES, *self._extra):
            if rule.wanted(text, folded):
                text = rule.apply(text, found)
        if any(lead in folded for lead in _KEY_LEADS):
            text = _redact_assignments(text, found)
        return Redacted(text, tuple(dict.fromkeys(found)))

    def redact_optional(self, text: str | None) -> Redacted | None:
        return None if text is None else self.redact(text)


def _usable_secrets(values: Iterable[str]) -> tuple[str, ...]:
    """Long enough to be a credential, not part of a marker; longest first so a secret that
    contains another is replaced whole."""
    markers = " ".join(marker(kind) for kind in KINDS)
    usable = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH and v not in markers}
    return tuple(sorted(usable, key=len, reverse=True))


def _extra_rule(index: int, name: str, pattern: str) -> _Rule:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"redaction.patterns[{index}].pattern: does not compile ({exc})") from exc
    return _Rule(name, compiled)
