"""Auto-detection of decisions, blockers and entities in update text.

Precision over recall: a missed detection costs the user one explicit command, a wrong one
pollutes the record. The keyword tables are data; the matcher only knows word boundaries,
negations and how to cut the clause that follows a keyword.

Bounded work: the text is untrusted (a pasted log, a hook payload), so detection looks only at
its first `MAX_DETECT_CHARS` characters, every pattern is linear-time (no overlapping adjacent
unbounded quantifiers), a negation is looked for in a bounded tail before the keyword, and the
clause scan is shared between keyword matches, so no input makes detection quadratic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

# Only this many leading characters are searched: a keyword further in is not detected.
MAX_DETECT_CHARS = 2000
# "Within three words" is looked for in this many characters before a keyword.
_NEGATION_WINDOW = 64

# Priority order: when one update holds several, the first table that matches wins.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "blocker": (
        "blocked by",
        "blocked on",
        "blocked",
        "stuck on",
        "stuck with",
        "stuck",
        "can't",
        "cannot",
        "can not",
        "unable to",
        "waiting on",
        "waiting for",
    ),
    "decision": (
        "decided to",
        "decided on",
        "decided that",
        "decided",
        "chose to",
        "chose",
        "selected",
        "going with",
        "will use",
        "opted for",
        "opted to",
        "settled on",
    ),
    "entity": ("created", "implemented", "built", "added", "introduced"),
}

# A keyword preceded (within three words) by one of these does not count: "no longer blocked".
NEGATIONS: tuple[str, ...] = ("not", "no", "never", "longer", "nothing", "without", "barely")

ENTITY_TYPES: tuple[str, ...] = (
    "class",
    "function",
    "method",
    "interface",
    "struct",
    "enum",
    "module",
    "component",
    "service",
    "endpoint",
    "hook",
    "type",
    "trait",
    "file",
    "table",
    "schema",
    "command",
)

_CLAUSE_END = re.compile(r"(?<!\b[a-z])[.!?](?:\s|$)|\n|;")
# The lookbehind starts a match only at the beginning of a whitespace run: without it every
# position inside a long run retried the run (quadratic).
_RATIONALE = re.compile(r"(?<!\s)\s+(?:because|since|as it|so that)\s+", re.IGNORECASE)
_LEADING_FILLER = re.compile(r"^(?:to|on|that|for|with|by)\s+", re.IGNORECASE)
_IDENTIFIER = re.compile(
    r"`(?P<tick>[^`\s]{1,120})`"  # anything in backticks
    r"|(?P<word>[A-Za-z_][\w.:]*(?:\(\))?)"
)
_ARTICLES = {"a", "an", "the", "new", "our", "my", "some"}


@dataclass(frozen=True, slots=True)
class Detection:
    type: str
    extracted: str
    rationale: str | None = None
    entity_type: str | None = None


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = []
    for kind, phrases in KEYWORDS.items():
        alternatives = "|".join(
            re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True)
        )
        # Letters, digits, apostrophes, hyphens and underscores glue words: "unselected",
        # "rebuilt", "pre-selected" and "created_at" are not keywords.
        compiled.append((kind, re.compile(rf"(?<![\w'-])(?:{alternatives})(?![\w'-])", re.I)))
    return tuple(compiled)


def detect(text: str) -> Detection | None:
    """Return the most important detection in the first `MAX_DETECT_CHARS` of `text`, or None."""
    text = text[:MAX_DETECT_CHARS]
    for kind, pattern in _patterns():
        ends = _ClauseEnds(text)
        for match in pattern.finditer(text):
            if _negated(text, match.start()):
                continue
            found = _extract(kind, text[match.end() : ends.after(match.end())])
            if found is not None:
                return found
    return None


class _ClauseEnds:
    """Where the clause starting at a position ends; one forward scan shared by all matches."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._start = -1  # the last end found was the first end at or after this position
        self._end = -1

    def after(self, pos: int) -> int:
        if not (self._start <= pos <= self._end):
            end = _CLAUSE_END.search(self._text, pos)
            self._start, self._end = pos, end.start() if end else len(self._text)
        return self._end


_WORD = re.compile(r"[\w']+")


def _negated(text: str, start: int) -> bool:
    """True when one of the three words before `start` (in a bounded window) is a negation."""
    window_start = max(0, start - _NEGATION_WINDOW)
    words = _WORD.findall(text, window_start, start)
    if words and window_start > 0 and _WORD.match(text, window_start - 1):
        words.pop(0)  # the window began inside a word: that fragment is not a word
    return any(w in NEGATIONS or w.endswith("n't") for w in (w.lower() for w in words[-3:]))


def _clause(clause: str) -> str:
    """The clause text without leading punctuation and filler ("to", "on", "that"...)."""
    return _LEADING_FILLER.sub("", clause.strip(" \t,:-—")).strip()


def _extract(kind: str, rest: str) -> Detection | None:
    if kind == "entity":
        return _extract_entity(rest)
    clause = _clause(rest)
    if len(clause) < 2 or not re.search(r"\w", clause):
        return None
    if kind == "decision":
        content, rationale = split_rationale(clause)
        if not content:
            return None
        return Detection("decision", content, rationale=rationale)
    return Detection(kind, clause)


def split_rationale(text: str) -> tuple[str, str | None]:
    """ "Use SQLite because it is embedded" -> ("Use SQLite", "it is embedded"): the split the
    CLI's auto-detection makes, shared with the editor's marker code actions."""
    parts = _RATIONALE.split(text[:MAX_DETECT_CHARS], maxsplit=1)
    if len(parts) < 2:
        return text.strip(), None
    rest = parts[1] + text[MAX_DETECT_CHARS:]
    return parts[0].strip(), rest.strip() or None


def _extract_entity(rest: str) -> Detection | None:
    """Find `[article] [type] Name [type]`: a name must look like code, or be typed."""
    tokens = _tokens(_clause(rest), 5)
    while tokens and tokens[0][0].lower() in _ARTICLES:
        tokens.pop(0)
    entity_type = None
    if tokens and tokens[0][0].lower() in ENTITY_TYPES:
        entity_type = tokens.pop(0)[0].lower()
    if not tokens:
        return None
    name, ticked = tokens[0]
    if len(tokens) > 1 and entity_type is None and tokens[1][0].lower() in ENTITY_TYPES:
        entity_type = tokens[1][0].lower()
    if not (ticked or _looks_like_code(name) or entity_type):
        return None
    if entity_type is None and name.endswith("()"):
        entity_type = "function"
    return Detection("entity", name.removesuffix("()"), entity_type=entity_type or "unknown")


def _tokens(clause: str, limit: int) -> list[tuple[str, bool]]:
    return [
        (m.group("tick"), True) if m.group("tick") else (m.group("word"), False)
        for m in islice(_IDENTIFIER.finditer(clause), limit)
    ]


def _looks_like_code(word: str) -> bool:
    """CamelCase (UserService), snake_case (parse_config), dotted (auth.jwt) or a call (run())."""
    return bool(
        re.search(r"[a-z][A-Z]", word)
        or re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+", word)
        or ("_" in word.strip("_"))
        or re.search(r"\w\.\w", word)
        or word.endswith("()")
    )
