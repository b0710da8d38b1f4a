"""`msp mcp`: the SDK's own stdio client against a real `msp mcp` process, and the budgeted
briefing (`--max-tokens`) checked against real tokenizers (bpe-openai)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPDeprecationWarning

from msp_server.core import export
from msp_server.core.commands import ContextArgs, UpdateArgs
from msp_server.verbs import LSP_VERBS, snake
from tests.conftest import run_cli

ISSUE_TOOLS = {
    "start_session", "update", "decide", "block", "resolve", "record_entity", "end_session",
    "status", "export_context", "list_sessions", "commit_message", "recover",
    "team", "report",  # issue 14
    "show_session",  # issue 13
}  # fmt: skip
HANG_GUARD = 30  # seconds: a missing answer fails the test instead of hanging it


@asynccontextmanager
async def mcp_client(folder: Path, on_message: Any = None) -> AsyncIterator[ClientSession]:
    """`msp mcp --workspace folder` as a process, driven by the SDK's ClientSession."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-P", "-m", "msp_server.cli", "mcp", "--workspace", str(folder)],
        env={**os.environ},
    )
    async with (
        stdio_client(params) as (reader, writer),
        ClientSession(reader, writer, message_handler=on_message) as session,
    ):
        with anyio.fail_after(HANG_GUARD):
            await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, /, **arguments: Any) -> types.CallToolResult:
    with anyio.fail_after(HANG_GUARD):
        return await session.call_tool(tool, arguments)


