"""Keep a cloned folder's modules out of `sys.path` when MSP runs with `python -m`.

`python -m msp_server` (the language server) and `python -m msp_server.cli` put the working
directory first on `sys.path`; run inside a cloned repository, its `pydantic.py` or `typing.py`
would then be imported by MSP. Each entry point calls `drop_cwd_from_path()` before importing
anything else. `python -P` (Python 3.11+) and the `msp` / `msp-server` scripts never add it.
"""

import os
import sys


def drop_cwd_from_path() -> None:
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
