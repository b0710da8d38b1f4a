"""The real integration schemas (Linear GraphQL, ADF, Jira OpenAPI), loaded once per test session.

Adapter payloads are only worth something if the service would accept them, so the adapter
tests validate against the vendors' own schemas rather than hand-written expectations.

Where the files come from, in order:
1. `$MSP_SHARED_SCHEMAS`, when set: a deliberate override (e.g. to try a newer vendor schema);
2. `tests/schemas/` in this repository: vendored copies (see tests/schemas/README.md), so a
   clean clone in CI needs nothing outside the repo;
3. `<repo>/../shared/schemas`: the team's shared copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema
from jsonschema import Draft4Validator
from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ENV_VAR = "MSP_SHARED_SCHEMAS"
REPO_ROOT = Path(__file__).resolve().parent.parent
VENDORED_DIR = REPO_ROOT / "tests" / "schemas"
SHARED_DIR = REPO_ROOT.parent / "shared" / "schemas"

LINEAR_SCHEMA = "linear.graphql"
ADF_SCHEMA = "atlassian-adf-v1-full.schema.json"
JIRA_OPENAPI = "jira-cloud-platform-v3.openapi.json"
SCHEMA_FILES = (LINEAR_SCHEMA, ADF_SCHEMA, JIRA_OPENAPI)

# The Jira document is registered under this URI so `#/components/schemas/X` refs resolve in it.
JIRA_OPENAPI_URI = "urn:msp-tests:jira-cloud-platform-v3"
COMMENT_PATH = "/rest/api/3/issue/{issueIdOrKey}/comment"
WORKLOG_PATH = "/rest/api/3/issue/{issueIdOrKey}/worklog"


def search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    return [*dirs, VENDORED_DIR, SHARED_DIR]


def schema_path(name: str) -> Path:
    """The first copy of `name` found; a missing schema is a test failure, never a silent skip."""
    for folder in search_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in search_dirs())
    raise FileNotFoundError(f"schema {name} not found (looked in {looked}; set {ENV_VAR})")


@cache
def linear_schema() -> GraphQLSchema:
    """Linear's public schema; building it takes about a second, so it is built once."""
    return build_schema(schema_path(LINEAR_SCHEMA).read_text(encoding="utf-8"))


@cache
def adf_validator() -> Validator:
    """Atlassian Document Format v1 ('full'); the file declares JSON Schema draft-04."""
    schema = json.loads(schema_path(ADF_SCHEMA).read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


@cache
def jira_openapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(schema_path(JIRA_OPENAPI).read_text(encoding="utf-8"))
    return document


@cache
def _jira_registry() -> Registry[Any]:
    resource = Resource.from_contents(jira_openapi(), default_specification=DRAFT4)
    return Registry().with_resource(JIRA_OPENAPI_URI, resource)


def jira_request_validator(path: str, method: str = "post") -> Validator:
    """A write-mode OpenAPI 3.0 validator for one operation's JSON request body.

    The body schema is a `$ref` into `#/components/schemas`, so the validator is rooted at the
    whole document (registered under JIRA_OPENAPI_URI) for the refs to resolve. Write mode
    rejects read-only properties (`id`, `author`, ...) that a create request must not send.
    """
    operation = jira_openapi()["paths"][path][method]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    ref = body_schema["$ref"]
    validator: Validator = OAS30WriteValidator(
        {"$ref": f"{JIRA_OPENAPI_URI}{ref}"}, registry=_jira_registry()
    )
    return validator


@cache
def jira_comment_validator() -> Validator:
    return jira_request_validator(COMMENT_PATH)


@cache
def jira_worklog_validator() -> Validator:
    return jira_request_validator(WORKLOG_PATH)


def errors_of(validator: Validator, instance: object) -> list[str]:
    """Readable errors with their JSON path, for assertion messages."""
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]


def vendored_copy_matches_shared(name: str) -> bool | None:
    """None when there is no shared copy to compare with (a clean clone)."""
    shared = SHARED_DIR / name
    if not shared.is_file():
        return None
    return shared.read_bytes() == (VENDORED_DIR / name).read_bytes()


def session_fixture(loader: Callable[[], Any]) -> Any:
    """Expose a cached loader as a session-scoped pytest fixture named after it."""
    return pytest.fixture(scope="session", name=loader.__name__)(lambda: loader())
