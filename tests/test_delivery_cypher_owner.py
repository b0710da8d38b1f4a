"""The cypher senders always authenticate with the built-in `neo4j-password`, so a cypher payload
is only sent for the built-in Neo4j adapter: a custom adapter's cypher row (its own `uri` in its
config) is a dead letter that says why, and never receives the password."""

from __future__ import annotations

from typing import Any

import pytest

from msp_server.adapters.base import Adapter, AdapterConfig
from msp_server.adapters.neo4j import Neo4jAdapter, Neo4jConfig
from msp_server.adapters.registry import Integration
from msp_server.config import IntegrationEntry
from msp_server.delivery.policy import DeliveryFailure
from msp_server.delivery.senders import destination, required_credentials


class _GraphConfig(AdapterConfig):
    uri: str = "http://127.0.0.1:7474"


class _Graph(Adapter[_GraphConfig]):
    name = "graph"
    Config = _GraphConfig


def _integration(name: str, adapter: Adapter[Any]) -> Integration:
    return Integration(name, IntegrationEntry(enabled=True, delivery="send"), adapter=adapter)


def test_a_custom_adapter_cypher_row_is_refused_the_neo4j_password() -> None:
    graph = _integration("graph", _Graph(_GraphConfig()))
    body = {"kind": "cypher", "title": "t", "statement": "RETURN 1", "parameters": {}}
    with pytest.raises(DeliveryFailure) as refused:
        destination(body, graph)
    assert not refused.value.retryable
    assert "credential neo4j-password: refused: it belongs to the built-in neo4j" in str(
        refused.value
    )
    assert required_credentials(body, graph) == []  # dead-lettered, not waiting for a secret


def test_the_built_in_neo4j_adapter_still_gets_its_password() -> None:
    adapter = Neo4jAdapter(Neo4jConfig())
    statement = next(iter(adapter._statements()))
    body = {"kind": "cypher", "title": "t", "statement": statement, "parameters": {}}
    target = destination(body, _integration("neo4j", adapter))
    assert target.credential == "neo4j-password"
