"""The `msp` argument parser and shell completion, generated from the command table.

Each verb's fields become arguments: the row's `positional` fields by position, the others as
`--kebab-case` options; a Literal becomes `choices`, a bool a flag, a list a repeatable option;
the field's description is the help, and the row's example ends its `--help`. Values stay
strings here: the argument model validates them, with the same messages as the language server.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, NoReturn, get_args, get_origin

from pydantic.fields import FieldInfo

from msp_server import __version__
from msp_server.verbs import TABLE, Verb

VERB = "msp_verb"  # the namespace attribute naming the chosen row
SHELLS = ("bash", "zsh", "fish")
# Options of the command line itself, not of a verb's arguments (presentation only).
CLI_OPTIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "exportContext": [("--output", {"metavar": "FILE", "help": "write to FILE, not stdout"})],
    "report": [("--output", {"metavar": "FILE", "help": "write to FILE (atomically), not stdout"})],
}


class UsageError(Exception):
    """argparse would exit with 2, which means 'session already active' here."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _choices(annotation: Any) -> list[str] | None:
    """The allowed values of a Literal (also inside Optional / Annotated)."""
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    if get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        for inner in get_args(annotation):
            found = _choices(inner)
            if found:
                return found
    return None


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in get_args(annotation) if a is not type(None))
    return False


def _is_bool(annotation: Any) -> bool:
    return annotation is bool


def _option(verb: Verb[Any], name: str) -> str:
    return verb.option_names.get(name) or "--" + name.replace("_", "-")


def _add_field(
    parser: argparse.ArgumentParser, verb: Verb[Any], name: str, info: FieldInfo
) -> None:
    annotation = info.annotation
    help_text = info.description
    choices = _choices(annotation)
    if choices:
        help_text = f"{help_text} ({'|'.join(choices)})" if help_text else "|".join(choices)
    if name in verb.positional:
        nargs: str | None = "+" if _is_list(annotation) else (None if info.is_required() else "?")
        parser.add_argument(
            name,
            nargs=nargs,
            metavar=name.upper(),
            help=help_text,
            default=argparse.SUPPRESS if nargs == "?" else None,
        )
        return
    option = _option(verb, name)
    if _is_bool(annotation):
        parser.add_argument(option, dest=name, action="store_true", default=argparse.SUPPRESS,
                            help=help_text)  # fmt: skip
    elif _is_list(annotation):
        parser.add_argument(option, dest=name, action="append", metavar=name.upper().rstrip("S"),
                            default=argparse.SUPPRESS, help=help_text)  # fmt: skip
    else:
        parser.add_argument(option, dest=name, metavar=name.upper(), default=argparse.SUPPRESS,
                            help=help_text)  # fmt: skip


def _fill(parser: argparse.ArgumentParser, verb: Verb[Any]) -> None:
    for name, info in verb.args.model_fields.items():
        _add_field(parser, verb, name, info)
    for option, options in CLI_OPTIONS.get(verb.name, []):
        parser.add_argument(option, default=None, **options)
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(**{VERB: verb.name})


