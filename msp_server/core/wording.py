"""Counted nouns for messages people read ("1 update", "2 decisions")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def record_counts(
    updates: int, decisions: int, open_blockers: int, blockers: int, entities: int, sep: str
) -> str:
    """A session's record in one line: "1 update · 2 decisions · 1 open of 3 blockers · …"."""
    return sep.join(
        (
            counted(updates, "update"),
            counted(decisions, "decision"),
            f"{open_blockers} open of {counted(blockers, 'blocker')}",
            counted(entities, "entity", "entities"),
        )
    )
