"""Crash, recover and end: the session lifecycle when people walk away from their desk."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Msp


def test_an_idle_session_is_reported_as_crashed(
    msp: Msp, backdate: Callable[[float], None]
) -> None:
    msp.ok("start", "--project", "demo")
    backdate(3.9)
    assert msp.status()["state"] == "active"
    backdate(0.2)  # now 4.1 h idle, past the default 4 h timeout
    report = msp.status()
    assert report["state"] == "crashed" and report["session"]["status"] == "crashed"
    assert "msp recover" in msp.ok("status").out


def test_a_crashed_session_refuses_events_and_new_starts(
    msp: Msp, backdate: Callable[[float], None]
) -> None:
    msp.ok("start", "--project", "demo")
    backdate(5)
    update = msp("update", "still here?")
    assert update.code == 1 and "msp recover" in update.err
    start = msp("start")
    assert start.code == 2 and "crashed" in start.err


def test_recover_resumes_a_crashed_session(msp: Msp, backdate: Callable[[float], None]) -> None:
    msp.ok("start", "--project", "demo")
    session_id = msp.status()["session"]["id"]
    backdate(6)
    assert session_id in msp.ok("recover", "--list").out
    msp.ok("recover")
    report = msp.status()
    assert report["state"] == "active" and report["session"]["id"] == session_id
    note = report["session"]["updates"][-1]
    assert note["tags"] == ["recovered"] and "recovered after 6.0 h idle" in note["description"]
    msp.ok("update", "back at it", "30")
    assert msp("recover").code == 2  # active: nothing to recover
    assert msp.ok("recover", "--list").out == "Nothing to recover.\n"


def test_end_closes_a_crashed_session_at_its_last_activity(
    msp: Msp, backdate: Callable[[float], None]
) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("update", "last thing I did", "35")
    backdate(8)
    last_activity = msp.status()["session"]["lastActivity"]
    msp.ok("end")
    ended = msp.ok("sessions", "--json").json()["sessions"][0]
    assert ended["status"] == "completed" and ended["endTime"] == last_activity
    assert ended["endProgress"] == 35
    assert ended["duration"] == 0.0  # started and stopped 8 h ago, not 8 h long


def test_end_is_safe_to_repeat(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("end", "--summary", "done")
    again = msp("end", "--summary", "done")
    assert again.code == 1
    sessions = msp.ok("sessions", "--json").json()["sessions"]
    assert len(sessions) == 1 and sessions[0]["summary"] == "done"


def test_recover_force_reopens_an_ended_session(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    session_id = msp.status()["session"]["id"]
    msp.ok("end")
    refused = msp("recover", "--session", session_id)
    assert refused.code == 64 and "--force" in refused.err
    msp.ok("recover", "--session", session_id, "--force")
    report = msp.status()
    assert report["state"] == "active" and report["session"]["endTime"] is None
    assert msp("recover").code == 2


def test_recover_with_nothing_open(msp: Msp) -> None:
    assert msp("recover").code == 1


def test_session_timeout_is_configurable(msp: Msp, backdate: Callable[[float], None]) -> None:
    msp.ok("config", "set", "sessionTimeout", "30m")
    msp.ok("start", "--project", "demo")
    backdate(0.6)
    assert msp.status()["state"] == "crashed"
    msp.ok("config", "set", "sessionTimeout", "1d")
    assert msp.status()["state"] == "active"


def test_two_sessions_in_one_second_get_distinct_ids(msp: Msp) -> None:
    ids = set()
    for _ in range(3):
        msp.ok("start", "--project", "demo")
        ids.add(msp.status()["session"]["id"])
        msp.ok("end")
    assert len(ids) == 3
