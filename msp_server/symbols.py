"""Find the definitions (classes, functions, types, ...) in a source file.

Python is read with the stdlib ``ast`` so it needs no grammar at all. Every other language goes
through a tree-sitter grammar wheel, imported only when a file of that language first shows up,
so a session that only touches Go never pays for loading the C++ grammar.

What counts as a definition in each language lives in the ``_RULES`` tables below rather than in
code: adding a node type is a one-line change, and the single walk in ``_tree_sitter_symbols``
stays the same for every language.

Files come from any cloned folder, so the work per file is bounded: definitions nested deeper
than ``MAX_NESTING`` are not reported (their qualified names alone grew quadratically), a file
with more than ``MAX_DEFINITIONS`` definitions or taking longer than ``PARSE_SECONDS`` is refused
with ``TooComplex``, and Python's ``ast`` running out of memory or stack refuses the file too.
"""

from __future__ import annotations

import ast
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

__all__ = ["Symbol", "TooComplex", "extract_symbols", "language_for_path", "scan_symbols"]

_log = logging.getLogger(__name__)

MAX_NESTING: Final = 200  # definitions inside this many enclosing definitions are not reported
MAX_DEFINITIONS: Final = 50_000  # definition nodes in one file; more is generated code
PARSE_SECONDS: Final = 5.0  # per file, parse and walk together
_READ_CHUNK: Final = 64 * 1024
_CHECK_EVERY: Final = 1024  # walk steps between two looks at the clock


class TooComplex(Exception):
    """A file beyond the per-file bounds; the message says which bound, for the skip report."""


@dataclass(frozen=True, slots=True)
class Symbol:
    """One definition; frozen so symbols can be cached, hashed and shared across threads."""

    name: str  # qualified inside the file, e.g. "Outer.Inner.method"
    type: str  # class, function, method, interface, struct, enum, type, trait, module, namespace
    line: int  # 1-based line of the definition's name
    language: str


_EXTENSIONS: Final[Mapping[str, str]] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".cs": "csharp",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".rb": "ruby",
}


def language_for_path(path: str) -> str | None:
    """Pick the language by extension alone, so the choice is cheap and needs no file access."""
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower())


def extract_symbols(path: str, source: bytes) -> list[Symbol]:
    """Return the definitions in ``source``, sorted by line.

    Never raises on broken source: editors hand us half-typed files all the time, and one bad
    file must not take down the worker thread that indexes the rest. A file beyond the bounds
    gives no symbols (``scan_symbols`` says why).
    """
    try:
        return scan_symbols(path, source)
    except TooComplex as exc:
        _log.info("no symbols from %s: %s", path, exc)
        return []


def scan_symbols(path: str, source: bytes, seconds: float = PARSE_SECONDS) -> list[Symbol]:
    """``extract_symbols``, but a file beyond the bounds raises ``TooComplex``."""
    language = language_for_path(path)
    if language is None:
        return []
    deadline = time.monotonic() + seconds
    if language == "python":
        symbols = _python_symbols(source, deadline)
    else:
        symbols = _tree_sitter_symbols(language, source, deadline)
    symbols.sort(key=lambda s: s.line)  # stable: same-line symbols keep document order
    return symbols


class _Budget:
    """Counts walk steps and looks at the clock every ``_CHECK_EVERY`` of them."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_DEFINITIONS:
            raise TooComplex(f"more than {MAX_DEFINITIONS:,} definitions")
        if self.steps % _CHECK_EVERY == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooComplex(f"took longer than {PARSE_SECONDS:g} s to parse")


# --- scopes -----------------------------------------------------------------------------------

# What a definition is for the definitions nested inside it:
#   container  - a class-like body: a function directly inside it is a method
#   namespace  - only adds to the qualified name (C++/C# namespaces, TS namespaces, Rust mod)
#   function   - a function body: definitions inside are local, named "outer.inner"
#   file       - not a definition; the role at the top of the file
_Role = Literal["container", "namespace", "function", "file"]
_CONTAINER: Final = "container"
_NAMESPACE: Final = "namespace"
_FUNCTION: Final = "function"
_FILE: Final = "file"
_TOP_LEVEL: Final[frozenset[_Role]] = frozenset({_FILE, _NAMESPACE})
_IN_CONTAINER: Final[frozenset[_Role]] = frozenset({_CONTAINER})


# --- Python (stdlib ast) ----------------------------------------------------------------------

# ast node class -> (symbol type, role for nested defs, symbol type when directly in a class)
_PY_RULES: Final[Mapping[type[ast.AST], tuple[str, _Role, str | None]]] = {
    ast.ClassDef: ("class", _CONTAINER, None),
    ast.FunctionDef: ("function", _FUNCTION, "method"),
    ast.AsyncFunctionDef: ("function", _FUNCTION, "method"),
}
# Definitions are statements, so only statement-like nodes are walked (expressions are skipped).
_PY_BLOCKS: Final = (ast.stmt, ast.excepthandler, ast.match_case)


# CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state: two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905). Parsing holds the GIL anyway, so one at a time costs nothing.
_AST_LOCK = threading.Lock()


def parse_python(source: bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, one thread at a time (see _AST_LOCK)."""
    with _AST_LOCK:
        return ast.parse(source, filename=filename)


