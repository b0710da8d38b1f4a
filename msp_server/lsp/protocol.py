"""Repairs to pygls 2.1's JSON-RPC protocol, found by the benchmarks, the fuzzer and review.

1. Every future pygls keeps in `_request_futures` is forgotten once it is done. pygls runs its
   built-in features (executeCommand among them) as generators whose sub-steps are stored
   under random keys that nothing removes: each command's reply stayed in memory for the life
   of the server (about 1.5 GB after 50,000 commands).
2. A request whose `params` do not fit the method's type gets an InvalidParams error reply.
   pygls logs "Unable to deserialize message" and drops it, so the client waits forever.
3. A frame that is not JSON (or nests deeper than the decoder's stack: 100k `[`) gets a -32700
   Parse error reply (id null, as JSON-RPC says); pygls logged it and answered nothing.
4. A string with a lone surrogate (`"\ud800"` is valid JSON but not text) is refused with
   InvalidParams naming the field, before any handler sees it (it failed later, in SQLite or
   on output, as an internal error); such a notification is dropped with a warning.
5. pygls' shutdown cancels pending futures while iterating `_request_futures`; cancelling runs
   done-callbacks (repair 1's) at once, which changed the dict mid-iteration: shutting down while
   the server awaited the client (e.g. an unanswered workspace/configuration) exited with 1.
   The table iterates over a snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import Future
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


PARSE_ERROR = -32700
_UNPARSABLE = (json.JSONDecodeError, RecursionError, UnicodeDecodeError)


class _FutureTable(dict[Any, Any]):
    """pygls' future table; `items()` is a snapshot, so a callback may remove entries while
    pygls walks it (repair 5)."""

    def items(self) -> Any:
        return list(super().items())


class MspProtocol(LanguageServerProtocol):
    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self._request_futures = _FutureTable(self._request_futures)
        # pygls hands a frame it cannot decode to the server's error reporter, not to us: wrap
        # the reporter (looked up when serving starts) so such a frame gets its reply.
        report = server.report_server_error

        def report_or_answer(error: Exception, source: Any) -> None:
            if isinstance(error, _UNPARSABLE):
                self.answer_unparsable(error)
                return
            report(error, source)

        server.report_server_error = report_or_answer

    def answer_unparsable(self, error: Exception) -> None:
        reason = "nested too deeply" if isinstance(error, RecursionError) else "not JSON text"
        log.warning("a message could not be parsed (%s); answered with a parse error", reason)
        error_reply = types.ResponseError(code=PARSE_ERROR, message=f"Parse error: {reason}")
        self._send_response(None, error=error_reply)  # type: ignore[arg-type]  # id null: no id

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        bad = _first_non_text(self._plain(params), "params")
        if bad is None:
            super()._handle_request(msg_id, method_name, params)
            return
        self._send_response(
            msg_id,
            error=types.ResponseError(
                code=JsonRpcInvalidParams.CODE,
                message=f"{bad}: must be valid UTF-8 text (a lone surrogate is not)",
                data={"code": 64},
            ),
        )

    def _handle_notification(self, method_name: str, params: Any) -> None:
        bad = _first_non_text(self._plain(params), "params")
        if bad is None:
            super()._handle_notification(method_name, params)
            return
        log.warning("%s ignored: %s is not valid UTF-8 text", method_name[:100], bad)

    def _plain(self, params: Any) -> Any:
        if hasattr(params, "__attrs_attrs__"):
            return self._converter.unstructure(params)
        if hasattr(params, "_asdict"):  # pygls' namedtuples for methods it does not know
            return params._asdict()
        return params

    def _execute_handler(
        self, msg_id: Any, handler: Any, callback: Any, *args: Any, **kwargs: Any
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, *args, **kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(partial(self._forget, msg_id))

    def _forget(self, key: Any, future: Future[Any]) -> None:
        if self._request_futures.get(key) is future:
            del self._request_futures[key]

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id")
            if "method" in data and isinstance(msg_id, int | str) and not isinstance(msg_id, bool):
                method = str(data.get("method"))[:100]
                self._send_response(
                    msg_id,
                    error=types.ResponseError(
                        code=exc.code,
                        message=f"{method}: params do not fit the method ({exc.message})",
                    ),
                )
            raise


def _first_non_text(value: Any, path: str) -> str | None:
    """The path of the first string that cannot be encoded as UTF-8, or None."""
    return next(_non_text(value, path), None)


def _non_text(value: Any, path: str) -> Iterator[str]:
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:  # iterative: params nest as deep as the client likes
        current, where = pending.pop()
        if isinstance(current, str):
            if not current.isascii() and not _is_text(current):
                yield where
        elif isinstance(current, dict):
            for key, item in current.items():
                if isinstance(key, str) and not _is_text(key):
                    yield f"{where} (a key)"
                else:
                    pending.append((item, f"{where}.{key}"))
        elif isinstance(current, list | tuple):
            pending.extend((item, f"{where}[{i}]") for i, item in enumerate(current))


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
