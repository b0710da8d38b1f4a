"""Neo4j over Bolt (bolt://, neo4j:// and their +s/+ssc forms) through the official driver.

The driver is the optional extra `msp-server[neo4j]`: imported only when a Bolt URI is used,
with a message naming the extra when it is missing. Statements travel with their parameters
(never formatted into the text); the driver's own retries are off (the outbox retries, with its
backoff, and team reads must answer promptly); its errors map to retry or dead letter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from msp_server.core.errors import ConfigError
from msp_server.delivery.policy import LOOPBACK_HOSTS

EXTRA_MESSAGE = (
    "Neo4j over Bolt needs the neo4j driver: pip install 'msp-server[neo4j]' "
    "(or use the HTTP API: uri http(s)://host:7474)"
)
BOLT_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})
_PLAIN = frozenset({"bolt", "neo4j"})  # no TLS: the password would cross the network in clear


def check_uri(uri: str) -> None:
    """Encrypted Bolt everywhere; plain bolt:// and neo4j:// only to this machine (as plain
    http is refused but for localhost)."""
    parts = urlsplit(uri)
    if parts.scheme.lower() in _PLAIN and (parts.hostname or "").lower() not in LOOPBACK_HOSTS:
        raise ConfigError(
            "integrations.neo4j.config.uri: must be bolt+s:// or neo4j+s:// (or +ssc) for "
            f"{parts.hostname}: plain bolt:// and neo4j:// only for localhost"
        )


def _driver_module() -> Any:
    try:
        import neo4j
    except ImportError:
        raise ConfigError(EXTRA_MESSAGE) from None
    return neo4j


def driver_for(uri: str, username: str, password: str | None, connect_timeout: float) -> Any:
    """A driver for the configured URI and the keyring's credential (no driver retries)."""
    check_uri(uri)
    neo4j = _driver_module()
    auth = neo4j.basic_auth(username, password) if password is not None else None
    return neo4j.GraphDatabase.driver(
        uri,
        auth=auth,
        connection_timeout=connect_timeout,
        connection_acquisition_timeout=connect_timeout * 2,
        max_transaction_retry_time=0,
        max_connection_pool_size=2,
        user_agent="msp-server",
    )


def run(
    driver: Any,
    statement: str,
    parameters: dict[str, Any],
    database: str,
    timeout: float,
    *,
    read: bool = False,
) -> list[dict[str, Any]]:
    """One auto-committed statement with its parameters; its records as dicts."""
    neo4j = _driver_module()
    query = neo4j.Query(statement, timeout=max(timeout, 0.001))
    records, _, _ = driver.execute_query(
        query,
        parameters_=parameters,
        database_=database,
        routing_=neo4j.RoutingControl.READ if read else neo4j.RoutingControl.WRITE,
    )
    return [_plain(record.data()) for record in records]


def _plain(value: Any) -> Any:
    """Driver temporal values as ISO strings (team answers are JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "iso_format"):
        return str(value.iso_format())
    return value


def read_rows(
    driver: Any, statement: str, parameters: dict[str, Any], database: str, timeout: float
) -> list[dict[str, Any]]:
    """A team read: any failure means the graph cannot answer now (the cache answers)."""
    from msp_server.service.team import GraphUnavailable

    neo4j = _driver_module()
    try:
        return run(driver, statement, parameters, database, timeout, read=True)
    except neo4j.exceptions.Neo4jError as exc:
        raise GraphUnavailable(f"Neo4j: {exc.code}") from None
    except (neo4j.exceptions.DriverError, OSError) as exc:
        raise GraphUnavailable(f"Neo4j: cannot connect ({type(exc).__name__})") from None


def classify(exc: BaseException) -> tuple[str, bool] | None:
    """(message, retryable) for a driver error; None when it is not one (re-raise it).
    'Already exists' (a schema statement run twice) is not an error: message '' ."""
    neo4j = _driver_module()
    errors = neo4j.exceptions
    if isinstance(exc, errors.AuthError):
        return "Neo4j refused the credentials (neo4j-password / username)", False
    if isinstance(exc, errors.Neo4jError):
        code = str(exc.code or "")
        if "AlreadyExists" in code:
            return "", False
        retryable = isinstance(exc, errors.TransientError | errors.DatabaseError)
        return f"Neo4j: {code}: {exc.message or ''}", retryable
    if isinstance(exc, errors.ServiceUnavailable | errors.SessionExpired | OSError):
        return f"Neo4j: connection failed ({type(exc).__name__})", True
    if isinstance(exc, errors.ConfigurationError):
        return f"Neo4j: {exc}", False
    if isinstance(exc, errors.DriverError):
        return f"Neo4j: {type(exc).__name__}", True
    return None