def _python_symbols(source: bytes, deadline: float) -> list[Symbol]:
    """Walk statements iteratively; deep nesting must not hit the recursion limit."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        return []  # unlike tree-sitter, ast cannot recover from a syntax error
    except (RecursionError, MemoryError) as exc:
        raise TooComplex(
            f"too deeply nested or too large to parse ({type(exc).__name__})"
        ) from None
    budget = _Budget(deadline)
    budget.check_time()
    symbols: list[Symbol] = []
    pending: list[tuple[ast.AST, tuple[str, ...], _Role]] = [(tree, (), _FILE)]
    while pending:
        node, path, role = pending.pop()
        children: list[tuple[ast.AST, tuple[str, ...], _Role]] = []
        for child in ast.iter_child_nodes(node):
            rule = _PY_RULES.get(type(child))
            if rule is not None and len(path) < MAX_NESTING:
                budget.step()
                kind, scope, in_container = rule
                name: str = getattr(child, "name", "")
                if in_container is not None and role == _CONTAINER:
                    kind = in_container
                lineno: int = getattr(child, "lineno", 0)
                symbols.append(Symbol(".".join((*path, name)), kind, lineno, "python"))
                children.append((child, (*path, name), scope))
            elif isinstance(child, _PY_BLOCKS):
                children.append((child, path, role))  # if/for/try/...: same scope
        pending.extend(reversed(children))  # reversed so the stack pops in document order
    return symbols


# --- tree-sitter: names ---------------------------------------------------------------------

_Names = list[tuple[tuple[str, ...], Node]]  # (qualified name parts, node whose line we report)
_NameFn = Callable[[Node, bytes], _Names]

# Qualified names in several grammars: node type -> (qualifier field, name field).
_QUALIFIED: Final[Mapping[str, tuple[str, str]]] = {
    "qualified_identifier": ("scope", "name"),  # C++ Foo::bar
    "scope_resolution": ("scope", "name"),  # Ruby Foo::Bar
    "scoped_type_identifier": ("path", "name"),  # Rust net::Conn
    "scoped_identifier": ("path", "name"),
}
# Wrappers around the name that matters (Box<T> -> Box, *Server -> Server): node type -> field
# holding the inner name, or None for "first named child".
_WRAPPERS: Final[Mapping[str, str | None]] = {
    "template_type": "name",
    "template_function": "name",
    "generic_type": "type",
    "reference_type": "type",
    "pointer_type": None,
}
# C/C++ declarators are nested (pointer, reference, parentheses, function); these end the descent.
_DECLARATOR_NAMES: Final = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "operator_cast",
        "template_function",
    }
)


def _text(node: Node, source: bytes) -> str:
    """Decode leniently: a stray invalid byte must not lose the whole file's symbols."""
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _inner(node: Node, field_name: str | None) -> Node | None:
    if field_name is not None:
        return node.child_by_field_name(field_name)
    return node.named_children[0] if node.named_child_count else None


def _name_parts(node: Node, source: bytes) -> tuple[str, ...]:
    """Split a (possibly qualified or generic) name node into its plain parts, iteratively."""
    parts: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if current.type in _QUALIFIED:
            scope_field, name_field = _QUALIFIED[current.type]
            for part in (current.child_by_field_name(f) for f in (name_field, scope_field)):
                if part is not None:
                    pending.append(part)  # name pushed first so the scope is popped first
        elif current.type in _WRAPPERS:
            inner = _inner(current, _WRAPPERS[current.type])
            if inner is not None:
                pending.append(inner)
        else:
            text = _text(current, source)
            if current.type == "string":  # TS `declare module "foo"`
                text = text.strip("'\"`")
            elif current.type == "operator_cast":  # `operator bool() const` -> `operator bool`
                text = text.split("(", 1)[0].strip()
            parts.append(text.replace("::", "."))  # C++ `namespace a::b`
    return tuple(parts)


