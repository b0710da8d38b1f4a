"""The `msp` command as a newcomer uses it: every command, its output and its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Msp, run_cli


def test_newcomer_walkthrough(msp: Msp) -> None:
    """The README's 60-second walkthrough, end to end."""
    assert (
        "Started msp-"
        in msp.ok("start", "--project", "demo", "--goal", "Ship login", "--progress", "10").out
    )
    msp.ok("update", "Wired the login form", "25")
    msp.ok(
        "decide",
        "Use JWT for sessions",
        "--rationale",
        "stateless",
        "--alternative",
        "server sessions",
        "--alternative",
        "cookies",
        "--impact",
        "high",
        "--category",
        "auth",
    )
    msp.ok("block", "Staging API is down", "--category", "external", "--severity", "high")
    msp.ok("resolve", "staging", "--solution", "Ops restarted it")
    msp.ok("entity", "LoginForm", "--type", "class", "--path", "src/login.py")
    status = msp.ok("status").out  # counted nouns: one of each is singular
    assert "1 update · 1 decision · 0 open of 1 blocker · 1 entity" in status
    ended = msp.ok("end", "--summary", "Login works end to end").out
    assert "10% → 25%" in ended

    markdown = msp.ok("context", "--format", "markdown").out
    assert "Use JWT for sessions" in markdown and "Ops restarted it" in markdown

    sessions = json.loads(msp.ok("sessions", "--json").out)["sessions"]
    assert [s["status"] for s in sessions] == ["completed"]
    assert sessions[0]["counts"] == {"updates": 1, "decisions": 1, "blockers": 1, "entities": 1}


def test_status_json_is_the_msp_session_format(msp: Msp) -> None:
    assert msp.status() == {"state": "idle", "session": None}
    msp.ok("start", "--project", "demo", "--goal", "G")
    msp.ok("update", "first step", "5")
    report = msp.status()
    assert report["state"] == "active"
    session = report["session"]
    for field in (
        "id",
        "project",
        "user",
        "startTime",
        "endTime",
        "status",
        "duration",
        "startProgress",
        "endProgress",
        "summary",
        "goal",
        "branch",
        "updates",
        "decisions",
        "entities",
        "blockers",
    ):
        assert field in session
    assert session["id"].startswith("msp-")
    assert session["startTime"].endswith("Z")
    update = session["updates"][0]
    assert update["description"] == "first step" and update["progress"] == 5
    assert update["id"].startswith("upd-") and update["timestamp"].endswith("Z")


def test_aliases_run_their_commands(msp: Msp) -> None:
    msp.ok("s", "--project", "demo")
    msp.ok("u", "Decided to keep the schema flat", "30")
    msp.ok("d", "Ship on Friday")
    msp.ok("b", "Waiting on design review")
    msp.ok("r", "design review")
    assert "PROJECT: demo" in msp.ok("c").out
    msp.ok("e")
    assert msp.status()["state"] == "idle"


def test_start_continues_from_the_last_completed_session(msp: Msp) -> None:
    msp.ok("start", "--project", "demo", "--progress", "10")
    msp.ok("update", "halfway", "40")
    msp.ok("end")
    msp.ok("start")  # same project (the last one), progress carried over
    session = msp.status()["session"]
    assert session["project"] == "demo" and session["startProgress"] == 40
    assert session["previousSessionId"] is not None
    msp.ok("end")
    msp.ok("start", "--project", "other")
    assert msp.status()["session"]["startProgress"] == 0


def test_exit_code_1_when_no_session_is_active(msp: Msp) -> None:
    for args in (
        ["update", "x"],
        ["decide", "x"],
        ["block", "x"],
        ["resolve", "x"],
        ["entity", "X"],
        ["end"],
    ):
        result = msp(*args)
        assert result.code == 1, args
        assert "msp start" in result.err and result.out == ""


