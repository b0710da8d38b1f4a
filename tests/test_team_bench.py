"""A smoke test of bench/team.py with a tiny graph: it builds, answers from the graph and from
the cache, and reports its figures (the bench itself is not part of the suite)."""

from __future__ import annotations

import pytest


def test_the_team_bench_runs_on_a_tiny_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import team

    monkeypatch.setattr(team, "SESSIONS_PER_USER", 4)
    figures = team.run(quick=True, users=2, rounds=2)
    assert figures["team_sessions"] == 8 and figures["team_events"] == 800
    assert figures["team_graph_ratio"] is not None and figures["team_cache_ratio"] is not None
