"""Two repairs to pygls 2.1's JSON-RPC protocol, found by the benchmarks and the fuzzer.

1. Every future pygls keeps in `_request_futures` is forgotten once it is done. pygls runs its
   built-in features (executeCommand among them) as generators whose sub-steps are stored
   under random keys that nothing removes: each command's reply stayed in memory for the life
   of the server (about 1.5 GB after 50,000 commands).
2. A request whose `params` do not fit the method's type gets an InvalidParams error reply.
   pygls logs "Unable to deserialize message" and drops it, so the client waits forever.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


class MspProtocol(LanguageServerProtocol):
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