def _field(field_name: str) -> _NameFn:
    """Names taken from one field of the node; the common case."""

    def names(node: Node, source: bytes) -> _Names:
        target = node.child_by_field_name(field_name)
        return [] if target is None else [(_name_parts(target, source), target)]

    return names


def _go_method(node: Node, source: bytes) -> _Names:
    """Go methods live outside their type, so qualify by the receiver: `Server.Start`."""
    target = node.child_by_field_name("name")
    if target is None:
        return []
    owner: tuple[str, ...] = ()
    receiver = node.child_by_field_name("receiver")
    if receiver is not None and receiver.named_child_count:
        receiver_type = receiver.named_children[0].child_by_field_name("type")
        if receiver_type is not None:
            owner = _name_parts(receiver_type, source)
    return [((*owner, *_name_parts(target, source)), target)]


def _declarators(node: Node, source: bytes) -> _Names:
    """C/C++: the name sits under nested declarators (`char *(*f)(int)`), one per declarator."""
    names: _Names = []
    for declarator in node.children_by_field_name("declarator"):
        current: Node | None = declarator
        while current is not None and current.type not in _DECLARATOR_NAMES:
            current = _inner(current, "declarator") or _inner(current, None)
        if current is not None:
            names.append((_name_parts(current, source), current))
    return names


# --- tree-sitter: per-language rules ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """How one node type becomes a symbol (and a scope for what is nested inside it)."""

    kind: str | None  # symbol type; None with no kind_field = scope only (Rust `impl`)
    scope: _Role | None = None  # role for nested definitions; None = pushes no scope
    names: _NameFn = field(default_factory=lambda: _field("name"))
    in_container: str | None = None  # type when inside a class-like body or owner-qualified
    only_in: frozenset[_Role] | None = None  # enclosing roles where this node counts at all
    needs: str | None = None  # field that must be present (C `struct x;` is not a definition)
    kind_field: str | None = None  # decide the type from this child's node type ...
    kind_by_type: Mapping[str, str] = field(default_factory=dict)  # ... else fall back to kind
    to_parent_end: bool = False  # scope covers the following siblings (C# `namespace X;`)