async def ok(session: ClientSession, tool: str, /, **arguments: Any) -> dict[str, Any]:
    result = await call(session, tool, **arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def text_of(result: types.CallToolResult | types.ReadResourceResult) -> str:
    blocks = result.content if isinstance(result, types.CallToolResult) else result.contents
    return "".join(getattr(b, "text", "") for b in blocks)


async def read(session: ClientSession, uri: str) -> str:
    with anyio.fail_after(HANG_GUARD):
        return text_of(await session.read_resource(uri))


# -- the surface is the command table -------------------------------------------------------


async def test_tools_resources_and_prompts_are_listed_from_the_table(workspace: Path) -> None:
    async with mcp_client(workspace) as session:
        listed = (await session.list_tools()).tools
        resources = {str(r.uri) for r in (await session.list_resources()).resources}
        templates = (await session.list_resource_templates()).resource_templates
        prompts = {p.name for p in (await session.list_prompts()).prompts}
    assert {t.name for t in listed} == ISSUE_TOOLS
    rows = {snake(v.name): v for v in LSP_VERBS}
    for tool in listed:
        verb = rows[tool.name]
        assert tool.input_schema == verb.args.model_json_schema(by_alias=True), tool.name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is verb.reads_only, tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
    assert resources == {"msp://session", "msp://context", "msp://decisions", "msp://blockers/open"}
    assert [t.uri_template for t in templates] == ["msp://context{?maxTokens,days}"]
    assert prompts == {"resume", "handoff"}


async def test_a_whole_session_through_tools(workspace: Path) -> None:
    async with mcp_client(workspace) as session:
        started = await ok(session, "start_session", project="shop", goal="Password reset")
        assert started["state"] == "active" and started["session"]["goal"] == "Password reset"
        await ok(session, "update", text="Wired the reset form", progress=45)
        decided = await ok(
            session,
            "decide",
            text="Tokens expire after 1 h",
            rationale="OWASP advice",
            alternatives=["24 h", "never"],
        )
        assert decided["record"]["kind"] == "decision"
        blocked = await ok(session, "block", text="SMTP sandbox is down", severity="high")
        blocker_id = blocked["record"]["id"]
        assert "SMTP sandbox" in await read(session, "msp://blockers/open")
        await ok(session, "resolve", blocker=blocker_id, solution="Local Mailpit")
        await ok(session, "record_entity", name="ResetToken", type="class")
        status = await ok(session, "status")
        assert status["session"]["progress"] == 45 and status["session"]["counts"]["decisions"] == 1
        assert "updates" not in status["session"]  # a summary; the whole record: msp://session

        context = await read(session, "msp://context")
        assert "Tokens expire after 1 h — because OWASP advice" in context
        assert "GOAL: Password reset" in context
        decisions = json.loads(await read(session, "msp://decisions"))["decisions"]
        assert decisions[0]["alternatives"] == ["24 h", "never"]
        assert json.loads(await read(session, "msp://blockers/open")) == {"blockers": []}
        session_json = json.loads(await read(session, "msp://session"))
        assert session_json["state"] == "active"

        exported = await call(session, "export_context", maxTokens=120)
        assert exported.structured_content is not None
        assert text_of(exported) == exported.structured_content["content"]
        message = await ok(session, "commit_message", type="feat")
        assert message["message"].startswith("feat")
        ended = await ok(session, "end_session", summary="Reset flow works")
        assert ended["state"] == "idle"
        sessions = await ok(session, "list_sessions", limit=5)
        assert sessions["sessions"][0]["summary"] == "Reset flow works"
    # The CLI reads what the agent recorded: one store.
    assert "Tokens expire after 1 h" in run_cli(workspace, "context").stdout


async def test_a_broken_rule_is_a_tool_error_with_the_cli_message(workspace: Path) -> None:
    cli = run_cli(workspace, "update", "Halfway", "150")
    assert cli.returncode == 64
    async with mcp_client(workspace) as session:
        await ok(session, "start_session", project="shop")
        result = await call(session, "update", text="Halfway", progress=150)
        unknown = await call(session, "decide", text="x", because="typo")
        ended = await call(session, "end_session")
        again = await call(session, "end_session")
    assert result.is_error
    assert text_of(result) == "progress: must be an integer between 0 and 100"
    assert cli.stderr.strip() == f"msp: {text_of(result)}"
    assert unknown.is_error and text_of(unknown) == "because: unknown field"
    assert not ended.is_error
    assert again.is_error and "session" in text_of(again).lower()


async def test_context_resource_and_prompts_take_a_budget(workspace: Path) -> None:
    async with mcp_client(workspace) as session:
        await ok(session, "start_session", project="shop", goal="Password reset")
        for i in range(20):
            await ok(session, "decide", text=f"Decision {i} on tokens", rationale=f"reason {i}")
        fitted = await read(session, "msp://context?maxTokens=150")
        resume = await session.get_prompt("resume", {"maxTokens": "200"})
        handoff = await session.get_prompt("handoff")
        with pytest.raises(Exception, match="maxTokens: input should be greater than"):
            await read(session, "msp://context?maxTokens=5")
    assert export.estimate_tokens(fitted) <= 150
    assert "LEFT OUT (to fit 150 tokens)" in fitted and "decisions" in fitted
    resume_text = text_of_prompt(resume)
    assert "not instructions" in resume_text and "Decision 19 on tokens" in resume_text
    assert "handoff note" in text_of_prompt(handoff)


def text_of_prompt(result: types.GetPromptResult) -> str:
    return "".join(getattr(m.content, "text", "") for m in result.messages)


# -- changes made elsewhere are announced -----------------------------------------------------


async def test_a_cli_update_in_another_process_notifies_subscribers(workspace: Path) -> None:
    updated: list[str] = []
    seen = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            seen.set()

    assert run_cli(workspace, "start", "--project", "shop").returncode == 0
    async with mcp_client(workspace, on_message) as session:
        with anyio.fail_after(HANG_GUARD):
            with pytest.warns(MCPDeprecationWarning, match="resources/subscribe"):
                await session.subscribe_resource("msp://session")  # 2025-era clients use it
        cli = await anyio.to_thread.run_sync(
            lambda: run_cli(workspace, "update", "From the terminal", "30")
        )
        assert cli.returncode == 0, cli.stderr
        with anyio.fail_after(HANG_GUARD):
            await seen.wait()
        assert "From the terminal" in await read(session, "msp://session")
    assert updated[0] == "msp://session"


async def test_mcp_and_cli_writing_at_once_lose_nothing(workspace: Path) -> None:
    rounds = 15
    assert run_cli(workspace, "start", "--project", "shop").returncode == 0
    script = (
        "import subprocess, sys\n"
        f"for i in range({rounds}):\n"
        "    subprocess.run([sys.executable, '-P', '-m', 'msp_server.cli', '--workspace',"
        f" {str(workspace)!r}, 'update', f'cli {{i}}'], check=True)\n"
    )
    loop = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        async with mcp_client(workspace) as session:
            for i in range(rounds):
                await ok(session, "decide", text=f"agent decision {i}")
                await ok(session, "update", text=f"agent {i}")
            with anyio.fail_after(120):
                code = await anyio.to_thread.run_sync(loop.wait)
            assert code == 0
            counts = json.loads(await read(session, "msp://session"))["session"]
    finally:
        loop.kill()
        loop.wait()
    texts = [u["description"] for u in counts["updates"]]
    assert sorted(t for t in texts if t.startswith("cli")) == sorted(
        f"cli {i}" for i in range(rounds)
    )
    assert len([t for t in texts if t.startswith("agent")]) == rounds
    assert len(counts["decisions"]) == rounds


def test_without_the_extra_msp_mcp_says_how_to_install_it(workspace: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None\n"
        "from msp_server.cli import main\n"
        f"sys.exit(main(['mcp', '--workspace', {str(workspace)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert "pip install 'msp-server[mcp]'" in done.stderr
    assert done.stdout == ""


# -- context within a budget ------------------------------------------------------------------

WORDS = [
    "tokens",
    "expire",
    "reset",
    "SMTP",
    "Mailpit",
    "OWASP",
    "café",
    "日本語",
    "ResetToken",
    "auth/reset.py",
    "🚀",
    "x->y",
]


def _busy_workspace(msp: Any) -> None:
    """Sessions with every record kind, long and short texts, unicode and ids."""
    for s in range(3):
        msp.ok("start", "--project", "shop", "--goal", " ".join(WORDS * (s + 1)))
        for i in range(14):
            text = " ".join(WORDS[: (i % len(WORDS)) + 1]) + f" #{s}.{i}"
            msp.ok("update", f"update {text}", str(min(100, 5 * i)))
            msp.ok("decide", f"decide {text}", "--rationale", f"because {text}")
            msp.ok("entity", f"Entity{s}x{i}", "--type", "class", "--path", f"src/m{i}.py")
            msp.ok("block", f"block {text}", "--severity", ("low", "medium", "high")[i % 3])
        if s < 2:
            msp.ok("end", "--summary", f"summary {s} " + " ".join(WORDS))


def test_the_briefing_fits_every_budget_by_priority(msp: Any) -> None:
    _busy_workspace(msp)
    full = msp.ok("context").out
    tokenizers = _real_tokenizers()
    previous = 0
    for budget in [100, 120, 150, 200, 300, 500, 800, 1200, 2000, 4000]:
        fitted = msp.ok("context", "--max-tokens", str(budget)).out
        assert fitted == msp.ok("context", "--max-tokens", str(budget)).out  # deterministic
        assert export.estimate_tokens(fitted) <= budget, budget
        for name, encode in tokenizers:
            assert len(encode(fitted)) <= budget, (name, budget)
        assert fitted.startswith("PROJECT: shop\n")
        assert len(fitted) >= previous  # a larger budget never says less
        previous = len(fitted)
        if fitted != full:
            assert "LEFT OUT" in fitted.splitlines()[-1]
    # Priority: at a budget that holds the blockers but not everything, entities go first and
    # the most severe blockers stay.
    mid = msp.ok("context", "--max-tokens", "900").out
    assert "RECENT ENTITIES" not in mid and "OPEN BLOCKERS" in mid and "[high]" in mid
    assert "entities" in mid.splitlines()[-1]


def test_an_unbudgeted_briefing_is_unchanged_and_a_budget_is_for_ai_only(msp: Any) -> None:
    msp.ok("start", "--project", "shop", "--goal", "Reset")
    msp.ok("decide", "Tokens expire", "--rationale", "OWASP")
    assert msp.ok("context", "--max-tokens", "100000").out == msp.ok("context").out
    refused = msp("context", "--format", "markdown", "--max-tokens", "500")
    assert refused.code == 64 and "only applies to --format ai" in refused.err
    with pytest.raises(ValueError, match="maxTokens"):
        ContextArgs.model_validate({"maxTokens": 10})


def test_the_estimate_is_not_below_a_real_tokenizer_on_varied_text() -> None:
    tokenizers = _real_tokenizers()
    samples = [" ".join(WORDS * n) for n in range(1, 30)] + [
        "PROGRESS: 45% (latest session msp-2026-12-02-063457, active)",
        "- [high] SMTP sandbox is down (blk-1a2b3c4d)",
        "日本語のテキスト、" * 40,
        "🚀✨🔥" * 30,
        "def verify(self, token: str) -> bool: return hmac.compare_digest(a, b)",
    ]
    for text in samples:
        for name, encode in tokenizers:
            assert len(encode(text)) <= export.estimate_tokens(text), (name, text[:40])


def _real_tokenizers() -> list[tuple[str, Any]]:
    import bpe_openai  # a [test] dependency: its absence is a failure, not a skip

    return [(n, bpe_openai.get_encoding(n).encode) for n in ("o200k_base", "cl100k_base")]


def test_update_args_message_matches_the_tool_error() -> None:
    """The tool error is the argument model's own message (one source for every surface)."""
    from pydantic import ValidationError

    from msp_server.core.errors import describe_validation_error

    with pytest.raises(ValidationError) as caught:
        UpdateArgs.model_validate({"text": "x", "progress": 150})
    assert describe_validation_error(caught.value) == (
        "progress: must be an integer between 0 and 100"
    )
