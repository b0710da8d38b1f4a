"""Auto-detection of decisions, blockers and entities in update text.

Precision over recall: a missed detection costs the user one explicit command, a wrong one
pollutes the record. The keyword tables are data; the matcher only knows word boundaries,
negations and how to cut the clause that follows a keyword.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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

_WORD_GAP = r"[\s,;:]+"
_CLAUSE_END = re.compile(r"(?<!\b[a-z])[.!?](?:\s|$)|\n|;")
_RATIONALE = re.compile(r"\s+(?:because|since|as it|so that)\s+", re.IGNORECASE)
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
    """Return the most important detection in `text`, or None."""
    for kind, pattern in _patterns():
        for match in pattern.finditer(text):
            if _negated(text[: match.start()]):
                continue
            found = _extract(kind, text[match.end() :])
            if found is not None:
                return found
    return None


def _negated(before: str) -> bool:
    words = re.findall(r"[\w']+", before.lower())[-3:]
    return any(w in NEGATIONS or w.endswith("n't") for w in words)


def _clause(rest: str) -> str:
    end = _CLAUSE_END.search(rest)
    clause = rest[: end.start()] if end else rest
    return _LEADING_FILLER.sub("", clause.strip(" \t,:-—")).strip()


def _extract(kind: str, rest: str) -> Detection | None:
    if kind == "entity":
        return _extract_entity(rest)
    clause = _clause(rest)
    if len(re.findall(r"\w+", clause)) < 1 or len(clause) < 2:
        return None
    if kind == "decision":
        parts = _RATIONALE.split(clause, maxsplit=1)
        content = parts[0].strip()
        rationale = parts[1].strip() if len(parts) > 1 else None
        if not content:
            return None
        return Detection("decision", content, rationale=rationale or None)
    return Detection(kind, clause)


def _extract_entity(rest: str) -> Detection | None:
    """Find `[article] [type] Name [type]`: a name must look like code, or be typed."""
    tokens = _tokens(_clause(rest))[:5]
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


def _tokens(clause: str) -> list[tuple[str, bool]]:
    return [
        (m.group("tick"), True) if m.group("tick") else (m.group("word"), False)
        for m in _IDENTIFIER.finditer(clause)
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