_JS_FUNCTION_VALUES: Final = {
    "arrow_function": "function",
    "function_expression": "function",
    "function": "function",
    "generator_function": "function",
}
_JS_RULES: Final[Mapping[str, _Rule]] = {
    "class_declaration": _Rule("class", _CONTAINER),
    "class": _Rule("class", _CONTAINER),  # class expression; often anonymous (export default)
    "function_declaration": _Rule("function", _FUNCTION),
    "generator_function_declaration": _Rule("function", _FUNCTION),
    "method_definition": _Rule("method", _FUNCTION, only_in=_IN_CONTAINER),
    # `const f = () => ...` at top level; other values make it a plain variable, not a symbol.
    "variable_declarator": _Rule(
        None,
        _FUNCTION,
        only_in=_TOP_LEVEL,
        kind_field="value",
        kind_by_type=_JS_FUNCTION_VALUES,
    ),
}
_TS_RULES: Final[Mapping[str, _Rule]] = {
    **_JS_RULES,
    "abstract_class_declaration": _Rule("class", _CONTAINER),
    "abstract_method_signature": _Rule("method", only_in=_IN_CONTAINER),
    "function_signature": _Rule("function"),  # `declare function f(): void;`
    "interface_declaration": _Rule("interface", _CONTAINER),
    "type_alias_declaration": _Rule("type"),
    "enum_declaration": _Rule("enum"),
    "internal_module": _Rule("namespace", _NAMESPACE),  # namespace A.B { }
    "module": _Rule("module", _NAMESPACE),  # module M { } / declare module "m" { }
}
_GO_RULES: Final[Mapping[str, _Rule]] = {
    "function_declaration": _Rule("function", _FUNCTION),
    "method_declaration": _Rule("method", _FUNCTION, names=_go_method),
    "type_spec": _Rule(
        "type",
        kind_field="type",
        kind_by_type={"struct_type": "struct", "interface_type": "interface"},
    ),
    "type_alias": _Rule("type"),  # type ID = string
}
_RUST_RULES: Final[Mapping[str, _Rule]] = {
    "function_item": _Rule("function", _FUNCTION, in_container="method"),
    "function_signature_item": _Rule("function", in_container="method"),  # trait fn without body
    "struct_item": _Rule("struct"),
    "enum_item": _Rule("enum"),
    "trait_item": _Rule("trait", _CONTAINER),
    "type_item": _Rule("type"),
    "mod_item": _Rule("module", _NAMESPACE),
    "impl_item": _Rule(None, _CONTAINER, names=_field("type")),  # qualifies methods by the type
}
_JAVA_RULES: Final[Mapping[str, _Rule]] = {
    "class_declaration": _Rule("class", _CONTAINER),
    "interface_declaration": _Rule("interface", _CONTAINER),
    "enum_declaration": _Rule("enum", _CONTAINER),
    "record_declaration": _Rule("class", _CONTAINER),
    "annotation_type_declaration": _Rule("interface", _CONTAINER),  # @interface
    "method_declaration": _Rule("method", _FUNCTION),
    "constructor_declaration": _Rule("method", _FUNCTION),
    "compact_constructor_declaration": _Rule("method", _FUNCTION),  # record Pt(int x) { Pt { } }
}
_CSHARP_RULES: Final[Mapping[str, _Rule]] = {
    "class_declaration": _Rule("class", _CONTAINER),
    "struct_declaration": _Rule("struct", _CONTAINER),
    "interface_declaration": _Rule("interface", _CONTAINER),
    "enum_declaration": _Rule("enum"),
    "record_declaration": _Rule("class", _CONTAINER),
    "method_declaration": _Rule("method", _FUNCTION),
    "constructor_declaration": _Rule("method", _FUNCTION),
    "local_function_statement": _Rule("function", _FUNCTION),
    "namespace_declaration": _Rule("namespace", _NAMESPACE),
    "file_scoped_namespace_declaration": _Rule("namespace", _NAMESPACE, to_parent_end=True),
}
_C_RULES: Final[Mapping[str, _Rule]] = {
    "function_definition": _Rule("function", _FUNCTION, names=_declarators),
    "struct_specifier": _Rule("struct", needs="body"),  # C struct tags are not scoped
    "enum_specifier": _Rule("enum", needs="body"),
    "type_definition": _Rule("type", names=_declarators),
}
_CPP_RULES: Final[Mapping[str, _Rule]] = {
    **_C_RULES,
    # In a class body, or written `Foo::bar` out of line, a function definition is a method.
    "function_definition": _Rule("function", _FUNCTION, names=_declarators, in_container="method"),
    "struct_specifier": _Rule("struct", _CONTAINER, needs="body"),
    "class_specifier": _Rule("class", _CONTAINER, needs="body"),
    "namespace_definition": _Rule("namespace", _NAMESPACE),
    "alias_declaration": _Rule("type"),  # using Id = int; the modern typedef
}
_RUBY_RULES: Final[Mapping[str, _Rule]] = {
    "class": _Rule("class", _CONTAINER),
    "module": _Rule("module", _CONTAINER),  # a def in a module is a method too
    "method": _Rule("function", _FUNCTION, in_container="method"),
    "singleton_method": _Rule("method", _FUNCTION),  # def self.build
}

# language -> (grammar module, function returning the TSLanguage pointer, rules)
_GRAMMARS: Final[Mapping[str, tuple[str, str, Mapping[str, _Rule]]]] = {
    "javascript": ("tree_sitter_javascript", "language", _JS_RULES),
    "typescript": ("tree_sitter_typescript", "language_typescript", _TS_RULES),
    "tsx": ("tree_sitter_typescript", "language_tsx", _TS_RULES),
    "go": ("tree_sitter_go", "language", _GO_RULES),
    "rust": ("tree_sitter_rust", "language", _RUST_RULES),
    "java": ("tree_sitter_java", "language", _JAVA_RULES),
    "csharp": ("tree_sitter_c_sharp", "language", _CSHARP_RULES),
    "c": ("tree_sitter_c", "language", _C_RULES),
    "cpp": ("tree_sitter_cpp", "language", _CPP_RULES),
    "ruby": ("tree_sitter_ruby", "language", _RUBY_RULES),
}