def test_exit_code_2_when_a_session_is_already_active(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    result = msp("start")
    assert result.code == 2
    assert "already active" in result.err


def test_usage_errors_exit_64_not_2(msp: Msp) -> None:
    for args in ([], ["frobnicate"], ["update"], ["decide"], ["config"], ["start", "--bogus"]):
        assert msp(*args).code == 64, args


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["start", "--progress", "101"], "progress: must be an integer between 0 and 100"),
        (["start", "--progress", "-1"], "progress: must be an integer between 0 and 100"),
        (["start", "--progress", "4.5"], "progress: must be an integer between 0 and 100"),
        (["start", "--progress", "lots"], "progress: must be an integer between 0 and 100"),
        (["start", "--project", ""], "project: must not be empty"),
        (["start", "--project", "a\nb"], "project: must be a single line"),
        (["start", "--goal", "  "], "goal: must not be empty"),
        (["start", "--goal", "x" * 10_001], "goal: must be at most 10000 characters"),
    ],
)
def test_bad_start_arguments_name_the_field(msp: Msp, args: list[str], message: str) -> None:
    result = msp(*args)
    assert result.code == 64
    assert message in result.err
    assert msp.status()["state"] == "idle"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["update", "x", "150"], "progress: must be an integer between 0 and 100"),
        (["update", "x", "half"], "progress: must be an integer between 0 and 100"),
        (["update", ""], "text: must not be empty"),
        (["update", "bell\x07"], "text: must not contain control characters"),
        (["decide", "x", "--impact", "huge"], "impact: input should be 'low', 'medium' or 'high'"),
        (["decide", "x", "--alternative", ""], "alternatives.0: must not be empty"),
        (["decide", "x", "--category", "!!"], "category: must be a short label"),
        (["decide", ""], "text: must not be empty"),
        (["block", "x", "--category", "weather"], "category: input should be 'technical'"),
        (["block", "x", "--severity", "extreme"], "severity: input should be 'low'"),
        (["resolve", "no such blocker"], "blocker: no open blocker matches"),
        (["entity", "X", "--type", "Big Class"], "type: must be a lowercase word"),
        (["entity", "X", "--path", "/etc/passwd"], "path: must be inside the workspace"),
        (["entity", "X", "--path", "../outside.py"], "path: must be inside the workspace"),
        (["end", "--summary", ""], "summary: must not be empty"),
        (["decide", "x", "--rationale", " "], "rationale: must not be empty"),
        (["resolve", "first", "--solution", ""], "solution: must not be empty"),
        (["resolve", ""], "blocker: must not be empty"),
        (["entity", ""], "name: must not be empty"),
        (["entity", "X", "--path", ""], "path: must not be empty"),
        (["context", "--output", "/"], "output: cannot write /"),
        (["import"], "the following arguments are required: FILE"),
        (["context", "--format", "pdf"], "format: input should be 'ai', 'json' or 'markdown'"),
        (["context", "--days", "0"], "days: input should be greater than or equal to 1"),
        (["context", "--days", "week"], "days: must be a whole number"),
        (["sessions", "--limit", "0"], "limit: input should be greater than or equal to 1"),
        (["sessions", "--limit", "many"], "limit: must be a whole number"),
        (["recover", "--session", "msp-nope"], "session: no session with id 'msp-nope'"),
        (["git", "--type", "feet"], "type: input should be 'feat'"),
        (["git", "--scope", "a b"], "scope: must be a short scope"),
    ],
)
def test_bad_arguments_name_the_field_and_change_nothing(
    msp: Msp, args: list[str], message: str
) -> None:
    msp.ok("start", "--project", "demo", "--progress", "20")
    msp.ok("block", "the first blocker")
    before = msp.status()
    result = msp(*args)
    assert result.code == 64, result.err
    assert message in result.err
    assert result.out == ""
    after = msp.status()
    after["session"].pop("duration"), before["session"].pop("duration")
    assert after == before


