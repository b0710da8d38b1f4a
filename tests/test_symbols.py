"""Tests for msp_server.symbols: exact symbols per language, and robustness on bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from msp_server.symbols import Symbol, extract_symbols, language_for_path

Expected = set[tuple[str, str, int]]


def _src(text: str) -> bytes:
    """Dedent and drop the leading newline so line 1 is the first line written in the test."""
    return textwrap.dedent(text).lstrip("\n").encode()


def _triples(symbols: list[Symbol]) -> Expected:
    return {(s.name, s.type, s.line) for s in symbols}


PYTHON = _src(
    '''
    import functools


    class Repo:
        """A repository."""

        class Config:
            def load(self):
                pass

        @functools.cache
        def path(self):
            def helper():
                return 1

            return helper()

        async def fetch(self):
            pass

        if True:
            def conditional(self):
                pass


    async def main():
        class Local:
            pass


    def top():
        pass
    '''
)
PYTHON_EXPECTED: Expected = {
    ("Repo", "class", 4),
    ("Repo.Config", "class", 7),
    ("Repo.Config.load", "method", 8),
    ("Repo.path", "method", 12),
    ("Repo.path.helper", "function", 13),
    ("Repo.fetch", "method", 18),
    ("Repo.conditional", "method", 22),
    ("main", "function", 26),
    ("main.Local", "class", 27),
    ("top", "function", 31),
}

JAVASCRIPT = _src(
    """
    import { readFile } from "node:fs";

    export class Store {
      constructor(path) {
        this.path = path;
      }

      async load() {
        const parse = (text) => JSON.parse(text);
        return parse(await readFile(this.path));
      }

      static open(path) {
        return new Store(path);
      }
    }

    export function createStore(path) {
      function validate() {}
      return Store.open(path);
    }

    export const fetchAll = async () => [];
    let legacy = function () {};
    var gen = function* () {};
    const VERSION = "1.0";
    const helpers = { format() {} };

    export default class {
      render() {}
    }
    """
)
JAVASCRIPT_EXPECTED: Expected = {
    ("Store", "class", 3),
    ("Store.constructor", "method", 4),
    ("Store.load", "method", 8),
    ("Store.open", "method", 13),
    ("createStore", "function", 18),
    ("createStore.validate", "function", 19),
    ("fetchAll", "function", 23),
    ("legacy", "function", 24),
    ("gen", "function", 25),
    ("render", "method", 30),
}

TYPESCRIPT = _src(
    """
    export interface Session {
      id: string;
      close(): void;
    }

    export type SessionId = string;

    export enum State {
      Open,
      Closed,
    }

    export abstract class BaseStore<T> {
      abstract get(id: string): T;

      protected log(message: string): void {}
    }

    export namespace Storage.Local {
      export function key(id: string): string {
        return id;
      }
      export class Cache {}
    }

    declare module "msp-ext" {
      export function register(): void;
    }

    export const toId = (value: string): SessionId => value;

    function generic<T>(value: T): T {
      return value;
    }
    """
)
TYPESCRIPT_EXPECTED: Expected = {
    ("Session", "interface", 1),
    ("SessionId", "type", 6),
    ("State", "enum", 8),
    ("BaseStore", "class", 13),
    ("BaseStore.get", "method", 14),
    ("BaseStore.log", "method", 16),
    ("Storage.Local", "namespace", 19),
    ("Storage.Local.key", "function", 20),
    ("Storage.Local.Cache", "class", 23),
    ("msp-ext", "module", 26),
    ("msp-ext.register", "function", 27),
    ("toId", "function", 30),
    ("generic", "function", 32),
}

TSX = _src(
    """
    import React from "react";

    interface Props {
      title: string;
    }

    export function Header({ title }: Props) {
      return <h1 className="title">{title}</h1>;
    }

    export const Footer = (props: Props) => <footer>{props.title}</footer>;

    export class Page extends React.Component<Props> {
      render() {
        return <main><Header title={this.props.title} /></main>;
      }
    }
    """
)
TSX_EXPECTED: Expected = {
    ("Props", "interface", 3),
    ("Header", "function", 7),
    ("Footer", "function", 11),
    ("Page", "class", 13),
    ("Page.render", "method", 14),
}

GO = _src(
    """
    package server

    import "net/http"

    type Server struct {
    \taddr string
    }

    type Handler interface {
    \tServe(w http.ResponseWriter)
    }

    type (
    \tID    = string
    \tCount int
    \tBox[T any] struct{ v T }
    )

    func New(addr string) *Server {
    \treturn &Server{addr: addr}
    }

    func (s *Server) Start() error {
    \treturn nil
    }

    func (b Box[T]) Get() T {
    \treturn b.v
    }
    """
)
GO_EXPECTED: Expected = {
    ("Server", "struct", 5),
    ("Handler", "interface", 9),
    ("ID", "type", 14),
    ("Count", "type", 15),
    ("Box", "struct", 16),
    ("New", "function", 19),
    ("Server.Start", "method", 23),
    ("Box.Get", "method", 27),
}

RUST = _src(
    """
    use std::fmt;

    pub mod net {
        pub struct Conn {
            fd: i32,
        }

        pub fn dial() -> Conn {
            Conn { fd: 0 }
        }
    }

    pub enum Color {
        Red,
        Green,
    }

    pub trait Shape {
        fn area(&self) -> f64;
        fn name(&self) -> &str {
            "shape"
        }
    }

    pub type Result<T> = std::result::Result<T, String>;

    impl<T: Clone> Wrapper<T> {
        pub fn new(value: T) -> Self {
            fn check() {}
            Wrapper { value }
        }
    }

    impl fmt::Display for Color {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            Ok(())
        }
    }

    fn main() {}
    """
)
RUST_EXPECTED: Expected = {
    ("net", "module", 3),
    ("net.Conn", "struct", 4),
    ("net.dial", "function", 8),
    ("Color", "enum", 13),
    ("Shape", "trait", 18),
    ("Shape.area", "method", 19),
    ("Shape.name", "method", 20),
    ("Result", "type", 25),
    ("Wrapper.new", "method", 28),
    ("Wrapper.new.check", "function", 29),
    ("Color.fmt", "method", 35),
    ("main", "function", 40),
}

JAVA = _src(
    """
    package com.acme.session;

    import java.util.List;

    public class SessionStore {
        private final List<String> ids;

        public SessionStore(List<String> ids) {
            this.ids = ids;
        }

        public int size() {
            return ids.size();
        }

        public static class Builder {
            Builder add(String id) { return this; }
        }

        enum Mode { READ, WRITE; boolean writable() { return this == WRITE; } }
    }

    interface Closeable {
        void close();
    }

    record Point(int x, int y) {
        Point {
        }
    }

    @interface Tracked {}
    """
)
JAVA_EXPECTED: Expected = {
    ("SessionStore", "class", 5),
    ("SessionStore.SessionStore", "method", 8),
    ("SessionStore.size", "method", 12),
    ("SessionStore.Builder", "class", 16),
    ("SessionStore.Builder.add", "method", 17),
    ("SessionStore.Mode", "enum", 20),
    ("SessionStore.Mode.writable", "method", 20),
    ("Closeable", "interface", 23),
    ("Closeable.close", "method", 24),
    ("Point", "class", 27),
    ("Point.Point", "method", 28),
    ("Tracked", "interface", 32),
}

CSHARP = _src(
    """
    using System;

    namespace Acme.Sessions
    {
        public interface IStore
        {
            void Save(string id);
        }

        public class Store : IStore
        {
            public Store() { }

            public void Save(string id)
            {
                int Hash() => id.GetHashCode();
            }

            private struct Entry { }
        }

        public enum Mode { Read, Write }

        public record Snapshot(string Id);
    }
    """
)
CSHARP_EXPECTED: Expected = {
    ("Acme.Sessions", "namespace", 3),
    ("Acme.Sessions.IStore", "interface", 5),
    ("Acme.Sessions.IStore.Save", "method", 7),
    ("Acme.Sessions.Store", "class", 10),
    ("Acme.Sessions.Store.Store", "method", 12),
    ("Acme.Sessions.Store.Save", "method", 14),
    ("Acme.Sessions.Store.Save.Hash", "function", 16),
    ("Acme.Sessions.Store.Entry", "struct", 19),
    ("Acme.Sessions.Mode", "enum", 22),
    ("Acme.Sessions.Snapshot", "class", 24),
}

CSHARP_FILE_SCOPED = _src(
    """
    namespace Acme.Tools;

    public static class Paths
    {
        public static string Home() => "~";
    }
    """
)
CSHARP_FILE_SCOPED_EXPECTED: Expected = {
    ("Acme.Tools", "namespace", 1),
    ("Acme.Tools.Paths", "class", 3),
    ("Acme.Tools.Paths.Home", "method", 5),
}

C = _src(
    """
    #include <stdio.h>

    struct node {
        int value;
        struct node *next;
    };

    typedef struct {
        int x, y;
    } point_t, *point_p;

    typedef int (*compare_fn)(const void *, const void *);

    enum color { RED, GREEN };

    struct node *find(struct node *head, int value);

    static const char *
    node_name(const struct node *n)
    {
        return "node";
    }

    int main(void) {
        struct node n = {0};
        return 0;
    }
    """
)
C_EXPECTED: Expected = {
    ("node", "struct", 3),
    ("point_t", "type", 10),
    ("point_p", "type", 10),
    ("compare_fn", "type", 12),
    ("color", "enum", 14),
    ("node_name", "function", 19),
    ("main", "function", 24),
}

CPP = _src(
    """
    #include <string>

    namespace msp::core {

    class Session {
    public:
        Session() = default;
        ~Session() {}
        const std::string& id() const { return id_; }
        void close();

        struct Options {
            bool verbose = false;
        };

    private:
        std::string id_;
    };

    void Session::close() {}

    template <typename T>
    T clamp(T v, T lo, T hi) {
        return v < lo ? lo : (v > hi ? hi : v);
    }

    using SessionId = std::string;
    typedef unsigned long Ticks;
    enum class Level { Low, High };

    }  // namespace msp::core
    """
)
CPP_EXPECTED: Expected = {
    ("msp.core", "namespace", 3),
    ("msp.core.Session", "class", 5),
    ("msp.core.Session.Session", "method", 7),
    ("msp.core.Session.~Session", "method", 8),
    ("msp.core.Session.id", "method", 9),
    ("msp.core.Session.Options", "struct", 12),
    ("msp.core.Session.close", "method", 20),
    ("msp.core.clamp", "function", 23),
    ("msp.core.SessionId", "type", 27),
    ("msp.core.Ticks", "type", 28),
    ("msp.core.Level", "enum", 29),
}

RUBY = _src(
    """
    require "json"

    module Billing
      class Invoice < Base
        def self.build(attrs)
          new(attrs)
        end

        def total
          lines.sum(&:amount)
        end

        class << self
          def registry; end
        end
      end

      class Line::Item; end

      def helper; end
    end

    def main
    end
    """
)
RUBY_EXPECTED: Expected = {
    ("Billing", "module", 3),
    ("Billing.Invoice", "class", 4),
    ("Billing.Invoice.build", "method", 5),
    ("Billing.Invoice.total", "method", 9),
    ("Billing.Invoice.registry", "method", 14),
    ("Billing.Line.Item", "class", 18),
    ("Billing.helper", "method", 20),
    ("main", "function", 23),
}

CASES = {
    "python": ("session/store.py", PYTHON, PYTHON_EXPECTED),
    "javascript": ("web/store.js", JAVASCRIPT, JAVASCRIPT_EXPECTED),
    "typescript": ("web/session.ts", TYPESCRIPT, TYPESCRIPT_EXPECTED),
    "tsx": ("web/page.tsx", TSX, TSX_EXPECTED),
    "go": ("server/server.go", GO, GO_EXPECTED),
    "rust": ("src/lib.rs", RUST, RUST_EXPECTED),
    "java": ("src/SessionStore.java", JAVA, JAVA_EXPECTED),
    "csharp": ("src/Store.cs", CSHARP, CSHARP_EXPECTED),
    "csharp-file-scoped": ("src/Paths.cs", CSHARP_FILE_SCOPED, CSHARP_FILE_SCOPED_EXPECTED),
    "c": ("src/list.c", C, C_EXPECTED),
    "cpp": ("src/session.cpp", CPP, CPP_EXPECTED),
    "ruby": ("lib/billing.rb", RUBY, RUBY_EXPECTED),
}


@pytest.mark.parametrize("case", CASES)
def test_extracts_exact_symbols(case: str) -> None:
    path, source, expected = CASES[case]
    symbols = extract_symbols(path, source)
    assert _triples(symbols) == expected
    assert len(symbols) == len(expected)  # no duplicates hiding behind the set
    assert [s.line for s in symbols] == sorted(s.line for s in symbols)
    assert {s.language for s in symbols} == {language_for_path(path)}


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.py", "python"),
        ("a.pyi", "python"),
        ("a.js", "javascript"),
        ("a.mjs", "javascript"),
        ("a.cjs", "javascript"),
        ("a.jsx", "javascript"),
        ("a.ts", "typescript"),
        ("types.d.ts", "typescript"),
        ("a.mts", "typescript"),
        ("a.cts", "typescript"),
        ("a.tsx", "tsx"),
        ("a.go", "go"),
        ("a.rs", "rust"),
        ("A.java", "java"),
        ("A.cs", "csharp"),
        ("a.c", "c"),
        ("a.h", "c"),
        ("a.cpp", "cpp"),
        ("a.cc", "cpp"),
        ("a.cxx", "cpp"),
        ("a.hpp", "cpp"),
        ("a.hh", "cpp"),
        ("a.hxx", "cpp"),
        ("a.rb", "ruby"),
        ("dir.v2/Main.PY", "python"),
        ("README.md", None),
        ("Makefile", None),
        ("archive.tar.gz", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_python_syntax_error_returns_empty() -> None:
    assert extract_symbols("broken.py", b"class Ok:\n    pass\n\ndef broken(:\n    pass\n") == []


def test_python_undecodable_or_null_bytes_return_empty() -> None:
    assert extract_symbols("bad.py", b"def f():\n    return '\xff\xfe'\n") == []
    assert extract_symbols("nul.py", b"def f():\x00\n    pass\n") == []


def test_unsupported_extension_returns_empty() -> None:
    assert extract_symbols("notes.md", b"# class Foo\n\ndef bar(): pass\n") == []


def test_tree_sitter_tolerates_syntax_errors() -> None:
    source = _src(
        """
        export class Good {
          ok() {}
        }

        function broken( {

        export function after() {}
        """
    )
    names = {s.name for s in extract_symbols("broken.ts", source)}
    assert {"Good", "Good.ok"} <= names


@pytest.mark.parametrize("case", CASES)
def test_truncated_and_mangled_source_never_raises(case: str) -> None:
    """Editors send half-typed files; every prefix and a byte-flipped copy must be survivable."""
    path, source, _ = CASES[case]
    for end in range(0, len(source), 7):
        symbols = extract_symbols(path, source[:end])
        assert [s.line for s in symbols] == sorted(s.line for s in symbols)
    mangled = bytes(b ^ 0x5A if i % 11 == 0 else b for i, b in enumerate(source))
    extract_symbols(path, mangled)
    extract_symbols(path, b"\xff\xfe\x00" + source)


def test_deeply_nested_names_do_not_hit_the_recursion_limit() -> None:
    qualified = "::".join(["A"] * 3000)
    symbols = extract_symbols("deep.cpp", f"void {qualified}::f() {{}}\n".encode())
    assert [(s.name.count("."), s.type) for s in symbols] == [(3000, "method")]


def test_large_generated_typescript_file() -> None:
    chunks = []
    for i in range(500):  # 10 lines and 4 symbols per chunk -> 5,000 lines, 2,000 symbols
        chunks.append(
            f"export interface Shape{i} {{\n"
            f"  area(): number;\n"
            f"}}\n"
            f"export class Square{i} implements Shape{i} {{\n"
            f"  constructor(private side: number) {{}}\n"
            f"  area(): number {{\n"
            f"    return this.side * this.side;\n"
            f"  }}\n"
            f"}}\n"
            f"export const make{i} = (side: number) => new Square{i}(side);\n"
        )
    source = "".join(chunks).encode()
    assert source.count(b"\n") == 5000
    symbols = extract_symbols("generated.ts", source)
    assert len(symbols) == 2500
    assert sum(s.type == "method" for s in symbols) == 1000
    assert symbols[-1] == Symbol("make499", "function", 5000, "typescript")


def test_concurrent_extraction_matches_sequential() -> None:
    """Extraction runs on worker threads; shared grammar state must not corrupt results."""
    jobs = [(path, source) for path, source, _ in CASES.values()] * 8
    sequential = [extract_symbols(path, source) for path, source in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: extract_symbols(*job), jobs))
    assert concurrent == sequential


def test_grammars_are_imported_lazily() -> None:
    """Only the grammar of a language actually seen gets imported (fresh interpreter)."""
    script = textwrap.dedent(
        """
        import sys
        from msp_server.symbols import extract_symbols
        def grammars():
            return sorted({m.split(".")[0] for m in sys.modules if m.startswith("tree_sitter_")})
        assert grammars() == [], grammars()
        extract_symbols("a.py", b"def f(): pass")
        assert grammars() == [], grammars()
        assert extract_symbols("a.go", b"package a\\nfunc F() {}\\n")
        assert grammars() == ["tree_sitter_go"], grammars()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr
