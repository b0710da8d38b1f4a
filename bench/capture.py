"""3. Capture on save.

(a) In process, what one save of a 5,000-line file costs the server: the whole capture path for
a tracked, already-baselined file (`batch_state` + `scan_batch` with its git calls, reading and
parsing + `apply_batch` recording the one new function in a store transaction), against a raw
`ast.parse` / raw tree-sitter parse of the same bytes. Symbol extraction alone is reported too.

(b) A burst of 500 saves over LSP (a replace-all touching 500 tracked files) while status
requests keep coming: p99 status latency during the burst against idle.
"""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.common import (
    Figures,
    git,
    git_repo,
    median,
    ms,
    percentile,
    ratio,
    report,
    scratch,
    standalone,
    timed,
)
from bench.roundtrip import start_msp

LINES = 5000
BURST_FILES = 500


def python_source(lines: int = LINES) -> str:
    """Classes with methods, functions, decorators, comprehensions: ordinary application code."""
    out: list[str] = ['"""Generated module."""', "from __future__ import annotations", ""]
    n = 0
    while len(out) < lines:
        out += [
            f"class Service{n}:",
            f'    """Service number {n}."""',
            "",
            "    def __init__(self, name: str, size: int = 3) -> None:",
            "        self.name = name",
            "        self.items = [i * size for i in range(size) if i % 2 == 0]",
            "",
            "    @property",
            "    def label(self) -> str:",
            f'        return f"{{self.name}}-{n}"',
            "",
            "    def handle(self, request: dict[str, int]) -> int:",
            "        total = 0",
            "        for key, value in request.items():",
            "            if key.startswith('x'):",
            "                total += value",
            "        return total",
            "",
            "",
            f"def helper_{n}(values: list[int]) -> int:",
            "    return sum(v for v in values if v > 0)",
            "",
            "",
        ]
        n += 1
    return "\n".join(out[:lines]) + "\n"


def typescript_source(lines: int = LINES) -> str:
    out: list[str] = ["// Generated module.", "import { EventEmitter } from 'events';", ""]
    n = 0
    while len(out) < lines:
        out += [
            f"export interface Options{n} {{",
            "  name: string;",
            "  size?: number;",
            "}",
            "",
            f"export type Handler{n} = (value: number) => Promise<number>;",
            "",
            f"export class Service{n} extends EventEmitter {{",
            "  private items: number[] = [];",
            f"  constructor(private readonly options: Options{n}) {{",
            "    super();",
            "  }",
            "  public handle(request: Record<string, number>): number {",
            "    let total = 0;",
            "    for (const [key, value] of Object.entries(request)) {",
            "      if (key.startsWith('x')) { total += value; }",
            "    }",
            "    return total;",
            "  }",
            "}",
            "",
            f"export function helper{n}(values: number[]): number {{",
            "  return values.filter((v) => v > 0).reduce((a, b) => a + b, 0);",
            "}",
            "",
        ]
        n += 1
    return "\n".join(out[:lines]) + "\n"


def _timed(action: Callable[[], object], rounds: int) -> list[float]:
    return [timed(action) for _ in range(rounds)]


def in_process(quick: bool) -> Figures:
    """Save path vs raw parse, for Python and TypeScript."""
    import tree_sitter_typescript
    from tree_sitter import Language, Parser

    from msp_server import capture
    from msp_server.core.commands import StartArgs
    from msp_server.symbols import extract_symbols
    from msp_server.workspace import Workspace

    rounds = 5 if quick else 20
    ts_parser = Parser(Language(tree_sitter_typescript.language_typescript()))
    figures: Figures = {}
    with scratch("capture") as tmp:
        folder = tmp / "project"
        git_repo(folder)
        files = {"py": folder / "service.py", "ts": folder / "service.ts"}
        files["py"].write_text(python_source())
        files["ts"].write_text(typescript_source())
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "generated")
        ws = Workspace(folder)
        try:
            ws.start(StartArgs(project="bench"))
            settings = ws.config.capture

            def save(path: Path) -> None:
                rel = capture.relative_to(folder, path)
                assert rel is not None
                state = capture.batch_state(ws, [rel])
                result = capture.scan_batch(
                    folder,
                    ws.state_dir,
                    {path: "save"},
                    settings,
                    state.has_baseline,
                    state.session_start,
                )
                capture.apply_batch(ws, result.files)

            for kind, path in files.items():
                save(path)  # first meeting: the baseline comes from git HEAD
                counter = iter(range(10**6))

                def edit_and_save(
                    path: Path = path, kind: str = kind, counter: object = counter
                ) -> None:
                    n = next(counter)  # type: ignore[call-overload]
                    extra = (
                        f"\ndef added_{n}() -> None:\n    pass\n"
                        if kind == "py"
                        else f"\nexport function added{n}(): void {{}}\n"
                    )
                    with path.open("a") as handle:
                        handle.write(extra)
                    save(path)

                source = path.read_bytes()
                rel = path.name
                if kind == "py":
                    raw = _timed(partial(ast.parse, source), rounds)
                else:
                    raw = _timed(partial(ts_parser.parse, source), rounds)
                extract = _timed(partial(extract_symbols, rel, source), rounds)
                saves = _timed(edit_and_save, rounds)
                figures[f"capture_{kind}_ratio"] = ratio(median(saves), median(raw))
                figures[f"{kind}_raw_parse_ms"] = ms(median(raw))
                figures[f"{kind}_extract_ms"] = ms(median(extract))
                figures[f"{kind}_save_path_ms"] = ms(median(saves))
                figures[f"{kind}_extract_ratio"] = ratio(median(extract), median(raw))
        finally:
            ws.close()
    return figures