def test_resolve_by_fragment_must_be_unique(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("block", "Database migration fails")
    msp.ok("block", "Database backup missing")
    ambiguous = msp("resolve", "database")
    assert ambiguous.code == 64 and "matches 2 open blockers" in ambiguous.err
    msp.ok("resolve", "backup")
    blockers = msp.status()["session"]["blockers"]
    assert [b["status"] for b in blockers] == ["active", "resolved"]
    msp.ok("resolve", blockers[0]["id"], "--solution", "fixed the script")
    assert msp.status()["session"]["blockers"][0]["resolution"] == "fixed the script"


def test_entity_is_recorded_once_with_a_workspace_relative_path(msp: Msp, workspace: Path) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("entity", "Parser", "--type", "class", "--path", str(workspace / "src" / "parser.py"))
    again = msp.ok("entity", "Parser", "--type", "class", "--path", "src/parser.py")
    assert "already recorded" in again.out
    entities = msp.status()["session"]["entities"]
    assert len(entities) == 1
    assert entities[0]["path"] == "src/parser.py" and entities[0]["type"] == "class"


def test_context_formats_and_output_file(msp: Msp, workspace: Path) -> None:
    msp.ok("start", "--project", "demo", "--goal", "Ship search")
    msp.ok("decide", "Use SQLite FTS5", "--rationale", "no extra service")
    msp.ok("block", "Tokenizer drops accents", "--severity", "high")
    msp.ok("entity", "SearchIndex", "--type", "class")
    msp.ok("update", "Index builds in 2 s", "60")
    ai = msp.ok("context").out
    assert "PROJECT: demo" in ai and "PROGRESS: 60%" in ai
    assert "Use SQLite FTS5 — because no extra service" in ai
    assert "[high] Tokenizer drops accents" in ai
    assert "class SearchIndex" in ai and "Index builds in 2 s" in ai
    document = json.loads(msp.ok("context", "--format", "json").out)
    assert document["sessions"][0]["goal"] == "Ship search"
    target = workspace / "out" / "context.md"
    result = msp.ok("context", "--format", "markdown", "--output", str(target))
    assert result.out == "" and "written" in result.err
    assert target.read_text().startswith("# demo — MSP context")


def test_context_window_excludes_old_sessions(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("update", "ancient work")
    msp.ok("end")
    with msp.db() as conn:
        conn.execute("UPDATE sessions SET start_time = '2020-01-01T00:00:00.000Z'")
    assert "ancient work" not in msp.ok("context", "--days", "30").out
    assert "ancient work" in msp.ok("context", "--days", "3650").out


def test_git_prints_a_conventional_commit(msp: Msp) -> None:
    assert msp("git").code == 1
    msp.ok("start", "--project", "demo", "--goal", "Add password reset")
    msp.ok("entity", "ResetToken", "--type", "class", "--path", "auth/reset.py")
    msp.ok("decide", "Tokens expire after 1 h")
    message = msp.ok("git", "--scope", "auth").out
    header = message.split("\n")[0]
    assert header == "feat(auth): add password reset"
    assert "- class ResetToken in auth/reset.py" in message
    assert "MSP-Session: msp-" in message
    assert msp.ok("git", "--type", "fix").out.startswith("fix: add password reset")


def test_sessions_lists_newest_first(msp: Msp) -> None:
    for n in range(3):
        msp.ok("start", "--project", "demo", "--goal", f"goal {n}")
        msp.ok("end")
    lines = msp.ok("sessions", "--limit", "2").out.strip().splitlines()
    assert len(lines) == 2 and "goal 2" in lines[0] and "goal 1" in lines[1]


def test_sessions_in_a_fresh_workspace(msp: Msp) -> None:
    assert msp.ok("sessions").out == "No sessions yet.\n"
    assert msp.ok("sessions", "--json").json() == {"sessions": []}


def test_workspace_is_found_by_walking_up(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    nested = root / "src" / "pkg"
    nested.mkdir(parents=True)
    import subprocess
    import sys

    started = subprocess.run(
        [sys.executable, "-m", "msp_server.cli", "start", "--project", "walk"],
        cwd=nested,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    assert (root / ".msp" / "msp.db").exists()
    assert (root / ".msp" / ".gitignore").read_text() == "*\n"
    assert not (nested / ".msp").exists()


def test_workspace_that_is_not_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    result = run_cli(file, "status")
    assert result.returncode == 64 and "is not a directory" in result.stderr
    missing = run_cli(tmp_path / "missing", "status")
    assert missing.returncode == 64 and "does not exist" in missing.stderr


def test_stdout_holds_only_the_requested_output(workspace: Path) -> None:
    """Real processes: diagnostics never leak into stdout, even with MSP_DEBUG."""
    env = {"MSP_DEBUG": "1"}
    assert run_cli(workspace, "start", "--project", "pure", env=env).returncode == 0
    status = run_cli(workspace, "status", "--json", env=env)
    assert json.loads(status.stdout)["state"] == "active"
    failed = run_cli(workspace, "start", env=env)
    assert failed.returncode == 2 and failed.stdout == ""
    assert "already active" in failed.stderr


def test_environment_variables(workspace: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"MSP_PROJECT": "from-env", "MSP_USER": "ada", "MSP_STATE_DIR": str(state)}
    assert run_cli(workspace, "start", env=env).returncode == 0
    session = json.loads(run_cli(workspace, "status", "--json", env=env).stdout)["session"]
    assert session["project"] == "from-env" and session["user"] == "ada"
    stores = list(state.glob("*/msp.db"))
    assert len(stores) == 1 and stores[0].parent.name.startswith("project-")
    assert not (workspace / ".msp" / "msp.db").exists()
