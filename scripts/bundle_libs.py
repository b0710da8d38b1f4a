"""Install msp_server and its runtime dependencies for one VS Code target into bundled/libs.

    python scripts/bundle_libs.py --target linux-x64 [--out DIR] [--pythons 3.11,3.12,...]

The platform-specific .vsix carries these libraries (see scripts/package-vsix.mjs and
vscode-extension/bundled/launch.py). Native wheels (pydantic-core, tree-sitter, rpds-py) are per
CPython minor version, so each supported version gets its own tree, libs/cp3XX; every top-level
entry that is byte-identical across all of them (the pure-Python packages) moves to libs/common
once. libs/manifest.json names the target and the versions.

The installs use `uv pip install --target --python-platform --python-version`: unlike pip's
`--platform`/`--python-version`, uv evaluates the dependencies' environment markers for the
target (keyring needs pywin32-ctypes only on Windows, SecretStorage only on Linux,
importlib_metadata only before 3.12), so a cross-built bundle has exactly what that Python needs.
Only wheels are accepted (`--only-binary :all:`): nothing is compiled for the wrong platform.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "vscode-extension" / "bundled" / "libs"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# VS Code target -> uv's --python-platform. manylinux_2_28: VS Code itself needs glibc 2.28;
# macOS: uv's default minimum, 13.0 (MACOSX_DEPLOYMENT_TARGET changes it).
TARGETS = {
    "linux-x64": "x86_64-manylinux_2_28",
    "linux-arm64": "aarch64-manylinux_2_28",
    "darwin-x64": "x86_64-apple-darwin",
    "darwin-arm64": "aarch64-apple-darwin",
    "win32-x64": "x86_64-pc-windows-msvc",
}
# The `mcp` extra is bundled: the extension offers `msp mcp` to VS Code's agents (src/mcp.ts),
# and it runs from these libraries. The test extra never is.
EXTRAS = "mcp"
NOT_SHIPPED = ("bin", "__pycache__")


def run(cmd: list[str]) -> None:
    print("bundle:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def build_wheel(out: Path) -> Path:
    """msp_server's wheel as the index gets it (built from the sdist, so nothing in this checkout
    outside the sdist gets in), with this environment's setuptools: no build tools fetched."""
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)])
    wheels = sorted(out.glob("msp_server-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"bundle: expected one msp_server wheel in {out}, found {wheels}")
    return wheels[0]


def install(wheel: Path, target: str, python: str, into: Path) -> None:
    run([
        sys.executable, "-m", "uv", "pip", "install",
        "--quiet",
        "--python", sys.executable,  # only to run uv; the platform and version are the target's
        "--target", str(into),
        "--python-platform", TARGETS[target],
        "--python-version", python,
        "--only-binary", ":all:",
        f"{wheel}[{EXTRAS}]",
    ])  # fmt: skip
    for name in NOT_SHIPPED:
        shutil.rmtree(into / name, ignore_errors=True)
    for cache in into.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def tree_digest(path: Path) -> str:
    """One hash for a file or a whole directory (relative names and contents)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path.parent)).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def share_common(trees: list[Path], common: Path) -> None:
    """Move the top-level entries identical in every tree to `common` (kept once).

    Whole top-level entries only: a package split across two sys.path entries would not import.
    """
    common.mkdir()
    first, *others = trees
    for entry in sorted(first.iterdir()):
        digest = tree_digest(entry)
        twins = [tree / entry.name for tree in others]
        if all(t.exists() and tree_digest(t) == digest for t in twins):
            shutil.move(str(entry), common / entry.name)
            for twin in twins:
                shutil.rmtree(twin) if twin.is_dir() else twin.unlink()


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bundle(target: str, out: Path, pythons: list[str]) -> dict[str, object]:
    if target not in TARGETS:
        raise SystemExit(f"bundle: --target must be one of {', '.join(TARGETS)}, not {target!r}")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="msp-bundle-") as tmp:
        wheel = build_wheel(Path(tmp))
        trees = []
        for python in pythons:
            tree = out / ("cp" + python.replace(".", ""))
            install(wheel, target, python, tree)
            trees.append(tree)
        share_common(trees, out / "common")
        version = wheel.name.split("-")[1]
    manifest: dict[str, object] = {
        "target": target,
        "pythons": pythons,
        "msp_server": version,
        "extras": [EXTRAS],
        "bytes": size_of(out),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, choices=sorted(TARGETS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--pythons", default=",".join(PYTHONS), help="comma-separated, e.g. 3.12")
    args = parser.parse_args()
    manifest = bundle(args.target, args.out, [p.strip() for p in args.pythons.split(",")])
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