# --- tree-sitter: loading and the walk --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Grammar:
    """Loaded once per language; Language and Query are read-only, so threads share them."""

    language: Language
    query: Query
    rules: Mapping[str, _Rule]


_grammars: dict[str, _Grammar | None] = {}
_grammars_lock = threading.Lock()


def _grammar(language: str) -> _Grammar | None:
    """Import the grammar on first use; remember failures so a broken wheel is logged once."""
    if language in _grammars:
        return _grammars[language]
    with _grammars_lock:
        if language not in _grammars:
            _grammars[language] = _load_grammar(language)
        return _grammars[language]


def _load_grammar(language: str) -> _Grammar | None:
    module_name, function_name, rules = _GRAMMARS[language]
    try:
        module = importlib.import_module(module_name)
        ts_language = Language(getattr(module, function_name)())
        # One query for all definition node types: the C side finds them, Python only names them.
        pattern = "[" + " ".join(f"({node_type})" for node_type in rules) + "] @def"
        query = Query(ts_language, pattern)
    except Exception:  # ImportError, ABI mismatch, ...: degrade to "no symbols", don't crash
        _log.exception("cannot load the tree-sitter grammar for %s", language)
        return None
    return _Grammar(ts_language, query, rules)


@dataclass(frozen=True, slots=True)
class _Scope:
    end_byte: int
    path: tuple[str, ...]
    role: _Role


def _parse(grammar: _Grammar, source: bytes, budget: _Budget) -> Tree:
    """Parse through a read callback: only then does tree-sitter call the progress callback
    that cancels a parse past the deadline."""

    def read(offset: int, _point: object) -> bytes:
        return source[offset : offset + _READ_CHUNK]

    def past_deadline(*_state: object) -> bool:
        return time.monotonic() > budget.deadline

    try:
        return Parser(grammar.language).parse(read, progress_callback=past_deadline)
    except ValueError:  # "Parsing failed": cancelled by the callback
        budget.check_time()
        raise TooComplex("the parser gave up") from None


def _tree_sitter_symbols(language: str, source: bytes, deadline: float) -> list[Symbol]:
    """Match every definition node, then recover nesting from byte ranges in document order.

    Definitions nest properly, so a stack of open scopes popped by end byte gives each node its
    enclosing definition without walking parents or every node in the tree from Python.
    """
    grammar = _grammar(language)
    if grammar is None:
        return []
    budget = _Budget(deadline)
    tree = _parse(grammar, source, budget)  # a Parser per call: they are not thread-safe
    found = QueryCursor(grammar.query).captures(tree.root_node).get("def", [])
    budget.check_time()
    if len(found) > MAX_DEFINITIONS:
        raise TooComplex(f"more than {MAX_DEFINITIONS:,} definitions")
    found.sort(key=lambda n: (n.start_byte, -n.end_byte))  # outer before inner on equal starts
    symbols: list[Symbol] = []
    scopes: list[_Scope] = []
    for node in found:
        budget.step()
        while scopes and scopes[-1].end_byte <= node.start_byte:
            scopes.pop()
        if len(scopes) >= MAX_NESTING:
            continue  # its name would repeat every enclosing one: quadratic in the depth
        path, role = (scopes[-1].path, scopes[-1].role) if scopes else ((), _FILE)
        rule = grammar.rules[node.type]
        if rule.only_in is not None and role not in rule.only_in:
            continue
        if rule.needs is not None and node.child_by_field_name(rule.needs) is None:
            continue
        kind = rule.kind
        if rule.kind_field is not None:
            decider = node.child_by_field_name(rule.kind_field)
            kind = rule.kind_by_type.get(decider.type if decider else "", rule.kind)
            if kind is None:
                continue  # e.g. `const x = 1`: a variable, not a definition
        names = [(parts, at) for parts, at in rule.names(node, source) if all(parts)]
        if kind is not None:
            for parts, at in names:
                owned = role == _CONTAINER or len(parts) > 1
                kind_here = rule.in_container if rule.in_container and owned else kind
                symbols.append(
                    Symbol(".".join((*path, *parts)), kind_here, at.start_point[0] + 1, language)
                )
        if rule.scope is not None:
            parent = node.parent if rule.to_parent_end else None
            end_byte = parent.end_byte if parent is not None else node.end_byte
            own = names[0][0] if names else ()  # anonymous classes still scope their methods
            scopes.append(_Scope(end_byte, (*path, *own), rule.scope))
    return symbols
