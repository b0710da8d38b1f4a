"""Finding, configuring and running adapters; a failing adapter never breaks anything else."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import TypeAdapter, ValidationError

from msp_server.adapters.base import Adapter, EventError, HookEvent, Payload, make_event
from msp_server.config import IntegrationEntry
from msp_server.core.errors import describe_validation_error

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "msp_server.adapters"
BUILTINS: dict[str, str] = {
    "neo4j": "msp_server.adapters.neo4j:Neo4jAdapter",
    "obsidian": "msp_server.adapters.obsidian:ObsidianAdapter",
    "linear": "msp_server.adapters.linear:LinearAdapter",
    "slack": "msp_server.adapters.slack:SlackAdapter",
    "jira": "msp_server.adapters.jira:JiraAdapter",
}


@cache
def _payloads() -> TypeAdapter[list[Payload]]:
    return TypeAdapter(list[Payload])


@dataclass
class Integration:
    """One configured integration: its adapter if it loaded, or why it did not."""

    name: str
    entry: IntegrationEntry
    adapter: Adapter[Any] | None = None
    error: str | None = None

    @property
    def credentials(self) -> tuple[str, ...]:
        return type(self.adapter).credentials if self.adapter else ()


@dataclass
class Generated:
    integration: str
    hook: str
    payload: dict[str, Any]
    idempotency_key: str


@dataclass
class Failure:
    integration: str
    hook: str
    error: str


@dataclass
class DispatchResult:
    generated: list[Generated] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def _resolve_class(name: str, entry: IntegrationEntry) -> type[Adapter[Any]]:
    target = entry.module or BUILTINS.get(name)
    if target is None:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            raise LookupError(
                f"no built-in adapter named {name!r}, no 'module' given, and no entry point "
                f"{name!r} in group {ENTRY_POINT_GROUP!r}"
            )
        loaded = found[0].load()
    else:
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        loaded = getattr(module, attribute or "Adapter")
    if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
        raise TypeError(f"{target or name} is not an msp_server.adapters.base.Adapter subclass")
    return loaded


def load_integration(name: str, entry: IntegrationEntry) -> Integration:
    integration = Integration(name=name, entry=entry)
    try:
        cls = _resolve_class(name, entry)
    except Exception as exc:  # an import error in user code must not stop MSP
        integration.error = f"integrations.{name}: cannot load adapter ({exc})"
        return integration
    try:
        config = cls.Config.model_validate(entry.config)
    except ValidationError as exc:
        prefix = f"integrations.{name}.config."
        integration.error = describe_validation_error(exc, prefix)
        return integration
    try:
        integration.adapter = cls(config)
    except Exception as exc:
        integration.error = f"integrations.{name}: adapter failed to start ({exc})"
    return integration


def load_enabled(entries: dict[str, IntegrationEntry]) -> list[Integration]:
    return [load_integration(n, e) for n, e in sorted(entries.items()) if e.enabled]


def idempotency_key(integration: str, hook: str, event_id: str | None, body: Any) -> str:
    """Same integration, hook, event and content: same key, so a payload is never queued twice."""
    canonical = json.dumps([integration, hook, event_id, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def dispatch(
    integrations: list[Integration], event: HookEvent | Mapping[str, Any]
) -> DispatchResult:
    """Run one hook through every loaded adapter that handles it; exceptions become visible
    failures. `event` may be the fields of `make_event`: an event its hook cannot be made of
    (a missing decision, say) is then a failure of each adapter that handles the hook."""
    result = DispatchResult()
    if isinstance(event, Mapping):
        hook = str(event.get("hook"))
        try:
            event = make_event(**event)
        except EventError as exc:
            for integration in integrations:
                if integration.adapter is not None and integration.adapter.handles(hook):
                    result.failures.append(Failure(integration.name, hook, f"EventError: {exc}"))
            return result
    for integration in integrations:
        adapter = integration.adapter
        if adapter is None or not adapter.handles(event.hook):
            continue
        try:
            payloads = _payloads().validate_python(list(adapter.handle(event) or []))
        except Exception as exc:
            log.warning("adapter %s failed at %s: %s", integration.name, event.hook, exc)
            detail = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            )
            result.failures.append(
                Failure(integration.name, event.hook, f"{type(exc).__name__}: {detail}"[:2000])
            )
            continue
        for payload in payloads:
            body = payload.model_dump(mode="json", by_alias=True)
            key = idempotency_key(integration.name, event.hook, event.event_id, body)
            result.generated.append(Generated(integration.name, event.hook, body, key))
    return result
