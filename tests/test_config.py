"""Configuration: layers, validation with the file and key named, and `msp config`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Msp


def test_config_show_has_defaults(msp: Msp) -> None:
    config = msp.ok("config", "show").json()
    assert config["sessionTimeout"] == 4 * 3600 and config["contextDays"] == 7
    assert config["integrations"] == {} and config["detection"] == {"enabled": True}


def test_precedence_user_then_folder_then_environment(
    msp: Msp, workspace: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_env.write_text(json.dumps({"project": "from-user", "contextDays": 3, "user": "u1"}))
    assert msp.ok("config", "show").json()["project"] == "from-user"
    msp.ok("config", "set", "project", "from-folder")
    config = msp.ok("config", "show").json()
    assert (config["project"], config["contextDays"]) == ("from-folder", 3)
    monkeypatch.setenv("MSP_PROJECT", "from-env")
    assert msp.ok("config", "show").json()["project"] == "from-env"


def test_config_set_parses_json_values_and_validates(msp: Msp, workspace: Path) -> None:
    msp.ok("config", "set", "contextDays", "14")
    msp.ok(
        "config", "set", "integrations.neo4j", '{"enabled": true, "config": {"database": "neo4j"}}'
    )
    stored = json.loads((workspace / ".msp" / "config.json").read_text())
    assert stored["contextDays"] == 14
    assert stored["integrations"]["neo4j"]["enabled"] is True
    bad = msp("config", "set", "contextDays", "0")
    assert bad.code == 3 and "contextDays: input should be greater than or equal to 1" in bad.err
    unknown = msp("config", "set", "colour", "blue")
    assert unknown.code == 3 and "colour: unknown field" in unknown.err
    timeout = msp("config", "set", "sessionTimeout", "soon")
    assert timeout.code == 3 and "sessionTimeout: must be a duration" in timeout.err
    assert json.loads((workspace / ".msp" / "config.json").read_text())["contextDays"] == 14


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[1, 2]", "must contain a JSON object"),
        ('{"contextDays": "week"}', "contextDays: input should be a valid integer"),
        ('{"integrations": {"neo4j": {"enabled": "maybe"}}}', "integrations.neo4j.enabled"),
        ('{"integrations": {"Bad Name": {}}}', "must be a lowercase identifier"),
        (
            '{"integrations": {"x": {"delivery": "carrier-pigeon"}}}',
            "delivery: input should be 'generate' or 'send'",
        ),
        ('{"stateDir": 5}', "stateDir: input should be a valid string"),
    ],
)
def test_a_bad_folder_config_exits_3_naming_file_and_key(
    msp: Msp, workspace: Path, content: str, message: str
) -> None:
    config = workspace / ".msp" / "config.json"
    config.parent.mkdir()
    config.write_text(content)
    for args in (["status"], ["start"], ["config", "validate"], ["config", "show"]):
        result = msp(*args)
        assert result.code == 3, args
        assert str(config) in result.err and message in result.err
    assert not (workspace / ".msp" / "msp.db").exists()


def test_a_bad_user_config_is_named_too(msp: Msp, isolated_env: Path) -> None:
    isolated_env.write_text('{"sessionTimeout": -5}')
    result = msp("status")
    assert result.code == 3
    assert (
        str(isolated_env) in result.err
        and "sessionTimeout: must be at least 1 second" in result.err
    )


def test_config_validate_says_ok(msp: Msp) -> None:
    assert "Configuration is valid" in msp.ok("config", "validate").out


def test_config_set_rejects_malformed_keys(msp: Msp) -> None:
    result = msp("config", "set", "integrations..x", "1")
    assert result.code == 3 and "dot-separated" in result.err


def test_config_example_is_valid_and_documents_every_key() -> None:
    """The shipped example must load, and every key of the model must be documented in it."""
    from msp_server.config import MspConfig, read_layer

    example = Path(__file__).resolve().parent.parent / "config.example.json"
    data = read_layer(example)
    raw = json.loads(example.read_text())
    for field in MspConfig.model_fields.values():
        assert field.alias in data, field.alias
        assert f"//{field.alias}" in raw, field.alias


def test_config_example_integrations_are_valid_for_their_adapters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from msp_server.adapters.registry import load_integration
    from msp_server.config import MspConfig, read_layer

    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root / "examples"))
    config = MspConfig.model_validate(read_layer(root / "config.example.json"))
    assert set(config.integrations) == {"neo4j", "obsidian", "linear", "slack", "jira", "webhook"}
    for name, entry in config.integrations.items():
        assert load_integration(name, entry).error is None, name
