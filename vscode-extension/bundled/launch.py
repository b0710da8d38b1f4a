"""Run MSP from the libraries bundled in this extension (bundled/libs), with any Python 3.11+.

    python -P launch.py msp_server [args]       the language server
    python -P launch.py msp_server.cli [args]   the `msp` CLI (Set Credential, Trust, MCP)
    python -P launch.py --check                 exit 0 when the bundle imports on this Python

Native wheels are per CPython minor version: libs/cp3XX holds the parts built for one version,
libs/common the pure-Python parts they share. Both go first on sys.path, so nothing installed
in the user's environment shadows them. `-P` keeps the working directory off sys.path.
Written for old Pythons too, so that a too-old interpreter gets a sentence, not a traceback.
"""

import json
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = os.path.join(HERE, "libs")
MODULES = ("msp_server", "msp_server.cli")
EXIT_CONFIG = 3  # msp_server.core.errors: ConfigError


def fail(message):
    sys.stderr.write("msp: " + message + "\n")
    sys.exit(EXIT_CONFIG)


def supported():
    """The Python versions the bundle was built for ("3.11", ...), from its manifest."""
    try:
        with open(os.path.join(LIBS, "manifest.json"), encoding="utf-8") as f:
            return list(json.load(f)["pythons"])
    except (OSError, ValueError, KeyError):
        return []


def lib_dirs():
    version = "%d.%d" % sys.version_info[:2]
    own = os.path.join(LIBS, "cp%d%d" % sys.version_info[:2])
    if not os.path.isdir(own):
        built = ", ".join(supported()) or "none"
        fail(
            "this extension bundles MSP for Python %s; %s is Python %s. Select one of those "
            "(Python: Select Interpreter) or set msp.server.command." % (built, sys.executable, version)
        )
    return [own, os.path.join(LIBS, "common")]


def main():
    if len(sys.argv) < 2:
        fail("usage: launch.py {%s} [args] | --check" % "|".join(MODULES))
    sys.path[0:0] = lib_dirs()
    if sys.argv[1] == "--check":
        import msp_server
        import pydantic_core  # the native part most likely to mismatch

        print("%s %s" % (msp_server.__file__, pydantic_core.__version__))
        return
    module = sys.argv[1]
    if module not in MODULES:
        fail("unknown module %r (expected one of %s)" % (module, ", ".join(MODULES)))
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