def first_word(argv: Sequence[str]) -> str | None:
    """The command word when it can be told without a parser (only `--workspace DIR` before
    it), else None: `msp --help`, `--version` and abbreviated options need the whole tree."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--workspace":
            i += 2
        elif arg.startswith("--workspace="):
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def _top_words() -> dict[str, str]:
    """Each first word and alias -> its first word (`completion` and `mcp` included)."""
    tops = {"completion": "completion", "mcp": "mcp"}
    for verb in TABLE:
        if verb.cli_words:
            first = verb.cli_words[0]
            tops[first] = first
            if len(verb.cli_words) == 1:
                tops.update(dict.fromkeys(verb.aliases, first))
    return tops


def build_parser(only: str | None = None) -> Parser:
    """The `msp` parser; with `only` (a command word or alias), the tree of that command alone:
    argparse builds ~30 sub-parsers otherwise, a sixth of `msp update`'s own time. An unknown
    word gets the whole tree, so its error lists every command."""
    keep = _top_words().get(only) if only is not None else None
    common = Parser(add_help=False)
    common.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace folder (default: nearest folder with .msp/ or a VCS root, not past $HOME)",
    )
    parser = Parser(
        prog="msp",
        parents=[common],
        description="MSP: record what you do in a session, recall it in the next one.",
    )
    parser.add_argument("--version", action="version", version=f"msp {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    groups: dict[str, Any] = {}
    group_parsers: dict[str, argparse.ArgumentParser] = {}
    for verb in TABLE:
        words = verb.cli_words
        if not words:
            continue
        first = words[0]
        if keep is not None and first != keep:
            continue
        if first not in group_parsers:
            group_verb = next((v for v in TABLE if v.cli_words == (first,)), None)
            help_text = group_verb.help if group_verb else f"{first}: {_group_help(first)}"
            sub = top.add_parser(
                first,
                aliases=list(group_verb.aliases if group_verb else ()),
                parents=[common],
                help=help_text,
                description=help_text,
                epilog=_epilog(group_verb) if group_verb else None,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            group_parsers[first] = sub
            if group_verb is not None:
                _fill(sub, group_verb)
        if len(words) == 2:
            if first not in groups:
                groups[first] = group_parsers[first].add_subparsers(
                    dest=f"{first}_action", metavar="ACTION", parser_class=Parser
                )
                groups[first].required = not any(v.cli_words == (first,) for v in TABLE)
            leaf = groups[first].add_parser(
                words[1],
                parents=[common],
                help=verb.help,
                description=verb.help,
                epilog=_epilog(verb),
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            _fill(leaf, verb)
    if keep in (None, "completion"):
        _add_completion(top)
    if keep in (None, "mcp"):
        _add_mcp(top, common)
    return parser


def _add_completion(top: Any) -> None:
    # About the command line itself, not MSP's state: not a row of the table.
    shell = top.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        epilog="Example:\n  msp completion bash > ~/.local/share/bash-completion/completions/msp",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shell.add_argument("shell", choices=SHELLS)


def _add_mcp(top: Any, common: argparse.ArgumentParser) -> None:
    agents = top.add_parser(
        "mcp",
        parents=[common],
        help="serve this workspace to AI agents over the Model Context Protocol (stdio)",
        description="An MCP server on stdin/stdout: tools, resources and prompts (docs/mcp.md). "
        "Needs the extra: pip install 'msp-server[mcp]'.",
        epilog="Example:\n  claude mcp add msp -- msp mcp --workspace /path/to/project",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    agents.set_defaults(json=False)


def _group_help(word: str) -> str:
    actions = [v.cli_words[1] for v in TABLE if len(v.cli_words) == 2 and v.cli_words[0] == word]
    return " | ".join(actions)


def _epilog(verb: Verb[Any]) -> str | None:
    return f"Example:\n  {verb.example}" if verb.example else None


def arguments_from(ns: argparse.Namespace, verb: Verb[Any]) -> dict[str, Any]:
    """The values given for the verb's fields (absent ones take the model's defaults)."""
    return {name: getattr(ns, name) for name in verb.args.model_fields if hasattr(ns, name)}


# -- shell completion ---------------------------------------------------------------------------


def completion(shell: str) -> str:
    """A completion script for bash or zsh (shtab), or fish (from the table)."""
    if shell == "fish":
        return _fish()
    import shtab

    return str(shtab.complete(build_parser(), shell=shell))


def _fish() -> str:
    lines = ["# msp completion for fish, generated from MSP's command table", "complete -c msp -f"]
    tops: dict[str, str] = {}
    for verb in TABLE:
        if verb.cli_words:
            tops.setdefault(verb.cli_words[0], verb.help if len(verb.cli_words) == 1 else "")
    tops["completion"] = "print a shell completion script"
    for word, help_text in tops.items():
        lines.append(
            f"complete -c msp -n __fish_use_subcommand -a {word} -d {_fish_quote(help_text)}"
        )
    for verb in TABLE:
        words = verb.cli_words
        if len(words) == 2:
            lines.append(
                f"complete -c msp -n '__fish_seen_subcommand_from {words[0]}' -a {words[1]} "
                f"-d {_fish_quote(verb.help)}"
            )
        if words:
            for name, info in verb.args.model_fields.items():
                if name in verb.positional:
                    continue
                option = _option(verb, name).removeprefix("--")
                choices = _choices(info.annotation)
                extra = f" -xa '{' '.join(choices)}'" if choices else ""
                lines.append(
                    f"complete -c msp -n '__fish_seen_subcommand_from {words[-1]}' -l {option}"
                    f"{extra} -d {_fish_quote(info.description or '')}"
                )
    lines.append("complete -c msp -n '__fish_seen_subcommand_from completion' -xa 'bash zsh fish'")
    return "\n".join(lines) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
