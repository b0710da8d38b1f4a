"""`python -m msp_server` starts the language server, as editors launch it (without importing
the command line's modules: start-up time is the editor's wait).

An editor starts it with the opened folder as the working directory, and `-m` puts that
directory first on `sys.path`: a cloned repository's `pydantic.py` (or `typing.py`) would then
run inside the server. So the working directory's entry goes before anything else is imported.
`python -P -m msp_server` (Python 3.11+) or the `msp-server` script never add it.
"""

import os
import sys


def _drop_cwd_from_path() -> None:
    """Remove sys.path[0] when it is the working directory ('' or its full path, as -m adds it).

    Only the first entry: an explicit PYTHONPATH=. further down stays the user's choice. The
    package itself is already imported (its submodules load through its __path__), so an
    editable or source checkout keeps working.
    """
    if sys.flags.safe_path or not sys.path:
        return
    first = sys.path[0]
    try:
        is_cwd = first == "" or os.path.samefile(first, os.getcwd())
    except OSError:  # a vanished working directory cannot be imported from either
        is_cwd = first in ("", ".")
    if is_cwd:
        del sys.path[0]


_drop_cwd_from_path()

from msp_server.lsp.server import run  # noqa: E402 (after the sys.path fix, on purpose)

sys.exit(run())
