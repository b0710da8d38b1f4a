"""The redactor wiring: user (or file) text loses its secrets before it is stored anywhere.

The kinds of secrets found are collected by the caller's action (and reported in its
ActionResult), never kept here between actions."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from msp_server.config import MspConfig

if TYPE_CHECKING:
    from msp_server.adapters.registry import Integration
    from msp_server.core.redact import Redactor

ArgsT = TypeVar("ArgsT", bound=BaseModel)


class Redaction:
    def __init__(self, config: MspConfig, integrations: Callable[[], list[Integration]]) -> None:
        self.config = config
        self._integrations = integrations

    @cached_property
    def redactor(self) -> Redactor:
        """Built on first use: known secrets are the user's own credentials, read from the
        environment and (for enabled integrations) the keyring; a keyring that cannot be read
        leaves the environment's and the token formats."""
        from msp_server.core.redact import Redactor

        rules = [(rule.name, rule.pattern) for rule in self.config.redaction.patterns]
        return Redactor(
            extra_rules=rules,
            known_secrets=self._known_secrets() if self.config.redaction.enabled else (),
            enabled=self.config.redaction.enabled,
        )

    def _known_secrets(self) -> list[str]:
        from msp_server.credentials import ENV_FALLBACKS, Resolver, needed

        values = [os.environ.get(var, "") for var in ENV_FALLBACKS.values()]
        values += [v for k, v in os.environ.items() if k.startswith("MSP_CREDENTIAL_")]
        integrations = self._integrations()
        names = needed(integrations) if integrations else {}
        if names:
            resolver = Resolver(allow_plaintext=self.config.credentials.allow_plaintext_keyring)
            for name in names:
                try:
                    values.append(resolver.lookup(name).value or "")
                except Exception:  # no keyring: redaction still has the env and the formats
                    break
        return [v for v in values if v]

    def clean(self, text: str, kinds: list[str]) -> str:
        """`text` with secrets replaced; the kinds found are added to `kinds`."""
        result = self.redactor.redact(text)
        kinds.extend(k for k in result.kinds if k not in kinds)
        return result.text

    def clean_args(self, args: ArgsT, kinds: list[str], *fields: str) -> ArgsT:
        """A copy of an argument model with these text fields redacted."""
        update: dict[str, Any] = {}
        for name in fields:
            value = getattr(args, name)
            if isinstance(value, str):
                update[name] = self.clean(value, kinds)
            elif isinstance(value, list | tuple):
                update[name] = [self.clean(v, kinds) if isinstance(v, str) else v for v in value]
        return args.model_copy(update=update)


def redaction_warning(kinds: Sequence[str]) -> str | None:
    if not kinds:
        return None
    return (
        f"secrets replaced by [REDACTED:…] before storing ({', '.join(kinds)}); rotate a "
        "secret that was typed where others may see it"
    )