def burst(quick: bool) -> Figures:
    """500 didSave notifications on tracked files while status requests are timed."""
    idle_samples = 100 if quick else 300
    with scratch("burst") as tmp:
        folder = tmp / "project"
        git_repo(folder)
        paths = []
        for i in range(BURST_FILES):
            path = folder / "pkg" / f"module_{i:03}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(f"class Model{i}:\n    def run(self):\n        return {i}\n")
            paths.append(path)
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "files")
        client = start_msp(tmp, folder)
        try:
            client.command("msp.server.startSession", [{"project": "bench"}])

            def status() -> float:
                start = time.perf_counter()
                client.command("msp.server.status", [{}])
                return time.perf_counter() - start

            for _ in range(20):
                status()
            idle = [status() for _ in range(idle_samples)]
            for path in paths:  # a replace-all: every file changes, no definition is new
                path.write_text(path.read_text() + "# touched\n")
            mark = client.mark()

            def saves() -> None:
                for path in paths:
                    client.notify("textDocument/didSave", {"textDocument": {"uri": path.as_uri()}})

            sender = threading.Thread(target=saves)
            burst_start = time.perf_counter()
            sender.start()
            during: list[float] = []
            scanned = 0
            index = mark
            while scanned < BURST_FILES:
                during.append(status())
                for method, params in client.notifications[index:]:
                    message = (params or {}).get("message", "") if method else ""
                    if method == "window/logMessage" and message.startswith("capture: project:"):
                        scanned += int(message.split(":")[2].split()[0])
                index = len(client.notifications)
                if time.perf_counter() - burst_start > 120:
                    raise TimeoutError(f"capture burst: {scanned} of {BURST_FILES} scanned")
            burst_seconds = time.perf_counter() - burst_start
            sender.join()
            after = [status() for _ in range(idle_samples)]
        finally:
            client.shutdown()
    return {
        "burst_status_p99_ratio": ratio(percentile(during, 99), percentile(idle, 99)),
        "status_idle_p50_ms": ms(median(idle)),
        "status_idle_p99_ms": ms(percentile(idle, 99)),
        "status_burst_p50_ms": ms(median(during)),
        "status_burst_p99_ms": ms(percentile(during, 99)),
        "status_after_burst_p99_ms": ms(percentile(after, 99)),
        "burst_status_samples": len(during),
        "burst_capture_seconds": round(burst_seconds, 3),
    }


def run(quick: bool) -> Figures:
    figures = {**in_process(quick), **burst(quick)}
    report(
        "capture",
        figures,
        [
            f"python {LINES} lines: save path {figures['py_save_path_ms']} ms, extract "
            f"{figures['py_extract_ms']} ms, ast.parse {figures['py_raw_parse_ms']} ms -> "
            f"{figures['capture_py_ratio']}x (target <= 3; extract alone "
            f"{figures['py_extract_ratio']}x)",
            f"typescript {LINES} lines: save path {figures['ts_save_path_ms']} ms, extract "
            f"{figures['ts_extract_ms']} ms, tree-sitter parse {figures['ts_raw_parse_ms']} ms "
            f"-> {figures['capture_ts_ratio']}x (target <= 3; extract alone "
            f"{figures['ts_extract_ratio']}x)",
            f"burst of {BURST_FILES} saves ({figures['burst_capture_seconds']} s until all were "
            f"scanned): status p99 {figures['status_burst_p99_ms']} ms during "
            f"({figures['burst_status_samples']} samples) vs {figures['status_idle_p99_ms']} ms "
            f"idle -> {figures['burst_status_p99_ratio']}x (target <= 3)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
